"""The ``[[calendar]]`` tables of brandkit.toml: the weekly slots a clinic keeps in its config.

::

    [[calendar]]
    weekday = "tue"              # mon … sun, 月 … 日, or 0 (Monday) … 6
    time = "12:30"               # wall-clock time in the workspace's zone
    template = "ja/health_tip"   # or: category = "health_tip" (the planner picks a template)
    accounts = ["dr-yamada", "sakura-clinic"]
    variables = { topic = "睡眠" } # optional: used when the topic backlog has nothing

They are parsed here, beside the settings, so that a typo stops every command with the file, the
line and the field, exactly like a bad setting does. Whether the accounts and templates exist is
checked later, when the planner syncs the entries into the ``slot`` table: only it knows the
database and the template library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from brandkit.errors import ConfigError

_DAYS = (
    ("mon", "monday", "月", "月曜", "月曜日"),
    ("tue", "tues", "tuesday", "火", "火曜", "火曜日"),
    ("wed", "wednesday", "水", "水曜", "水曜日"),
    ("thu", "thur", "thurs", "thursday", "木", "木曜", "木曜日"),
    ("fri", "friday", "金", "金曜", "金曜日"),
    ("sat", "saturday", "土", "土曜", "土曜日"),
    ("sun", "sunday", "日", "日曜", "日曜日"),
)
WEEKDAY_NAMES: dict[str, int] = {name: day for day, names in enumerate(_DAYS) for name in names}
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CLOCK_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FIELDS = ("weekday", "time", "template", "category", "accounts", "variables")
_HEADER = re.compile(r"^\s*\[\[\s*(?:brandkit\s*\.\s*)?calendar\s*\]\]")


def weekday_number(value: object) -> int | None:
    """``"tue"``, ``"Tuesday"``, ``"火"`` or ``1`` → 1; anything else → ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 6 else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return weekday_number(int(text))
        return WEEKDAY_NAMES.get(text)
    return None


def clock_time(value: object) -> str | None:
    """``"7:05"`` or a TOML time ``07:05:00`` → ``"07:05"``; anything else → ``None``."""
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo:
            return None
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, str):
        match = CLOCK_PATTERN.match(value.strip())
        if match:
            return f"{int(match[1]):02d}:{match[2]}"
    return None


@dataclass(frozen=True, eq=True)
class CalendarEntry:
    """One ``[[calendar]]`` table, validated, with the place it came from."""

    weekday: int
    time: str
    template: str | None
    category: str | None
    accounts: tuple[str, ...]
    variables: Mapping[str, Any] = field(default_factory=dict, hash=False)
    file: str = "brandkit.toml"
    line: int = 1
    index: int = 1

    @property
    def where(self) -> str:
        """``/home/clinic/brandkit.toml:14: [[calendar]] entry 2``, the start of an error."""
        return f"{self.file}:{self.line}: [[calendar]] entry {self.index}"


def parse_calendar(raw: object, path: Path, text: str) -> tuple[CalendarEntry, ...]:
    """Validate the ``calendar`` value of a parsed brandkit.toml; errors name line and field."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(
            f"{path}:{_line_of_key(text, 'calendar')}: calendar must be [[calendar]] tables",
            hint="write one [[calendar]] table per slot (see 'brandkit calendar --help')",
        )
    lines = _header_lines(text)
    if len(lines) != len(raw):  # written as an inline array: point at the key instead
        lines = [_line_of_key(text, "calendar")] * len(raw)
    entries = [_entry(item, path, text, lines[i], i + 1) for i, item in enumerate(raw)]
    seen: dict[tuple[object, ...], CalendarEntry] = {}
    for entry in entries:
        key = (entry.weekday, entry.time, entry.template, entry.category)
        if key in seen:
            first = seen[key]
            raise ConfigError(
                f"{entry.where}: the same slot as entry {first.index} (line {first.line})",
                hint="merge their accounts into one [[calendar]] table",
            )
        seen[key] = entry
    return tuple(entries)


def _entry(item: object, path: Path, text: str, line: int, index: int) -> CalendarEntry:
    where = f"{path}:{line}: [[calendar]] entry {index}"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: must be a table of weekday, time, template, accounts")

    def fail(name: str, message: str, hint: str) -> ConfigError:
        at = _field_line(text, line, name) or line
        return ConfigError(f"{path}:{at}: [[calendar]] entry {index}: {message}", hint=hint)

    for key in item:
        if key not in FIELDS:
            raise fail(key, f"unknown field {key!r}", f"fields are: {', '.join(FIELDS)}")
    for required in ("weekday", "time", "accounts"):
        if required not in item:
            raise ConfigError(f"{where}: {required} is missing", hint=f"add {required} = …")
    weekday = weekday_number(item["weekday"])
    if weekday is None:
        raise fail(
            "weekday",
            f"weekday = {item['weekday']!r} is not a weekday",
            "use mon … sun, 月 … 日, or 0 (Monday) … 6 (Sunday)",
        )
    at = clock_time(item["time"])
    if at is None:
        raise fail("time", f"time = {item['time']!r} is not HH:MM", 'write it as "12:30"')
    template, category = item.get("template"), item.get("category")
    for name, value in (("template", template), ("category", category)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(name, f"{name} = {value!r} must be a name", f'e.g. {name} = "health_tip"')
    if (template is None) == (category is None):
        raise ConfigError(
            f"{where}: give either template or category, not {'both' if template else 'neither'}",
            hint='template = "ja/health_tip" posts that template; category = "health_tip" lets '
            "the planner choose one of that category",
        )
    accounts = item["accounts"]
    if isinstance(accounts, str):
        accounts = [accounts]
    if (
        not isinstance(accounts, list)
        or not accounts
        or not all(isinstance(a, str) and a.strip() for a in accounts)
    ):
        raise fail(
            "accounts",
            f"accounts = {accounts!r} must list account names",
            'accounts = ["dr-yamada"]',
        )
    variables = item.get("variables", {})
    if not isinstance(variables, Mapping):
        raise fail("variables", "variables must be a table", 'variables = { topic = "睡眠" }')
    return CalendarEntry(
        weekday=weekday,
        time=at,
        template=template.strip() if isinstance(template, str) else None,
        category=category.strip() if isinstance(category, str) else None,
        accounts=tuple(dict.fromkeys(a.strip() for a in accounts)),
        variables=dict(variables),
        file=str(path),
        line=line,
        index=index,
    )


def _header_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if _HEADER.match(line)]


def _line_of_key(text: str, key: str) -> int:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def _field_line(text: str, header: int, key: str) -> int | None:
    """The line of ``key = …`` inside the table that starts at line ``header``."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    lines = text.splitlines()
    for number in range(header + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.lstrip().startswith("["):
            break
        if pattern.match(line):
            return number
    return None


__all__ = [
    "WEEKDAY_LABELS",
    "WEEKDAY_NAMES",
    "CalendarEntry",
    "clock_time",
    "parse_calendar",
    "weekday_number",
]
