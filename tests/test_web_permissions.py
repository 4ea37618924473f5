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
from brandkit.web.policy import POLICY, Action, Role
from tests.test_web_harness import ERROR_FINDING, LOGINS, Browser, World, build_world


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
    assert variants[0].last_error is not None
    assert variants[0].last_error.endswith(": 数字の根拠を添えてください")


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
