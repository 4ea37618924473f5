"""The Threads connector against a fake ``graph.threads.net`` built from documented payloads.

The handler branches on ``(method, path)`` and answers with ``tests/fixtures/threads`` (see its
README for the documentation page of each file). Time is a :class:`SimulatedClock`, so container
polling and throttling waits run without sleeping.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit.clock import SimulatedClock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms import graph
from brandkit.platforms.api import NO_RETRY, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, PublishResult
from brandkit.platforms.threads import ThreadsConnector
from tests.connector_support import (
    FakeServer,
    Fixtures,
    Handler,
    MemoryStore,
    answer,
    collect,
    connect,
    form,
)

FIXTURES = Fixtures("threads")
load = FIXTURES.load
BASE = "https://graph.threads.net/v1.0"
TOKEN = "THAA-SECRET-token-0123456789abcdef"
USER = "25031234567890123"
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
FLU = "インフルエンザの季節です。手洗いとワクチン接種を。 https://clinic.example/flu #health"


class FakeThreads(FakeServer):
    """Documented answers per ``(method, path)``; a test overrides any of them."""

    PAGES = {
        None: "threads_page1.json",
        "QVFIUmxAFTER1": "threads_page2.json",
        "QVFIUmxAFTER2": "threads_page3.json",
    }

    def __init__(self) -> None:
        super().__init__()
        fixture = FIXTURES.handler
        self.routes = {
            ("GET", "/v1.0/me"): fixture("me.json"),
            ("GET", f"/v1.0/{USER}"): fixture("me.json"),
            ("GET", f"/v1.0/{USER}/threads_insights"): fixture("user_insights_followers.json"),
            ("POST", f"/v1.0/{USER}/threads"): fixture("container_created.json"),
            ("GET", "/v1.0/17889615691921648"): fixture("container_finished.json"),
            ("POST", f"/v1.0/{USER}/threads_publish"): fixture("publish_created.json"),
            ("GET", "/v1.0/18050206876707110"): fixture("thread.json"),
            ("GET", f"/v1.0/{USER}/threads"): self.threads_page,
            ("GET", "/refresh_access_token"): fixture("refresh_access_token.json"),
            ("GET", "/access_token"): fixture("access_token_long_lived.json"),
        }

    def threads_page(self, request: httpx.Request) -> httpx.Response:
        return answer(load(self.PAGES[request.url.params.get("after")]))

    def fallback(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/insights"):
            return answer(load("media_insights.json"))
        return answer({"error": {"message": "Unsupported get request.", "code": 100}}, 400)


@pytest.fixture
def server() -> FakeThreads:
    return FakeThreads()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    *,
    extra: dict[str, str] | None = None,
    retry: RetryPolicy = NO_RETRY,
    store: MemoryStore | None = None,
) -> ThreadsConnector:
    credentials = Credentials(token=TOKEN, extra={"user_id": USER} if extra is None else extra)
    return connect(
        ThreadsConnector, client, clock, credentials, base_url=BASE, retry=retry, store=store
    )


def graph_error(name: str, status: int = 400, **headers: str) -> Handler:
    return FIXTURES.handler(name, status, **headers)


# --- the happy paths ------------------------------------------------------------------------------


async def test_connector_describes_threads(
    client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock)
    assert isinstance(connector, Connector)
    assert connector.max_length == 500
    assert connector.can_publish_text and connector.accepts_image_url
    assert not connector.supports_idempotency_key
    assert ThreadsConnector.default_base_url == "https://graph.threads.net/v1.0"
    assert ThreadsConnector.oauth is not None
    assert "threads_content_publish" in ThreadsConnector.oauth.scopes
    assert TOKEN not in repr(connector)


async def test_publish_creates_a_text_container_then_publishes_it_once(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    result = await make(client, clock).publish(FLU, idempotency_key="v-1")

    assert result == PublishResult(
        remote_id="18050206876707110",
        url="https://www.threads.net/@dr_tanaka_clinic/post/C707110",
        published_at=datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC),
    )
    create, status, publish, read_back = server.requests
    assert (create.method, create.url.path) == ("POST", f"/v1.0/{USER}/threads")
    assert form(create) == {"media_type": "TEXT", "text": FLU}
    assert create.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in str(create.url)
    assert status.url.params["fields"] == "id,status,error_message"
    assert (publish.url.path, form(publish)) == (
        f"/v1.0/{USER}/threads_publish",
        {"creation_id": "17889615691921648"},
    )
    assert read_back.url.params["fields"] == "id,permalink,timestamp"


async def test_publish_with_an_image_makes_an_image_container(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    await make(client, clock).publish(
        "Flu", idempotency_key="k", image_url="https://c.example/a.jpg"
    )
    assert form(server.requests[0]) == {
        "media_type": "IMAGE",
        "image_url": "https://c.example/a.jpg",
        "text": "Flu",
    }


async def test_a_container_still_processing_is_polled_on_the_clock(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    states = iter(["container_in_progress.json", "container_finished.json"])
    server.routes[("GET", "/v1.0/17889615691921648")] = lambda r: answer(load(next(states)))

    await make(client, clock).publish(FLU, idempotency_key="k")

    assert clock.now() - NOW == timedelta(seconds=5)
    assert server.paths("POST")[-1] == f"/v1.0/{USER}/threads_publish"


async def test_a_failed_container_is_rejected_and_never_published(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("GET", "/v1.0/17889615691921648")] = graph_error("container_error.json", 200)

    with pytest.raises(RejectedError, match="ERROR: UNKNOWN"):
        await make(client, clock).publish(FLU, idempotency_key="k")

    assert f"/v1.0/{USER}/threads_publish" not in server.paths()


async def test_an_unknown_outcome_on_the_container_step_is_transient_not_unknown(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("POST", f"/v1.0/{USER}/threads")] = graph_error("error_2.json", 500)

    with pytest.raises(TransientError) as caught:
        await make(client, clock).publish(FLU, idempotency_key="k")

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert "nothing was published" in str(caught.value)
    assert f"/v1.0/{USER}/threads_publish" not in server.paths()


async def test_a_5xx_on_threads_publish_is_an_unknown_outcome_sent_once(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("POST", f"/v1.0/{USER}/threads_publish")] = graph_error("error_2.json", 500)
    connector = make(client, clock, retry=RetryPolicy(attempts=3, base_delay=1.0))

    with pytest.raises(OutcomeUnknownError):
        await connector.publish(FLU, idempotency_key="k")

    assert server.paths("POST").count(f"/v1.0/{USER}/threads_publish") == 1


async def test_publish_succeeds_even_when_reading_the_post_back_fails(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("GET", "/v1.0/18050206876707110")] = graph_error("error_2.json", 500)

    result = await make(client, clock).publish(FLU, idempotency_key="k")

    assert result == PublishResult("18050206876707110", None, NOW)


async def test_profile_asks_me_for_the_id_and_reads_followers_from_insights(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    connector = make(client, clock, extra={})

    profile = await connector.fetch_profile()

    assert (profile.remote_id, profile.handle, profile.followers) == (
        USER,
        "dr_tanaka_clinic",
        2318,
    )
    assert profile.following is None and profile.posts_count is None
    me, insights = server.requests
    assert (me.url.path, me.url.params["fields"]) == ("/v1.0/me", "id,username")
    assert insights.url.params["metric"] == "followers_count"
    await connector.fetch_profile()
    assert server.requests[2].url.path == f"/v1.0/{USER}"  # the id is remembered


async def test_publish_without_a_stored_user_id_discovers_it_first(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    await make(client, clock, extra={}).publish(FLU, idempotency_key="k")
    assert server.paths()[:2] == ["/v1.0/me", f"/v1.0/{USER}/threads"]


async def test_metrics_follow_the_after_cursor_and_read_each_posts_insights(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    stats = await collect(make(client, clock))

    assert [s.remote_id for s in stats] == [
        "18050206876707110",
        "18048888888888888",
        "18047777777777777",
    ], "the REPOST_FACADE entry is someone else's post"
    first = stats[0]
    assert (first.likes, first.replies, first.reposts, first.quotes, first.impressions) == (
        48,
        6,
        9,
        2,
        1520,
    )
    assert first.created_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert first.text == FLU
    lists = [r for r in server.requests if r.url.path == f"/v1.0/{USER}/threads"]
    assert [r.url.params.get("after") for r in lists] == [None, "QVFIUmxAFTER1", "QVFIUmxAFTER2"]
    assert lists[0].url.params["fields"] == "id,text,timestamp,permalink,media_type"
    insights = [r for r in server.requests if r.url.path.endswith("/insights")]
    assert {r.url.params["metric"] for r in insights} == {"views,likes,replies,reposts,quotes"}
    assert len(insights) == 3


async def test_a_failing_insights_request_fails_the_page_and_cancels_the_rest(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    denied = {"error": {"message": "(#10) Permission denied", "type": "OAuthException", "code": 10}}
    server.routes[("GET", "/v1.0/18048888888888888/insights")] = lambda r: answer(denied, 403)

    with pytest.raises(PlatformError) as caught:
        await collect(make(client, clock))

    assert "code 10" in str(caught.value) and "permission" in (caught.value.hint or "")
    assert not isinstance(caught.value, ExceptionGroup)


async def test_metrics_since_stop_paging_at_the_cutoff(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    since = datetime(2026, 11, 22, tzinfo=UTC)
    stats = await collect(make(client, clock), since)

    assert [s.remote_id for s in stats] == ["18050206876707110"]
    assert server.paths().count(f"/v1.0/{USER}/threads") == 1


async def test_find_post_compares_text_without_reading_insights(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    connector = make(client, clock)
    spaced = FLU.replace(" ", "  \n")

    found = await connector.find_post(
        idempotency_key="k", text=spaced, not_before=datetime(2026, 11, 23, 8, 59, tzinfo=UTC)
    )

    assert found is not None and found.remote_id == "18050206876707110"
    assert not [r for r in server.requests if r.url.path.endswith("/insights")]


async def test_find_post_stops_at_posts_older_than_not_before(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    found = await make(client, clock).find_post(
        idempotency_key="k", text="Sleep well", not_before=datetime(2026, 11, 22, tzinfo=UTC)
    )
    assert found is None
    assert server.paths().count(f"/v1.0/{USER}/threads") == 1


# --- errors and tokens ----------------------------------------------------------------------------


async def test_code_190_with_http_400_is_auth_expired_after_one_refresh_attempt(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("GET", f"/v1.0/{USER}")] = graph_error("error_190.json")
    server.routes[("GET", "/refresh_access_token")] = graph_error("error_190.json")

    with pytest.raises(AuthExpiredError) as caught:
        await make(client, clock).fetch_profile()

    assert "Session has expired" in str(caught.value)
    assert "brandkit auth threads" in (caught.value.hint or "")
    assert server.paths().count("/refresh_access_token") == 1
    assert TOKEN not in str(caught.value) + (caught.value.body or "")


async def test_code_4_is_rate_limited_until_the_business_use_case_estimate(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    usage = json.dumps(
        {
            USER: [
                {
                    "type": "threads",
                    "call_count": 100,
                    "total_cputime": 9,
                    "total_time": 12,
                    "estimated_time_to_regain_access": 7,
                }
            ]
        }
    )
    server.routes[("GET", f"/v1.0/{USER}/threads_insights")] = graph_error(
        "error_4.json", **{"X-Business-Use-Case-Usage": usage}
    )
    connector = make(client, clock, retry=RetryPolicy(attempts=3, max_wait=60.0))

    with pytest.raises(RateLimitedError) as caught:
        await connector.fetch_profile()

    assert caught.value.reset_at == NOW + timedelta(minutes=7)
    assert server.paths().count(f"/v1.0/{USER}/threads_insights") == 1
    assert connector.last_rate_limit is not None and connector.last_rate_limit.remaining == 0


async def test_a_token_in_its_last_week_is_renewed_first_and_saved(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    expires = (NOW + timedelta(days=3)).isoformat()
    credentials = Credentials(TOKEN, {"user_id": USER, "expires_at": expires})
    store = MemoryStore(credentials)
    connector = make(client, clock, extra=dict(credentials.extra), store=store)

    await connector.fetch_profile()

    refresh = server.requests[0]
    assert str(refresh.url).startswith("https://graph.threads.net/refresh_access_token?")
    assert refresh.url.params["grant_type"] == "th_refresh_token"
    assert refresh.url.params["access_token"] == TOKEN
    assert "authorization" not in refresh.headers
    (saved,) = store.saved
    assert saved.token == "THAAfreshTokenFromRefresh"
    assert saved.get("expires_at") == (NOW + timedelta(seconds=5183944)).isoformat()
    assert saved.get("user_id") == USER
    assert server.requests[1].headers["Authorization"] == "Bearer THAAfreshTokenFromRefresh"


async def test_a_token_far_from_expiry_is_not_renewed(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    extra = {"user_id": USER, "expires_at": (NOW + timedelta(days=30)).isoformat()}
    await make(client, clock, extra=extra).fetch_profile()
    assert "/refresh_access_token" not in server.paths()


async def test_an_expired_token_cannot_be_renewed_and_says_to_reauthorise(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeThreads
) -> None:
    server.routes[("GET", f"/v1.0/{USER}")] = graph_error("error_190.json")
    extra = {"user_id": USER, "expires_at": (NOW - timedelta(days=1)).isoformat()}

    with pytest.raises(AuthExpiredError) as caught:
        await make(client, clock, extra=extra).fetch_profile()

    assert "/refresh_access_token" not in server.paths()
    assert "brandkit auth threads" in (caught.value.hint or "")


async def test_the_refresh_url_is_redacted_from_httpx_logs(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    server: FakeThreads,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    extra = {"user_id": USER, "expires_at": (NOW + timedelta(days=1)).isoformat()}

    await make(client, clock, extra=extra).fetch_profile()

    lines = [record.getMessage() for record in caplog.records]
    assert any("refresh_access_token" in line and "access_token=***" in line for line in lines)
    assert not any(TOKEN in line for line in lines)


async def test_finish_authorization_swaps_for_a_60_day_token_and_keeps_the_user_id(
    client: httpx.AsyncClient, server: FakeThreads, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    short = Credentials(
        "THAA-short-lived", {"client_id": "990602627938098", "client_secret": "s3cr3t"}
    )

    stored = await ThreadsConnector.finish_authorization(
        client=client,
        base_url=BASE,
        credentials=short,
        token_response={"access_token": "THAA-short-lived", "user_id": int(USER)},
    )

    (exchange,) = server.requests
    assert str(exchange.url).startswith("https://graph.threads.net/access_token?")
    assert exchange.url.params["grant_type"] == "th_exchange_token"
    assert exchange.url.params["client_secret"] == "s3cr3t"
    assert stored.token == "THAAlongLivedFromExchange"
    assert stored.get("user_id") == USER and stored.get("expires_at")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "s3cr3t" not in text and "THAA-short-lived" not in text


async def test_finish_authorization_needs_the_app_secret(client: httpx.AsyncClient) -> None:
    with pytest.raises(PlatformError, match="app secret"):
        await ThreadsConnector.finish_authorization(
            client=client,
            base_url=BASE,
            credentials=Credentials("short", {"client_id": "1"}),
            token_response={"access_token": "short", "user_id": 1},
        )


def test_the_api_version_is_pinned_in_one_place() -> None:
    assert graph.THREADS_BASE_URL == f"https://graph.threads.net/{graph.THREADS_API_VERSION}"
