"""The report as data: frozen dataclasses that every renderer (terminal, HTML, JSON) reads.

:func:`build_report` runs the queries of :mod:`brandkit.reports.analytics` and does only the
small, shape-giving work in Python: lining daily follower counts up on every local day of the
period, summing weeks, and picking the best template, weekday and hour from a handful of rows.
Renderers never touch the database, so a report can be built once and shown many ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, select
from sqlmodel import col

from brandkit.db.models import Workspace
from brandkit.errors import ConfigError, InvalidInputError, NotFoundError
from brandkit.reports import analytics as q

K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class PostStat:
    """One published variant with its latest counters; ``None`` means "not reported".

    ``interactions`` sums the reported counters (not impressions); ``engagement_rate`` divides
    them by ``followers`` at publishing time, ``impression_rate`` by impressions.
    """

    variant_id: int
    post_id: int
    account_id: int
    account_name: str
    platform: str
    template: str | None
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
    """One row of a "what works" table: posts in the bucket and their mean engagement."""

    key: K
    posts: int
    mean_rate: float | None
    mean_interactions: float | None


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
class DailyFollowers:
    """Followers at the end of one local day, per account id and in total."""

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
    best_template: str | None
    best_weekday: int | None
    best_hour: int | None


@dataclass(frozen=True)
class Report:
    """A workspace's growth and engagement over ``[start, end)``, ready to render.

    ``timezone`` and ``locale`` are the workspace's: renderers show times and labels in them.
    Weekdays are 0 = Monday … 6 = Sunday and hours 0–23, both in local time.
    """

    workspace_id: int
    workspace_name: str
    start: datetime
    end: datetime
    timezone: str
    locale: str
    summary: Summary
    accounts: tuple[AccountGrowth, ...]
    daily_followers: tuple[DailyFollowers, ...]
    weekly: tuple[WeeklyGrowth, ...]
    posts: tuple[PostStat, ...]
    by_template: tuple[Bucket[str | None], ...]
    by_weekday: tuple[Bucket[int], ...]
    by_hour: tuple[Bucket[int], ...]
    cadence: tuple[CadenceWeek, ...]
    top: tuple[PostStat, ...]
    bottom: tuple[PostStat, ...]
    attention: Attention

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
            or self.posts
            or any(week.planned for week in self.cadence)
        )


def build_report(engine: Engine, workspace_id: int, *, start: datetime, end: datetime) -> Report:
    """Compute the report for one workspace over ``[start, end)`` (aware datetimes)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("report period needs time-zone-aware start and end")
    if start >= end:
        raise InvalidInputError(
            f"report period is empty: start {start.isoformat()} is not before {end.isoformat()}"
        )
    with engine.connect() as conn:
        name, tz_name, locale = _workspace(conn, workspace_id)
        tz = _zone(tz_name)
        local = q.LocalTime(engine.dialect.name, tz, start, end)
        scope = q.Scope(workspace_id, start, end, local)
        return _assemble(conn, scope, name, locale)


