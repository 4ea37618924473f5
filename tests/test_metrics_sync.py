"""Metric sync stores what the platform reports, through the real Mastodon connector.

Post metrics follow the decaying schedule of ``brandkit.metrics.schedule`` (about 1 hour, 1 day,
7 days and 30 days after publishing); every test runs on SQLite and, when configured, PostgreSQL,
on a simulated clock against the in-process sandbox.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, PostMetrics, Variant
from brandkit.metrics.checkpoints import CHECKPOINTS
from brandkit.metrics.schedule import GRACE, checkpoint_due, due_posts
from brandkit.metrics.sync import METRICS_WINDOW, SyncResult, sync_account, sync_accounts
from brandkit.platforms.sandbox import Simulation, create_app
from brandkit.runtime import Runtime
from tests.factories import make_account, make_variant
from tests.harness import World, make_world

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Recorder(httpx.AsyncBaseTransport):
    """The sandbox transport, noting each request's path and the connections then checked out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, engine: Engine) -> None:
        self.inner = inner
        self.engine = engine
        self.paths: list[str] = []
        self.checked_out: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.checked_out.append(self.engine.pool.checkedout())  # type: ignore[attr-defined]
        return await self.inner.handle_async_request(request)

    def pages(self) -> int:
        """Status pages requested since the last call."""
        count = sum(p.endswith("/statuses") for p in self.paths)
        self.paths.clear()
        return count


@pytest.fixture
async def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(engine, clock, tmp_path):
        yield w


@pytest.fixture
async def recorder(world: World) -> Recorder:
    app = create_app(clock=world.clock, simulation=world.simulation)
    transport = Recorder(httpx.ASGITransport(app=app), world.engine)
    await world.runtime.http.aclose()
    world.runtime.http = httpx.AsyncClient(transport=transport)
    return transport


def publish(world: World, account: str, at: datetime, text: str = "手洗いの基本。") -> int:
    """A status on the sandbox and the published variant brandkit would have recorded."""
    username = account.replace("-", "_")
    status, _ = world.simulation.post_status(username, text, at=at)
    variant_id = make_variant(
        world.engine, world.workspace_id, world.accounts[account], state="published", text=text
    )
    with session_scope(world.engine) as session:
        variant = session.get(Variant, variant_id)
        assert variant is not None
        variant.remote_id = str(status.id)
        variant.published_at = status.created_at
    return variant_id


def readings(world: World, variant_id: int) -> list[PostMetrics]:
    with session_scope(world.engine) as session:
        query = select(PostMetrics).where(PostMetrics.variant_id == variant_id)
        return list(session.exec(query.order_by(col(PostMetrics.taken_at))).all())


async def sync_one(world: World, name: str = "dr-yamada") -> SyncResult:
    [result] = await sync_accounts(world.runtime, [world.accounts[name]])
    return result


# --- what is stored -----------------------------------------------------------------------


async def test_sync_stores_followers_and_post_metrics(world: World) -> None:
    [variant_id] = world.approve("睡眠の質を上げるコツ。 #健康", ["dr-yamada"], world.clock.now())
    await world.worker().run_once()  # publishes, and runs the first sync jobs
    world.clock.advance(timedelta(days=2))
    results = await sync_accounts(world.runtime, [world.accounts["dr-yamada"]])
    assert [r.ok for r in results] == [True]
    expected = world.simulation.followers_at("dr_yamada", world.clock.now())
    assert results[0].followers == expected
    status = world.simulation.statuses("dr_yamada")[0]
    engagement = world.simulation.engagement_at(status, world.clock.now())
    with session_scope(world.engine) as session:
        snap = session.exec(
            select(AccountSnapshot).where(AccountSnapshot.taken_at == world.clock.now())
        ).one()
        metrics = session.exec(
            select(PostMetrics).where(PostMetrics.taken_at == world.clock.now())
        ).one()
    assert (snap.followers, snap.posts_count, snap.taken_at) == (expected, 1, world.clock.now())
    assert metrics.variant_id == variant_id
    assert metrics.likes == engagement.favourites
    assert metrics.reposts == engagement.reblogs
    assert metrics.impressions is None  # Mastodon does not report impressions
    account = world.account("dr-yamada")
    assert account.last_sync_at == world.clock.now() and account.handle


