"""Saving post templates from the dashboard, with a history of every version and its author.

Where a save goes:

- a template that lives in one of the workspace's ``template_dirs`` is saved in place;
- a built-in template is never changed inside the installed package: saving it writes an
  *override* with the same name into the workspace's own template folder — the first of
  ``template_dirs``. When none is configured, that folder is ``templates/`` in the workspace's
  home, and ``template_dirs = ["templates"]`` is written into ``brandkit.toml`` (created if the
  workspace has none) so the CLI, the planner and the worker find the override too. Workspace
  templates come before the built-in library, so the override hides the built-in one.

Only what renders is saved: the source is parsed and rendered for every platform it claims
(:func:`~brandkit.web.template_preview.preview_source`) and refused, with nothing written, on any
error. A save names the content hash it started from; if the file changed since, the save is
refused rather than silently overwriting someone else's work.

The file and its :class:`~brandkit.db.models.TemplateRevision` row are written together: the row
is flushed, the file is replaced atomically (a temporary file in the same folder, then
``os.replace``) inside the transaction, and if the commit fails the previous file is put back.
Should the process die between the rename and the commit, the next save notices that the file's
hash is not the last revision's and first records the file as found, so history stays complete.
The first save of a template records the text it replaced (author: none) as revision 1.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tempfile
import threading
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from hashlib import sha256
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from brandkit.config import CONFIG_FILENAME, Settings
from brandkit.content import TemplateLibrary
from brandkit.content.templates import builtin_template_dir
from brandkit.db.engine import session_scope
from brandkit.db.models import TemplateRevision
from brandkit.errors import ConcurrentUpdateError, ConfigError, NotFoundError, TemplateError
from brandkit.web.template_preview import normalise_source, preview_source

log = logging.getLogger(__name__)

TEMPLATES_FOLDER = "templates"
CONFIG_LINE = f'template_dirs = ["{TEMPLATES_FOLDER}"]  # the dashboard saves edited templates here'
_TABLE_HEADER = re.compile(r"^\s*\[")
_TEMPLATE_DIRS_LINE = re.compile(r"^\s*#?\s*template_dirs\s*=")
_SAVING = threading.Lock()  # one save at a time in this process: check, write, commit


def content_hash(data: bytes) -> str:
    """The digest of a template file, as :attr:`PostTemplate.content_hash` computes it."""
    return sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class StoredTemplate:
    """The file the library uses for a template name, as it is on disk now."""

    name: str
    path: Path
    data: bytes
    builtin: bool
    hides_builtin: bool  # a workspace file with the name of a built-in template

    @property
    def source(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @property
    def content_hash(self) -> str:
        return content_hash(self.data)


def _is_builtin(path: Path) -> bool:
    return path.is_relative_to(builtin_template_dir())


def template_files(settings: Settings) -> dict[str, Path]:
    """Every template name and the file the library would use for it (workspace files first)."""
    found: dict[str, Path] = {}
    for directory in TemplateLibrary(settings.template_dirs).dirs:
        for path in sorted(directory.glob("*/*.j2")):
            found.setdefault(f"{path.parent.name}/{path.stem}", path)
    return dict(sorted(found.items()))


def locate(settings: Settings, name: str) -> StoredTemplate:
    """The file behind ``name`` (``lang/stem``), or :class:`NotFoundError`."""
    path = template_files(settings).get(name)
    if path is None:
        raise NotFoundError("template", name, hint="the templates page lists every template")
    return stored_at(name, path)


def stored_at(name: str, path: Path) -> StoredTemplate:
    """The template ``name`` as the file ``path`` holds it now."""
    builtin = _is_builtin(path)
    hides = not builtin and (builtin_template_dir() / f"{name}.j2").is_file()
    return StoredTemplate(name, path, path.read_bytes(), builtin, hides)


def save_target(settings: Settings, stored: StoredTemplate) -> Path:
    """Where saving ``stored`` writes (see the module docstring); nothing is created here."""
    if not stored.builtin:
        return stored.path
    folder = settings.template_dirs[0] if settings.template_dirs else settings.home / "templates"
    return folder / f"{stored.name}.j2"


# --- the workspace's template folder ------------------------------------------------------------


def ensure_template_dir(settings: Settings) -> tuple[Settings, bool]:
    """Settings with a workspace template folder; adds one to ``brandkit.toml`` if there is none.

    Returns the settings to use from now on and whether ``brandkit.toml`` was changed.
    """
    if settings.template_dirs:
        return settings, False
    config = settings.home / CONFIG_FILENAME
    old = config.read_text(encoding="utf-8") if config.exists() else ""
    new = with_template_dirs(old)
    try:
        data = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise _cannot_add(config) from exc
    section = data.get("brandkit", data)
    if not isinstance(section, dict) or section.get("template_dirs") != [TEMPLATES_FOLDER]:
        raise _cannot_add(config)
    folder = settings.home / TEMPLATES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    replace_file(config, new.encode("utf-8"))
    log.info("added template_dirs = [%r] to %s", TEMPLATES_FOLDER, config)
    return replace(settings, template_dirs=(folder,), config_file=config), True


def _cannot_add(config: Path) -> ConfigError:
    return ConfigError(
        f"{config}: cannot add the setting template_dirs by itself",
        hint=f'add template_dirs = ["{TEMPLATES_FOLDER}"] to it, then save the template again',
    )


def with_template_dirs(text: str) -> str:
    """``brandkit.toml``'s text with ``template_dirs = ["templates"]`` among the settings.

    The line replaces a (commented) ``template_dirs`` line where there is one — ``brandkit init``
    writes ``# template_dirs = []`` — else it goes at the end of the settings: inside a
    ``[brandkit]`` table when the file has one, else before the first table (``[[calendar]]``).
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    headers = [i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)]
    own = next((i for i in headers if lines[i].strip() == "[brandkit]"), None)
    start = 0 if own is None else own + 1
    end = next((i for i in headers if i >= start), len(lines))
    for index in range(start, end):
        if _TEMPLATE_DIRS_LINE.match(lines[index]):
            lines[index] = CONFIG_LINE + "\n"
            return "".join(lines)
    insert = [CONFIG_LINE + "\n"] + (["\n"] if end < len(lines) else [])
    return "".join(lines[:end] + insert + lines[end:])


