"""``brandkit auth``: PKCE, the loopback callback and the code exchange, end to end.

The callback server really listens on 127.0.0.1; an ``httpx`` client plays the browser (it reads
the authorize URL and comes back to the redirect URI as the platform would send it), and the
token endpoint is an ``httpx.MockTransport``. No request leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlmodel import select

from brandkit.cli.main import main
from brandkit.config import load_settings
from brandkit.db.engine import session_scope
from brandkit.db.migrate import open_database
from brandkit.db.models import Account
from brandkit.errors import PlatformError
from brandkit.platforms.authflow import (
    AuthRequest,
    Callback,
    LoopbackServer,
    authorize,
    code_challenge,
    code_verifier,
)
from brandkit.platforms.base import Credentials
from brandkit.platforms.oauth import OAuthSpec
from tests.test_accounts_cli import stored

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SPEC = OAuthSpec(
    authorize_url="https://auth.example/oauth2/authorize",
    token_url="/2/oauth2/token",
    scopes=("tweet.read", "offline.access"),
    pkce=True,
    client_auth="basic",
)
ACCESS = "access-TOKEN-aaaa1111"
REFRESH = "refresh-TOKEN-bbbb2222"
SECRET = "client-SECRET-cccc3333"


class TokenEndpoint:
    """The platform's token endpoint: records each request and answers as configured."""

    def __init__(self, status: int = 200, body: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.body = body or {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "expires_in": 7200,
            "token_type": "bearer",
            "scope": "tweet.read offline.access",
        }
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)

    @property
    def form(self) -> dict[str, str]:
        [request] = self.requests
        return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Browser:
    """Plays the person's browser: reads the authorize URL, then follows the redirect."""

    def __init__(self, answer: Callable[[dict[str, str]], Mapping[str, str] | None]) -> None:
        self.answer = answer
        self.url: str | None = None
        self.page: httpx.Response | None = None
        self.extra_pages: list[httpx.Response] = []
        self._task: asyncio.Task[None] | None = None

    def __call__(self, url: str) -> None:
        self.url = url
        self._task = asyncio.get_running_loop().create_task(self._visit(url))

    async def _visit(self, url: str) -> None:
        params = query_of(url)
        reply = self.answer(params)
        if reply is None:  # the person never comes back
            return
        async with httpx.AsyncClient() as browser:  # real TCP, to 127.0.0.1 only
            base = params["redirect_uri"]
            self.extra_pages.append(await browser.get(base.replace("/callback", "/favicon.ico")))
            self.page = await browser.get(f"{base}?{urlencode(reply)}")

    async def finished(self) -> None:
        if self._task is not None:
            await self._task


def approve(params: dict[str, str]) -> dict[str, str]:
    return {"code": "the-CODE-dddd4444", "state": params["state"]}


def make_request(**changes: Any) -> AuthRequest:
    values: dict[str, Any] = {
        "platform": "x",
        "spec": SPEC,
        "base_url": "https://api.example",
        "client_id": "client-123",
        "client_secret": SECRET,
        "locale": "ja",
    }
    return AuthRequest(**(values | changes))


async def run_flow(
    browser: Browser, endpoint: TokenEndpoint, request: AuthRequest | None = None
) -> Credentials:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        try:
            return await authorize(
                request or make_request(), client=client, show_url=browser, now=lambda: NOW
            )
        finally:
            await browser.finished()


# --- PKCE ------------------------------------------------------------------------------------


def test_the_challenge_matches_rfc_7636_appendix_b() -> None:
    octets = bytes(
        [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186]
        + [22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
    )
    verifier = base64.urlsafe_b64encode(octets).rstrip(b"=").decode()
    assert verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_random_and_unreserved() -> None:
    made = {code_verifier() for _ in range(50)}
    assert len(made) == 50
    for verifier in made:
        assert 43 <= len(verifier) <= 128  # RFC 7636 §4.1
        assert set(verifier) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        )


# --- the whole flow --------------------------------------------------------------------------


