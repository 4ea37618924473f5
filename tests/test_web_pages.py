"""The reports, accounts, goals and calendar pages, through ``httpx.ASGITransport``.

Reports are checked against what ``brandkit report`` prints for the same period (the CLI's clock
frozen at the app's); accounts are verified against the in-process sandbox or a fake transport;
goals and slots go through the CLI's own checks, and a refused one changes nothing. Who may do
what is in ``test_web_permissions.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import Engine, text
from sqlmodel import select

from brandkit.calendar_config import CalendarEntry
from brandkit.cli import report_cmd
from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, Goal, Post, Slot, Workspace
from brandkit.reports import build_report, render_html
from brandkit.reports.categories import template_categories
from brandkit.reports.goals import goal_progress
from brandkit.reports.labels import labels_for
from brandkit.reports.wording import goal_lines
from brandkit.web import create_app
from brandkit.web.i18n import Translator
from brandkit.web.routes.reports import FRAME_POLICY, period_days
from brandkit.web.users import add_user
from tests.test_reports import END, LATER, START, seed
from tests.test_web_harness import (
    LOGINS,
    PASSWORD,
    SECRET,
    World,
    build_world,
    cheap_passwords,
    sandbox_runtime,
)

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)
PAGES = ("/reports", "/accounts", "/goals", "/calendar")


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


def same_charts(html: str) -> str:
    """``html`` with pygal's random chart ids made equal."""
    return re.sub(r"chart-[0-9a-f]{8}-[0-9a-f-]{27}", "chart-ID", html)


def flashes(html: str, kind: str) -> list[str]:
    found = re.findall(rf'class="flash flash-{kind}"[^>]*>([^<]*)<', html)
    return [unescape(message) for message in found]


# --- reports -----------------------------------------------------------------------------------


async def refused_once(world: World, path: str, form: dict[str, str]) -> str:
    """Post ``form`` to ``path`` as the owner: the one error message; nothing has changed."""
    async with world.browser() as browser:
        await browser.login("owner")
        before = world.snapshot()
        html = (await browser.follow(await browser.post(path, form))).text
    (message,) = flashes(html, "error")
    assert world.snapshot() == before
    return message


def post_and_count(
    world: World, path: str, form: dict[str, str], *, table: str
) -> tuple[list[str], list[str], int]:
    """Post ``form`` to ``path`` as the owner: the success and error messages, and how many
    rows ``table`` gained."""

    async def scenario() -> httpx.Response:
        async with world.browser() as browser:
            await browser.login("owner")
            return await browser.follow(await browser.post(path, form))

    with world.engine.connect() as conn:
        before = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    html = asyncio.run(scenario()).text
    with world.engine.connect() as conn:
        after = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return flashes(html, "success"), flashes(html, "error"), after - before


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> World:
    """``tests/test_reports.py``'s hand-computed workspace (Nov 9–29, 2026; posts with links, an
    XSS text), with a user of each role, seen on 2026-12-15 (the period is over)."""
    data = seed(engine)
    clock = SimulatedClock(LATER.astimezone(UTC))
    passwords = cheap_passwords()
    with session_scope(engine) as session:
        workspace = session.get(Workspace, data.workspace_id)
        assert workspace is not None
        users = {
            role: add_user(
                session, passwords, workspace, login=login, role=role, password=PASSWORD
            ).id
            for role, login in LOGINS.items()
        }
    return World(
        engine=engine,
        clock=clock,
        home=tmp_path,
        workspace_id=data.workspace_id,
        profiles={},
        account_id=data.accounts["masto"],
        users={role: user_id for role, user_id in users.items() if user_id is not None},
        passwords=passwords,
    )


PERIOD = "from=2026-11-09&to=2026-11-29"