# --- writing a file and its revision together ---------------------------------------------------


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _put_back(path: Path, previous: bytes | None) -> None:
    try:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            replace_file(path, previous)
    except OSError:
        log.exception("could not put back %s after a failed save; check it by hand", path)


@dataclass(frozen=True)
class Saved:
    """What a save did: the new revision (``None`` when the text was already the same)."""

    revision: TemplateRevision | None
    path: Path
    settings: Settings
    config_changed: bool

    @property
    def unchanged(self) -> bool:
        return self.revision is None


@dataclass(frozen=True)
class Author:
    id: int | None
    login: str | None


def save_template(
    engine: Engine,
    settings: Settings,
    *,
    workspace_id: int,
    name: str,
    source: str,
    author: Author,
    now: datetime,
    base_hash: str | None = None,
    note: str = "",
) -> Saved:
    """Save ``source`` as the template ``name`` if it renders everywhere; see the module doc.

    ``base_hash`` is the content hash of the text the editor started from: a save over a file
    that changed since is refused (:class:`ConcurrentUpdateError`).
    """
    text = normalise_source(source)
    preview = preview_source(name, text)
    if not preview.renders:
        raise TemplateError(
            str(preview.first_error), template=name, hint="nothing was saved: fix it, then save"
        )
    data = text.encode("utf-8")
    with _SAVING:
        stored = locate(settings, name)
        if base_hash is not None and base_hash != stored.content_hash:
            raise ConcurrentUpdateError(
                f"{name} was changed since you opened it; nothing was saved",
                hint="copy your text, reload the page and apply your change again",
            )
        if data == stored.data:
            return Saved(None, stored.path, settings, config_changed=False)
        config_changed = False
        if stored.builtin:
            settings, config_changed = ensure_template_dir(settings)
        target = save_target(settings, stored)
        revision = _write(engine, workspace_id, stored, target, data, author, note, now)
    return Saved(revision, target, settings, config_changed)


def _write(
    engine: Engine,
    workspace_id: int,
    stored: StoredTemplate,
    target: Path,
    data: bytes,
    author: Author,
    note: str,
    now: datetime,
) -> TemplateRevision:
    previous = target.read_bytes() if target.exists() else None
    written = False
    try:
        with session_scope(engine) as session:
            last = latest_revision(session, workspace_id, stored.name)
            if last is None or last.content_hash != stored.content_hash:
                session.add(
                    _revision(workspace_id, stored, stored.data, Author(None, None), "", now)
                )
            revision = _revision(workspace_id, stored, data, author, note.strip(), now, target)
            session.add(revision)
            session.flush()
            replace_file(target, data)
            written = True
    except BaseException:
        if written:
            _put_back(target, previous)
        raise
    return revision


