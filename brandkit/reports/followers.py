"""Followers per account and local day, and the gaps in the snapshots, from index lookups.

For every (account, local day) the database finds the last snapshot before the day's end: one
index lookup on ``(account_id, taken_at)`` each, so the cost grows with accounts × days, not with
how often accounts were synced (two years of hourly snapshots are 17,520 rows per account; a
month of days is 31 lookups). The same lookup says whether the day had a snapshot at all: when
the last one is older than the day's start, the day is a gap and the count is carried forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, select, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from brandkit.db.models import Account, AccountSnapshot
from brandkit.reports.localtime import LocalDay
from brandkit.reports.scope import Scope
from brandkit.reports.sql import days_table


@dataclass(frozen=True)
class DayReading:
    """An account's count at the end of a local day, and when it was last read."""

    account_id: int
    day: date
    followers: int | None
    taken_at: datetime | None
    day_start: datetime

    @property
    def missing(self) -> bool:
        """No snapshot during this day although the account had reported before."""
        return self.taken_at is not None and self.taken_at < self.day_start


def day_readings(conn: Connection, scope: Scope, days: Sequence[LocalDay]) -> list[DayReading]:
    """For each account in ``scope`` and each day, the last snapshot before the day ends.

    Accounts come from ``scope`` (workspace, doctor, platform); its period is not used, the days
    are. ``None`` followers mean the account had not reported yet.
    """
    if not days:
        return []
    rows = conn.execute(readings_query(scope, days)).all()  # 10,000 rows for two years: tuples
    return [DayReading(a, day, n, taken, start) for a, day, start, n, taken in rows]


def readings_query(scope: Scope, days: Sequence[LocalDay]) -> Select[Any]:
    """The query behind :func:`day_readings`, for callers that aggregate it further.

    PostgreSQL reads both columns of the snapshot in one ``LATERAL`` lookup; SQLite, which has
    no ``LATERAL``, in two (the second is answered from the index alone).
    """
    table = days_table(days)
    account_id = col(Account.id)
    snap = aliased(AccountSnapshot)
    taken = col(snap.taken_at)
    last = (
        select(col(snap.followers), taken)
        .where(col(snap.account_id) == account_id, taken < table.c.day_end)
        .order_by(taken.desc(), col(snap.id).desc())
        .limit(1)
    )
    query = select(account_id.label("account_id"), table.c.day, table.c.day_start)
    query = query.select_from(Account).join(table, true())
    if scope.local.dialect == "postgresql":
        found = last.lateral("last")
        query = query.outerjoin(found, true()).add_columns(
            found.c.followers.label("followers"), found.c.taken_at.label("taken_at")
        )
    else:
        query = query.add_columns(
            last.with_only_columns(col(snap.followers)).scalar_subquery().label("followers"),
            last.with_only_columns(taken).scalar_subquery().label("taken_at"),
        )
    return query.where(*scope.accounts()).order_by(account_id, table.c.day)