async def test_the_page_frames_the_report_and_links_its_files_for_the_same_period(
    seeded: World,
) -> None:
    async with seeded.browser() as browser:
        await browser.login("doctor")
        page = await browser.get(f"/reports?{PERIOD}")
        frame = await browser.get(f"/reports/view?{PERIOD}")
    assert page.status_code == 200
    html = page.text
    assert f'src="/reports/view?{PERIOD.replace("&", "&amp;")}"' in html
    for fmt in ("csv", "json", "md", "html"):
        assert f'href="/reports/download/{fmt}?{PERIOD.replace("&", "&amp;")}"' in html
    assert "2026-11-09 〜 2026-11-29（Asia/Tokyo）" in html
    assert frame.status_code == 200
    assert frame.headers["content-security-policy"] == FRAME_POLICY
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    report = build_report(
        seeded.engine,
        seeded.workspace_id,
        start=START,
        end=END,
        categories=template_categories(()),
        with_posts=False,
        now=LATER,
    )
    original = render_html(report)
    assert "https://social.example/@clinic/P9" in original  # the CLI's page links the posts
    assert not EXTERNAL.findall(frame.text)  # the framed copy links nowhere outside the app
    assert "<svg" in frame.text and "<script" not in frame.text
    assert "&lt;script&gt;alert(" in frame.text  # a post's text is escaped
    without = re.sub(
        r'\s*<a href="https://[^"]*" rel="noopener noreferrer">[^<]*</a>', "", original
    )
    # otherwise the very page of 'brandkit report --format html' (pygal names charts at random)
    assert "".join(same_charts(frame.text).split()) == "".join(same_charts(without).split())


class FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:  # type: ignore[override]
        moment = LATER.astimezone(tz or UTC)
        return cls.combine(moment.date(), moment.timetz())


@pytest.mark.parametrize(
    ("fmt", "cli"), [("md", "md"), ("csv", "csv"), ("json", "json"), ("html", "html")]
)
async def test_each_download_is_what_brandkit_report_prints(
    seeded: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    cli: str,
) -> None:
    async with seeded.browser() as browser:
        await browser.login("marketing")
        response = await browser.get(f"/reports/download/{fmt}?{PERIOD}")
    assert response.status_code == 200
    name = "brandkit-report-2026-11-09-2026-11-29." + fmt
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    monkeypatch.setattr(report_cmd, "datetime", FrozenDatetime)  # the CLI's "now" = the app's
    url = seeded.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", url)
    capsys.readouterr()
    code = main(["report", "--from", "2026-11-09", "--to", "2026-11-29", "--format", cli])
    printed = capsys.readouterr().out
    assert code == 0
    assert same_charts(response.text.rstrip("\n")) == same_charts(printed.rstrip("\n"))
    if fmt == "json":
        assert json.loads(response.text)["posts"]  # JSON lists every post, as the CLI's


async def test_without_a_period_it_is_the_28_days_up_to_the_latest_snapshot(
    seeded: World,
) -> None:
    async with seeded.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/reports")).text
    # the latest snapshot of this workspace is 2026-11-30 12:00 JST = 03:00 UTC
    assert "2026-11-03 〜 2026-11-30" in html
    month = period_days(Translator("en"), "2026-02", "", "", None, LATER)
    assert month == (date(2026, 2, 1), date(2026, 2, 28))
    december = period_days(Translator("en"), "2026-12", "", "", None, LATER)
    assert december == (date(2026, 12, 1), date(2026, 12, 31))


