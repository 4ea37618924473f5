"""Worker numbers for issue 4: start-up with 10,000 queued variants, and publish lateness.

Run:  python benchmarks/bench_worker.py [--variants 10000] [--due 1000] [--accounts 20]
                                         [--latency-ms 50] [--spread-seconds 0]
                                         [--lead-seconds 15]
                                         [--database-url postgresql+psycopg://…]

1. A fresh workspace (SQLite by default) with ``--variants`` scheduled variants and their
   ``publish:<id>`` jobs in the job store: ``--due`` of them fall due at one instant
   ``--lead-seconds`` after set-up (all at the same instant with the default
   ``--spread-seconds 0``, the hardest case: the planner's slots are whole minutes, so posts
   "due in the same minute" are due at the same second), the rest over the next weeks.
2. Start-up, measured twice:
   * in-process: ``Worker.start()`` (reconcile against 10,000 jobs) plus the first due check;
   * the real worker: from spawning ``python -m brandkit.cli.main worker`` to its
     ``leader: reconciled … publishing`` line (interpreter and imports included).
3. That worker publishes the due variants to ``brandkit sandbox serve --latency-ms 50`` on
   127.0.0.1. Lateness = ``published_at`` (the platform's ``created_at``, read back from each
   variant) − ``due_at``: p50, p99 and max. Prints a table with the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.job import Job
from apscheduler.triggers.date import DateTrigger
from apscheduler.util import datetime_to_utc_timestamp
from loopback import free_port, wait_for
from sqlalchemy import Engine, insert, select
from sqlmodel import col
from sqlmodel import select as select_rows

from brandkit.clock import ensure_utc
from brandkit.config import load_settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Post, Variant, Workspace
from brandkit.publishing.jobs import PUBLISH_FUNC, PUBLISH_PREFIX
from brandkit.publishing.publisher import publish_job
from brandkit.publishing.worker import Worker
from brandkit.runtime import Runtime
from brandkit.workspace import add_account, build_runtime, init_workspace

START_UP_TARGET_S = 3.0
P99_TARGET_S = 2.0
DEADLINE_S = 120.0


@dataclass(frozen=True)
class Queued:
    due_at: datetime
    due_ids: list[int]


def build_queue(
    engine: Engine, home: Path, base_url: str, args: argparse.Namespace, due_at: datetime
) -> Queued:
    """Rows and jobs in bulk, as approval would leave them (approval itself is not measured)."""
    settings_runtime = build_runtime_for(home, engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        workspace = session.exec(select_rows(Workspace)).one()
        accounts = [
            add_account(
                session,
                settings_runtime.secrets,
                workspace,
                platform="mastodon",
                name=f"a{i}",
                base_url=base_url,
                token=f"sandbox-bench{i}",
            ).id
            for i in range(args.accounts)
        ]
        workspace_id = workspace.id
    later = [now + timedelta(days=1, minutes=7 * i) for i in range(args.variants - args.due)]
    spread = args.spread_seconds / max(1, args.due)
    soon = [due_at + timedelta(seconds=spread * i) for i in range(args.due)]
    times = soon + later
    with engine.begin() as conn:
        conn.execute(
            insert(Post),
            [
                {
                    "workspace_id": workspace_id,
                    "scheduled_at": t,
                    "state": "approved",
                    "variables": {},
                }
                for t in times
            ],
        )
        post_ids = list(conn.execute(select(Post.id).order_by(col(Post.id))).scalars())
        conn.execute(
            insert(Variant),
            [
                {
                    "post_id": post_id,
                    "account_id": accounts[i % len(accounts)],
                    "text": f"ベンチマーク投稿 {i} です。{uuid.uuid4().hex[:8]}",
                    "state": "scheduled",
                    "due_at": t,
                    "idempotency_key": uuid.uuid4().hex,
                    "findings": [],
                    "updated_at": now,
                }
                for i, (post_id, t) in enumerate(zip(post_ids, times, strict=True))
            ],
        )
        rows = conn.execute(select(Variant.id, Variant.due_at).order_by(col(Variant.id))).all()
    insert_jobs(settings_runtime, [(vid, due) for vid, due in rows])
    last = due_at + timedelta(seconds=args.spread_seconds)
    due_ids = [vid for vid, due in rows if ensure_utc(due) <= last]
    settings_runtime.queue.close()
    return Queued(due_at, due_ids)


def build_runtime_for(home: Path, engine: Engine) -> Runtime:
    return build_runtime(load_settings(home), engine)


def insert_jobs(runtime: Runtime, rows: list[tuple[int, datetime]]) -> None:
    """The jobs ``JobQueue.schedule_publish`` would write, pickled the same way, in one go."""
    store = runtime.queue.store
    scheduler = runtime.queue.scheduler
    values = []
    for variant_id, stored_due in rows:
        due = ensure_utc(stored_due)
        job = Job(
            scheduler,
            id=f"{PUBLISH_PREFIX}{variant_id}",
            func=publish_job,
            trigger=DateTrigger(run_date=due, timezone="UTC"),
            executor="default",
            args=[variant_id],
            kwargs={},
            name=f"publish variant {variant_id}",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=due,
        )
        assert job.func_ref == PUBLISH_FUNC
        values.append(
            {
                "id": job.id,
                "next_run_time": datetime_to_utc_timestamp(due),
                "job_state": pickle.dumps(job.__getstate__(), store.pickle_protocol),
            }
        )
    with store.engine.begin() as conn:
        conn.execute(store.jobs_t.insert(), values)


async def in_process_start_up(home: Path, engine: Engine) -> float:
    runtime = build_runtime_for(home, engine)
    started = time.perf_counter()
    worker = Worker(runtime)
    worker.start()
    runtime.queue.due(runtime.clock.now())
    elapsed = time.perf_counter() - started
    await runtime.http.aclose()
    return elapsed


class WorkerProcess:
    """The real worker as a child process; its output lines are timestamped as they come."""

    def __init__(self, home: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brandkit.cli.main", "worker", "--poll", "1"],
            env={**os.environ, "BRANDKIT_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter(), line.rstrip()))

    def ready_after(self, deadline_s: float = 60.0) -> float:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for at, line in self.lines:
                if line.startswith("leader:"):
                    return at - self.spawned
            if self.proc.poll() is not None:
                raise SystemExit("worker exited:\n" + "\n".join(line for _, line in self.lines))
            time.sleep(0.01)
        raise SystemExit("worker did not become ready:\n" + "\n".join(x for _, x in self.lines))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_published(engine: Engine, ids: list[int]) -> list[tuple[datetime, datetime]]:
    end = time.monotonic() + DEADLINE_S
    final = ("published", "failed", "missed", "cancelled")
    while time.monotonic() < end:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Variant.state, Variant.due_at, Variant.published_at).where(
                    col(Variant.id).in_(ids)
                )
            ).all()
        if all(state in final for state, _, _ in rows):
            bad = [state for state, _, _ in rows if state != "published"]
            if bad:
                raise SystemExit(f"{len(bad)} variants ended {sorted(set(bad))}")
            return [(due, published) for _, due, published in rows]
        time.sleep(0.25)
    raise SystemExit("the due variants were not all published in time")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--spread-seconds", type=float, default=0.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--lead-seconds", type=float, default=15.0, help="how far ahead the due instant is"
    )
    args = parser.parse_args()

    port = free_port()
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brandkit.cli.main",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
        ],
        env={**os.environ, "BRANDKIT_HOME": tempfile.gettempdir()},
    )
    worker: WorkerProcess | None = None
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for(f"{base_url}/api/v2/instance", deadline_s=20.0)
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            _, engine = init_workspace(home, name="bench", database_url=args.database_url)
            setup = time.perf_counter()
            # a whole second far enough away to build the queue and start the worker first
            first = datetime.now(UTC) + timedelta(seconds=args.lead_seconds)
            due_at = first.replace(microsecond=0) + timedelta(seconds=1)
            queued = build_queue(engine, home, base_url, args, due_at)
            setup_s = time.perf_counter() - setup
            in_process = asyncio.run(in_process_start_up(home, engine))
            worker = WorkerProcess(home)
            process_ready = worker.ready_after()
            wait = (due_at - datetime.now(UTC)).total_seconds()
            if wait < 0:
                raise SystemExit("setup took too long: the due minute has already passed")
            pairs = wait_published(engine, queued.due_ids)
            late = [(ensure_utc(p) - ensure_utc(d)).total_seconds() for d, p in pairs]
            worker.stop()
            worker = None
            engine.dispose()
    finally:
        if worker is not None:
            worker.stop()
        sandbox.terminate()
        sandbox.wait(timeout=10)

    backend = "PostgreSQL" if args.database_url else "SQLite"
    p50, p99 = statistics.median(late), percentile(late, 0.99)
    rows = [
        ("set-up (rows and jobs, not a target)", f"{setup_s:.2f} s", ""),
        (
            f"start-up in-process: Worker.start() + first due check, {args.variants:,} jobs",
            f"{in_process:.2f} s",
            f"≤ {START_UP_TARGET_S:.0f} s",
        ),
        (
            "start-up of 'brandkit worker': spawn → reconciled and ready",
            f"{process_ready:.2f} s",
            f"≤ {START_UP_TARGET_S:.0f} s",
        ),
        (f"publish lateness p50 ({len(late)} due together)", f"{p50:.2f} s", ""),
        (
            f"publish lateness p99 ({len(late)} due together)",
            f"{p99:.2f} s",
            f"≤ {P99_TARGET_S:.0f} s",
        ),
        ("publish lateness max", f"{max(late):.2f} s", ""),
    ]
    print(
        f"{backend}, {args.accounts} accounts, sandbox latency {args.latency_ms:.0f} ms, "
        f"due spread over {args.spread_seconds:.0f} s"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>8}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>8}  {target}")


if __name__ == "__main__":
    main()
