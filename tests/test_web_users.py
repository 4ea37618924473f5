"""The users page: what an owner can get wrong is refused in one line, and nothing changes."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.web.sessions import COOKIE_NAME
from tests.test_web_harness import ERROR_FINDING, World, build_world


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


def flash_errors(html: str) -> list[str]:
    found = re.findall(r'<p class="flash flash-error"[^>]*>([^<]*)</p>', html)
    return [unescape(message) for message in found]


NEW = {"login": "tanaka", "role": "marketing", "profile": ""}
OK = {"password": "long enough", "password_confirm": "long enough"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**NEW, "password": "long enough one", "password_confirm": "long enough two"}, "differ"),
        ({**NEW, "password": "short", "password_confirm": "short"}, "too short"),
        ({**NEW, **OK, "login": "Yamada"}, "already exists"),
        ({**NEW, **OK, "login": "two words"}, "not allowed"),
        ({**NEW, **OK, "role": "admin"}, "not a role"),
        ({**NEW, **OK, "role": "doctor"}, "must be linked to their doctor profile"),
        ({**NEW, **OK, "role": "doctor", "profile": "tanaka"}, "No doctor profile named 'tanaka'"),
    ],
)  # fmt: skip
async def test_a_bad_new_user_is_refused_in_one_line(
    world: World, form: dict[str, str], message: str
) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        before = world.snapshot()
        page = await browser.follow(await browser.post("/users", form))
    errors = flash_errors(page.text)
    assert len(errors) == 1 and message in errors[0], errors
    assert world.snapshot() == before


async def test_a_doctor_is_added_with_the_chosen_profile(world: World) -> None:
    form = {**NEW, "role": "doctor", "profile": "sato"}
    async with world.browser() as browser:
        await browser.login("owner")
        page = await browser.follow(
            await browser.post(
                "/users", {**form, "password": "long enough", "password_confirm": "long enough"}
            )
        )
        assert "tanaka を「医師」として追加しました。" in page.text
        assert "佐藤 一郎" in page.text
    user = world.user("tanaka")
    assert user is not None and user.profile_id == world.profiles["sato"]


async def test_an_owner_cannot_remove_themselves_nor_the_last_owner(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        before = world.snapshot()
        page = await browser.follow(await browser.post(f"/users/{world.users['owner']}/remove"))
        assert "cannot remove yourself" in flash_errors(page.text)[0]
        assert f'action="/users/{world.users["owner"]}/remove"' not in page.text
        assert world.snapshot() == before
        page = await browser.follow(await browser.post("/users/424242/remove"))
        assert "No user named 424242" in flash_errors(page.text)[0]


async def test_a_long_error_keeps_the_cookie_small(world: World) -> None:
    post = world.post(findings=[{**ERROR_FINDING, "message": "誇大な表現です。" * 400}])
    async with world.browser() as browser:
        await browser.login("doctor")
        for _ in range(4):
            response = await browser.post(f"/posts/{post}/approve")
        cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME)]
        assert cookie and len(cookie[0]) < 4096
        page = await browser.follow(response)
    assert 1 <= len(flash_errors(page.text)) <= 3
