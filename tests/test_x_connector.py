"""The X connector against a fake X API, with every exchange checked against X's OpenAPI document.

The fake server branches on ``request.url.path`` and answers with the payloads in
``tests/fixtures/x`` (see its README for the documentation page of each file). Every request the
connector sends passes :meth:`OpenAPI.check_request` and every JSON answer it parses passes
:meth:`OpenAPI.check_response` (``tests/contract/fakes/x.py``), so a parameter, field or body the
document does not know fails the test that caused it.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

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
    RejectedError,
    TransientError,
)
from brandkit.platforms.api import NO_RETRY, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, RateLimit, get_connector_class
from brandkit.platforms.x import (
    OAUTH,
    XConnector,
    comparable_text,
    post_url,
    problem_text,
    read_rate_limits,
)
from tests.connector_support import FakeServer, Fixtures, Handler, MemoryStore, connect
from tests.contract.fakes.x import OpenAPI, OpenAPIViolation, openapi

FIXTURES = Fixtures("x")
load = FIXTURES.load
BASE_URL = "https://api.x.example"
TOKEN = "tok-SECRET-x-0123456789abcdef"
REFRESH = "refresh-SECRET-x-fedcba9876543210"
CLIENT_ID = "Y2xpZW50LWlkLWNsaW5pYw"
CLIENT_SECRET = "secret-SECRET-x-5f4e3d2c1b"
USER_ID = "1587342031994318848"
TIMELINE = f"/2/users/{USER_ID}/tweets"
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
RESET_AT = NOW + timedelta(minutes=15)
P1, P2, P3, P4, P5 = (f"186199000000000000{n}" for n in (5, 4, 3, 2, 1))
TOKEN_PAGE2 = "7140dibdnow9c7btw3z3r2yqzx6kvd0dh7jyh8wx3k6rq"
TOKEN_PAGE3 = "7140dibdnow9c7btw3z3r2yqzx6kvd0dh7jyh8wx3k6rs"
PROBLEM = "application/problem+json"

# Which operation, status and content type each fixture answers; every file must be listed.
FIXTURE_ANSWERS: dict[str, tuple[str, str, int, str]] = {
    "users_me.json": ("GET", "/2/users/me", 200, "application/json"),
    "create_post.json": ("POST", "/2/tweets", 201, "application/json"),
    "user_posts_page1.json": ("GET", TIMELINE, 200, "application/json"),
    "user_posts_page2.json": ("GET", TIMELINE, 200, "application/json"),
    "user_posts_page3.json": ("GET", TIMELINE, 200, "application/json"),
    "user_posts_empty.json": ("GET", TIMELINE, 200, "application/json"),
    "user_posts_partial_errors.json": ("GET", TIMELINE, 200, "application/json"),
    "user_posts_errors_only.json": ("GET", TIMELINE, 200, "application/json"),
    "error_400_invalid_request.json": ("POST", "/2/tweets", 400, PROBLEM),
    "error_401.json": ("GET", "/2/users/me", 401, PROBLEM),
    "error_403_duplicate.json": ("POST", "/2/tweets", 403, PROBLEM),
    "error_403_forbidden.json": ("POST", "/2/tweets", 403, PROBLEM),
    "error_429.json": ("GET", TIMELINE, 429, PROBLEM),
    "error_503.json": ("GET", "/2/users/me", 503, PROBLEM),
    "token_refresh.json": ("POST", "/2/oauth2/token", 200, "application/json"),
    "token_error_400.json": ("POST", "/2/oauth2/token", 400, "application/json"),
}


def limits(remaining: int = 899, reset: datetime = RESET_AT) -> dict[str, str]:
    return {
        "x-rate-limit-limit": "900",
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset.timestamp())),
    }


def answer(
    payload: object, status: int = 200, *, content_type: str = "application/json", **headers: str
) -> httpx.Response:
    """An answer carrying X's rate-limit headers, as every real one does."""
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={"Content-Type": content_type, **limits(), **headers},
    )


def fixture_answer(name: str, **headers: str) -> Handler:
    _, _, status, content_type = FIXTURE_ANSWERS[name]
    return lambda request: answer(load(name), status, content_type=content_type, **headers)


def renamed(payload: Any, names: dict[str, str]) -> Any:
    """``payload`` with keys renamed at any depth (the older ``tweet.fields`` spellings)."""
    if isinstance(payload, dict):
        return {names.get(k, k): renamed(v, names) for k, v in payload.items()}
    if isinstance(payload, list):
        return [renamed(v, names) for v in payload]
    return payload


