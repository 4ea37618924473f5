"""YouTube (Data API v3): channel counts and per-video statistics. Metrics only.

The Data API has no way to publish a text post (community posts are not in the API), so
:meth:`YouTubeConnector.publish` refuses before sending anything and ``find_post`` finds
nothing. Documented API used (developers.google.com/youtube/v3):

- ``GET /youtube/v3/channels?part=snippet,contentDetails,statistics&mine=true`` (docs/channels/list;
  ``id=`` instead when the ``channel_id`` extra names a channel the token manages):
  ``statistics.subscriberCount`` (rounded down to three significant figures; a string),
  ``hiddenSubscriberCount``, ``videoCount``, and the uploads playlist in
  ``contentDetails.relatedPlaylists.uploads``.
- ``GET /youtube/v3/playlistItems?part=contentDetails,snippet&playlistId=<uploads>&maxResults=50``
  (docs/playlistItems/list): the channel's uploads, newest first, paged with
  ``nextPageToken``/``pageToken``.
- ``GET /youtube/v3/videos?part=snippet,statistics&id=<up to 50 ids>`` (docs/videos/list):
  ``likeCount`` and ``commentCount`` (strings; absent when the owner hides likes or turns
  comments off) and ``viewCount``.
- Errors (docs/errors): ``{"error": {"code", "message", "errors": [{"domain", "reason"}]}}``.
  ``quotaExceeded`` (403) means the project's daily quota (10,000 units by default) is spent
  until midnight Pacific Time; ``rateLimitExceeded``/``userRateLimitExceeded`` ask for a short
  pause.
- OAuth (developers.google.com/identity/protocols/oauth2): access tokens last about an hour;
  ``refresh_token`` grant at ``https://oauth2.googleapis.com/token`` with ``client_id`` and
  ``client_secret`` in the form; the refresh token is kept (Google does not rotate it).

A view is not an impression (YouTube's "impressions" are thumbnail showings, a different
number), so ``viewCount`` is not reported as :attr:`PostStats.impressions`; brandkit has no field
for views yet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

import httpx

from brandkit.errors import PlatformError, RateLimitedError, RejectedError
from brandkit.platforms import fields, http, reconcile
from brandkit.platforms.api import (
    ApiSession,
    ConnectorContext,
    SessionConnector,
    no_rate_limit_headers,
)
from brandkit.platforms.base import Credentials, PostStats, ProfileCounts, PublishResult, RateLimit
from brandkit.platforms.oauth import OAuth2RefreshAuth, OAuthSpec

PAGE_SIZE: Final = 50  # the documented maximum of playlistItems and of ids per videos call
PACIFIC: Final = ZoneInfo("America/Los_Angeles")
#: how long a rateLimitExceeded without Retry-After is waited out
RATE_LIMIT_PAUSE: Final = timedelta(seconds=30)
_QUOTA_REASONS: Final = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS: Final = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_REAUTHORISE: Final = (
    "the Google token was revoked or the refresh token expired (apps in 'Testing' status get "
    "7-day refresh tokens); re-authorise: brandkit auth youtube"
)

OAUTH: Final = OAuthSpec(
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url="https://oauth2.googleapis.com/token",
    scopes=("https://www.googleapis.com/auth/youtube.readonly",),
    pkce=True,
    client_auth="body",
    docs="https://developers.google.com/identity/protocols/oauth2/native-app — the authorize"
    " request needs access_type=offline (and prompt=consent) to return a refresh token; see"
    " YouTubeConnector.authorize_params",
)


def next_quota_reset(now: datetime) -> datetime:
    """When YouTube quotas reset: the next midnight in Pacific Time, as UTC (DST-aware)."""
    local_day = now.astimezone(PACIFIC).date()
    return datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=PACIFIC).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Channel:
    id: str
    handle: str
    subscribers: int | None
    hidden: bool
    videos: int | None
    uploads: str


@dataclass(frozen=True, slots=True)
class _Upload:
    video_id: str
    published_at: datetime | None  # None for an upload whose video is private or deleted


def _channel(value: object) -> _Channel | None:
    """The first channel of a ``channelListResponse``, or ``None`` when it has none."""
    items = fields.array(fields.mapping(value, "channel list").get("items", []), "items")
    if not items:
        return None
    channel = fields.mapping(items[0], "channel")
    snippet = fields.mapping(channel.get("snippet"), "snippet")
    statistics = fields.mapping(channel.get("statistics"), "statistics")
    details = fields.mapping(channel.get("contentDetails"), "contentDetails")
    playlists = fields.mapping(details.get("relatedPlaylists"), "relatedPlaylists")
    channel_id = fields.string(channel, "id")
    return _Channel(
        id=channel_id,
        handle=fields.opt_string(snippet, "customUrl")
        or fields.opt_string(snippet, "title")
        or channel_id,
        subscribers=fields.opt_int(statistics, "subscriberCount", from_string=True),
        hidden=statistics.get("hiddenSubscriberCount") is True,
        videos=fields.opt_int(statistics, "videoCount", from_string=True),
        uploads=fields.string(playlists, "uploads"),
    )


def _uploads(value: object) -> tuple[list[_Upload], str | None]:
    """A ``playlistItemListResponse``: the uploads on this page and the next page's token."""
    page = fields.mapping(value, "playlist items")
    found = []
    for item in fields.array(page.get("items", []), "items"):
        details = fields.mapping(fields.mapping(item, "playlist item").get("contentDetails"), "c")
        published = http.parse_iso8601(details.get("videoPublishedAt"))
        found.append(_Upload(fields.string(details, "videoId"), published))
    return found, fields.opt_string(page, "nextPageToken")


