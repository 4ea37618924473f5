"""Settings: one place that knows where every value comes from.

Precedence, highest first: command-line flag > ``BRANDKIT_*`` environment variable >
``brandkit.toml`` (in ``BRANDKIT_HOME`` or the working directory) > built-in default.
Every setting is listed once, in :data:`SETTINGS`, so the docs test can check that each is
documented and ``brandkit init`` can write a commented config file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brandkit.calendar_config import CalendarEntry, clock_time, parse_calendar, weekday_number
from brandkit.errors import ConfigError

CONFIG_FILENAME = "brandkit.toml"
SUPPORTED_LOCALES = ("ja", "en")
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Setting:
    """One configurable value: its key in brandkit.toml, its type and what it is for."""

    key: str
    kind: type
    default: Any
    help: str
    parse: Callable[[Any], Any] | None = None
    """For values with a format: returns the normal form, or ``None`` for a bad value."""
    expect: str = ""
    """What ``parse`` accepts, for the error message."""

    @property
    def env_var(self) -> str:
        return "BRANDKIT_" + self.key.upper()


def _weekday_key(value: Any) -> str | None:
    number = weekday_number(value)
    return None if number is None else WEEKDAY_KEYS[number]


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL; default is the SQLite file brandkit.db beside the config. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    ),
    Setting("timezone", str, "Asia/Tokyo", "IANA time zone used to plan and show times"),
    Setting("locale", str, "ja", "language of the interface and reports: ja or en"),
    Setting(
        "template_dirs",
        list,
        [],
        "extra template directories searched before the built-in library",
    ),
    Setting(
        "secret_key_file",
        str,
        "secret.key",
        "file holding the key that encrypts account credentials (relative to the config)",
    ),
    Setting("http_timeout", float, 20.0, "seconds to wait for a platform's HTTP answer"),
    Setting(
        "publish_grace_minutes",
        int,
        60,
        "a post due while the worker was down is still published within this many minutes",
    ),
    Setting("sync_interval_minutes", int, 360, "how often the worker pulls account metrics"),
    Setting(
        "report_day",
        str,
        "mon",
        "day of the week on which the worker writes last week's report: mon … sun",
        parse=_weekday_key,
        expect="a weekday: mon, tue, wed, thu, fri, sat or sun (or 月 … 日)",
    ),
    Setting(
        "report_time",
        str,
        "08:00",
        "local time (HH:MM, 24-hour, in timezone) at which the worker writes the weekly report",
        parse=clock_time,
        expect='a 24-hour time such as "08:00" or "17:30"',
    ),
    Setting(
        "reports_dir",
        str,
        "reports",
        "folder the worker writes the weekly reports into (relative to the config)",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}
REPORT_SCHEDULE = ("report_day", "report_time")


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one workspace directory."""

    home: Path
    database_url: str
    timezone: str = "Asia/Tokyo"
    locale: str = "ja"
    template_dirs: tuple[Path, ...] = ()
    secret_key_file: Path = field(default=Path("secret.key"))
    http_timeout: float = 20.0
    publish_grace_minutes: int = 60
    sync_interval_minutes: int = 360
    report_day: str = "mon"
    report_time: str = "08:00"
    reports_dir: Path = field(default=Path("reports"))
    config_file: Path | None = None
    calendar: tuple[CalendarEntry, ...] = ()  # the [[calendar]] tables, see calendar_config.py

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def default_home() -> Path:
    """``BRANDKIT_HOME`` if set, else the working directory."""
    env = os.environ.get("BRANDKIT_HOME")
    return Path(env).expanduser().resolve() if env else Path.cwd().resolve()


def load_settings(
    home: Path | None = None, environ: Mapping[str, str] | None = None, **flags: Any
) -> Settings:
    """Resolve settings for ``home`` from the file, the environment and ``flags``."""
    environ = os.environ if environ is None else environ
    home = (home or default_home()).resolve()
    config_file = home / CONFIG_FILENAME
    raw: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    calendar: tuple[CalendarEntry, ...] = ()
    if config_file.exists():
        values, calendar = _read_toml(config_file)
        raw.update(values)
    for setting in SETTINGS:
        if setting.env_var in environ:
            raw[setting.key] = _from_env(setting, environ[setting.env_var])
    raw.update({k: v for k, v in flags.items() if v is not None})
    settings = _build(home, raw, config_file if config_file.exists() else None, source="settings")
    return replace(settings, calendar=calendar)


