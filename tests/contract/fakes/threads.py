"""Threads (``graph.threads.net/v1.0``) for the contract suite.

Shapes follow developers.facebook.com/docs/threads:

- ``POST /{threads-user-id}/threads`` → ``{"id"}`` and ``POST /{threads-user-id}/threads_publish``
  → ``{"id"}`` (posts); ``GET /{container}?fields=id,status,error_message`` → ``{"status":
  "FINISHED", "id"}`` (reference/publishing);
- ``GET /me?fields=id,username`` (threads-profiles);
- ``GET /{threads-user-id}/threads_insights?metric=followers_count`` → ``{"data": [{"name":
  "followers_count", "period": "day", "title", "description", "total_value": {"value"}, "id"}]}``
  and ``GET /{threads-media-id}/insights`` → lifetime ``values`` per metric (insights);
- ``GET /{threads-user-id}/threads`` with the fields of retrieve-and-discover-posts/
  retrieve-posts, paged with ``paging.cursors`` only, as the documented example shows;
- ``GET /refresh_access_token?grant_type=th_refresh_token&access_token=…`` →
  ``{"access_token", "token_type", "expires_in"}`` (get-started/long-lived-tokens).

Threads documents its rate limit (4800 × impressions calls per 24 h) but not a header for it;
this fake throttles the way the Graph hosts do (HTTP 400, code 4, ``X-Business-Use-Case-Usage``
with minutes to regain access). No ``user_id`` is stored, so the connector asks ``/me`` for it.
Tokens renew as on Instagram (see ``tests/contract/fakes/instagram.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from brandkit.platforms.base import Credentials
from tests.contract.fake import Endpoint, FakePost
from tests.contract.fakes.facebook import GraphFake, form, graph_time

USER_ID = "25031234567890123"
METRICS = ("views", "likes", "replies", "reposts", "quotes")


class FakeThreads(GraphFake):
    platform: ClassVar[str] = "threads"
    base_url: ClassVar[str] = "https://graph.threads.net/v1.0"
    prefix: ClassVar[str] = "/v1.0"
    node: ClassVar[str] = USER_ID
    usage_type: ClassVar[str] = "threads"
    throttle_code: ClassVar[int] = 4
    sends_next: ClassVar[bool] = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.containers: dict[str, str] = {}

    def credentials(self, *, expired: bool = False) -> Credentials:
        if expired:
            self.valid_tokens.discard(self.TOKEN)
            self.renewable.add(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        left = timedelta(days=1) if expired else timedelta(days=50)
        return {"expires_at": (self.clock.now() + left).isoformat()}

    def route(self, request: httpx.Request) -> Endpoint | None:
        path = self.path(request)
        if request.url.path == "/refresh_access_token":
            return "token"
        if request.method == "POST" and path == f"/{USER_ID}/threads_publish":
            return "publish"
        if request.method == "GET" and path == f"/{USER_ID}/threads_insights":
            return "profile"
        if request.method == "GET" and path == f"/{USER_ID}/threads":
            return "metrics"
        return None

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if endpoint == "token":
            return self.refresh(request)
        if not self.authorized(request):
            return self.unauthorized()
        path = self.path(request)
        if endpoint == "publish":
            text = self.containers.get(form(request).get("creation_id", ""))
            if text is None:
                return self.error(400, "Invalid parameter", code=100, subcode=4279009)
            post = FakePost(self.new_id(), text, self.clock.now().replace(microsecond=0))
            self.posts.append(post)
            return self.answer({"id": post.remote_id})
        if endpoint == "profile":
            return self.answer(
                {
                    "data": [
                        {
                            "name": "followers_count",
                            "period": "day",
                            "title": "followers_count",
                            "description": "The number of followers on the profile.",
                            "total_value": {"value": self.followers},
                            "id": f"{USER_ID}/insights/followers_count/day",
                        }
                    ]
                }
            )
        if endpoint == "metrics":
            return self.page(request, [self.thread(p) for p in reversed(self.posts)])
        if path in ("/me", f"/{USER_ID}"):
            return self.answer({"id": USER_ID, "username": "dr_tanaka_clinic"})
        if request.method == "POST" and path == f"/{USER_ID}/threads":
            sent = form(request)
            container_id = self.new_id()
            self.containers[container_id] = sent.get("text", "")
            return self.answer({"id": container_id})
        if path.removeprefix("/") in self.containers:
            return self.answer({"id": path.removeprefix("/"), "status": "FINISHED"})
        for post in self.posts:
            if path == f"/{post.remote_id}":
                return self.answer(self.thread(post))
            if path == f"/{post.remote_id}/insights":
                return self.answer({"data": [self.metric(post, m) for m in METRICS]})
        return self.error(400, "Unsupported get request.", code=100, subcode=33)

    def refresh(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("access_token")
        if request.url.params.get("grant_type") != "th_refresh_token":
            return self.error(400, "Unsupported grant_type", code=100)
        if token not in self.valid_tokens | self.renewable:
            return self.error(400, "Error validating access token", code=190)
        return httpx.Response(
            200,
            json={"access_token": self.FRESH_TOKEN, "token_type": "bearer", "expires_in": 5183944},
        )

    def thread(self, post: FakePost) -> dict[str, object]:
        return {
            "id": post.remote_id,
            "media_product_type": "THREADS",
            "media_type": "TEXT_POST",
            "permalink": f"https://www.threads.net/@dr_tanaka_clinic/post/C{post.remote_id}",
            "owner": {"id": USER_ID},
            "username": "dr_tanaka_clinic",
            "text": post.text,
            "timestamp": graph_time(post.created_at),
            "shortcode": f"C{post.remote_id}",
            "is_quote_post": False,
        }

    def metric(self, post: FakePost, name: str) -> dict[str, object]:
        value = {
            "views": post.impressions,
            "likes": post.likes,
            "replies": post.replies,
            "reposts": post.reposts,
            "quotes": post.quotes,
        }[name]
        return {
            "name": name,
            "period": "lifetime",
            "values": [{"value": value}],
            "title": name.title(),
            "description": f"The number of {name} of the post.",
            "id": f"{post.remote_id}/insights/{name}/lifetime",
        }


FAKE = FakeThreads
