"""``brandkit accounts``: secrets never on the command line, extras, default URLs, verify."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.config import load_settings
from brandkit.db.engine import session_scope
from brandkit.db.migrate import open_database
from brandkit.db.models import Account
from brandkit.platforms import base
from brandkit.platforms.base import Credentials
from brandkit.publishing.jobs import JobQueue
from brandkit.runtime import Runtime
from brandkit.secrets import SecretBox


class AppPasswordConnector:
    """A registered platform with a default API address that builds its own credentials."""

    default_base_url: ClassVar[str | None] = "https://api.fake.example"

    @classmethod
    def credentials_from_secret(cls, secret: str, extra: Mapping[str, str]) -> Credentials:
        if "identifier" not in extra:
            raise ValueError("--set identifier=HANDLE is required")
        return Credentials(token="", extra={**extra, "app_password": secret}).with_updates(
            token="pending"
        )


@pytest.fixture(autouse=True)
def fake_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    known = {**base._registered(), "fakeplat": f"{__name__}:AppPasswordConnector"}
    monkeypatch.setattr(base, "_registered", lambda: known)


@pytest.fixture
def workspace(clean_environ: Path) -> Path:
    assert main(["init", "--name", "さくら内科クリニック"]) == 0
    return clean_environ


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args, stdin=...)``: the exit code, stdout and stderr of one command."""

    def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def stored(name: str) -> tuple[Account, Credentials]:
    settings = load_settings()
    engine = open_database(settings.database_url)
    try:
        with session_scope(engine) as session:
            account = session.exec(select(Account).where(Account.name == name)).one()
        return account, SecretBox.from_key_file(settings.secret_key_file).decrypt(
            account.credentials_encrypted
        )
    finally:
        engine.dispose()


# --- add -------------------------------------------------------------------------------------


