"""APScheduler as brandkit's timer: date jobs to publish, interval jobs to sync metrics, a cron
job for the weekly report.

Jobs live in APScheduler 3's ``SQLAlchemyJobStore`` in the same database as everything else and
carry only an id (``publish:<variant id>``, ``sync:<account id>``, ``report:weekly:<workspace
id>``); the database and the settings stay the source of truth. APScheduler 3 reads the wall
clock inside its scheduler loop, so brandkit keeps APScheduler's job store, triggers and job
serialisation but runs due jobs itself (:class:`JobRunner`) on an injected
:class:`~brandkit.clock.Clock` — the same code runs a real worker, ``worker --once`` and twelve
simulated weeks in the demo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.debug import DebugExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import Engine, and_, bindparam, select

from brandkit.clock import Clock, ensure_utc

log = logging.getLogger(__name__)

JOBSTORE = "default"
PUBLISH_PREFIX = "publish:"
SYNC_PREFIX = "sync:"
REPORT_PREFIX = "report:weekly:"
PUBLISH_FUNC = "brandkit.publishing.publisher:publish_job"
SYNC_FUNC = "brandkit.metrics.sync:sync_job"
REPORT_FUNC = "brandkit.reports.weekly:weekly_report_job"
JOB_RETRY = timedelta(minutes=1)


class StoreOnlyScheduler(BaseScheduler):  # type: ignore[misc]
    """An APScheduler scheduler that stores jobs but never runs them itself."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait=False)

    def wakeup(self) -> None:
        """Nothing to wake: :class:`JobRunner` polls the store on its own clock."""

    def _create_default_executor(self) -> DebugExecutor:
        return DebugExecutor()


