"""The LinkedIn connector against a fake server answering with ``tests/fixtures/linkedin``.

The fake branches on ``request.url.path`` (as httpx's ``tests/client/test_redirects.py`` does);
each fixture names its documentation page in the folder's README. Time is a simulated clock, so
backoffs and resets cost nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandkit.clock import SimulatedClock
from brandkit.content.escaping import escape_little_text, unescape_little_text
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
)
from brandkit.platforms.api import NO_RETRY, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Credentials
from brandkit.platforms.linkedin import LINKEDIN_VERSION, LinkedInConnector, next_utc_midnight
from tests.connector_support import FakeServer, Fixtures, MemoryStore, collect, connect, form

FIXTURES = Fixtures("linkedin")
load, answer, fixture = FIXTURES.load, FIXTURES.answer, FIXTURES.handler
BASE_URL = "https://api.linkedin.com"
TOKEN = "tok-SECRET-linkedin-5e6f7a8b"
ORG = "urn:li:organization:2414183"
MEMBER = "urn:li:person:xK3mQ9pL2a"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FLU, DRAFT, QA, HIRING = (
    "urn:li:share:7398765432109876543",
    "urn:li:share:7397000000000000001",
    "urn:li:ugcPost:7396543210987654321",
    "urn:li:share:7393000000000000002",
)
FLU_TEXT = (
    "Flu season tips (2026): wash hands, sleep well. More at https://clinic.example/flu "
    "#health #健康"
)


class FakeLinkedIn(FakeServer):
    """Documented answers per path; a test overrides any of them."""

    def __init__(self) -> None:
        super().__init__()
        self.routes = {
            ("POST", "/rest/posts"): lambda r: httpx.Response(201, headers={"x-restli-id": FLU}),
            ("GET", "/rest/posts"): self.posts_page,
            ("GET", "/v2/userinfo"): fixture("userinfo.json"),
            ("GET", f"/rest/networkSizes/{ORG}"): fixture("network_size.json"),
            ("GET", "/rest/memberFollowersCount"): fixture("member_followers_count.json"),
            ("GET", "/rest/organizationalEntityShareStatistics"): fixture("share_statistics.json"),
            ("GET", "/rest/socialActions"): fixture("social_actions.json"),
            ("POST", "/oauth/v2/accessToken"): fixture("token_refresh.json"),
        }

    def posts_page(self, request: httpx.Request) -> httpx.Response:
        start = request.url.params.get("start", "0")
        return answer("posts_page1.json" if start == "0" else "posts_page2.json")

    def fallback(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": 404, "message": "No virtual resource found"})


@pytest.fixture
def server() -> FakeLinkedIn:
    return FakeLinkedIn()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    *,
    base_url: str = BASE_URL,
    retry: RetryPolicy = NO_RETRY,
    store: MemoryStore | None = None,
    limits: RateLimitBook | None = None,
    **extra: str,
) -> LinkedInConnector:
    credentials = store.current if store else Credentials(token=TOKEN, extra=extra)
    return connect(
        LinkedInConnector,
        client,
        clock,
        credentials,
        base_url=base_url,
        retry=retry,
        store=store,
        limits=limits,
    )


def expired_store(**extra: str) -> MemoryStore:
    """An organization's credentials whose token expired a minute ago, with a refresh token."""
    return MemoryStore(
        Credentials(
            token=TOKEN,
            extra={
                "author_urn": ORG,
                "refresh_token": "refresh-SECRET-li",
                "client_id": "86clinicapp",
                **extra,
                "expires_at": (NOW - timedelta(minutes=1)).isoformat(),
            },
        )
    )


# --- publishing -------------------------------------------------------------------------------


