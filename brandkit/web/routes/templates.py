"""The template editor: the library, one template's source with a live preview per platform,
lint, save (only what renders), and the history of changes with their authors.

Every page and action needs ``edit_templates`` (owners and marketing staff). Saving, the files
it writes and the revisions it records are :mod:`brandkit.web.template_store`; rendering the
unsaved source is :mod:`brandkit.web.template_preview`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlmodel import col, func, select
from starlette.concurrency import run_in_threadpool

from brandkit.content import PostTemplate, TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import TemplateRevision
from brandkit.errors import BrandkitError, InvalidInputError, NotFoundError
from brandkit.web import template_store
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize
from brandkit.web.template_preview import (
    MAX_SOURCE,
    Preview,
    normalise_source,
    preview_source,
    template_name,
)
from brandkit.web.template_store import Author, Saved, StoredTemplate

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]
MAX_NOTE = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _template_editor(page: SignedIn) -> Page:
    authorize(page.signed_in, Action.EDIT_TEMPLATES)
    return page


TemplateEditor = Annotated[Page, Depends(_template_editor)]


def _shown_path(page: Page, path: Path) -> str:
    """A path relative to the workspace when it is inside it."""
    home = page.web.settings.home
    return str(path.relative_to(home)) if path.is_relative_to(home) else str(path)


def _author(page: Page) -> Author:
    user = page.signed_in
    return Author(user.id, user.login)


def _note(value: str) -> str:
    note = _CONTROL.sub(" ", value).strip()
    if len(note) > MAX_NOTE:
        raise InvalidInputError(f"the note is longer than {MAX_NOTE} characters")
    return note


# --- the library --------------------------------------------------------------------------------


@dataclass
class ListedTemplate:
    name: str
    path: str
    origin: str  # builtin, workspace, override
    template: PostTemplate | None
    error: str | None
    revisions: int
    editable: bool


@router.get("/templates", response_class=HTMLResponse)
def templates_page(page: TemplateEditor) -> HTMLResponse:
    settings = page.web.settings
    library = TemplateLibrary(settings.template_dirs)
    with session_scope(page.web.engine) as db:
        counts = template_store.revision_counts(db, page.workspace.id or 0)
    rows = []
    for name, path in template_store.template_files(settings).items():
        stored = template_store.stored_at(name, path)
        template, error = None, None
        try:
            template = library.load(path)
        except BrandkitError as exc:
            error = str(exc)
        lang, _, stem = name.partition("/")
        rows.append(
            ListedTemplate(
                name=name,
                path=_shown_path(page, path),
                origin="builtin"
                if stored.builtin
                else ("override" if stored.hides_builtin else "workspace"),
                template=template,
                error=error,
                revisions=counts.get(name, 0),
                editable=_valid_name(lang, stem),
            )
        )
    target = settings.template_dirs[0] if settings.template_dirs else None
    return page.render(
        "templates.html",
        templates=rows,
        folder=_shown_path(page, target) if target else None,
    )


def _valid_name(lang: str, stem: str) -> bool:
    try:
        template_name(lang, stem)
    except InvalidInputError:
        return False
    return True


# --- one template -------------------------------------------------------------------------------


def _latest(page: Page, name: str) -> TemplateRevision | None:
    with session_scope(page.web.engine) as db:
        return template_store.latest_revision(db, page.workspace.id or 0, name)


def _edit_page(
    page: Page,
    name: str,
    *,
    source: str | None = None,
    lint: list[dict[str, Any]] | None = None,
    status: tuple[str, str] | None = None,
    http_status: int = 200,
) -> HTMLResponse:
    settings = page.web.settings
    stored = template_store.locate(settings, name)
    text = stored.source if source is None else source
    try:
        preview = preview_source(name, normalise_source(text))
    except InvalidInputError as exc:
        preview = Preview(name, error=exc.message)
    latest = _latest(page, name)
    if status is None:
        status = _saved_status(page, stored, latest)
    target = template_store.save_target(settings, stored)
    lang, _, stem = name.partition("/")
    return page.render(
        "template_edit.html",
        status=http_status,
        full_name=name,
        lang=lang,
        stem=stem,
        stored=stored,
        file_path=_shown_path(page, stored.path),
        target=_shown_path(page, target),
        adds_config=stored.builtin and not settings.template_dirs,
        source=text,
        preview=preview,
        lint=lint,
        editor_status=status,
        latest=latest,
        max_source=MAX_SOURCE,
        labels=_labels(page),
    )


def _saved_status(
    page: Page, stored: StoredTemplate, latest: TemplateRevision | None
) -> tuple[str, str]:
    if latest is not None and latest.content_hash == stored.content_hash and latest.author_login:
        at = latest.created_at.astimezone(page.tz).strftime("%Y-%m-%d %H:%M")
        return "saved", page.t(
            "template_edit.status_saved", revision=latest.id, login=latest.author_login, at=at
        )
    return "saved", page.t("template_edit.status_unedited")


def _labels(page: Page) -> dict[str, Any]:
    """The words the script puts on the page (it has no catalogue of its own)."""
    t = page.t
    return {
        "severity": {s: t.label("severity", s) for s in ("error", "warning", "info")},
        "line": t("template_edit.line"),
        "unsaved": t("template_edit.status_unsaved"),
        "renders": t("template_edit.status_renders"),
        "broken": t("template_edit.status_broken"),
        "failed": t("template_edit.preview_failed"),
        "no_findings": t("template_edit.no_findings"),
        "length": t("template_edit.length"),
    }


@router.get("/templates/{lang}/{name}", response_class=HTMLResponse)
def edit_template(page: TemplateEditor, lang: str, name: str) -> HTMLResponse:
    return _edit_page(page, template_name(lang, name))


@router.post("/templates/{lang}/{name}", response_model=None)
def save_template(
    page: TemplateEditor,
    lang: str,
    name: str,
    source: Annotated[str, Form()] = "",
    base_hash: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    full = template_name(lang, name)
    try:
        saved = template_store.save_template(
            page.web.engine,
            page.web.settings,
            workspace_id=page.workspace.id or 0,
            name=full,
            source=source,
            author=_author(page),
            now=page.now,
            base_hash=base_hash or None,
            note=_note(note),
        )
    except NotFoundError:
        raise
    except BrandkitError as exc:
        message = page.t("template_edit.not_saved", reason=str(exc))
        page.flash("error", message)
        return _edit_page(page, full, source=source, status=("error", message), http_status=400)
    _saved_flash(page, full, saved)
    return page.redirect(f"/templates/{lang}/{name}")


def _saved_flash(page: Page, name: str, saved: Saved) -> None:
    if saved.config_changed:
        page.web.settings = saved.settings  # this process sees the new folder at once
        page.flash("info", page.t("template_edit.config_added", folder="templates"))
    if saved.revision is None:
        page.flash("info", page.t("template_edit.unchanged", name=name))
        return
    page.flash(
        "success",
        page.t(
            "template_edit.saved",
            name=name,
            revision=saved.revision.id,
            path=_shown_path(page, saved.path),
        ),
    )


@router.post("/templates/{lang}/{name}/lint", response_class=HTMLResponse)
def lint_template(
    page: TemplateEditor, lang: str, name: str, source: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The source as typed (not saved), checked as ``brandkit templates lint`` does."""
    full = template_name(lang, name)
    try:
        results = preview_source(full, normalise_source(source)).lint()
    except InvalidInputError as exc:
        results = [
            {
                "template": full,
                "platform": None,
                "ok": False,
                "errors": [exc.message],
                "warnings": [],
            }
        ]
    failed = sum(1 for r in results if not r["ok"])
    kind = "error" if failed else "renders"
    message = page.t("template_edit.lint_summary", count=len(results), failed=failed)
    return _edit_page(page, full, source=source, lint=results, status=(kind, message))


