"""YouTube Data API v3 for the contract suite: a channel's statistics and uploads; no publishing.

Shapes follow developers.google.com/youtube/v3:

- ``GET /youtube/v3/channels`` → ``youtube#channelListResponse`` with ``snippet``,
  ``contentDetails.relatedPlaylists.uploads`` and ``statistics`` whose counts are strings
  (docs/channels, docs/channels/list);
- ``GET /youtube/v3/playlistItems`` → ``youtube#playlistItemListResponse``, ``maxResults`` up to
  50, ``nextPageToken`` (docs/playlistItems/list);
- ``GET /youtube/v3/videos`` → ``youtube#videoListResponse`` with ``statistics`` as strings
  (docs/videos, docs/videos/list);
- errors ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}``
  (docs/errors); a rate limit answered as 429 ``RESOURCE_EXHAUSTED`` with ``Retry-After``;
- ``POST https://oauth2.googleapis.com/token`` with ``grant_type=refresh_token``: no new refresh
  token in the answer (developers.google.com/identity/protocols/oauth2/native-app).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qs

import httpx

from tests.contract.fake import Endpoint, FakePlatform, FakePost

CHANNEL = "UCq3cLinic0Examp1eChannel"
UPLOADS = "UU" + CHANNEL[2:]
SCOPE = "https://www.googleapis.com/auth/youtube.readonly"


def google_error(
    status: int, message: str, reason: str, domain: str = "global"
) -> dict[str, object]:
    entry = {"message": message, "domain": domain, "reason": reason}
    return {"error": {"code": status, "message": message, "errors": [entry]}}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class FakeYouTube(FakePlatform):
    platform: ClassVar[str] = "youtube"
    base_url: ClassVar[str] = "https://www.googleapis.com"
    can_publish: ClassVar[bool] = False
    REFRESH_TOKEN: ClassVar[str] = "refresh-SECRET-abcdef"

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        return {**super().credential_extra(expired=expired), "client_secret": "GOCSPX-SECRET-yt"}

    def new_id(self) -> str:
        return f"Vd{super().new_id()}xQ"[:11]  # 11 characters, like every video id

    def route(self, request: httpx.Request) -> Endpoint | None:
        host, path = request.url.host, request.url.path
        if host == "oauth2.googleapis.com" and path == "/token":
            return "token"
        if path == "/youtube/v3/channels":
            return "profile"
        if path in ("/youtube/v3/playlistItems", "/youtube/v3/videos"):
            return "metrics"
        return None

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if endpoint == "token":
            return self._refresh(request)
        if not self.authorized(request):
            return self.unauthorized()
        path, params = request.url.path, request.url.params
        if endpoint == "profile":
            return self._channels(params)
        if path == "/youtube/v3/playlistItems":
            return self._playlist_items(params)
        if path == "/youtube/v3/videos":
            return self._videos(params)
        return httpx.Response(404, json=google_error(404, "Not Found", "notFound"))

    def _channels(self, params: httpx.QueryParams) -> httpx.Response:
        if params.get("mine") != "true" or "statistics" not in params.get("part", ""):
            return httpx.Response(400, json=google_error(400, "Bad part", "unknownPart"))
        channel = {
            "kind": "youtube#channel",
            "etag": "x3Kx0hKbBBbPO9qXcYdSTuuDtV4",
            "id": CHANNEL,
            "snippet": {
                "title": "Sakura Clinic",
                "description": "Health tips from Sakura Clinic.",
                "customUrl": "@sakuraclinic",
                "publishedAt": "2019-04-01T09:00:00Z",
            },
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": UPLOADS}},
            "statistics": {
                "viewCount": "123456",
                "subscriberCount": str(self.followers),
                "hiddenSubscriberCount": False,
                "videoCount": str(len(self.posts)),
            },
        }
        page_info = {"totalResults": 1, "resultsPerPage": 5}
        body = {"kind": "youtube#channelListResponse", "pageInfo": page_info, "items": [channel]}
        return httpx.Response(200, json=body)

    def _playlist_items(self, params: httpx.QueryParams) -> httpx.Response:
        max_results = int(params.get("maxResults", "5"))
        if params.get("playlistId") != UPLOADS or not 0 <= max_results <= 50:
            return httpx.Response(400, json=google_error(400, "Bad request", "invalidValue"))
        offset = int(params.get("pageToken", "EAAa0").removeprefix("EAAa"))
        newest_first = sorted(self.posts, key=lambda p: p.created_at, reverse=True)
        size = min(max_results, self.page_size)
        page = newest_first[offset : offset + size]
        items = [
            {
                "kind": "youtube#playlistItem",
                "id": f"VVUx{post.remote_id}",
                "snippet": {
                    "publishedAt": _rfc3339(post.created_at),
                    "title": post.text,
                    "playlistId": UPLOADS,
                    "position": offset + n,
                    "resourceId": {"kind": "youtube#video", "videoId": post.remote_id},
                },
                "contentDetails": {
                    "videoId": post.remote_id,
                    "videoPublishedAt": _rfc3339(post.created_at),
                },
            }
            for n, post in enumerate(page)
        ]
        body: dict[str, object] = {
            "kind": "youtube#playlistItemListResponse",
            "pageInfo": {"totalResults": len(newest_first), "resultsPerPage": size},
            "items": items,
        }
        if offset + size < len(newest_first):
            body["nextPageToken"] = f"EAAa{offset + size}"
        return httpx.Response(200, json=body)

    def _videos(self, params: httpx.QueryParams) -> httpx.Response:
        ids = params.get("id", "").split(",")
        if len(ids) > 50:
            return httpx.Response(400, json=google_error(400, "Too many ids", "invalidValue"))
        by_id = {p.remote_id: p for p in self.posts}
        items = [self._video(by_id[i]) for i in ids if i in by_id]
        page_info = {"totalResults": len(items), "resultsPerPage": len(items)}
        body = {"kind": "youtube#videoListResponse", "pageInfo": page_info, "items": items}
        return httpx.Response(200, json=body)

    def _video(self, post: FakePost) -> dict[str, object]:
        return {
            "kind": "youtube#video",
            "id": post.remote_id,
            "snippet": {
                "publishedAt": _rfc3339(post.created_at),
                "channelId": CHANNEL,
                "title": post.text,
                "channelTitle": "Sakura Clinic",
            },
            "statistics": {
                "viewCount": str(post.impressions),
                "likeCount": str(post.likes),
                "favoriteCount": "0",
                "commentCount": str(post.replies),
            },
        }

    def _refresh(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("refresh_token") != self.REFRESH_TOKEN or not form.get("client_secret"):
            error = {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
            return httpx.Response(400, json=error)
        answer = {
            "access_token": self.FRESH_TOKEN,
            "expires_in": 3599,
            "scope": SCOPE,
            "token_type": "Bearer",
        }
        return httpx.Response(200, json=answer)

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        seconds = max(1, int((reset_at - self.clock.now()).total_seconds()))
        body = google_error(429, "Rate limit exceeded.", "rateLimitExceeded", "usageLimits")
        body["error"]["status"] = "RESOURCE_EXHAUSTED"  # type: ignore[index]
        return httpx.Response(429, json=body, headers={"Retry-After": str(seconds)})

    def unauthorized(self) -> httpx.Response:
        body = google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            "authError",
        )
        return httpx.Response(401, json=body, headers={"WWW-Authenticate": 'Bearer realm="x"'})

    def server_error(self) -> httpx.Response:
        body = google_error(503, "The service is currently unavailable.", "backendError")
        return httpx.Response(503, json=body)


FAKE = FakeYouTube