async def test_publish_sends_the_documented_post_with_little_text_escaped(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock, author_urn=ORG)

    result = await connector.publish(FLU_TEXT, idempotency_key="k1")

    (request,) = server.to("/rest/posts")
    assert request.headers["LinkedIn-Version"] == LINKEDIN_VERSION
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = json.loads(request.content)
    assert body == {
        "author": ORG,
        "commentary": escape_little_text(FLU_TEXT),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert "\\(2026\\)" in body["commentary"] and "{hashtag|\\#|health}" in body["commentary"]
    assert result.remote_id == FLU
    assert result.url == f"https://www.linkedin.com/feed/update/{FLU}/"
    assert result.published_at == NOW


async def test_publish_refuses_an_image_url_without_sending(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    with pytest.raises(RejectedError) as caught:
        await make(client, clock, author_urn=ORG).publish(
            "x", idempotency_key="k", image_url="https://clinic.example/a.jpg"
        )
    assert caught.value.hint and not server.requests


async def test_a_201_without_the_urn_header_is_an_unknown_outcome(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("POST", "/rest/posts")] = lambda r: httpx.Response(201)
    with pytest.raises(OutcomeUnknownError, match="x-restli-id"):
        await make(client, clock, author_urn=ORG).publish("Hello", idempotency_key="k")


async def test_a_duplicate_post_is_rejected_with_linkedins_message(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("POST", "/rest/posts")] = lambda r: answer("error_422.json", 422)
    with pytest.raises(RejectedError, match="duplicate of urn:li:share") as caught:
        await make(client, clock, author_urn=ORG).publish("Hello", idempotency_key="k")
    assert "DUPLICATE_POST" in str(caught.value)


async def test_a_5xx_on_publish_is_never_resent(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("POST", "/rest/posts")] = lambda r: answer("error_500.json", 500)
    connector = make(client, clock, retry=RetryPolicy(attempts=3), author_urn=ORG)
    with pytest.raises(OutcomeUnknownError):
        await connector.publish("Hello", idempotency_key="k")
    assert len(server.to("/rest/posts")) == 1


# --- the author and the profile ------------------------------------------------------------


async def test_without_an_author_urn_the_member_is_found_through_userinfo(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock)

    profile = await connector.fetch_profile()
    await connector.publish("Hello", idempotency_key="k")

    (userinfo,) = server.to("/v2/userinfo")
    assert "LinkedIn-Version" not in userinfo.headers  # /v2/ is unversioned
    assert profile.remote_id == MEMBER and profile.handle == "Haruka Sato"
    assert profile.followers == 961 and profile.following is None
    (followers,) = server.to("/rest/memberFollowersCount")
    assert followers.url.params["q"] == "me"
    assert json.loads(server.to("/rest/posts")[0].content)["author"] == MEMBER


async def test_an_organization_reads_its_network_size(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    profile = await make(client, clock, author_urn=ORG, handle="sakura-clinic").fetch_profile()

    (request,) = server.to(f"/rest/networkSizes/{ORG}")
    assert request.url.raw_path.startswith(b"/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183")
    assert request.url.params["edgeType"] == "COMPANY_FOLLOWED_BY_MEMBER"
    assert (profile.remote_id, profile.handle, profile.followers) == (ORG, "sakura-clinic", 1523)
    assert not server.to("/v2/userinfo")


async def test_a_wrong_author_urn_says_what_to_store(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    with pytest.raises(PlatformError, match="neither") as caught:
        await make(client, clock, author_urn="sakura-clinic").fetch_profile()
    assert "author_urn" in (caught.value.hint or "") and not server.requests


async def test_the_linkedin_version_can_be_overridden_per_account(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    await make(client, clock, author_urn=ORG, linkedin_version="202611").fetch_profile()
    assert server.requests[0].headers["LinkedIn-Version"] == "202611"


# --- post metrics and reconciliation --------------------------------------------------------


async def test_organization_posts_carry_share_statistics_across_pages(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    stats = await collect(make(client, clock, author_urn=ORG))

    assert [s.remote_id for s in stats] == [FLU, QA, HIRING]  # the draft is skipped
    flu, qa, hiring = stats
    assert (flu.likes, flu.replies, flu.reposts, flu.impressions) == (31, 5, 4, 1204)
    assert (qa.likes, qa.replies, qa.reposts, qa.impressions) == (12, 2, 1, 593)
    assert (hiring.likes, hiring.impressions) == (None, None)  # left out: unknown, not 0
    assert flu.text == FLU_TEXT
    assert qa.text == "Q&A with Dr. Tanaka @ our clinic: bring your questions *before* Friday <3"
    assert flu.created_at == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert flu.url == f"https://www.linkedin.com/feed/update/{FLU}/"

    pages = server.to("/rest/posts")
    assert [r.url.params["start"] for r in pages] == ["0", "3"]
    first = pages[0]
    assert first.headers["X-RestLi-Method"] == "FINDER"
    assert first.url.params["q"] == "author" and first.url.params["author"] == ORG
    assert first.url.params["sortBy"] == "CREATED"
    statistics = server.to("/rest/organizationalEntityShareStatistics")
    assert len(statistics) == 2
    query = statistics[0].url.query.decode()
    assert "organizationalEntity=urn%3Ali%3Aorganization%3A2414183" in query
    assert "shares=List(urn%3Ali%3Ashare%3A7398765432109876543)" in query
    assert "ugcPosts=List(urn%3Ali%3AugcPost%3A7396543210987654321)" in query
    assert DRAFT.split(":")[-1] not in query


async def test_member_posts_carry_likes_and_comments_from_social_actions(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    stats = await collect(make(client, clock, author_urn=MEMBER))

    flu, qa, hiring = stats
    assert (flu.likes, flu.replies, flu.reposts, flu.impressions) == (18, 4, None, None)
    assert (qa.likes, qa.replies) == (7, 0)
    assert hiring.likes is None
    request = server.to("/rest/socialActions")[0]
    assert request.url.query.decode() == (
        "ids=List(urn%3Ali%3Ashare%3A7398765432109876543,urn%3Ali%3AugcPost%3A7396543210987654321)"
    )


async def test_member_posts_without_r_member_social_say_which_permission(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("GET", "/rest/posts")] = lambda r: answer("error_403.json", 403)
    with pytest.raises(PlatformError, match="Not enough permissions") as caught:
        await collect(make(client, clock, author_urn=MEMBER))
    assert "r_member_social" in (caught.value.hint or "")
    assert "ACCESS_DENIED" in str(caught.value)


async def test_since_stops_at_the_first_page_reaching_older_posts(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    stats = await collect(make(client, clock, author_urn=ORG), since)

    assert [s.remote_id for s in stats] == [FLU]
    assert len(server.to("/rest/posts")) == 1
    query = server.to("/rest/organizationalEntityShareStatistics")[0].url.query.decode()
    assert "ugcPosts" not in query


async def test_find_post_matches_the_unescaped_commentary(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock, author_urn=ORG)

    found = await connector.find_post(
        idempotency_key="k", text=FLU_TEXT + "\n", not_before=NOW - timedelta(hours=9)
    )

    assert found is not None and found.remote_id == FLU
    assert found.published_at == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert not server.to("/rest/organizationalEntityShareStatistics")


async def test_find_post_stops_at_posts_older_than_not_before(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock, author_urn=ORG)
    text = "We are hiring a nurse_practitioner: see the careers page"

    assert await connector.find_post(idempotency_key="k", text=text, not_before=NOW) is None
    assert len(server.to("/rest/posts")) == 1
    found = await connector.find_post(
        idempotency_key="k", text=text, not_before=NOW - timedelta(days=30)
    )
    assert found is not None and found.remote_id == HIRING


# --- limits, credentials, errors ------------------------------------------------------------


async def test_a_429_without_retry_after_waits_for_the_next_utc_midnight(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("GET", f"/rest/networkSizes/{ORG}")] = lambda r: answer("error_429.json", 429)
    connector = make(
        client, clock, retry=RetryPolicy(attempts=3, base_delay=1.0, max_wait=60), author_urn=ORG
    )

    with pytest.raises(RateLimitedError) as caught:
        await connector.fetch_profile()

    midnight = datetime(2026, 11, 25, tzinfo=UTC)
    assert caught.value.reset_at == midnight
    assert "00:00 UTC" in (caught.value.hint or "")
    assert len(server.requests) == 3  # a short infrastructure 429 would have passed by now
    with pytest.raises(RateLimitedError):  # the day's limit is spent: no call goes out
        await connector.fetch_profile()
    assert len(server.requests) == 3


async def test_a_429_with_retry_after_waits_that_long(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("GET", f"/rest/networkSizes/{ORG}")] = lambda r: answer(
        "error_429.json", 429, **{"Retry-After": "3600"}
    )
    with pytest.raises(RateLimitedError) as caught:
        await make(client, clock, author_urn=ORG).fetch_profile()
    assert caught.value.reset_at == NOW + timedelta(hours=1)


async def test_an_expired_token_without_refresh_token_asks_to_reauthorise(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("GET", f"/rest/networkSizes/{ORG}")] = lambda r: answer("error_401.json", 401)
    with pytest.raises(AuthExpiredError, match="revoked by the user") as caught:
        await make(client, clock, author_urn=ORG).fetch_profile()
    assert "brandkit auth linkedin" in (caught.value.hint or "")
    assert "60 days" in (caught.value.hint or "")
    assert not server.to("/oauth/v2/accessToken")
    assert TOKEN not in str(caught.value)


async def test_a_refresh_token_renews_the_access_token_and_is_saved(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    store = expired_store(client_secret="client-SECRET-li")

    await make(client, clock, store=store).fetch_profile()

    (refresh,) = server.to("/oauth/v2/accessToken")
    assert refresh.url.host == "www.linkedin.com"
    assert form(refresh) == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-SECRET-li",
        "client_id": "86clinicapp",
        "client_secret": "client-SECRET-li",
    }
    fresh = load("token_refresh.json")
    assert store.saved[-1].token == fresh["access_token"]
    assert store.saved[-1].get("expires_at") == (NOW + timedelta(days=60)).isoformat()
    assert store.saved[-1].get("author_urn") == ORG
    profile_call = server.to(f"/rest/networkSizes/{ORG}")[0]
    assert profile_call.headers["Authorization"] == f"Bearer {fresh['access_token']}"


async def test_a_sandbox_base_url_keeps_the_token_endpoint_local(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    store = expired_store()
    await make(client, clock, base_url="http://127.0.0.1:8765", store=store).fetch_profile()
    (refresh,) = server.to("/oauth/v2/accessToken")
    assert str(refresh.url) == "http://127.0.0.1:8765/oauth/v2/accessToken"


async def test_a_refused_refresh_is_auth_expired(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides[("POST", "/oauth/v2/accessToken")] = lambda r: answer(
        "error_token_400.json", 400
    )
    store = expired_store()
    with pytest.raises(AuthExpiredError) as caught:
        await make(client, clock, store=store).fetch_profile()
    assert "refresh-SECRET-li" not in str(caught.value) + (caught.value.body or "")


async def test_authorising_stores_the_members_urn_so_syncs_skip_userinfo(
    server: FakeLinkedIn, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    fresh = Credentials(token=TOKEN, extra={"client_id": "86clinicapp"})
    stored = await LinkedInConnector.finish_authorization(
        client=client, base_url=BASE_URL, credentials=fresh, token_response={}
    )
    assert stored.get("author_urn") == MEMBER and stored.get("member_name") == "Haruka Sato"
    assert stored.get("client_id") == "86clinicapp"

    profile = await make(client, clock, **dict(stored.extra)).fetch_profile()

    assert (profile.remote_id, profile.handle) == (MEMBER, "Haruka Sato")
    assert len(server.to("/v2/userinfo")) == 1


async def test_authorising_keeps_the_token_when_userinfo_is_refused(
    server: FakeLinkedIn, client: httpx.AsyncClient
) -> None:
    server.overrides[("GET", "/v2/userinfo")] = lambda r: answer("error_403.json", 403)
    fresh = Credentials(token=TOKEN)
    stored = await LinkedInConnector.finish_authorization(
        client=client, base_url=BASE_URL, credentials=fresh, token_response={}
    )
    assert stored == fresh


def test_the_oauth_flow_is_linkedins_three_legged_flow_without_pkce() -> None:
    spec = LinkedInConnector.oauth
    assert spec is not None
    assert spec.authorize_url == "https://www.linkedin.com/oauth/v2/authorization"
    assert spec.token_url == "https://www.linkedin.com/oauth/v2/accessToken"
    assert spec.pkce is False and spec.client_auth == "body"
    assert "w_member_social" in spec.scopes


# --- little text and time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("{hashtag|\\#|health} and {hashtag|＃|健康}", "#health and ＃健康"),
        ("Dr. \\(Tanaka\\) \\@ clinic \\\\ done", "Dr. (Tanaka) @ clinic \\ done"),
        ("Hi @[Sakura Clinic](urn:li:organization:2414183)!", "Hi Sakura Clinic!"),
        ("\\{hashtag\\|\\#\\|not\\_a\\_tag\\}", "{hashtag|#|not_a_tag}"),
        ("plain_text with an unescaped * star", "plain_text with an unescaped * star"),
    ],
)
def test_unescape_little_text(stored: str, shown: str) -> None:
    assert unescape_little_text(stored) == shown


@given(st.text(alphabet=st.sampled_from("ab #_@*()[]{}<>|~\\＃健康 1\n"), max_size=40))
def test_unescaping_undoes_escaping(text: str) -> None:
    assert unescape_little_text(escape_little_text(text)) == text
    assert unescape_little_text(escape_little_text(text, hashtags=False)) == text


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC).astimezone(), datetime(2026, 11, 25, tzinfo=UTC)),
    ],
)
def test_next_utc_midnight(now: datetime, midnight: datetime) -> None:
    assert next_utc_midnight(now) == midnight