async def test_one_failing_account_does_not_stop_the_others(world: World) -> None:
    bad = make_account(world.engine, world.workspace_id, name="bad", token="revoked-1")
    results = await sync_accounts(world.runtime, [bad, world.accounts["clinic"]])
    by_name = {r.account_name: r for r in results}
    assert not by_name["bad"].ok and "access token" in (by_name["bad"].error or "")
    assert by_name["bad"].needs_reauth
    assert by_name["clinic"].ok
    assert world.account("bad").status == "needs_reauth"
    assert "revoked-1" not in (by_name["bad"].error or "")
    assert world.account("bad").last_sync_at is None  # still due once re-authorised


async def test_a_bug_in_one_account_is_reported_and_the_others_carry_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = world.runtime.connector_for
    clinic = world.accounts["clinic"]

    def connector_for(account: Account) -> object:
        if account.id == clinic:
            raise RuntimeError("boom")
        return real(account)

    monkeypatch.setattr(world.runtime, "connector_for", connector_for)
    done: list[str] = []
    results = await sync_accounts(
        world.runtime,
        [clinic, world.accounts["dr-yamada"]],
        on_done=lambda r: done.append(r.account_name),
    )
    assert [r.account_name for r in results] == ["clinic", "dr-yamada"]  # the order asked for
    assert sorted(done) == ["clinic", "dr-yamada"]
    assert results[0].error == "internal error: RuntimeError: boom" and results[1].ok
    assert world.account("clinic").last_error == "internal error: RuntimeError: boom"


async def test_an_account_named_twice_is_synced_once(world: World) -> None:
    [variant_id] = world.approve("睡眠の質を上げるコツ。 #健康", ["dr-yamada"], world.clock.now())
    await world.worker().run_once()
    world.clock.advance(timedelta(days=2))
    yamada = world.accounts["dr-yamada"]

    results = await sync_accounts(world.runtime, [yamada, yamada])

    assert [r.account_name for r in results] == ["dr-yamada"]
    with session_scope(world.engine) as session:
        readings = session.exec(
            select(PostMetrics).where(
                PostMetrics.variant_id == variant_id, PostMetrics.taken_at == world.clock.now()
            )
        ).all()
    assert len(readings) == 1


async def test_an_unexpected_error_is_reported_without_a_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def connector_for(account: Account) -> object:
        raise RuntimeError("GET https://x.example/?access_token=tok-SECRET-1 failed")

    monkeypatch.setattr(world.runtime, "connector_for", connector_for)
    [result] = await sync_accounts(world.runtime, [world.accounts["clinic"]])
    assert result.error is not None and "tok-SECRET-1" not in result.error
    assert "tok-SECRET-1" not in (world.account("clinic").last_error or "")


async def test_removed_and_inactive_accounts_are_reported_without_a_request(
    world: World, recorder: Recorder
) -> None:
    with session_scope(world.engine) as session:
        account = session.get(Account, world.accounts["clinic"])
        assert account is not None
        account.status = "needs_reauth"
    results = await sync_accounts(world.runtime, [world.accounts["clinic"], 999])
    assert [r.ok for r in results] == [False, False]
    assert "brandkit auth mastodon --name clinic" in (results[0].error or "")
    assert results[0].needs_reauth and results[1].error == "account was removed"
    assert recorder.paths == []


async def test_no_database_connection_is_held_while_waiting_for_the_platform(
    world: World, recorder: Recorder
) -> None:
    publish(world, "dr-yamada", world.clock.now() - 2 * DAY)
    result = await sync_one(world)
    assert result.ok and result.posts_updated == 1
    assert recorder.checked_out and set(recorder.checked_out) == {0}


# --- the decaying schedule ----------------------------------------------------------------


