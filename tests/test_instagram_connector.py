"""The Instagram connector against a fake ``graph.instagram.com`` built from documented payloads.

The handler branches on ``(method, path)`` and answers with ``tests/fixtures/instagram`` (see
its README for the documentation page of each file).
"""

from __future__ import annotations

import json
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
from brandkit.platforms.api import NO_RETRY, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, PublishResult
from brandkit.platforms.instagram import InstagramConnector
from tests.connector_support import FakeServer, Fixtures, answer, collect, connect, form

FIXTURES = Fixtures("instagram")
load, fixture = FIXTURES.load, FIXTURES.handler
BASE = "https://graph.instagram.com/v25.0"
TOKEN = "IGAA-SECRET-token-0123456789abcdef"
IG = "17841405822304914"
CONTAINER = "17889455560051444"
MEDIA = "17920238422030506"
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
IMAGE = "https://clinic.example/images/flu-2026.jpg"
CAPTION = "インフルエンザ予防のポイント #health"


class FakeInstagram(FakeServer):
    def __init__(self, prefix: str = "/v25.0") -> None:
        super().__init__()
        p = prefix
        self.routes = {
            ("GET", f"{p}/me"): fixture("me.json"),
            ("GET", f"{p}/{IG}"): fixture("ig_user.json"),
            ("GET", f"{p}/{IG}/content_publishing_limit"): fixture("content_publishing_limit.json"),
            ("POST", f"{p}/{IG}/media"): fixture("container_created.json"),
            ("GET", f"{p}/{CONTAINER}"): fixture("container_finished.json"),
            ("POST", f"{p}/{IG}/media_publish"): fixture("media_publish.json"),
            ("GET", f"{p}/{MEDIA}"): fixture("media.json"),
            ("GET", f"{p}/{IG}/media"): self.media_page,
            ("GET", "/refresh_access_token"): fixture("refresh_access_token.json"),
            ("GET", "/access_token"): fixture("access_token_long_lived.json"),
        }

    def media_page(self, request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        return answer(load("media_page2.json" if after else "media_page1.json"))

    def fallback(self, request: httpx.Request) -> httpx.Response:
        return answer({"error": {"message": "Unsupported get request.", "code": 100}}, 400)


@pytest.fixture
def server() -> FakeInstagram:
    return FakeInstagram()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    *,
    extra: dict[str, str] | None = None,
    base_url: str = BASE,
    retry: RetryPolicy = NO_RETRY,
) -> InstagramConnector:
    credentials = Credentials(token=TOKEN, extra={"ig_user_id": IG} if extra is None else extra)
    return connect(InstagramConnector, client, clock, credentials, base_url=base_url, retry=retry)


# --- publishing -----------------------------------------------------------------------------------


async def test_connector_describes_instagram(
    client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock)
    assert isinstance(connector, Connector)
    assert not connector.can_publish_text and connector.accepts_image_url
    assert connector.max_length == 2200
    assert InstagramConnector.default_base_url == "https://graph.instagram.com/v25.0"
    assert InstagramConnector.oauth is not None
    assert "instagram_business_content_publish" in InstagramConnector.oauth.scopes


