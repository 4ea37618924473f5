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
Containers and token renewal are shared with Instagram (``tests/contract/fakes/graph.py``).
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from tests.contract.fake import FakePost
from tests.contract.fakes.graph import LongLivedGraphFake, graph_time

USER_ID = "25031234567890123"
METRICS = ("views", "likes", "replies", "reposts", "quotes")


class FakeThreads(LongLivedGraphFake):
    platform: ClassVar[str] = "threads"
    base_url: ClassVar[str] = "https://graph.threads.net/v1.0"
    prefix: ClassVar[str] = "/v1.0"
    node: ClassVar[str] = USER_ID
    usage_type: ClassVar[str] = "threads"
    throttle_code: ClassVar[int] = 4
    sends_next: ClassVar[bool] = False
    edge: ClassVar[str] = "threads"
    publish_edge: ClassVar[str] = "threads_publish"
    profile_path: ClassVar[str] = f"/{USER_ID}/threads_insights"
    status_field: ClassVar[str] = "status"
    refresh_grant: ClassVar[str] = "th_refresh_token"
    unknown_container: ClassVar[tuple[str, int, int]] = ("Invalid parameter", 100, 4279009)

    def container(self, sent: dict[str, str]) -> dict[str, str]:
        return {"text": sent.get("text", "")}

    def profile(self) -> dict[str, object]:
        return {
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

    def other(self, request: httpx.Request, path: str) -> httpx.Response | None:
        if path in ("/me", f"/{USER_ID}"):
            return self.answer({"id": USER_ID, "username": "dr_tanaka_clinic"})
        for post in self.posts:
            if path == f"/{post.remote_id}/insights":
                return self.answer({"data": [self.metric(post, m) for m in METRICS]})
        return None

    def listed(self, post: FakePost, request: httpx.Request) -> dict[str, object]:
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
