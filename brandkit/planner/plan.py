"""Planning a week: one draft post per active slot, one variant per account, rendered and checked.

Idempotent by construction: a (slot, time) pair that already has a post is reported as
``exists`` and left alone, and the database's unique constraint on the pair backs that up
against a concurrent run. Slots whose time has already passed are reported as ``past``: a draft
for a moment gone by could only be missed. Everything happens in the caller's transaction, so
``brandkit plan --dry-run`` rolls back and leaves the backlog and the database untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from brandkit.content import TemplateLibrary
from brandkit.db.models import Account, Post, Profile, Slot, Topic, Variant, Workspace
from brandkit.errors import BrandkitError
from brandkit.planner.calendar import slot_moment
from brandkit.planner.drafts import draft_post, resolve_accounts
from brandkit.planner.slots import describe, list_slots
from brandkit.planner.sources import SlotVariables, TopicSource

NEW, EXISTS, PAST = "new", "exists", "past"


@dataclass(frozen=True)
class PlannedVariant:
    """One account's draft, as the plan shows it."""

    account: str
    length: int
    fits: bool
    errors: int
    warnings: int


@dataclass
class PlannedSlot:
    """One slot of the week: what it posts, when, and whether this run created it."""

    slot_id: int
    slot: str
    local_time: datetime  # in the workspace's zone
    scheduled_at: datetime  # UTC
    status: str  # new | exists | past
    accounts: list[str]
    template: str | None = None
    topic: str | None = None
    source: str | None = None  # backlog | slot | examples, for posts made by this run
    post_id: int | None = None
    variants: list[PlannedVariant] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(v.errors for v in self.variants)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"errors": self.error_count}


def plan_slots(
    session: Session,
    library: TemplateLibrary,
    *,
    workspace: Workspace,
    profile: Profile | None,
    monday: date,
    now: datetime,
    topics: TopicSource | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[PlannedSlot]:
    """Plan the week of ``monday`` (a local date) slot by slot; see the module docstring.

    A slot that cannot be drafted (an unknown account, a template missing a variable) stops the
    whole plan with an error naming the slot: the caller's transaction is then rolled back.
    """
    tz = ZoneInfo(workspace.timezone)
    topics = topics or SlotVariables(library, workspace.locale)
    slots = list_slots(session, workspace, include_inactive=False)
    planned: list[PlannedSlot] = []
    for done, slot in enumerate(slots, start=1):
        assert slot.id is not None
        moment = slot_moment(monday, slot.weekday, slot.local_time, tz)
        item = PlannedSlot(
            slot_id=slot.id,
            slot=describe(slot),
            local_time=moment.astimezone(tz),
            scheduled_at=moment,
            status=NEW,
            accounts=list(slot.accounts),
            template=slot.template,
        )
        existing = session.exec(
            select(Post).where(Post.slot_id == slot.id, Post.scheduled_at == moment)
        ).first()
        try:
            if existing is not None:
                _describe_existing(session, item, existing)
            elif moment <= now:
                item.status = PAST
            else:
                day = monday + timedelta(days=slot.weekday)
                post = _draft(session, library, topics, item, slot, day, workspace, profile, now)
                item.post_id = post.id
                item.variants = _variants(session, post)
        except BrandkitError as exc:
            exc.message = f"slot {slot.id} ({describe(slot)}): {exc.message}"
            raise
        planned.append(item)
        if on_progress:
            on_progress(done, len(slots))
    return planned


def plan_week(
    session: Session,
    library: TemplateLibrary,
    *,
    workspace: Workspace,
    profile: Profile | None,
    monday: date,
    now: datetime,
    topics: TopicSource | None = None,
) -> list[Post]:
    """The posts :func:`plan_slots` created for the week of ``monday``."""
    planned = plan_slots(
        session,
        library,
        workspace=workspace,
        profile=profile,
        monday=monday,
        now=now,
        topics=topics,
    )
    posts = [session.get(Post, p.post_id) for p in planned if p.status == NEW]
    return [p for p in posts if p is not None]


def _draft(
    session: Session,
    library: TemplateLibrary,
    topics: TopicSource,
    item: PlannedSlot,
    slot: Slot,
    day: date,
    workspace: Workspace,
    profile: Profile | None,
    now: datetime,
) -> Post:
    """Draft the slot's post from what the topic source gives, and tell it the post's id."""
    content = topics.content_for(slot, day)
    post = draft_post(
        session,
        library,
        workspace=workspace,
        profile=profile,
        accounts=resolve_accounts(session, slot.accounts),
        scheduled_at=item.scheduled_at,
        now=now,
        template_name=content.template,
        variables=content.variables,
        slot_id=slot.id,
    )
    topics.record_use(content, post)
    item.template, item.topic, item.source = content.template, content.topic, content.source
    return post


def _describe_existing(session: Session, item: PlannedSlot, post: Post) -> None:
    item.status = EXISTS
    item.post_id = post.id
    item.template = post.template_name
    item.topic = session.exec(select(Topic.title).where(Topic.used_by_post_id == post.id)).first()
    item.variants = _variants(session, post)
    item.accounts = [v.account for v in item.variants]


def _variants(session: Session, post: Post) -> list[PlannedVariant]:
    rows = session.exec(
        select(Variant, Account)
        .where(Variant.post_id == post.id, Variant.account_id == Account.id)
        .order_by(col(Variant.id))
    ).all()
    return [
        PlannedVariant(
            account=account.name,
            length=variant.length,
            fits=not any(
                f["category"] == "length" and f["severity"] == "error" for f in variant.findings
            ),
            errors=sum(1 for f in variant.findings if f["severity"] == "error"),
            warnings=sum(1 for f in variant.findings if f["severity"] == "warning"),
        )
        for variant, account in rows
    ]