async def test_text_alone_is_rejected_before_any_request(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    with pytest.raises(RejectedError) as caught:
        await make(client, clock).publish("text only", idempotency_key="k")

    assert "image" in str(caught.value) and "image" in (caught.value.hint or "")
    assert server.requests == []


async def test_publish_checks_the_quota_then_container_status_then_publishes(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    result = await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)

    assert result == PublishResult(
        MEDIA, "https://www.instagram.com/p/DA30506/", datetime(2026, 11, 24, 0, 0, 7, tzinfo=UTC)
    )
    limit, create, status, publish, read_back = server.requests
    assert limit.url.params["fields"] == "quota_usage,config"
    assert (create.method, create.url.path) == ("POST", f"/v25.0/{IG}/media")
    assert form(create) == {"image_url": IMAGE, "caption": CAPTION}
    assert create.headers["Authorization"] == f"Bearer {TOKEN}"
    assert status.url.params["fields"] == "id,status_code,status"
    assert form(publish) == {"creation_id": CONTAINER}
    assert read_back.url.params["fields"] == "id,permalink,timestamp"


async def test_a_used_up_quota_is_rate_limited_until_the_oldest_post_leaves_the_window(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    server.routes[("GET", f"/v25.0/{IG}/content_publishing_limit")] = fixture(
        "content_publishing_limit_full.json"
    )

    with pytest.raises(RateLimitedError) as caught:
        await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)

    # media_page1: the only post inside the last 24 hours is from 2026-11-23 10:00
    assert caught.value.reset_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert "50 posts per 24 hours" in str(caught.value)
    assert f"/v25.0/{IG}/media" not in server.paths("POST")


async def test_container_processing_is_polled_a_bounded_number_of_times(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    server.routes[("GET", f"/v25.0/{CONTAINER}")] = fixture("container_in_progress.json")

    with pytest.raises(TransientError, match="still processing") as caught:
        await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert server.paths().count(f"/v25.0/{CONTAINER}") == 6
    assert clock.now() - NOW == timedelta(seconds=25)
    assert f"/v25.0/{IG}/media_publish" not in server.paths()


async def test_a_container_in_error_is_rejected_with_its_status(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    server.routes[("GET", f"/v25.0/{CONTAINER}")] = fixture("container_error.json")

    with pytest.raises(RejectedError, match="Media download has failed"):
        await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)


async def test_an_image_the_platform_cannot_fetch_is_rejected_with_its_user_message(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    server.routes[("POST", f"/v25.0/{IG}/media")] = fixture("error_image.json", 400)

    with pytest.raises(RejectedError) as caught:
        await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)

    assert "could not be fetched" in (caught.value.hint or "")
    assert "code 9004" in str(caught.value)


async def test_a_5xx_on_media_publish_is_an_unknown_outcome(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    server.routes[("POST", f"/v25.0/{IG}/media_publish")] = lambda r: answer(
        {
            "error": {
                "message": "An unexpected error has occurred.",
                "code": 2,
                "is_transient": True,
            }
        },
        503,
    )
    with pytest.raises(OutcomeUnknownError):
        await make(client, clock).publish(CAPTION, idempotency_key="k", image_url=IMAGE)


# --- reading --------------------------------------------------------------------------------------


async def test_profile_reads_the_documented_counts(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    profile = await make(client, clock).fetch_profile()

    assert (profile.remote_id, profile.handle) == (IG, "tanaka_clinic")
    assert (profile.followers, profile.following, profile.posts_count) == (3150, 212, 184)
    assert server.requests[0].url.params["fields"] == (
        "id,username,followers_count,follows_count,media_count"
    )


async def test_without_an_id_instagram_login_asks_me_for_user_id(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    await make(client, clock, extra={}).fetch_profile()
    me = server.requests[0]
    assert (me.url.path, me.url.params["fields"]) == ("/v25.0/me", "user_id,username")
    assert server.requests[1].url.path == f"/v25.0/{IG}"


async def test_metrics_expand_insights_in_the_page_and_follow_next(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    stats = await collect(make(client, clock))

    assert [s.remote_id for s in stats] == [MEDIA, "17919999999999999", "17918888888888888"]
    first = stats[0]
    assert (first.likes, first.replies, first.reposts, first.bookmarks, first.impressions) == (
        120,
        8,
        12,
        35,
        2400,
    )
    assert first.quotes is None and first.text == CAPTION
    last = stats[-1]
    assert (last.likes, last.impressions, last.reposts) == (40, None, None)
    first_page, second_page = (r for r in server.requests if r.url.path == f"/v25.0/{IG}/media")
    assert first_page.url.params["fields"] == (
        "id,caption,timestamp,permalink,like_count,comments_count,media_type,"
        "insights.metric(views,reach,saved,shares)"
    )
    assert second_page.url.params["after"] == "QVFIUkFGVEVSMQ"
    assert second_page.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_refused_insights_fall_back_to_counts_only(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    def media(request: httpx.Request) -> httpx.Response:
        if "insights" in request.url.params.get("fields", ""):
            return answer(load("error_100_insights.json"), 400)
        page = json.loads(server.media_page(request).content)
        for item in page["data"]:
            item.pop("insights", None)
        return answer(page)

    server.routes[("GET", f"/v25.0/{IG}/media")] = media
    connector = make(client, clock)

    stats = await collect(connector)

    assert [s.likes for s in stats] == [120, 98, 40]
    assert all(s.impressions is None and s.bookmarks is None for s in stats)
    requests = [r for r in server.requests if r.url.path == f"/v25.0/{IG}/media"]
    assert len(requests) == 3  # the refused page, then both pages without the expansion
    await collect(connector)
    later = [r for r in server.requests if r.url.path == f"/v25.0/{IG}/media"][3:]
    assert all("insights" not in r.url.params["fields"] for r in later)


async def test_a_next_link_on_another_server_falls_back_to_the_cursor(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    page = load("media_page1.json")
    page["paging"]["next"] = "https://evil.example/v25.0/x?after=QVFIUkFGVEVSMQ"
    server.routes[("GET", f"/v25.0/{IG}/media")] = lambda r: (
        answer(load("media_page2.json")) if r.url.params.get("after") else answer(page)
    )

    stats = await collect(make(client, clock))

    assert len(stats) == 3
    assert all(r.url.host == "graph.instagram.com" for r in server.requests)


async def test_a_next_link_on_another_server_without_a_cursor_is_refused(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    page = load("media_page1.json")
    page["paging"] = {"next": "https://evil.example/v25.0/x?after=1"}
    server.routes[("GET", f"/v25.0/{IG}/media")] = lambda r: answer(page)

    with pytest.raises(PlatformError, match="another server"):
        await collect(make(client, clock))


async def test_find_post_matches_the_caption(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    found = await make(client, clock).find_post(
        idempotency_key="k", text=CAPTION + "\n", not_before=datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert found is not None and found.remote_id == MEDIA
    assert "insights" not in server.requests[0].url.params["fields"]


# --- throttling and tokens ------------------------------------------------------------------------


async def test_code_80002_waits_for_the_estimated_minutes(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    usage = {
        IG: [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 1,
            }
        ]
    }
    calls = iter(
        [
            fixture("error_80002.json", 400, **{"X-Business-Use-Case-Usage": json.dumps(usage)}),
            fixture("ig_user.json"),
        ]
    )
    server.routes[("GET", f"/v25.0/{IG}")] = lambda r: next(calls)(r)
    connector = make(client, clock, retry=RetryPolicy(attempts=3, max_wait=120.0))

    profile = await connector.fetch_profile()

    assert profile.followers == 3150
    assert clock.now() >= NOW + timedelta(minutes=1)


async def test_usage_headers_set_the_last_rate_limit(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    usage = {
        IG: [
            {
                "type": "instagram",
                "call_count": 28,
                "total_cputime": 5,
                "total_time": 40,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    server.routes[("GET", f"/v25.0/{IG}")] = fixture(
        "ig_user.json", **{"X-Business-Use-Case-Usage": json.dumps(usage)}
    )
    connector = make(client, clock)

    await connector.fetch_profile()

    assert connector.last_rate_limit is not None
    assert (connector.last_rate_limit.limit, connector.last_rate_limit.remaining) == (100, 60)
    assert connector.last_rate_limit.reset_at is None


async def test_instagram_login_tokens_renew_with_ig_refresh_token(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeInstagram
) -> None:
    extra = {"ig_user_id": IG, "expires_at": (NOW + timedelta(days=2)).isoformat()}

    await make(client, clock, extra=extra).fetch_profile()

    refresh = server.requests[0]
    assert str(refresh.url).startswith("https://graph.instagram.com/refresh_access_token?")
    assert refresh.url.params["grant_type"] == "ig_refresh_token"
    assert server.requests[1].headers["Authorization"] == "Bearer IGAAfreshTokenFromRefresh"


async def test_facebook_login_uses_the_page_token_without_refresh(
    clock: SimulatedClock,
) -> None:
    server = FakeInstagram(prefix="/v25.0")
    server.routes[("GET", "/v25.0/me")] = fixture("me_page.json")
    server.routes[("GET", f"/v25.0/{IG}")] = fixture("../facebook/error_190.json", 400)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        connector = make(
            client,
            clock,
            extra={"expires_at": (NOW + timedelta(days=1)).isoformat()},
            base_url="https://graph.facebook.com/v25.0",
        )
        with pytest.raises(AuthExpiredError) as caught:
            await connector.fetch_profile()

    me = server.requests[0]
    assert (me.url.host, me.url.params["fields"]) == (
        "graph.facebook.com",
        "instagram_business_account",
    )
    assert server.requests[1].url.path == f"/v25.0/{IG}"
    assert "/refresh_access_token" not in server.paths()
    assert "brandkit auth instagram" in (caught.value.hint or "")


async def test_finish_authorization_reads_the_user_id_from_a_data_list(
    client: httpx.AsyncClient, server: FakeInstagram
) -> None:
    short = Credentials("IGAA-short", {"client_id": "990602627938098", "client_secret": "s3cr3t"})

    stored = await InstagramConnector.finish_authorization(
        client=client,
        base_url=BASE,
        credentials=short,
        token_response={"data": [{"access_token": "IGAA-short", "user_id": IG}]},
    )

    assert server.requests[0].url.params["grant_type"] == "ig_exchange_token"
    assert stored.token == "IGAAlongLivedFromExchange"
    assert stored.get("ig_user_id") == IG
