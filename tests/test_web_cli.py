"""``brandkit users`` and ``brandkit web`` as a person runs them."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from brandkit.cli.main import main
from brandkit.db.engine import session_scope
from brandkit.db.migrate import open_database
from brandkit.db.models import Profile, User, Workspace


def run(
    capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workspace(
    capsys: pytest.CaptureFixture[str], clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setattr(sys, "stdin", sys.stdin)  # restored after each test
    code, _, err = run(capsys, "init", "--name", "さくら内科クリニック")
    assert code == 0, err
    return clean_environ


def add_profiles(home: Path, *slugs: str) -> None:
    engine = open_database(f"sqlite:///{home / 'brandkit.db'}")
    with session_scope(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        assert workspace.id is not None
        for slug in slugs:
            session.add(Profile(workspace_id=workspace.id, slug=slug, display_name=slug))
    engine.dispose()


def users(home: Path) -> list[User]:
    engine = open_database(f"sqlite:///{home / 'brandkit.db'}")
    with session_scope(engine) as session:
        rows = list(session.exec(select(User)).all())
    engine.dispose()
    return rows


def test_add_list_passwd_remove(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, out, err = run(
        capsys, "users", "add", "Inchou", "--role", "owner", stdin="a long passphrase\n"
    )
    assert code == 0, err
    assert "Added 'inchou' as owner" in out
    code, out, _ = run(
        capsys, "users", "add", "suzuki", "--role", "marketing", stdin="another one here\n"
    )
    assert code == 0
    code, out, _ = run(capsys, "users", "list", "--json")
    rows = json.loads(out)
    assert [(r["login"], r["role"], r["profile"]) for r in rows] == [
        ("inchou", "owner", None),
        ("suzuki", "marketing", None),
    ]
    (before,) = [u for u in users(workspace) if u.login == "suzuki"]
    code, out, _ = run(capsys, "users", "passwd", "suzuki", stdin="a third passphrase\n")
    assert code == 0 and "open sessions have ended" in out
    (after,) = [u for u in users(workspace) if u.login == "suzuki"]
    assert after.password_hash != before.password_hash
    assert after.session_version == before.session_version + 1
    assert after.password_hash is not None and after.password_hash.startswith("$argon2id$")
    code, out, _ = run(capsys, "users", "remove", "suzuki")
    assert code == 0 and [u.login for u in users(workspace)] == ["inchou"]
    code, out, _ = run(capsys, "users", "list")
    assert "inchou" in out and "owner" in out


def test_the_last_owner_stays(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    run(capsys, "users", "add", "inchou", "--role", "owner", stdin="a long passphrase\n")
    code, _, err = run(capsys, "users", "remove", "inchou")
    assert code == 69 and "last owner" in err and "add another owner first" in err


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("short\n", "too short"),
        ("\n", "no password on standard input"),
        ("yamada-sensei\n", "must not be the login"),
    ],
)
def test_bad_passwords_are_refused(
    capsys: pytest.CaptureFixture[str], workspace: Path, stdin: str, message: str
) -> None:
    code, _, err = run(capsys, "users", "add", "yamada-sensei", "--role", "owner", stdin=stdin)
    assert code == 65 and message in err and "Traceback" not in err


def test_a_password_is_never_an_argument(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    code, _, err = run(capsys, "users", "add", "x", "--role", "owner", "--password", "secret12345")
    assert code == 2 and "--password" in err


def test_the_prompt_hides_the_password_and_asks_twice(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict[str, Any]] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def prompt(text: str, **kwargs: Any) -> str:
        asked.append({"text": text, **kwargs})
        return "typed twice, the same"

    monkeypatch.setattr("typer.prompt", prompt)
    monkeypatch.setattr(sys, "stdin", Terminal())
    code, _, err = run(capsys, "users", "add", "inchou", "--role", "owner")
    assert code == 0, err
    assert asked == [{"text": "Password", "hide_input": True, "confirmation_prompt": True}]


def test_a_doctor_is_linked_to_a_profile(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    code, _, err = run(capsys, "users", "add", "a", "--role", "doctor", stdin="a long passphrase\n")
    assert code == 0 and "can approve no posts" in err  # no profile yet: linked to nothing
    add_profiles(workspace, "yamada")
    code, out, _ = run(capsys, "users", "add", "b", "--role", "doctor", stdin="a long passphrase\n")
    assert code == 0 and "linked to the doctor profile 'yamada'" in out  # the only one
    add_profiles(workspace, "sato")
    code, _, err = run(capsys, "users", "add", "c", "--role", "doctor", stdin="a long passphrase\n")
    assert code == 65 and "--profile with one of: yamada, sato" in err
    code, _, _ = run(
        capsys,
        "users",
        "add",
        "c",
        "--role",
        "doctor",
        "--profile",
        "sato",
        stdin="a long passphrase\n",
    )
    assert code == 0
    code, _, err = run(
        capsys,
        "users",
        "add",
        "d",
        "--role",
        "owner",
        "--profile",
        "sato",
        stdin="a long passphrase\n",
    )
    assert code == 65 and "only a doctor" in err
    code, _, err = run(
        capsys,
        "users",
        "add",
        "e",
        "--role",
        "doctor",
        "--profile",
        "tanaka",
        stdin="a long passphrase\n",
    )
    assert code == 66 and "known profiles: yamada, sato" in err
    code, out, _ = run(capsys, "users", "list", "--json")
    assert {r["login"]: r["profile"] for r in json.loads(out)} == {
        "a": None,
        "b": "yamada",
        "c": "sato",
    }


def test_logins_are_unique_and_well_formed(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    assert (
        run(capsys, "users", "add", "inchou", "--role", "owner", stdin="a long passphrase\n")[0]
        == 0
    )
    code, _, err = run(
        capsys, "users", "add", "INCHOU", "--role", "owner", stdin="a long passphrase\n"
    )
    assert code == 65 and "already exists" in err
    code, _, err = run(
        capsys, "users", "add", "two words", "--role", "owner", stdin="a long passphrase\n"
    )
    assert code == 65 and "not allowed" in err
    code, _, err = run(capsys, "users", "add", "x", "--role", "admin", stdin="a long passphrase\n")
    assert code == 2


def test_web_serves_the_app_with_uvicorn(
    capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        served.update(kwargs, app=app)

    monkeypatch.setattr("uvicorn.run", fake_run)
    code, out, err = run(capsys, "web", "--port", "8123")
    assert code == 0, err
    assert served["host"] == "127.0.0.1" and served["port"] == 8123
    assert served["proxy_headers"] is True
    assert "http://127.0.0.1:8123/" in out
    assert "brandkit users add LOGIN --role owner" in err  # no users yet
    routes = {getattr(r, "path", None) for r in served["app"].routes}
    assert "/static" in routes
    code, _, err = run(capsys, "web", "--host", "0.0.0.0")
    assert "https proxy" in err


def test_web_outside_a_workspace_says_to_run_init(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "web")
    assert code == 78 and "brandkit init" in err
