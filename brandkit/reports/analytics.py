"""Analytics queries: growth, engagement and cadence, aggregated in SQL on SQLite and PostgreSQL.

Every query is limited to one workspace and one period ``[start, end)`` (a :class:`Scope`) and
returns a few small rows; the per-row work (latest metrics, followers at publishing time, local
hour and weekday) happens in the database so a year of posts costs no Python loop. Rows are dicts
keyed by column label, and the labels are the field names of the dataclasses in
:mod:`brandkit.reports.model`, which turns them into the report.

Local time is the one thing the two databases disagree on. PostgreSQL converts with
``timezone(zone, ts)``; SQLite has no time-zone database, so :class:`LocalTime` adds the zone's
UTC offset, switching offsets at the DST transitions that fall inside the period (found in Python
with :mod:`zoneinfo`). Both yield a naive local timestamp, from which day, ISO week, hour and
weekday are read the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import add
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Subquery,
    case,
    cast,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from brandkit.db.models import Account, AccountSnapshot, Post, PostMetrics, Variant

PUBLISHED = "published"
PROBLEM_STATES = ("failed", "missed", "unconfirmed")
COUNTERS = ("likes", "reposts", "replies", "quotes", "bookmarks")
"""The counters that make up "interactions"; impressions are reach, not interaction."""

Expr = ColumnElement[Any] | Mapped[Any]
"""A column or expression: model attributes (via ``col``) and subquery columns alike."""


class LocalTime:
    """SQL expressions for wall-clock time in one zone, for the dialect of the connection."""

    def __init__(self, dialect: str, tz: ZoneInfo, start: datetime, end: datetime) -> None:
        self.dialect = dialect
        self.tz = tz
        self._changes = offset_changes(tz, start - timedelta(days=1), end + timedelta(days=1))

    def timestamp(self, column: Expr) -> ColumnElement[datetime]:
        """The naive local timestamp of an aware UTC ``column``."""
        if self.dialect == "postgresql":
            return func.timezone(self.tz.key, column, type_=DateTime())
        first_offset = self._changes[0][1]
        modifier: ColumnElement[str] | str = _sqlite_modifier(first_offset)
        if len(self._changes) > 1:
            whens = [
                (column < moment, _sqlite_modifier(before))
                for (moment, _), (_, before) in zip(self._changes[1:], self._changes, strict=False)
            ]
            modifier = case(*whens, else_=_sqlite_modifier(self._changes[-1][1]))
        return func.datetime(column, modifier, type_=DateTime())

    def day(self, column: Expr) -> ColumnElement[date]:
        local = self.timestamp(column)
        if self.dialect == "postgresql":
            return cast(local, Date)
        return func.date(local, type_=Date)

    def week(self, column: Expr) -> ColumnElement[date]:
        """The Monday that starts the local ISO week of ``column``."""
        local = self.timestamp(column)
        if self.dialect == "postgresql":
            return cast(func.date_trunc("week", local), Date)
        return func.date(local, "-6 days", "weekday 1", type_=Date)

    def hour(self, column: Expr) -> ColumnElement[int]:
        return cast(extract("hour", self.timestamp(column)), Integer)

    def weekday(self, column: Expr) -> ColumnElement[int]:
        """0 = Monday … 6 = Sunday, as :meth:`datetime.weekday` (SQL's ``dow`` starts on Sunday)."""
        return (cast(extract("dow", self.timestamp(column)), Integer) + 6) % 7


def offset_changes(
    tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, timedelta]]:
    """The zone's UTC offset at ``start`` and at every transition up to ``end``, to the second.

    Offsets are sampled daily and each change is bisected; zones change at most twice a year,
    so a year-long report costs a few hundred ``utcoffset`` calls.
    """

    def offset(epoch: int) -> timedelta:
        moment = datetime.fromtimestamp(epoch, tz)
        return moment.utcoffset() or timedelta(0)

    lo_epoch, end_epoch = int(start.timestamp()), int(end.timestamp()) + 1
    changes = [(datetime.fromtimestamp(lo_epoch, tz), offset(lo_epoch))]
    while lo_epoch < end_epoch:
        hi = min(lo_epoch + 86_400, end_epoch)
        current = changes[-1][1]
        if offset(hi) == current:
            lo_epoch = hi
            continue
        lo = lo_epoch
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
        changes.append((datetime.fromtimestamp(hi, tz), offset(hi)))
        lo_epoch = hi
    return changes


def _sqlite_modifier(offset: timedelta) -> str:
    return f"{int(offset.total_seconds()):+d} seconds"


@dataclass(frozen=True)
class Scope:
    """What every query is restricted to: one workspace, one period, read in its local time."""

    workspace_id: int
    start: datetime
    end: datetime
    local: LocalTime


BucketKey = Literal["template", "local_weekday", "local_hour"]
Row = dict[str, Any]
"""One result row, keyed by column label (the field names of the matching report dataclass)."""