def _revision(
    workspace_id: int,
    stored: StoredTemplate,
    data: bytes,
    author: Author,
    note: str,
    now: datetime,
    path: Path | None = None,
) -> TemplateRevision:
    return TemplateRevision(
        workspace_id=workspace_id,
        template=stored.name,
        language=stored.name.partition("/")[0],
        source=data.decode("utf-8", errors="replace"),
        content_hash=content_hash(data),
        path=str(path or stored.path),
        author_id=author.id,
        author_login=author.login,
        note=note,
        created_at=now,
    )


def restore_revision(
    engine: Engine,
    settings: Settings,
    *,
    workspace_id: int,
    name: str,
    revision_id: int,
    author: Author,
    now: datetime,
    base_hash: str | None,
    note: str,
) -> Saved:
    """Save an earlier revision's text again, as a new revision (it must render too)."""
    with session_scope(engine) as session:
        old = session.get(TemplateRevision, revision_id)
        if old is None or old.workspace_id != workspace_id or old.template != name:
            raise NotFoundError("revision", revision_id, hint=f"see the history of {name}")
        source = old.source
    return save_template(
        engine,
        settings,
        workspace_id=workspace_id,
        name=name,
        source=source,
        author=author,
        now=now,
        base_hash=base_hash,
        note=note,
    )


# --- history ------------------------------------------------------------------------------------


def latest_revision(session: Session, workspace_id: int, name: str) -> TemplateRevision | None:
    return session.exec(
        select(TemplateRevision)
        .where(TemplateRevision.workspace_id == workspace_id, TemplateRevision.template == name)
        .order_by(col(TemplateRevision.created_at).desc(), col(TemplateRevision.id).desc())
        .limit(1)
    ).first()


def revision_counts(session: Session, workspace_id: int) -> dict[str, int]:
    """How many revisions each template has."""
    rows = session.exec(
        select(TemplateRevision.template, func.count())
        .where(TemplateRevision.workspace_id == workspace_id)
        .group_by(col(TemplateRevision.template))
    ).all()
    return {name: int(count) for name, count in rows}


@dataclass(frozen=True)
class DiffLine:
    kind: str  # add, remove, context, hunk
    text: str


@dataclass(frozen=True)
class RevisionView:
    revision: TemplateRevision
    number: int  # 1 is the oldest
    diff: list[DiffLine]
    current: bool  # the text the file holds now
    original: bool  # recorded before the dashboard first saved the template (no author)
    builtin_origin: bool  # that text was the built-in template's

    @property
    def added(self) -> int:
        return sum(1 for line in self.diff if line.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.diff if line.kind == "remove")


def history(
    session: Session, workspace_id: int, name: str, current_hash: str, *, limit: int = 200
) -> list[RevisionView]:
    """The template's revisions, newest first, each with its diff against the one before."""
    rows = list(
        session.exec(
            select(TemplateRevision)
            .where(TemplateRevision.workspace_id == workspace_id, TemplateRevision.template == name)
            .order_by(col(TemplateRevision.created_at), col(TemplateRevision.id))
        ).all()
    )
    newest_current = next(
        (row.id for row in reversed(rows) if row.content_hash == current_hash), None
    )
    views: list[RevisionView] = []
    before = ""
    for number, row in enumerate(rows, start=1):
        views.append(
            RevisionView(
                revision=row,
                number=number,
                diff=diff_lines(before, row.source) if number > 1 else [],
                current=row.id == newest_current,
                original=row.author_login is None and row.author_id is None,
                builtin_origin=row.author_login is None and _is_builtin(Path(row.path)),
            )
        )
        before = row.source
    return list(reversed(views))[:limit]


def diff_lines(before: str, after: str) -> list[DiffLine]:
    """A unified diff (three lines of context) as typed lines, for escaped rendering."""
    kinds = {"+": "add", "-": "remove", "@": "hunk"}
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3))
    # the first two lines name the files ("--- ", "+++ "); a removed "---" fence is a change
    return [DiffLine(kinds.get(line[:1], "context"), line) for line in lines[2:]]
