"""Publishing end to end: approve → job → worker → Mastodon connector → sandbox, with faults.

Every test runs on SQLite and (when configured) PostgreSQL, on a simulated clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.db.engine import session_scope
from brandkit.errors import StateError
from brandkit.platforms.sandbox import SandboxConfig
from brandkit.publishing.approval import approve_post, cancel_post, unqueue_variants
from brandkit.publishing.jobs import PUBLISH_PREFIX
from brandkit.publishing.publisher import publish_variant
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition
from tests.harness import World, make_world


@pytest.fixture
async def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(engine, clock, tmp_path):
        yield w


async def test_an_approved_post_goes_out_once_on_time(world: World) -> None:
    due = world.clock.now() + timedelta(hours=3)
    [variant_id] = world.approve("インフルエンザの予防接種を始めました。", ["dr-yamada"], due)
    assert world.variant(variant_id).state == S.SCHEDULED
    assert f"{PUBLISH_PREFIX}{variant_id}" in world.runtime.queue.job_ids()

    worker = world.worker()
    await worker.run_once()  # not due yet
    assert world.variant(variant_id).state == S.SCHEDULED
    assert world.statuses("dr_yamada") == []

    world.clock.set(due)
    await worker.run_once()
    variant = world.variant(variant_id)
    assert variant.state == S.PUBLISHED
    assert variant.published_at == due
    assert variant.remote_id and variant.remote_url
    assert world.statuses("dr_yamada") == ["インフルエンザの予防接種を始めました。"]
    assert f"{PUBLISH_PREFIX}{variant_id}" not in world.runtime.queue.job_ids()

    await publish_variant(world.runtime, variant_id)  # the job firing again does nothing
    assert len(world.statuses("dr_yamada")) == 1


async def test_each_account_gets_its_own_variant(world: World) -> None:
    due = world.clock.now()
    ids = world.approve("本日は午後休診です。", ["dr-yamada", "clinic"], due)
    await world.worker().run_once()
    assert [world.variant(i).state for i in ids] == [S.PUBLISHED, S.PUBLISHED]
    assert world.statuses("dr_yamada") == world.statuses("clinic") == ["本日は午後休診です。"]


async def test_platform_applied_but_answer_lost_is_settled_without_a_duplicate(
    world: World,
) -> None:
    world.simulation.inject_fault("commit_then_502")
    [variant_id] = world.approve("学会に参加しました。", ["dr-yamada"], world.clock.now())
    worker = world.worker()
    await worker.run_once()
    assert world.variant(variant_id).state == S.UNCONFIRMED
    assert len(world.statuses("dr_yamada")) == 1

    world.clock.advance(timedelta(minutes=2))
    await worker.run_once()
    variant = world.variant(variant_id)
    assert variant.state == S.PUBLISHED
    assert variant.remote_id == str(world.simulation.statuses("dr_yamada")[0].id)
    assert len(world.statuses("dr_yamada")) == 1


async def test_unknown_outcome_not_applied_is_resent_once(world: World) -> None:
    world.simulation.inject_fault("error_503")
    [variant_id] = world.approve("花粉症の季節です。", ["dr-yamada"], world.clock.now())
    worker = world.worker()
    await worker.run_once()
    assert world.variant(variant_id).state == S.UNCONFIRMED
    assert world.statuses("dr_yamada") == []
    world.clock.advance(timedelta(minutes=2))
    await worker.run_once()
    assert world.variant(variant_id).state == S.PUBLISHED
    assert world.statuses("dr_yamada") == ["花粉症の季節です。"]


@pytest.mark.parametrize("platform_got_it", [False, True])
async def test_crash_while_publishing_recovers_exactly_once(
    world: World, platform_got_it: bool
) -> None:
    """A worker killed mid-request leaves 'publishing'; the next start settles it."""
    text = "熱中症に注意しましょう。"
    [variant_id] = world.approve(text, ["dr-yamada"], world.clock.now())
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
    if platform_got_it:
        world.simulation.post_status(
            "dr_yamada",
            text,
            at=world.clock.now(),
            idempotency_key=world.variant(variant_id).idempotency_key,
        )
    world.clock.advance(timedelta(minutes=2))  # longer than any HTTP timeout: it crashed
    worker = world.worker()
    report = worker.start()
    assert report.recovered_in_flight == 1
    assert world.variant(variant_id).state == S.UNCONFIRMED
    await worker.run_pending()
    assert world.variant(variant_id).state == S.PUBLISHED
    assert world.statuses("dr_yamada") == [text]


async def test_revoked_token_fails_that_account_only(world: World) -> None:
    from tests.factories import make_account

    world.accounts["revoked"] = make_account(
        world.engine, world.workspace_id, name="revoked", token="revoked-token"
    )
    ids = world.approve("お知らせです。", ["revoked", "clinic"], world.clock.now())
    await world.worker().run_once()
    failed, ok = (world.variant(i) for i in ids)
    assert failed.state == S.FAILED
    assert "access token" in (failed.last_error or "")
    assert world.account("revoked").status == "needs_reauth"
    assert ok.state == S.PUBLISHED
    assert "revoked-token" not in (failed.last_error or "")


async def test_rejected_content_fails_with_the_platforms_reason(world: World) -> None:
    text = "あ" * 501
    [variant_id] = world.approve(text, ["dr-yamada"], world.clock.now(), override="test")
    assert world.variant(variant_id).state == S.SCHEDULED
    await world.worker().run_once()
    variant = world.variant(variant_id)
    assert variant.state == S.FAILED
    assert "character limit" in (variant.last_error or "")


async def test_a_post_overdue_beyond_the_grace_window_is_missed(world: World) -> None:
    late = world.approve("遅れた投稿", ["dr-yamada"], world.clock.now())
    on_time = world.approve("間に合う投稿", ["clinic"], world.clock.now() + timedelta(hours=1))
    world.clock.advance(timedelta(hours=1, minutes=30))  # worker was down; grace is 60 min
    await world.worker().run_once()
    assert world.variant(late[0]).state == S.MISSED
    assert "grace" in (world.variant(late[0]).last_error or "")
    assert world.variant(on_time[0]).state == S.PUBLISHED
    assert world.statuses("dr_yamada") == []


async def test_rate_limited_publish_waits_for_the_reset(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    async for world in make_world(
        engine, clock, tmp_path, config=SandboxConfig(seed=1, rate_limit=(1, 600))
    ):
        world.approve("一つ目", ["dr-yamada"], clock.now())
        [second] = world.approve("二つ目", ["dr-yamada"], clock.now() + timedelta(minutes=1))
        worker = world.worker()
        await worker.run_once()
        clock.advance(timedelta(minutes=1))
        await worker.run_once()
        variant = world.variant(second)
        assert variant.state == S.SCHEDULED and variant.attempts == 1
        assert "retrying" in (variant.last_error or "")
        retry_at = world.runtime.queue.get(f"{PUBLISH_PREFIX}{second}")
        assert retry_at is not None and retry_at.next_run_time >= clock.now() + timedelta(minutes=8)
        clock.advance(timedelta(minutes=10))
        await worker.run_once()
        assert world.variant(second).state == S.PUBLISHED
        assert world.statuses("dr_yamada") == ["一つ目", "二つ目"]


async def test_reconcile_heals_the_job_store(world: World) -> None:
    [lost] = world.approve("ジョブが消えた投稿", ["dr-yamada"], world.clock.now())
    [stale] = world.approve("取り消す投稿", ["clinic"], world.clock.now())
    queue = world.runtime.queue
    queue.remove(f"{PUBLISH_PREFIX}{lost}")  # the job store lost a job
    with session_scope(world.engine) as session:  # a cancel whose job removal never happened
        transition(session, stale, S.SCHEDULED, S.CANCELLED, now=world.clock.now())
    report = world.worker().start()
    assert report.jobs_added >= 1 and report.jobs_removed == 1
    assert f"{PUBLISH_PREFIX}{lost}" in queue.job_ids()
    assert f"{PUBLISH_PREFIX}{stale}" not in queue.job_ids()
    await world.worker().run_pending()
    assert world.variant(lost).state == S.PUBLISHED
    assert world.statuses("clinic") == []


async def test_cancel_removes_the_job_and_nothing_is_published(world: World) -> None:
    [variant_id] = world.approve("取り消し", ["dr-yamada"], world.clock.now())
    with session_scope(world.engine) as session:
        post_id = world.variant(variant_id).post_id
        cancelled = cancel_post(session, post_id, now=world.clock.now())
    unqueue_variants(world.runtime.queue, cancelled)
    assert f"{PUBLISH_PREFIX}{variant_id}" not in world.runtime.queue.job_ids()
    await world.worker().run_once()
    assert world.variant(variant_id).state == S.CANCELLED
    assert world.statuses("dr_yamada") == []


async def test_error_findings_block_approval_unless_overridden(world: World) -> None:
    from brandkit.content import TemplateLibrary
    from brandkit.db.models import Account, Post, Workspace
    from brandkit.planner.drafts import draft_post

    with session_scope(world.engine) as session:
        workspace = session.get(Workspace, world.workspace_id)
        account = session.get(Account, world.accounts["dr-yamada"])
        assert workspace and account
        post = draft_post(
            session,
            TemplateLibrary(),
            workspace=workspace,
            profile=None,
            accounts=[account],
            scheduled_at=world.clock.now(),
            now=world.clock.now(),
            text="当院は地域で一番の治療を提供します。",
        )
        post_id = post.id
    assert post_id is not None
    with pytest.raises(StateError, match="error finding"), session_scope(world.engine) as s:
        approve_post(s, post_id, by="owner", now=world.clock.now())
    with session_scope(world.engine) as session:
        approve_post(
            session,
            post_id,
            by="owner",
            now=world.clock.now(),
            override_reason="院内掲示の引用のため",
        )
    with session_scope(world.engine) as session:
        post_row = session.get(Post, post_id)
        assert post_row is not None
        assert post_row.state == "approved"
        assert post_row.lint_override_reason == "院内掲示の引用のため"


async def test_a_live_in_flight_publish_is_left_to_its_worker(world: World) -> None:
    """'worker --once' started beside a running worker must not resend its current publish."""
    [variant_id] = world.approve("進行中の投稿", ["dr-yamada"], world.clock.now())
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
    world.clock.advance(timedelta(seconds=5))
    await world.worker().run_once()
    assert world.variant(variant_id).state == S.PUBLISHING
    assert world.statuses("dr_yamada") == []


async def test_unknown_outcomes_do_not_resend_forever(world: World) -> None:
    world.simulation.inject_fault("error_503", count=50)
    [variant_id] = world.approve("届かない投稿", ["dr-yamada"], world.clock.now())
    worker = world.worker()
    for _ in range(30):
        await worker.run_once()
        world.clock.advance(timedelta(minutes=5))
    variant = world.variant(variant_id)
    assert variant.state == S.FAILED
    assert variant.attempts == 5
    assert "sent 5 times" in (variant.last_error or "")
    assert len(world.simulation.pending_faults) == 45  # exactly five POSTs reached the platform
    assert world.statuses("dr_yamada") == []


async def test_a_platform_that_cannot_be_asked_ends_failed_not_looping(world: World) -> None:
    from tests.factories import make_account

    world.accounts["gone"] = make_account(
        world.engine, world.workspace_id, name="gone", token="revoked-gone"
    )
    [variant_id] = world.approve("確認できない投稿", ["gone"], world.clock.now())
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
        transition(session, variant_id, S.PUBLISHING, S.UNCONFIRMED, now=world.clock.now())
    worker = world.worker()
    runs = 0
    while world.variant(variant_id).state == S.UNCONFIRMED and runs < 100:
        await worker.run_once()
        assert "cannot check" in (world.variant(variant_id).last_error or "") or (
            world.variant(variant_id).state == S.FAILED
        )
        world.clock.advance(timedelta(minutes=30))
        runs += 1
    variant = world.variant(variant_id)
    assert variant.state == S.FAILED and "could not confirm" in (variant.last_error or "")
    assert runs <= 14  # gave up after about six hours of looking


async def test_cancelling_an_unconfirmed_post_stops_the_resend(world: World) -> None:
    world.simulation.inject_fault("error_503")
    [variant_id] = world.approve("取り消される投稿", ["dr-yamada"], world.clock.now())
    worker = world.worker()
    await worker.run_once()
    assert world.variant(variant_id).state == S.UNCONFIRMED
    with session_scope(world.engine) as session:
        cancel_post(session, world.variant(variant_id).post_id, now=world.clock.now())
    assert world.variant(variant_id).state == S.UNCONFIRMED  # it may be out there: look first
    world.clock.advance(timedelta(minutes=2))
    await worker.run_once()
    assert world.variant(variant_id).state == S.CANCELLED
    assert world.statuses("dr_yamada") == []


async def test_a_job_that_raises_is_kept_and_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brandkit.publishing.publisher as publisher

    real = publisher.publish_variant
    calls: list[int] = []

    async def flaky(runtime: object, variant_id: int) -> object:
        calls.append(variant_id)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return await real(runtime, variant_id)  # type: ignore[arg-type]

    monkeypatch.setattr(publisher, "publish_variant", flaky)
    [variant_id] = world.approve("再試行される投稿", ["dr-yamada"], world.clock.now())
    worker = world.worker()
    await worker.run_once()
    job = world.runtime.queue.get(f"{PUBLISH_PREFIX}{variant_id}")
    assert job is not None and job.next_run_time == world.clock.now() + timedelta(minutes=1)
    world.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    assert world.variant(variant_id).state == S.PUBLISHED
    assert len(calls) == 2


async def test_editing_one_accounts_text_withdraws_the_whole_posts_approval(
    world: World,
) -> None:
    from brandkit.content import TemplateLibrary
    from brandkit.publishing.approval import unqueue_variants
    from brandkit.publishing.editing import edit_post

    due = world.clock.now() + timedelta(hours=2)
    yamada, clinic = world.approve("朝の投稿です。", ["dr-yamada", "clinic"], due)
    post_id = world.variant(yamada).post_id
    with session_scope(world.engine) as session:
        unqueue = edit_post(
            session,
            TemplateLibrary(),
            post_id,
            now=world.clock.now(),
            text="昼の投稿です。",
            account="clinic",
        )
    unqueue_variants(world.runtime.queue, unqueue)

    assert sorted(unqueue) == sorted([yamada, clinic])
    assert world.variant(yamada).text == "朝の投稿です。"
    assert {world.variant(v).state for v in (yamada, clinic)} == {S.DRAFT}
    assert not {f"{PUBLISH_PREFIX}{v}" for v in (yamada, clinic)} & set(
        world.runtime.queue.job_ids()
    )
    world.clock.set(due)
    await world.worker().run_once()
    assert world.statuses("dr_yamada") == [] and world.statuses("clinic") == []


async def test_editing_an_approved_post_sends_it_back_to_draft(world: World) -> None:
    from brandkit.content import TemplateLibrary
    from brandkit.db.models import Post
    from brandkit.publishing.approval import unqueue_variants
    from brandkit.publishing.editing import edit_post

    due = world.clock.now() + timedelta(hours=2)
    sent, waiting = world.approve("朝の投稿です。", ["dr-yamada", "clinic"], due)
    with session_scope(world.engine) as session:  # one account's variant already went out
        transition(session, sent, S.SCHEDULED, S.PUBLISHING, now=world.clock.now())
        transition(session, sent, S.PUBLISHING, S.PUBLISHED, now=world.clock.now())
    post_id = world.variant(waiting).post_id
    with session_scope(world.engine) as session:
        unqueue = edit_post(
            session,
            TemplateLibrary(),
            post_id,
            now=world.clock.now(),
            text="必ず治る方法を紹介します。",
        )
    unqueue_variants(world.runtime.queue, unqueue)
    assert unqueue == [waiting]
    assert world.variant(sent).text == "朝の投稿です。"  # what was published stays recorded
    edited = world.variant(waiting)
    assert (edited.state, edited.text) == (S.DRAFT, "必ず治る方法を紹介します。")
    assert any(f["severity"] == "error" for f in edited.findings)
    assert f"{PUBLISH_PREFIX}{waiting}" not in world.runtime.queue.job_ids()
    with session_scope(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and (post.state, post.approved_by) == ("draft", None)
    world.clock.set(due)
    await world.worker().run_once()
    assert world.statuses("clinic") == []  # nothing goes out until it is approved again
