"""The shared request pipeline: rate-limit waits, retries, token refresh, redaction.

Every connector sends through :class:`ApiSession`, so these behaviours are tested once here on
a bare endpoint; the contract suite (tests/contract) checks each platform reaches them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandkit.clock import SimulatedClock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    TransientError,
)
from brandkit.platforms.api import (
    ApiSession,
    ConnectorContext,
    RateLimitBook,
    RetryPolicy,
    secrets_of,
)
from brandkit.platforms.base import Credentials, RateLimit
from brandkit.platforms.http import redact
from brandkit.platforms.oauth import OAuth2RefreshAuth, OAuthSpec, basic_auth
from tests.connector_support import MemoryStore

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TOKEN = "tok-SECRET-old-123456"
NEW_TOKEN = "tok-SECRET-new-654321"
REFRESH = "refresh-SECRET-777"
Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers from a list of handlers in turn (the last one repeats); records requests."""

    def __init__(self, *handlers: Handler, token_endpoint: Handler | None = None) -> None:
        self.handlers = list(handlers)
        self.token_endpoint = token_endpoint or (
            lambda request: httpx.Response(
                200, json={"access_token": NEW_TOKEN, "expires_in": 7200, "refresh_token": "r2"}
            )
        )
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/token":
            return self.token_endpoint(request)
        handler = self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]
        return handler(request)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/oauth/token"]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def status(code: int, headers: Mapping[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(code, json={"error": "nope"}, headers=headers or {})


SPEC = OAuthSpec(authorize_url="https://a.example/authorize", token_url="/oauth/token", scopes=())


def session(
    server: Server,
    clock: SimulatedClock,
    *,
    credentials: Credentials | None = None,
    retry: RetryPolicy | None = None,
    store: MemoryStore | None = None,
    book: RateLimitBook | None = None,
    refreshable: bool = False,
) -> ApiSession:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return ApiSession(
        platform="demo",
        client=client,
        base_url="https://api.example",
        credentials=credentials or Credentials(token=TOKEN),
        context=ConnectorContext(
            clock=clock,
            limits=book or RateLimitBook(),
            retry=retry or RetryPolicy(attempts=3, base_delay=1.0, max_wait=60.0),
            account_key="account:1",
            store=store,
            rng=random.Random(1),
        ),
        auth=OAuth2RefreshAuth(SPEC) if refreshable else None,
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


async def get(s: ApiSession, *, publish: bool = False) -> httpx.Response:
    method = "POST" if publish else "GET"
    return await s.request(method, "/thing", s.call("do it", is_publish=publish))


# --- retries ----------------------------------------------------------------------------------


async def test_a_5xx_read_is_retried_with_growing_backoff(clock: SimulatedClock) -> None:
    server = Server(status(503), status(502), ok)
    response = await get(session(server, clock))
    assert response.status_code == 200
    assert len(server.requests) == 3
    # 1st retry waits 0.5-1 s, 2nd 1-2 s on the simulated clock, nothing real
    assert timedelta(seconds=1.5) <= clock.now() - START <= timedelta(seconds=3)


async def test_retries_stop_after_the_policy_attempts(clock: SimulatedClock) -> None:
    server = Server(status(503))
    with pytest.raises(TransientError):
        await get(session(server, clock, retry=RetryPolicy(attempts=2)))
    assert len(server.requests) == 2


async def test_a_publish_with_an_unknown_outcome_is_never_resent(clock: SimulatedClock) -> None:
    server = Server(status(503), ok)
    with pytest.raises(OutcomeUnknownError):
        await get(session(server, clock), publish=True)
    assert len(server.requests) == 1


async def test_a_publish_that_never_left_is_retried(clock: SimulatedClock) -> None:
    calls = 0

    def refuse_then_ok(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": "1"})

    response = await get(session(Server(refuse_then_ok), clock), publish=True)
    assert response.status_code == 201 and calls == 2


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_ceiling(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    delay = policy.backoff(attempt, random.Random(seed))
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


# --- rate limits ------------------------------------------------------------------------------


def limited(remaining: int, reset: datetime) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": reset.isoformat(),
    }


async def test_an_exhausted_bucket_waits_for_its_reset_before_sending(
    clock: SimulatedClock,
) -> None:
    reset = START + timedelta(seconds=30)
    server = Server(lambda r: httpx.Response(200, json={}, headers=limited(0, reset)), ok)
    s = session(server, clock)
    await get(s)
    assert s.last_rate_limit == RateLimit(limit=300, remaining=0, reset_at=reset)

    await get(s)

    assert clock.now() >= reset, "the second request did not wait for the reset"
    assert len(server.requests) == 2


async def test_a_reset_beyond_max_wait_raises_without_sending(clock: SimulatedClock) -> None:
    reset = START + timedelta(hours=1)
    server = Server(lambda r: httpx.Response(200, json={}, headers=limited(0, reset)), ok)
    s = session(server, clock)
    await get(s)

    with pytest.raises(RateLimitedError) as caught:
        await get(s)

    assert caught.value.reset_at == reset
    assert len(server.requests) == 1
    assert clock.now() == START


async def test_two_sessions_of_one_account_share_the_bucket(clock: SimulatedClock) -> None:
    book = RateLimitBook()
    reset = START + timedelta(seconds=10)
    server = Server(lambda r: httpx.Response(200, json={}, headers=limited(0, reset)), ok)
    await get(session(server, clock, book=book))
    await get(session(server, clock, book=book))
    assert clock.now() >= reset


async def test_concurrent_requests_cannot_all_spend_the_last_unit(clock: SimulatedClock) -> None:
    book = RateLimitBook()
    reset = START + timedelta(seconds=10)
    book.record("account:1", RateLimit(limit=5, remaining=1, reset_at=reset))
    server = Server(ok)
    s = session(server, clock, book=book)

    await asyncio.gather(get(s), get(s), get(s))

    assert len(server.requests) == 3
    assert clock.now() >= reset, "two requests went out on one remaining unit"


async def test_429_retry_after_is_read_on_the_injected_clock(clock: SimulatedClock) -> None:
    server = Server(status(429, {"Retry-After": "20"}), ok)
    await get(session(server, clock))
    assert clock.now() >= START + timedelta(seconds=20)
    assert len(server.requests) == 2


async def test_429_far_away_is_raised_with_its_reset(clock: SimulatedClock) -> None:
    server = Server(status(429, {"Retry-After": "3600"}), ok)
    with pytest.raises(RateLimitedError) as caught:
        await get(session(server, clock))
    assert caught.value.reset_at == START + timedelta(seconds=3600)
    assert len(server.requests) == 1


# --- credentials ------------------------------------------------------------------------------


def oauth_credentials(expires_at: datetime) -> Credentials:
    return Credentials(
        token=TOKEN,
        extra={
            "refresh_token": REFRESH,
            "client_id": "cid",
            "client_secret": "csecret-SECRET",
            "expires_at": expires_at.isoformat(),
        },
    )


async def test_a_token_about_to_expire_is_renewed_first_and_saved(clock: SimulatedClock) -> None:
    server = Server(ok)
    store = MemoryStore(oauth_credentials(START + timedelta(seconds=30)))
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)

    await get(s)

    assert server.requests[0].url.path == "/oauth/token"
    form = dict(httpx.QueryParams(server.requests[0].content.decode()))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "cid",
        "client_secret": "csecret-SECRET",
    }
    assert server.api_requests()[0].headers["authorization"] == f"Bearer {NEW_TOKEN}"
    assert [c.token for c in store.saved] == [NEW_TOKEN]
    assert store.saved[0].get("refresh_token") == "r2"  # rotated
    assert store.saved[0].get("expires_at") == (START + timedelta(hours=2)).isoformat()