def _read_toml(path: Path) -> tuple[dict[str, Any], tuple[CalendarEntry, ...]]:
    """The settings and the ``[[calendar]]`` tables of one brandkit.toml."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", hint="fix the TOML syntax at that line") from exc
    section = data.get("brandkit", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [brandkit] must be a table")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key == "calendar":  # the planner's slots live beside the settings
            continue
        setting = _BY_KEY.get(key)
        if setting is None:
            line = _line_of(text, key)
            raise ConfigError(
                f"{path}:{line}: unknown setting {key!r}",
                hint=f"known settings: {', '.join(sorted(_BY_KEY))}, and [[calendar]] tables",
            )
        values[key] = _coerce(setting, value, f"{path}:{_line_of(text, key)}")
    raw_calendar = section.get("calendar", data.get("calendar"))
    return values, parse_calendar(raw_calendar, path, text)


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(key):
            return number
    return 1


def _from_env(setting: Setting, value: str) -> Any:
    if setting.kind is list:
        return [p for p in value.split(os.pathsep) if p]
    return _coerce(setting, value, f"environment variable {setting.env_var}")


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    if setting.parse is not None:
        return _parse(setting, value, where)
    try:
        if setting.kind is list:
            if isinstance(value, str):
                return [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError
            return value
        if setting.kind is float:
            return float(value)
        if setting.kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: {setting.key} = {value!r} is not a valid {setting.kind.__name__}",
            hint=setting.help,
        ) from exc


def _parse(setting: Setting, value: Any, where: str) -> Any:
    """A value with a format (a weekday, a time of day) in its normal form, or a clear error."""
    parsed = setting.parse(value) if setting.parse is not None else value
    if parsed is None:
        raise ConfigError(
            f"{where}: {setting.key} = {value!r} is not {setting.expect}",
            hint=f"for example {setting.key} = {_toml_value(setting.default)}: {setting.help}",
        )
    return parsed


def _build(home: Path, raw: Mapping[str, Any], config_file: Path | None, source: str) -> Settings:
    timezone = str(raw["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{source}: timezone {timezone!r} is not a known IANA time zone",
            hint="use a name such as Asia/Tokyo or America/New_York",
        ) from exc
    locale = str(raw["locale"])
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(
            f"{source}: locale {locale!r} is not supported",
            hint=f"use one of: {', '.join(SUPPORTED_LOCALES)}",
        )
    timeout = float(raw["http_timeout"])
    if not timeout > 0:
        raise ConfigError(f"{source}: http_timeout must be positive, not {timeout}")
    for key in ("publish_grace_minutes", "sync_interval_minutes"):
        if int(raw[key]) < (1 if key == "sync_interval_minutes" else 0):
            raise ConfigError(f"{source}: {key} = {raw[key]} is out of range")
    report_day, report_time = (_parse(_BY_KEY[k], raw[k], source) for k in REPORT_SCHEDULE)
    database_url = _resolve_sqlite(home, str(raw["database_url"]) or "sqlite:///brandkit.db")
    return Settings(
        home=home,
        database_url=database_url,
        timezone=timezone,
        locale=locale,
        template_dirs=tuple(_resolve(home, p) for p in raw["template_dirs"]),
        secret_key_file=_resolve(home, str(raw["secret_key_file"])),
        http_timeout=timeout,
        publish_grace_minutes=int(raw["publish_grace_minutes"]),
        sync_interval_minutes=int(raw["sync_interval_minutes"]),
        report_day=report_day,
        report_time=report_time,
        reports_dir=_resolve(home, str(raw["reports_dir"])),
        config_file=config_file,
    )


def _resolve_sqlite(home: Path, url: str) -> str:
    """A relative SQLite path is relative to the workspace, not to the current directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(home / url.removeprefix(prefix))
    return url


def _resolve(home: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


def render_config_file(values: Mapping[str, Any] | None = None) -> str:
    """The text of a new brandkit.toml: every setting with its help as a comment.

    Settings not given in ``values`` are written commented out at their default, so the file
    documents itself and later defaults still apply.
    """
    values = values or {}
    lines = [
        "# brandkit workspace settings. Environment variables BRANDKIT_<KEY> override them,",
        "# and command-line flags override both.",
        "",
    ]
    for setting in SETTINGS:
        lines.append(f"# {setting.help}")
        if setting.key in values:
            lines.append(f"{setting.key} = {_toml_value(values[setting.key])}")
        else:
            default = setting.default if setting.key != "database_url" else "sqlite:///brandkit.db"
            lines.append(f"# {setting.key} = {_toml_value(default)}")
        lines.append("")
    lines += [
        "# The weekly calendar: one [[calendar]] table per slot ('brandkit plan' reads them).",
        "# [[calendar]]",
        '# weekday = "tue"                  # mon … sun, 月 … 日, or 0 (Monday) … 6',
        '# time = "12:30"                   # local time in the time zone above',
        '# template = "ja/health_tip"       # or: category = "health_tip"',
        '# accounts = ["dr-yamada"]',
        '# variables = { topic = "睡眠" }   # optional, when the topic backlog has nothing',
        "",
    ]
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(str(v)) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


__all__ = [
    "CONFIG_FILENAME",
    "WEEKDAY_KEYS",
    "CalendarEntry",
    "SETTINGS",
    "Setting",
    "Settings",
    "default_home",
    "load_settings",
    "render_config_file",
]