async def test_a_doctor_filter_reaches_the_frame_and_the_files(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/reports?period=2026-11&profile=yamada")).text
        frame = await browser.get("/reports/view?from=2026-11-01&to=2026-11-30&profile=yamada")
        unknown = await browser.get("/reports?period=2026-11&profile=nobody")
    query = "from=2026-11-01&amp;to=2026-11-30&amp;profile=yamada"
    assert f'src="/reports/view?{query}"' in html
    assert f'href="/reports/download/md?{query}"' in html
    assert frame.status_code == 200
    assert unknown.status_code == 400
    assert flashes(unknown.text, "error") == [
        "医師プロフィール「nobody」はありません。一覧から選んでください。"
    ]
    assert "report-frame" not in unknown.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=2026-13", "月「2026-13」は年月ではありません。2026-11 のように入力してください。"),
        (
            "from=yesterday",
            "開始日「yesterday」は日付ではありません。2026-11-01 のように入力してください。",
        ),
        ("from=2026-11-10&to=2026-11-01", "開始日は終了日より前にしてください。"),
    ],
)
async def test_a_bad_period_is_one_line_on_the_page(world: World, query: str, message: str) -> None:
    async with world.browser() as browser:
        await browser.login("doctor")
        page = await browser.get(f"/reports?{query}")
        frame = await browser.get(f"/reports/view?{query}")
        wrong = await browser.get("/reports/download/pdf?period=2026-11")
    assert page.status_code == 400 and flashes(page.text, "error") == [message]
    assert frame.status_code == 400 and message in frame.text and "Traceback" not in frame.text
    assert wrong.status_code == 400
    assert "「pdf」の形式では出力できません。csv, json, md, html のいずれかです。" in wrong.text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    month=st.one_of(st.text(max_size=12), st.from_regex(r"\A-?[0-9]{1,6}-[0-9]{1,3}\Z")),
    start=st.one_of(st.text(max_size=12), st.dates().map(date.isoformat)),
    end=st.one_of(st.text(max_size=12), st.dates().map(date.isoformat)),
)
@example(month="9999-12", start="", end="")
@example(month="", start="", end="9999-12-31")
@example(month="", start="", end="0001-01-01")
@example(month="0-1", start="0001-01-01", end="0001-01-02")
def test_any_period_input_is_a_report_or_one_line(
    world: World, month: str, start: str, end: str
) -> None:
    async def scenario() -> httpx.Response:
        async with world.browser() as browser:
            await browser.login("doctor")
            return await browser.get("/reports", params={"period": month, "from": start, "to": end})

    response = asyncio.run(scenario())
    assert response.status_code in (200, 400), response.text[:500]
    if response.status_code == 400:
        assert len(flashes(response.text, "error")) == 1
        assert "report-frame" not in response.text
    else:
        assert 'id="report-frame"' in response.text


# --- accounts ----------------------------------------------------------------------------------


def _account(world: World, **values: Any) -> None:
    with session_scope(world.engine) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        for key, value in values.items():
            setattr(account, key, value)


def _snapshot(world: World, at: datetime, followers: int) -> None:
    with session_scope(world.engine) as session:
        session.add(AccountSnapshot(account_id=world.account_id, taken_at=at, followers=followers))


async def test_accounts_show_status_last_sync_followers_and_the_fix_for_reauth(
    world: World,
) -> None:
    _account(
        world,
        handle="yamada",
        status="needs_reauth",
        last_error="401 Unauthorized:\n  The access token\tis invalid",
        last_sync_at=datetime(2026, 11, 22, 23, 30, tzinfo=UTC),
    )
    _snapshot(world, datetime(2026, 11, 21, tzinfo=UTC), 1200)
    _snapshot(world, datetime(2026, 11, 22, tzinfo=UTC), 1234)
    async with world.browser() as browser:
        await browser.login("doctor")
        html = (await browser.get("/accounts")).text
    row = html[html.index(f'id="account-{world.account_id}"') :]
    assert "@yamada" in row and "mastodon" in row
    assert "2026-11-23 08:30" in row  # last sync in the workspace's zone
    assert "1,234" in row and "1,200" not in row  # the latest snapshot
    assert "再認証が必要" in row
    assert "401 Unauthorized: The access token is invalid" in row  # one line
    notice = html[html.index('id="reauth-notice"') :]
    assert "brandkit auth mastodon --name dr-yamada" in notice  # Mastodon has browser OAuth
    assert "brandkit accounts reauth dr-yamada" in notice
    assert "sandbox-yamada" not in html  # never a token
    assert "/accounts/verify" not in html  # a doctor cannot verify