async def test_a_401_refreshes_once_and_resends(clock: SimulatedClock) -> None:
    server = Server(status(401), ok)
    store = MemoryStore(oauth_credentials(START + timedelta(hours=1)))
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)

    await get(s)

    tokens = [r.headers["authorization"] for r in server.api_requests()]
    assert tokens == [f"Bearer {TOKEN}", f"Bearer {NEW_TOKEN}"]


async def test_a_401_after_a_refresh_is_auth_expired(clock: SimulatedClock) -> None:
    server = Server(status(401))
    store = MemoryStore(oauth_credentials(START + timedelta(hours=1)))
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)

    with pytest.raises(AuthExpiredError):
        await get(s)
    assert len(server.api_requests()) == 2


async def test_a_token_refreshed_elsewhere_is_adopted_not_refreshed_again(
    clock: SimulatedClock,
) -> None:
    server = Server(status(401), ok)
    store = MemoryStore(oauth_credentials(START + timedelta(hours=1)))
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)
    store.current = store.current.with_updates(token="tok-from-the-other-worker")

    await get(s)

    assert not [r for r in server.requests if r.url.path == "/oauth/token"]
    assert server.api_requests()[-1].headers["authorization"] == "Bearer tok-from-the-other-worker"


async def test_a_revoked_refresh_token_is_auth_expired_without_secrets(
    clock: SimulatedClock,
) -> None:
    def invalid_grant(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": f"bad {REFRESH}"}
        )

    expired = oauth_credentials(START - timedelta(minutes=1))
    server = Server(status(401), token_endpoint=invalid_grant)
    s = session(server, clock, credentials=expired, store=MemoryStore(expired), refreshable=True)

    with pytest.raises(AuthExpiredError) as caught:
        await get(s)

    text = f"{caught.value} {caught.value.body} {caught.value.hint}"
    assert "invalid_grant" in text and "brandkit auth demo" in text
    assert REFRESH not in text and TOKEN not in text