async def test_the_code_is_exchanged_with_the_verifier_and_basic_auth() -> None:
    browser, endpoint = Browser(approve), TokenEndpoint()
    credentials = await run_flow(browser, endpoint)
    assert browser.url is not None
    sent = query_of(browser.url)
    assert browser.url.startswith("https://auth.example/oauth2/authorize?")
    assert sent["response_type"] == "code" and sent["client_id"] == "client-123"
    assert sent["scope"] == "tweet.read offline.access"
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 32
    redirect = urlsplit(sent["redirect_uri"])
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1", "/callback")
    assert redirect.port and redirect.port > 0  # an ephemeral port

    [request] = endpoint.requests
    assert str(request.url) == "https://api.example/2/oauth2/token"  # relative to the base URL
    form = endpoint.form
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-CODE-dddd4444"
    assert form["redirect_uri"] == sent["redirect_uri"]
    assert code_challenge(form["code_verifier"]) == sent["code_challenge"]
    assert "client_secret" not in form and "client_id" not in form  # Basic carries them
    expected = base64.b64encode(f"client-123:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"

    assert credentials.token == ACCESS
    assert credentials.get("refresh_token") == REFRESH
    assert credentials.get("expires_at") == (NOW + timedelta(seconds=7200)).isoformat()
    assert credentials.get("client_id") == "client-123"
    assert credentials.get("client_secret") == SECRET
    assert ACCESS not in repr(credentials)

    assert browser.page is not None and browser.page.status_code == 200
    assert "このウィンドウを閉じて" in browser.page.text
    assert [p.status_code for p in browser.extra_pages] == [404]  # favicon: not the callback


async def test_a_public_client_sends_its_id_in_the_form_and_no_secret() -> None:
    spec = OAuthSpec(
        authorize_url="/oauth/authorize",
        token_url="/oauth/token",
        scopes=("read:accounts", "write:statuses"),
        client_auth="body",
    )
    browser, endpoint = Browser(approve), TokenEndpoint(body={"access_token": ACCESS})
    request = make_request(
        spec=spec, client_secret=None, base_url="https://mastodon.example/", locale="en"
    )
    credentials = await run_flow(browser, endpoint, request)
    assert browser.url is not None
    assert browser.url.startswith("https://mastodon.example/oauth/authorize?")
    assert endpoint.form["client_id"] == "client-123" and "client_secret" not in endpoint.form
    assert "authorization" not in endpoint.requests[0].headers
    assert credentials.get("client_secret") is None and credentials.get("expires_at") is None
    assert browser.page is not None and "You can close this window" in browser.page.text


async def test_without_pkce_no_challenge_and_no_verifier_are_sent() -> None:
    spec = OAuthSpec(
        authorize_url="https://auth.example/a",
        token_url="https://auth.example/t",
        scopes=("a", "b"),
        pkce=False,
        scope_separator=",",
    )
    browser, endpoint = Browser(approve), TokenEndpoint()
    await run_flow(browser, endpoint, make_request(spec=spec))
    assert browser.url is not None
    assert "code_challenge" not in query_of(browser.url)
    assert query_of(browser.url)["scope"] == "a,b"
    assert "code_verifier" not in endpoint.form
    assert endpoint.form["client_secret"] == SECRET  # body authentication


async def test_extra_authorize_params_and_the_finishing_hook_are_applied() -> None:
    seen: dict[str, object] = {}

    async def finish(
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        token_response: Mapping[str, object],
    ) -> Credentials:
        seen.update(base_url=base_url, response=dict(token_response))
        return credentials.with_updates(token="long-lived", user_id="42")

    browser, endpoint = Browser(approve), TokenEndpoint()
    request = make_request(authorize_params={"access_type": "offline"}, finish=finish)
    credentials = await run_flow(browser, endpoint, request)
    assert browser.url is not None and query_of(browser.url)["access_type"] == "offline"
    assert credentials.token == "long-lived" and credentials.get("user_id") == "42"
    assert seen["base_url"] == "https://api.example"


async def test_a_state_mismatch_is_refused_and_nothing_is_exchanged() -> None:
    browser = Browser(lambda params: {"code": "stolen", "state": "not-the-one"})
    endpoint = TokenEndpoint()
    with pytest.raises(PlatformError, match="state brandkit did not send"):
        await run_flow(browser, endpoint)
    assert endpoint.requests == []
    assert browser.page is not None and browser.page.status_code == 400
    assert "state が一致しません" in browser.page.text


async def test_access_denied_ends_the_flow_clearly() -> None:
    browser = Browser(
        lambda params: {
            "error": "access_denied",
            "error_description": "The user denied",
            "state": params["state"],
        }
    )
    endpoint = TokenEndpoint()
    with pytest.raises(PlatformError, match="refused in the browser") as caught:
        await run_flow(browser, endpoint, make_request(locale="en"))
    assert "choose to allow access" in str(caught.value)
    assert endpoint.requests == []
    assert browser.page is not None and "refused. You can close this window" in browser.page.text


async def test_a_browser_that_never_comes_back_times_out() -> None:
    browser, endpoint = Browser(lambda params: None), TokenEndpoint()
    with pytest.raises(PlatformError, match="no answer came back from the browser within"):
        await run_flow(browser, endpoint, make_request(timeout=0.05))
    assert endpoint.requests == []


async def test_a_refused_code_is_reported_without_any_secret() -> None:
    browser = Browser(approve)
    endpoint = TokenEndpoint(
        400,
        {"error": "invalid_grant", "error_description": "code the-CODE-dddd4444 expired"},
    )
    with pytest.raises(PlatformError) as caught:
        await run_flow(browser, endpoint)
    message = str(caught.value) + (caught.value.body or "")
    assert "HTTP 400" in message and "invalid_grant" in message
    for secret in ("the-CODE-dddd4444", SECRET, endpoint.form["code_verifier"]):
        assert secret not in message


async def test_an_answer_without_an_access_token_is_malformed() -> None:
    browser, endpoint = Browser(approve), TokenEndpoint(body={"token_type": "bearer"})
    with pytest.raises(PlatformError, match="no access_token"):
        await run_flow(browser, endpoint)


async def test_a_busy_port_says_to_choose_another() -> None:
    async with LoopbackServer(state="s", platform="x") as first:
        with pytest.raises(PlatformError, match="choose another --port"):
            async with LoopbackServer(state="s", platform="x", port=first.port):
                pass


# --- brandkit auth ---------------------------------------------------------------------------


@pytest.fixture
def workspace(clean_environ: Path) -> Path:
    assert main(["init", "--name", "さくら内科クリニック"]) == 0
    return clean_environ


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> TokenEndpoint:
    token_endpoint = TokenEndpoint(body={"access_token": ACCESS, "scope": "read:accounts"})
    monkeypatch.setattr(
        "brandkit.cli.auth_cmd.http_client",
        lambda settings: httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)),
    )
    return token_endpoint


