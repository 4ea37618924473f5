"""The YouTube connector against a fake Data API answering with ``tests/fixtures/youtube``.

The fake branches on ``request.url.path``; each fixture names its documentation page in the
folder's README. Time is a simulated clock: quota resets and pauses cost nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit.clock import SimulatedClock
from brandkit.errors import AuthExpiredError, PlatformError, RateLimitedError, RejectedError
from brandkit.platforms.api import NO_RETRY, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Credentials
from brandkit.platforms.youtube import YouTubeConnector, next_quota_reset
from tests.connector_support import FakeServer, Fixtures, MemoryStore, collect, connect, form

FIXTURES = Fixtures("youtube")
load, answer, fixture = FIXTURES.load, FIXTURES.answer, FIXTURES.handler
BASE_URL = "https://www.googleapis.com"
TOKEN = "ya29.tok-SECRET-youtube-1a2b3c"
CHANNEL = "UCq3cLinic0Examp1eChannel"
UPLOADS = "UUq3cLinic0Examp1eChannel"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
EXTRA = {
    "refresh_token": "1//refresh-SECRET-yt",
    "client_id": "1234-clinic.apps.googleusercontent.com",
    "client_secret": "GOCSPX-SECRET-yt",
    "expires_at": (NOW + timedelta(minutes=30)).isoformat(),
}


class FakeYouTube(FakeServer):
    """Documented answers per path (the Data API reads are all GETs); a test overrides any."""

    def __init__(self) -> None:
        super().__init__()
        self.routes = {
            "/youtube/v3/channels": fixture("channels_mine.json"),
            "/youtube/v3/playlistItems": self.playlist_items,
            "/youtube/v3/videos": self.videos,
            "/token": fixture("token_refresh.json"),
        }

    def key(self, request: httpx.Request) -> str:
        return request.url.path

    def playlist_items(self, request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("pageToken")
        return answer("playlist_items_page2.json" if page else "playlist_items_page1.json")

    def videos(self, request: httpx.Request) -> httpx.Response:
        second = "Sl33pTips01" in request.url.params.get("id", "")
        return answer("videos_page2.json" if second else "videos_page1.json")

    def fallback(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": 404, "message": "Not Found"}})


@pytest.fixture
def server() -> FakeYouTube:
    return FakeYouTube()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def make(
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    *,
    extra: dict[str, str] | None = None,
    base_url: str = BASE_URL,
    retry: RetryPolicy = NO_RETRY,
    limits: RateLimitBook | None = None,
    store: MemoryStore | None = None,
    account: str = "account:1",
) -> YouTubeConnector:
    store = store or MemoryStore(Credentials(token=TOKEN, extra=EXTRA if extra is None else extra))
    return connect(
        YouTubeConnector,
        client,
        clock,
        store.current,
        base_url=base_url,
        retry=retry,
        store=store,
        limits=limits,
        account_key=account,
    )


# --- what YouTube cannot do -----------------------------------------------------------------


async def test_publish_refuses_without_sending_anything(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    connector = make(client, clock)
    assert connector.can_publish_text is False
    with pytest.raises(RejectedError, match="no way to publish") as caught:
        await connector.publish("Flu tips", idempotency_key="k")
    assert "remove YouTube" in (caught.value.hint or "")
    assert await connector.find_post(idempotency_key="k", text="x", not_before=NOW) is None
    assert not server.requests


# --- the channel ------------------------------------------------------------------------------


async def test_profile_reads_the_channel_statistics(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    profile = await make(client, clock).fetch_profile()

    (request,) = server.to("/youtube/v3/channels")
    assert request.url.params["mine"] == "true"
    assert set(request.url.params["part"].split(",")) == {"snippet", "contentDetails", "statistics"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert (profile.remote_id, profile.handle) == (CHANNEL, "@sakuraclinic")
    assert (profile.followers, profile.following, profile.posts_count) == (2340, None, 57)


async def test_a_stored_channel_id_is_asked_for_by_id(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    await make(client, clock, extra={**EXTRA, "channel_id": CHANNEL}).fetch_profile()
    params = server.to("/youtube/v3/channels")[0].url.params
    assert params["id"] == CHANNEL and "mine" not in params


async def test_a_hidden_subscriber_count_is_not_recorded_as_a_number(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("channels_hidden.json")
    connector = make(client, clock)

    with pytest.raises(PlatformError, match="hides its subscriber count") as caught:
        await connector.fetch_profile()

    assert "YouTube Studio" in (caught.value.hint or "")
    stats = await collect(connector)  # videos still sync
    assert len(stats) == 3


async def test_an_account_without_a_channel_says_so(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("channels_none.json")
    with pytest.raises(PlatformError, match="no YouTube channel") as caught:
        await make(client, clock).fetch_profile()
    assert "brandkit auth youtube" in (caught.value.hint or "")


# --- video metrics ----------------------------------------------------------------------------


async def test_uploads_are_read_page_by_page_with_their_statistics(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    stats = await collect(make(client, clock))

    assert [s.remote_id for s in stats] == ["Fl0Season26", "HandW4shing", "Sl33pTips01"]
    flu, hands, sleep = stats
    assert (flu.likes, flu.replies, flu.impressions) == (87, 12, None)  # views are not impressions
    assert (hands.likes, hands.replies) == (None, 4)  # likes hidden by the owner
    assert (sleep.likes, sleep.replies) == (260, None)  # comments turned off
    assert flu.text == "Flu season: 3 habits that work"
    assert flu.url == "https://www.youtube.com/watch?v=Fl0Season26"
    assert flu.created_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    first, second = server.to("/youtube/v3/playlistItems")
    assert first.url.params["playlistId"] == UPLOADS
    assert first.url.params["maxResults"] == "50" and "pageToken" not in first.url.params
    assert second.url.params["pageToken"] == "EAAaBlBUOkNBTQ"
    videos = server.to("/youtube/v3/videos")
    assert videos[0].url.params["id"] == "Fl0Season26,Pr1vateVid0,HandW4shing"
    assert set(videos[0].url.params["part"].split(",")) == {"snippet", "statistics"}
    assert len(server.to("/youtube/v3/channels")) == 1


async def test_since_stops_at_the_first_page_reaching_older_videos(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    stats = await collect(make(client, clock), since)

    assert [s.remote_id for s in stats] == ["Fl0Season26"]
    assert len(server.to("/youtube/v3/playlistItems")) == 1
    assert server.to("/youtube/v3/videos")[0].url.params["id"] == "Fl0Season26,Pr1vateVid0"


async def test_a_repeated_page_token_ends_the_listing(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/playlistItems"] = lambda r: answer("playlist_items_page1.json")
    stats = await collect(make(client, clock))
    assert len(server.to("/youtube/v3/playlistItems")) == 2
    assert len(stats) == 4  # the same page twice, then the loop is cut


# --- quota, rate limits, credentials ----------------------------------------------------------


async def test_quota_exceeded_waits_for_midnight_pacific_for_every_channel_of_the_app(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("error_quota_exceeded.json", 403)
    limits = RateLimitBook()

    with pytest.raises(RateLimitedError, match="exceeded your") as caught:
        await make(client, clock, limits=limits).fetch_profile()

    reset = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 00:00 PST
    assert caught.value.reset_at == reset and caught.value.status == 403
    assert "Pacific" in (caught.value.hint or "")
    other = make(client, clock, limits=limits, account="account:2")  # same client_id
    with pytest.raises(RateLimitedError) as again:
        await other.fetch_profile()
    assert again.value.reset_at == reset
    assert len(server.requests) == 1, "the spent quota is not asked again"


async def test_a_user_rate_limit_pauses_briefly_then_succeeds(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    answers = iter([answer("error_user_rate_limit.json", 403), answer("channels_mine.json")])
    server.overrides["/youtube/v3/channels"] = lambda r: next(answers)
    connector = make(client, clock, retry=RetryPolicy(attempts=3, base_delay=1.0, max_wait=60))

    profile = await connector.fetch_profile()

    assert profile.followers == 2340
    assert clock.now() >= NOW + timedelta(seconds=30)
    assert len(server.to("/youtube/v3/channels")) == 2


async def test_an_expired_token_is_refreshed_and_the_refresh_token_kept(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    expired = {**EXTRA, "expires_at": (NOW - timedelta(seconds=5)).isoformat()}
    store = MemoryStore(Credentials(token=TOKEN, extra=expired))

    await make(client, clock, store=store).fetch_profile()

    (refresh,) = server.to("/token")
    assert refresh.url.host == "oauth2.googleapis.com"
    assert form(refresh) == {
        "grant_type": "refresh_token",
        "refresh_token": EXTRA["refresh_token"],
        "client_id": EXTRA["client_id"],
        "client_secret": EXTRA["client_secret"],
    }
    saved = store.saved[-1]
    assert saved.token == "ya29.fictional-sakura-clinic-access-token"
    assert saved.get("refresh_token") == EXTRA["refresh_token"]
    assert saved.get("expires_at") == (NOW + timedelta(seconds=3599)).isoformat()
    channel_call = server.to("/youtube/v3/channels")[0]
    assert channel_call.headers["Authorization"] == f"Bearer {saved.token}"


async def test_a_401_refreshes_once_and_a_revoked_grant_is_auth_expired(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("error_401.json", 401)
    server.overrides["/token"] = lambda r: answer("error_invalid_grant.json", 400)

    with pytest.raises(AuthExpiredError, match="expired or revoked") as caught:
        await make(client, clock).fetch_profile()

    assert "brandkit auth youtube" in (caught.value.hint or "")
    assert len(server.to("/token")) == 1
    text = str(caught.value) + (caught.value.body or "")
    assert TOKEN not in text and EXTRA["refresh_token"] not in text


async def test_a_401_without_a_refresh_token_names_googles_reason(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("error_401.json", 401)
    with pytest.raises(AuthExpiredError, match="invalid authentication credentials") as caught:
        await make(client, clock, extra={}).fetch_profile()
    assert "brandkit auth youtube" in (caught.value.hint or "")
    assert not server.to("/token")


async def test_a_missing_scope_says_which_one(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    server.overrides["/youtube/v3/channels"] = lambda r: answer("error_403_insufficient.json", 403)
    with pytest.raises(PlatformError, match="insufficient authentication scopes") as caught:
        await make(client, clock).fetch_profile()
    assert not isinstance(caught.value, RateLimitedError)
    assert "youtube.readonly" in (caught.value.hint or "")


async def test_a_5xx_is_retried(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    answers = iter([answer("error_503.json", 503), answer("channels_mine.json")])
    server.overrides["/youtube/v3/channels"] = lambda r: next(answers)
    connector = make(client, clock, retry=RetryPolicy(attempts=2, base_delay=1.0))
    assert (await connector.fetch_profile()).followers == 2340


async def test_a_sandbox_base_url_keeps_the_token_endpoint_local(
    server: FakeYouTube, client: httpx.AsyncClient, clock: SimulatedClock
) -> None:
    expired = {**EXTRA, "expires_at": (NOW - timedelta(seconds=5)).isoformat()}
    store = MemoryStore(Credentials(token=TOKEN, extra=expired))
    await make(client, clock, base_url="http://127.0.0.1:8766", store=store).fetch_profile()
    assert str(server.to("/token")[0].url) == "http://127.0.0.1:8766/token"


def test_the_oauth_flow_asks_for_offline_access_with_pkce() -> None:
    spec = YouTubeConnector.oauth
    assert spec is not None and spec.pkce and spec.client_auth == "body"
    assert spec.authorize_url == "https://accounts.google.com/o/oauth2/v2/auth"
    assert spec.token_url == "https://oauth2.googleapis.com/token"
    assert spec.scopes == ("https://www.googleapis.com/auth/youtube.readonly",)
    assert YouTubeConnector.authorize_params["access_type"] == "offline"


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # PST (UTC-8): midnight is 08:00 UTC
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 7, 59, tzinfo=UTC), datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        # PDT (UTC-7): midnight is 07:00 UTC
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 2, 7, 0, tzinfo=UTC)),
        # the day clocks fall back (1 Nov 2026): 00:30 PDT -> next midnight is PST
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), datetime(2026, 11, 2, 8, 0, tzinfo=UTC)),
        # the day clocks spring forward (8 Mar 2026): 23:00 PST, then 01:00 PST -> 03:00 PDT
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 8, 9, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
    ],
)
def test_the_quota_resets_at_midnight_pacific_time(now: datetime, reset: datetime) -> None:
    assert next_quota_reset(now) == reset
