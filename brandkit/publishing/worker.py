"""The worker: take the worker lock, reconcile, then run due jobs on the clock until told to stop.

``python scheduler.py``, ``brandkit worker`` and ``brandkit worker --once`` all come here.
Only the worker holding the lock (:mod:`brandkit.publishing.leadership`) reconciles and runs
jobs; another one started on the same database waits as a standby and takes over within
``standby_poll`` seconds of the leader's death, and ``--once`` simply does nothing while a
daemon leads. SIGTERM/SIGINT set the stop event; the publishes already in flight finish
(bounded by the HTTP timeout) and every state left behind is one the next start recovers from.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from apscheduler.job import Job
from sqlalchemy.exc import SQLAlchemyError

from brandkit.errors import BrandkitError
from brandkit.publishing.jobs import PUBLISH_PREFIX, JobRunner
from brandkit.publishing.leadership import Leadership, Unshared
from brandkit.publishing.publisher import ConnectorCache, publishing_pass
from brandkit.publishing.reconcile import ReconcileReport, reconcile
from brandkit.runtime import USER_AGENT, Runtime

log = logging.getLogger(__name__)

MAX_ONCE_PASSES = 10
HTTP_POOLS = 8
HTTP_POOL_SIZE = 8
CONCURRENCY = HTTP_POOLS * HTTP_POOL_SIZE  # the CLI worker's publishes in flight
RECONCILE_EVERY = timedelta(minutes=5)
STANDBY_POLL = 2.0

Role = Literal["leader", "standby"]
RoleListener = Callable[[Role, str], None]


@dataclass
class WorkerStats:
    reconcile: ReconcileReport | None = None
    jobs_run: int = 0
    standby: bool = False  # --once found another worker leading and did nothing


class Worker:
    """Runs brandkit's jobs for one database; see the module docstring.

    ``leadership`` defaults to :class:`~brandkit.publishing.leadership.Unshared` (the caller
    owns the database: tests, the demo); the CLI passes the database's real lock.
    ``on_role`` hears each change of role with a one-line reason, for the CLI to print.
    ``http_pools`` (see :func:`worker_http_pools`) carry the publishes instead of the
    runtime's client; the caller closes them.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        poll_seconds: float = 30.0,
        concurrency: int = 32,
        http_pools: Sequence[httpx.AsyncClient] = (),
        leadership: Leadership | None = None,
        standby_poll: float = STANDBY_POLL,
        on_role: RoleListener | None = None,
    ):
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.standby_poll = standby_poll
        self.leadership: Leadership = leadership or Unshared()
        self.on_role = on_role
        self.connectors = ConnectorCache(http_pools)
        self.runner = JobRunner(
            runtime.queue,
            runtime.clock,
            runtime,
            concurrency=concurrency,
            pass_scope=self._publish_pass,
        )
        self.stats = WorkerStats()
        self.leading = False
        self._role: Role | None = None

    def start(self) -> ReconcileReport:
        """Reconcile the job store with the database (the leader, between passes)."""
        sole = self.leading and self.leadership.exclusive
        report = reconcile(self.runtime, sole_publisher=sole)
        self.stats.reconcile = report
        log.info("reconciled: %s", report)
        return report

    async def run_pending(self) -> int:
        """Run jobs until none is due now (a settle may make a resend due at once)."""
        total = 0
        for _ in range(MAX_ONCE_PASSES):
            if not self.leadership.is_held():
                break  # lost the lock: whatever is due belongs to the new leader
            ran = await self.runner.run_due()
            total += ran
            if ran == 0:
                break
        self.stats.jobs_run += total
        return total

    async def run_once(self) -> WorkerStats:
        """``brandkit worker --once``: reconcile, run everything due, return.

        With another worker leading it returns at once with ``stats.standby`` set: cron beside
        a daemon is harmless.
        """
        if not self.leadership.try_acquire():
            self.stats.standby = True
            return self.stats
        self.leading = True
        try:
            self.start()
            await self.run_pending()
        finally:
            self._step_down()
        return self.stats

    async def run_forever(self, stop: asyncio.Event) -> WorkerStats:
        """Lead or stand by until ``stop`` is set; a database outage is waited out, not fatal."""
        clock = self.runtime.clock
        last_reconcile: datetime | None = None
        try:
            while not stop.is_set():
                try:
                    leading = self._lead()
                except BrandkitError as exc:  # the lock cannot even be asked for: wait it out
                    log.error("cannot check the worker lock, retrying: %s", exc)
                    leading = False
                if not leading:
                    last_reconcile = None
                    await _wait(clock.sleep(self.standby_poll), stop)
                    continue
                try:
                    if last_reconcile is None or clock.now() - last_reconcile >= RECONCILE_EVERY:
                        report = self.start()  # new accounts get sync jobs; orphans settle
                        if last_reconcile is None:
                            self._announce("leader", _ready_message(report))
                        last_reconcile = clock.now()
                    await self.run_pending()
                    next_run = self.runtime.queue.next_run_time()
                except (BrandkitError, SQLAlchemyError) as exc:
                    log.error("worker pass failed, retrying in %.0f s: %s", self.poll_seconds, exc)
                    next_run = None
                wait = self.poll_seconds
                if next_run is not None:
                    wait = max(0.0, min(wait, (next_run - clock.now()).total_seconds()))
                await _wait(clock.sleep(wait), stop)
        finally:
            self._step_down()
        return self.stats

    def _lead(self) -> bool:
        """Keep or take the lock; announce a change of role once."""
        where = self.leadership.describe()
        if self.leading:
            if self.leadership.is_held():
                return True
            self.leading = False
            self._announce("standby", f"lost the worker lock ({where}); stopped publishing")
            return False
        if self.leadership.try_acquire():
            self.leading = True
            return True
        self._announce(
            "standby", f"another worker is publishing ({where}); taking over when it stops"
        )
        return False

    def _announce(self, role: Role, message: str) -> None:
        if role == self._role:
            return
        self._role = role
        log.info("%s: %s", role, message)
        if self.on_role is not None:
            self.on_role(role, message)

    def _step_down(self) -> None:
        self.leading = False
        self.leadership.release()

    def _publish_pass(self, jobs: Sequence[Job]) -> AbstractAsyncContextManager[object]:
        ids = [int(job.args[0]) for job in jobs if job.id.startswith(PUBLISH_PREFIX) and job.args]
        return publishing_pass(self.runtime, ids, self.connectors)


def worker_http_pools(
    timeout: float, *, pools: int = HTTP_POOLS, per_pool: int = HTTP_POOL_SIZE
) -> list[httpx.AsyncClient]:
    """A few small HTTP clients for the publishing connectors, each account pinned to one.

    httpcore scans its whole connection pool (and asks each socket whether it is still alive)
    on every request, so one pool of 64 connections spent more CPU per publish than the
    request itself when a thousand posts fell due together; eight pools of eight do not. A
    platform limits each account far below eight concurrent posts anyway.
    """
    return [
        httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool),
        )
        for _ in range(pools)
    ]


def _ready_message(report: ReconcileReport) -> str:
    return (
        f"reconciled +{report.jobs_added} / -{report.jobs_removed} jobs, "
        f"{report.recovered_in_flight} in-flight recovered; publishing"
    )


async def _wait(sleep: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Wait for ``sleep`` or ``stop``, whichever comes first."""
    sleeper = asyncio.ensure_future(sleep)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sleeper, stopper):
        task.cancel()
