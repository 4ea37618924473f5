"""``brandkit calendar``, ``topics`` and ``plan`` as a user runs them: output, JSON, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from brandkit.cli import plan_cmd
from brandkit.cli.main import main
from brandkit.clock import SimulatedClock

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 JST, week 2026-W48
CSV = (
    "topic,category,template,priority,not_before,evergreen,var.tip,var.reason\n"
    "減塩,health_tip,,5,,false,スープは半分残しましょう。,塩分が多いからです。\n"
    "歩数,,ja/health_tip,3,,true,一駅分歩きましょう。,血圧が下がります。\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, with rich's wrapping at 80 columns undone."""
    code = main(list(args))
    out, err = capsys.readouterr()
    if "--json" not in args and args[:3] != ("calendar", "export", "-"):
        out = " ".join(out.split())
    return code, out, " ".join(err.split())


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def home(
    capsys: pytest.CaptureFixture[str], clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setattr(plan_cmd, "clock", SimulatedClock(NOW))
    assert run(capsys, "init", "--name", "さくら内科クリニック")[0] == 0
    monkeypatch.setenv("TEST_TOKEN", "sandbox-dr_yamada")
    for name in ("dr-yamada", "sakura-clinic"):
        code, _, err = run(
            capsys,
            "accounts",
            "add",
            "mastodon",
            "--name",
            name,
            "--base-url",
            "http://127.0.0.1:9",
            "--token-env",
            "TEST_TOKEN",
        )
        assert code == 0, err
    return clean_environ


def test_calendar_add_list_remove(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, out, err = run(
        capsys,
        "calendar",
        "add",
        "--weekday",
        "火",
        "--time",
        "12:30",
        "--template",
        "health_tip",
        "--account",
        "dr-yamada",
        "--account",
        "sakura-clinic",
    )
    assert code == 0, err
    assert "Added slot 1: Tue 12:30 ja/health_tip → dr-yamada, sakura-clinic." in out
    added = run_json(
        capsys, "calendar", "add", "--weekday", "fri", "--time", "7:05", "--category",
        "clinic_news", "--account", "sakura-clinic", "--var", "headline=休診", "--var",
        "details=12月29日から",
    )  # fmt: skip
    assert added["time"] == "07:05" and added["variables"] == {
        "headline": "休診",
        "details": "12月29日から",
    }
    rows = run_json(capsys, "calendar", "list")
    assert [(r["id"], r["day"], r["time"], r["origin"]) for r in rows] == [
        (1, "Tue", "12:30", "cli"),
        (2, "Fri", "07:05", "cli"),
    ]
    code, out, _ = run(capsys, "calendar", "remove", "2")
    assert code == 0 and "Slot 2 deleted." in out
    assert [r["id"] for r in run_json(capsys, "calendar", "list", "--all")] == [1]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--weekday", "someday", "--template", "ja/health_tip"], 65, "weekday 'someday'"),
        (["--weekday", "tue", "--time", "24:00", "--template", "ja/health_tip"], 65, "HH:MM"),
        (["--weekday", "tue", "--template", "nope"], 66, "No template named 'nope'"),
        (["--weekday", "tue", "--template", "x", "--category", "y"], 65, "exactly one of"),
        (["--weekday", "tue", "--category", "health_tip", "--var", "x"], 65, "KEY=VALUE"),
    ],
)
def test_calendar_add_errors(
    capsys: pytest.CaptureFixture[str], home: Path, args: list[str], code: int, message: str
) -> None:
    if "--time" not in args:
        args = [*args, "--time", "12:30"]
    got, out, err = run(capsys, "calendar", "add", *args, "--account", "dr-yamada")
    assert got == code and message in err
    assert err.startswith("error:") and err.count("error:") == 1 and "Traceback" not in err + out


