"""The command line as a user runs it: exit codes, one-line errors, JSON listings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from brandkit.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workspace(capsys: pytest.CaptureFixture[str], clean_environ: Path) -> Path:
    code, _, err = run(capsys, "init", "--name", "さくら内科クリニック")
    assert code == 0, err
    return clean_environ


def add_account(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str = "dr-yamada",
    base_url: str = "http://127.0.0.1:9",
) -> int:
    monkeypatch.setenv("TEST_TOKEN", "sandbox-dr_yamada")
    code, _, err = run(
        capsys,
        "accounts",
        "add",
        "mastodon",
        "--name",
        name,
        "--base-url",
        base_url,
        "--token-env",
        "TEST_TOKEN",
    )
    assert code == 0, err
    return code


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("brandkit ")


def test_init_creates_the_workspace_and_is_safe_to_repeat(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    assert (workspace / "brandkit.toml").exists()
    assert (workspace / "brandkit.db").exists()
    assert (workspace / "secret.key").stat().st_mode & 0o777 == 0o600
    code, _, _ = run(capsys, "init")
    assert code == 0


def test_commands_outside_a_workspace_say_to_run_init(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "posts", "list")
    assert code == 78
    assert "brandkit init" in err and "Traceback" not in err + out


def test_a_broken_config_names_file_and_line(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    (workspace / "brandkit.toml").write_text('locale = "ja"\ncolor = 1\n')
    code, _, err = run(capsys, "posts", "list")
    assert code == 78
    assert "brandkit.toml:2" in err and "unknown setting 'color'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, _, err = run(capsys, "posts", "show", "not-a-number")
    assert code == 2 and "Invalid value for 'post_id'" in err


def test_account_token_from_stdin_is_stored_encrypted(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("secret-token-123\n"))
    code, _, err = run(
        capsys,
        "accounts",
        "add",
        "mastodon",
        "--name",
        "clinic",
        "--base-url",
        "https://example.social",
    )
    assert code == 0, err
    assert b"secret-token-123" not in (workspace / "brandkit.db").read_bytes()
    code, out, _ = run(capsys, "accounts", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["clinic"]
    assert "secret-token-123" not in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["accounts", "add", "myspace", "--name", "x", "--base-url", "https://a"],
            66,
            'No platform by the name "myspace"',
        ),
        (
            [
                "accounts",
                "add",
                "mastodon",
                "--name",
                "x",
                "--base-url",
                "https://a",
                "--token-env",
                "NOPE",
            ],
            65,
            "NOPE is not set",
        ),
        (
            [
                "accounts",
                "add",
                "mastodon",
                "--name",
                "x",
                "--base-url",
                "ftp://a",
                "--token-env",
                "TEST_TOKEN",
            ],
            65,
            "must start with https://",
        ),
        (["templates", "show", "ja/nothing"], 66, "No template named 'ja/nothing'"),
        (["templates", "preview", "ja/health_tip", "--var", "novalue"], 65, "not KEY=VALUE"),
        (["posts", "show", "999"], 66, "No post named 999"),
        (
            ["posts", "new", "--text", "x", "--account", "ghost", "--at", "now"],
            66,
            "No account named 'ghost'",
        ),
        (
            ["posts", "new", "--text", "x", "--account", "dr-yamada", "--at", "tomorrow"],
            65,
            "is not a date and time",
        ),
        (["report", "--format", "pdf"], 65, "--format 'pdf' is not supported"),
        (["report", "--period", "2026-13"], 65, "is not a month"),
    ],
)
def test_domain_errors_are_one_line_with_a_meaningful_exit_code(
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    add_account(capsys, monkeypatch)
    got, out, err = run(capsys, *args)
    assert got == code, err
    assert message in err
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) <= 3


def test_draft_approve_and_list_posts(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(capsys, monkeypatch)
    code, out, err = run(
        capsys,
        "posts",
        "new",
        "--template",
        "ja/health_tip",
        "--var",
        "topic=睡眠",
        "--var",
        "tip=早めに寝ましょう。",
        "--var",
        "reason=体が休まります。",
        "--account",
        "dr-yamada",
        "--at",
        "2030-01-06 07:30",
        "--json",
    )
    assert code == 0, err
    created = json.loads(out)
    assert "【健康ワンポイント:睡眠】" in created["variants"][0]["text"]
    code, _, err = run(capsys, "posts", "approve", str(created["id"]))
    assert code == 0, err
    code, _, err = run(capsys, "posts", "approve", str(created["id"]))
    assert code == 69 and "only a draft can be approved" in err
    code, out, _ = run(capsys, "posts", "list", "--json")
    [row] = json.loads(out)
    assert row["state"] == "scheduled"
    assert row["at"].startswith("2030-01-05T22:30")  # 07:30 JST is 22:30 UTC the day before
    code, _, err = run(capsys, "posts", "cancel", str(created["id"]))
    assert code == 0, err
    code, out, _ = run(capsys, "posts", "list", "--state", "cancelled", "--json")
    assert len(json.loads(out)) == 1


def test_lint_errors_block_approval_until_overridden(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(capsys, monkeypatch)
    code, out, _ = run(
        capsys,
        "posts",
        "new",
        "--text",
        "必ず治る治療です。",
        "--account",
        "dr-yamada",
        "--at",
        "2030-01-06 07:30",
        "--json",
    )
    post_id = str(json.loads(out)["id"])
    code, _, err = run(capsys, "posts", "approve", post_id)
    assert code == 69 and "error finding" in err and "--override" in err
    code, _, err = run(capsys, "posts", "approve", post_id, "--override", "引用のため")
    assert code == 0, err


def test_unexpected_errors_are_one_line_unless_debugging(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("brandkit.cli.templates_cmd.TemplateLibrary.all", boom)
    code, out, err = run(capsys, "templates", "list")
    assert code == 70 and "kaboom" in err and "BRANDKIT_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("BRANDKIT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"):
        main(["templates", "list"])


def test_templates_list_json(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, out, _ = run(capsys, "templates", "list", "--json")
    names = {row["name"] for row in json.loads(out)}
    assert {"ja/health_tip", "en/health_tip", "ja/seasonal_alert"} <= names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "8765", "--rate-limit", "lots"], "lots"),
        (["--port", "8765", "--host", "0.0.0.0"], "loopback"),
        (["--port", "8765", "--latency-ms", "-5"], "latency"),
    ],
)
def test_sandbox_serve_refuses_bad_options_before_listening(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "sandbox", "serve", *args)
    assert code == 65
    assert message in err and "Traceback" not in out + err


def test_scheduler_py_is_the_worker(workspace: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "scheduler.py"
    done = subprocess.run(
        [sys.executable, str(script), "--once", "--json"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobs_run"] == 0


def test_init_with_a_typo_writes_nothing(
    capsys: pytest.CaptureFixture[str], clean_environ: Path
) -> None:
    code, _, err = run(capsys, "init", "--timezone", "Asia/Tokio")
    assert code == 78 and "Asia/Tokio" in err
    assert not (clean_environ / "brandkit.toml").exists()
    assert run(capsys, "init", "--timezone", "Asia/Tokyo")[0] == 0


def test_a_password_in_a_bad_database_url_is_never_printed(
    capsys: pytest.CaptureFixture[str], clean_environ: Path
) -> None:
    for url in (
        "postgresql+psycopg://admin:Sup3rS3cret@host:54x2/db",
        "foo bar://admin:Sup3rS3cret@h/db",
    ):
        code, out, err = run(capsys, "--database-url", url, "init")
        assert code == 78, err
        assert "Sup3rS3cret" not in out + err and "***" in err


def test_a_slot_in_the_past_is_refused_then_rescheduled(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(capsys, monkeypatch)
    run(
        capsys,
        "posts",
        "new",
        "--text",
        "昨日の投稿",
        "--account",
        "dr-yamada",
        "--at",
        "2020-01-01 09:00",
        "--json",
    )
    code, _, err = run(capsys, "posts", "approve", "1")
    assert code == 69 and "has passed" in err and "posts reschedule 1" in err
    assert run(capsys, "posts", "reschedule", "1", "--at", "2030-01-01 09:00")[0] == 0
    assert run(capsys, "posts", "approve", "1")[0] == 0
    code, out, _ = run(capsys, "posts", "show", "1", "--json")
    [variant] = json.loads(out)["variants"]
    assert variant["state"] == "scheduled"


def test_verify_does_not_revive_a_disabled_account_and_reauth_replaces_the_token(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import select

    from brandkit.config import load_settings
    from brandkit.db.engine import session_scope
    from brandkit.db.migrate import open_database
    from brandkit.db.models import Account

    add_account(capsys, monkeypatch)
    engine = open_database(load_settings().database_url)
    with session_scope(engine) as session:
        session.exec(select(Account)).one().status = "disabled"
    code, out, _ = run(capsys, "accounts", "verify", "--json")
    assert code == 0 and json.loads(out) == []  # disabled accounts are not checked
    monkeypatch.setattr("sys.stdin", io.StringIO("new-token-456\n"))
    assert run(capsys, "accounts", "reauth", "dr-yamada")[0] == 0
    with session_scope(engine) as session:
        account = session.exec(select(Account)).one()
        assert account.status == "active"
        assert b"new-token-456" not in account.credentials_encrypted
    engine.dispose()


def test_the_config_file_is_the_one_source_of_the_time_zone(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    from sqlmodel import select

    from brandkit.config import load_settings
    from brandkit.db.engine import session_scope
    from brandkit.db.migrate import open_database
    from brandkit.db.models import Workspace

    config = workspace / "brandkit.toml"
    config.write_text(config.read_text().replace('"Asia/Tokyo"', '"Europe/London"'))
    assert run(capsys, "posts", "list")[0] == 0
    engine = open_database(load_settings().database_url)
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).one().timezone == "Europe/London"
    engine.dispose()


def test_the_clinics_own_contact_details_are_not_privacy_findings(
    capsys: pytest.CaptureFixture[str], clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "init", "--name", "さくら内科クリニック", "--phone", "03-1234-5678")[0] == 0
    add_account(capsys, monkeypatch)

    def findings(text: str) -> list[str]:
        code, out, err = run(
            capsys,
            "posts",
            "new",
            "--text",
            text,
            "--account",
            "dr-yamada",
            "--at",
            "2030-01-06 07:30",
            "--json",
        )
        assert code == 0, err
        return [f["rule"] for f in json.loads(out)["variants"][0]["findings"]]

    assert findings("ご予約は 03-1234-5678 までお電話ください。") == []
    assert findings("折り返しは 090-9876-5432 にお願いします。") != []
    assert findings("患者の山田さんが本日来院されました。") != []
