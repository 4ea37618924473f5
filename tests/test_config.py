"""Settings precedence and the errors a user sees for a bad brandkit.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.config import SETTINGS, load_settings, render_config_file
from brandkit.errors import ConfigError


def test_defaults_put_the_database_beside_the_config(clean_environ: Path) -> None:
    settings = load_settings()
    assert settings.home == clean_environ
    assert settings.database_url == f"sqlite:///{clean_environ / 'brandkit.db'}"
    assert settings.timezone == "Asia/Tokyo"
    assert settings.locale == "ja"
    assert settings.secret_key_file == clean_environ / "secret.key"


def test_precedence_flag_over_env_over_file(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environ / "brandkit.toml").write_text(
        'timezone = "Europe/London"\nlocale = "en"\nhttp_timeout = 5\n', encoding="utf-8"
    )
    assert load_settings().timezone == "Europe/London"
    monkeypatch.setenv("BRANDKIT_TIMEZONE", "America/New_York")
    assert load_settings().timezone == "America/New_York"
    assert load_settings(timezone="UTC").timezone == "UTC"
    settings = load_settings()
    assert settings.locale == "en" and settings.http_timeout == 5.0


def test_relative_sqlite_url_is_relative_to_the_workspace(clean_environ: Path) -> None:
    (clean_environ / "brandkit.toml").write_text('database_url = "sqlite:///data/bk.db"\n')
    assert load_settings().database_url == f"sqlite:///{clean_environ / 'data/bk.db'}"


def test_template_dirs_from_env_use_the_path_separator(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANDKIT_TEMPLATE_DIRS", "a:/abs/b")
    assert load_settings().template_dirs == (clean_environ / "a", Path("/abs/b"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("timezone = \n", "brandkit.toml"),
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ('timezone = "Mars/Olympus"\n', "not a known IANA time zone"),
        ('locale = "fr"\n', "locale 'fr' is not supported"),
        ('http_timeout = "soon"\n', "http_timeout = 'soon' is not a valid float"),
        ("sync_interval_minutes = 0\n", "sync_interval_minutes = 0 is out of range"),
        ('report_time = "25:00"\n', "brandkit.toml:1: report_time = '25:00' is not a 24-hour"),
        ("report_time = 8\n", "report_time = 8 is not a 24-hour time"),
        ('locale = "en"\nreport_day = "someday"\n', "brandkit.toml:2: report_day = 'someday'"),
    ],
)
def test_bad_config_names_the_problem(clean_environ: Path, content: str, expected: str) -> None:
    (clean_environ / "brandkit.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert expected in str(info.value)


def test_unknown_key_error_names_the_line(clean_environ: Path) -> None:
    (clean_environ / "brandkit.toml").write_text('locale = "ja"\n\ncolour = "blue"\n')
    with pytest.raises(ConfigError, match=r"brandkit.toml:3: unknown setting"):
        load_settings()


def test_non_utf8_config_is_a_clear_error(clean_environ: Path) -> None:
    (clean_environ / "brandkit.toml").write_bytes(b'timezone = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_settings()


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDKIT_HTTP_TIMEOUT", "fast")
    with pytest.raises(ConfigError, match="BRANDKIT_HTTP_TIMEOUT"):
        load_settings()


def test_rendered_config_file_loads_and_documents_every_setting(clean_environ: Path) -> None:
    text = render_config_file({"timezone": "Europe/London", "locale": "en"})
    for setting in SETTINGS:
        assert setting.key in text
    (clean_environ / "brandkit.toml").write_text(text, encoding="utf-8")
    settings = load_settings()
    assert (settings.timezone, settings.locale) == ("Europe/London", "en")


def test_report_schedule_is_normalised_and_its_folder_is_relative_to_the_workspace(
    clean_environ: Path,
) -> None:
    (clean_environ / "brandkit.toml").write_text(
        'report_day = "金"\nreport_time = 07:30:00\nreports_dir = "out/weekly"\n',
        encoding="utf-8",
    )
    settings = load_settings()
    assert (settings.report_day, settings.report_time) == ("fri", "07:30")
    assert settings.reports_dir == clean_environ / "out" / "weekly"
    assert load_settings(report_day="Sunday", report_time="7:05").report_time == "07:05"


def test_a_bad_report_time_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDKIT_REPORT_TIME", "8am")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "BRANDKIT_REPORT_TIME" in message and "'8am'" in message
    assert 'report_time = "08:00"' in message
    monkeypatch.delenv("BRANDKIT_REPORT_TIME")
    with pytest.raises(ConfigError, match="report_day = 'noday'"):
        load_settings(report_day="noday")
