"""Wall-clock time in SQL, the one thing SQLite and PostgreSQL disagree on.

PostgreSQL converts with ``timezone(zone, ts)``; SQLite has no time-zone database, so
:class:`LocalTime` adds the zone's UTC offset, switching offsets at the DST transitions that fall
inside the period (found in Python with :mod:`zoneinfo`). Both yield a naive local timestamp,
from which day, ISO week, hour and weekday are read the same way.

:func:`local_days` goes the other way, in Python: the UTC bounds of each local day of a period,
which the follower queries send to the database as a small table of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Integer, Interval, case, cast, extract, func, literal
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement

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
        return func.datetime(column, self._modifier(column), type_=DateTime())

    def _modifier(self, column: Expr) -> ColumnElement[str] | str:
        """SQLite's ``'+32400 seconds'``: the zone's offset at ``column``, by DST period."""
        first_offset = self._changes[0][1]
        if len(self._changes) == 1:
            return _sqlite_modifier(first_offset)
        whens = [
            (column < moment, _sqlite_modifier(before))
            for (moment, _), (_, before) in zip(self._changes[1:], self._changes, strict=False)
        ]
        return case(*whens, else_=_sqlite_modifier(self._changes[-1][1]))

    def _sqlite_format(self, fmt: str, column: Expr) -> ColumnElement[str]:
        """``strftime(fmt, column, offset)``: SQLite reads the time and shifts it in one call,
        instead of formatting a shifted timestamp and parsing it again."""
        return func.strftime(fmt, column, self._modifier(column))

    def day(self, column: Expr) -> ColumnElement[date]:
        if self.dialect == "postgresql":
            return cast(self.timestamp(column), Date)
        return func.date(column, self._modifier(column), type_=Date)

    def week(self, column: Expr) -> ColumnElement[date]:
        """The Monday that starts the local ISO week of ``column``."""
        if self.dialect == "postgresql":
            return cast(func.date_trunc("week", self.timestamp(column)), Date)
        return func.date(column, self._modifier(column), "-6 days", "weekday 1", type_=Date)

    def hour(self, column: Expr) -> ColumnElement[int]:
        if self.dialect == "postgresql":
            return cast(extract("hour", self.timestamp(column)), Integer)
        return cast(self._sqlite_format("%H", column), Integer)

    def weekday(self, column: Expr) -> ColumnElement[int]:
        """0 = Monday … 6 = Sunday, as :meth:`datetime.weekday` (SQL's ``dow`` starts on Sunday)."""
        if self.dialect == "postgresql":
            return (cast(extract("dow", self.timestamp(column)), Integer) + 6) % 7
        return (cast(self._sqlite_format("%w", column), Integer) + 6) % 7


def shifted(dialect: str, column: Expr, delta: timedelta) -> ColumnElement[datetime]:
    """``column + delta`` on either database (SQLite has no interval type)."""
    if dialect == "postgresql":
        return column + literal(delta, Interval())
    return func.datetime(column, _sqlite_modifier(delta), type_=DateTime())


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
class LocalDay:
    """A run of local days, usually one, named by its last ``day``, and the UTC instants it
    starts and ends at (a day is 23–25 hours long where the clocks change)."""

    day: date
    start: datetime
    end: datetime
    first: date | None = None
    """The first day of a longer run (a week); ``None`` for a single day."""

    @property
    def days(self) -> int:
        return 1 if self.first is None else (self.day - self.first).days + 1


def local_days(tz: ZoneInfo, first: date, last: date) -> list[LocalDay]:
    """Every local day from ``first`` to ``last`` inclusive; midnight is resolved by zoneinfo."""
    count = (last - first).days + 1
    midnights = [datetime.combine(first + timedelta(days=n), time(0), tz) for n in range(count + 1)]
    return [
        LocalDay(first + timedelta(days=n), midnights[n], midnights[n + 1]) for n in range(count)
    ]


DAILY_LIMIT = 92
"""Periods up to a quarter get one follower point per day; longer ones one per local week."""


def follower_points(tz: ZoneInfo, first: date, last: date) -> list[LocalDay]:
    """The intervals a report reads followers at: days, or ISO weeks (Monday–Sunday, cut at the
    period's ends) for periods over :data:`DAILY_LIMIT` days, where 730 daily points would only
    blur a chart and cost a lookup each per account."""
    days = local_days(tz, first, last)
    if len(days) <= DAILY_LIMIT:
        return days
    weeks: dict[date, list[LocalDay]] = {}
    for day in days:
        weeks.setdefault(day.day - timedelta(days=day.day.weekday()), []).append(day)
    return [LocalDay(run[-1].day, run[0].start, run[-1].end, run[0].day) for run in weeks.values()]