async def test_verify_now_makes_a_needs_reauth_account_active_again(world: World) -> None:
    _account(world, status="needs_reauth", last_error="token expired")
    world.runtime = sandbox_runtime(world)
    async with world.browser() as browser:
        await browser.login("owner")
        page = (await browser.get("/accounts")).text
        assert 'action="/accounts/verify"' in page and "reauth-notice" in page
        response = await browser.post("/accounts/verify", {"account": str(world.account_id)})
        html = (await browser.follow(response)).text
    (message,) = flashes(html, "success")
    assert message.startswith("dr-yamada: 正常（@yamada、フォロワー ")
    assert "reauth-notice" not in html
    with session_scope(world.engine) as session:
        account = session.get(Account, world.account_id)
        assert account is not None and (account.status, account.last_error) == ("active", None)


async def test_a_refused_token_marks_the_account_and_shows_the_command(world: World) -> None:
    seen: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(401, json={"error": "The access token is invalid"})

    world.runtime = sandbox_runtime(world, refuse)
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.follow(await browser.post("/accounts/verify"))).text
    assert seen == ["/api/v1/accounts/verify_credentials"]
    (message,) = flashes(html, "error")
    assert message.startswith("dr-yamada: 再認証が必要です — ")
    assert "brandkit accounts reauth dr-yamada" in html[html.index('id="reauth-notice"') :]
    with session_scope(world.engine) as session:
        account = session.get(Account, world.account_id)
        assert account is not None and account.status == "needs_reauth"
        assert account.last_error and "\n" not in account.last_error


async def test_a_server_error_is_recorded_but_leaves_the_status(world: World) -> None:
    world.runtime = sandbox_runtime(world, lambda request: httpx.Response(503))
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.follow(await browser.post("/accounts/verify"))).text
    (message,) = flashes(html, "error")
    assert message.startswith("dr-yamada: エラー — ")
    with session_scope(world.engine) as session:
        account = session.get(Account, world.account_id)
        assert account is not None and account.status == "active" and account.last_error


async def test_verifying_an_unknown_account_is_one_line_and_calls_nothing(world: World) -> None:
    calls: list[httpx.Request] = []
    world.runtime = sandbox_runtime(world, lambda r: calls.append(r) or httpx.Response(200))
    async with world.browser() as browser:
        await browser.login("owner")
        before = world.snapshot()
        for value in ("999", "x"):
            html = (
                await browser.follow(await browser.post("/accounts/verify", {"account": value}))
            ).text
            assert flashes(html, "error") == [f"アカウント {value} はありません。"]
    assert calls == [] and world.snapshot() == before


# --- goals -------------------------------------------------------------------------------------


async def test_goals_read_as_brandkit_goals_list(world: World) -> None:
    day = datetime(2026, 11, 1, 3, tzinfo=UTC)
    for n in range(22):
        _snapshot(world, day + timedelta(days=n), 1000 + 10 * n)
    with session_scope(world.engine) as session:
        session.add(
            Goal(
                workspace_id=world.workspace_id,
                metric="followers",
                target=2000,
                due_date=date(2027, 3, 31),
                baseline=1000,
            )
        )
    with world.engine.connect() as conn:
        (goal,) = goal_progress(conn, world.workspace_id, world.clock.now())
    expected = goal_lines(goal, labels_for("ja"))
    async with world.browser() as browser:
        await browser.login("marketing")
        html = (await browser.get("/goals")).text
    assert str(escape(expected.title)) in html and expected.status_text in html
    assert all(str(escape(line)) in html for line in expected.lines)
    assert goal.share is not None and f'value="{round(goal.share * 100)}"' in html
    assert 'action="/goals"' not in html  # marketing cannot add


