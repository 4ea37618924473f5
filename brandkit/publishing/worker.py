"""The worker: reconcile on start, then run due jobs on the clock until told to stop.

``python scheduler.py``, ``brandkit worker`` and ``brandkit worker --once`` all come here.
SIGTERM/SIGINT set the stop event; the publishes already in flight finish (bounded by the HTTP
timeout) and every state left behind is one the next start recovers from.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from brandkit.errors import BrandkitError
from brandkit.publishing.jobs import JobRunner
from brandkit.publishing.reconcile import ReconcileReport, reconcile
from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ONCE_PASSES = 10
RECONCILE_EVERY = timedelta(minutes=5)


@dataclass
class WorkerStats:
    reconcile: ReconcileReport | None = None
    jobs_run: int = 0


class Worker:
    def __init__(self, runtime: Runtime, *, poll_seconds: float = 30.0, concurrency: int = 32):
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.runner = JobRunner(runtime.queue, runtime.clock, runtime, concurrency=concurrency)
        self.stats = WorkerStats()

    def start(self) -> ReconcileReport:
        report = reconcile(self.runtime)
        self.stats.reconcile = report
        log.info("reconciled: %s", report)
        return report

    async def run_pending(self) -> int:
        """Run jobs until none is due now (a settle may make a resend due at once)."""
        total = 0
        for _ in range(MAX_ONCE_PASSES):
            ran = await self.runner.run_due()
            total += ran
            if ran == 0:
                break
        self.stats.jobs_run += total
        return total

    async def run_once(self) -> WorkerStats:
        """``brandkit worker --once``: reconcile, run everything due, return."""
        self.start()
        await self.run_pending()
        return self.stats

    async def run_forever(self, stop: asyncio.Event) -> WorkerStats:
        """Run until ``stop`` is set; a database outage is waited out, not fatal."""
        self.start()
        clock = self.runtime.clock
        last_reconcile = clock.now()
        while not stop.is_set():
            try:
                if clock.now() - last_reconcile >= RECONCILE_EVERY:
                    self.start()  # new accounts get sync jobs; crashed peers' publishes settle
                    last_reconcile = clock.now()
                await self.run_pending()
                next_run = self.runtime.queue.next_run_time()
            except (BrandkitError, SQLAlchemyError) as exc:
                log.error("worker pass failed, retrying in %.0f s: %s", self.poll_seconds, exc)
                next_run = None
            wait = self.poll_seconds
            if next_run is not None:
                wait = max(0.0, min(wait, (next_run - clock.now()).total_seconds()))
            sleeper = asyncio.ensure_future(clock.sleep(wait))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()
        return self.stats
