"""SQLModel tables for every entity in DESIGN.md.

Times are stored as UTC (:class:`UTCDateTime`) and shown in the workspace's time zone. JSON
columns hold what varies by template or platform (variables, findings, handles). States are plain
strings checked by :mod:`brandkit.publishing.states`, so a new state needs no schema change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from brandkit.db.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Workspace(SQLModel, table=True):
    """A clinic or a practice: the unit that owns accounts, posts and goals."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    timezone: str = "Asia/Tokyo"
    locale: str = "ja"
    # the clinic's own contact details: posts may show them, the privacy lint must not flag them
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Profile(SQLModel, table=True):
    """A doctor whose brand is being built; its fields are template variables."""

    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    slug: str
    display_name: str
    specialty: str = ""
    affiliation: str = ""
    credentials: str = ""
    bio: str = ""
    handles: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """Someone who signs in to the dashboard: an owner, a doctor or marketing staff.

    ``password_hash`` is an Argon2id hash (PHC string). A doctor is linked to their
    :class:`Profile` so they can approve their own posts. ``session_version`` is part of every
    signed session cookie: raising it (a new password, signing out) ends every session at once.
    """

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    login: str = Field(unique=True)
    password_hash: str | None = None
    role: str = "owner"  # owner | doctor | marketing: see brandkit/web/policy.py
    profile_id: int | None = Field(default=None, foreign_key="profile.id")
    session_version: int = 0
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, kept for the rate-limit window (brandkit/web/ratelimit.py).

    ``login`` is what was typed (normalised), whether or not such a user exists; ``address`` is
    the client's IP address.
    """

    __table_args__ = (
        Index("ix_loginattempt_login_time", "login", "attempted_at"),
        Index("ix_loginattempt_address_time", "address", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    login: str
    address: str
    attempted_at: datetime = Field(sa_type=UTCDateTime, index=True)


class Account(SQLModel, table=True):
    """One account on one platform. Credentials are Fernet-encrypted, never stored in clear."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    profile_id: int | None = Field(default=None, foreign_key="profile.id")
    name: str = Field(unique=True)
    platform: str
    handle: str = ""
    base_url: str
    credentials_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = "active"
    remote_id: str | None = None
    last_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Slot(SQLModel, table=True):
    """One entry of the weekly calendar: every <weekday> at <local time>, post <template>."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    weekday: int  # 0 = Monday … 6 = Sunday, as in datetime.weekday()
    local_time: str  # "HH:MM" in the workspace's time zone
    template: str | None = None
    category: str | None = None
    accounts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # "cli" (brandkit calendar add) or "config" (a [[calendar]] table, synced on every plan)
    source: str = "cli"


class Topic(SQLModel, table=True):
    """One idea in the topic backlog: what a planned post is about, with its template variables.

    ``priority`` (higher first) and ``not_before`` (a local date) order the backlog; a topic fills
    one post and is then used (``used_by_post_id``) unless it is ``evergreen``.
    """

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    title: str
    category: str
    template: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    language: str = "ja"
    priority: int = 0
    not_before: date | None = None
    evergreen: bool = False
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_post_id: int | None = Field(default=None, foreign_key="post.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """What to say and when; one :class:`Variant` per target account says it there.

    ``state`` is the approval state (draft, approved, rejected, cancelled); publishing states
    live on the variants because each account succeeds or fails on its own.
    """

    __table_args__ = (UniqueConstraint("slot_id", "scheduled_at", name="uq_post_slot_time"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    profile_id: int | None = Field(default=None, foreign_key="profile.id")
    slot_id: int | None = Field(default=None, foreign_key="slot.id")
    template_name: str | None = None
    template_hash: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    language: str = "ja"
    scheduled_at: datetime = Field(sa_type=UTCDateTime, index=True)
    state: str = "draft"
    approved_by: str | None = None
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lint_override_reason: str | None = None
    # a public https URL of the post's image; Instagram cannot publish without one
    image_url: str | None = None
    # who rejected the draft, when, and why (brandkit posts reject --comment, or the dashboard)
    rejected_by: str | None = None
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_comment: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TemplateRevision(SQLModel, table=True):
    """One saved version of a post template, with who saved it (the dashboard's template editor).

    ``template`` is ``lang/name``; ``source`` is the whole file as written to ``path``, and
    ``content_hash`` is the same digest a post records as ``Post.template_hash``. A revision
    without an author is the text found before the dashboard first saved the template (the
    built-in template, or a file edited by hand). Removing a user keeps their revisions:
    ``author_id`` becomes empty and ``author_login`` stays.
    """

    __table_args__ = (
        Index("ix_templaterevision_template", "workspace_id", "template", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    template: str
    language: str
    source: str = Field(sa_type=Text)
    content_hash: str
    path: str
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    author_login: str | None = None
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Variant(SQLModel, table=True):
    """The post as it goes to one account, with its own publishing state and history."""

    __table_args__ = (
        UniqueConstraint("post_id", "account_id"),
        Index("ix_variant_state_due", "state", "due_at"),
        Index("ix_variant_state_published", "state", "published_at"),  # reports, migration 0004
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    text: str
    length: int = 0
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    state: str = "draft"
    due_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = None
    attempt_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remote_id: str | None = None
    remote_url: str | None = None
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str = Field(default_factory=new_idempotency_key)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AccountSnapshot(SQLModel, table=True):
    """An account's counts at one moment, as the platform reported them."""

    __table_args__ = (Index("ix_snapshot_account_time", "account_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    taken_at: datetime = Field(sa_type=UTCDateTime)
    followers: int
    following: int | None = None
    posts_count: int | None = None


class PostMetrics(SQLModel, table=True):
    """One variant's engagement counters at one moment; ``None`` where a platform gives none."""

    __table_args__ = (Index("ix_metrics_variant_time", "variant_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    variant_id: int = Field(foreign_key="variant.id")
    taken_at: datetime = Field(sa_type=UTCDateTime)
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    bookmarks: int | None = None
    impressions: int | None = None


class Goal(SQLModel, table=True):
    """A target such as 10,000 followers on X by 2027-12, with the baseline it started from."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    profile_id: int | None = Field(default=None, foreign_key="profile.id")
    metric: str  # followers | engagement_rate | posts_per_week
    platform: str = "all"
    target: float
    due_date: date
    baseline: float | None = None
    baseline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
