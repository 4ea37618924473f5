"""The [[calendar]] tables of brandkit.toml: read with the settings, errors name line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.config import load_settings, render_config_file
from brandkit.errors import ConfigError

GOOD = """timezone = "Asia/Tokyo"

[[calendar]]
weekday = "tue"
time = "12:30"
template = "ja/health_tip"
accounts = ["dr-yamada", "sakura-clinic"]

[[calendar]]
weekday = "金"
time = 07:05:00
category = "health_tip"
accounts = "dr-yamada"
variables = { topic = "睡眠", tip = "早寝", reason = "よく眠れる" }
"""


def write(home: Path, text: str) -> Path:
    path = home / "brandkit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calendar_tables_are_read_with_their_lines(clean_environ: Path) -> None:
    path = write(clean_environ, GOOD)
    settings = load_settings()
    assert settings.timezone == "Asia/Tokyo"
    first, second = settings.calendar
    assert (first.weekday, first.time, first.template, first.category) == (
        1,
        "12:30",
        "ja/health_tip",
        None,
    )
    assert first.accounts == ("dr-yamada", "sakura-clinic") and first.line == 3
    assert (second.weekday, second.time, second.category, second.accounts) == (
        4,
        "07:05",
        "health_tip",
        ("dr-yamada",),
    )
    assert second.variables["topic"] == "睡眠" and second.line == 9
    assert second.where == f"{path}:9: [[calendar]] entry 2"


def test_calendar_inside_a_brandkit_table(clean_environ: Path) -> None:
    write(
        clean_environ,
        '[brandkit]\nlocale = "en"\n\n[[brandkit.calendar]]\nweekday = 0\ntime = "9:00"\n'
        'template = "en/health_tip"\naccounts = ["dr-smith"]\n',
    )
    settings = load_settings()
    assert settings.locale == "en"
    assert [(e.weekday, e.time, e.line) for e in settings.calendar] == [(0, "09:00", 4)]


def test_no_calendar_is_an_empty_one(clean_environ: Path) -> None:
    write(clean_environ, 'locale = "ja"\n')
    assert load_settings().calendar == ()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('weekday = "someday"', ":4: [[calendar]] entry 1: weekday = 'someday' is not a weekday"),
        ("weekday = 7", ":4: [[calendar]] entry 1: weekday = 7 is not a weekday"),
        ('time = "25:00"', ":5: [[calendar]] entry 1: time = '25:00' is not HH:MM"),
        ("accounts = []", ":7: [[calendar]] entry 1: accounts = [] must list account names"),
        ("accounts = [1]", ":7: [[calendar]] entry 1: accounts = [1] must list account names"),
        ('colour = "red"', ":8: [[calendar]] entry 1: unknown field 'colour'"),
        ('category = "x"', ":3: [[calendar]] entry 1: give either template or category, not both"),
        ('variables = "x"', ":8: [[calendar]] entry 1: variables must be a table"),
        ('template = ""', ":6: [[calendar]] entry 1: template = '' must be a name"),
    ],
)
def test_a_bad_entry_names_file_line_and_field(
    clean_environ: Path, entry: str, expected: str
) -> None:
    base = {
        "weekday": 'weekday = "tue"',
        "time": 'time = "12:30"',
        "template": 'template = "ja/health_tip"',
        "accounts": 'accounts = ["dr-yamada"]',
    }
    key = entry.split(" ")[0]
    if key in base:
        base[key] = entry
    lines = ["# clinic", "", "[[calendar]]", *base.values()]
    if key not in base:
        lines.append(entry)
    path = write(clean_environ, "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(str(path) + expected)
    assert info.value.exit_code == 78


def test_a_missing_field_and_a_duplicate_entry(clean_environ: Path) -> None:
    write(clean_environ, '[[calendar]]\nweekday = "tue"\ntime = "12:30"\ntemplate = "x"\n')
    with pytest.raises(ConfigError, match=r"toml:1: \[\[calendar\]\] entry 1: accounts is missing"):
        load_settings()
    one = '[[calendar]]\nweekday = "tue"\ntime = "12:30"\ntemplate = "x"\naccounts = ["a"]\n'
    write(clean_environ, one + "\n" + one.replace('"tue"', '"火"'))
    with pytest.raises(
        ConfigError, match=r"toml:7: \[\[calendar\]\] entry 2: the same slot as entry 1"
    ):
        load_settings()


def test_an_unknown_top_level_key_still_fails_and_mentions_the_calendar(
    clean_environ: Path,
) -> None:
    write(clean_environ, "slots = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'slots'.*\\[\\[calendar\\]\\]"):
        load_settings()


def test_the_new_config_file_shows_a_commented_calendar_example(clean_environ: Path) -> None:
    text = render_config_file()
    assert "# [[calendar]]" in text
    write(clean_environ, text)
    assert load_settings().calendar == ()
    uncommented = text.replace("# [[calendar]]", "[[calendar]]").replace("# weekday", "weekday")
    uncommented = uncommented.replace("# time =", "time =").replace("# template =", "template =")
    uncommented = uncommented.replace("# accounts =", "accounts =")
    write(clean_environ, uncommented)
    (entry,) = load_settings().calendar
    assert (entry.weekday, entry.time, entry.template, entry.accounts) == (
        1,
        "12:30",
        "ja/health_tip",
        ("dr-yamada",),
    )
