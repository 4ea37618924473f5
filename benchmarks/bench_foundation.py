"""Foundation numbers: demo wall time, and worker publish throughput over loopback HTTP.

Run:  python benchmarks/bench_foundation.py [--weeks 4 12] [--posts 200] [--latency-ms 20]

1. ``brandkit demo`` for each --weeks value (in-process sandbox, simulated clock).
2. The sandbox served by ``brandkit sandbox serve`` on 127.0.0.1 with the given latency; a
   workspace with one account per 10 posts; every post approved and due now; one
   ``Worker.run_once()`` publishes them all through the Mastodon connector. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from loopback import free_port, wait_for
from sqlmodel import select

from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Variant, Workspace
from brandkit.demo import run_demo
from brandkit.planner.drafts import draft_post
from brandkit.publishing.approval import approve_post, queue_variants
from brandkit.publishing.worker import Worker
from brandkit.workspace import add_account, build_runtime, init_workspace


def bench_demo(weeks: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = asyncio.run(run_demo(Path(tmp) / "demo", weeks=weeks, seed=0))
        return time.perf_counter() - started, summary.states.get("published", 0)


async def publish_all(home: Path, base_url: str, posts: int) -> tuple[float, int]:
    settings, engine = init_workspace(home, name="bench")
    runtime = build_runtime(settings, engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        accounts = [
            add_account(
                session,
                runtime.secrets,
                workspace,
                platform="mastodon",
                name=f"a{i}",
                base_url=base_url,
                token=f"sandbox-bench{i}",
            )
            for i in range(max(1, posts // 10))
        ]
        queued: list[int] = []
        for i in range(posts):
            post = draft_post(
                session,
                TemplateLibrary(),
                workspace=workspace,
                profile=None,
                accounts=[accounts[i % len(accounts)]],
                scheduled_at=now,
                now=now,
                text=f"ベンチマーク投稿 {i} です。",
            )
            assert post.id is not None
            queued += approve_post(session, post.id, by="bench", now=now)
    with session_scope(engine) as session:
        queue_variants(session, runtime.queue, queued)
    started = time.perf_counter()
    await Worker(runtime).run_once()
    elapsed = time.perf_counter() - started
    with session_scope(engine) as session:
        published = len(session.exec(select(Variant).where(Variant.state == "published")).all())
    await runtime.aclose()
    engine.dispose()
    return elapsed, published


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weeks", type=int, nargs="*", default=[4, 12])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    rows = []
    for weeks in args.weeks:
        seconds, published = bench_demo(weeks)
        rows.append((f"demo --weeks {weeks}", f"{seconds:.2f} s", f"{published} published"))

    port = free_port()
    server = subprocess.Popen(
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
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for(f"{base_url}/api/v2/instance", deadline_s=15.0)
        with tempfile.TemporaryDirectory() as tmp:
            seconds, published = asyncio.run(publish_all(Path(tmp), base_url, args.posts))
        rows.append(
            (
                f"publish {args.posts} due posts, {args.latency_ms:.0f} ms latency",
                f"{seconds:.2f} s",
                f"{published} published, {published / seconds:.0f}/s",
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'time':>9}  result")
    for name, took, result in rows:
        print(f"{name:<{width}}  {took:>9}  {result}")


if __name__ == "__main__":
    main()
