"""The post editor: one text per target account, with live length counters and findings.

``GET /posts/{id}/edit`` shows each variant's text with its length in the platform's own unit
against the platform's limit and its findings; the vendored script sends the text to
``POST /api/posts/{id}/check`` as you type (debounced) and updates both in place. That check is
the one drafting and editing use (:func:`brandkit.planner.variants.check_variant`): length,
compliance, privacy (the doctor's and the clinic's own details allowed) and readability against
the template's audience.

Saving goes through :func:`brandkit.publishing.editing.edit_post`, as ``brandkit posts edit``
does: the texts are checked again and the post returns to ``draft`` for approval. When any text
of an approved post changes, every variant still waiting goes back to draft with it — the post is
approved as a whole — and their ``publish:<id>`` jobs are removed after the commit. Published,
publishing and unconfirmed variants are never changed. A template post's variables can be changed
too (every variant is rendered again). The page carries a version of the post; a save over a post
that someone else (or the worker) changed since is refused in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from brandkit.content import PostTemplate, TemplateLibrary
from brandkit.content.frontmatter import TemplateVariable
from brandkit.content.length import rules_for
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Profile, User, Variant, Workspace
from brandkit.errors import (
    BrandkitError,
    ConcurrentUpdateError,
    InvalidInputError,
    NotFoundError,
    StateError,
    UnknownPlatformError,
)
from brandkit.planner.drafts import own_details
from brandkit.planner.variants import check_variant
from brandkit.platforms.base import get_connector_class
from brandkit.publishing.approval import unqueue_variants
from brandkit.publishing.editing import EDITABLE, edit_post
from brandkit.publishing.jobs import JobQueue
from brandkit.web.i18n import Translator
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize
from brandkit.web.template_preview import excerpt

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]

MAX_TEXT = 20_000  # characters; the longest platform limit (Facebook) is 63,206 *bytes* of text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEXT_FIELD = "text-"
VAR_FIELD = "var-"


def _editor(page: SignedIn) -> Page:
    """Roles that may edit no post at all get the 403 page before anything is looked up."""
    authorize(page.signed_in, Action.EDIT_DRAFTS)
    return page


Editor = Annotated[Page, Depends(_editor)]


def normalise_text(value: str) -> str:
    """A text as it is saved: newlines normalised, control characters dropped, trimmed."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def platform_limit(platform: str) -> int | None:
    """The most the platform allows, in the unit its length is measured in."""
    try:
        return rules_for(platform).limit
    except UnknownPlatformError:
        try:
            limit = getattr(get_connector_class(platform), "max_length", None)
        except UnknownPlatformError:
            return None
        return limit if isinstance(limit, int) else None


# --- what the page shows ------------------------------------------------------------------------


@dataclass
class EditorVariant:
    id: int
    account: str
    platform: str
    state: str
    editable: bool
    text: str
    length: int
    limit: int | None
    findings: list[dict[str, Any]]

    @property
    def over(self) -> bool:
        return self.limit is not None and self.length > self.limit


@dataclass
class EditorPost:
    id: int
    state: str
    at: datetime
    template: str | None
    profile: str | None
    language: str
    approved_by: str | None
    version: str
    variants: list[EditorVariant]
    variables: list[tuple[TemplateVariable, str]] = field(default_factory=list)
    template_missing: bool = False

    @property
    def editable(self) -> bool:
        return self.state in ("draft", "approved") and any(v.editable for v in self.variants)

    @property
    def returns_to_draft(self) -> bool:
        """Saving takes an approval back: the page says so before the button."""
        return self.state == "approved"


