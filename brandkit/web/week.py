"""The week's calendar and queue: the posts of one local week, with their variants and findings.

Read-only: this module gathers what the queue page shows (in the workspace's time zone) and
which actions the signed-in user may take on each post; the actions themselves are in
:mod:`brandkit.web.posts`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from brandkit.db.models import Account, Post, Profile, User, Variant
from brandkit.errors import UnknownPlatformError
from brandkit.planner.calendar import iso_week, local_to_utc, parse_week, week_start
from brandkit.platforms.base import get_connector_class
from brandkit.web.policy import Action, may

POST_ACTIONS = (Action.APPROVE, Action.REJECT, Action.RESCHEDULE, Action.CANCEL)
OPEN_VARIANT_STATES = frozenset({"draft", "approved", "scheduled", "failed", "missed"})


@dataclass
class VariantView:
    id: int
    account: str
    platform: str
    state: str
    length: int
    max_length: int | None
    text: str
    findings: list[dict[str, Any]]
    last_error: str | None
    remote_url: str | None
    published_at: datetime | None

    @property
    def too_long(self) -> bool:
        return self.max_length is not None and self.length > self.max_length


@dataclass
class PostView:
    id: int
    at: datetime  # local time
    state: str
    template: str | None
    profile: str | None
    approved_by: str | None
    approved_at: datetime | None
    override_reason: str | None
    rejected_by: str | None = None
    rejected_at: datetime | None = None
    review_comment: str | None = None
    variants: list[VariantView] = field(default_factory=list)
    can: dict[str, bool] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for v in self.variants for f in v.findings if f.get("severity") == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for v in self.variants for f in v.findings if f.get("severity") == "warning")

    @property
    def rejected(self) -> bool:
        """Rejected, with who did it (kept on the post by ``reject_post``)."""
        return self.state == "rejected" and self.rejected_by is not None

    @property
    def legacy_rejection(self) -> str | None:
        """A post rejected before the post kept its reviewer: the note on its variants."""
        if self.state != "rejected" or self.rejected_by is not None:
            return None
        return next((v.last_error for v in self.variants if v.last_error), None)

    @property
    def needs_action(self) -> bool:
        return self.state == "draft" or any(v.state in ("failed", "missed") for v in self.variants)


@dataclass
class DayView:
    day: date
    posts: list[PostView]


@dataclass
class WeekView:
    monday: date
    days: list[DayView]
    counts: Counter[str]

    @property
    def iso(self) -> str:
        return iso_week(self.monday)

    @property
    def previous(self) -> str:
        return iso_week(self.monday - timedelta(days=7))

    @property
    def next(self) -> str:
        return iso_week(self.monday + timedelta(days=7))

    @property
    def empty(self) -> bool:
        return not any(day.posts for day in self.days)


def chosen_week(value: str | None, now: datetime, tz: ZoneInfo) -> date:
    """The Monday of ``value`` (``2026-W49``), or of the current local week."""
    return parse_week(value) if value else week_start(now, tz)


def _max_length(platform: str) -> int | None:
    try:
        limit = getattr(get_connector_class(platform), "max_length", None)
    except UnknownPlatformError:
        return None
    return limit if isinstance(limit, int) else None


def load_week(
    session: Session, *, workspace_id: int, monday: date, tz: ZoneInfo, user: User
) -> WeekView:
    """Every post of the local week starting ``monday``, in time order, with what ``user`` may do.

    Three queries: the posts, their variants with accounts, and the profiles.
    """
    start = local_to_utc(monday, time(0), tz)
    end = local_to_utc(monday + timedelta(days=7), time(0), tz)
    posts = session.exec(
        select(Post)
        .where(
            Post.workspace_id == workspace_id,
            col(Post.scheduled_at) >= start,
            col(Post.scheduled_at) < end,
        )
        .order_by(col(Post.scheduled_at), col(Post.id))
    ).all()
    ids = [p.id for p in posts]
    rows = (
        session.exec(
            select(Variant, Account)
            .where(col(Variant.post_id).in_(ids), Variant.account_id == Account.id)
            .order_by(col(Variant.post_id), col(Account.name))
        ).all()
        if ids
        else []
    )
    profile_ids = {p.profile_id for p in posts if p.profile_id is not None}
    profiles = (
        {
            p.id: p.display_name
            for p in session.exec(select(Profile).where(col(Profile.id).in_(profile_ids))).all()
        }
        if profile_ids
        else {}
    )
    by_post: dict[int, list[VariantView]] = {}
    for variant, account in rows:
        assert variant.id is not None
        by_post.setdefault(variant.post_id, []).append(
            VariantView(
                id=variant.id,
                account=account.name,
                platform=account.platform,
                state=variant.state,
                length=variant.length,
                max_length=_max_length(account.platform),
                text=variant.text,
                findings=list(variant.findings),
                last_error=variant.last_error,
                remote_url=variant.remote_url,
                published_at=variant.published_at.astimezone(tz) if variant.published_at else None,
            )
        )
    days = [DayView(monday + timedelta(days=i), []) for i in range(7)]
    counts: Counter[str] = Counter()
    for post in posts:
        assert post.id is not None
        view = PostView(
            id=post.id,
            at=post.scheduled_at.astimezone(tz),
            state=post.state,
            template=post.template_name,
            profile=profiles.get(post.profile_id) if post.profile_id else None,
            approved_by=post.approved_by,
            approved_at=post.approved_at.astimezone(tz) if post.approved_at else None,
            override_reason=post.lint_override_reason,
            rejected_by=post.rejected_by,
            rejected_at=post.rejected_at.astimezone(tz) if post.rejected_at else None,
            review_comment=post.review_comment,
            variants=by_post.get(post.id, []),
        )
        view.can = {action.value: _can(user, action, post, view) for action in POST_ACTIONS}
        view.can[Action.APPROVE_OVERRIDE.value] = may(user, Action.APPROVE_OVERRIDE, post)
        view.can["edit"] = (
            may(user, Action.EDIT_DRAFTS, post)
            and post.state in ("draft", "approved")
            and any(v.state in OPEN_VARIANT_STATES for v in view.variants)
        )
        counts.update(v.state for v in view.variants)
        days[(view.at.date() - monday).days].posts.append(view)
    return WeekView(monday=monday, days=days, counts=counts)


def _can(user: User, action: Action, post: Post, view: PostView) -> bool:
    """Whether to offer ``action``: the user may, and the post is in a state where it can."""
    if not may(user, action, post):
        return False
    open_variants = any(v.state in OPEN_VARIANT_STATES for v in view.variants)
    if action in (Action.APPROVE, Action.REJECT):
        return post.state == "draft"
    if action is Action.RESCHEDULE:
        return post.state in ("draft", "approved") and open_variants
    return post.state not in ("rejected", "cancelled") and (
        open_variants or any(v.state == "unconfirmed" for v in view.variants)
    )
