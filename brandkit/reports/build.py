"""Build a :class:`~brandkit.reports.model.Report`: run the queries, shape the few rows they return.

Everything row-sized happens in the database (:mod:`analytics`, :mod:`followers`, :mod:`gaps`,
:mod:`series`); Python lines daily counts up per account, sums weeks, and picks the best
template, category, weekday and hour from a handful of aggregated rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Subquery, func, select
from sqlmodel import col

from brandkit.db.models import Account, Variant
from brandkit.errors import InvalidInputError
from brandkit.reports import analytics as q
from brandkit.reports.followers import DayReading, day_readings
from brandkit.reports.gaps import find_gaps
from brandkit.reports.goals import goal_progress, profile_id_for
from brandkit.reports.localtime import LocalDay, LocalTime, follower_points
from brandkit.reports.model import (
    AccountGrowth,
    Attention,
    Bucket,
    CadenceWeek,
    FollowerPoint,
    HeatCell,
    PostStat,
    ProblemAccount,
    ProblemVariant,
    Report,
    Summary,
    WeeklyGrowth,
)
from brandkit.reports.posts import posts_table
from brandkit.reports.scope import PROBLEM_STATES, Scope
from brandkit.reports.sql import Row, WorkspaceInfo, load_workspace

K = TypeVar("K")
T = TypeVar("T")


def build_report(
    engine: Engine,
    workspace_id: int,
    *,
    start: datetime,
    end: datetime,
    profile: str | None = None,
    categories: Mapping[str, str] | None = None,
    with_posts: bool = True,
    now: datetime | None = None,
) -> Report:
    """Compute the report for one workspace (or one doctor's accounts) over ``[start, end)``.

    ``categories`` maps template names to categories (the template library's front matter);
    ``with_posts`` lists every published post (JSON and CSV need them, the HTML page does not);
    goals are measured at ``min(end, now)``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("report period needs time-zone-aware start and end")
    if start >= end:
        raise InvalidInputError(
            f"report period is empty: start {start.isoformat()} is not before {end.isoformat()}"
        )
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # JIT compiling these many-lookup queries costs more (~1 s) than running them
            conn.exec_driver_sql("SET LOCAL jit = off")
        info = load_workspace(conn, workspace_id)
        profile_id = profile_id_for(conn, workspace_id, profile)
        local = LocalTime(engine.dialect.name, info.tz, start, end)
        scope = Scope(workspace_id, start, end, local, profile_id)
        as_of = min(end, now or datetime.now(UTC))
        with posts_table(conn, scope, categories or {}) as posts:
            report = _assemble(conn, scope, info, posts, as_of, with_posts, profile)
        goals = goal_progress(conn, workspace_id, as_of, profile_id=profile_id)
        return replace(report, goals=goals)


def _assemble(
    conn: Connection,
    scope: Scope,
    info: WorkspaceInfo,
    posts: Subquery,
    as_of: datetime,
    with_posts: bool,
    profile: str | None,
) -> Report:
    """The report without goals; follower points stop at ``as_of`` (no flat line into the
    future of a period still running)."""
    accounts = tuple(_growth(**row) for row in q.account_rows(conn, scope, posts))
    today = (as_of - timedelta(microseconds=1)).astimezone(info.tz).date()
    points = follower_points(info.tz, _first_day(scope), min(_last_day(scope), today))
    readings = day_readings(conn, scope, points)
    daily = _daily(points, accounts, readings)
    cells = q.engagement_cells(conn, posts)
    buckets = {key: _buckets(cells, key) for key in q.BUCKET_KEYS}
    top = _build(PostStat, q.ranked_posts(conn, posts, best=True))
    exclude = [p.variant_id for p in top]  # with under ten rated posts, none is in both lists
    bottom = _build(PostStat, q.ranked_posts(conn, posts, best=False, exclude=exclude))
    start_total, end_total = _totals(accounts)
    names = {a.account_id: a.name for a in accounts}
    return Report(
        workspace_id=scope.workspace_id,
        workspace_name=info.name,
        start=scope.start,
        end=scope.end,
        timezone=info.tz.key,
        locale=info.locale,
        profile=profile,
        summary=_summary(q.combine(cells, ())[0], buckets, start_total, end_total),
        goals=(),
        accounts=accounts,
        resolution="day" if len(points) == 1 or points[0].first is None else "week",
        followers_over_time=daily,
        weekly=_weekly(daily, start_total),
        posts=_build(PostStat, q.post_stats(conn, posts)) if with_posts else (),
        by_template=buckets["template"],
        by_category=buckets["category"],
        by_language=buckets["language"],
        by_length=buckets["length_band"],
        by_weekday=buckets["local_weekday"],
        by_hour=buckets["local_hour"],
        heatmap=tuple(_heat_cell(**row) for row in q.combine(cells, HEAT_KEYS)),
        cadence=_cadence(scope, _build(CadenceWeek, q.cadence(conn, scope))),
        top=top,
        bottom=bottom,
        attention=_attention(conn, scope),
        gaps=find_gaps(conn, scope.local.dialect, posts, readings, points, names),
    )


HEAT_KEYS = ("local_weekday", "local_hour")


def _summary(
    overall: Row,
    buckets: Mapping[q.BucketKey, tuple[Bucket[Any], ...]],
    start_total: int | None,
    end_total: int | None,
) -> Summary:
    net = _minus(end_total, start_total)
    return Summary(
        start_followers=start_total,
        end_followers=end_total,
        net_growth=net,
        growth_rate=_rate(net, start_total),
        posts_published=overall["posts"],
        mean_engagement_rate=overall["mean_rate"],
        mean_impression_rate=overall["mean_impression_rate"],
        best_template=_best(b for b in buckets["template"] if b.key is not None),
        best_category=_best(b for b in buckets["category"] if b.key is not None),
        best_weekday=_best(buckets["local_weekday"]),
        best_hour=_best(buckets["local_hour"]),
    )


def _attention(conn: Connection, scope: Scope) -> Attention:
    total = conn.execute(
        select(func.count())
        .select_from(Variant)
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(
            *scope.accounts(),
            col(Variant.state).in_(PROBLEM_STATES),
            scope.during(col(Variant.due_at)),
        )
    ).scalar_one()
    return Attention(
        _build(ProblemVariant, q.problem_variants(conn, scope)),
        _build(ProblemAccount, q.problem_accounts(conn, scope)),
        int(total),
    )


def _build(kind: Callable[..., T], rows: Iterable[Row]) -> tuple[T, ...]:
    """Report objects from query rows, whose column labels are ``kind``'s field names."""
    return tuple(kind(**row) for row in rows)


def _buckets(cells: Sequence[Row], key: q.BucketKey) -> tuple[Bucket[Any], ...]:
    return tuple(Bucket(key=row.pop(key), **row) for row in q.combine(cells, (key,)))


def _heat_cell(
    *, local_weekday: int, local_hour: int, posts: int, mean_rate: float | None, **_: Any
) -> HeatCell:
    return HeatCell(local_weekday, local_hour, posts, mean_rate)


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


def _first_day(scope: Scope) -> date:
    first: date = scope.start.astimezone(scope.local.tz).date()
    return first


def _last_day(scope: Scope) -> date:
    last: date = (scope.end - timedelta(microseconds=1)).astimezone(scope.local.tz).date()
    return last


def _daily(
    days: Sequence[LocalDay], accounts: Sequence[AccountGrowth], readings: Iterable[DayReading]
) -> tuple[FollowerPoint, ...]:
    """Each day's count per account (carried over days without a snapshot) and the total.

    Before an account's first snapshot its start count is used, so the total does not jump when
    a newly connected account reports for the first time.
    """
    counted = {a.account_id: a.start_followers for a in accounts if a.start_followers is not None}
    by_day: dict[date, dict[int, int | None]] = {d.day: {} for d in days}
    for account_id, rows in groupby(readings, key=lambda r: r.account_id):
        if account_id not in counted:
            continue
        for row in rows:
            value = row.followers if row.followers is not None else counted[account_id]
            by_day[row.day][account_id] = value
    result = []
    for day, values in by_day.items():
        known = [n for n in values.values() if n is not None]
        result.append(FollowerPoint(day, sum(known) if known else None, values))
    return tuple(result)


def _weekly(daily: Sequence[FollowerPoint], start_total: int | None) -> tuple[WeeklyGrowth, ...]:
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


def _cadence(scope: Scope, rows: Iterable[CadenceWeek]) -> tuple[CadenceWeek, ...]:
    """Every week of the period, with zeros where nothing was due."""
    found = {row.week_start: row for row in rows}
    first, last = _first_day(scope), _last_day(scope)
    monday = first - timedelta(days=first.weekday())
    mondays = [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]
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
