"""Signing in and staying signed in: passwords, session cookies, CSRF and the sign-in rate limit.

Time is the simulated clock of the app, so the 15-minute window and the 12-hour session pass
without sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.clock import SimulatedClock
from brandkit.db.engine import session_scope
from brandkit.db.models import User
from brandkit.errors import SecretError
from brandkit.web.ratelimit import LoginLimits
from brandkit.web.sessions import COOKIE_NAME, session_secret
from brandkit.web.users import Passwords
from tests.test_web_harness import (
    LOGINS,
    PASSWORD,
    Browser,
    World,
    build_world,
    cheap_passwords,
)


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


def cookie_header(response: httpx.Response) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME)]
    assert headers, "no session cookie was set"
    return headers[-1]


# --- passwords -------------------------------------------------------------------------------


def test_the_default_hasher_is_argon2id_with_at_least_the_rfc_9106_low_memory_profile() -> None:
    hashed = Passwords().hash("a long enough password")
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", hashed)
    assert match, hashed
    memory, time_cost, lanes = map(int, match.groups())
    assert memory >= 65536 and time_cost >= 3 and lanes >= 1


async def test_a_hash_with_old_parameters_is_replaced_at_sign_in(world: World) -> None:
    stronger = cheap_passwords(time_cost=2)
    old = world.user(LOGINS["owner"])
    assert old is not None and old.password_hash is not None and ",t=1," in old.password_hash
    async with world.browser(app=world.app(passwords=stronger)) as browser:
        assert (await browser.login("owner")).status_code == 303
    new = world.user(LOGINS["owner"])
    assert new is not None and new.password_hash is not None and ",t=2," in new.password_hash
    assert stronger.verify(new.password_hash, PASSWORD)
    assert new.last_login_at == world.clock.now()


async def test_wrong_password_and_unknown_login_get_the_same_answer(world: World) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        wrong = await browser.post("/login", {"login": "inchou", "password": "not it at all"})
        unknown = await browser.post("/login", {"login": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert "ログイン名またはパスワードが違います。" in wrong.text

    def without_echo(response: httpx.Response, login: str) -> str:
        body = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
        return body.replace(f'value="{login}"', 'value=""')

    assert without_echo(wrong, "inchou") == without_echo(unknown, "nobody")


async def test_an_unknown_login_costs_a_password_check_too(world: World) -> None:
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            calls.append(str(hash))
            return super().verify(hash, password)

    passwords = Passwords(Counting(time_cost=1, memory_cost=8, parallelism=1))
    async with world.browser(app=world.app(passwords=passwords)) as browser:
        await browser.get("/login")
        await browser.post("/login", {"login": "nobody", "password": "whatever it is"})
    assert len(calls) == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_after_sign_in_only_local_pages_are_followed(world: World, target: str) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        response = await browser.post(
            "/login", {"login": "inchou", "password": PASSWORD, "next": target}
        )
    assert response.status_code == 303 and response.headers["location"] == "/queue"


async def test_sign_in_returns_to_the_page_asked_for(world: World) -> None:
    async with world.browser() as browser:
        first = await browser.get("/queue?week=2026-W50")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/queue?week=2026-W50"
        await browser.get(first.headers["location"])
        response = await browser.post(
            "/login", {"login": "INCHOU ", "password": PASSWORD, "next": "/queue?week=2026-W50"}
        )
    assert response.headers["location"] == "/queue?week=2026-W50"


# --- the session cookie ----------------------------------------------------------------------


async def test_the_session_cookie_is_httponly_samesite_and_not_secure_over_http(
    world: World,
) -> None:
    async with world.browser() as browser:
        header = cookie_header(await browser.client.get("/login"))
        response = await browser.login("owner")
    flags = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags
    signed_in = [p.strip().lower() for p in cookie_header(response).split(";")]
    assert "httponly" in signed_in and "samesite=lax" in signed_in


async def test_the_session_cookie_is_secure_over_https(world: World) -> None:
    async with world.browser(https=True) as browser:
        header = cookie_header(await browser.client.get("/login"))
        assert (await browser.login("owner")).status_code == 303
        assert (await browser.get("/queue")).status_code == 200
    assert "secure" in [part.strip().lower() for part in header.split(";")]


async def test_a_tampered_cookie_is_not_a_session(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        value = browser.client.cookies[COOKIE_NAME]
        body, _, signature = value.rpartition(".")
        browser.client.cookies.set(COOKIE_NAME, body + "." + signature[::-1])
        response = await browser.client.get("/queue")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_a_cookie_signed_with_another_key_is_not_a_session(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        stolen = browser.client.cookies[COOKIE_NAME]
    other = world.app(secret=b"another-workspace-key-0123456789")
    async with world.browser(app=other) as browser:
        browser.client.cookies.set(COOKIE_NAME, stolen)
        assert (await browser.client.get("/queue")).status_code == 303


async def test_a_session_ends_after_twelve_hours(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        world.clock.advance(timedelta(hours=11, minutes=59))
        assert (await browser.get("/queue")).status_code == 200
        world.clock.advance(timedelta(minutes=2))
        assert (await browser.get("/queue")).status_code == 303


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        copied = browser.client.cookies[COOKIE_NAME]
        response = await browser.post("/logout")
        assert response.status_code == 303 and response.headers["location"] == "/login"
        page = await browser.follow(response)
        assert "ログアウトしました" in page.text
        assert (await browser.client.get("/queue")).status_code == 303
    async with world.browser() as thief:
        thief.client.cookies.set(COOKIE_NAME, copied)
        assert (await thief.client.get("/queue")).status_code == 303


async def test_a_new_password_ends_other_sessions_but_not_the_owners_own(world: World) -> None:
    async with world.browser() as marketing, world.browser() as owner:
        await marketing.login("marketing")
        await owner.login("owner")
        new = {"password": "completely new words", "password_confirm": "completely new words"}
        marketing_id, owner_id = world.users["marketing"], world.users["owner"]
        assert (await owner.post(f"/users/{marketing_id}/password", new)).status_code == 303
        assert (await marketing.client.get("/queue")).status_code == 303
        assert (await owner.post(f"/users/{owner_id}/password", new)).status_code == 303
        assert (await owner.get("/queue")).status_code == 200
        assert (await marketing.login("marketing", "completely new words")).status_code == 303


async def test_a_removed_user_is_signed_out_at_once(world: World) -> None:
    async with world.browser() as marketing, world.browser() as owner:
        await marketing.login("marketing")
        await owner.login("owner")
        await owner.post(f"/users/{world.users['marketing']}/remove")
        assert (await marketing.client.get("/queue")).status_code == 303


# --- CSRF ------------------------------------------------------------------------------------

CSRF_ROUTES = {
    "/login": {"login": "inchou", "password": PASSWORD},
    "/logout": {},
    "/posts/{post}/approve": {},
    "/posts/{post}/reject": {"comment": "やり直し"},
    "/posts/{post}/reschedule": {"at": "2026-11-27T10:00"},
    "/posts/{post}/cancel": {},
    "/users": {
        "login": "tanaka",
        "role": "marketing",
        "password": "another passphrase",
        "password_confirm": "another passphrase",
    },
    "/users/{user}/password": {
        "password": "brand new words",
        "password_confirm": "brand new words",
    },
    "/users/{user}/remove": {},
    # part 2: accounts, goals, calendar
    "/accounts/verify": {},
    "/goals": {"metric": "followers", "target": "2000", "by": "2027-03-31"},
    "/goals/remove": {"goal": "1"},
    "/calendar": {
        "weekday": "1",
        "at": "12:30",
        "template": "ja/health_tip",
        "accounts": "dr-yamada",
    },
    "/calendar/remove": {"slot": "1"},
    # part 2: the post editor and the template editor (JSON routes get a form here: the token
    # is checked before the body is read)
    "/posts/{post}/edit": {"version": "v", "text-1": "新しい本文"},
    "/posts/{post}/edit/variables": {"version": "v", "var-topic": "食事"},
    "/api/posts/{post}/check": {"variant": "1", "text": "x"},
    "/templates/{lang}/{name}": {"source": "---\ntitle: t\ncategory: c\n---\nhello\n"},
    "/templates/{lang}/{name}/lint": {"source": "---\ntitle: t\ncategory: c\n---\nhello\n"},
    "/api/templates/{lang}/{name}/preview": {"source": "x"},
    "/templates/{lang}/{name}/history/{revision}/restore": {},
}


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's routes, also inside included routers (kept whole by newer FastAPI versions)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def test_every_state_changing_route_is_in_the_csrf_test(world: World) -> None:
    posts = {
        route.path.replace("{post_id}", "{post}").replace("{user_id}", "{user}")
        for route in api_routes(world.app().routes)
        if route.methods - {"GET", "HEAD"}
    }
    assert posts == set(CSRF_ROUTES)


@pytest.mark.parametrize("token", ["missing", "wrong", "another session's"])
@pytest.mark.parametrize("path", list(CSRF_ROUTES))
async def test_a_request_without_the_sessions_csrf_token_is_refused(
    world: World, path: str, token: str
) -> None:
    post = world.post()
    url = path.format(
        post=post, user=world.users["marketing"], lang="ja", name="health_tip", revision=1
    )
    async with world.browser() as other:
        await other.login("owner")
        other_token = await other.csrf()
    async with world.browser() as browser:
        if path != "/login":
            await browser.login("owner")
        else:
            await browser.get("/login")
        before = world.snapshot()
        csrf = {"missing": None, "wrong": "x" * 43, "another session's": other_token}[token]
        response = await browser.post(url, CSRF_ROUTES[path], csrf=csrf)
        assert response.status_code == 403
        assert "再読み込み" in response.text  # "reload the page and try again"
        assert world.snapshot() == before
        if path != "/login":
            assert (await browser.get("/queue")).status_code == 200  # still signed in


async def test_the_token_may_come_in_a_header_for_scripts(world: World) -> None:
    post = world.post()
    async with world.browser() as browser:
        await browser.login("owner")
        response = await browser.client.post(
            f"/posts/{post}/cancel", headers={"X-CSRF-Token": await browser.csrf()}
        )
    assert response.status_code == 303
    assert world.get_post(post)[0].state == "cancelled"


async def test_signing_in_gives_the_session_a_new_csrf_token(world: World) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        before = browser.token
        await browser.login("owner")
        assert browser.token != before
        response = await browser.post(f"/posts/{world.post()}/cancel", csrf=before)
    assert response.status_code == 403


# --- rate limiting ---------------------------------------------------------------------------


async def _fail(browser: Browser, login: str, times: int) -> list[int]:
    codes = []
    for _ in range(times):
        response = await browser.post("/login", {"login": login, "password": "wrong guess!"})
        codes.append(response.status_code)
    return codes


@pytest.mark.parametrize("login", ["inchou", "nobody-by-this-name"])
async def test_five_failures_per_login_in_fifteen_minutes_then_429(
    world: World, login: str
) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        assert await _fail(browser, login, 5) == [401] * 5
        world.clock.advance(timedelta(minutes=3))
        blocked = await browser.post("/login", {"login": login, "password": PASSWORD})
        assert blocked.status_code == 429
        assert "12 分後にもう一度お試しください" in blocked.text
        assert blocked.headers["Retry-After"] == str(12 * 60)
        if login == "inchou":  # even the right password is not checked while blocked
            assert (await browser.client.get("/queue")).status_code == 303
        world.clock.advance(timedelta(minutes=12))
        response = await browser.post("/login", {"login": login, "password": PASSWORD})
        assert response.status_code == (303 if login == "inchou" else 401)


async def test_the_limit_is_per_client_address_too(world: World) -> None:
    world.limits = LoginLimits(per_login=5, per_address=8)
    app = world.app()
    async with world.browser(app=app, address="203.0.113.7") as attacker:
        await attacker.get("/login")
        for n in range(8):
            assert await _fail(attacker, f"guess{n}", 1) == [401]
        blocked = await attacker.post("/login", {"login": "inchou", "password": PASSWORD})
        assert blocked.status_code == 429
    async with world.browser(app=app, address="198.51.100.2") as clinic:
        assert (await clinic.login("owner")).status_code == 303


async def test_a_successful_sign_in_forgets_that_logins_failures(world: World) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        assert await _fail(browser, "inchou", 4) == [401] * 4
        assert (await browser.login("owner")).status_code == 303
    async with world.browser() as browser:
        await browser.get("/login")
        assert await _fail(browser, "inchou", 4) == [401] * 4
        assert (await browser.login("owner")).status_code == 303


async def test_the_rate_limit_message_in_english(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    world = build_world(engine, clock, tmp_path, locale="en")
    async with world.browser() as browser:
        await browser.get("/login")
        await _fail(browser, "inchou", 5)
        blocked = await browser.post("/login", {"login": "inchou", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minute(s)." in blocked.text


# --- the signing key -------------------------------------------------------------------------


def test_the_session_key_is_derived_from_the_workspace_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE=\n")
    derived = session_secret(key_file)
    assert derived == session_secret(key_file) and len(derived) >= 32
    assert b"ZmFrZS1rZXkt" not in derived
    monkeypatch.setenv("BRANDKIT_SECRET_KEY", "b3RoZXIta2V5LWZvci10ZXN0cy1vbmx5LTMyYnl0ZXMh")
    assert session_secret(key_file) != derived
    monkeypatch.delenv("BRANDKIT_SECRET_KEY")
    with pytest.raises(SecretError, match="brandkit init"):
        session_secret(tmp_path / "missing.key")


def test_users_in_the_database_keep_only_hashes(world: World) -> None:
    with session_scope(world.engine) as session:
        for user in session.exec(select(User)).all():
            assert user.password_hash is not None
            assert PASSWORD not in user.password_hash
            assert user.password_hash.startswith("$argon2id$")