async def test_post_metrics_follow_the_decaying_schedule(world: World, recorder: Recorder) -> None:
    t0 = world.clock.now()
    variant_id = publish(world, "dr-yamada", t0)
    reads = []
    for offset in (
        30 * timedelta(minutes=1),
        HOUR,
        2 * HOUR,
        DAY,
        3 * DAY,
        7 * DAY,
        8 * DAY,
        30 * DAY,
        31 * DAY,
        45 * DAY,
    ):
        world.clock.set(t0 + offset)
        result = await sync_one(world)
        assert result.ok
        reads.append((offset, result.posts_updated, recorder.pages()))
    assert [(o, n) for o, n, _ in reads if n] == [(c, 1) for c in CHECKPOINTS]
    assert all(pages == (1 if n else 0) for _, n, pages in reads)  # no post due: no post request
    taken = [r.taken_at - t0 for r in readings(world, variant_id)]
    assert taken == list(CHECKPOINTS)
    with session_scope(world.engine) as session:
        assert len(session.exec(select(AccountSnapshot)).all()) == 10  # a snapshot every time
    status = world.simulation.statuses("dr_yamada")[0]
    last = readings(world, variant_id)[-1]
    assert last.likes == world.simulation.engagement_at(status, t0 + 30 * DAY).favourites


async def test_a_late_sync_takes_one_reading_for_the_latest_checkpoint(world: World) -> None:
    t0 = world.clock.now()
    variant_id = publish(world, "dr-yamada", t0)
    for offset, expected in ((3 * DAY, 1), (4 * DAY, 0), (7 * DAY, 1), (10 * DAY, 0)):
        world.clock.set(t0 + offset)
        assert (await sync_one(world)).posts_updated == expected
    assert [r.taken_at - t0 for r in readings(world, variant_id)] == [3 * DAY, 7 * DAY]


async def test_only_due_posts_are_read_and_paging_stops_at_the_oldest(
    world: World, recorder: Recorder
) -> None:
    now = world.clock.now()
    for hour in range(120, 0, -1):  # five days of hourly posts made outside brandkit
        world.simulation.post_status("dr_yamada", f"外部投稿 {hour}", at=now - hour * HOUR)
    world.clock.advance(timedelta(minutes=1))
    statuses = world.simulation.statuses("dr_yamada")
    ids = []
    for status in (statuses[-48], statuses[-3]):  # 48 h and 3 h old
        variant_id = make_variant(world.engine, world.workspace_id, world.accounts["dr-yamada"])
        with session_scope(world.engine) as session:
            variant = session.get(Variant, variant_id)
            assert variant is not None
            variant.state, variant.remote_id = "published", str(status.id)
            variant.published_at = status.created_at
        ids.append(variant_id)
    result = await sync_one(world)
    assert (result.posts_due, result.posts_updated) == (2, 2)
    assert recorder.pages() == 2  # 40 per page: the 48-hour-old post is on page 2 of 3
    with session_scope(world.engine) as session:
        stored = session.exec(select(PostMetrics.variant_id)).all()
    assert sorted(stored) == sorted(ids)  # the 118 posts without a variant are ignored


async def test_a_post_missing_on_the_platform_stops_paging_at_its_time(
    world: World, recorder: Recorder
) -> None:
    now = world.clock.now()
    for hour in range(120, 0, -1):
        world.simulation.post_status("dr_yamada", f"外部投稿 {hour}", at=now - hour * HOUR)
    variant_id = make_variant(world.engine, world.workspace_id, world.accounts["dr-yamada"])
    with session_scope(world.engine) as session:
        variant = session.get(Variant, variant_id)
        assert variant is not None
        variant.state, variant.remote_id = "published", "999"  # deleted on the platform
        variant.published_at = now - 30 * HOUR
    result = await sync_one(world)
    assert result.ok and (result.posts_due, result.posts_updated) == (1, 0)
    assert recorder.pages() == 1  # the first page already reaches 40 hours back


async def test_the_worker_runs_sync_jobs_on_their_interval(world: World) -> None:
    worker = world.worker()
    await worker.run_once()  # start-up gives every account a sync job, due now
    with session_scope(world.engine) as session:
        assert len(session.exec(select(AccountSnapshot)).all()) == 2
    world.clock.advance(timedelta(hours=5))
    await worker.run_once()
    with session_scope(world.engine) as session:
        assert len(session.exec(select(AccountSnapshot)).all()) == 2  # interval is 6 h
    world.clock.advance(timedelta(hours=20))  # several intervals missed: coalesced into one run
    await worker.run_once()
    with session_scope(world.engine) as session:
        assert len(session.exec(select(AccountSnapshot)).all()) == 4


