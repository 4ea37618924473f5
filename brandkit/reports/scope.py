"""What every report query is limited to, and the constants the queries share.

A :class:`Scope` is one workspace's accounts (all, one doctor's, or one platform's) over one
period ``[start, end)``, read in the workspace's local time; :func:`followers_at` is the one
index lookup that growth, engagement and goals all need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from brandkit.db.models import Account, AccountSnapshot
from brandkit.reports.localtime import Expr, LocalTime

PUBLISHED = "published"
PROBLEM_STATES = ("failed", "missed", "unconfirmed")
COUNTERS = ("likes", "reposts", "replies", "quotes", "bookmarks")
"""The counters that make up "interactions"; impressions are reach, not interaction."""
METRICS_WINDOW = timedelta(days=30)
"""How long after publishing sync keeps reading a post (``brandkit.metrics.sync``; a test keeps
the two equal). A post whose readings stop earlier while its account still syncs was probably
deleted on the platform."""
STOPPED_SLACK = timedelta(days=1)
"""A post's last reading may lag its account's sync by this much before the post counts as
stopped (:mod:`brandkit.reports.gaps`)."""
LENGTH_BANDS = (0, 141, 281, 501)
"""Lower bounds of the length bands, in the platform's own units (X counts CJK twice): up to 140
(a short post anywhere), up to 280 (X's limit), up to 500 (Mastodon's), and longer."""


@dataclass(frozen=True)
class Scope:
    """What a query is restricted to: one workspace's accounts (all, one doctor's, or one
    platform's) and one period, read in the workspace's local time."""

    workspace_id: int
    start: datetime
    end: datetime
    local: LocalTime
    profile_id: int | None = None
    platform: str | None = None

    def accounts(self) -> list[ColumnElement[bool]]:
        """Conditions on :class:`Account` that pick the accounts in scope."""
        found = [col(Account.workspace_id) == self.workspace_id]
        if self.profile_id is not None:
            found.append(col(Account.profile_id) == self.profile_id)
        if self.platform is not None:
            found.append(col(Account.platform) == self.platform)
        return found

    def during(self, column: Expr) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)


def followers_at(
    account_id: Expr, moment: Any, *, before: bool, inclusive: bool = True
) -> ColumnElement[int]:
    """Followers at the last snapshot at or before ``moment`` (strictly before unless
    ``inclusive``), or at the first one after it when not ``before``: one index lookup."""
    snap = aliased(AccountSnapshot)
    taken, snap_id = col(snap.taken_at), col(snap.id)
    if before:
        where = taken <= moment if inclusive else taken < moment
        order = (taken.desc(), snap_id.desc())
    else:
        where, order = taken > moment, (taken.asc(), snap_id.asc())
    query = select(col(snap.followers)).where(col(snap.account_id) == account_id, where)
    return query.order_by(*order).limit(1).scalar_subquery()
