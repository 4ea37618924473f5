"""When sync reads a published post again: a decaying schedule of checkpoints.

A post gathers most of its engagement in its first hours and hardly any after a month, so sync
does not read every post on every run. It reads a post once after each checkpoint of
:data:`CHECKPOINTS` has passed (about 1 hour, 1 day, 7 days and 30 days after publishing):

    a variant is **due** when, for the latest checkpoint ``c`` with ``published_at + c <= now``,
    no ``PostMetrics`` row was taken at or after ``published_at + c``.

A run that comes late (the worker was down for three days) takes one reading for the latest
checkpoint passed, not one per missed checkpoint. A post whose last checkpoint is more than
:data:`GRACE` overdue is left alone (its readings stop there, and the reports show the gap), so
an account that was not synced for months does not page back through its whole history.

The due set is computed in SQL, for many accounts in one query, with the checkpoint times
computed by the database (:func:`~brandkit.reports.localtime.shifted`) so the index on
``(variant_id, taken_at)`` answers the ``NOT EXISTS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, and_, case, exists, select
from sqlmodel import col

from brandkit.clock import ensure_utc
from brandkit.db.models import PostMetrics, Variant
from brandkit.metrics.checkpoints import CHECKPOINTS
from brandkit.reports.localtime import shifted

GRACE: Final = timedelta(days=7)
"""How late the reading for the last checkpoint may still be taken."""
_CHUNK: Final = 500  # account ids per query: far below SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class DuePost:
    """A published variant whose next reading is due."""

    variant_id: int
    account_id: int
    remote_id: str
    published_at: datetime


def checkpoint_due(published_at: datetime, now: datetime) -> timedelta | None:
    """The latest checkpoint that has passed for a post published at ``published_at``.

    The Python twin of the SQL in :func:`due_posts`, for messages and tests.
    """
    passed = [c for c in CHECKPOINTS if ensure_utc(published_at) + c <= ensure_utc(now)]
    return passed[-1] if passed else None


def due_posts(conn: Connection, account_ids: Iterable[int], now: datetime) -> list[DuePost]:
    """The due variants of ``account_ids`` at ``now``, oldest first within each account."""
    ids = sorted(set(account_ids))
    found: list[DuePost] = []
    for start in range(0, len(ids), _CHUNK):
        found += _due_chunk(conn, ids[start : start + _CHUNK], ensure_utc(now))
    return found


def _due_chunk(conn: Connection, account_ids: list[int], now: datetime) -> list[DuePost]:
    dialect = conn.dialect.name
    published_at = col(Variant.published_at)
    checkpoint_at = case(
        *(
            (published_at <= now - c, shifted(dialect, published_at, c))
            for c in reversed(CHECKPOINTS)
        ),
        else_=None,
    ).label("checkpoint_at")
    candidates = (
        select(
            col(Variant.id).label("variant_id"),
            col(Variant.account_id).label("account_id"),
            col(Variant.remote_id).label("remote_id"),
            published_at.label("published_at"),
            checkpoint_at,
        )
        .where(
            col(Variant.account_id).in_(account_ids),
            col(Variant.state) == "published",
            col(Variant.remote_id).is_not(None),
            published_at <= now - CHECKPOINTS[0],
            published_at > now - CHECKPOINTS[-1] - GRACE,
        )
        .subquery("candidates")
    )
    read_since = exists().where(
        and_(
            col(PostMetrics.variant_id) == candidates.c.variant_id,
            col(PostMetrics.taken_at) >= candidates.c.checkpoint_at,
        )
    )
    rows = conn.execute(
        select(
            candidates.c.variant_id,
            candidates.c.account_id,
            candidates.c.remote_id,
            candidates.c.published_at,
        )
        .where(~read_since)
        .order_by(candidates.c.account_id, candidates.c.published_at)
    ).all()
    return [
        DuePost(
            variant_id=row.variant_id,
            account_id=row.account_id,
            remote_id=row.remote_id,
            published_at=ensure_utc(row.published_at),
        )
        for row in rows
    ]