class FakeXServer(FakeServer):
    """X's API: documented answers per path, any of which a test can override.

    Every request and every JSON answer is checked against the OpenAPI document, unless a test
    turns the answer check off to send what X's guides show but the document does not describe.
    """

    PAGES = {
        None: "user_posts_page1.json",
        TOKEN_PAGE2: "user_posts_page2.json",
        TOKEN_PAGE3: "user_posts_page3.json",
    }

    def __init__(self, spec: OpenAPI) -> None:
        super().__init__()
        self.spec = spec
        self.check_answers = True
        self.routes = {
            ("POST", "/2/tweets"): fixture_answer("create_post.json"),
            ("GET", "/2/users/me"): fixture_answer("users_me.json"),
            ("GET", TIMELINE): self.timeline,
            ("POST", "/2/oauth2/token"): lambda r: httpx.Response(
                200, json=load("token_refresh.json")
            ),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.spec.check_request(request)
        response = super().__call__(request)
        if self.check_answers:
            self.spec.check_response(request, response)
        return response

    def timeline(self, request: httpx.Request) -> httpx.Response:
        return fixture_answer(self.PAGES[request.url.params.get("pagination_token")])(request)

    def fallback(self, request: httpx.Request) -> httpx.Response:
        return answer({"title": "Not Found"}, 404, content_type=PROBLEM)


@pytest.fixture
def spec() -> OpenAPI:
    return openapi()


@pytest.fixture
def server(spec: OpenAPI) -> FakeXServer:
    return FakeXServer(spec)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def credentials(**extra: str) -> Credentials:
    base = {
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "expires_at": (NOW + timedelta(hours=2)).isoformat(),
    }
    return Credentials(token=TOKEN, extra={**base, **extra})


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    creds: Credentials | None = None,
    *,
    retry: RetryPolicy = NO_RETRY,
    book: RateLimitBook | None = None,
    account: str = "account:7",
) -> XConnector:
    return connect(
        XConnector,
        client,
        clock,
        creds or credentials(),
        base_url=BASE_URL,
        retry=retry,
        limits=book,
        account_key=account,
    )


@pytest.fixture
def connector(client: httpx.AsyncClient, clock: SimulatedClock) -> XConnector:
    return make(client, clock)


# --- the OpenAPI check itself -------------------------------------------------------------------


def test_every_fixture_is_listed_and_fits_the_openapi_document(spec: OpenAPI) -> None:
    files = {p.name for p in FIXTURES.folder.glob("*.json")}
    assert files == set(FIXTURE_ANSWERS), "list each fixture in FIXTURE_ANSWERS (and the README)"
    for name, (method, path, status, content_type) in FIXTURE_ANSWERS.items():
        request = httpx.Request(method, BASE_URL + path)
        response = httpx.Response(
            status,
            content=(FIXTURES.folder / name).read_bytes(),
            headers={"Content-Type": content_type},
        )
        spec.check_response(request, response)


def test_every_fixture_is_named_in_the_readme() -> None:
    readme = (FIXTURES.folder / "README.md").read_text(encoding="utf-8")
    for name in FIXTURE_ANSWERS:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize(
    ("method", "url", "body", "complaint"),
    [
        ("GET", f"{TIMELINE}?tweet.fields=public_metrics", None, "'tweet.fields' is not declared"),
        ("GET", f"{TIMELINE}?idempotency_key=k", None, "'idempotency_key' is not declared"),
        ("GET", f"{TIMELINE}?post.fields=public_metricz", None, "is not one of"),
        ("GET", f"{TIMELINE}?max_results=500", None, "greater than the maximum of 100"),
        ("GET", f"{TIMELINE}?max_results=ten", None, "is not an integer"),
        ("GET", f"{TIMELINE}?start_time=yesterday", None, "is not a 'date-time'"),
        ("GET", "/2/users/sakura_clinic/tweets", None, "does not match"),
        ("GET", "/2/users/me/statuses", None, "is not an operation"),
        ("DELETE", "/2/users/me", None, "is not an operation"),
        ("POST", "/2/tweets", {"text": "hi", "idempotency_key": "k"}, "'idempotency_key' was"),
        ("POST", "/2/tweets", {"status": "hi"}, "'status' was unexpected"),
        ("POST", "/2/tweets", {"text": 280}, "is not of type 'string'"),
    ],
)
def test_the_openapi_check_catches_a_wrong_request(
    spec: OpenAPI, method: str, url: str, body: object, complaint: str
) -> None:
    request = httpx.Request(method, BASE_URL + url, json=body) if body else None
    request = request or httpx.Request(method, BASE_URL + url)
    with pytest.raises(OpenAPIViolation, match=complaint):
        spec.check_request(request)