@pytest.fixture
def thread_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """``webbrowser.open`` replaced by a thread that approves, as a person would."""
    opened: list[str] = []
    threads: list[threading.Thread] = []

    def follow(url: str) -> None:
        params = query_of(url)
        reply = urlencode({"code": "cli-CODE-5555", "state": params["state"]})
        httpx.get(f"{params['redirect_uri']}?{reply}", timeout=10)

    def open_url(url: str) -> bool:
        opened.append(url)
        thread = threading.Thread(target=follow, args=(url,))
        threads.append(thread)
        thread.start()
        return True

    monkeypatch.setattr("brandkit.cli.auth_cmd.webbrowser.open", open_url)
    yield opened
    for thread in threads:
        thread.join(timeout=10)


def test_brandkit_auth_creates_then_reauthorises_an_account(
    workspace: Path,
    endpoint: TokenEndpoint,
    thread_browser: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MASTODON_SECRET", SECRET)
    args = [
        "auth",
        "mastodon",
        "--name",
        "clinic",
        "--base-url",
        "https://mastodon.example",
        "--client-id",
        "cid-1",
        "--client-secret-env",
        "MASTODON_SECRET",
        "--set",
        "note_id=7",
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "Added mastodon account 'clinic'" in out and "accounts verify clinic" in out
    [url] = thread_browser
    assert url.startswith("https://mastodon.example/oauth/authorize?")
    assert url in err.replace("\n", "")
    assert endpoint.form["code"] == "cli-CODE-5555" and endpoint.form["client_secret"] == SECRET
    for secret in (ACCESS, SECRET, "cli-CODE-5555"):
        assert secret not in out + err
        assert secret.encode() not in (workspace / "brandkit.db").read_bytes()
    account, credentials = stored("clinic")
    assert (account.platform, account.base_url, account.status) == (
        "mastodon",
        "https://mastodon.example",
        "active",
    )
    assert credentials.token == ACCESS
    assert credentials.get("client_id") == "cid-1" and credentials.get("client_secret") == SECRET
    assert credentials.get("note_id") == "7"

    settings = load_settings()
    engine = open_database(settings.database_url)
    with session_scope(engine) as session:
        session.exec(select(Account)).one().status = "needs_reauth"
    engine.dispose()
    endpoint.requests.clear()
    endpoint.body = {"access_token": "second-ACCESS-6666"}
    assert main(["auth", "mastodon", "--name", "clinic"]) == 0  # client id, secret, URL kept
    out, _ = capsys.readouterr()
    assert "Re-authorised mastodon account 'clinic'" in out
    account, credentials = stored("clinic")
    assert account.status == "active" and credentials.token == "second-ACCESS-6666"
    assert credentials.get("client_secret") == SECRET and credentials.get("note_id") == "7"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["auth", "mastodon", "--name", "a", "--client-id", "c"], "--base-url"),
        (
            ["auth", "mastodon", "--name", "a", "--base-url", "https://m.example"],
            "--client-id",
        ),
        (
            [
                "auth",
                "mastodon",
                "--name",
                "a",
                "--base-url",
                "https://m.example",
                "--client-id",
                "c",
                "--client-secret-env",
                "NOT_SET_ANYWHERE",
            ],
            "NOT_SET_ANYWHERE is not set",
        ),
        (["auth", "myspace", "--name", "a"], 'No platform by the name "myspace"'),
    ],
)
def test_brandkit_auth_says_what_is_missing(
    workspace: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(args) in (65, 66)
    assert message in capsys.readouterr().err


def test_a_platform_without_oauth_points_at_accounts_add(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class TokenOnly:
        oauth: ClassVar[OAuthSpec | None] = None

    monkeypatch.setattr("brandkit.cli.auth_cmd.get_connector_class", lambda name: TokenOnly)
    capsys.readouterr()
    assert main(["auth", "bluesky", "--name", "clinic"]) == 65
    err = capsys.readouterr().err
    assert "no browser authorisation" in err and "brandkit accounts add bluesky" in err


def test_auth_refuses_to_reuse_another_platforms_account(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("tok\n"))
    assert main(["accounts", "add", "mastodon", "--name", "a", "--base-url", "https://m.ex"]) == 0
    monkeypatch.setattr(
        "brandkit.cli.auth_cmd.get_connector_class",
        lambda name: type("X", (), {"oauth": SPEC, "default_base_url": "https://api.x.com"}),
    )
    capsys.readouterr()
    assert main(["auth", "x", "--name", "a", "--client-id", "c"]) == 65
    assert "is a mastodon account" in capsys.readouterr().err


# --- review: secrets in reprs and malformed answers ------------------------------------------


def test_a_callbacks_repr_does_not_show_the_code() -> None:
    assert "the-CODE-dddd4444" not in repr(Callback("the-CODE-dddd4444", None, None))


async def test_a_malformed_token_answer_shows_no_token_in_the_error() -> None:
    browser = Browser(approve)
    endpoint = TokenEndpoint(body={"data": {"access_token": ACCESS, "refresh_token": REFRESH}})
    with pytest.raises(PlatformError) as caught:
        await run_flow(browser, endpoint)
    text = f"{caught.value} {caught.value.body}"
    assert "no access_token" in text
    assert ACCESS not in text and REFRESH not in text
