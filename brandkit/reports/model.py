"""The report as data: frozen dataclasses that every renderer (terminal, HTML, Markdown, CSV,
JSON) reads. :func:`brandkit.reports.build.build_report` fills them; renderers never touch the
database, so a report can be built once and shown many ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from brandkit.reports.gaps import DataGaps
from brandkit.reports.goals import GoalProgress

K = TypeVar("K")


@dataclass(frozen=True)
class PostStat:
    """One published variant with its latest counters; ``None`` means "not reported".

    ``interactions`` sums the reported counters (not impressions); ``engagement_rate`` divides
    them by ``followers`` at publishing time, ``impression_rate`` by impressions. ``length`` is
    the platform-measured length and ``length_band`` the lower bound of its band.
    """

    variant_id: int
    post_id: int
    account_id: int
    account_name: str
    platform: str
    template: str | None
    category: str | None
    language: str
    length: int
    length_band: int
    text: str
    url: str | None
    published_at: datetime
    local_weekday: int
    local_hour: int
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    bookmarks: int | None
    impressions: int | None
    interactions: int | None
    followers: int | None
    engagement_rate: float | None
    impression_rate: float | None


@dataclass(frozen=True)
class Bucket(Generic[K]):
    """One row of a "what works" table: posts in the bucket and their mean engagement.

    ``mean_impression_rate`` averages only the posts whose platform gave impressions.
    """

    key: K
    posts: int
    mean_rate: float | None
    mean_interactions: float | None
    mean_impression_rate: float | None


@dataclass(frozen=True)
class HeatCell:
    """Posts and mean engagement rate at one local weekday (0 = Monday) and hour."""

    weekday: int
    hour: int
    posts: int
    mean_rate: float | None


@dataclass(frozen=True)
class CadenceWeek:
    """Variants due in one local ISO week and what became of them."""

    week_start: date
    planned: int
    published: int
    failed: int
    missed: int


@dataclass(frozen=True)
class ProblemVariant:
    variant_id: int
    post_id: int
    account_name: str
    template: str | None
    state: str
    due_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class ProblemAccount:
    account_id: int
    name: str
    platform: str
    status: str
    last_sync_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class AccountGrowth:
    """One account over the period. Rates are fractions (0.05 is 5 %), ``None`` when unknown."""

    account_id: int
    name: str
    platform: str
    handle: str
    status: str
    start_followers: int | None
    end_followers: int | None
    net_growth: int | None
    growth_rate: float | None
    posts: int
    mean_engagement_rate: float | None


@dataclass(frozen=True)
class FollowerPoint:
    """Followers at the end of one local day (or week, see ``Report.resolution``), per account
    id and in total."""

    day: date
    total: int | None
    by_account: Mapping[int, int | None]


@dataclass(frozen=True)
class WeeklyGrowth:
    """Net follower growth over one local ISO week (Monday ``week_start``), all accounts."""

    week_start: date
    start_followers: int | None
    end_followers: int | None
    net_growth: int | None
    growth_rate: float | None


@dataclass(frozen=True)
class Attention:
    """What someone should look at: posts that did not go out, accounts that cannot post."""

    variants: tuple[ProblemVariant, ...] = ()
    accounts: tuple[ProblemAccount, ...] = ()
    variants_total: int = 0
    """All problem variants of the period; ``variants`` lists the newest fifty."""

    def __bool__(self) -> bool:
        return bool(self.variants or self.accounts)


@dataclass(frozen=True)
class Summary:
    """The headline numbers; every one is ``None`` (or 0) when the period has no data."""

    start_followers: int | None
    end_followers: int | None
    net_growth: int | None
    growth_rate: float | None
    posts_published: int
    mean_engagement_rate: float | None
    mean_impression_rate: float | None
    best_template: str | None
    best_category: str | None
    best_weekday: int | None
    best_hour: int | None


@dataclass(frozen=True)
class Report:
    """A workspace's growth and engagement over ``[start, end)``, ready to render.

    ``timezone`` and ``locale`` are the workspace's: renderers show times and labels in them.
    Weekdays are 0 = Monday … 6 = Sunday and hours 0–23, both in local time. ``profile`` is the
    doctor's slug when the report covers one doctor's accounts. ``followers_over_time`` has a
    point per local day, or per week for periods over 92 days (``resolution``). ``posts`` lists
    every published post only when the report was built ``with_posts`` (JSON and CSV);
    ``goals`` are measured on the period's last day (or today, for a period still running).
    """

    workspace_id: int
    workspace_name: str
    start: datetime
    end: datetime
    timezone: str
    locale: str
    profile: str | None
    summary: Summary
    goals: tuple[GoalProgress, ...]
    accounts: tuple[AccountGrowth, ...]
    resolution: Literal["day", "week"]
    followers_over_time: tuple[FollowerPoint, ...]
    weekly: tuple[WeeklyGrowth, ...]
    posts: tuple[PostStat, ...]
    by_template: tuple[Bucket[str | None], ...]
    by_category: tuple[Bucket[str | None], ...]
    by_language: tuple[Bucket[str], ...]
    by_length: tuple[Bucket[int], ...]
    by_weekday: tuple[Bucket[int], ...]
    by_hour: tuple[Bucket[int], ...]
    heatmap: tuple[HeatCell, ...]
    cadence: tuple[CadenceWeek, ...]
    top: tuple[PostStat, ...]
    bottom: tuple[PostStat, ...]
    attention: Attention
    gaps: DataGaps

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day inside the period (``end`` itself is excluded)."""
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()

    @property
    def has_data(self) -> bool:
        """False for a workspace with no snapshots and no posts yet: renderers say so plainly."""
        return bool(
            self.summary.end_followers is not None
            or self.summary.posts_published
            or any(week.planned for week in self.cadence)
        )