class PreviewRequest(BaseModel):
    source: str = Field(max_length=MAX_SOURCE * 2)


@router.post("/api/templates/{lang}/{name}/preview")
async def preview_api(
    page: TemplateEditor, lang: str, name: str, body: PreviewRequest
) -> JSONResponse:
    """JSON for the script: the unsaved source rendered and checked for each platform."""
    try:
        full = template_name(lang, name)
        source = normalise_source(body.source)
    except InvalidInputError as exc:
        return JSONResponse(Preview(f"{lang}/{name}", error=exc.message).as_dict())
    preview = await run_in_threadpool(preview_source, full, source)
    return JSONResponse(preview.as_dict())


# --- history ------------------------------------------------------------------------------------


@router.get("/templates/{lang}/{name}/history", response_class=HTMLResponse)
def template_history(page: TemplateEditor, lang: str, name: str) -> HTMLResponse:
    full = template_name(lang, name)
    stored = template_store.locate(page.web.settings, full)
    with session_scope(page.web.engine) as db:
        revisions = template_store.history(db, page.workspace.id or 0, full, stored.content_hash)
        total = db.exec(
            select(func.count())
            .select_from(TemplateRevision)
            .where(
                col(TemplateRevision.workspace_id) == page.workspace.id,
                col(TemplateRevision.template) == full,
            )
        ).one()
    return page.render(
        "template_history.html",
        full_name=full,
        lang=lang,
        stem=name,
        stored=stored,
        file_path=_shown_path(page, stored.path),
        revisions=revisions,
        total=int(total),
        changed_outside=bool(revisions) and not any(r.current for r in revisions),
    )


@router.post("/templates/{lang}/{name}/history/{revision}/restore")
def restore(
    page: TemplateEditor,
    lang: str,
    name: str,
    revision: int,
    base_hash: Annotated[str, Form()] = "",
) -> RedirectResponse:
    full = template_name(lang, name)
    try:
        saved = template_store.restore_revision(
            page.web.engine,
            page.web.settings,
            workspace_id=page.workspace.id or 0,
            name=full,
            revision_id=revision,
            author=_author(page),
            now=page.now,
            base_hash=base_hash or None,
            note=page.t("template_history.restored_note", revision=revision),
        )
    except NotFoundError:
        raise
    except BrandkitError as exc:
        page.flash("error", page.t("template_edit.not_saved", reason=str(exc)))
        return page.redirect(f"/templates/{lang}/{name}/history")
    _saved_flash(page, full, saved)
    return page.redirect(f"/templates/{lang}/{name}/history")
