"""The week's calendar and queue, and its actions: approve, reject, reschedule, cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from brandkit.db.engine import session_scope
from brandkit.errors import BrandkitError
from brandkit.web import posts
from brandkit.web.pages import Page, back_to_week, signed_in
from brandkit.web.policy import Action, authorize
from brandkit.web.week import chosen_week, load_week

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue(page: SignedIn, week: str | None = None) -> HTMLResponse:
    user = page.signed_in
    authorize(user, Action.VIEW_QUEUE)
    try:
        monday = chosen_week(week, page.now, page.tz)
    except BrandkitError as exc:
        page.flash("error", exc.message)
        monday = chosen_week(None, page.now, page.tz)
    assert page.workspace.id is not None
    with session_scope(page.web.engine) as db:
        view = load_week(db, workspace_id=page.workspace.id, monday=monday, tz=page.tz, user=user)
    return page.render("queue.html", week=view, timezone=page.workspace.timezone)


def _act(
    page: Page, action: Action, post_id: int, week: str | None, run: Callable[[], str]
) -> RedirectResponse:
    """Run one action; its domain error becomes a one-line message on the queue page.

    A role that may never do ``action`` gets the 403 page before the post is even looked up;
    a role that may do it to some posts only is checked against this post by ``run``.
    """
    authorize(page.signed_in, action)
    try:
        page.flash("success", run())
    except BrandkitError as exc:
        page.flash("error", page.t("queue.failed", post=post_id, reason=exc.message))
    return page.redirect(back_to_week(week, f"#post-{post_id}"))


@router.post("/posts/{post_id}/approve")
def approve(
    page: SignedIn,
    post_id: int,
    override_reason: Annotated[str, Form()] = "",
    week: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    def run() -> str:
        queued = posts.approve(
            page.web.engine,
            page.signed_in,
            post_id,
            now=page.now,
            grace=timedelta(minutes=page.web.settings.publish_grace_minutes),
            override_reason=override_reason.strip() or None,
        )
        return page.t("queue.approved", post=post_id, count=queued)

    return _act(page, Action.APPROVE, post_id, week, run)


@router.post("/posts/{post_id}/reject")
def reject(
    page: SignedIn,
    post_id: int,
    comment: Annotated[str, Form()] = "",
    week: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    def run() -> str:
        posts.reject(page.web.engine, page.signed_in, post_id, now=page.now, comment=comment)
        return page.t("queue.rejected", post=post_id)

    return _act(page, Action.REJECT, post_id, week, run)


@router.post("/posts/{post_id}/reschedule")
def reschedule(
    page: SignedIn,
    post_id: int,
    at: Annotated[str, Form()] = "",
    week: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    def run() -> str:
        moment = posts.parse_local(at, page.tz)
        queued = posts.reschedule(page.web.engine, page.signed_in, post_id, at=moment, now=page.now)
        local = moment.astimezone(page.tz).strftime("%Y-%m-%d %H:%M")
        return page.t("queue.rescheduled", post=post_id, at=local, count=queued)

    return _act(page, Action.RESCHEDULE, post_id, week, run)


@router.post("/posts/{post_id}/cancel")
def cancel(
    page: SignedIn,
    post_id: int,
    week: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    def run() -> str:
        count = posts.cancel(page.web.engine, page.signed_in, post_id, now=page.now)
        return page.t("queue.cancelled", post=post_id, count=count)

    return _act(page, Action.CANCEL, post_id, week, run)
