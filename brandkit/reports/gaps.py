"""Honest about gaps: what the numbers in a report cannot see, said plainly beside them.

Five kinds, each with the rule that finds it:

- **Missing snapshot days**: a local day on which an account that had reported before has no
  snapshot (sync did not run, or the account could not be read). Its count is carried forward in
  the charts; the days are listed here so a flat line is not mistaken for no growth.
- **Follower drops**: a day on which an account lost more than :data:`DROP_SHARE` of its
  followers and more than :data:`DROP_MIN` people: a purge of inactive accounts by the platform,
  or a miscount, rather than ordinary unfollows.
- **Posts that stopped reporting**: a published post whose last metrics reading is older than
  the checkpoint (1 h, 1 d, 7 d or 30 d after publishing, as sync reads them) that its
  account's last sync inside the post's metrics window
  (:data:`~brandkit.reports.analytics.METRICS_WINDOW`) should have read, with a day's slack:
  sync asked and the platform no longer returned it, so it was probably deleted; its numbers are
  frozen at the last reading. A post with no reading at all is listed the same way.
- **Counts that went down**: a post whose latest interactions are below an earlier reading
  (likes withdrawn, spam removed). The report uses the latest reading.
- **Platforms without impressions**: the impression-based rate covers only the platforms that
  give impressions; the others are named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Subquery, and_, case, func, null, select
from sqlalchemy.sql.elements import ColumnElement

from brandkit.metrics.checkpoints import CHECKPOINTS
from brandkit.reports.followers import DayReading
from brandkit.reports.localtime import LocalDay, shifted
from brandkit.reports.posts import variant_column
from brandkit.reports.scope import STOPPED_SLACK
from brandkit.reports.sql import fetch

DROP_SHARE = 0.05
DROP_MIN = 5
SLACK = STOPPED_SLACK
"""A reading may lag its account's sync by this much before the post counts as stopped."""
LISTED = 20
"""At most this many posts are listed per kind; the count covers all of them."""


@dataclass(frozen=True)
class MissingDays:
    """Days without a snapshot for one account, as ``(first, last)`` runs of days."""

    account_id: int
    account_name: str
    days: int
    runs: tuple[tuple[date, date], ...]


@dataclass(frozen=True)
class FollowerDrop:
    """A day on which an account's count fell past the thresholds, with the counts either side."""

    account_id: int
    account_name: str
    day: date
    before: int
    after: int


@dataclass(frozen=True)
class PostGap:
    """A post whose readings stopped (``kind`` "stopped") or went down ("dropped")."""

    variant_id: int
    account_name: str
    published_at: datetime
    url: str | None
    last_reading_at: datetime | None
    interactions: int | None
    peak_interactions: int | None


@dataclass(frozen=True)
class Impressions:
    """How many of a platform's posts in the period came with an impression count."""

    platform: str
    posts: int
    with_impressions: int


@dataclass(frozen=True)
class DataGaps:
    """Every gap a report found; false when there is none. Post lists hold the first
    :data:`LISTED`, the totals count them all."""

    missing_days: tuple[MissingDays, ...] = ()
    follower_drops: tuple[FollowerDrop, ...] = ()
    stopped_posts: tuple[PostGap, ...] = ()
    stopped_total: int = 0
    dropped_counts: tuple[PostGap, ...] = ()
    dropped_total: int = 0
    impressions: tuple[Impressions, ...] = ()

    @property
    def without_impressions(self) -> tuple[str, ...]:
        return tuple(i.platform for i in self.impressions if not i.with_impressions)

    def __bool__(self) -> bool:
        return bool(
            self.missing_days
            or self.follower_drops
            or self.stopped_total
            or self.dropped_total
            or self.without_impressions
        )


def find_gaps(
    conn: Connection,
    dialect: str,
    posts: Subquery,
    readings: Sequence[DayReading],
    points: Sequence[LocalDay],
    names: Mapping[int, str],
) -> DataGaps:
    """All five kinds for one report: post gaps in SQL, day gaps from the per-day readings
    (per-week readings for long periods, where a missing week had no snapshot at all)."""
    stopped_where = _stopped(dialect, posts)
    dropped_where = posts.c.interactions < posts.c.peak_interactions
    return DataGaps(
        missing_days=tuple(missing_days(readings, points, names)),
        follower_drops=tuple(follower_drops(readings, names)),
        stopped_posts=_post_gaps(conn, posts, stopped_where),
        stopped_total=_count(conn, posts, stopped_where),
        dropped_counts=_post_gaps(conn, posts, dropped_where),
        dropped_total=_count(conn, posts, dropped_where),
        impressions=tuple(
            Impressions(**row)
            for row in fetch(
                conn,
                select(
                    posts.c.platform,
                    func.count().label("posts"),
                    func.count(posts.c.impressions).label("with_impressions"),
                )
                .group_by(posts.c.platform)
                .order_by(posts.c.platform),
            )
        ),
    )