def test_the_openapi_check_catches_a_wrong_token_request(spec: OpenAPI) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": REFRESH}
    with pytest.raises(OpenAPIViolation, match="neither HTTP Basic nor client_id"):
        spec.check_request(httpx.Request("POST", f"{BASE_URL}/2/oauth2/token", data=form))
    with_secret = {**form, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    with pytest.raises(OpenAPIViolation, match="client secret in HTTP Basic only"):
        spec.check_request(httpx.Request("POST", f"{BASE_URL}/2/oauth2/token", data=with_secret))


@pytest.mark.parametrize(
    ("name", "change", "complaint"),
    [
        ("users_me.json", {"post_count": None}, "'post_count' is a required property"),
        ("user_posts_page1.json", {"like_count": "85"}, "is not of type 'integer'"),
        ("user_posts_page1.json", {"created_at": "2026/11/23"}, "is not a 'date-time'"),
        ("create_post.json", {"id": "post-6"}, "does not match"),
    ],
)
def test_the_openapi_check_catches_a_wrong_answer(
    spec: OpenAPI, name: str, change: dict[str, object], complaint: str
) -> None:
    payload = load(name)
    for key, value in change.items():
        _set_everywhere(payload, key, value)
    method, path, status, content_type = FIXTURE_ANSWERS[name]
    response = httpx.Response(status, json=payload, headers={"Content-Type": content_type})
    with pytest.raises(OpenAPIViolation, match=complaint):
        spec.check_response(httpx.Request(method, BASE_URL + path), response)


def _set_everywhere(node: Any, key: str, value: object) -> None:
    if isinstance(node, dict):
        if key in node:
            if value is None:
                del node[key]
            else:
                node[key] = value
        for child in node.values():
            _set_everywhere(child, key, value)
    elif isinstance(node, list):
        for child in node:
            _set_everywhere(child, key, value)


# --- capabilities and registration --------------------------------------------------------------


def test_the_connector_is_registered_and_satisfies_the_protocol(connector: XConnector) -> None:
    assert get_connector_class("x") is XConnector
    assert isinstance(connector, Connector)
    assert XConnector.can_publish_text and not XConnector.supports_idempotency_key
    assert XConnector.max_length == 280 and not XConnector.accepts_image_url
    assert XConnector.default_base_url == "https://api.x.com"
    assert TOKEN not in repr(connector)


def test_the_oauth_spec_is_the_documented_pkce_flow() -> None:
    assert XConnector.oauth is OAUTH
    assert OAUTH.authorize_url == "https://x.com/i/oauth2/authorize"
    assert OAUTH.token_url == "/2/oauth2/token" and OAUTH.pkce
    assert set(OAUTH.scopes) == {"tweet.read", "tweet.write", "users.read", "offline.access"}
    assert OAUTH.client_auth == "basic"


# --- publish ------------------------------------------------------------------------------------


async def test_publish_posts_json_text_and_reads_the_new_id(
    connector: XConnector, server: FakeXServer
) -> None:
    result = await connector.publish("Flu shots every weekday.", idempotency_key="key-1")

    (sent,) = server.to("/2/tweets", "POST")
    assert json.loads(sent.content) == {"text": "Flu shots every weekday."}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "idempotency-key" not in sent.headers
    assert result.remote_id == "1861990000000000006"
    assert result.url == "https://x.com/i/web/status/1861990000000000006"
    assert result.published_at == NOW


async def test_publish_after_the_profile_links_the_post_under_the_handle(
    connector: XConnector,
) -> None:
    await connector.fetch_profile()
    result = await connector.publish("Flu shots every weekday.", idempotency_key="key-1")
    assert result.url == "https://x.com/sakura_clinic/status/1861990000000000006"


async def test_an_image_by_url_is_refused_before_anything_is_sent(
    connector: XConnector, server: FakeXServer
) -> None:
    with pytest.raises(RejectedError) as caught:
        await connector.publish("x", idempotency_key="k", image_url="https://clinic.jp/a.jpg")
    assert caught.value.hint and not server.requests


async def test_400_on_publish_is_rejected_with_the_problem_detail(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("POST", "/2/tweets")] = fixture_answer("error_400_invalid_request.json")

    with pytest.raises(RejectedError) as caught:
        await connector.publish("too long", idempotency_key="k")

    message = str(caught.value)
    assert "Invalid Request: One or more parameters to your request was invalid." in message
    assert "280 weighted characters or fewer" in message
    assert caught.value.status == 400


async def test_403_duplicate_content_is_rejected_not_a_mystery(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("POST", "/2/tweets")] = fixture_answer("error_403_duplicate.json")

    with pytest.raises(RejectedError) as caught:
        await connector.publish("Same as yesterday", idempotency_key="k")

    assert "duplicate content" in str(caught.value)
    assert caught.value.hint and "change the text" in caught.value.hint


async def test_other_403s_say_which_permission_to_check(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("POST", "/2/tweets")] = fixture_answer("error_403_forbidden.json")

    with pytest.raises(PlatformError) as caught:
        await connector.publish("hello", idempotency_key="k")

    assert type(caught.value) is PlatformError
    assert "Forbidden: You are not permitted to perform this action." in str(caught.value)
    assert caught.value.hint and "Read and write" in caught.value.hint


async def test_503_on_publish_is_outcome_unknown_and_not_resent(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    server.overrides[("POST", "/2/tweets")] = fixture_answer("error_503.json")
    connector = make(client, clock, retry=RetryPolicy(attempts=3, max_wait=60))

    with pytest.raises(OutcomeUnknownError) as caught:
        await connector.publish("hello", idempotency_key="k")

    assert "Service Unavailable" in str(caught.value)
    assert len(server.to("/2/tweets", "POST")) == 1


async def test_a_publish_answer_with_errors_only_is_an_unknown_outcome(
    connector: XConnector, server: FakeXServer
) -> None:
    body = {"errors": [{"title": "Internal Error", "detail": "Try again later.", "type": "x"}]}
    server.check_answers = False  # not a documented problem type: the connector must cope
    server.overrides[("POST", "/2/tweets")] = lambda r: answer(body, 201)

    with pytest.raises(OutcomeUnknownError, match="Internal Error: Try again later."):
        await connector.publish("hello", idempotency_key="k")


# --- profile ------------------------------------------------------------------------------------


async def test_fetch_profile_reads_public_metrics(
    connector: XConnector, server: FakeXServer
) -> None:
    profile = await connector.fetch_profile()

    (sent,) = server.to("/2/users/me", "GET")
    assert sent.url.params["user.fields"] == "created_at,public_metrics,username"
    assert (profile.remote_id, profile.handle) == (USER_ID, "sakura_clinic")
    assert (profile.followers, profile.following, profile.posts_count) == (2048, 180, 1312)


async def test_fetch_profile_accepts_the_older_tweet_count(
    connector: XConnector, server: FakeXServer
) -> None:
    legacy = renamed(load("users_me.json"), {"post_count": "tweet_count"})
    server.check_answers = False  # the data dictionary's older spelling, not in the document
    server.overrides[("GET", "/2/users/me")] = lambda r: answer(legacy)

    profile = await connector.fetch_profile()

    assert profile.posts_count == 1312


async def test_a_profile_without_public_metrics_is_malformed(
    connector: XConnector, server: FakeXServer
) -> None:
    bare = load("users_me.json")
    del bare["data"]["public_metrics"]
    server.overrides[("GET", "/2/users/me")] = lambda r: answer(bare)

    with pytest.raises(PlatformError, match="not what the API documents.*public_metrics"):
        await connector.fetch_profile()


async def test_401_is_auth_expired_with_the_problem_title(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    server.overrides[("GET", "/2/users/me")] = fixture_answer("error_401.json")
    connector = make(client, clock, Credentials(token=TOKEN))  # nothing to refresh with

    with pytest.raises(AuthExpiredError) as caught:
        await connector.fetch_profile()

    assert "fetch profile failed (HTTP 401): Unauthorized" in str(caught.value)
    assert TOKEN not in str(caught.value) and caught.value.hint


async def test_a_user_id_in_the_credentials_saves_the_profile_call(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    connector = make(client, clock, credentials(user_id=USER_ID))

    stats = [s async for s in connector.fetch_post_metrics()]

    assert len(stats) == 5 and not server.to("/2/users/me", "GET")


# --- post metrics -------------------------------------------------------------------------------


async def test_post_metrics_follow_next_token_across_three_pages(
    connector: XConnector, server: FakeXServer
) -> None:
    stats = [s async for s in connector.fetch_post_metrics()]

    assert [s.remote_id for s in stats] == [P1, P2, P3, P4, P5]
    pages = server.to(TIMELINE, "GET")
    assert [r.url.params.get("pagination_token") for r in pages] == [
        None,
        TOKEN_PAGE2,
        TOKEN_PAGE3,
    ]
    for request in pages:
        assert request.url.params["max_results"] == "100"
        assert request.url.params["exclude"] == "retweets"
        assert request.url.params["post.fields"] == "created_at,public_metrics,text"
        assert "start_time" not in request.url.params
    first = stats[0]
    assert first.created_at == datetime(2026, 11, 23, tzinfo=UTC)
    assert (first.likes, first.reposts, first.replies, first.quotes) == (85, 12, 3, 2)
    assert (first.bookmarks, first.impressions) == (9, 4321)
    assert first.url == f"https://x.com/sakura_clinic/status/{P1}"


async def test_post_text_is_unescaped(connector: XConnector) -> None:
    stats = {s.remote_id: s async for s in connector.fetch_post_metrics()}
    assert stats[P2].text == "Flu season tips: wash hands & sleep well.\nMore at " + (
        "https://t.co/Zp8LmN2qWe #health"
    )
    assert stats[P3].text is not None and stats[P3].text.startswith("Q&A：")


async def test_post_metrics_accept_the_older_retweet_count(
    connector: XConnector, server: FakeXServer
) -> None:
    legacy = renamed(load("user_posts_page3.json"), {"repost_count": "retweet_count"})
    server.check_answers = False  # the data dictionary's older spelling, not in the document
    server.overrides[("GET", TIMELINE)] = lambda r: answer(legacy)

    (stats,) = [s async for s in connector.fetch_post_metrics()]

    assert (stats.reposts, stats.likes) == (1, 15)


async def test_since_asks_for_start_time_and_stops_at_the_first_older_post(
    connector: XConnector, server: FakeXServer
) -> None:
    since = datetime(2026, 11, 21, 12, 30, 15, 123456, tzinfo=UTC)

    stats = [s async for s in connector.fetch_post_metrics(since=since)]

    assert [s.remote_id for s in stats] == [P1, P2]
    pages = server.to(TIMELINE, "GET")
    assert pages[0].url.params["start_time"] == "2026-11-21T12:30:15Z"
    assert len(pages) == 2, "the second page reached older posts, so the third is not read"


async def test_since_in_another_time_zone_is_sent_in_utc(
    connector: XConnector, server: FakeXServer
) -> None:
    since = datetime(2026, 11, 22, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    stats = [s async for s in connector.fetch_post_metrics(since=since)]

    assert [s.remote_id for s in stats] == [P1, P2]
    assert server.to(TIMELINE, "GET")[0].url.params["start_time"] == "2026-11-22T00:00:00Z"


async def test_a_since_before_x_existed_is_not_sent(
    connector: XConnector, server: FakeXServer
) -> None:
    stats = [s async for s in connector.fetch_post_metrics(since=datetime(2009, 1, 1))]
    assert len(stats) == 5
    assert "start_time" not in server.to(TIMELINE, "GET")[0].url.params


async def test_an_empty_timeline_has_no_data_and_yields_nothing(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("GET", TIMELINE)] = fixture_answer("user_posts_empty.json")
    assert [s async for s in connector.fetch_post_metrics()] == []


async def test_a_repeated_next_token_ends_pagination(
    connector: XConnector, server: FakeXServer
) -> None:
    page = load("user_posts_page1.json")
    server.overrides[("GET", TIMELINE)] = lambda r: answer(page)

    stats = [s async for s in connector.fetch_post_metrics()]

    assert len(server.to(TIMELINE, "GET")) == 2
    assert [s.remote_id for s in stats] == [P1, P2, P1, P2]


async def test_partial_errors_keep_the_data_and_are_logged_redacted(
    connector: XConnector, server: FakeXServer, caplog: pytest.LogCaptureFixture
) -> None:
    payload = load("user_posts_partial_errors.json")
    payload["errors"][0]["detail"] += f" (token {TOKEN})"
    server.overrides[("GET", TIMELINE)] = lambda r: answer(payload)

    with caplog.at_level(logging.WARNING, logger="brandkit.platforms.x"):
        stats = [s async for s in connector.fetch_post_metrics()]

    assert [s.remote_id for s in stats] == [P1]
    (record,) = [r for r in caplog.records if r.name == "brandkit.platforms.x"]
    assert record.levelno == logging.WARNING
    assert "Field Authorization Error" in record.getMessage()
    assert TOKEN not in record.getMessage() and "***" in record.getMessage()


async def test_errors_without_data_fail_the_read(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("GET", TIMELINE)] = fixture_answer("user_posts_errors_only.json")

    with pytest.raises(PlatformError) as caught:
        _ = [s async for s in connector.fetch_post_metrics()]

    assert type(caught.value) is PlatformError
    assert "Not Found Error: Could not find user with id" in str(caught.value)
    assert caught.value.hint


async def test_a_post_without_created_at_is_malformed(
    connector: XConnector, server: FakeXServer
) -> None:
    page = load("user_posts_page3.json")
    del page["data"][0]["created_at"]
    server.overrides[("GET", TIMELINE)] = lambda r: answer(page)

    with pytest.raises(PlatformError, match="'created_at' is missing"):
        _ = [s async for s in connector.fetch_post_metrics()]


async def test_503_on_a_read_is_transient(connector: XConnector, server: FakeXServer) -> None:
    server.overrides[("GET", TIMELINE)] = fixture_answer("error_503.json")
    with pytest.raises(TransientError) as caught:
        _ = [s async for s in connector.fetch_post_metrics()]
    assert not isinstance(caught.value, OutcomeUnknownError)


# --- find_post ----------------------------------------------------------------------------------


async def test_find_post_matches_text_whose_links_x_wrapped_in_t_co(
    connector: XConnector, server: FakeXServer
) -> None:
    sent = (
        "インフルエンザの予防接種、今年も始まりました。"
        + "詳しくは https://clinic.jp/flu-2026 #予防接種"
    )

    found = await connector.find_post(
        idempotency_key="k", text=sent, not_before=datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    )

    assert found is not None and found.remote_id == P1
    assert found.published_at == datetime(2026, 11, 23, tzinfo=UTC)
    (request,) = server.to(TIMELINE, "GET")
    assert request.url.params["start_time"] == "2026-11-22T23:29:00Z"


async def test_find_post_matches_a_bare_domain_an_ampersand_and_other_whitespace(
    connector: XConnector,
) -> None:
    sent = "Flu season tips: wash hands & sleep well.  More at clinic.jp/flu  #health\n"

    found = await connector.find_post(
        idempotency_key="k", text=sent, not_before=datetime(2026, 11, 21, tzinfo=UTC)
    )

    assert found is not None and found.remote_id == P2


async def test_find_post_ignores_posts_older_than_the_attempt(connector: XConnector) -> None:
    sent = "Flu season tips: wash hands & sleep well. More at clinic.jp/flu #health"
    found = await connector.find_post(
        idempotency_key="k", text=sent, not_before=datetime(2026, 11, 22, 0, 5, tzinfo=UTC)
    )
    assert found is None


async def test_find_post_reads_at_most_two_pages(
    connector: XConnector, server: FakeXServer
) -> None:
    found = await connector.find_post(
        idempotency_key="k", text="never posted", not_before=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert found is None
    assert len(server.to(TIMELINE, "GET")) == 2


def test_comparable_text_treats_every_link_as_one_placeholder() -> None:
    assert comparable_text("see https://clinic.jp/a?b=1 now") == comparable_text(
        "see https://t.co/AbCdEf1234 now"
    )
    assert comparable_text("詳しくはclinic.jp/fluへ") == comparable_text(
        "詳しくはhttps://t.co/AbCdEf1234へ"
    )
    assert comparable_text("カ\u3099") == comparable_text("ガ")  # NFC
    assert comparable_text("one  two\n\nthree ") == "one two three"
    assert comparable_text("see https://clinic.jp/a") != comparable_text("look https://t.co/x")


_WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30
).filter(lambda t: "." not in t and "/" not in t and ":" not in t)


@given(before=_WORDS, after=_WORDS, path=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True))
def test_comparable_text_survives_t_co_wrapping(before: str, after: str, path: str) -> None:
    sent = f"{before} https://clinic.jp/{path} {after}"
    shown = f"{before} https://t.co/{path[::-1]}Zz9 {after}"
    assert comparable_text(sent) == comparable_text(shown)


# --- rate limits ----------------------------------------------------------------------------------


def test_rate_limit_headers_are_epoch_seconds_for_the_account() -> None:
    headers = httpx.Headers(limits(remaining=12, reset=RESET_AT))
    assert read_rate_limits(headers, NOW) == [("account", RateLimit(900, 12, RESET_AT))]
    assert read_rate_limits(httpx.Headers({}), NOW) == []


async def test_the_last_rate_limit_is_recorded_per_account_and_app_bucket(
    client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    book = RateLimitBook()
    connector = make(client, clock, book=book)

    await connector.fetch_profile()

    assert connector.last_rate_limit == RateLimit(900, 899, RESET_AT)
    assert book.get("account:7") == RateLimit(900, 899, RESET_AT)


async def test_429_is_rate_limited_until_the_epoch_reset(
    connector: XConnector, server: FakeXServer
) -> None:
    server.overrides[("GET", TIMELINE)] = fixture_answer(
        "error_429.json", **limits(remaining=0, reset=RESET_AT)
    )

    with pytest.raises(RateLimitedError) as caught:
        _ = [s async for s in connector.fetch_post_metrics()]

    assert caught.value.reset_at == RESET_AT
    assert "Too Many Requests" in str(caught.value)


async def test_an_exhausted_bucket_holds_back_the_next_call_without_sending(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    server.overrides[("GET", "/2/users/me")] = fixture_answer(
        "users_me.json", **limits(remaining=0, reset=RESET_AT)
    )
    connector = make(client, clock, retry=RetryPolicy(max_wait=60))
    await connector.fetch_profile()

    with pytest.raises(RateLimitedError) as caught:
        await connector.fetch_profile()

    assert caught.value.reset_at == RESET_AT
    assert len(server.to("/2/users/me", "GET")) == 1


def test_the_older_errors_shape_of_the_rate_limit_page_is_read() -> None:
    assert problem_text({"errors": [{"code": 88, "message": "Rate limit exceeded"}]}) == (
        "Rate limit exceeded"
    )
    assert problem_text("not json") is None
    assert problem_text(load("error_429.json")) == "Too Many Requests"


def _daily_cap(who: str, remaining: int, reset: datetime) -> dict[str, str]:
    return {
        f"x-{who}-limit-24hour-limit": "100",
        f"x-{who}-limit-24hour-remaining": str(remaining),
        f"x-{who}-limit-24hour-reset": str(int(reset.timestamp())),
    }


@pytest.mark.parametrize("who", ["user", "app"])
async def test_a_used_up_daily_post_cap_holds_back_publishing_but_not_reads(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer, who: str
) -> None:
    tomorrow = NOW + timedelta(hours=20)
    server.overrides[("POST", "/2/tweets")] = fixture_answer(
        "create_post.json", **_daily_cap(who, 0, tomorrow)
    )
    connector = make(client, clock, retry=RetryPolicy(max_wait=60))
    await connector.publish("first", idempotency_key="k1")

    with pytest.raises(RateLimitedError) as caught:
        await connector.publish("second", idempotency_key="k2")

    assert caught.value.reset_at == tomorrow
    assert "24-hour post limit" in str(caught.value)
    assert len(server.to("/2/tweets", "POST")) == 1, "the second post was not sent"
    profile = await connector.fetch_profile()  # reads go on
    assert profile.followers == 2048


async def test_the_app_cap_is_shared_by_every_account_of_the_app(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    tomorrow = NOW + timedelta(hours=20)
    server.overrides[("POST", "/2/tweets")] = fixture_answer(
        "create_post.json", **_daily_cap("app", 0, tomorrow)
    )
    book = RateLimitBook()
    await make(client, clock, book=book).publish("first", idempotency_key="k1")
    other = make(client, clock, book=book, account="a:8")

    with pytest.raises(RateLimitedError):
        await other.publish("second", idempotency_key="k2")


async def test_a_429_from_the_daily_cap_reports_the_daily_reset(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    tomorrow = NOW + timedelta(hours=20)
    headers = {**limits(remaining=99, reset=RESET_AT), **_daily_cap("user", 0, tomorrow)}
    server.overrides[("POST", "/2/tweets")] = fixture_answer("error_429.json", **headers)
    connector = make(client, clock, retry=RetryPolicy(max_wait=60))

    with pytest.raises(RateLimitedError) as caught:
        await connector.publish("hello", idempotency_key="k")

    assert caught.value.reset_at == tomorrow
    assert len(server.to("/2/tweets", "POST")) == 1


async def test_a_daily_cap_that_resets_soon_is_waited_for(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    soon = NOW + timedelta(seconds=30)
    server.overrides[("POST", "/2/tweets")] = fixture_answer(
        "create_post.json", **_daily_cap("user", 0, soon)
    )
    connector = make(client, clock, retry=RetryPolicy(max_wait=60))
    await connector.publish("first", idempotency_key="k1")
    server.overrides.clear()

    await connector.publish("second", idempotency_key="k2")

    assert clock.now() >= soon
    assert len(server.to("/2/tweets", "POST")) == 2


# --- token refresh ------------------------------------------------------------------------------


def expired(**extra: str) -> Credentials:
    return credentials(expires_at=(NOW - timedelta(minutes=1)).isoformat(), **extra)


async def _refresh_with(
    client: httpx.AsyncClient, clock: SimulatedClock, creds: Credentials
) -> tuple[XConnector, MemoryStore]:
    store = MemoryStore(creds)
    connector = connect(
        XConnector, client, clock, creds, base_url=BASE_URL, store=store, account_key="a:9"
    )
    await connector.fetch_profile()
    return connector, store


async def test_a_confidential_client_refreshes_with_http_basic(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    _, store = await _refresh_with(client, clock, expired(client_secret=CLIENT_SECRET))

    (token_call,) = server.to("/2/oauth2/token", "POST")
    form = parse_qs(token_call.content.decode())
    assert form == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH]}
    pair = base64.b64decode(token_call.headers["authorization"].removeprefix("Basic ")).decode()
    assert pair == f"{CLIENT_ID}:{CLIENT_SECRET}"
    fresh = load("token_refresh.json")
    (saved,) = store.saved
    assert saved.token == fresh["access_token"]
    assert saved.get("refresh_token") == fresh["refresh_token"], "X rotates refresh tokens"
    assert saved.get("expires_at") == (NOW + timedelta(seconds=7200)).isoformat()
    (profile_call,) = server.to("/2/users/me", "GET")
    assert profile_call.headers["authorization"] == f"Bearer {fresh['access_token']}"


async def test_a_public_client_refreshes_with_client_id_in_the_form(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    await _refresh_with(client, clock, expired())

    (token_call,) = server.to("/2/oauth2/token", "POST")
    form = parse_qs(token_call.content.decode())
    assert form["client_id"] == [CLIENT_ID] and "authorization" not in token_call.headers


async def test_a_401_is_refreshed_once_and_resent(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    answers = iter([fixture_answer("error_401.json"), fixture_answer("users_me.json")])
    server.overrides[("GET", "/2/users/me")] = lambda r: next(answers)(r)

    _, store = await _refresh_with(client, clock, credentials())

    assert len(server.to("/2/users/me", "GET")) == 2 and len(store.saved) == 1


async def test_a_spent_refresh_token_asks_for_brandkit_auth_x(
    client: httpx.AsyncClient, clock: SimulatedClock, server: FakeXServer
) -> None:
    server.overrides[("POST", "/2/oauth2/token")] = lambda r: httpx.Response(
        400, json=load("token_error_400.json")
    )

    with pytest.raises(AuthExpiredError) as caught:
        await _refresh_with(client, clock, expired(client_secret=CLIENT_SECRET))

    text = f"{caught.value} {caught.value.body}"
    assert "Value passed for the token was invalid." in text
    assert "brandkit auth x" in (caught.value.hint or "")
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in text


async def test_secrets_never_reach_errors_or_logs(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    server: FakeXServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        used = request.headers["authorization"].removeprefix("Bearer ")
        said = {"title": "Unauthorized", "detail": f"token {used}, app {CLIENT_SECRET}"}
        return answer(said, 401, content_type=PROBLEM)

    server.check_answers = False
    server.overrides[("GET", "/2/users/me")] = echo
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AuthExpiredError) as caught:
        await _refresh_with(client, clock, credentials(client_secret=CLIENT_SECRET))

    seen = "\n".join([str(caught.value), caught.value.body or "", repr(caught.value)])
    seen += "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, REFRESH, CLIENT_SECRET, load("token_refresh.json")["access_token"]):
        assert secret not in seen


def test_post_url_escapes_the_handle() -> None:
    assert post_url("1", "a/b") == "https://x.com/a%2Fb/status/1"
    assert post_url("1", None) == "https://x.com/i/web/status/1"
