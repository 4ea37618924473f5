"""The queue's actions — approve, reject with a comment, reschedule, cancel — as the CLI does them.

Each loads the post, asks the policy (:func:`~brandkit.web.policy.authorize`) inside the same
transaction that changes it, and calls the functions of :mod:`brandkit.publishing.approval`;
approval goes through :func:`~brandkit.publishing.approval.approve_and_queue`, so the variants
get their ``publish:<id>`` jobs exactly as with ``brandkit posts approve``. Domain errors
(:class:`~brandkit.errors.BrandkitError`) propagate for the page to show as one line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from brandkit.db.engine import session_scope
from brandkit.db.models import Post, User
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.planner.calendar import local_to_utc
from brandkit.publishing.approval import (
    approve_and_queue,
    cancel_post,
    queue_variants,
    reject_post,
    reschedule_post,
    unqueue_variants,
)
from brandkit.publishing.jobs import JobQueue
from brandkit.web.policy import Action, authorize

MAX_COMMENT = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _post(session: Session, post_id: int, workspace_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None or post.workspace_id != workspace_id:
        raise NotFoundError("post", post_id)
    return post


def clean_text(value: str, *, limit: int, what: str) -> str:
    """Form text as stored: newlines normalised, control characters dropped, trimmed."""
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise InvalidInputError(f"the {what} is empty")
    if len(text) > limit:
        raise InvalidInputError(f"the {what} is longer than {limit} characters")
    return text


def approve(
    engine: Engine,
    user: User,
    post_id: int,
    *,
    now: datetime,
    grace: timedelta,
    override_reason: str | None = None,
) -> int:
    """Approve and queue; returns how many variants were queued."""
    reason = (
        clean_text(override_reason, limit=MAX_COMMENT, what="reason") if override_reason else None
    )
    with session_scope(engine) as session:
        post = _post(session, post_id, user.workspace_id)
        authorize(user, Action.APPROVE, post)
        if reason is not None:
            authorize(user, Action.APPROVE_OVERRIDE, post)
    with JobQueue(engine) as queue:
        queued = approve_and_queue(
            engine, queue, post_id, by=user.login, now=now, override_reason=reason, grace=grace
        )
    return len(queued)


def reject(engine: Engine, user: User, post_id: int, *, now: datetime, comment: str) -> None:
    """Reject a draft; the post keeps who rejected it and the comment (``review_comment``)."""
    text = clean_text(comment, limit=MAX_COMMENT, what="comment")
    with session_scope(engine) as session:
        post = _post(session, post_id, user.workspace_id)
        authorize(user, Action.REJECT, post)
        reject_post(session, post_id, by=user.login, now=now, comment=text)


def parse_local(value: str, tz: ZoneInfo) -> datetime:
    """``2026-12-01T12:30`` (an ``<input type=datetime-local>``) in ``tz`` → UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{value!r} is not a date and time") from exc
    if moment.tzinfo is not None:
        raise InvalidInputError(f"{value!r}: give a local time without a zone")
    return local_to_utc(moment.date(), moment.time(), tz)


def reschedule(engine: Engine, user: User, post_id: int, *, at: datetime, now: datetime) -> int:
    """Move a post to ``at`` (not in the past); returns how many variants were queued."""
    if at < now - timedelta(minutes=1):
        raise InvalidInputError("the new time has already passed; choose a time in the future")
    with session_scope(engine) as session:
        post = _post(session, post_id, user.workspace_id)
        authorize(user, Action.RESCHEDULE, post)
        queued = reschedule_post(session, post_id, at=at, now=now)
    with JobQueue(engine) as queue, session_scope(engine) as session:
        queue_variants(session, queue, queued)
    return len(queued)


def cancel(engine: Engine, user: User, post_id: int, *, now: datetime) -> int:
    """Cancel what has not gone out; returns how many variants were cancelled."""
    with session_scope(engine) as session:
        post = _post(session, post_id, user.workspace_id)
        authorize(user, Action.CANCEL, post)
        cancelled = cancel_post(session, post_id, now=now)
    with JobQueue(engine) as queue:
        unqueue_variants(queue, cancelled)
    return len(cancelled)