async def test_an_owner_adds_a_goal_with_todays_baseline(world: World) -> None:
    _account(world, profile_id=world.profiles["yamada"])
    _snapshot(world, world.clock.now() - timedelta(hours=1), 1500)
    async with world.browser() as browser:
        await browser.login("owner")
        response = await browser.post(
            "/goals",
            {"metric": "engagement_rate", "target": "5%", "by": "2027-03-31", "platform": "all"},
        )
        html = (await browser.follow(response)).text
        await browser.post(
            "/goals",
            {"metric": "followers", "target": "2000", "by": "2027-01-31", "profile": "yamada"},
        )
    with session_scope(world.engine) as session:
        rate, followers = session.exec(select(Goal).order_by(Goal.id)).all()  # type: ignore[arg-type]
    assert (rate.metric, rate.target, rate.due_date) == ("engagement_rate", 0.05, date(2027, 3, 31))
    assert flashes(html, "success") == [f"目標 #{rate.id} を追加しました。開始時点の値は — です。"]
    assert (followers.baseline, followers.profile_id) == (1500, world.profiles["yamada"])


GOAL = {"metric": "followers", "target": "2000", "by": "2027-01-31"}


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({**GOAL, "target": "lots"}, "--target 'lots' is not a number"),
        ({**GOAL, "by": "soon"}, "期限「soon」は日付ではありません"),
        ({**GOAL, "by": "2026-11-23"}, "is not in the future"),
        ({**GOAL, "metric": "likes"}, "--metric 'likes' is not a goal metric"),
        ({**GOAL, "platform": "x"}, "--platform 'x' has no account here"),
        ({**GOAL, "profile": "nobody"}, "nobody"),
    ],
)
async def test_a_bad_goal_is_one_line_and_adds_nothing(
    world: World, form: dict[str, str], reason: str
) -> None:
    message = await refused_once(world, "/goals", form)
    assert message.startswith("実行できませんでした: ") and reason in message


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.one_of(st.text(max_size=10), st.floats().map(str)),
    by=st.one_of(st.text(max_size=12), st.dates().map(date.isoformat)),
)
@example(target="nan", by="2027-01-31")
@example(target="inf", by="2027-01-31")
@example(target="1e308", by="9999-12-31")
@example(target="2000", by="9999-12-31")
def test_any_goal_input_is_added_or_refused_in_one_line(world: World, target: str, by: str) -> None:
    form = {"metric": "followers", "target": target, "by": by}
    ok, failed, added = post_and_count(world, "/goals", form, table="goal")
    assert (len(ok), len(failed), added) in ((1, 0, 1), (0, 1, 0))


async def test_removing_a_goal_and_another_workspaces_goal(world: World) -> None:
    with session_scope(world.engine) as session:
        other = Workspace(name="Other")
        session.add(other)
        session.flush()
        mine = Goal(
            workspace_id=world.workspace_id, metric="followers", target=9, due_date=date(2027, 1, 1)
        )
        theirs = Goal(
            workspace_id=other.id, metric="followers", target=9, due_date=date(2027, 1, 1)
        )  # type: ignore[arg-type]
        session.add_all([mine, theirs])
        session.flush()
        mine_id, theirs_id = mine.id, theirs.id
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/goals")).text
        assert f'name="goal" value="{mine_id}"' in html
        assert f'id="goal-{theirs_id}"' not in html
        done = (
            await browser.follow(await browser.post("/goals/remove", {"goal": str(mine_id)}))
        ).text
        refused = (
            await browser.follow(await browser.post("/goals/remove", {"goal": str(theirs_id)}))
        ).text
    assert flashes(done, "success") == [f"目標 #{mine_id} を削除しました。"]
    assert len(flashes(refused, "error")) == 1
    with session_scope(world.engine) as session:
        assert [g.id for g in session.exec(select(Goal)).all()] == [theirs_id]


# --- calendar ----------------------------------------------------------------------------------