def _in_period(column: Expr, scope: Scope) -> ColumnElement[bool]:
    return (column >= scope.start) & (column < scope.end)


def _followers_at(
    account_id: Expr, moment: Any, *, before: bool, inclusive: bool = True
) -> ColumnElement[int]:
    """Followers at the last snapshot at or before ``moment`` (strictly before unless
    ``inclusive``), or at the first one after it when not ``before``."""
    snap = aliased(AccountSnapshot)
    taken, snap_id = col(snap.taken_at), col(snap.id)
    if before:
        where = taken <= moment if inclusive else taken < moment
        order = (taken.desc(), snap_id.desc())
    else:
        where, order = taken > moment, (taken.asc(), snap_id.asc())
    query = select(col(snap.followers)).where(col(snap.account_id) == account_id, where)
    return query.order_by(*order).limit(1).scalar_subquery()


def published_posts(scope: Scope) -> Subquery:
    """Published variants of the period with latest counters, followers then, and local time."""
    metrics = aliased(PostMetrics)
    latest_id = (
        select(col(PostMetrics.id))
        .where(col(PostMetrics.variant_id) == col(Variant.id))
        .order_by(col(PostMetrics.taken_at).desc(), col(PostMetrics.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    counters = [col(getattr(metrics, name)) for name in COUNTERS]
    interactions = case(
        (
            or_(*(c.is_not(None) for c in counters)),
            reduce(add, (func.coalesce(c, 0) for c in counters)),
        ),
        else_=None,
    )
    published_at = col(Variant.published_at)
    followers = func.coalesce(
        _followers_at(col(Variant.account_id), published_at, before=True),
        _followers_at(col(Variant.account_id), published_at, before=False),
    )
    base = (
        select(
            col(Variant.id).label("variant_id"),
            col(Variant.post_id),
            col(Variant.account_id),
            col(Account.name).label("account_name"),
            col(Account.platform),
            col(Post.template_name).label("template"),
            col(Variant.text),
            col(Variant.remote_url).label("url"),
            published_at,
            scope.local.weekday(published_at).label("local_weekday"),
            scope.local.hour(published_at).label("local_hour"),
            *(c.label(name) for c, name in zip(counters, COUNTERS, strict=True)),
            col(metrics.impressions),
            interactions.label("interactions"),
            followers.label("followers"),
        )
        .join(Post, col(Post.id) == col(Variant.post_id))
        .join(Account, col(Account.id) == col(Variant.account_id))
        .outerjoin(metrics, col(metrics.id) == latest_id)
        .where(
            col(Post.workspace_id) == scope.workspace_id,
            col(Variant.state) == PUBLISHED,
            _in_period(published_at, scope),
        )
        .subquery("base")
    )
    return _with_rates(base)


def _with_rates(base: Subquery) -> Subquery:
    """Add the rates in an outer query so the followers subquery is evaluated once per row."""
    interactions = cast(base.c.interactions, Float)
    engagement = case((base.c.followers > 0, interactions / base.c.followers), else_=None)
    by_impressions = case((base.c.impressions > 0, interactions / base.c.impressions), else_=None)
    return select(
        base,
        engagement.label("engagement_rate"),
        by_impressions.label("impression_rate"),
    ).subquery("posts")


def post_stats(conn: Connection, scope: Scope) -> list[Row]:
    posts = published_posts(scope)
    query = select(posts).order_by(posts.c.published_at, posts.c.variant_id)
    return _fetch(conn, query)


def ranked_posts(
    conn: Connection, scope: Scope, *, best: bool, limit: int = 5, exclude: Sequence[int] = ()
) -> list[Row]:
    """The ``limit`` posts with the highest (or lowest) engagement rate; unrated ones never rank."""
    posts = published_posts(scope)
    rate = posts.c.engagement_rate
    query = (
        select(posts)
        .where(rate.is_not(None), posts.c.variant_id.not_in(list(exclude)))
        .order_by(rate.desc() if best else rate.asc(), posts.c.published_at)
        .limit(limit)
    )
    return _fetch(conn, query)


def engagement_by(conn: Connection, scope: Scope, key: BucketKey) -> list[Row]:
    """Mean engagement per ``key`` (``template``, ``local_weekday`` or ``local_hour``)."""
    posts = published_posts(scope)
    column = posts.c[key]
    query = select(column.label("key"), *_engagement(posts)).group_by(column).order_by(column)
    return _fetch(conn, query)


def _engagement(posts: Subquery) -> list[ColumnElement[Any]]:
    """How many posts, and their mean rate and interactions (``avg`` skips unknown values)."""
    return [
        func.count().label("posts"),
        func.avg(posts.c.engagement_rate).label("mean_rate"),
        func.avg(cast(posts.c.interactions, Float)).label("mean_interactions"),
    ]


def overall_engagement(conn: Connection, scope: Scope) -> Row:
    """Posts published in the period, their mean rate and mean interactions: one row."""
    posts = published_posts(scope)
    return _fetch(conn, select(*_engagement(posts)))[0]


def account_rows(conn: Connection, scope: Scope) -> list[Row]:
    """Each account with followers at the period's start and end and its posts' engagement.

    Start is the last snapshot at or before ``start``, else the first inside the period, so an
    account added mid-period does not count its existing audience as growth.
    """
    posts = published_posts(scope)
    by_account = select(posts.c.account_id, *_engagement(posts)).group_by(posts.c.account_id)
    stats = by_account.subquery("stats")
    account_id = col(Account.id)
    start = func.coalesce(
        _followers_at(account_id, scope.start, before=True),
        _followers_at(account_id, scope.start, before=False),
    )
    end = _followers_at(account_id, scope.end, before=True, inclusive=False)
    query = (
        select(
            account_id.label("account_id"),
            col(Account.name),
            col(Account.platform),
            col(Account.handle),
            col(Account.status),
            start.label("start_followers"),
            end.label("end_followers"),
            func.coalesce(stats.c.posts, 0).label("posts"),
            stats.c.mean_rate,
        )
        .outerjoin(stats, stats.c.account_id == account_id)
        .where(col(Account.workspace_id) == scope.workspace_id)
        .order_by(col(Account.name))
    )
    return _fetch(conn, query)


def daily_snapshots(conn: Connection, scope: Scope) -> list[Row]:
    """The last snapshot of each account on each local day of the period."""
    taken_at = col(AccountSnapshot.taken_at)
    inside = (
        select(
            col(AccountSnapshot.account_id),
            col(AccountSnapshot.followers),
            taken_at,
            col(AccountSnapshot.id),
            scope.local.day(taken_at).label("day"),
        )
        .join(Account, col(Account.id) == col(AccountSnapshot.account_id))
        .where(col(Account.workspace_id) == scope.workspace_id, _in_period(taken_at, scope))
        .subquery("inside")
    )
    newest_first = func.row_number().over(
        partition_by=(inside.c.account_id, inside.c.day),
        order_by=(inside.c.taken_at.desc(), inside.c.id.desc()),
    )
    ranked = select(inside, newest_first.label("rank")).subquery("ranked")
    query = (
        select(ranked.c.account_id, ranked.c.day, ranked.c.followers)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.day, ranked.c.account_id)
    )
    return _fetch(conn, query)


def cadence(conn: Connection, scope: Scope) -> list[Row]:
    """Per local ISO week: variants due, and how many were published, failed or missed."""
    due_at = col(Variant.due_at)
    due = (
        select(col(Variant.state), scope.local.week(due_at).label("week"))
        .join(Post, col(Post.id) == col(Variant.post_id))
        .where(col(Post.workspace_id) == scope.workspace_id, _in_period(due_at, scope))
        .subquery("due")
    )

    def count(state: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((due.c.state == state, 1), else_=0)), 0)

    query = (
        select(
            due.c.week.label("week_start"),
            func.count().label("planned"),
            count(PUBLISHED).label("published"),
            count("failed").label("failed"),
            count("missed").label("missed"),
        )
        .group_by(due.c.week)
        .order_by(due.c.week)
    )
    return _fetch(conn, query)


def problem_variants(conn: Connection, scope: Scope) -> list[Row]:
    """Variants due in the period that failed, were missed or are still unconfirmed."""
    return _fetch(
        conn,
        select(
            col(Variant.id).label("variant_id"),
            col(Variant.post_id),
            col(Account.name).label("account_name"),
            col(Post.template_name).label("template"),
            col(Variant.state),
            col(Variant.due_at),
            col(Variant.last_error),
        )
        .join(Post, col(Post.id) == col(Variant.post_id))
        .join(Account, col(Account.id) == col(Variant.account_id))
        .where(
            col(Post.workspace_id) == scope.workspace_id,
            col(Variant.state).in_(PROBLEM_STATES),
            _in_period(col(Variant.due_at), scope),
        )
        .order_by(col(Variant.due_at), col(Variant.id)),
    )


def problem_accounts(conn: Connection, scope: Scope) -> list[Row]:
    """Accounts that cannot publish or sync now (any status but ``active``)."""
    return _fetch(
        conn,
        select(
            col(Account.id).label("account_id"),
            col(Account.name),
            col(Account.platform),
            col(Account.status),
            col(Account.last_sync_at),
            col(Account.last_error),
        )
        .where(col(Account.workspace_id) == scope.workspace_id, col(Account.status) != "active")
        .order_by(col(Account.name)),
    )


def _fetch(conn: Connection, query: Executable) -> list[Row]:
    """The rows of ``query`` as dicts, with rates and means as plain floats on both backends.

    PostgreSQL's ``avg`` returns ``Decimal`` for integers where SQLite returns ``float``.
    """
    rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        for name in _FLOAT_FIELDS.intersection(row):
            row[name] = _float(row[name])
    return rows


_FLOAT_FIELDS = frozenset({"mean_rate", "mean_interactions", "engagement_rate", "impression_rate"})


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
