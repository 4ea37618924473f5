"""Approving, rejecting and cancelling posts, and putting approved variants on the timer.

The database commit comes first and the job-store write second: if the process dies between
them, the worker's start-up reconciliation adds the missing job, so nothing approved is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from brandkit.db.engine import session_scope
from brandkit.db.models import Post, Variant
from brandkit.errors import NotFoundError, StateError
from brandkit.publishing.jobs import PUBLISH_PREFIX, JobQueue
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import can_transition, transition

DEFAULT_GRACE = timedelta(minutes=60)


def _post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFoundError("post", post_id, hint="list posts with 'brandkit posts list'")
    return post


def _variants(session: Session, post_id: int) -> list[Variant]:
    return list(session.exec(select(Variant).where(Variant.post_id == post_id)).all())


def approve_post(
    session: Session,
    post_id: int,
    *,
    by: str,
    now: datetime,
    override_reason: str | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> list[int]:
    """Approve a draft post and schedule its variants; returns the variant ids to queue.

    A variant with error findings blocks approval unless an override reason is given, which is
    recorded on the post. The caller commits, then calls :func:`queue_variants`.
    """
    post = _post(session, post_id)
    if post.state != "draft":
        raise StateError(
            f"post {post_id} is {post.state}, only a draft can be approved", current=post.state
        )
    if post.scheduled_at < now - grace:
        raise StateError(
            f"post {post_id} was due at {post.scheduled_at:%Y-%m-%d %H:%M} UTC, which has passed",
            current=post.state,
            hint=f"give it a new time: brandkit posts reschedule {post_id} --at 'YYYY-MM-DD HH:MM'",
        )
    variants = _variants(session, post_id)
    blocking = [
        f"{v.id}: {f['message']}"
        for v in variants
        for f in v.findings
        if f.get("severity") == "error"
    ]
    if blocking and not override_reason:
        raise StateError(
            f"post {post_id} has {len(blocking)} error finding(s): {blocking[0]}",
            current=post.state,
            hint="edit the text, or approve with --override 'reason' (owner only)",
        )
    post.state = "approved"
    post.approved_by = by
    post.approved_at = now
    post.lint_override_reason = override_reason if blocking else None
    post.updated_at = now
    queued = []
    for variant in variants:
        if variant.state != S.DRAFT:
            continue
        assert variant.id is not None
        transition(session, variant.id, S.DRAFT, S.APPROVED, now=now)
        transition(session, variant.id, S.APPROVED, S.SCHEDULED, now=now)
        queued.append(variant.id)
    return queued


def approve_and_queue(
    engine: Engine,
    queue: JobQueue,
    post_id: int,
    *,
    by: str,
    now: datetime,
    override_reason: str | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> list[int]:
    """Approve in one transaction, then give each variant its job (see the module docstring)."""
    with session_scope(engine) as session:
        queued = approve_post(
            session, post_id, by=by, now=now, override_reason=override_reason, grace=grace
        )
    with session_scope(engine) as session:
        queue_variants(session, queue, queued)
    return queued


def reschedule_post(session: Session, post_id: int, *, at: datetime, now: datetime) -> list[int]:
    """Move a post to ``at``; failed or missed variants are scheduled again (a retry).

    Returns the ids of variants that now need a job at ``at``; the caller commits first, then
    queues them. Published, cancelled and in-flight variants are left as they are.
    """
    post = _post(session, post_id)
    if post.state in ("rejected", "cancelled"):
        raise StateError(
            f"post {post_id} is {post.state}; it cannot be rescheduled", current=post.state
        )
    post.scheduled_at = at
    post.updated_at = now
    queued = []
    for variant in _variants(session, post_id):
        assert variant.id is not None
        if variant.state in (S.DRAFT, S.APPROVED):
            variant.due_at = at
        elif variant.state == S.SCHEDULED:
            variant.due_at = at
            queued.append(variant.id)
        elif variant.state in (S.FAILED, S.MISSED) and post.state == "approved":
            transition(
                session,
                variant.id,
                S(variant.state),
                S.SCHEDULED,
                now=now,
                due_at=at,
                attempts=0,
                last_error=f"rescheduled from {variant.state}",
            )
            queued.append(variant.id)
    if not queued and post.state == "approved":
        raise StateError(
            f"post {post_id} has nothing left to reschedule",
            current=post.state,
            hint="only scheduled, failed and missed variants can move",
        )
    return queued


def queue_variants(session: Session, queue: JobQueue, variant_ids: list[int]) -> None:
    """Give each scheduled variant its ``publish:<id>`` date job (after the approval commit)."""
    for variant_id in variant_ids:
        variant = session.get(Variant, variant_id)
        if variant is not None and variant.state == S.SCHEDULED:
            queue.schedule_publish(variant_id, variant.due_at)


def cancel_post(session: Session, post_id: int, *, now: datetime) -> list[int]:
    """Cancel every variant that has not gone out yet; returns their ids.

    The caller commits, then calls :func:`unqueue_variants`: on SQLite a job-store write while
    this transaction is open would wait for its own lock. A job left behind by a crash in
    between finds its variant cancelled and does nothing.
    """
    post = _post(session, post_id)
    cancelled = []
    settling = 0
    for variant in _variants(session, post_id):
        assert variant.id is not None
        if variant.state == S.UNCONFIRMED:
            # it may already be on the platform: settling looks first, then honours the post's
            # cancelled state instead of resending
            settling += 1
        elif can_transition(variant.state, S.CANCELLED):
            transition(session, variant.id, S(variant.state), S.CANCELLED, now=now)
            cancelled.append(variant.id)
    if not cancelled and not settling:
        raise StateError(f"post {post_id} has nothing left to cancel", current=post.state)
    post.state = "cancelled"
    post.updated_at = now
    return cancelled


def unqueue_variants(queue: JobQueue, variant_ids: list[int]) -> None:
    for variant_id in variant_ids:
        queue.remove(f"{PUBLISH_PREFIX}{variant_id}")


def reject_post(
    session: Session, post_id: int, *, by: str, now: datetime, comment: str | None = None
) -> None:
    """Reject a draft: none of its variants will be published.

    Who rejected it, when and ``comment`` (why, and what to change) are kept on the post
    (``rejected_by``, ``rejected_at``, ``review_comment``); a blank comment is kept as none.
    """
    post = _post(session, post_id)
    if post.state != "draft":
        raise StateError(
            f"post {post_id} is {post.state}; only a draft can be rejected", current=post.state
        )
    for variant in _variants(session, post_id):
        assert variant.id is not None
        transition(
            session, variant.id, S.DRAFT, S.CANCELLED, now=now, last_error=f"rejected by {by}"
        )
    post.state = "rejected"
    post.rejected_by = by
    post.rejected_at = now
    post.review_comment = comment.strip() if comment and comment.strip() else None
    post.updated_at = now