async def test_sync_account_is_the_one_account_case(world: World) -> None:
    publish(world, "dr-yamada", world.clock.now() - DAY)
    result = await sync_account(world.runtime, world.accounts["dr-yamada"])
    assert result.ok and result.posts_updated == 1


def test_the_sql_schedule_agrees_with_the_python_one(engine: Engine, clock: SimulatedClock) -> None:
    from tests.factories import make_workspace

    workspace = make_workspace(engine)
    account = make_account(engine, workspace)
    now = clock.now()
    ages = [
        timedelta(minutes=59),
        HOUR,
        2 * HOUR,
        DAY - timedelta(seconds=1),
        DAY,
        6 * DAY,
        7 * DAY,
        29 * DAY,
        30 * DAY,
        METRICS_WINDOW + GRACE - HOUR,
        METRICS_WINDOW + GRACE + HOUR,
    ]
    # reading taken: none, just before the latest checkpoint, exactly at it
    cases: dict[int, bool] = {}
    for age in ages:
        published_at = now - age
        latest = checkpoint_due(published_at, now)
        for reading in (None, "before", "at"):
            variant_id = make_variant(engine, workspace, account, state="published")
            with session_scope(engine) as session:
                variant = session.get(Variant, variant_id)
                assert variant is not None
                variant.remote_id, variant.published_at = f"r{variant_id}", published_at
                if reading and latest:
                    at = (
                        published_at
                        + latest
                        - (timedelta(seconds=1) if reading == "before" else timedelta(0))
                    )
                    session.add(PostMetrics(variant_id=variant_id, taken_at=at, likes=1))
            in_window = age <= METRICS_WINDOW + GRACE
            cases[variant_id] = latest is not None and in_window and reading != "at"
    with engine.connect() as conn:
        due = {p.variant_id for p in due_posts(conn, [account], now)}
    assert due == {v for v, expected in cases.items() if expected}


def test_the_reports_read_the_same_window_as_sync() -> None:
    from brandkit.reports.scope import METRICS_WINDOW as REPORT_WINDOW

    assert METRICS_WINDOW == REPORT_WINDOW == CHECKPOINTS[-1]


# --- brandkit sync ------------------------------------------------------------------------


