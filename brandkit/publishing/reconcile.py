"""Healing the database and the job store into agreement when a worker starts.

The database is the truth and the job store the timer (DESIGN.md): a scheduled variant without a
job gets one, a job without a live variant goes, and a variant left ``publishing`` by a process
that died mid-request becomes ``unconfirmed`` so it is looked for before it is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Variant
from brandkit.publishing.jobs import PUBLISH_PREFIX, SYNC_PREFIX
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition
from brandkit.runtime import Runtime

IN_FLIGHT_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class ReconcileReport:
    recovered_in_flight: int
    jobs_added: int
    jobs_removed: int


def reconcile(runtime: Runtime) -> ReconcileReport:
    now = runtime.clock.now()
    queue = runtime.queue
    recovered = added = removed = 0
    existing = set(queue.job_ids())
    live: set[str] = set()
    # A publish still inside its HTTP timeout may belong to another live process (say
    # 'worker --once' from cron beside the daemon): only older ones were cut off by a crash.
    stale_before = now - timedelta(seconds=runtime.settings.http_timeout) - IN_FLIGHT_MARGIN
    with session_scope(runtime.engine) as session:
        in_flight = select(Variant).where(
            Variant.state == S.PUBLISHING, col(Variant.attempt_started_at) < stale_before
        )
        for variant in session.exec(in_flight).all():
            assert variant.id is not None
            transition(
                session,
                variant.id,
                S.PUBLISHING,
                S.UNCONFIRMED,
                now=now,
                last_error="the worker stopped while publishing; checking the platform",
            )
            recovered += 1
        pending = session.exec(
            select(Variant).where(
                Variant.state.in_([S.SCHEDULED, S.UNCONFIRMED])  # type: ignore[attr-defined]
            )
        ).all()
        accounts = session.exec(select(Account).where(Account.status == "active")).all()
    for variant in pending:
        job_id = f"{PUBLISH_PREFIX}{variant.id}"
        live.add(job_id)
        if job_id not in existing:
            assert variant.id is not None
            run_at = max(variant.due_at, now) if variant.state == S.SCHEDULED else now
            queue.schedule_publish(variant.id, run_at)
            added += 1
    every = timedelta(minutes=runtime.settings.sync_interval_minutes)
    for account in accounts:
        job_id = f"{SYNC_PREFIX}{account.id}"
        live.add(job_id)
        if job_id not in existing:
            assert account.id is not None
            queue.schedule_sync(account.id, every=every, first_run=now)
            added += 1
    for job_id in existing - live:
        if job_id.startswith((PUBLISH_PREFIX, SYNC_PREFIX)) and queue.remove(job_id):
            removed += 1
    return ReconcileReport(recovered, added, removed)