def _videos(value: object) -> dict[str, PostStats]:
    """A ``videoListResponse`` as :class:`PostStats` by video id (views are not impressions)."""
    found: dict[str, PostStats] = {}
    for item in fields.array(fields.mapping(value, "video list").get("items", []), "items"):
        video = fields.mapping(item, "video")
        video_id = fields.string(video, "id")
        snippet = fields.mapping(video.get("snippet"), "snippet")
        statistics = video.get("statistics")
        statistics = statistics if isinstance(statistics, dict) else {}
        found[video_id] = PostStats(
            remote_id=video_id,
            created_at=fields.timestamp(snippet, "publishedAt"),
            url=f"https://www.youtube.com/watch?v={video_id}",
            likes=fields.opt_int(statistics, "likeCount", from_string=True),
            replies=fields.opt_int(statistics, "commentCount", from_string=True),
            text=fields.opt_string(snippet, "title"),
        )
    return found


def _google_error(response: httpx.Response) -> tuple[str | None, set[str]]:
    """``error.message`` and the ``reason`` of each entry of ``error.errors``."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None, set()
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, set()
    entries = error.get("errors")
    reasons = {
        e["reason"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("reason"), str)
    }
    message = error.get("message")
    return (message if isinstance(message, str) else None), reasons


class YouTubeConnector(SessionConnector):
    """One YouTube channel's statistics, read through an injected ``httpx.AsyncClient``."""

    platform: ClassVar[str] = "youtube"
    can_publish_text: ClassVar[bool] = False
    max_length: ClassVar[int] = 0  # nothing is ever published
    metrics_fields: ClassVar[frozenset[str]] = frozenset({"likes", "replies"})
    supports_idempotency_key: ClassVar[bool] = False
    accepts_image_url: ClassVar[bool] = False
    default_base_url: ClassVar[str | None] = "https://www.googleapis.com"
    oauth: ClassVar[OAuthSpec | None] = OAUTH
    #: extra authorize-request parameters: without them Google returns no refresh token
    authorize_params: ClassVar[Mapping[str, str]] = {"access_type": "offline", "prompt": "consent"}

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        spec = OAUTH
        if base_url.rstrip("/") != self.default_base_url:  # a sandbox keeps refreshes local
            spec = replace(OAUTH, token_url="/token")
        client_id = credentials.get("client_id")
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            context=context,
            auth=OAuth2RefreshAuth(spec),
            read_limits=no_rate_limit_headers,  # quota errors say what they mean
            # the quota belongs to the Google Cloud project: every channel of one app shares it
            app_key=f"youtube:app:{client_id}" if client_id else None,
            classify_error=self._classify,
        )
        self._channel_id = credentials.get("channel_id")
        self._found: _Channel | None = None

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Refuse: the YouTube Data API cannot publish a text post. Nothing is sent."""
        raise RejectedError(
            "the YouTube Data API has no way to publish a text post; brandkit reads YouTube "
            "metrics only",
            platform=self.platform,
            hint="remove YouTube from this post's platforms and post on YouTube yourself",
        )

    async def fetch_profile(self) -> ProfileCounts:
        """Subscribers and uploaded videos of the channel.

        A channel that hides its subscriber count reports none: brandkit will not record a made-up
        number, so this raises a ``PlatformError`` saying how to show the count instead.
        """
        channel = await self._fetch_channel()
        if channel.subscribers is None or (channel.hidden and not channel.subscribers):
            raise PlatformError(
                f"channel {channel.handle} hides its subscriber count, so there is none to record",
                platform=self.platform,
                hint="show it in YouTube Studio (Settings > Channel > Advanced settings) to track "
                "subscribers; video metrics are still synced",
            )
        return ProfileCounts(
            remote_id=channel.id,
            handle=channel.handle,
            followers=channel.subscribers,
            following=None,
            posts_count=channel.videos,
        )

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncIterator[PostStats]:
        """The channel's uploads, newest first, with likes and comments, across all pages.

        Each page of the uploads playlist costs one more ``videos.list`` call for the counters
        (1 quota unit each). With ``since``, paging stops at the first page reaching older videos.
        """
        cutoff = reconcile.aware(since) if since is not None else None
        channel = await self._fetch_channel()
        call = self._session.call("fetch video metrics")
        async with aclosing(self._upload_pages(channel.uploads, call)) as pages:
            async for page in pages:
                older = {
                    u.video_id
                    for u in page
                    if cutoff and u.published_at is not None and u.published_at < cutoff
                }
                videos = await self._video_stats(
                    [u.video_id for u in page if u.video_id not in older], call
                )
                for upload in page:
                    stats = videos.get(upload.video_id)
                    if stats is not None and (cutoff is None or stats.created_at >= cutoff):
                        yield stats
                if older:
                    return

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """Always ``None``: brandkit never publishes on YouTube, so there is nothing to find."""
        return None

    # --- internals ------------------------------------------------------------------------

    async def _fetch_channel(self) -> _Channel:
        if self._found is not None:
            return self._found
        call = self._session.call("fetch channel")
        params = {"part": "snippet,contentDetails,statistics"}
        params |= {"id": self._channel_id} if self._channel_id else {"mine": "true"}
        channel, _ = await self._session.get_json(
            "/youtube/v3/channels", call, _channel, params=params
        )
        if channel is None:
            raise PlatformError(
                "the authorised Google account has no YouTube channel"
                + (f" with id {self._channel_id}" if self._channel_id else ""),
                platform=self.platform,
                hint="authorise the account that owns the channel: brandkit auth youtube",
            )
        self._found = channel
        return channel

    async def _upload_pages(
        self, playlist: str, call: http.Call
    ) -> AsyncGenerator[list[_Upload], None]:
        """The uploads playlist page by page, following ``nextPageToken`` until there is none."""
        params: dict[str, str | int] = {
            "part": "contentDetails,snippet",
            "playlistId": playlist,
            "maxResults": PAGE_SIZE,
        }
        seen: set[str] = set()
        while True:
            (uploads, token), _ = await self._session.get_json(
                "/youtube/v3/playlistItems", call, _uploads, params=params
            )
            if uploads:
                yield uploads
            if not token or token in seen:
                return
            seen.add(token)
            params["pageToken"] = token

    async def _video_stats(self, ids: Sequence[str], call: http.Call) -> dict[str, PostStats]:
        if not ids:
            return {}
        params = {"part": "snippet,statistics", "id": ",".join(ids), "maxResults": PAGE_SIZE}
        videos, _ = await self._session.get_json("/youtube/v3/videos", call, _videos, params=params)
        return videos

    def _classify(self, response: httpx.Response, call: http.Call) -> PlatformError | None:
        """Google's error reasons mapped to brandkit errors, worded with Google's message."""
        said, reasons = _google_error(response)
        status = response.status_code
        message = f"{call.action} failed (HTTP {status}): " + http.redact(
            said or response.reason_phrase, call.secrets
        )
        body = http.error_body(response, call.secrets)
        now = self._session.clock.now()
        if reasons & _QUOTA_REASONS:
            reset = next_quota_reset(now)
            if self._session.app_key:  # every channel of this Google Cloud project waits
                limit = RateLimit(limit=None, remaining=0, reset_at=reset)
                self._session.context.limits.record(self._session.app_key, limit)
            return RateLimitedError(
                message,
                platform=self.platform,
                reset_at=reset,
                status=status,
                body=body,
                hint="the project's YouTube Data API quota resets at midnight Pacific Time; "
                "brandkit will try again then",
            )
        if reasons & _RATE_REASONS:
            retry_after = http.parse_retry_after(response.headers.get("retry-after"), now=now)
            return RateLimitedError(
                message,
                platform=self.platform,
                reset_at=retry_after or now + RATE_LIMIT_PAUSE,
                status=status,
                body=body,
            )
        if status == 429 or said is None:
            return None  # the shared handling (Retry-After) applies
        try:
            http.raise_for_status(response, call)
        except PlatformError as exc:
            hint = _REAUTHORISE if status == 401 else exc.hint
            if status == 403 and "insufficientPermissions" in reasons:
                hint = "the token lacks the youtube.readonly scope; run: brandkit auth youtube"
            return type(exc)(message, platform=self.platform, status=status, body=body, hint=hint)
        return None
