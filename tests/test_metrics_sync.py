"""Metric sync stores what the platform reports, through the real Mastodon connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.clock import SimulatedClock
from brandkit.db.engine import session_scope
from brandkit.db.models import AccountSnapshot, PostMetrics
from brandkit.metrics.sync import sync_accounts
from tests.factories import make_account
from tests.harness import World, make_world


@pytest.fixture
async def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(engine, clock, tmp_path):
        yield w


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
    assert by_name["clinic"].ok
    assert world.account("bad").status == "needs_reauth"
    assert "revoked-1" not in (by_name["bad"].error or "")


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