def test_every_secret_field_is_redacted_and_ids_are_not() -> None:
    credentials = oauth_credentials(START)
    hidden = secrets_of(credentials.with_updates(app_password="pw-1", user_id="42"))
    assert set(hidden) == {TOKEN, REFRESH, "csecret-SECRET", "pw-1"}


async def test_httpx_request_log_lines_show_no_query_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # importing brandkit.platforms.api (above) is enough: no connector has to be built
    caplog.set_level(logging.INFO, logger="httpx")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("https://api.example/v1/me?access_token=SECRET&client_secret=S2")

    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("HTTP Request: GET" in line and "access_token=***" in line for line in lines)
    assert not any("SECRET" in line or "S2" in line for line in lines)


def test_query_credentials_are_redacted_but_a_status_code_is_not() -> None:
    text = "GET /cb?code=abc123&state=s refresh_token=r-1 client_secret=c-1; status code=400"
    assert redact(text, ()) == (
        "GET /cb?code=***&state=s refresh_token=*** client_secret=***; status code=400"
    )


def test_basic_auth_form_encodes_both_parts() -> None:
    # RFC 6749 §2.3.1: client id and secret are form-url-encoded before base64
    assert basic_auth("a b", "c:d") == "Basic YSUyMGI6YyUzQWQ="


# --- review: refresh races and token answers --------------------------------------------------


async def test_a_refresh_lost_to_another_process_adopts_the_winners_token(
    clock: SimulatedClock,
) -> None:
    # X rotates refresh tokens: when another process (the worker vs `brandkit sync`) spent the
    # same one a moment earlier, ours is refused; the winner saved its tokens, so use those
    # instead of declaring the account in need of re-authorisation.
    store = MemoryStore(oauth_credentials(START + timedelta(hours=1)))

    def other_process_won(request: httpx.Request) -> httpx.Response:
        store.current = store.current.with_updates(token="tok-other-process", refresh_token="r9")
        return httpx.Response(400, json={"error": "invalid_grant"})

    server = Server(status(401), ok, token_endpoint=other_process_won)
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)

    await get(s)

    assert server.api_requests()[-1].headers["authorization"] == "Bearer tok-other-process"
    assert store.saved == []


async def test_two_requests_rejected_together_refresh_only_once(clock: SimulatedClock) -> None:
    # Both requests were sent with the old token; the second 401 arrives after the first one's
    # refresh finished. The rotating refresh token must not be spent a second time.
    refreshes: list[str] = []
    renewed = asyncio.Event()
    old_rejections = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal old_rejections
        if request.url.path == "/oauth/token":
            refreshes.append(request.content.decode())
            n = len(refreshes)
            return httpx.Response(
                200, json={"access_token": f"tok-{n}", "expires_in": 7200, "refresh_token": f"r{n}"}
            )
        if request.headers["authorization"] == f"Bearer {TOKEN}":
            await asyncio.sleep(0)  # let the other request leave with the old token too
            old_rejections += 1
            if old_rejections == 2:
                await renewed.wait()  # this answer is slow: it comes after the refresh
            return httpx.Response(401, json={"error": "expired"})
        renewed.set()
        return httpx.Response(200, json={"ok": True})

    store = MemoryStore(oauth_credentials(START + timedelta(hours=1)))
    s = ApiSession(
        platform="demo",
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        base_url="https://api.example",
        credentials=store.current,
        context=ConnectorContext(clock=clock, account_key="account:1", store=store),
        auth=OAuth2RefreshAuth(SPEC),
    )

    await asyncio.gather(get(s), get(s))

    assert old_rejections == 2
    assert len(refreshes) == 1
    assert [c.token for c in store.saved] == ["tok-1"]


async def test_a_malformed_token_answer_is_a_platform_error_without_secrets(
    clock: SimulatedClock,
) -> None:
    def odd_answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"data": {"access_token": NEW_TOKEN}, "refresh_token": "r2-SEC"}
        )

    store = MemoryStore(oauth_credentials(START - timedelta(minutes=1)))
    server = Server(ok, token_endpoint=odd_answer)
    s = session(server, clock, credentials=store.current, store=store, refreshable=True)

    with pytest.raises(PlatformError) as caught:
        await get(s)

    text = f"{caught.value!r} {caught.value} {caught.value.body}"
    for secret in (NEW_TOKEN, "r2-SEC", REFRESH, TOKEN):
        assert secret not in text
    assert not server.api_requests()
