"""Every role against every action of the dashboard, on SQLite and PostgreSQL.

The expected outcomes are written out here, from issue 7 ("marketing edits templates and drafts
but cannot approve or publish; doctors approve their own posts; owners can do everything and
manage users"), not derived from ``brandkit.web.policy``: an allowed action succeeds and its
change is in the database (approval queues the jobs the CLI queues); a forbidden one answers
403 naming the role it needs, and no row changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.web.policy import POLICY, Action, Role, Scope
from tests.test_web_harness import (
    ERROR_FINDING,
    LOGINS,
    Browser,
    World,
    build_world,
    sandbox_runtime,  # part 2: the accounts page
)


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


Setup = Callable[[World], dict[str, Any]]
Request = Callable[[Browser, dict[str, Any]], Awaitable[httpx.Response]]
Check = Callable[[World, dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]
    setup: Setup
    request: Request
    check: Check


def _post(**kwargs: Any) -> Setup:
    return lambda w: {"post": w.post(**kwargs)}


def _approved(world: World, ctx: dict[str, Any]) -> None:
    post, variants = world.get_post(ctx["post"])
    assert post.state == "approved" and post.approved_by in LOGINS.values()
    assert [v.state for v in variants] == ["scheduled"]
    jobs = world.jobs()
    assert f"publish:{variants[0].id}" in jobs  # queued exactly as 'brandkit posts approve'
    assert jobs[f"publish:{variants[0].id}"] == pytest.approx(variants[0].due_at.timestamp())


def _approved_with_reason(world: World, ctx: dict[str, Any]) -> None:
    _approved(world, ctx)
    post, _ = world.get_post(ctx["post"])
    assert post.lint_override_reason == "院長が表現を確認済み"


def _rejected(world: World, ctx: dict[str, Any]) -> None:
    post, variants = world.get_post(ctx["post"])
    assert post.state == "rejected"
    assert [v.state for v in variants] == ["cancelled"]
    assert post.rejected_by in LOGINS.values()
    assert post.review_comment == "数字の根拠を添えてください"


def _moved(world: World, ctx: dict[str, Any]) -> None:
    post, variants = world.get_post(ctx["post"])
    new = world.clock.now() + timedelta(days=3)  # 2026-11-26 09:00 JST, as sent
    assert post.scheduled_at == new and variants[0].due_at == new
    if variants[0].state == "scheduled":
        assert world.jobs()[f"publish:{variants[0].id}"] == pytest.approx(new.timestamp())


def _cancelled(world: World, ctx: dict[str, Any]) -> None:
    post, variants = world.get_post(ctx["post"])
    assert post.state == "cancelled" and [v.state for v in variants] == ["cancelled"]
    assert f"publish:{variants[0].id}" not in world.jobs()


def _nothing(world: World, ctx: dict[str, Any]) -> None:
    """A page to look at: allowed means it rendered."""


def _user_added(world: World, ctx: dict[str, Any]) -> None:
    user = world.user("tanaka")
    assert user is not None and user.role == "marketing"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")


def _password_set(world: World, ctx: dict[str, Any]) -> None:
    user = world.user(LOGINS["marketing"])
    assert user is not None and user.password_hash != ctx["hash"]
    assert world.passwords.verify(user.password_hash, "a brand new passphrase")


def _user_removed(world: World, ctx: dict[str, Any]) -> None:
    assert world.user(LOGINS["marketing"]) is None


def _marketing_hash(world: World) -> dict[str, Any]:
    user = world.user(LOGINS["marketing"])
    assert user is not None
    return {"id": user.id, "hash": user.password_hash}


async def _form(browser: Browser, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    return await browser.post(path, {"week": "2026-W48", **(data or {})})


NEW_TIME = {"at": "2026-11-26T09:00"}
OWNER, DOCTOR, MARKETING = "owner", "doctor", "marketing"

CASES = [
    Case("view_queue", frozenset({OWNER, DOCTOR, MARKETING}), lambda w: {},
         lambda b, c: b.get("/queue"), _nothing),
    Case("approve_own_post", frozenset({OWNER, DOCTOR}), _post(profile="yamada"),
         lambda b, c: _form(b, f"/posts/{c['post']}/approve"), _approved),
    Case("approve_other_doctors_post", frozenset({OWNER}), _post(profile="sato"),
         lambda b, c: _form(b, f"/posts/{c['post']}/approve"), _approved),
    Case("approve_post_without_profile", frozenset({OWNER}), _post(profile=None),
         lambda b, c: _form(b, f"/posts/{c['post']}/approve"), _approved),
    Case("approve_despite_errors_with_reason", frozenset({OWNER}),
         _post(profile="yamada", findings=[ERROR_FINDING]),
         lambda b, c: _form(b, f"/posts/{c['post']}/approve",
                            {"override_reason": "院長が表現を確認済み"}),
         _approved_with_reason),
    Case("reject_own_post", frozenset({OWNER, DOCTOR}), _post(profile="yamada"),
         lambda b, c: _form(b, f"/posts/{c['post']}/reject",
                            {"comment": "数字の根拠を添えてください"}), _rejected),
    Case("reject_other_doctors_post", frozenset({OWNER}), _post(profile="sato"),
         lambda b, c: _form(b, f"/posts/{c['post']}/reject",
                            {"comment": "数字の根拠を添えてください"}), _rejected),
    Case("reschedule_draft", frozenset({OWNER, MARKETING}), _post(profile="yamada"),
         lambda b, c: _form(b, f"/posts/{c['post']}/reschedule", NEW_TIME), _moved),
    Case("reschedule_approved_post", frozenset({OWNER}),
         _post(profile="yamada", state="approved"),
         lambda b, c: _form(b, f"/posts/{c['post']}/reschedule", NEW_TIME), _moved),
    Case("cancel_draft", frozenset({OWNER, MARKETING}), _post(profile="yamada"),
         lambda b, c: _form(b, f"/posts/{c['post']}/cancel"), _cancelled),
    Case("cancel_approved_post", frozenset({OWNER}), _post(profile="yamada", state="approved"),
         lambda b, c: _form(b, f"/posts/{c['post']}/cancel"), _cancelled),
    Case("view_users", frozenset({OWNER}), lambda w: {}, lambda b, c: b.get("/users"), _nothing),
    Case("add_user", frozenset({OWNER}), lambda w: {},
         lambda b, c: b.post("/users", {"login": "tanaka", "role": "marketing", "profile": "",
                                        "password": "another passphrase",
                                        "password_confirm": "another passphrase"}),
         _user_added),
    Case("set_password", frozenset({OWNER}), _marketing_hash,
         lambda b, c: b.post(f"/users/{c['id']}/password",
                             {"password": "a brand new passphrase",
                              "password_confirm": "a brand new passphrase"}),
         _password_set),
    Case("remove_user", frozenset({OWNER}), _marketing_hash,
         lambda b, c: b.post(f"/users/{c['id']}/remove"), _user_removed),
]  # fmt: skip


# --- part 2: the reports, accounts, goals and calendar pages ----------------------------------
# Everyone reads reports, accounts, goals and the calendar; only owners verify accounts
# (manage_accounts) and add or remove goals and slots (manage_calendar).


def _account_row(world: World) -> Any:
    from brandkit.db.engine import session_scope
    from brandkit.db.models import Account

    with session_scope(world.engine) as session:
        return session.get(Account, world.account_id)


def _needs_reauth_on_the_sandbox(world: World) -> dict[str, Any]:
    from brandkit.db.engine import session_scope
    from brandkit.db.models import Account

    world.runtime = sandbox_runtime(world)  # the app calls the in-process sandbox
    with session_scope(world.engine) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        account.status, account.last_error = "needs_reauth", "token expired"
    return {}


def _verified(world: World, ctx: dict[str, Any]) -> None:
    account = _account_row(world)
    assert (account.status, account.last_error) == ("active", None)


def _goals(world: World) -> list[Any]:
    from sqlmodel import select

    from brandkit.db.engine import session_scope
    from brandkit.db.models import Goal

    with session_scope(world.engine) as session:
        return list(session.exec(select(Goal)).all())


def _a_goal(world: World) -> dict[str, Any]:
    from datetime import date

    from brandkit.db.engine import session_scope
    from brandkit.db.models import Goal

    with session_scope(world.engine) as session:
        goal = Goal(
            workspace_id=world.workspace_id, metric="followers", target=9, due_date=date(2027, 1, 1)
        )
        session.add(goal)
        session.flush()
        return {"goal": goal.id}


def _goal_added(world: World, ctx: dict[str, Any]) -> None:
    (goal,) = _goals(world)
    assert (goal.metric, goal.target, str(goal.due_date)) == ("followers", 2000, "2027-03-31")


def _goal_removed(world: World, ctx: dict[str, Any]) -> None:
    assert _goals(world) == []


def _slots(world: World) -> list[Any]:
    from sqlmodel import select

    from brandkit.db.engine import session_scope
    from brandkit.db.models import Slot

    with session_scope(world.engine) as session:
        return list(session.exec(select(Slot)).all())


def _a_slot(world: World) -> dict[str, Any]:
    from brandkit.db.engine import session_scope
    from brandkit.db.models import Slot

    with session_scope(world.engine) as session:
        slot = Slot(
            workspace_id=world.workspace_id,
            weekday=1,
            local_time="12:30",
            template="ja/health_tip",
            accounts=["dr-yamada"],
        )
        session.add(slot)
        session.flush()
        return {"slot": slot.id}


def _slot_added(world: World, ctx: dict[str, Any]) -> None:
    (slot,) = _slots(world)
    assert (slot.weekday, slot.local_time, slot.template) == (3, "18:00", "ja/health_tip")


def _slot_removed(world: World, ctx: dict[str, Any]) -> None:
    assert _slots(world) == []


EVERYONE = frozenset({OWNER, DOCTOR, MARKETING})
NEW_GOAL = {"metric": "followers", "target": "2000", "by": "2027-03-31", "platform": "all"}
NEW_SLOT = {"weekday": "3", "at": "18:00", "template": "ja/health_tip", "accounts": "dr-yamada"}

PAGES_CASES = [
    Case("view_reports", EVERYONE, lambda w: {},
         lambda b, c: b.get("/reports?period=2026-11"), _nothing),
    Case("view_report_frame", EVERYONE, lambda w: {},
         lambda b, c: b.get("/reports/view?period=2026-11"), _nothing),
    Case("download_report", EVERYONE, lambda w: {},
         lambda b, c: b.get("/reports/download/csv?period=2026-11"), _nothing),
    Case("view_accounts", EVERYONE, lambda w: {}, lambda b, c: b.get("/accounts"), _nothing),
    Case("view_goals", EVERYONE, lambda w: {}, lambda b, c: b.get("/goals"), _nothing),
    Case("view_calendar", EVERYONE, lambda w: {}, lambda b, c: b.get("/calendar"), _nothing),
    Case("verify_accounts", frozenset({OWNER}), _needs_reauth_on_the_sandbox,
         lambda b, c: b.post("/accounts/verify"), _verified),
    Case("add_goal", frozenset({OWNER}), lambda w: {},
         lambda b, c: b.post("/goals", NEW_GOAL), _goal_added),
    Case("remove_goal", frozenset({OWNER}), _a_goal,
         lambda b, c: b.post("/goals/remove", {"goal": str(c["goal"])}), _goal_removed),
    Case("add_slot", frozenset({OWNER}), lambda w: {},
         lambda b, c: b.post("/calendar", NEW_SLOT), _slot_added),
    Case("remove_slot", frozenset({OWNER}), _a_slot,
         lambda b, c: b.post("/calendar/remove", {"slot": str(c["slot"])}), _slot_removed),
]  # fmt: skip
CASES += PAGES_CASES


# --- part 2: the post editor and the template editor ------------------------------------------
# Everyone edits drafts — doctors only their own posts —, and an edited approved post is a draft
# again without its jobs; owners and marketing staff edit templates, doctors do not.

NEW_TEXT = "睡眠のコツ：寝る前の一時間はスマホを置きましょう。"
BUILTIN_TIP = "ja/health_tip"


def _editable(**kwargs: Any) -> Setup:
    def setup(world: World) -> dict[str, Any]:
        from brandkit.db.engine import session_scope
        from brandkit.db.models import Post
        from brandkit.web.routes.editor import _rows, post_version

        post_id = world.post(**kwargs)
        with session_scope(world.engine) as session:
            post = session.get(Post, post_id)
            assert post is not None
            rows = _rows(session, post_id)
            return {"post": post_id, "variant": rows[0][0].id, "version": post_version(post, rows)}

    return setup


def _edit_request(browser: Browser, ctx: dict[str, Any]) -> Awaitable[httpx.Response]:
    form = {"version": ctx["version"], f"text-{ctx['variant']}": NEW_TEXT}
    return browser.post(f"/posts/{ctx['post']}/edit", form)


async def _check_request(browser: Browser, ctx: dict[str, Any]) -> httpx.Response:
    return await browser.client.post(
        f"/api/posts/{ctx['post']}/check",
        json={"variant": ctx["variant"], "text": NEW_TEXT},
        headers={"X-CSRF-Token": await browser.csrf()},
    )


def _edited(world: World, ctx: dict[str, Any]) -> None:
    post, [variant] = world.get_post(ctx["post"])
    assert (post.state, post.approved_by, variant.state) == ("draft", None, "draft")
    assert variant.text == NEW_TEXT and variant.length == len(NEW_TEXT)
    assert f"publish:{variant.id}" not in world.jobs()  # edited: approved again before it goes


def _builtin_source() -> str:
    from brandkit.content.templates import builtin_template_dir

    return (builtin_template_dir() / f"{BUILTIN_TIP}.j2").read_text(encoding="utf-8")


def _template_source(marker: str = "今日から") -> str:
    return _builtin_source().replace("できることから", marker)


def _revisions(world: World) -> list[Any]:
    from sqlmodel import col, select

    from brandkit.db.engine import session_scope
    from brandkit.db.models import TemplateRevision

    with session_scope(world.engine) as session:
        return list(session.exec(select(TemplateRevision).order_by(col(TemplateRevision.id))).all())


def _template_saved(world: World, ctx: dict[str, Any]) -> None:
    override = world.home / "templates" / f"{BUILTIN_TIP}.j2"
    assert override.read_text(encoding="utf-8") == _template_source()
    *_, latest = _revisions(world)
    assert latest.author_login in LOGINS.values() and latest.path == str(override)


def _two_revisions(world: World) -> dict[str, Any]:
    from brandkit.config import Settings
    from brandkit.web.template_store import Author, content_hash, save_template

    world.template_dirs = (world.home / "mine",)
    settings = Settings(
        home=world.home, database_url=str(world.engine.url), template_dirs=world.template_dirs
    )
    for marker in ("一回目", "二回目"):
        save_template(
            world.engine,
            settings,
            workspace_id=world.workspace_id,
            name=BUILTIN_TIP,
            source=_template_source(marker),
            author=Author(world.users[OWNER], LOGINS[OWNER]),
            now=world.clock.now(),
        )
    first = next(r for r in _revisions(world) if "一回目" in r.source)
    current = (world.home / "mine" / f"{BUILTIN_TIP}.j2").read_bytes()
    return {"revision": first.id, "hash": content_hash(current)}


def _restored(world: World, ctx: dict[str, Any]) -> None:
    path = world.home / "mine" / f"{BUILTIN_TIP}.j2"
    assert path.read_text(encoding="utf-8") == _template_source("一回目")
    *_, latest = _revisions(world)
    assert latest.author_login in LOGINS.values() and f"#{ctx['revision']}" in latest.note


async def _preview_request(browser: Browser, ctx: dict[str, Any]) -> httpx.Response:
    return await browser.client.post(
        f"/api/templates/{BUILTIN_TIP}/preview",
        json={"source": _template_source()},
        headers={"X-CSRF-Token": await browser.csrf()},
    )


def _previewed(world: World, ctx: dict[str, Any]) -> None:
    assert not (world.home / "templates").exists() and _revisions(world) == []


EDITORS = frozenset({OWNER, MARKETING})

EDITOR_CASES = [
    Case("open_post_editor_own_post", EVERYONE, _editable(profile="yamada"),
         lambda b, c: b.get(f"/posts/{c['post']}/edit"), _nothing),
    Case("open_post_editor_other_doctors_post", EDITORS, _editable(profile="sato"),
         lambda b, c: b.get(f"/posts/{c['post']}/edit"), _nothing),
    Case("check_text_own_post", EVERYONE, _editable(profile="yamada"), _check_request, _nothing),
    Case("check_text_other_doctors_post", EDITORS, _editable(profile="sato"), _check_request,
         _nothing),
    Case("edit_own_draft", EVERYONE, _editable(profile="yamada"), _edit_request, _edited),
    Case("edit_other_doctors_draft", EDITORS, _editable(profile="sato"), _edit_request, _edited),
    Case("edit_own_approved_post", EVERYONE, _editable(profile="yamada", state="approved"),
         _edit_request, _edited),
    Case("edit_post_without_profile", EDITORS, _editable(profile=None), _edit_request, _edited),
    Case("view_templates", EDITORS, lambda w: {}, lambda b, c: b.get("/templates"), _nothing),
    Case("open_template_editor", EDITORS, lambda w: {},
         lambda b, c: b.get(f"/templates/{BUILTIN_TIP}"), _nothing),
    Case("preview_template", EDITORS, lambda w: {}, _preview_request, _previewed),
    Case("lint_template", EDITORS, lambda w: {},
         lambda b, c: b.post(f"/templates/{BUILTIN_TIP}/lint", {"source": _template_source()}),
         _previewed),
    Case("save_template", EDITORS, lambda w: {},
         lambda b, c: b.post(f"/templates/{BUILTIN_TIP}", {"source": _template_source()}),
         _template_saved),
    Case("view_template_history", EDITORS, _two_revisions,
         lambda b, c: b.get(f"/templates/{BUILTIN_TIP}/history"), _nothing),
    Case("restore_template_revision", EDITORS, _two_revisions,
         lambda b, c: b.post(f"/templates/{BUILTIN_TIP}/history/{c['revision']}/restore",
                             {"base_hash": c["hash"]}), _restored),
]  # fmt: skip
CASES += EDITOR_CASES


def test_the_matrix_covers_the_editors() -> None:
    names = {case.name for case in EDITOR_CASES}
    assert {"edit_own_draft", "edit_other_doctors_draft", "edit_own_approved_post"} <= names
    assert {"save_template", "restore_template_revision", "preview_template"} <= names
    assert POLICY[Action.EDIT_DRAFTS] == {
        Role.OWNER: Scope.ANY,
        Role.DOCTOR: Scope.OWN,
        Role.MARKETING: Scope.ANY,
    }
    assert set(POLICY[Action.EDIT_TEMPLATES]) == {Role.OWNER, Role.MARKETING}


async def test_forbidden_template_saves_write_no_file(world: World) -> None:
    async with world.browser() as browser:
        await browser.login(DOCTOR)
        response = await browser.post(f"/templates/{BUILTIN_TIP}", {"source": _template_source()})
        nav = (await browser.get("/queue")).text
    assert response.status_code == 403
    assert not (world.home / "templates").exists() and not (world.home / "brandkit.toml").exists()
    assert 'href="/templates"' not in nav


def test_the_matrix_covers_the_pages_of_part_two() -> None:
    names = {case.name for case in PAGES_CASES}
    assert {"view_reports", "download_report", "view_accounts", "view_goals"} <= names
    assert {"verify_accounts", "add_goal", "remove_goal", "add_slot", "remove_slot"} <= names
    assert POLICY[Action.READ_REPORTS] == {r: POLICY[Action.VIEW_QUEUE][r] for r in Role}
    assert set(POLICY[Action.MANAGE_ACCOUNTS]) == set(POLICY[Action.MANAGE_CALENDAR]) == {OWNER}


async def test_the_pages_show_owner_actions_to_owners_only(world: World) -> None:
    world.post()
    actions = ('action="/accounts/verify"', 'action="/goals"', 'action="/calendar"')
    for role in (OWNER, DOCTOR, MARKETING):
        async with world.browser() as browser:
            await browser.login(role)
            html = "".join(
                [(await browser.get(p)).text for p in ("/accounts", "/goals", "/calendar")]
            )
        for action in actions:
            assert (action in html) == (role == OWNER), (role, action)
        for link in ('href="/reports"', 'href="/accounts"', 'href="/goals"', 'href="/calendar"'):
            assert link in html, (role, link)


@pytest.mark.parametrize("role", [OWNER, DOCTOR, MARKETING])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_role_against_action(world: World, role: str, case: Case) -> None:
    ctx = case.setup(world)
    async with world.browser() as browser:
        assert (await browser.login(role)).status_code == 303
        before = world.snapshot()
        response = await case.request(browser, ctx)
        if role in case.allowed:
            assert response.status_code in (200, 303), response.text[:800]
            if response.status_code == 303:
                page = await browser.follow(response)
                assert "flash-success" in page.text, page.text[:3000]
                assert "flash-error" not in page.text
            case.check(world, ctx)
        else:
            assert response.status_code == 403, response.text[:800]
            assert "オーナー" in response.text  # the 403 page names the role that is needed
            assert world.snapshot() == before


def test_the_matrix_covers_every_action_of_part_one() -> None:
    part_one = {
        Action.VIEW_QUEUE,
        Action.APPROVE,
        Action.APPROVE_OVERRIDE,
        Action.REJECT,
        Action.RESCHEDULE,
        Action.CANCEL,
        Action.MANAGE_USERS,
    }
    names = " ".join(c.name for c in CASES)
    for word in ("queue", "approve", "errors_with_reason", "reject", "reschedule", "cancel"):
        assert word in names
    for words in ("view_users", "add_user", "set_password", "remove_user"):
        assert words in names
    assert part_one <= set(POLICY)
    assert all(Role.OWNER in POLICY[action] for action in Action)  # owners can do everything


async def test_a_doctor_not_linked_to_a_profile_approves_nothing(world: World) -> None:
    from brandkit.db.engine import session_scope
    from brandkit.db.models import User

    with session_scope(world.engine) as session:
        user = session.get(User, world.users[DOCTOR])
        assert user is not None
        user.profile_id = None
    post = world.post(profile=None)
    async with world.browser() as browser:
        await browser.login(DOCTOR)
        before = world.snapshot()
        assert (await browser.post(f"/posts/{post}/approve")).status_code == 403
        assert world.snapshot() == before


async def test_forbidden_page_says_which_role_is_needed_in_english(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    world = build_world(engine, clock, tmp_path, locale="en")
    post = world.post(profile="sato")
    async with world.browser() as browser:
        await browser.login(DOCTOR)
        response = await browser.post(f"/posts/{post}/approve")
    assert response.status_code == 403
    assert "You may not approve this post." in response.text
    assert "This needs the owner role, or the doctor role (their own posts)." in response.text
    assert "You are signed in as doctor." in response.text


async def test_buttons_follow_the_policy(world: World) -> None:
    own, other = world.post(profile="yamada"), world.post(profile="sato")
    expected = {
        OWNER: {own: {"approve", "reject", "reschedule", "cancel"},
                other: {"approve", "reject", "reschedule", "cancel"}},
        DOCTOR: {own: {"approve", "reject"}, other: set()},
        MARKETING: {own: {"reschedule", "cancel"}, other: {"reschedule", "cancel"}},
    }  # fmt: skip
    for role, posts in expected.items():
        async with world.browser() as browser:
            await browser.login(role)
            html = (await browser.get("/queue")).text
        for post_id, actions in posts.items():
            for action in ("approve", "reject", "reschedule", "cancel"):
                shown = f'action="/posts/{post_id}/{action}"' in html
                assert shown == (action in actions), (role, post_id, action)
    async with world.browser() as browser:
        await browser.login(DOCTOR)
        assert 'href="/users"' not in (await browser.get("/queue")).text
