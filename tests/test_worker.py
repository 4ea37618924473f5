"""The long-running worker: it follows the clock, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.worker import Worker
from tests.harness import World, make_world


@pytest.fixture
async def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(engine, clock, tmp_path):
        yield w


async def test_run_forever_publishes_each_post_at_its_time(world: World) -> None:
    start = world.clock.now()
    first = world.approve("朝の投稿", ["dr-yamada"], start + timedelta(hours=1))
    second = world.approve("夜の投稿", ["dr-yamada"], start + timedelta(hours=12))
    stop = asyncio.Event()
    worker = Worker(world.runtime, poll_seconds=600)
    task = asyncio.create_task(worker.run_forever(stop))
    for _ in range(2_000):  # the simulated clock jumps; give the loop turns, bounded
        if world.variant(second[0]).state == S.PUBLISHED:
            break
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert world.variant(first[0]).published_at == start + timedelta(hours=1)
    assert world.variant(second[0]).published_at == start + timedelta(hours=12)
    assert world.statuses("dr_yamada") == ["朝の投稿", "夜の投稿"]


def test_sigterm_stops_the_worker_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "BRANDKIT_HOME": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "brandkit.cli.main", "init"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "brandkit.cli.main", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert "worker running" in worker.stdout.readline()  # blocks until it is up
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert "job(s) run" in out
