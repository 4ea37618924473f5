"""The post editor: one text per target account with live length counters and findings, saved
through ``edit_post`` as ``brandkit posts edit`` does (an approved post goes back to draft and
leaves the publishing queue). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.clock import SimulatedClock
from brandkit.content import TemplateLibrary
from brandkit.content.length import measure
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Profile, Variant, Workspace
from brandkit.planner.drafts import draft_post, own_details
from brandkit.planner.variants import check_variant
from brandkit.platforms.base import Credentials
from brandkit.publishing.approval import approve_and_queue
from brandkit.publishing.jobs import JobQueue
from brandkit.web.routes.editor import normalise_text
from tests.factories import SECRETS
from tests.test_web_harness import ERROR_FINDING, Browser, World, build_world


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


def add_x_account(world: World) -> int:
    with session_scope(world.engine) as session:
        account = Account(
            workspace_id=world.workspace_id,
            name="dr-yamada-x",
            platform="x",
            base_url="http://sandbox.localhost",
            credentials_encrypted=SECRETS.encrypt(Credentials(token="sandbox-x")),
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id


def drafted(world: World, *, approved: bool = False, profile: str = "yamada") -> int:
    """A post drafted from ja/health_tip for the Mastodon and the X account, as the CLI does."""
    add_x_account(world)
    with session_scope(world.engine) as session:
        workspace = session.get(Workspace, world.workspace_id)
        assert workspace is not None
        post = draft_post(
            session,
            TemplateLibrary(),
            workspace=workspace,
            profile=session.get(Profile, world.profiles[profile]),
            accounts=list(session.exec(select(Account).order_by(Account.name)).all()),
            scheduled_at=world.clock.now() + timedelta(days=2),
            now=world.clock.now(),
            template_name="ja/health_tip",
            variables={
                "topic": "睡眠",
                "tip": "寝る前はスマホを置きましょう。",
                "reason": "眠りが深くなります。",
            },
        )
        assert post.id is not None
        post_id = post.id
    if approved:
        with JobQueue(world.engine) as queue:
            approve_and_queue(world.engine, queue, post_id, by="inchou", now=world.clock.now())
    return post_id


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def variant_ids(world: World, post_id: int) -> dict[str, int]:
    with session_scope(world.engine) as session:
        rows = session.exec(
            select(Variant, Account).where(
                Variant.post_id == post_id, Variant.account_id == Account.id
            )
        ).all()
        return {account.platform: variant.id or 0 for variant, account in rows}


async def check(browser: Browser, post_id: int, variant: int, text: str) -> dict[str, Any]:
    response = await browser.client.post(
        f"/api/posts/{post_id}/check",
        json={"variant": variant, "text": text},
        headers={"X-CSRF-Token": await browser.csrf()},
    )
    assert response.status_code == 200, response.text[:500]
    data: dict[str, Any] = response.json()
    return data


# --- the page -----------------------------------------------------------------------------------


async def test_the_editor_shows_each_variant_with_its_length_limit_and_findings(
    world: World,
) -> None:
    post = world.post(findings=[ERROR_FINDING], text="最高の睡眠のコツ")
    async with world.browser() as browser:
        await browser.login("marketing")
        html = (await browser.get(f"/posts/{post}/edit")).text
    [variant] = variant_ids(world, post).values()
    assert f'id="variant-text-{variant}"' in html and 'id="save-post"' in html
    textarea = html.split(f'id="variant-text-{variant}"')[1].split(">", 1)[1]
    assert textarea.startswith("\n最高の睡眠のコツ</textarea>")
    assert re.search(rf'id="variant-length-{variant}"[^>]*>8 / 500<', html)
    assert "比較優良広告です" in html.split(f'id="variant-findings-{variant}"')[1]
    assert f'data-check-url="/api/posts/{post}/check"' in html
    assert 'href="/queue?week=2026-W48#post-' in html


async def test_the_queue_offers_edit_where_the_policy_allows(world: World) -> None:
    own, other = world.post(profile="yamada"), world.post(profile="sato")
    approved, rejected = world.post(state="approved"), world.post(state="rejected")
    published = world.post(state="published")
    expected = {
        "owner": {own, other, approved},
        "doctor": {own, approved},
        "marketing": {own, other, approved},
    }
    for role, posts in expected.items():
        async with world.browser() as browser:
            await browser.login(role)
            html = (await browser.get("/queue")).text
        for post in (own, other, approved, rejected, published):
            assert (f'href="/posts/{post}/edit"' in html) == (post in posts), (role, post)


# --- checking as you type -----------------------------------------------------------------------


async def test_the_check_measures_in_the_platforms_unit_and_finds_what_it_finds(
    world: World,
) -> None:
    post = drafted(world)
    ids = variant_ids(world, post)
    long_text = "睡眠" * 80  # 160 characters: 320 weighted on X, fine on Mastodon
    async with world.browser() as browser:
        await browser.login("doctor")
        x = await check(browser, post, ids["x"], long_text)
        mastodon = await check(browser, post, ids["mastodon"], long_text)
        banned = await check(browser, post, ids["mastodon"], "日本一の名医が治します")
    assert (x["length"], x["limit"], x["over"]) == (320, 280, True)
    assert (mastodon["length"], mastodon["limit"], mastodon["over"]) == (160, 500, False)
    too_long = next(f for f in x["findings"] if f["rule"] == "too_long")
    assert too_long["excerpt"] == ""  # about the whole text: nothing to quote
    errors = [f for f in banned["findings"] if f["severity"] == "error"]
    assert errors and errors[0]["label"] == "エラー" and errors[0]["excerpt"] in "日本一の名医"


async def test_the_doctors_own_name_is_not_a_privacy_finding(world: World) -> None:
    post = drafted(world)
    ids = variant_ids(world, post)
    async with world.browser() as browser:
        await browser.login("owner")
        answer = await check(
            browser, post, ids["mastodon"], "山田 花子 医師が、さくら内科クリニックで解説します。"
        )
    assert not [f for f in answer["findings"] if f["category"] == "privacy"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(max_size=400))
def test_the_live_check_is_the_check_that_saving_runs(world: World, text: str) -> None:
    post = world.post()
    [variant] = variant_ids(world, post).values()

    async def scenario() -> dict[str, Any]:
        async with world.browser() as browser:
            await browser.login("owner")
            return await check(browser, post, variant, text)

    answer = asyncio.run(scenario())
    body = normalise_text(text)
    with session_scope(world.engine) as session:
        workspace = session.get(Workspace, world.workspace_id)
        profile = session.get(Profile, world.profiles["yamada"])
        assert workspace is not None
        length, findings = check_variant(
            body,
            platform="mastodon",
            language="ja",
            template=TemplateLibrary().get("ja/health_tip"),
            allow=own_details(workspace, profile),
        )
    assert answer["length"] == length == measure(body, "mastodon")
    assert [(f["rule"], f["start"], f["end"]) for f in answer["findings"]] == [
        (f["rule"], f["start"], f["end"]) for f in findings
    ]


async def test_the_check_refuses_what_it_should(world: World) -> None:
    own, other = world.post(profile="yamada"), world.post(profile="sato")
    [variant] = variant_ids(world, own).values()
    async with world.browser() as browser:
        await browser.login("doctor")
        token = await browser.csrf()
        headers = {"X-CSRF-Token": token}
        forbidden = await browser.client.post(
            f"/api/posts/{other}/check", json={"variant": 1, "text": "x"}, headers=headers
        )
        wrong_variant = await browser.client.post(
            f"/api/posts/{own}/check", json={"variant": variant + 99, "text": "x"}, headers=headers
        )
        no_token = await browser.client.post(
            f"/api/posts/{own}/check", json={"variant": variant, "text": "x"}
        )
    assert forbidden.status_code == 403 and "オーナー" in forbidden.text
    assert wrong_variant.status_code == 404 and "error" in wrong_variant.json()
    assert no_token.status_code == 403


# --- saving -------------------------------------------------------------------------------------


async def test_editing_an_approved_post_returns_it_to_draft_and_removes_its_jobs(
    world: World,
) -> None:
    post = drafted(world, approved=True)
    ids = variant_ids(world, post)
    assert {f"publish:{i}" for i in ids.values()} <= set(world.jobs())
    async with world.browser() as browser:
        await browser.login("marketing")
        page = (await browser.get(f"/posts/{post}/edit")).text
        assert "承認は取り消され" in page  # said before the button
        response = await browser.post(
            f"/posts/{post}/edit",
            {
                "version": field(page, "version"),
                f"text-{ids['x']}": "睡眠のコツ：寝る前はスマホを置きましょう。\r\n#健康",
                f"text-{ids['mastodon']}": html_text(page, ids["mastodon"]),
            },
        )
        saved = await browser.follow(response)
    assert "flash-success" in saved.text and "本文 1 件を変更" in saved.text
    stored, variants = world.get_post(post)
    assert stored.state == "draft" and stored.approved_by is None and stored.approved_at is None
    assert {v.state for v in variants} == {"draft"}  # the whole post, not only the edited text
    assert not {f"publish:{i}" for i in ids.values()} & set(world.jobs())
    x = next(v for v in variants if v.id == ids["x"])
    assert x.text == "睡眠のコツ：寝る前はスマホを置きましょう。\n#健康"
    assert x.length == measure(x.text, "x") and x.updated_at == world.clock.now()


def html_text(page: str, variant: int) -> str:
    textarea = page.split(f'id="variant-text-{variant}"')[1].split(">", 1)[1]
    return textarea.split("</textarea>")[0].removeprefix("\n").replace("&#39;", "'")


async def test_findings_are_stored_with_the_new_text(world: World) -> None:
    post = world.post()
    [variant] = variant_ids(world, post).values()
    async with world.browser() as browser:
        await browser.login("doctor")
        page = (await browser.get(f"/posts/{post}/edit")).text
        await browser.post(
            f"/posts/{post}/edit",
            {"version": field(page, "version"), f"text-{variant}": "日本一の名医が治します"},
        )
        html = (await browser.get(f"/posts/{post}/edit")).text
    _, [stored] = world.get_post(post)
    assert any(f["severity"] == "error" for f in stored.findings)
    assert "finding-error" in html.split(f'id="variant-findings-{variant}"')[1]


async def test_saving_the_same_text_changes_nothing(world: World) -> None:
    post = drafted(world, approved=True)
    ids = variant_ids(world, post)
    async with world.browser() as browser:
        await browser.login("owner")
        before = world.snapshot()
        page = (await browser.get(f"/posts/{post}/edit")).text
        form = {f"text-{i}": html_text(page, i) + "\n" for i in ids.values()}
        response = await browser.post(
            f"/posts/{post}/edit", {"version": field(page, "version"), **form}
        )
        after = await browser.follow(response)
    assert "変更はありません" in after.text
    assert world.snapshot() == before  # still approved, jobs kept


async def test_a_save_over_a_changed_post_or_with_bad_text_is_refused_in_one_line(
    world: World,
) -> None:
    post = world.post()
    [variant] = variant_ids(world, post).values()
    async with world.browser() as browser:
        await browser.login("owner")
        page = (await browser.get(f"/posts/{post}/edit")).text
        version = field(page, "version")
        cases = {
            "empty": ({"version": version, f"text-{variant}": " \r\n\t"}, "is empty"),
            "too long": ({"version": version, f"text-{variant}": "あ" * 20_001}, "longer than"),
        }
        before = world.snapshot()
        for name, (data, expected) in cases.items():
            answer = await browser.follow(await browser.post(f"/posts/{post}/edit", data))
            errors = re.findall(r'<p class="flash flash-error"[^>]*>([^<]*)</p>', answer.text)
            assert len(errors) == 1 and expected in errors[0], (name, errors)
        assert world.snapshot() == before
        world.clock.advance(timedelta(minutes=5))
        await browser.post(f"/posts/{post}/reschedule", {"at": "2026-11-27T10:00"})
        late = await browser.follow(
            await browser.post(f"/posts/{post}/edit", {"version": version, f"text-{variant}": "新"})
        )
    assert "was changed by someone else" in late.text
    assert world.get_post(post)[1][0].text != "新"


async def test_published_text_is_never_changed(world: World) -> None:
    post = world.post(state="published", remote_url="https://mastodon.example/@dr/1")
    [variant] = variant_ids(world, post).values()
    async with world.browser() as browser:
        await browser.login("owner")
        page = (await browser.get(f"/posts/{post}/edit")).text
        assert f'id="variant-text-{variant}"' not in page and 'id="save-post"' not in page
        before = world.snapshot()
        answer = await browser.follow(
            await browser.post(
                f"/posts/{post}/edit",
                {"version": field(page, "version"), f"text-{variant}": "書き換え"},
            )
        )
    assert "flash-success" not in answer.text
    assert world.snapshot() == before


async def test_a_rejected_post_cannot_be_edited(world: World) -> None:
    post = world.post(state="rejected")
    async with world.browser() as browser:
        await browser.login("owner")
        page = (await browser.get(f"/posts/{post}/edit")).text
        assert "編集できません" in page
        answer = await browser.follow(
            await browser.post(
                f"/posts/{post}/edit", {"version": field(page, "version"), "text-1": "新しい本文"}
            )
        )
    assert "rejected; create a new one instead" in answer.text


async def test_changing_a_variable_renders_every_text_again(world: World) -> None:
    post = drafted(world, approved=True)
    async with world.browser() as browser:
        await browser.login("doctor")
        page = (await browser.get(f"/posts/{post}/edit")).text
        assert field(page, "var-topic") == "睡眠"
        response = await browser.post(
            f"/posts/{post}/edit/variables",
            {
                "version": field(page, "version"),
                "var-topic": "食事",
                "var-tip": field(page, "var-tip"),
            },
        )
        assert "flash-success" in (await browser.follow(response)).text
        page = (await browser.get(f"/posts/{post}/edit")).text
        refused = await browser.follow(
            await browser.post(
                f"/posts/{post}/edit/variables",
                {"version": field(page, "version"), "var-topic": ""},
            )
        )
    stored, variants = world.get_post(post)
    assert stored.variables["topic"] == "食事" and stored.state == "draft"
    assert all("【健康ワンポイント:食事】" in v.text for v in variants)
    assert {v.state for v in variants} == {"draft"} and not world.jobs()
    assert "the variable &#39;topic&#39; is required" in refused.text


async def test_a_doctor_cannot_open_another_doctors_post(world: World) -> None:
    other = world.post(profile="sato")
    async with world.browser() as browser:
        await browser.login("doctor")
        response = await browser.get(f"/posts/{other}/edit")
    assert response.status_code == 403 and "オーナー" in response.text


async def test_the_editor_speaks_english_in_an_english_workspace(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    world = build_world(engine, clock, tmp_path, locale="en")
    post = world.post(state="approved")
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get(f"/posts/{post}/edit")).text
    assert f"Edit post #{post}" in html and "Saving a change takes the approval back" in html
    assert "投稿" not in html.split("<main")[1].split('class="text"')[0].split("<textarea")[0]


def test_posts_the_editor_reads_are_those_of_the_signed_in_workspace(world: World) -> None:
    with session_scope(world.engine) as session:
        other = Workspace(name="other clinic")
        session.add(other)
        session.flush()
        assert other.id is not None
        post = Post(workspace_id=other.id, scheduled_at=world.clock.now(), language="ja")
        session.add(post)
        session.flush()
        post_id = post.id

    async def scenario() -> int:
        async with world.browser() as browser:
            await browser.login("owner")
            return (await browser.get(f"/posts/{post_id}/edit")).status_code

    assert asyncio.run(scenario()) == 404
