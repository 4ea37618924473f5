"""Sync numbers for issue 5: 1,000 accounts against the sandbox on loopback, with a rate limit.

Run:  python benchmarks/bench_sync.py [--accounts 1000] [--posts 200] [--latency-ms 20]
                                       [--rate-limit 1/5] [--sample 5]
                                       [--database-url postgresql+psycopg://…] [--profile FILE]

1. ``brandkit sandbox serve`` in a subprocess on 127.0.0.1 with ``--latency-ms``, a per-token
   (= per-account) ``--rate-limit N/S`` and ``--history``: every benchmark account already has
   ``--posts`` statuses, one every two hours ending an hour ago, so all of them are due.
2. A fresh workspace (SQLite by default) with the accounts and, for each of their statuses, the
   published variant brandkit would have recorded (bulk inserts; set-up is not measured).
3. **Concurrent**: ``sync_accounts`` over all accounts, as ``brandkit sync --all`` runs it
   (real clock, the runtime's HTTP client), started just after a rate-limit window opens.
4. **Floor**: each account makes ``R = 1 + ceil(posts / 40)`` sequential requests (the profile,
   then 40 statuses per page) but may make only ``N`` per ``S``-second window (windows are
   aligned to multiples of ``S``, as the sandbox counts them). It needs ``k = ceil(R / N)``
   windows, so its last request cannot leave before ``k - 1`` window boundaries have passed,
   and the ``R - (k - 1) N`` requests of its last window each wait out the latency ``L``::

       floor = (k - 1) S - phase + (R - (k - 1) N) L        (k >= 2; R L when k = 1)

   where ``phase`` is how far into its window the run started. All accounts run in parallel,
   so this is also the floor of the whole run; CPU time is not in it.
5. **One at a time**: ``--sample`` other accounts (fresh rate-limit windows) synced
   sequentially; the mean per account times ``--accounts`` is the extrapolated total.

Targets: concurrent total <= 1.5 x floor, and >= 20 x faster than one at a time. Why the
default limit is 1 request per 5 s (the CPU work must fit under the floor on two cores), and the
figures measured: docs/platforms/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import math
import os
import pstats
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loopback import free_port, wait_for
from sqlalchemy import Engine, func, insert, select
from sqlmodel import col

from brandkit.config import load_settings
from brandkit.db.models import Account, AccountSnapshot, Post, PostMetrics, Variant, Workspace
from brandkit.metrics.sync import sync_accounts
from brandkit.metrics.transport import sync_http_client
from brandkit.platforms.base import Credentials
from brandkit.platforms.sandbox.server import parse_rate_limit
from brandkit.platforms.sandbox.simulation import history_schedule
from brandkit.secrets import SecretBox
from brandkit.workspace import build_runtime, init_workspace

PAGE_SIZE = 40  # the Mastodon connector's page size (the documented maximum)
FLOOR_TARGET = 1.5
SPEEDUP_TARGET = 20.0
PREFIX = "bench"


@dataclass(frozen=True)
class Floor:
    requests: int
    windows: int
    phase: float
    seconds: float


def floor(posts: int, limit: int, window: float, latency: float, phase: float) -> Floor:
    """The time latency and the rate limit impose on one account (see the module docstring)."""
    requests = 1 + math.ceil(posts / PAGE_SIZE)
    windows = math.ceil(requests / limit)
    if windows == 1:
        return Floor(requests, windows, phase, requests * latency)
    last = requests - (windows - 1) * limit
    return Floor(requests, windows, phase, (windows - 1) * window - phase + last * latency)


def sandbox_command(args: argparse.Namespace, port: int, total: int, end: datetime) -> list[str]:
    return [
        sys.executable,
        "-m",
        "brandkit.cli.main",
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--latency-ms",
        str(args.latency_ms),
        "--rate-limit",
        args.rate_limit,
        "--history",
        str(args.posts),
        "--history-end",
        end.isoformat(),
        "--accounts",
        f"{PREFIX}:{total}",
    ]


def populate(
    engine: Engine, home: Path, base_url: str, total: int, posts: int, end: datetime
) -> list[int]:
    """The accounts and their published variants, inserted in bulk; returns account ids."""
    secrets = SecretBox.from_key_file(load_settings(home).secret_key_file)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        workspace_id = conn.execute(select(Workspace.id)).scalar_one()
        conn.execute(
            insert(Account),
            [
                {
                    "workspace_id": workspace_id,
                    "name": f"{PREFIX}{i:04d}",
                    "platform": "mastodon",
                    "handle": "",
                    "base_url": base_url,
                    "credentials_encrypted": secrets.encrypt(
                        Credentials(token=f"sandbox-{PREFIX}{i}")
                    ),
                    "status": "active",
                    "created_at": now,
                }
                for i in range(total)
            ],
        )
        ids = list(conn.execute(select(Account.id).order_by(col(Account.name))).scalars())
        conn.execute(
            insert(Post),
            [
                {
                    "workspace_id": workspace_id,
                    "scheduled_at": end - timedelta(hours=2 * i),
                    "state": "approved",
                    "variables": {},
                    "language": "ja",
                }
                for i in range(posts)
            ],
        )
        post_ids = list(conn.execute(select(Post.id).order_by(col(Post.id))).scalars())
        for i, account_id in enumerate(ids):
            schedule = history_schedule(f"{PREFIX}{i}", posts, end)
            conn.execute(
                insert(Variant),
                [
                    {
                        "post_id": post_id,
                        "account_id": account_id,
                        "text": "ベンチマーク",
                        "state": "published",
                        "due_at": at,
                        "remote_id": str(status_id),
                        "published_at": at,
                        "idempotency_key": f"{account_id}-{post_id}",
                        "findings": [],
                        "updated_at": now,
                    }
                    for post_id, (status_id, at) in zip(post_ids, schedule, strict=True)
                ],
            )
    return ids


async def run_sync(home: Path, engine: Engine, ids: list[int]) -> tuple[float, int]:
    """Sync ``ids`` concurrently; returns seconds and failures."""
    settings = load_settings(home)
    runtime = build_runtime(settings, engine, http=sync_http_client(settings.http_timeout))
    try:
        started = time.perf_counter()
        results = await sync_accounts(runtime, ids)
        elapsed = time.perf_counter() - started
    finally:
        await runtime.aclose()
    failed = [r for r in results if not r.ok]
    for r in failed[:5]:
        print(f"  failed: {r.account_name}: {r.error}", file=sys.stderr)
    return elapsed, len(failed)


async def run_one_at_a_time(home: Path, engine: Engine, ids: list[int]) -> list[float]:
    settings = load_settings(home)
    runtime = build_runtime(settings, engine, http=sync_http_client(settings.http_timeout))
    times = []
    try:
        for account_id in ids:
            started = time.perf_counter()
            [result] = await sync_accounts(runtime, [account_id])
            times.append(time.perf_counter() - started)
            if not result.ok:
                raise SystemExit(f"sequential sync failed: {result.error}")
    finally:
        await runtime.aclose()
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_window(window: float) -> float:
    """Sleep until just after the next rate-limit window opens; returns the phase then."""
    now = time.time()
    time.sleep(window - now % window + 0.01)
    return time.time() % window


def check_stored(engine: Engine, ids: list[int], posts: int) -> None:
    with engine.connect() as conn:
        snapshots = conn.execute(
            select(func.count()).where(col(AccountSnapshot.account_id).in_(ids))
        ).scalar_one()
        metrics = conn.execute(
            select(func.count())
            .select_from(PostMetrics)
            .join(Variant, col(Variant.id) == col(PostMetrics.variant_id))
            .where(col(Variant.account_id).in_(ids))
        ).scalar_one()
    if snapshots != len(ids) or metrics != len(ids) * posts:
        raise SystemExit(
            f"stored {snapshots} snapshots and {metrics} post metrics, expected {len(ids)} "
            f"and {len(ids) * posts}: the sandbox's history does not match the variants"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", default="1/5", help="per account: N/SECONDS")
    parser.add_argument("--sample", type=int, default=5, help="accounts synced one at a time")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", default=None, help="write cProfile stats of the sync here")
    parser.add_argument("--verbose", action="store_true", help="log what the sync does")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(relativeCreated)8.0f ms %(message)s")
        logging.getLogger("brandkit.metrics").setLevel(logging.INFO)
    limit, window = parse_rate_limit(args.rate_limit)
    latency = args.latency_ms / 1000
    total = args.accounts + args.sample
    end = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)

    port = free_port()
    command = sandbox_command(args, port, total, end)
    set_up = time.perf_counter()
    sandbox = subprocess.Popen(command, env={**os.environ, "BRANDKIT_HOME": tempfile.gettempdir()})
    try:
        base_url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            _, engine = init_workspace(home, name="bench", database_url=args.database_url)
            ids = populate(engine, home, base_url, total, args.posts, end)
            wait_for(f"{base_url}/api/v2/instance", deadline_s=300.0)
            set_up_s = time.perf_counter() - set_up
            main_ids, sample_ids = ids[: args.accounts], ids[args.accounts :]

            phase = wait_for_window(window)
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            cpu_before = (time.process_time(), cpu_seconds(sandbox.pid))
            concurrent_s, failed = asyncio.run(run_sync(home, engine, main_ids))
            client_cpu = time.process_time() - cpu_before[0]
            sandbox_cpu = cpu_seconds(sandbox.pid) - cpu_before[1]
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
                pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
            if failed:
                raise SystemExit(f"{failed} accounts failed to sync")
            check_stored(engine, main_ids, args.posts)
            sequential = asyncio.run(run_one_at_a_time(home, engine, sample_ids))
            check_stored(engine, sample_ids, args.posts)
            engine.dispose()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    bound = floor(args.posts, limit, window, latency, phase)
    per_account = sum(sequential) / len(sequential)
    extrapolated = per_account * args.accounts
    ratio = concurrent_s / bound.seconds
    speedup = extrapolated / concurrent_s
    backend = "PostgreSQL" if args.database_url else "SQLite"
    shown = [a if " " not in a else shlex.quote(a) for a in sys.argv[1:]]
    print(f"command: python benchmarks/bench_sync.py {' '.join(shown)}".rstrip())
    print(f"sandbox: brandkit sandbox serve {' '.join(command[5:])}")
    print(
        f"{backend}; {args.accounts:,} accounts x ({args.posts} posts + profile) = "
        f"{bound.requests} requests each, {bound.requests * args.accounts:,} in all; "
        f"latency {args.latency_ms:g} ms; limit {limit} per {window:g} s per account"
    )
    print(
        f"floor = (k - 1) S - phase + (R - (k - 1) N) L = ({bound.windows} - 1) x {window:g} - "
        f"{bound.phase:.2f} + ({bound.requests} - {bound.windows - 1} x {limit}) x {latency:g}"
        f" = {bound.seconds:.2f} s"
    )
    rows = [
        ("set-up: sandbox history, accounts and variants (not a target)", f"{set_up_s:.1f} s", ""),
        ("floor imposed by latency and the rate limit", f"{bound.seconds:.2f} s", ""),
        (
            f"concurrent sync of {args.accounts:,} accounts",
            f"{concurrent_s:.2f} s",
            f"<= {FLOOR_TARGET} x floor = {FLOOR_TARGET * bound.seconds:.2f} s",
        ),
        ("  ratio to the floor", f"{ratio:.2f} x", "PASS" if ratio <= FLOOR_TARGET else "MISS"),
        ("  CPU of brandkit (sync, parsing, database) meanwhile", f"{client_cpu:.1f} s", ""),
        ("  CPU of the sandbox server meanwhile", f"{sandbox_cpu:.1f} s", ""),
        (
            f"one at a time: mean of {len(sequential)} accounts (measured)",
            f"{per_account:.2f} s",
            "",
        ),
        (
            f"one at a time: {args.accounts:,} accounts (extrapolated)",
            f"{extrapolated:.0f} s",
            "",
        ),
        (
            "  speed-up of the concurrent sync",
            f"{speedup:.0f} x",
            f">= {SPEEDUP_TARGET:.0f} x: " + ("PASS" if speedup >= SPEEDUP_TARGET else "MISS"),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>9}  {target}")


if __name__ == "__main__":
    main()