def _stopped(dialect: str, posts: Subquery) -> ColumnElement[bool]:
    """The post's last reading is older than the checkpoint its account's syncs should have read.

    Sync reads a post at the checkpoints of :data:`~brandkit.metrics.checkpoints.CHECKPOINTS`
    (1 h, 1 d, 7 d, 30 d after publishing), not on every run. So the reading expected by the
    account's last sync in the post's window is the one for the latest checkpoint that had
    passed :data:`SLACK` before that sync; a post whose last reading is older was asked for and
    not returned.
    """
    last_seen = func.coalesce(posts.c.metrics_at, posts.c.published_at)
    synced_by = shifted(dialect, posts.c.window_sync_at, -SLACK)
    expected = case(
        *(
            (
                shifted(dialect, posts.c.published_at, c) <= synced_by,
                shifted(dialect, posts.c.published_at, c),
            )
            for c in reversed(CHECKPOINTS)
        ),
        else_=null(),
    )
    return and_(expected.is_not(None), last_seen < expected)


def _post_gaps(
    conn: Connection, posts: Subquery, where: ColumnElement[bool]
) -> tuple[PostGap, ...]:
    """The first :data:`LISTED` posts that match ``where``, their links looked up afterwards."""
    first = (
        select(posts)
        .where(where)
        .order_by(posts.c.published_at, posts.c.variant_id)
        .limit(LISTED)
        .subquery("listed")
    )
    query = select(
        first.c.variant_id,
        first.c.account_name,
        first.c.published_at,
        variant_column(first, "remote_url").label("url"),
        first.c.metrics_at.label("last_reading_at"),
        first.c.interactions,
        first.c.peak_interactions,
    ).order_by(first.c.published_at, first.c.variant_id)
    return tuple(PostGap(**row) for row in fetch(conn, query))


def _count(conn: Connection, posts: Subquery, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(posts).where(where)).scalar_one())


def missing_days(
    readings: Iterable[DayReading], points: Sequence[LocalDay], names: Mapping[int, str]
) -> list[MissingDays]:
    """Runs of consecutive missing days per account (readings sorted by account, then day)."""
    by_day = {point.day: point for point in points}
    found = []
    for account_id, rows in groupby(readings, key=lambda r: r.account_id):
        missing = [by_day[r.day] for r in rows if r.missing]
        if missing:
            days = sum(point.days for point in missing)
            found.append(MissingDays(account_id, names[account_id], days, _runs(missing)))
    return found


def _runs(points: Sequence[LocalDay]) -> tuple[tuple[date, date], ...]:
    runs: list[tuple[date, date]] = []
    for point in points:
        first = point.first or point.day
        if runs and (first - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], point.day)
        else:
            runs.append((first, point.day))
    return tuple(runs)


def follower_drops(readings: Iterable[DayReading], names: Mapping[int, str]) -> list[FollowerDrop]:
    """Days on which an account's count fell by more than the thresholds, day over day."""
    found = []
    for account_id, rows in groupby(readings, key=lambda r: r.account_id):
        before: int | None = None
        for row in rows:
            after = row.followers
            if before is not None and after is not None and _is_drop(before, after):
                found.append(FollowerDrop(account_id, names[account_id], row.day, before, after))
            before = after if after is not None else before
    return found


def _is_drop(before: int, after: int) -> bool:
    lost = before - after
    return lost > DROP_MIN and lost > before * DROP_SHARE


def as_rows(gaps: DataGaps) -> dict[str, list[dict[str, Any]]]:
    """The gaps as flat rows per kind, for CSV and Markdown."""
    return {
        "missing_days": [
            {"account": m.account_name, "first_day": first, "last_day": last, "days": m.days}
            for m in gaps.missing_days
            for first, last in m.runs
        ],
        "follower_drops": [
            {"account": d.account_name, "day": d.day, "before": d.before, "after": d.after}
            for d in gaps.follower_drops
        ],
        "stopped_posts": [asdict(p) for p in gaps.stopped_posts],
        "dropped_counts": [asdict(p) for p in gaps.dropped_counts],
        "impressions": [asdict(i) for i in gaps.impressions],
    }
