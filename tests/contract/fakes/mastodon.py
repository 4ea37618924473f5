"""Mastodon for the contract suite.

Shapes follow docs.joinmastodon.org: Status (entities/Status), CredentialAccount
(methods/accounts#verify_credentials), Error (entities/Error), pagination through ``Link``
(api/guidelines#pagination) and ``X-RateLimit-*`` with an ISO 8601 reset (api/rate-limits).
Mastodon tokens do not expire and cannot be refreshed, so ``refreshable`` is False.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import ClassVar
from urllib.parse import parse_qs

import httpx

from brandkit.platforms.base import Credentials
from tests.contract.fake import Endpoint, FakePlatform, FakePost

ACCOUNT_ID = "109382828938474920"


class FakeMastodon(FakePlatform):
    platform: ClassVar[str] = "mastodon"
    base_url: ClassVar[str] = "https://mastodon.example"
    refreshable: ClassVar[bool] = False

    def credentials(self, *, expired: bool = False) -> Credentials:
        if expired:
            self.valid_tokens.discard(self.TOKEN)
        return Credentials(token=self.TOKEN)

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        return {}

    def route(self, request: httpx.Request) -> Endpoint | None:
        path = request.url.path
        if request.method == "POST" and path == "/api/v1/statuses":
            return "publish"
        if path == "/api/v1/accounts/verify_credentials":
            return "profile"
        if path == f"/api/v1/accounts/{ACCOUNT_ID}/statuses":
            return "metrics"
        return None

    def _limits(self) -> dict[str, str]:
        reset = self.clock.now() + timedelta(minutes=5)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
        }

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if not self.authorized(request):
            return self.unauthorized()
        if endpoint == "publish":
            form = parse_qs(request.content.decode())
            post = FakePost(self.new_id(), form["status"][0], self.clock.now())
            self.posts.append(post)
            return httpx.Response(200, json=self._status(post), headers=self._limits())
        if endpoint == "profile":
            return httpx.Response(200, json=self._account(), headers=self._limits())
        if endpoint == "metrics":
            newest_first = list(reversed(self.posts))
            max_id = request.url.params.get("max_id")
            if max_id is not None:
                newest_first = [p for p in newest_first if int(p.remote_id) < int(max_id)]
            page = newest_first[: self.page_size]
            headers = self._limits()
            if len(newest_first) > self.page_size:
                url = f"{self.base_url}{request.url.path}?limit=40&max_id={page[-1].remote_id}"
                headers["Link"] = f'<{url}>; rel="next"'
            return httpx.Response(200, json=[self._status(p) for p in page], headers=headers)
        return httpx.Response(404, json={"error": "Record not found"})

    def _status(self, post: FakePost) -> dict[str, object]:
        return {
            "id": post.remote_id,
            "created_at": post.created_at.isoformat().replace("+00:00", "Z"),
            "url": f"{self.base_url}/@clinic/{post.remote_id}",
            "content": f"<p>{html.escape(post.text)}</p>",
            "visibility": "public",
            "favourites_count": post.likes,
            "reblogs_count": post.reposts,
            "replies_count": post.replies,
            "quotes_count": post.quotes,
        }

    def _account(self) -> dict[str, object]:
        return {
            "id": ACCOUNT_ID,
            "username": "clinic",
            "acct": "clinic",
            "followers_count": self.followers,
            "following_count": self.following,
            "statuses_count": len(self.posts),
        }

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        return httpx.Response(
            429,
            json={"error": "Too many requests"},
            headers={
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_at.isoformat().replace("+00:00", "Z"),
            },
        )

    def unauthorized(self) -> httpx.Response:
        return httpx.Response(401, json={"error": "The access token is invalid"})

    def server_error(self) -> httpx.Response:
        return httpx.Response(503, json={"error": "Service Unavailable"})


FAKE = FakeMastodon
