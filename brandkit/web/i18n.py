"""The dashboard's interface strings: one catalogue per language (``messages/<locale>.toml``).

Keys are dotted paths (``queue.title``); values are ``str.format`` templates with named fields.
The language is the workspace's locale (``Workspace.locale``, from ``brandkit.toml``). A key
missing from a catalogue is a bug, and ``tests/test_web_i18n.py`` checks that both catalogues
have the same keys and that every key a template uses exists.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from brandkit.config import SUPPORTED_LOCALES

DEFAULT_LOCALE = "ja"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@cache
def catalogue(locale: str) -> dict[str, str]:
    """Every string of ``locale``'s catalogue by its dotted key."""
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    text = files("brandkit.web").joinpath("messages", f"{locale}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


class Translator:
    """``t("queue.title")`` or ``t("queue.week_of", week="2026-W49")`` in one language."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
        self.messages = catalogue(self.locale)

    def __call__(self, key: str, /, **values: Any) -> str:
        text = self.messages[key]  # KeyError: a key missing from the catalogue is a bug
        return text.format(**values) if values else text

    def label(self, prefix: str, value: object) -> str:
        """``prefix.value`` (a state, a role…), else ``prefix.other``, else the value itself.

        Data can hold values newer than the catalogue (a new state): they show as they are.
        """
        for key in (f"{prefix}.{value}", f"{prefix}.other"):
            if key in self.messages:
                return self(key, value=value)
        return str(value)

    def weekday(self, number: int) -> str:
        """0 (Monday) … 6 as the short weekday name."""
        return self(f"weekday.{number}")