class JobQueue:
    """Adds, moves and removes brandkit's jobs in the persistent job store."""

    def __init__(self, engine: Engine) -> None:
        self.store = SQLAlchemyJobStore(engine=engine)
        self.scheduler = StoreOnlyScheduler(timezone="UTC")
        self.scheduler.add_jobstore(self.store, JOBSTORE)
        self.scheduler.start(paused=True)

    def close(self) -> None:
        self.scheduler.shutdown()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def schedule_publish(self, variant_id: int, run_at: datetime) -> None:
        self.scheduler.add_job(
            PUBLISH_FUNC,
            trigger=DateTrigger(run_date=ensure_utc(run_at), timezone="UTC"),
            args=[variant_id],
            id=f"{PUBLISH_PREFIX}{variant_id}",
            name=f"publish variant {variant_id}",
            replace_existing=True,
            next_run_time=ensure_utc(run_at),
            misfire_grace_time=None,
        )

    def schedule_sync(self, account_id: int, *, every: timedelta, first_run: datetime) -> None:
        self.scheduler.add_job(
            SYNC_FUNC,
            trigger=IntervalTrigger(
                seconds=every.total_seconds(), start_date=first_run, timezone="UTC"
            ),
            args=[account_id],
            id=f"{SYNC_PREFIX}{account_id}",
            name=f"sync account {account_id}",
            replace_existing=True,
            next_run_time=ensure_utc(first_run),
            coalesce=True,
            misfire_grace_time=None,
        )

    def schedule_weekly_report(
        self, workspace_id: int, *, weekday: str, at: str, timezone: str, now: datetime
    ) -> bool:
        """Write ``workspace_id``'s weekly report every ``weekday`` (``"mon"``) at ``at``
        (``"08:00"``) in ``timezone``; returns whether the job was added or changed.

        An unchanged job keeps its next run time, so a report that fell due while no worker ran
        is still due and is written once when one starts (the runner coalesces missed weeks).
        A changed day or time moves the job to its next new time, except that a report already
        overdue stays due now.
        """
        hour, minute = (int(part) for part in at.split(":"))
        trigger = CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=timezone)
        job_id = f"{REPORT_PREFIX}{workspace_id}"
        current = self.get(job_id)
        if current is not None and repr(current.trigger) == repr(trigger):
            return False
        next_run: datetime = trigger.get_next_fire_time(None, now)
        if current is not None and ensure_utc(current.next_run_time) <= now:
            next_run = ensure_utc(current.next_run_time)
        self.scheduler.add_job(
            REPORT_FUNC,
            trigger=trigger,
            args=[workspace_id],
            id=job_id,
            name=f"weekly report of workspace {workspace_id}",
            replace_existing=True,
            next_run_time=next_run,
            coalesce=True,
            misfire_grace_time=None,
        )
        return True

    def remove(self, job_id: str) -> bool:
        try:
            self.store.remove_job(job_id)
        except JobLookupError:
            return False
        return True

    def get(self, job_id: str) -> Job | None:
        job: Job | None = self.store.lookup_job(job_id)
        return job

    def job_ids(self) -> list[str]:
        """Every job's id, read from the id column: unpickling 10,000 jobs to list them took
        most of a worker's start-up."""
        table = self.store.jobs_t
        with self.store.engine.connect() as conn:
            return [row[0] for row in conn.execute(select(table.c.id))]

    def next_run_time(self) -> datetime | None:
        moment = self.store.get_next_run_time()
        return ensure_utc(moment) if moment is not None else None

    def due(self, now: datetime) -> list[DueJob]:
        """The jobs due at ``now``, soonest first, each with its run time as stored.

        The stored value (a float) is kept so that :meth:`remove_unchanged` can delete a job
        only if nobody moved it meanwhile, comparing exactly what is in the table.
        """
        table = self.store.jobs_t
        query = (
            select(table.c.id, table.c.next_run_time, table.c.job_state)
            .where(table.c.next_run_time <= datetime_to_utc_timestamp(now))
            .order_by(table.c.next_run_time)
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        due: list[DueJob] = []
        for job_id, stamp, state in rows:
            try:  # the store's own unpickling, which get_due_jobs would run for us
                job = self.store._reconstitute_job(state)
            except Exception:  # a job whose function no longer imports: drop it, as APScheduler
                log.exception("cannot restore job %s; removing it", job_id)
                self.remove(job_id)
                continue
            due.append(DueJob(job, stamp))
        return due

    def remove_unchanged(self, entries: Sequence[DueJob]) -> None:
        """Delete these jobs in one transaction, each only if its run time is still the one
        it was fetched with (a job that rescheduled itself, or was moved, stays)."""
        if not entries:
            return
        table = self.store.jobs_t
        delete = table.delete().where(
            and_(table.c.id == bindparam("job_id"), table.c.next_run_time == bindparam("stamp"))
        )
        with self.store.engine.begin() as conn:
            conn.execute(delete, [{"job_id": e.job.id, "stamp": e.stamp} for e in entries])


@dataclass(frozen=True)
class DueJob:
    """A due job and its ``next_run_time`` exactly as the job store holds it."""

    job: Job
    stamp: float


JobFunction = Callable[..., Awaitable[Any]]
PassScope = Callable[[Sequence[Job]], AbstractAsyncContextManager[object]]


class JobRunner:
    """Runs the jobs that are due on ``clock``, then advances or removes them.

    A publish job is removed only after it ran, and only if nobody rescheduled it meanwhile (a
    retry replaces the job with a later run time). If the process dies in between, the job runs
    again and finds its variant no longer ``scheduled``: the state machine, not the job store,
    guarantees a post goes out once.

    ``pass_scope`` wraps each pass (all jobs due at one moment): the publisher uses it to claim
    variants in groups and write results in groups, since one transaction per variant was
    most of the cost when a thousand posts fall due together. Finished date jobs are removed
    together after the scope has closed, so a job never goes before its result is stored.
    """

    def __init__(
        self,
        queue: JobQueue,
        clock: Clock,
        context: Any,
        *,
        concurrency: int = 32,
        pass_scope: PassScope | None = None,
    ):
        self.queue = queue
        self.clock = clock
        self.context = context
        self.pass_scope = pass_scope
        self._limit = asyncio.Semaphore(concurrency)

    async def run_due(self) -> int:
        """Run every job due now; returns how many ran."""
        now = self.clock.now()
        due = self.queue.due(now)
        if not due:
            return 0
        jobs = [entry.job for entry in due]
        scope = self.pass_scope(jobs) if self.pass_scope else nullcontext()
        async with scope:
            outcomes = await asyncio.gather(*(self._run(job) for job in jobs))
        finished: list[DueJob] = []
        for entry, ok in zip(due, outcomes, strict=True):
            scheduled_for = ensure_utc(entry.job.next_run_time)
            if not ok:
                self._retry(entry.job, scheduled_for, now)
            elif isinstance(entry.job.trigger, DateTrigger):
                finished.append(entry)
            else:
                self._advance(entry.job, scheduled_for, now)
        self.queue.remove_unchanged(finished)
        return len(due)

    async def _run(self, job: Job) -> bool:
        async with self._limit:
            try:
                await job.func(*job.args, runtime=self.context, **job.kwargs)
            except Exception:  # one job's failure must not stop the worker or lose the job
                log.exception("job %s failed; it will run again in %s", job.id, JOB_RETRY)
                return False
        return True

    def _retry(self, job: Job, scheduled_for: datetime, now: datetime) -> None:
        """Keep a job whose function raised (say, the database was briefly unreachable).

        A date job is moved a little later instead of being removed, so its variant is not left
        without a timer; an interval job simply waits for its next interval.
        """
        if isinstance(job.trigger, DateTrigger):
            current = self.queue.get(job.id)
            if current is not None and ensure_utc(current.next_run_time) == scheduled_for:
                current._modify(next_run_time=now + JOB_RETRY)
                self.queue.store.update_job(current)
            return
        self._advance(job, scheduled_for, now)

    def _advance(self, job: Job, scheduled_for: datetime, now: datetime) -> None:
        current = self.queue.get(job.id)
        if current is None or ensure_utc(current.next_run_time) != scheduled_for:
            return  # removed or rescheduled by the job itself
        following = job.trigger.get_next_fire_time(scheduled_for, now)
        while following is not None and following <= now:  # coalesce missed intervals
            following = job.trigger.get_next_fire_time(following, now)
        if following is None:
            self.queue.remove(job.id)
        else:
            current._modify(next_run_time=following)
            self.queue.store.update_job(current)
