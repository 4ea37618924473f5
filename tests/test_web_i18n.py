"""The dashboard speaks the workspace's language: one catalogue per language, complete in both."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.publishing.states import VariantState
from brandkit.web.app import PACKAGE_DIR
from brandkit.web.i18n import Translator, catalogue
from brandkit.web.policy import Action, Role, Scope
from tests.test_web_harness import World, build_world

TEMPLATES = sorted((PACKAGE_DIR / "templates").glob("*.html"))
KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z_.0-9]+)["']""")
LABEL_CALL = re.compile(r"""\bt\.label\(\s*["']([a-z_]+)["']""")
PY_KEY = re.compile(r"""\bt\(\s*f?["']([a-z_]+)\.""")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    ja, en = catalogue("ja"), catalogue("en")
    assert set(ja) == set(en)
    for key in ja:
        assert fields(ja[key]) == fields(en[key]), key


def test_every_key_a_template_uses_exists() -> None:
    keys = set(catalogue("en"))
    prefixes = {k.rsplit(".", 1)[0] for k in keys}
    for template in TEMPLATES:
        source = template.read_text(encoding="utf-8")
        for key in KEY_CALL.findall(source):
            assert key in keys or key.rstrip(".") in prefixes, f"{template.name}: {key}"
        for prefix in LABEL_CALL.findall(source):
            assert prefix in prefixes, f"{template.name}: {prefix}"


def test_every_key_the_code_uses_exists() -> None:
    prefixes = {k.split(".", 1)[0] for k in catalogue("en")}
    for module in (PACKAGE_DIR).rglob("*.py"):
        for prefix in PY_KEY.findall(module.read_text(encoding="utf-8")):
            assert prefix in prefixes, f"{module.name}: {prefix}"


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_every_role_scope_action_and_state_has_words(locale: str) -> None:
    t = Translator(locale)
    for action in Action:
        assert f"action.{action}" in t.messages
    for role in Role:
        assert f"role.{role}" in t.messages and f"role_help.{role}" in t.messages
    for scope in Scope:
        assert f"scope.{scope}" in t.messages
    for state in VariantState:
        assert f"state.{state}" in t.messages
    for number in range(7):
        assert t.weekday(number)


def test_unknown_values_show_as_they_are() -> None:
    t = Translator("ja")
    assert t.label("state", "draft") == "下書き"
    assert t.label("state", "someday") == "someday"
    assert t.label("error.title", 418) == "エラー 418"
    assert Translator("fr").locale == "ja"  # an unsupported locale falls back to Japanese


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ja", ['<html lang="ja">', "ログイン名", "パスワード", "2026-W48 の週", "11月23日（月）"]),
        ("en", ['<html lang="en">', "Login", "Password", "Week 2026-W48", "Mon 23/11"]),
    ],
)
async def test_the_interface_follows_the_workspace_locale(
    engine: Engine, clock: SimulatedClock, tmp_path: Path, locale: str, expected: list[str]
) -> None:
    world: World = build_world(engine, clock, tmp_path, locale=locale)
    world.post(at=clock.now() + timedelta(hours=1))
    async with world.browser() as browser:
        login_page = (await browser.get("/login")).text
        await browser.login("owner")
        queue = (await browser.get("/queue")).text
        users = (await browser.get("/users")).text
    assert all(text in login_page + queue for text in expected)
    other = "en" if locale == "ja" else "ja"
    for page in (login_page, queue, users):
        for key in ("login.submit", "queue.previous", "users.add", "nav.sign_out"):
            word = catalogue(other)[key]
            if word != catalogue(locale)[key]:
                assert word not in page, (locale, key)