def _workspace(conn: Connection, workspace_id: int) -> tuple[str, str, str]:
    row = conn.execute(
        select(col(Workspace.name), col(Workspace.timezone), col(Workspace.locale)).where(
            col(Workspace.id) == workspace_id
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("workspace", workspace_id, hint="run 'brandkit init' first")
    return row[0], row[1], row[2]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"workspace time zone {name!r} is unknown",
            hint="set timezone to an IANA name such as Asia/Tokyo in brandkit.toml",
        ) from exc


def _assemble(conn: Connection, scope: q.Scope, name: str, locale: str) -> Report:
    accounts = tuple(_growth(**row) for row in q.account_rows(conn, scope))
    days = _local_days(scope)
    daily = _daily(days, accounts, q.daily_snapshots(conn, scope))
    by_template: tuple[Bucket[str | None], ...] = _buckets(conn, scope, "template")
    by_weekday: tuple[Bucket[int], ...] = _buckets(conn, scope, "local_weekday")
    by_hour: tuple[Bucket[int], ...] = _buckets(conn, scope, "local_hour")
    top = _build(PostStat, q.ranked_posts(conn, scope, best=True))
    exclude = [p.variant_id for p in top]  # with under ten rated posts, none is in both lists
    bottom = _build(PostStat, q.ranked_posts(conn, scope, best=False, exclude=exclude))
    start_total, end_total = _totals(accounts)
    overall = q.overall_engagement(conn, scope)
    summary = Summary(
        start_followers=start_total,
        end_followers=end_total,
        net_growth=_minus(end_total, start_total),
        growth_rate=_rate(_minus(end_total, start_total), start_total),
        posts_published=overall["posts"],
        mean_engagement_rate=overall["mean_rate"],
        best_template=_best(b for b in by_template if b.key is not None),
        best_weekday=_best(by_weekday),
        best_hour=_best(by_hour),
    )
    return Report(
        workspace_id=scope.workspace_id,
        workspace_name=name,
        start=scope.start,
        end=scope.end,
        timezone=scope.local.tz.key,
        locale=locale,
        summary=summary,
        accounts=accounts,
        daily_followers=daily,
        weekly=_weekly(daily, start_total),
        posts=_build(PostStat, q.post_stats(conn, scope)),
        by_template=by_template,
        by_weekday=by_weekday,
        by_hour=by_hour,
        cadence=_cadence(days, _build(CadenceWeek, q.cadence(conn, scope))),
        top=top,
        bottom=bottom,
        attention=Attention(
            _build(ProblemVariant, q.problem_variants(conn, scope)),
            _build(ProblemAccount, q.problem_accounts(conn, scope)),
        ),
    )


def _build(kind: Callable[..., T], rows: Iterable[q.Row]) -> tuple[T, ...]:
    """Report objects from query rows, whose column labels are ``kind``'s field names."""
    return tuple(kind(**row) for row in rows)


def _buckets(conn: Connection, scope: q.Scope, key: q.BucketKey) -> tuple[Bucket[Any], ...]:
    return _build(Bucket, q.engagement_by(conn, scope, key))


def _growth(
    *,
    start_followers: int | None,
    end_followers: int | None,
    posts: int,
    mean_rate: float | None,
    **account: Any,
) -> AccountGrowth:
    """An account counts only if it had a snapshot before the period's end."""
    start = start_followers if end_followers is not None else None
    net = _minus(end_followers, start)
    return AccountGrowth(
        start_followers=start,
        end_followers=end_followers,
        net_growth=net,
        growth_rate=_rate(net, start),
        posts=posts,
        mean_engagement_rate=mean_rate,
        **account,
    )


def _local_days(scope: q.Scope) -> list[date]:
    tz = scope.local.tz
    first = scope.start.astimezone(tz).date()
    last = (scope.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _daily(
    days: Sequence[date], accounts: Sequence[AccountGrowth], snapshots: Iterable[q.Row]
) -> tuple[DailyFollowers, ...]:
    """Carry each account's last known count forward over days without a snapshot.

    Before an account's first snapshot its start count is used, so the total does not jump when
    a newly connected account reports for the first time.
    """
    seen = {(s["account_id"], s["day"]): s["followers"] for s in snapshots}
    current = {a.account_id: a.start_followers for a in accounts}
    result = []
    for day in days:
        for account_id in current:
            current[account_id] = seen.get((account_id, day), current[account_id])
        known = [n for n in current.values() if n is not None]
        result.append(DailyFollowers(day, sum(known) if known else None, dict(current)))
    return tuple(result)


def _weekly(daily: Sequence[DailyFollowers], start_total: int | None) -> tuple[WeeklyGrowth, ...]:
    """Net growth per local ISO week: the last total of the week minus the one before it."""
    ends: dict[date, int | None] = {}
    for point in daily:
        ends[point.day - timedelta(days=point.day.weekday())] = point.total
    weeks, before = [], start_total
    for week_start, end in ends.items():
        net = _minus(end, before)
        weeks.append(WeeklyGrowth(week_start, before, end, net, _rate(net, before)))
        before = end
    return tuple(weeks)


def _cadence(days: Sequence[date], rows: Iterable[CadenceWeek]) -> tuple[CadenceWeek, ...]:
    """Every week of the period, with zeros where nothing was due."""
    found = {row.week_start: row for row in rows}
    mondays = sorted({day - timedelta(days=day.weekday()) for day in days})
    return tuple(found.get(monday, CadenceWeek(monday, 0, 0, 0, 0)) for monday in mondays)


def _totals(accounts: Sequence[AccountGrowth]) -> tuple[int | None, int | None]:
    counted = [a for a in accounts if a.start_followers is not None and a.end_followers is not None]
    if not counted:
        return None, None
    return (
        sum(a.start_followers or 0 for a in counted),
        sum(a.end_followers or 0 for a in counted),
    )


def _best(buckets: Iterable[Bucket[K]]) -> K | None:
    """The key with the highest mean rate (more posts wins a tie); ``None`` when nothing rated."""
    rated = [b for b in buckets if b.mean_rate is not None]
    if not rated:
        return None
    return max(rated, key=lambda b: (b.mean_rate, b.posts)).key


def _minus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def _rate(part: int | None, whole: int | None) -> float | None:
    return None if part is None or not whole else part / whole
