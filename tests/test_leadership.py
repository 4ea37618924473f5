"""Worker leadership: one lock per database, released when its holder dies, and what a standby
worker does (nothing, until it wins the lock). Database tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.db.engine import make_engine, session_scope
from brandkit.errors import DatabaseError
from brandkit.publishing.leadership import (
    AdvisoryLock,
    FileLock,
    Leadership,
    Unshared,
    leadership_for,
)
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition
from brandkit.publishing.worker import Role, Worker
from tests.conftest import POSTGRES_URL, _postgres_schema_url
from tests.harness import World, make_world

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="set BRANDKIT_TEST_POSTGRES_URL to run on PostgreSQL"
)


@pytest.fixture
async def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(engine, clock, tmp_path):
        yield w


@pytest.fixture
def pg_url() -> Iterator[str]:
    assert POSTGRES_URL
    yield from _postgres_schema_url(POSTGRES_URL)


def test_the_lock_fits_the_database(tmp_path: Path) -> None:
    sqlite = leadership_for(make_engine(f"sqlite:///{tmp_path / 'b.db'}"))
    assert isinstance(sqlite, FileLock) and sqlite.path == tmp_path / "b.db.worker.lock"
    assert isinstance(leadership_for(make_engine("sqlite://")), Unshared)
    pg = leadership_for(make_engine("postgresql+psycopg://u@127.0.0.1:1/db"))
    assert isinstance(pg, AdvisoryLock)


def test_a_lock_file_admits_one_holder_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db.worker.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.try_acquire() and first.try_acquire()  # taking it again is harmless
    assert not second.try_acquire()
    assert f"pid {os.getpid()}" in path.read_text()
    first.release()
    assert not first.is_held()
    assert second.try_acquire()
    second.release()


def test_a_deleted_lock_file_is_noticed(tmp_path: Path) -> None:
    """Someone deleting the file would let a newcomer lock a fresh one: the holder steps down."""
    path = tmp_path / "brandkit.db.worker.lock"
    holder = FileLock(path)
    assert holder.try_acquire()
    path.unlink()
    assert not holder.is_held()
    newcomer = FileLock(path)
    assert newcomer.try_acquire()
    newcomer.release()


def test_a_lock_that_cannot_be_asked_for_is_an_error_not_a_standby(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="worker lock"):
        FileLock(tmp_path / "missing" / "brandkit.db.worker.lock").try_acquire()


def test_sigkill_releases_the_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db.worker.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from brandkit.publishing.leadership import FileLock\n"
            f"assert FileLock(Path({str(path)!r})).try_acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        mine = FileLock(path)
        assert not mine.try_acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not mine.try_acquire():
            assert time.monotonic() < deadline, "the dead holder's lock was not released"
            time.sleep(0.02)
        mine.release()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


@needs_postgres
def test_an_advisory_lock_admits_one_holder_per_schema(pg_url: str) -> None:
    first, second = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    assert POSTGRES_URL
    other_schema = AdvisoryLock(POSTGRES_URL)  # another workspace in the same database
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert other_schema.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        for lock in (first, second, other_schema):
            lock.release()


@needs_postgres
def test_a_dropped_lock_connection_is_noticed(pg_url: str) -> None:
    """If the server ends the session, the lock is gone: the holder must stop publishing."""
    holder, newcomer = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    assert POSTGRES_URL and holder.try_acquire() and holder.key is not None
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND objid = CAST(:low AS oid) AND classid = CAST(:high AS oid)"
                ),
                {"low": holder.key & 0xFFFFFFFF, "high": (holder.key >> 32) & 0xFFFFFFFF},
            )
        assert not holder.is_held()
        assert newcomer.try_acquire()
    finally:
        holder.release()
        newcomer.release()
        admin.dispose()


class Recorder:
    def __init__(self) -> None:
        self.roles: list[tuple[Role, str]] = []

    def __call__(self, role: Role, message: str) -> None:
        self.roles.append((role, message))


async def test_a_standby_runs_nothing_and_takes_over_when_the_leader_goes(
    world: World, engine: Engine
) -> None:
    leader = leadership_for(engine)
    assert leader.try_acquire()
    text_ = "リーダー交代のテスト"
    [variant_id] = world.approve(text_, ["dr-yamada"], world.clock.now())
    heard = Recorder()
    worker = Worker(world.runtime, poll_seconds=1, leadership=leadership_for(engine), on_role=heard)
    try:
        assert (await worker.run_once()).standby
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        await _until(lambda: heard.roles, "the worker never said it is a standby")
        assert heard.roles[0][0] == "standby" and "another worker" in heard.roles[0][1]
        for _ in range(20):  # a standby keeps polling without doing anything
            await asyncio.sleep(0)
        assert world.variant(variant_id).state == S.SCHEDULED
        assert world.statuses("dr_yamada") == []
        leader.release()  # as if the leader had died
        await _until(
            lambda: world.variant(variant_id).state == S.PUBLISHED, "no takeover after release"
        )
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    finally:
        leader.release()
    assert [role for role, _ in heard.roles] == ["standby", "leader"]
    assert world.statuses("dr_yamada") == [text_]
    assert leadership_for(engine).try_acquire()  # the stopped worker let go of the lock


async def test_a_leader_settles_an_orphaned_publish_at_once(world: World, engine: Engine) -> None:
    """Holding the lock, a 'publishing' row it did not claim was left by a dead process."""
    text_ = "孤児になった投稿"
    [variant_id] = world.approve(text_, ["dr-yamada"], world.clock.now())
    with session_scope(world.engine) as session:
        transition(
            session,
            variant_id,
            S.SCHEDULED,
            S.PUBLISHING,
            now=world.clock.now(),
            attempts=1,
            attempt_started_at=world.clock.now(),
        )
    world.simulation.post_status(  # it even reached the platform before the crash
        "dr_yamada",
        text_,
        at=world.clock.now(),
        idempotency_key=world.variant(variant_id).idempotency_key,
    )
    world.clock.advance(timedelta(seconds=5))  # well inside any HTTP timeout
    lock: Leadership = leadership_for(engine)
    stats = await Worker(world.runtime, leadership=lock).run_once()
    assert stats.reconcile is not None and stats.reconcile.recovered_in_flight == 1
    assert world.variant(variant_id).state == S.PUBLISHED  # found on the platform: not resent
    assert world.statuses("dr_yamada") == [text_]


def test_worker_once_beside_a_running_worker_does_nothing(
    clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    daemon = FileLock(clean_environ / "brandkit.db.worker.lock")  # what a running worker holds
    assert daemon.try_acquire()
    capsys.readouterr()
    try:
        assert main(["worker", "--once"]) == 0
        assert "nothing done" in capsys.readouterr().out
        assert main(["worker", "--once", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["standby"] is True and summary["jobs_run"] == 0
    finally:
        daemon.release()
    assert main(["worker", "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["standby"] is False


async def _until(check: object, failure: str, deadline_s: float = 10.0) -> None:
    """Give the event loop turns until ``check()`` is true, bounded by a deadline."""
    assert callable(check)
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, failure
        await asyncio.sleep(0.01)