async def test_an_owner_adds_and_removes_slots_as_the_cli_does(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        response = await browser.post(
            "/calendar",
            {"weekday": "1", "at": "12:30", "template": "ja/health_tip", "accounts": "dr-yamada"},
        )
        added = (await browser.follow(response)).text
        with session_scope(world.engine) as session:
            (slot,) = session.exec(select(Slot)).all()
            slot_id = slot.id
            assert (slot.weekday, slot.local_time, slot.template) == (1, "12:30", "ja/health_tip")
            assert slot.accounts == ["dr-yamada"] and slot.source == "cli"
        assert flashes(added, "success") == [
            f"枠 #{slot_id} を追加しました: 火 12:30 ja/health_tip → dr-yamada"
        ]
        row = added[added.index(f'id="slot-{slot_id}"') :]
        assert "<td>火</td>" in row and "<td>12:30</td>" in row
        removed = (
            await browser.follow(await browser.post("/calendar/remove", {"slot": str(slot_id)}))
        ).text
    assert flashes(removed, "success") == [f"枠 #{slot_id} を削除しました。"]
    with session_scope(world.engine) as session:
        assert session.exec(select(Slot)).all() == []


async def test_a_slot_with_posts_is_deactivated_and_shown_with_show_all(world: World) -> None:
    post_id = world.post()
    with session_scope(world.engine) as session:
        slot = Slot(
            workspace_id=world.workspace_id,
            weekday=4,
            local_time="09:00",
            template="ja/health_tip",
            accounts=["dr-yamada"],
        )
        session.add(slot)
        session.flush()
        assert slot.id is not None
        slot_id = slot.id
        post = session.get(Post, post_id)
        assert post is not None
        post.slot_id = slot_id
    async with world.browser() as browser:
        await browser.login("owner")
        html = (
            await browser.follow(await browser.post("/calendar/remove", {"slot": str(slot_id)}))
        ).text
        assert flashes(html, "success")[0].startswith(f"枠 #{slot_id} を停止しました。")
        assert f'id="slot-{slot_id}"' not in html
        every = (await browser.get("/calendar?show_all=true")).text
    assert f'id="slot-{slot_id}" class="slot-inactive"' in every


SLOT = {"weekday": "1", "at": "12:00", "template": "ja/health_tip", "accounts": "dr-yamada"}


def _but(**changes: str | None) -> dict[str, str]:
    """:data:`SLOT` with fields changed (``None``: left out)."""
    form = {**SLOT, **changes}
    return {key: value for key, value in form.items() if value is not None}


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        (_but(at="25:00"), "time '25:00' is not HH:MM"),
        (_but(weekday="9"), "weekday '9' is not a weekday"),
        (_but(category="health"), "give exactly one of --template and --category"),
        (_but(template=None), "give exactly one of --template and --category"),
        (_but(template="ja/nothing"), "nothing"),
        (_but(accounts="nobody"), "nobody"),
        (_but(accounts=None), "投稿先のアカウントを 1 つ以上選んでください。"),
        (_but(variables="no equals sign"), "--var 'no equals sign' is not KEY=VALUE"),
    ],
)
async def test_a_bad_slot_is_one_line_and_adds_nothing(
    world: World, form: dict[str, str], reason: str
) -> None:
    message = await refused_once(world, "/calendar", form)
    assert message.startswith("実行できませんでした: ") and reason in message, message


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    weekday=st.one_of(st.text(max_size=4), st.integers(-1, 8).map(str)),
    at=st.one_of(st.text(max_size=6), st.times().map(lambda t: t.strftime("%H:%M"))),
    variables=st.text(max_size=40),
)
def test_any_slot_input_is_added_or_refused_in_one_line(
    world: World, weekday: str, at: str, variables: str
) -> None:
    form = _but(weekday=weekday, at=at, variables=variables)
    ok, failed, added = post_and_count(world, "/calendar", form, table="slot")
    assert (len(ok), len(failed), added) in ((1, 0, 1), (0, 1, 0)), failed


