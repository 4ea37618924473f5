"""The week's calendar and queue page: what it shows, how actions answer, and what it never does
(load anything from another site, show a traceback, or let a comment become markup)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import Engine

from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.errors import InvalidInputError
from brandkit.web.app import PACKAGE_DIR, SECURITY_HEADERS
from brandkit.web.posts import MAX_COMMENT, clean_text
from tests.test_web_harness import ERROR_FINDING, WARNING_FINDING, World, build_world


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


async def test_the_week_shows_each_post_on_its_local_day_with_variants_and_findings(
    world: World,
) -> None:
    # 2026-11-24 22:30 UTC is Wednesday 07:30 in Tokyo
    post = world.post(
        at=datetime(2026, 11, 24, 22, 30, tzinfo=UTC), findings=[ERROR_FINDING, WARNING_FINDING]
    )
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/queue?week=2026-W48")).text
    wednesday = html.split('id="day-3"')[1].split('id="day-4"')[0]
    assert f'id="post-{post}"' in wednesday and "07:30" in wednesday
    assert "11月25日（水）" in wednesday
    assert "dr-yamada" in wednesday and "山田 花子" in wednesday
    assert "下書き" in wednesday  # the post's and the variant's state
    assert "比較優良広告です" in wednesday and "finding-error" in wednesday
    assert "エラー 1 件" in wednesday and "警告 1 件" in wednesday
    assert "/ 500" in wednesday  # the length against Mastodon's limit


async def test_other_weeks_are_a_link_away_and_a_bad_week_is_one_line(world: World) -> None:
    later = world.post(at=datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
    async with world.browser() as browser:
        await browser.login("owner")
        this_week = (await browser.get("/queue")).text
        assert "2026-W48" in this_week and f'id="post-{later}"' not in this_week
        assert 'href="/queue?week=2026-W49"' in this_week
        assert f'id="post-{later}"' in (await browser.get("/queue?week=2026-W50")).text
        bad = await browser.get("/queue?week=next-tuesday")
    assert bad.status_code == 200 and "2026-W48" in bad.text
    assert "is not an ISO week" in bad.text and "Traceback" not in bad.text


async def test_weeks_follow_the_workspace_time_zone_across_dst(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    world = build_world(engine, clock, tmp_path, locale="en", timezone="America/New_York")
    # New York falls back on Sunday 2026-11-01: 23:30 EST that night is 04:30 UTC on Monday
    sunday = world.post(at=datetime(2026, 11, 2, 4, 30, tzinfo=UTC))
    monday = world.post(at=datetime(2026, 11, 2, 5, 30, tzinfo=UTC))  # 00:30 EST, next week
    async with world.browser() as browser:
        await browser.login("owner")
        week44 = (await browser.get("/queue?week=2026-W44")).text
        week45 = (await browser.get("/queue?week=2026-W45")).text
    sunday_column = week44.split('id="day-7"')[1]
    assert f'id="post-{sunday}"' in sunday_column and "23:30" in sunday_column
    assert "Sun 1/11" in sunday_column
    assert f'id="post-{monday}"' not in week44 and f'id="post-{monday}"' in week45
    assert "times in America/New_York" in week44


async def test_approval_errors_are_one_line_messages_not_tracebacks(world: World) -> None:
    past = world.post(at=world.clock.now() - timedelta(hours=3))
    blocked = world.post(findings=[ERROR_FINDING])
    async with world.browser() as browser:
        await browser.login("doctor")
        html = (await browser.get("/queue")).text
        assert "エラーがあるため承認できません" in html  # no approve button for a blocked post
        assert f'action="/posts/{blocked}/approve"' not in html
        for post in (past, blocked):
            response = await browser.post(f"/posts/{post}/approve", {"week": "2026-W47"})
            assert response.status_code == 303
            assert response.headers["location"] == f"/queue?week=2026-W47#post-{post}"
            page = await browser.follow(response)
            errors = re.findall(r'<p class="flash flash-error"[^>]*>([^<]*)</p>', page.text)
            assert len(errors) == 1 and "\n" not in errors[0], errors
            assert errors[0].startswith(f"投稿 #{post}: post {post}")
            assert "Traceback" not in page.text
    assert world.get_post(past)[0].state == world.get_post(blocked)[0].state == "draft"


async def test_an_owner_sees_the_override_field_and_a_doctor_does_not(world: World) -> None:
    post = world.post(findings=[ERROR_FINDING])
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/queue")).text
    assert f'action="/posts/{post}/approve"' in html and 'name="override_reason"' in html
    async with world.browser() as browser:
        await browser.login("doctor")
        response = await browser.post(
            f"/posts/{post}/approve", {"override_reason": "自分で確認しました"}
        )
    assert response.status_code == 403
    assert world.get_post(post)[0].state == "draft"


async def test_rescheduling_into_the_past_or_nonsense_is_refused_in_one_line(
    world: World,
) -> None:
    post = world.post()
    async with world.browser() as browser:
        await browser.login("owner")
        for value in ("2026-11-20T09:00", "tomorrow"):
            page = await browser.follow(
                await browser.post(f"/posts/{post}/reschedule", {"at": value})
            )
            assert "flash-error" in page.text
    assert world.get_post(post)[0].scheduled_at == world.clock.now() + timedelta(days=2)


async def test_a_rejected_post_shows_who_rejected_it_and_why(world: World) -> None:
    post = world.post()
    async with world.browser() as browser:
        await browser.login("doctor")
        response = await browser.post(f"/posts/{post}/reject", {"comment": "表現を柔らかく"})
        page = await browser.follow(response)
    assert f"投稿 #{post} を差し戻しました。" in page.text
    rejection = page.text.split(f'id="post-{post}"')[1].split("</article>")[0]
    assert "yamada が 2026-11-23 09:00 に差し戻し" in rejection
    assert "表現を柔らかく" in rejection
    stored, variants = world.get_post(post)
    assert (stored.rejected_by, stored.review_comment) == ("yamada", "表現を柔らかく")
    assert stored.rejected_at == world.clock.now()
    assert [v.last_error for v in variants] == ["rejected by yamada"]  # as the CLI leaves it
    async with world.browser() as browser:
        await browser.login("doctor")
        empty = await browser.follow(await browser.post(f"/posts/{world.post()}/reject"))
    assert "the comment is empty" in empty.text


async def test_a_comment_given_on_the_command_line_is_shown_by_posts_show_and_the_page(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", world.engine.url.render_as_string(False))
    post = world.post()
    comment = "数字の根拠を添えてください <出典>"
    code = main(["posts", "reject", str(post), "--by", "yamada", "--comment", comment])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["posts", "show", str(post)]) == 0
    shown = capsys.readouterr().out
    assert "rejected by yamada at " in shown and f": {comment}" in shown
    assert main(["posts", "show", str(post), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["rejected_by"], data["review_comment"]) == ("yamada", comment)
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/queue")).text
    assert f'<span class="review-comment">{escape(comment)}</span>' in html
    assert main(["posts", "reject", str(world.post()), "--by", "yamada"]) == 0  # optional
    capsys.readouterr()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(comment=st.text(min_size=1, max_size=300))
def test_any_reject_comment_is_stored_as_written_and_escaped_in_the_page(
    world: World, comment: str
) -> None:
    try:
        expected = clean_text(comment, limit=MAX_COMMENT, what="comment")
    except InvalidInputError:
        reject()  # only white space or control characters: refused, tested above
    post = world.post()

    async def scenario() -> str:
        async with world.browser() as browser:
            await browser.login("owner")
            response = await browser.post(f"/posts/{post}/reject", {"comment": comment})
            return (await browser.follow(response)).text

    html = asyncio.run(scenario())
    stored, _ = world.get_post(post)
    assert stored.review_comment == expected and stored.rejected_by == "inchou"
    assert f'<span class="review-comment">{escape(expected)}</span>' in html
    if "<" in expected:
        assert f'<span class="review-comment">{expected}</span>' not in html  # never markup


# --- nothing from outside ----------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)


async def _every_page(world: World) -> dict[str, str]:
    world.post(findings=[ERROR_FINDING])
    world.post(state="approved")
    world.post(state="published", remote_url="https://mastodon.example/@dr/109")
    world.post(state="rejected")
    pages: dict[str, str] = {}
    async with world.browser() as browser:
        pages["login"] = (await browser.get("/login")).text
        pages["login failed"] = (
            await browser.post("/login", {"login": "x", "password": "wrong password"})
        ).text
        await browser.login("owner")
        pages["queue"] = (await browser.get("/queue")).text
        pages["users"] = (await browser.get("/users")).text
        pages["404"] = (await browser.get("/no/such/page")).text
    async with world.browser() as browser:
        await browser.login("marketing")
        pages["403"] = (await browser.get("/users")).text
    return pages


async def test_no_page_loads_or_links_anything_from_another_site(world: World) -> None:
    pages = await _every_page(world)
    for name, html in pages.items():
        assert not EXTERNAL.findall(html), (name, EXTERNAL.findall(html))
        assert re.findall(r'(?:src|href)="(/[^"]*)"', html) or name in ("404", "403")
        for local in re.findall(r'(?:src|href)="(/static/[^"]*)"', html):
            assert (PACKAGE_DIR / local.removeprefix("/")).exists(), local
    assert "https://mastodon.example/@dr/109" in pages["queue"]  # shown, as text only
    for asset in ("app.js", "app.css"):
        source = (PACKAGE_DIR / "static" / asset).read_text(encoding="utf-8")
        assert "http://" not in source and "https://" not in source and "@import" not in source


async def test_pages_carry_a_content_security_policy_and_are_not_cached(world: World) -> None:
    async with world.browser() as browser:
        response = await browser.get("/login")
        script = await browser.get("/static/app.js")
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "<script>" not in response.text and " style=" not in response.text  # CSP: no inline


async def test_pages_need_a_signed_in_user(world: World) -> None:
    async with world.browser() as browser:
        for path in ("/", "/queue", "/users", "/queue?week=2026-W49"):
            response = await browser.client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] in ("/queue",) or response.headers[
                "location"
            ].startswith("/login?next=")


async def test_a_post_to_another_workspace_or_nowhere_is_not_found(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        page = await browser.follow(await browser.post("/posts/999999/cancel"))
    assert "No post named 999999" in page.text
