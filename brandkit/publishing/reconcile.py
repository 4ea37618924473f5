"""Healing the database and the job store into agreement when a worker starts.

The database is the truth and the job store the timer (DESIGN.md): a scheduled variant without a
job gets one, a job without a live variant goes, and a variant left ``publishing`` by a process
that died mid-request becomes ``unconfirmed`` so it is looked for before it is sent again. The
weekly report's job follows the settings (``report_day``, ``report_time``) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from brandkit.clock import ensure_utc
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Variant, Workspace
from brandkit.errors import BrandkitError
from brandkit.platforms.base import get_connector_class
from brandkit.publishing.jobs import PUBLISH_PREFIX, REPORT_PREFIX, SYNC_PREFIX
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition
from brandkit.runtime import Runtime

IN_FLIGHT_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class ReconcileReport:
    recovered_in_flight: int
    jobs_added: int
    jobs_removed: int


def reconcile(runtime: Runtime, *, sole_publisher: bool = False) -> ReconcileReport:
    """Bring the job store in line with the database; see the module docstring.

    ``sole_publisher`` is the caller's word that no other process publishes from this database
    right now and that none of its own publishes is in flight (the worker holds the worker lock
    and calls this between passes). A ``publishing`` row is then an orphan, and where the
    platform honours the idempotency key it is settled at once: even if a request cut off by a
    crash lands late, the resend with the same key is answered with that first post. Without
    that word, only rows older than the HTTP timeout are taken, since a younger one may belong
    to a live process.
    """
    now = runtime.clock.now()
    queue = runtime.queue
    added = removed = 0
    existing = set(queue.job_ids())
    live: set[str] = set()
    stale_before = now - timedelta(seconds=runtime.settings.http_timeout) - IN_FLIGHT_MARGIN
    with session_scope(runtime.engine) as session:
        in_flight = session.exec(
            select(Variant.id, Variant.attempt_started_at, Account.platform)
            .join(Account, col(Account.id) == col(Variant.account_id))
            .where(Variant.state == S.PUBLISHING)
        ).all()
        keyed: dict[str, bool] = {}
        recovered = 0
        for variant_id, started, platform in in_flight:
            if not _orphaned(started, stale_before, sole_publisher and _keyed(platform, keyed)):
                continue
            assert variant_id is not None
            transition(
                session,
                variant_id,
                S.PUBLISHING,
                S.UNCONFIRMED,
                now=now,
                last_error="the worker stopped while publishing; checking the platform",
            )
            recovered += 1
        pending = session.exec(
            select(Variant.id, Variant.state, Variant.due_at).where(
                col(Variant.state).in_([S.SCHEDULED, S.UNCONFIRMED])
            )
        ).all()
        accounts = session.exec(select(Account.id).where(Account.status == "active")).all()
        workspace = session.exec(
            select(Workspace.id, Workspace.timezone).order_by(col(Workspace.id))
        ).first()
    for variant_id, state, due_at in pending:
        job_id = f"{PUBLISH_PREFIX}{variant_id}"
        live.add(job_id)
        if job_id not in existing:
            assert variant_id is not None
            run_at = max(ensure_utc(due_at), now) if state == S.SCHEDULED else now
            queue.schedule_publish(variant_id, run_at)
            added += 1
    every = timedelta(minutes=runtime.settings.sync_interval_minutes)
    for account_id in accounts:
        job_id = f"{SYNC_PREFIX}{account_id}"
        live.add(job_id)
        if job_id not in existing:
            assert account_id is not None
            queue.schedule_sync(account_id, every=every, first_run=now)
            added += 1
    if workspace is not None:  # the workspace brandkit.toml configures (see workspace.py)
        workspace_id, timezone = workspace
        assert workspace_id is not None
        live.add(f"{REPORT_PREFIX}{workspace_id}")
        settings = runtime.settings
        if queue.schedule_weekly_report(
            workspace_id,
            weekday=settings.report_day,
            at=settings.report_time,
            timezone=timezone,
            now=now,
        ):
            added += 1
    for job_id in existing - live:
        if job_id.startswith((PUBLISH_PREFIX, SYNC_PREFIX, REPORT_PREFIX)) and queue.remove(job_id):
            removed += 1
    return ReconcileReport(recovered, added, removed)


def _orphaned(started: datetime | None, stale_before: datetime, resend_is_harmless: bool) -> bool:
    if started is None or resend_is_harmless:
        return True
    return ensure_utc(started) < stale_before


def _keyed(platform: str, seen: dict[str, bool]) -> bool:
    """Whether ``platform`` honours idempotency keys (unknown platforms are assumed not to)."""
    if platform not in seen:
        try:
            connector = get_connector_class(platform)
            seen[platform] = bool(getattr(connector, "supports_idempotency_key", False))
        except BrandkitError:
            seen[platform] = False
    return seen[platform]