async def test_slots_from_brandkit_toml_are_listed_and_not_removable_here(world: World) -> None:
    entry = CalendarEntry(
        weekday=2, time="18:00", template="ja/health_tip", category=None,
        accounts=("dr-yamada",), file="/clinic/brandkit.toml", line=14,
    )  # fmt: skip
    settings_ = Settings(home=world.home, database_url=str(world.engine.url), calendar=(entry,))
    app = create_app(
        settings_, world.engine, clock=world.clock, passwords=world.passwords, secret=SECRET
    )
    async with world.browser(app=app) as browser:
        await browser.login("owner")
        html = (await browser.get("/calendar")).text
        with session_scope(world.engine) as session:
            (slot,) = session.exec(select(Slot)).all()
        assert slot.source == "config"
        row = html[html.index(f'id="slot-{slot.id}"') :]
        assert "brandkit.toml:14" in row and "brandkit.toml で変更" in row
        refused = (
            await browser.follow(await browser.post("/calendar/remove", {"slot": str(slot.id)}))
        ).text
    assert "comes from /clinic/brandkit.toml:14" in flashes(refused, "error")[0]


async def test_a_broken_toml_calendar_is_one_line_and_the_slots_still_show(world: World) -> None:
    entry = CalendarEntry(
        weekday=2, time="18:00", template="ja/health_tip", category=None, accounts=("gone",)
    )
    settings_ = Settings(home=world.home, database_url=str(world.engine.url), calendar=(entry,))
    app = create_app(
        settings_, world.engine, clock=world.clock, passwords=world.passwords, secret=SECRET
    )
    with session_scope(world.engine) as session:
        session.add(
            Slot(
                workspace_id=world.workspace_id,
                weekday=0,
                local_time="08:00",
                category="health_tip",
                accounts=["dr-yamada"],
            )
        )
    async with world.browser(app=app) as browser:
        await browser.login("doctor")
        response = await browser.get("/calendar")
    assert response.status_code == 200
    (message,) = flashes(response.text, "error")
    assert (
        message.startswith("brandkit.toml のカレンダーを読み込めませんでした: ")
        and "gone" in message
    )
    assert "<td>08:00</td>" in response.text and 'action="/calendar"' not in response.text


# --- every page ----------------------------------------------------------------------------------


async def test_pages_need_a_signed_in_user_and_load_nothing_from_elsewhere(world: World) -> None:
    _account(world, status="needs_reauth", last_error="expired")
    async with world.browser() as browser:
        for path in (*PAGES, "/reports/view", "/reports/download/csv"):
            response = await browser.client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")
        await browser.login("owner")
        for path in PAGES:
            response = await browser.get(path)
            assert response.status_code == 200, path
            html = response.text
            assert not EXTERNAL.findall(html), (path, EXTERNAL.findall(html))
            assert "<script>" not in html and " style=" not in html  # the CSP allows neither
            assert f'href="{path}" aria-current="page"' in html
            for nav in PAGES:
                assert f'href="{nav}"' in html


@pytest.mark.parametrize("locale", ["en"])
async def test_the_pages_speak_english_in_an_english_workspace(
    engine: Engine, clock: SimulatedClock, tmp_path: Path, locale: str
) -> None:
    world = build_world(engine, clock, tmp_path, locale=locale)
    _account(world, status="needs_reauth")
    async with world.browser() as browser:
        await browser.login("owner")
        pages = {path: (await browser.get(path)).text for path in PAGES}
    assert "Files for the same period" in pages["/reports"]
    assert "Some accounts need to be authorised again" in pages["/accounts"]
    assert "needs re-authorisation" in pages["/accounts"]
    assert "Add a goal" in pages["/goals"] and "Add a slot" in pages["/calendar"]
    for html in pages.values():
        assert "レポート" not in html and "カレンダー" not in html


def test_the_period_rules_match_the_cli() -> None:
    t = Translator("en")
    latest = datetime(2026, 11, 30, 3, tzinfo=UTC)
    for month, start, end in [("2026-11", "", ""), ("", "2026-11-02", "2026-11-20"), ("", "", "")]:
        cli = report_cmd.period_bounds(month or None, start or None, end or None, latest)
        first, last = period_days(t, month, start, end, latest, latest)
        assert (first, last + timedelta(days=1)) == cli