def test_unknown_account_and_slot(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(
        capsys, "calendar", "add", "--weekday", "tue", "--time", "12:30", "--template",
        "ja/health_tip", "--account", "nobody",
    )  # fmt: skip
    assert code == 66 and "No account named 'nobody'" in err
    code, _, err = run(capsys, "calendar", "remove", "9")
    assert code == 66 and "No slot named 9" in err


def test_topics_import_plan_and_plan_again(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    for weekday in ("tue", "thu", "sat"):
        run(
            capsys, "calendar", "add", "--weekday", weekday, "--time", "12:30", "--template",
            "ja/health_tip", "--account", "dr-yamada", "--account", "sakura-clinic",
        )  # fmt: skip
    (home / "topics.csv").write_text(CSV, encoding="utf-8")
    code, out, err = run(capsys, "topics", "import", "topics.csv")
    assert code == 0 and "2 topic(s) added" in out, err
    assert run_json(capsys, "topics", "import", "topics.csv")["unchanged"] == 2
    assert [t["topic"] for t in run_json(capsys, "topics", "list")] == ["減塩", "歩数"]

    dry = run_json(capsys, "plan", "--dry-run")
    assert dry["week"] == "2026-W49" and dry["dry_run"] is True  # default: next week
    assert [s["topic"] for s in dry["slots"]] == ["減塩", "歩数", "歩数"]
    assert run_json(capsys, "posts", "list") == []

    code, out, err = run(capsys, "plan")
    assert code == 0, err
    assert "3 post(s) created, 0 already planned" in out and "減塩" in out
    assert len(run_json(capsys, "posts", "list")) == 6  # 3 posts x 2 accounts
    again = run_json(capsys, "plan", "--week", "2026-W49")
    assert [s["status"] for s in again["slots"]] == ["exists"] * 3
    assert len(run_json(capsys, "posts", "list")) == 6
    assert [t["topic"] for t in run_json(capsys, "topics", "list")] == ["歩数"]
    used = run_json(capsys, "topics", "list", "--all")
    assert used[0]["topic"] == "減塩" and used[0]["used_by_post"] == again["slots"][0]["post_id"]


def test_plan_says_when_the_backlog_is_empty(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    run(
        capsys, "calendar", "add", "--weekday", "mon", "--time", "09:00", "--category",
        "health_tip", "--account", "dr-yamada",
    )  # fmt: skip
    code, out, _ = run(capsys, "plan", "--week", "2026-W53", "--dry-run")
    assert code == 0
    assert "2026-W53 (2026-12-28 – 2027-01-03" in out and "Nothing was written" in out
    assert "no topic in the backlog" in out and "brandkit topics import" in out
    code, _, err = run(capsys, "plan", "--week", "2027-W53")
    assert code == 65 and "does not exist" in err


def test_topics_import_errors_name_file_row_and_column(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    (home / "topics.csv").write_text(CSV + "睡眠,health_tip,,soon,,,a,b\n", encoding="utf-8")
    code, _, err = run(capsys, "topics", "import", "topics.csv")
    assert code == 65
    assert "topics.csv, row 4, column priority: 'soon' is not a whole number" in err
    assert run_json(capsys, "topics", "list", "--all") == []
    assert run(capsys, "topics", "import", "missing.yaml")[0] == 66


def test_the_toml_calendar_is_synced_on_plan(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    config = home / "brandkit.toml"
    base = config.read_text(encoding="utf-8")
    entry = '\n[[calendar]]\nweekday = "wed"\ntime = "20:00"\ntemplate = "ja/health_tip"\n'
    config.write_text(base + entry + 'accounts = ["dr-yamada"]\n', encoding="utf-8")
    first = run_json(capsys, "plan", "--week", "2026-W49")
    assert [(s["slot"], s["status"]) for s in first["slots"]] == [
        ("Wed 20:00 ja/health_tip", "new")
    ]
    rows = run_json(capsys, "calendar", "list")
    assert rows[0]["origin"].startswith("brandkit.toml:") and rows[0]["source"] == "config"
    code, _, err = run(capsys, "calendar", "remove", str(rows[0]["id"]))
    assert code == 65 and "delete that [[calendar]] table" in err
    # accounts changed in the file: the same slot, and the planned week stays as it is
    config.write_text(
        base + entry + 'accounts = ["dr-yamada", "sakura-clinic"]\n', encoding="utf-8"
    )
    again = run_json(capsys, "plan", "--week", "2026-W49")
    assert [s["status"] for s in again["slots"]] == ["exists"]
    assert run_json(capsys, "calendar", "list")[0]["accounts"] == ["dr-yamada", "sakura-clinic"]
    # the entry removed: the slot is kept (a post points at it) but no longer planned
    config.write_text(base, encoding="utf-8")
    assert run_json(capsys, "plan", "--week", "2026-W50")["slots"] == []
    assert [r["active"] for r in run_json(capsys, "calendar", "list", "--all")] == [False]
    # a broken entry stops every command with the line to fix
    broken = entry.replace('"wed"', '"someday"') + 'accounts = ["dr-yamada"]\n'
    config.write_text(base + broken, encoding="utf-8")
    code, _, err = run(capsys, "plan")
    line = len(base.splitlines()) + 3
    assert code == 78 and f"brandkit.toml:{line}: [[calendar]] entry 1: weekday" in err


def test_export_writes_ics(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    run(
        capsys, "calendar", "add", "--weekday", "tue", "--time", "12:30", "--template",
        "ja/health_tip", "--account", "dr-yamada",
    )  # fmt: skip
    planned = run_json(capsys, "plan", "--week", "2031-W10")  # far enough for 'approve'
    post_id = str(planned["slots"][0]["post_id"])
    code, _, err = run(capsys, "posts", "approve", post_id)
    assert code == 0, err
    code, out, err = run(capsys, "calendar", "export", "posts.ics")
    assert code == 0 and "Wrote 1 event(s) to posts.ics" in out, err
    data = (home / "posts.ics").read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and b"DTSTART:20310304T033000Z\r\n" in data
    assert b"SUMMARY:dr-yamada: " in data
    code, out, _ = run(
        capsys, "calendar", "export", "-", "--from", "2031-03-05", "--to", "2031-03-31"
    )
    assert code == 0 and "BEGIN:VEVENT" not in out and out.endswith("END:VCALENDAR\r\n")
    code, _, err = run(
        capsys, "calendar", "export", "x.ics", "--from", "2031-03-05", "--to", "2031"
    )
    assert code == 65 and "--to '2031' is not a date" in err
    code, _, err = run(
        capsys, "calendar", "export", "x.ics", "--from", "2031-03-05", "--to", "2031-03-01"
    )
    assert code == 65 and "before --from" in err
