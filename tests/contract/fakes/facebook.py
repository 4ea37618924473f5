"""Facebook Pages for the contract suite (the Graph conventions are in ``graph.py``).

Shapes follow developers.facebook.com:

- throttling: code 80001, a Page's business-use-case limit (graph-api/overview/rate-limiting);
- Page: graph-api/reference/page (``followers_count``, ``fan_count``); publishing:
  pages-api/posts (``POST /{page-id}/feed`` → ``{"id": "<page-id>_<post-id>"}``), graph-api/
  reference/page/photos; posts with ``reactions``/``comments`` summaries and ``shares``:
  graph-api/reference/page/feed and graph-api/reference/pagepost.

Page tokens do not expire and cannot be renewed without the user, so ``refreshable`` is False.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from brandkit.platforms.graph import GRAPH_API_VERSION
from tests.connector_support import form
from tests.contract.fake import Endpoint, FakePost
from tests.contract.fakes.graph import GraphFake, graph_time

PAGE_ID = "104857600123456"


class FakeFacebook(GraphFake):
    platform: ClassVar[str] = "facebook"
    base_url: ClassVar[str] = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
    prefix: ClassVar[str] = f"/{GRAPH_API_VERSION}"
    node: ClassVar[str] = PAGE_ID
    refreshable: ClassVar[bool] = False

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        return {"page_id": PAGE_ID}

    def route(self, request: httpx.Request) -> Endpoint | None:
        path = self.path(request)
        if request.method == "POST" and path in (f"/{PAGE_ID}/feed", f"/{PAGE_ID}/photos"):
            return "publish"
        if request.method == "GET" and path == f"/{PAGE_ID}":
            return "profile"
        if request.method == "GET" and path == f"/{PAGE_ID}/posts":
            return "metrics"
        return None

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if not self.authorized(request):
            return self.unauthorized()
        path = self.path(request)
        if endpoint == "publish":
            sent = form(request)
            text = sent.get("message", sent.get("caption", ""))
            post = FakePost(self.new_id(), text, self.clock.now().replace(microsecond=0))
            post.remote_id = f"{PAGE_ID}_{post.remote_id}"
            post.image_url = sent.get("url")
            self.posts.append(post)
            if path.endswith("/photos"):
                return self.answer({"id": self.new_id(), "post_id": post.remote_id})
            return self.answer({"id": post.remote_id})
        if endpoint == "profile":
            return self.answer(
                {
                    "id": PAGE_ID,
                    "name": "Tanaka Family Clinic",
                    "followers_count": self.followers,
                    "fan_count": self.followers - 12,
                }
            )
        if endpoint == "metrics":
            return self.page(request, [self.post(p) for p in reversed(self.posts)])
        for post in self.posts:
            if path == f"/{post.remote_id}":
                return self.answer(self.post(post))
        return self.error(400, "Unsupported get request.", code=100, subcode=33)

    def post(self, post: FakePost) -> dict[str, object]:
        body: dict[str, object] = {
            "id": post.remote_id,
            "message": post.text,
            "created_time": graph_time(post.created_at),
            "permalink_url": f"https://www.facebook.com/{post.remote_id.replace('_', '/posts/')}",
            "reactions": {"data": [], "summary": {"total_count": post.likes}},
            "comments": {
                "data": [],
                "summary": {"order": "ranked", "total_count": post.replies, "can_comment": True},
            },
        }
        if post.reposts:
            body["shares"] = {"count": post.reposts}
        return body


FAKE = FakeFacebook
