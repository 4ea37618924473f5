"""Daily values of a goal's metric, aggregated in SQL, for the trend fits in ``projection``.

- ``followers``: the accounts' summed count at the end of each local day (the last snapshot
  before midnight, carried over days without one). Only days on which some account reported
  are trend points, so a sync that stopped weeks ago reads as "not enough data", not as a
  flat line; the carried count is still the current value.
- ``engagement_rate``: the mean engagement rate of the posts published in the
  :data:`ROLLING_DAYS` days up to and including each day.
- ``posts_per_week``: posts published (a post on several accounts counts once) in the
  :data:`ROLLING_DAYS` days up to each day, divided by four.

Rolling four-week windows keep the two post metrics from jumping between 0 and a few on days
without posts, so the trend fits see the level the doctor feels. The database returns one row
per day; Python only slides the window over those few dozen sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, case, func, select
from sqlmodel import col

from brandkit.db.models import Account, Variant
from brandkit.reports.followers import readings_query
from brandkit.reports.localtime import LocalDay, local_days
from brandkit.reports.posts import post_rows, published, rates
from brandkit.reports.scope import Scope
from brandkit.reports.sql import fetch

Metric = Literal["followers", "engagement_rate", "posts_per_week"]
METRICS: tuple[Metric, ...] = ("followers", "engagement_rate", "posts_per_week")
ROLLING_DAYS = 28
WINDOW_DAYS = 56
"""Eight weeks of daily values: the trend the projection follows."""


def series_days(scope: Scope, as_of: datetime, count: int = WINDOW_DAYS) -> list[LocalDay]:
    """The ``count`` local days up to the one containing ``as_of``; the last ends at ``as_of``."""
    tz = scope.local.tz
    last = (as_of - timedelta(microseconds=1)).astimezone(tz).date()
    days = local_days(tz, last - timedelta(days=count - 1), last)
    final = days[-1]
    days[-1] = LocalDay(final.day, final.start, min(final.end, as_of))
    return days


@dataclass(frozen=True)
class Series:
    """Trend points, one per day (``None`` where the day observed nothing), and the value now."""

    points: list[tuple[date, float | None]]
    current: float | None


def metric_series(
    conn: Connection, scope: Scope, metric: Metric, days: Sequence[LocalDay]
) -> Series:
    """The metric on each day of ``days`` and its value at the end of the last one."""
    if metric == "followers":
        return _followers(conn, scope, days)
    first = local_days(scope.local.tz, days[0].day - timedelta(days=ROLLING_DAYS - 1), days[0].day)
    window = Scope(
        scope.workspace_id,
        first[0].start,
        days[-1].end,
        scope.local,
        scope.profile_id,
        scope.platform,
    )
    points = _rolling(days, _post_sums(conn, window, metric), metric)
    return Series(points, points[-1][1])


def _followers(conn: Connection, scope: Scope, days: Sequence[LocalDay]) -> Series:
    readings = readings_query(scope, days).subquery("readings")
    query = (
        select(
            readings.c.day,
            func.sum(readings.c.followers).label("total"),
            func.max(case((readings.c.taken_at >= readings.c.day_start, 1), else_=0)).label(
                "fresh"
            ),
        )
        .group_by(readings.c.day)
        .order_by(readings.c.day)
    )
    rows = {row["day"]: row for row in fetch(conn, query)}
    totals = [_number(rows[d.day]["total"]) if d.day in rows else None for d in days]
    points = [
        (d.day, total if d.day in rows and rows[d.day]["fresh"] else None)
        for d, total in zip(days, totals, strict=True)
    ]
    return Series(points, totals[-1])


def _post_sums(conn: Connection, window: Scope, metric: Metric) -> dict[date, tuple[float, int]]:
    """Per local day: (sum of rates, rated posts), or (posts, posts) for the posting pace."""
    if metric == "posts_per_week":
        return _post_counts(conn, window)
    # materialised: each mention of the rate below would otherwise repeat the followers lookup
    posts = post_rows(window, {}, detail=False).cte("posts").prefix_with("MATERIALIZED")
    day = window.local.day(posts.c.published_at).label("day")
    rate = rates(posts)["engagement_rate"]
    query = select(day, func.sum(rate).label("total"), func.count(rate).label("count"))
    rows = fetch(conn, query.group_by(day))
    return {row["day"]: (float(row["total"] or 0), int(row["count"])) for row in rows}


def _post_counts(conn: Connection, window: Scope) -> dict[date, tuple[float, int]]:
    """Posts first published on each local day; no counters or followers needed."""
    first = (
        select(func.min(col(Variant.published_at)).label("published_at"))
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(*published(window))
        .group_by(col(Variant.post_id))
        .subquery("first")
    )
    day = window.local.day(first.c.published_at).label("day")
    rows = fetch(conn, select(day, func.count().label("count")).group_by(day))
    return {row["day"]: (float(row["count"]), int(row["count"])) for row in rows}


def _rolling(
    days: Sequence[LocalDay], sums: dict[date, tuple[float, int]], metric: Metric
) -> list[tuple[date, float | None]]:
    found: list[tuple[date, float | None]] = []
    for local in days:
        window = [sums.get(local.day - timedelta(days=n), (0.0, 0)) for n in range(ROLLING_DAYS)]
        total, count = sum(t for t, _ in window), sum(c for _, c in window)
        if metric == "posts_per_week":
            found.append((local.day, total * 7 / ROLLING_DAYS))
        else:
            found.append((local.day, total / count if count else None))
    return found


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
