"""The Facebook Page connector, and the Graph API helpers in ``brandkit.platforms.graph``.

The fake ``graph.facebook.com`` answers with ``tests/fixtures/facebook`` (see its README for the
documentation page of each file). The Graph helpers (error codes, usage headers, paging) are
tested here too, since Facebook is the Graph API proper.
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
from brandkit.platforms import graph, graph_tokens, http
from brandkit.platforms.api import NO_RETRY, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, PublishResult, RateLimit
from brandkit.platforms.facebook import FacebookPageConnector
from tests.connector_support import FakeServer, Fixtures, answer, collect, connect, form

FIXTURES = Fixtures("facebook")
load, fixture = FIXTURES.load, FIXTURES.handler
BASE = "https://graph.facebook.com/v25.0"
TOKEN = "EAAG-SECRET-page-token-0123456789"
PAGE = "104857600123456"
POST = f"{PAGE}_122101234567890123"
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


class FakeGraph(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes = {
            ("GET", "/v25.0/me"): lambda r: answer({"id": PAGE, "name": "Tanaka Family Clinic"}),
            ("GET", f"/v25.0/{PAGE}"): fixture("page.json"),
            ("POST", f"/v25.0/{PAGE}/feed"): fixture("feed_created.json"),
            ("POST", f"/v25.0/{PAGE}/photos"): fixture("photo_created.json"),
            ("GET", f"/v25.0/{POST}"): fixture("post.json"),
            ("GET", f"/v25.0/{PAGE}_122105555555555556"): fixture("post.json"),
            ("GET", f"/v25.0/{PAGE}/posts"): lambda r: answer(
                load("posts_page2.json" if r.url.params.get("after") else "posts_page1.json")
            ),
            ("GET", "/v25.0/oauth/access_token"): fixture("oauth_access_token.json"),
            ("GET", "/v25.0/me/accounts"): fixture("me_accounts.json"),
        }

    def fallback(self, request: httpx.Request) -> httpx.Response:
        error = {"message": "Unsupported get request.", "code": 100, "error_subcode": 33}
        return answer({"error": error}, 400)


@pytest.fixture
def server() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    *,
    extra: dict[str, str] | None = None,
    retry: RetryPolicy = NO_RETRY,
    limits: RateLimitBook | None = None,
) -> FacebookPageConnector:
    credentials = Credentials(token=TOKEN, extra={"page_id": PAGE} if extra is None else extra)
    return connect(
        FacebookPageConnector, client, clock, credentials, base_url=BASE, retry=retry, limits=limits
    )


# --- the connector --------------------------------------------------------------------------------


async def test_connector_describes_facebook(
    client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock)
    assert isinstance(connector, Connector)
    assert connector.metrics_fields == {"likes", "replies", "reposts"}
    assert (
        FacebookPageConnector.default_base_url
        == f"https://graph.facebook.com/{graph.GRAPH_API_VERSION}"
    )
    assert FacebookPageConnector.oauth is not None
    assert "pages_manage_posts" in FacebookPageConnector.oauth.scopes


async def test_publish_posts_the_message_to_the_page_feed(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    result = await make(client, clock).publish("冬の感染症対策", idempotency_key="k")

    assert result == PublishResult(
        POST,
        f"https://www.facebook.com/{PAGE}/posts/122101234567890123",
        datetime(2026, 11, 24, 0, 0, 3, tzinfo=UTC),
    )
    feed, read_back = server.requests
    assert (feed.method, feed.url.path, form(feed)) == (
        "POST",
        f"/v25.0/{PAGE}/feed",
        {"message": "冬の感染症対策"},
    )
    assert feed.headers["Authorization"] == f"Bearer {TOKEN}"
    assert read_back.url.params["fields"] == "id,permalink_url,created_time"


async def test_publish_with_an_image_posts_a_photo_and_keeps_its_post_id(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    result = await make(client, clock).publish(
        "Flu", idempotency_key="k", image_url="https://clinic.example/flu.jpg"
    )
    assert result.remote_id == f"{PAGE}_122105555555555556"
    assert form(server.requests[0]) == {"url": "https://clinic.example/flu.jpg", "caption": "Flu"}


async def test_a_duplicate_post_is_rejected_with_the_platforms_advice(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    server.routes[("POST", f"/v25.0/{PAGE}/feed")] = fixture("error_506.json", 400)

    with pytest.raises(RejectedError) as caught:
        await make(client, clock).publish("same again", idempotency_key="k")

    assert "Duplicate status message (code 506" in str(caught.value)
    assert "identical to the last one" in (caught.value.hint or "")


async def test_a_transient_5xx_on_publish_is_an_unknown_outcome(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    server.routes[("POST", f"/v25.0/{PAGE}/feed")] = fixture("error_500.json", 500)
    with pytest.raises(OutcomeUnknownError):
        await make(client, clock, retry=RetryPolicy(attempts=3)).publish("x", idempotency_key="k")
    assert server.paths().count(f"/v25.0/{PAGE}/feed") == 1


async def test_profile_prefers_followers_count_then_fan_count(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    profile = await make(client, clock).fetch_profile()
    assert (profile.remote_id, profile.handle, profile.followers) == (PAGE, "tanakaclinic", 1840)
    assert server.requests[0].url.params["fields"] == "id,name,username,followers_count,fan_count"

    server.routes[("GET", f"/v25.0/{PAGE}")] = fixture("page_without_followers.json")
    profile = await make(client, clock).fetch_profile()
    assert (profile.handle, profile.followers) == ("Tanaka Family Clinic", 1795)


async def test_without_a_page_id_the_page_token_names_its_page_through_me(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    await make(client, clock, extra={}).fetch_profile()
    assert server.paths() == ["/v25.0/me", f"/v25.0/{PAGE}"]
    assert server.requests[0].url.params["fields"] == "id"


async def test_posts_read_reaction_comment_and_share_totals_across_pages(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    stats = await collect(make(client, clock))

    assert [(s.likes, s.replies, s.reposts) for s in stats] == [(64, 7, 5), (23, 2, 0), (41, 3, 2)]
    assert stats[0].created_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert stats[0].text == "冬の感染症対策について、院長が解説します。"
    assert all(s.impressions is None and s.quotes is None for s in stats)
    first, second = server.requests
    assert first.url.params["fields"] == (
        "id,message,created_time,permalink_url,shares,"
        "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
    )
    assert second.url.params["after"] == "QVFIUmFAFTER1"


async def test_find_post_reads_messages_only(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    found = await make(client, clock).find_post(
        idempotency_key="k",
        text="Holiday hours:  closed Dec 29 - Jan 3.",
        not_before=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert found is not None and found.remote_id == f"{PAGE}_122100000000000001"
    assert "reactions" not in server.requests[0].url.params["fields"]


async def test_code_190_is_auth_expired_with_no_refresh_attempt(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    server.routes[("GET", f"/v25.0/{PAGE}")] = fixture("error_190.json", 400)

    with pytest.raises(AuthExpiredError) as caught:
        await make(client, clock).fetch_profile()

    assert "code 190, subcode 458" in str(caught.value)
    assert "brandkit auth facebook" in (caught.value.hint or "")
    assert server.paths() == [f"/v25.0/{PAGE}"]


async def test_code_32_without_an_estimate_waits_a_cautious_five_minutes(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    server.routes[("GET", f"/v25.0/{PAGE}")] = fixture("error_32.json", 403)

    with pytest.raises(RateLimitedError) as caught:
        await make(client, clock, retry=RetryPolicy(attempts=3, max_wait=60)).fetch_profile()

    assert caught.value.reset_at == NOW + graph.UNKNOWN_THROTTLE_WAIT
    assert server.paths() == [f"/v25.0/{PAGE}"]


async def test_an_app_at_full_usage_makes_the_next_call_wait(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    full = json.dumps({"call_count": 100, "total_time": 40, "total_cputime": 30})
    server.routes[("GET", f"/v25.0/{PAGE}")] = fixture("page.json", **{"X-App-Usage": full})
    limits = RateLimitBook()
    connector = make(
        client, clock, extra={"page_id": PAGE, "client_id": "1234567890"}, limits=limits
    )

    await connector.fetch_profile()

    assert limits.get("meta:app:1234567890") == RateLimit(100, 0, NOW + graph.UNKNOWN_THROTTLE_WAIT)
    with pytest.raises(RateLimitedError):  # five minutes is beyond max_wait: not slept through
        await connector.fetch_profile()
    assert len(server.requests) == 1


async def test_a_missing_permission_says_to_reauthorise(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    server.routes[("GET", f"/v25.0/{PAGE}/posts")] = fixture("error_10.json", 403)
    with pytest.raises(PlatformError) as caught:
        await collect(make(client, clock))
    assert type(caught.value) is PlatformError
    assert "permission" in (caught.value.hint or "")


async def test_an_unknown_page_id_points_at_the_stored_id(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeGraph
) -> None:
    with pytest.raises(PlatformError) as caught:
        await make(client, clock, extra={"page_id": "404"}).fetch_profile()
    assert "page_id" in (caught.value.hint or "")


async def test_finish_authorization_keeps_the_page_token_of_the_only_page(
    client: httpx.AsyncClient, server: FakeGraph
) -> None:
    user = Credentials("EAA-short-user", {"client_id": "1234567890", "client_secret": "s3cr3t"})

    stored = await FacebookPageConnector.finish_authorization(
        client=client, base_url=BASE, credentials=user, token_response={"access_token": "x"}
    )

    exchange, accounts = server.requests
    assert exchange.url.params["grant_type"] == "fb_exchange_token"
    assert exchange.url.params["fb_exchange_token"] == "EAA-short-user"
    assert accounts.headers["Authorization"] == "Bearer EAAlongLivedUserToken"
    assert stored == Credentials(
        "EAAPageTokenForTanakaClinic", {"page_id": PAGE, "client_id": "1234567890"}
    )


async def test_finish_authorization_with_several_pages_lists_them(
    client: httpx.AsyncClient, server: FakeGraph
) -> None:
    pages = load("me_accounts.json")
    pages["data"].append({**pages["data"][0], "id": "999", "name": "Second Clinic"})
    server.routes[("GET", "/v25.0/me/accounts")] = lambda r: answer(pages)
    user = Credentials("EAA-short-user", {"client_id": "1", "client_secret": "s3cr3t"})

    with pytest.raises(PlatformError, match="2 Pages .*Second Clinic") as caught:
        await FacebookPageConnector.finish_authorization(
            client=client, base_url=BASE, credentials=user, token_response={}
        )
    assert "EAAPageTokenForTanakaClinic" not in str(caught.value)


# --- graph.py: errors -----------------------------------------------------------------------------


def _response(status: int, body: object, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", f"{BASE}/{PAGE}")
    return httpx.Response(status, json=body, headers=headers, request=request)


def _error(code: int, **more: object) -> dict[str, object]:
    return {"error": {"message": f"error {code}", "type": "OAuthException", "code": code, **more}}


@pytest.mark.parametrize(
    ("status", "body", "publish", "expected"),
    [
        (400, _error(190, error_subcode=463), False, AuthExpiredError),
        (401, _error(102), False, AuthExpiredError),
        (400, _error(4), False, RateLimitedError),
        (403, _error(17), True, RateLimitedError),
        (400, _error(32), False, RateLimitedError),
        (400, _error(613), False, RateLimitedError),
        (400, _error(80001), False, RateLimitedError),
        (400, _error(80014), False, RateLimitedError),
        (400, _error(9, error_subcode=2207042), True, RateLimitedError),
        (500, _error(2, is_transient=True), False, TransientError),
        (500, _error(2, is_transient=True), True, OutcomeUnknownError),
        (400, _error(1), False, TransientError),
        (400, _error(100), True, RejectedError),
        (400, _error(100), False, PlatformError),
        (403, _error(10), True, PlatformError),
        (400, _error(200), False, PlatformError),
    ],
)
def test_graph_error_codes_decide_the_brandkit_error(
    status: int, body: dict[str, object], publish: bool, expected: type[PlatformError]
) -> None:
    classify = graph.GraphErrors(SimulatedClock(NOW), reauthorise="re-authorise: brandkit auth x")
    error = classify(_response(status, body), http.Call("facebook", "act", (), publish))
    assert type(error) is expected
    assert error is not None and error.status == status


def test_an_answer_without_a_graph_error_falls_back_to_the_status_rules() -> None:
    classify = graph.GraphErrors(SimulatedClock(NOW), reauthorise="")
    request = httpx.Request("GET", BASE)
    html = httpx.Response(502, text="<html>Bad gateway</html>", request=request)
    assert classify(html, http.Call("facebook", "act")) is None
    assert classify(_response(429, {"error": "slow down"}), http.Call("facebook", "act")) is None


def test_graph_error_messages_are_redacted() -> None:
    classify = graph.GraphErrors(SimulatedClock(NOW), reauthorise="")
    body = {"error": {"message": f"bad token {TOKEN}", "type": "OAuthException", "code": 190}}
    error = classify(_response(400, body), http.Call("facebook", "act", (TOKEN,)))
    assert error is not None
    assert TOKEN not in str(error) and TOKEN not in (error.body or "")


def test_graph_error_parsing_tolerates_odd_bodies() -> None:
    assert graph.graph_error(b"not json") is None
    assert graph.graph_error(b'{"error": "a string"}') is None
    parsed = graph.graph_error(json.dumps(_error(190, error_subcode="460")))
    assert parsed is not None and (parsed.code, parsed.subcode) == (190, 460)


# --- graph.py: usage headers ----------------------------------------------------------------------


def test_read_usage_turns_percentages_into_buckets() -> None:
    headers = httpx.Headers(
        {
            "X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25}),
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    PAGE: [
                        {
                            "type": "pages",
                            "call_count": 40,
                            "total_cputime": 5,
                            "total_time": 9,
                            "estimated_time_to_regain_access": 0,
                        }
                    ],
                    "17841405822304914": [
                        {
                            "type": "instagram",
                            "call_count": 100,
                            "total_cputime": 1,
                            "total_time": 1,
                            "estimated_time_to_regain_access": 19,
                        }
                    ],
                }
            ),
        }
    )
    found = graph.read_usage(headers, NOW)
    assert found == [
        ("app", RateLimit(100, 72, None)),
        ("account", RateLimit(100, 0, NOW + timedelta(minutes=19))),
    ]


def test_read_usage_reads_page_usage_and_ignores_garbage() -> None:
    headers = httpx.Headers(
        {
            "X-App-Usage": "{not json",
            "X-Page-Usage": json.dumps({"call_count": 100, "total_cputime": 3, "total_time": 3}),
        }
    )
    assert graph.read_usage(headers, NOW) == [
        ("account", RateLimit(100, 0, NOW + graph.UNKNOWN_THROTTLE_WAIT))
    ]
    assert graph.read_usage(httpx.Headers(), NOW) == []


def test_zero_minutes_while_throttled_means_under_a_minute() -> None:
    usage = {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 1,
                "total_time": 1,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    headers = httpx.Headers({"X-Business-Use-Case-Usage": json.dumps(usage)})
    assert graph.throttled_until(headers, NOW) == NOW + graph.MIN_THROTTLE_WAIT


# --- graph.py: paging and insights ----------------------------------------------------------------


def _paged(url: str) -> httpx.Response:
    return httpx.Response(200, json={}, request=httpx.Request("GET", url))


def test_next_page_drops_an_access_token_from_the_next_link() -> None:
    here = _paged(f"{BASE}/{PAGE}/posts?limit=25")
    paging = {"next": f"{BASE}/{PAGE}/posts?limit=25&access_token=leak&after=X"}
    following = graph.next_page(here, paging, platform="facebook")
    assert following is not None
    assert "access_token" not in str(following) and following.params["after"] == "X"


def test_next_page_ends_without_next_unless_cursors_alone_are_followed() -> None:
    here = _paged(f"{BASE}/{PAGE}/posts?limit=25")
    paging = {"cursors": {"before": "A", "after": "B"}}
    assert graph.next_page(here, paging, platform="facebook") is None
    following = graph.next_page(here, paging, platform="threads", cursor_without_next=True)
    assert following is not None and following.params["after"] == "B"
    assert graph.next_page(here, None, platform="facebook") is None


def test_insight_values_read_lifetime_values_and_total_values() -> None:
    value = {
        "data": [
            {"name": "views", "period": "lifetime", "values": [{"value": 10}]},
            {"name": "followers_count", "period": "day", "total_value": {"value": 7}},
            {"name": "reach", "period": "lifetime", "values": []},
            {"name": 3},
            "junk",
        ]
    }
    assert graph.insight_values(value) == {"views": 10, "followers_count": 7}
    assert graph.insight_values(None) == {}


def test_origin_strips_the_version() -> None:
    assert graph_tokens.origin("https://graph.threads.net/v1.0/") == "https://graph.threads.net"
    assert graph_tokens.origin("http://127.0.0.1:8080/v25.0") == "http://127.0.0.1:8080"