@pytest.fixture
def cli_world(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, clean_environ: Path
) -> Iterator[SimulatedClock]:
    """A workspace with two sandbox accounts; ``brandkit sync`` talks to the in-process sandbox."""
    from brandkit.publishing.jobs import JobQueue
    from brandkit.secrets import SecretBox

    assert main(["init", "--name", "さくら内科クリニック"]) == 0
    for name in ("dr-yamada", "clinic"):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"sandbox-{name.replace('-', '_')}\n"))
        args = [
            "accounts",
            "add",
            "mastodon",
            "--name",
            name,
            "--base-url",
            "http://sandbox.localhost",
        ]
        assert main(args) == 0
    capsys.readouterr()
    clock = SimulatedClock(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    simulation = Simulation(epoch=clock.now())

    def build_runtime(settings: object, engine: Engine, **_: object) -> Runtime:
        app = create_app(clock=clock, simulation=simulation)
        return Runtime(
            settings=settings,  # type: ignore[arg-type]
            engine=engine,
            secrets=SecretBox.from_key_file(settings.secret_key_file),  # type: ignore[attr-defined]
            http=httpx.AsyncClient(transport=httpx.ASGITransport(app=app)),
            queue=JobQueue(engine),
            clock=clock,
        )

    monkeypatch.setattr("brandkit.cli.sync_cmd.build_runtime", build_runtime)
    yield clock


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_brandkit_sync_pulls_only_due_accounts(
    capsys: pytest.CaptureFixture[str], cli_world: SimulatedClock
) -> None:
    code, out, err = run(capsys, "sync")
    assert code == 0, err
    assert "dr-yamada: ok" in out and "clinic: ok" in out and "2 synced, 0 failed" in out
    code, out, _ = run(capsys, "sync")
    assert code == 0 and "Nothing is due" in out and "--all" in out
    code, out, _ = run(capsys, "sync", "--account", "clinic", "--json")
    assert code == 0 and [r["account_name"] for r in json.loads(out)] == ["clinic"]
    code, out, _ = run(capsys, "sync", "--all", "--json")
    assert code == 0 and len(json.loads(out)) == 2
    cli_world.advance(timedelta(minutes=359))
    assert "Nothing is due" in run(capsys, "sync")[1]
    cli_world.advance(timedelta(minutes=1))  # sync_interval_minutes = 360 since the --all run
    code, out, _ = run(capsys, "sync", "--json")
    assert code == 0 and len(json.loads(out)) == 2


def test_brandkit_sync_exits_1_when_an_account_fails(
    capsys: pytest.CaptureFixture[str], cli_world: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("revoked-secret-77\n"))
    args = [
        "accounts",
        "add",
        "mastodon",
        "--name",
        "old",
        "--base-url",
        "http://sandbox.localhost",
    ]
    assert main(args) == 0
    code, out, err = run(capsys, "sync")
    assert code == 1
    assert "old: needs_reauth" in out and "2 synced, 1 failed" in out
    assert "revoked-secret-77" not in out + err
    code, out, _ = run(capsys, "sync", "--all")
    assert code == 0 and "old:" not in out  # not active any more: --all leaves it out
    code, out, _ = run(capsys, "sync", "--account", "old")
    assert code == 1 and "brandkit auth mastodon --name old" in out
    code, _, err = run(capsys, "sync", "--account", "nobody")
    assert code == 66 and "nobody" in err


# --- what the benchmark relies on ---------------------------------------------------------


def test_the_sandbox_history_is_the_published_schedule() -> None:
    from brandkit.platforms.sandbox import SandboxConfig
    from brandkit.platforms.sandbox.simulation import history_schedule

    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    simulation = Simulation(SandboxConfig(history=30, history_end=end), epoch=end)
    for username in ("bench0", "bench1"):
        simulation.account(username)  # as the first request with its token would
        statuses = simulation.statuses(username)
        expected = history_schedule(username, 30, end)
        assert [(s.id, s.created_at) for s in statuses] == expected
        assert all(at < end for _, at in expected)
        gaps = {b - a for (_, a), (_, b) in zip(expected, expected[1:], strict=False)}
        assert gaps == {timedelta(hours=2)}
    page, older = simulation.page("bench0", viewer="bench0", limit=40)
    assert len(page) == 30 and not older and page[0].id > page[-1].id
    status, _ = simulation.post_status("bench0", "新しい投稿", at=end + HOUR)
    assert status.id > max(s.id for s in simulation.statuses("bench1"))


async def test_the_sync_client_never_queues_in_httpcore_and_frees_its_slots() -> None:
    from brandkit.metrics.transport import ShardedPool

    in_flight = [0, 0]
    peak = [0, 0]
    release = asyncio.Event()

    class Shard(httpx.AsyncBaseTransport):
        def __init__(self, index: int) -> None:
            self.index = index

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            in_flight[self.index] += 1
            peak[self.index] = max(peak[self.index], in_flight[self.index])
            try:
                if request.url.path == "/boom":
                    raise httpx.ConnectError("refused", request=request)
                await release.wait()
                return httpx.Response(200, json={"shard": self.index})
            finally:
                in_flight[self.index] -= 1

    pool = ShardedPool([Shard(0), Shard(1)], per_shard=2)
    async with httpx.AsyncClient(transport=pool, base_url="http://platform.test") as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/boom")  # a failed request gives its slot back
        tasks = [asyncio.create_task(client.get(f"/{i}")) for i in range(10)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert in_flight == [2, 2]  # four slots: the other six wait outside the pools
        release.set()
        answers = await asyncio.gather(*tasks)
    assert [a.status_code for a in answers] == [200] * 10
    assert peak == [2, 2]
    assert {a.json()["shard"] for a in answers} == {0, 1}