def _post(session: Session, user: User, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None or post.workspace_id != user.workspace_id:
        raise NotFoundError("post", post_id)
    authorize(user, Action.EDIT_DRAFTS, post)
    return post


def _rows(session: Session, post_id: int) -> list[tuple[Variant, Account]]:
    return list(
        session.exec(
            select(Variant, Account)
            .where(Variant.post_id == post_id, Variant.account_id == Account.id)
            .order_by(col(Account.name))
        ).all()
    )


def post_version(post: Post, rows: list[tuple[Variant, Account]]) -> str:
    """Changes whenever the post or one of its variants changes (state, text, time)."""
    parts = [post.state, post.updated_at.isoformat(), post.scheduled_at.isoformat()]
    parts += [f"{v.id}:{v.state}:{v.updated_at.isoformat()}" for v, _ in rows]
    return sha256("|".join(parts).encode()).hexdigest()[:20]


def _template(library: TemplateLibrary, post: Post) -> PostTemplate | None:
    if not post.template_name:
        return None
    try:
        return library.get(post.template_name)
    except BrandkitError:  # renamed or broken since: the texts can still be edited
        return None


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def load_editor(
    session: Session, library: TemplateLibrary, user: User, post_id: int, tz: Any
) -> EditorPost:
    post = _post(session, user, post_id)
    assert post.id is not None
    rows = _rows(session, post_id)
    template = _template(library, post)
    profile = session.get(Profile, post.profile_id) if post.profile_id else None
    variants = [
        EditorVariant(
            id=v.id or 0,
            account=a.name,
            platform=a.platform,
            state=v.state,
            editable=v.state in EDITABLE and post.state in ("draft", "approved"),
            text=v.text,
            length=v.length,
            limit=platform_limit(a.platform),
            findings=[
                {**f, "excerpt": excerpt(v.text, f.get("start", 0), f.get("end", 0))}
                for f in v.findings
            ],
        )
        for v, a in rows
    ]
    variables = (
        [(var, _shown(post.variables.get(var.name))) for var in template.variables]
        if template
        else []
    )
    return EditorPost(
        id=post.id,
        state=post.state,
        at=post.scheduled_at.astimezone(tz),
        template=post.template_name,
        profile=profile.display_name if profile else None,
        language=post.language,
        approved_by=post.approved_by,
        version=post_version(post, rows),
        variants=variants,
        variables=variables,
        template_missing=bool(post.template_name) and template is None,
    )


# --- checking as you type -----------------------------------------------------------------------


def check_text(
    engine: Engine, library: TemplateLibrary, user: User, post_id: int, variant_id: int, text: str
) -> dict[str, Any]:
    """Length, limit and findings of ``text`` as the variant's platform would see it."""
    body = normalise_text(text)
    with session_scope(engine) as session:
        post = _post(session, user, post_id)
        row = next((r for r in _rows(session, post_id) if r[0].id == variant_id), None)
        if row is None:
            raise NotFoundError("variant of this post", variant_id)
        account = row[1]
        workspace = session.get(Workspace, post.workspace_id)
        profile = session.get(Profile, post.profile_id) if post.profile_id else None
        assert workspace is not None
        length, findings = check_variant(
            body,
            platform=account.platform,
            language=post.language,
            template=_template(library, post),
            allow=own_details(workspace, profile),
            has_image=post.image_url is not None,
        )
    limit = platform_limit(account.platform)
    return {
        "variant": variant_id,
        "length": length,
        "limit": limit,
        "over": limit is not None and length > limit,
        "findings": [{**f, "excerpt": excerpt(body, f["start"], f["end"])} for f in findings],
    }


# --- saving -------------------------------------------------------------------------------------


def _same_version(post: Post, rows: list[tuple[Variant, Account]], version: str) -> None:
    if version != post_version(post, rows):
        raise ConcurrentUpdateError(
            f"post {post.id} was changed by someone else since you opened it; nothing was saved",
            hint="copy your text, reload the page and apply your change again",
        )


def save_texts(
    engine: Engine,
    library: TemplateLibrary,
    user: User,
    post_id: int,
    *,
    texts: dict[int, str],
    version: str,
    now: datetime,
) -> int:
    """Save the changed texts (see the module docstring); returns how many changed."""
    with session_scope(engine) as session:
        post = _post(session, user, post_id)
        rows = _rows(session, post_id)
        _same_version(post, rows, version)
        if post.state not in ("draft", "approved"):
            raise StateError(
                f"post {post_id} is {post.state}; create a new one instead", current=post.state
            )
        editable = [(v, a) for v, a in rows if v.state in EDITABLE and v.id in texts]
        new = {}
        for variant, account in editable:
            text = normalise_text(texts[variant.id or 0])
            if not text:
                raise InvalidInputError(f"the text for {account.name} is empty")
            if len(text) > MAX_TEXT:
                raise InvalidInputError(
                    f"the text for {account.name} is longer than {MAX_TEXT:,} characters"
                )
            new[account.name] = text
        changed = sum(1 for v, a in editable if new[a.name] != v.text)
        if not changed:
            return 0
        unqueue: list[int] = []
        for variant, account in rows:  # the whole post goes back to draft, not one variant
            if variant.state in EDITABLE:
                text = new.get(account.name, variant.text)
                unqueue += edit_post(
                    session, library, post_id, now=now, text=text, account=account.name
                )
    with JobQueue(engine) as queue:
        unqueue_variants(queue, unqueue)
    return changed


def save_variables(
    engine: Engine,
    library: TemplateLibrary,
    user: User,
    post_id: int,
    *,
    values: dict[str, str],
    version: str,
    now: datetime,
) -> int:
    """Change a template post's variables; every variant is rendered again. Returns how many."""
    with session_scope(engine) as session:
        post = _post(session, user, post_id)
        _same_version(post, _rows(session, post_id), version)
        template = _template(library, post)
        if template is None:
            raise InvalidInputError(
                f"post {post_id} has no template to render again; edit its texts instead"
            )
        changed: dict[str, str] = {}
        for variable in template.variables:
            if variable.name not in values:
                continue
            value = normalise_text(values[variable.name])
            if value == _shown(post.variables.get(variable.name)):
                continue
            if not value and variable.required:
                raise InvalidInputError(f"the variable {variable.name!r} is required")
            changed[variable.name] = value
        if not changed:
            return 0
        unqueue = edit_post(session, library, post_id, now=now, variables=changed)
    with JobQueue(engine) as queue:
        unqueue_variants(queue, unqueue)
    return len(changed)


# --- routes -------------------------------------------------------------------------------------


def _library(page: Page) -> TemplateLibrary:
    return TemplateLibrary(page.web.settings.template_dirs)


def _severity_labels(t: Translator) -> dict[str, str]:
    return {s: t.label("severity", s) for s in ("error", "warning", "info")}


@router.get("/posts/{post_id}/edit", response_class=HTMLResponse)
def edit_page(page: Editor, post_id: int) -> HTMLResponse:
    with session_scope(page.web.engine) as db:
        post = load_editor(db, _library(page), page.signed_in, post_id, page.tz)
    return page.render(
        "post_edit.html",
        post=post,
        timezone=page.workspace.timezone,
        labels={
            "severity": _severity_labels(page.t),
            "checking": page.t("editor.checking"),
            "failed": page.t("editor.check_failed"),
        },
        week=post.at.strftime("%G-W%V"),
    )


async def _form(request: Request, prefix: str) -> tuple[dict[str, str], str]:
    form = await request.form()
    fields = {
        key.removeprefix(prefix): value
        for key, value in form.items()
        if key.startswith(prefix) and isinstance(value, str)
    }
    version = form.get("version")
    return fields, version if isinstance(version, str) else ""


@router.post("/posts/{post_id}/edit")
async def save_post(page: Editor, post_id: int, request: Request) -> RedirectResponse:
    fields, version = await _form(request, TEXT_FIELD)
    texts = {int(key): value for key, value in fields.items() if key.isdigit()}

    def run() -> int:
        return save_texts(
            page.web.engine,
            _library(page),
            page.signed_in,
            post_id,
            texts=texts,
            version=version,
            now=page.now,
        )

    return await _saved(page, post_id, run)


@router.post("/posts/{post_id}/edit/variables")
async def save_post_variables(page: Editor, post_id: int, request: Request) -> RedirectResponse:
    values, version = await _form(request, VAR_FIELD)

    def run() -> int:
        return save_variables(
            page.web.engine,
            _library(page),
            page.signed_in,
            post_id,
            values=values,
            version=version,
            now=page.now,
        )

    return await _saved(page, post_id, run)


async def _saved(page: Page, post_id: int, run: Any) -> RedirectResponse:
    """Run a save in a worker thread; its domain error is one line on the editor page."""
    try:
        changed = await run_in_threadpool(run)
    except NotFoundError:
        raise
    except BrandkitError as exc:
        page.flash("error", page.t("editor.not_saved", post=post_id, reason=str(exc)))
    else:
        if changed:
            page.flash("success", page.t("editor.saved", post=post_id, count=changed))
        else:
            page.flash("info", page.t("editor.unchanged", post=post_id))
    return page.redirect(f"/posts/{post_id}/edit")


class CheckRequest(BaseModel):
    variant: int
    text: str = Field(max_length=MAX_TEXT * 2)


@router.post("/api/posts/{post_id}/check")
async def check_api(page: Editor, post_id: int, body: CheckRequest) -> JSONResponse:
    """JSON for the script: ``{"length", "limit", "over", "findings": [...]}``."""
    try:
        result = await run_in_threadpool(
            check_text,
            page.web.engine,
            _library(page),
            page.signed_in,
            post_id,
            body.variant,
            body.text,
        )
    except NotFoundError as exc:
        return JSONResponse({"error": exc.message}, status_code=404)
    except BrandkitError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    labels = _severity_labels(page.t)
    for finding in result["findings"]:
        finding["label"] = labels.get(finding["severity"], finding["severity"])
    return JSONResponse(result)