def test_extras_are_stored_with_the_token_from_an_environment_variable(
    workspace: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IG_TOKEN", "EAAG-secret-token-1")
    code, out, err = run(
        "accounts",
        "add",
        "mastodon",
        "--name",
        "clinic",
        "--base-url",
        "https://mastodon.example/",
        "--token-env",
        "IG_TOKEN",
        "--set",
        "user_id=17841400000000000",
        "--set",
        "page_id=1234",
    )
    assert code == 0, err
    assert "EAAG-secret-token-1" not in out + err
    account, credentials = stored("clinic")
    assert account.base_url == "https://mastodon.example"
    assert credentials.token == "EAAG-secret-token-1"
    assert dict(credentials.extra) == {"user_id": "17841400000000000", "page_id": "1234"}
    assert b"EAAG-secret-token-1" not in (workspace / "brandkit.db").read_bytes()


def test_the_base_url_defaults_to_the_platforms_and_the_connector_builds_credentials(
    workspace: Path, run: Run
) -> None:
    code, out, err = run(
        "accounts",
        "add",
        "fakeplat",
        "--name",
        "dr-yamada",
        "--set",
        "identifier=yamada.example",
        stdin="abcd-efgh-ijkl-mnop\n",
    )
    assert code == 0, err
    assert "https://api.fake.example" in out and "abcd-efgh" not in out + err
    account, credentials = stored("dr-yamada")
    assert account.base_url == "https://api.fake.example"
    assert credentials.get("app_password") == "abcd-efgh-ijkl-mnop"
    assert credentials.get("identifier") == "yamada.example"
    code, _, err = run(
        "accounts", "add", "fakeplat", "--name", "other", stdin="abcd-efgh-ijkl-mnop\n"
    )
    assert code == 65 and "--set identifier=HANDLE is required" in err


def test_a_platform_without_a_default_address_needs_base_url(workspace: Path, run: Run) -> None:
    code, _, err = run("accounts", "add", "mastodon", "--name", "a", stdin="tok\n")
    assert code == 65
    assert "no default API address" in err and "--base-url" in err


@pytest.mark.parametrize(
    "pair",
    [
        "refresh_token=VALUE-1",
        "client_secret=VALUE-2",
        "app_password=VALUE-3",
        "api_key=VALUE-4",
        "jwt=VALUE-5",
    ],
)
def test_secret_looking_extras_are_refused_with_the_way_to_pass_them(
    workspace: Path, run: Run, pair: str
) -> None:
    code, out, err = run(
        "accounts",
        "add",
        "mastodon",
        "--name",
        "a",
        "--base-url",
        "https://m.example",
        "--set",
        pair,
        stdin="tok\n",
    )
    assert code == 65
    assert "looks like a secret" in err and "--token-env" in err
    assert "VALUE" not in err


@pytest.mark.parametrize("pair", ["novalue", "User ID=1", "user_id="])
def test_malformed_extras_are_refused(workspace: Path, run: Run, pair: str) -> None:
    args = ["accounts", "add", "mastodon", "--name", "a", "--base-url", "https://m.example"]
    code, _, err = run(*args, "--set", pair, stdin="tok\n")
    assert code == 65 and "KEY=VALUE" in err


def test_an_empty_secret_is_refused(workspace: Path, run: Run) -> None:
    args = ["accounts", "add", "mastodon", "--name", "a", "--base-url", "https://m.example"]
    code, _, err = run(*args, stdin="\n")
    assert code == 65 and "empty" in err


# --- reauth ----------------------------------------------------------------------------------


def test_reauth_keeps_ids_and_drops_what_belonged_to_the_old_token(
    workspace: Path, run: Run
) -> None:
    args = ["accounts", "add", "mastodon", "--name", "a", "--base-url", "https://m.example"]
    assert run(*args, "--set", "user_id=9", stdin="old-token\n")[0] == 0
    settings = load_settings()
    engine = open_database(settings.database_url)
    secrets = SecretBox.from_key_file(settings.secret_key_file)
    with session_scope(engine) as session:
        account = session.exec(select(Account)).one()
        account.status = "needs_reauth"
        account.credentials_encrypted = secrets.encrypt(
            Credentials(
                token="old-token",
                extra={"user_id": "9", "refresh_token": "r-old", "expires_at": "2026-01-01"},
            )
        )
    engine.dispose()
    code, out, err = run("accounts", "reauth", "a", stdin="new-token\n")
    assert code == 0, err and "new-token" not in out
    account, credentials = stored("a")
    assert account.status == "active" and credentials.token == "new-token"
    assert dict(credentials.extra) == {"user_id": "9"}


# --- verify ----------------------------------------------------------------------------------


def profile_endpoint(request: httpx.Request) -> httpx.Response:
    """verify_credentials that answers by token: ok, revoked, or down."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if token == "good-token-1":
        return httpx.Response(
            200,
            json={
                "id": "1",
                "acct": "clinic",
                "followers_count": 1234,
                "following_count": 5,
                "statuses_count": 6,
            },
        )
    if token == "revoked-token-2":
        return httpx.Response(401, json={"error": "The access token is invalid"})
    return httpx.Response(503, json={"error": "Service Unavailable\nplease retry"})


@pytest.fixture
def fake_platform_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    clock = SimulatedClock(datetime(2026, 11, 23, tzinfo=UTC))  # backoff sleeps instantly

    def build_runtime(settings: object, engine: Engine, **_: object) -> Runtime:
        return Runtime(
            settings=settings,  # type: ignore[arg-type]
            engine=engine,
            secrets=SecretBox.from_key_file(settings.secret_key_file),  # type: ignore[attr-defined]
            http=httpx.AsyncClient(transport=httpx.MockTransport(profile_endpoint)),
            queue=JobQueue(engine),
            clock=clock,
        )

    monkeypatch.setattr("brandkit.cli.accounts_cmd.build_runtime", build_runtime)
    yield


def test_verify_shows_each_status_and_exits_1_when_one_fails(
    workspace: Path, run: Run, fake_platform_http: None
) -> None:
    for name, token in (("good", "good-token-1"), ("revoked", "revoked-token-2"), ("down", "x-3")):
        args = ["accounts", "add", "mastodon", "--name", name, "--base-url", "https://m.example"]
        assert run(*args, stdin=f"{token}\n")[0] == 0
    code, out, err = run("accounts", "verify")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith("down: error") and "HTTP 503" in lines[0]
    assert lines[1] == "good: ok @clinic, 1,234 followers"
    assert lines[2].startswith("revoked: needs_reauth") and "access token is invalid" in lines[2]
    assert len(lines) == 3  # each message is one line
    for token in ("good-token-1", "revoked-token-2", "x-3"):
        assert token not in out + err
    assert stored("revoked")[0].status == "needs_reauth"
    code, out, _ = run("accounts", "verify", "good", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["ok"]
    code, out, _ = run("accounts", "verify", "revoked", "--json")
    [row] = json.loads(out)
    assert code == 1 and row["status"] == "needs_reauth" and "\n" not in row["error"]
