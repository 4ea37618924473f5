"""Instagram (API with Instagram Login, ``graph.instagram.com``) for the contract suite.

Shapes follow developers.facebook.com/docs/instagram-platform:

- ``POST /{ig-user-id}/media`` → ``{"id"}`` (reference/ig-user/media); ``GET /{container}`` →
  ``{"status_code": "FINISHED", "id"}`` (instagram-graph-api/reference/ig-container);
  ``POST /{ig-user-id}/media_publish`` → ``{"id"}`` (reference/ig-user/media_publish);
- ``GET /{ig-user-id}/content_publishing_limit`` → ``{"data": [{"quota_usage", "config":
  {"quota_total": 50, "quota_duration": 86400}}]}`` (reference/ig-user/content_publishing_limit);
- IG User fields ``followers_count``, ``follows_count``, ``media_count`` (reference/ig-user);
- IG Media fields with the ``insights`` edge expanded, each metric as ``{"name", "period":
  "lifetime", "values": [{"value"}], "title", "description", "id"}`` (reference/instagram-media/
  insights), paged with ``paging.cursors`` and ``paging.next``;
- ``GET /refresh_access_token?grant_type=ig_refresh_token&access_token=…`` → ``{"access_token",
  "token_type", "expires_in"}`` (instagram-api-with-instagram-login/business-login#refresh);
- throttling with code 80002 (Instagram's business-use-case limit) and
  ``X-Business-Use-Case-Usage`` (graph-api/overview/rate-limiting); other errors as Graph errors.

Publishing needs an image (``needs_image``). Long-lived tokens are renewable only while still
valid, so an "expired" token here is one inside the renewal week: the API refuses it (to prove
the connector renews before use) while the refresh endpoint still takes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from brandkit.platforms.base import Credentials
from brandkit.platforms.graph import GRAPH_API_VERSION
from tests.contract.fake import Endpoint, FakePost
from tests.contract.fakes.facebook import GraphFake, form, graph_time

IG_USER_ID = "17841405822304914"


class FakeInstagram(GraphFake):
    platform: ClassVar[str] = "instagram"
    base_url: ClassVar[str] = f"https://graph.instagram.com/{GRAPH_API_VERSION}"
    prefix: ClassVar[str] = f"/{GRAPH_API_VERSION}"
    node: ClassVar[str] = IG_USER_ID
    usage_type: ClassVar[str] = "instagram"
    throttle_code: ClassVar[int] = 80002
    needs_image: ClassVar[bool] = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.containers: dict[str, dict[str, str]] = {}

    def credentials(self, *, expired: bool = False) -> Credentials:
        if expired:
            self.valid_tokens.discard(self.TOKEN)
            self.renewable.add(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        left = timedelta(days=1) if expired else timedelta(days=50)
        return {"ig_user_id": IG_USER_ID, "expires_at": (self.clock.now() + left).isoformat()}

    def route(self, request: httpx.Request) -> Endpoint | None:
        path = self.path(request)
        if request.url.path == "/refresh_access_token":
            return "token"
        if request.method == "POST" and path == f"/{IG_USER_ID}/media_publish":
            return "publish"
        if request.method == "GET" and path == f"/{IG_USER_ID}":
            return "profile"
        if request.method == "GET" and path == f"/{IG_USER_ID}/media":
            return "metrics"
        return None

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if endpoint == "token":
            return self.refresh(request)
        if not self.authorized(request):
            return self.unauthorized()
        path = self.path(request)
        if endpoint == "publish":
            container = self.containers.get(form(request).get("creation_id", ""))
            if container is None:
                return self.error(400, "Media ID is not available", code=9007, subcode=2207027)
            post = FakePost(
                self.new_id(),
                container["caption"],
                self.clock.now().replace(microsecond=0),
                image_url=container["image_url"],
            )
            self.posts.append(post)
            return self.answer({"id": post.remote_id})
        if endpoint == "profile":
            return self.answer(
                {
                    "id": IG_USER_ID,
                    "username": "tanaka_clinic",
                    "followers_count": self.followers,
                    "follows_count": self.following,
                    "media_count": len(self.posts),
                }
            )
        if endpoint == "metrics":
            return self.page(request, [self.media(p, request) for p in reversed(self.posts)])
        if request.method == "POST" and path == f"/{IG_USER_ID}/media":
            sent = form(request)
            container_id = self.new_id()
            self.containers[container_id] = {
                "caption": sent.get("caption", ""),
                "image_url": sent["image_url"],
            }
            return self.answer({"id": container_id})
        if path == f"/{IG_USER_ID}/content_publishing_limit":
            day_ago = self.clock.now() - timedelta(days=1)
            used = sum(1 for p in self.posts if p.created_at > day_ago)
            config = {"quota_total": 50, "quota_duration": 86400}
            return self.answer({"data": [{"quota_usage": used, "config": config}]})
        if path.removeprefix("/") in self.containers:
            return self.answer({"status_code": "FINISHED", "id": path.removeprefix("/")})
        for post in self.posts:
            if path == f"/{post.remote_id}":
                return self.answer(self.media(post, request))
        return self.error(400, "Unsupported get request.", code=100, subcode=33)

    def refresh(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("access_token")
        if request.url.params.get("grant_type") != "ig_refresh_token":
            return self.error(400, "Unsupported grant_type", code=100)
        if token not in self.valid_tokens | self.renewable:
            return self.error(400, "Error validating access token", code=190)
        return httpx.Response(
            200,
            json={"access_token": self.FRESH_TOKEN, "token_type": "bearer", "expires_in": 5183944},
        )

    def media(self, post: FakePost, request: httpx.Request) -> dict[str, object]:
        body: dict[str, object] = {
            "id": post.remote_id,
            "caption": post.text,
            "media_type": "IMAGE",
            "timestamp": graph_time(post.created_at),
            "permalink": f"https://www.instagram.com/p/C{post.remote_id}/",
            "like_count": post.likes,
            "comments_count": post.replies,
        }
        if "insights.metric(" in request.url.params.get("fields", ""):
            values = {"views": post.impressions, "reach": post.impressions // 2, "saved": 1}
            values["shares"] = post.reposts
            body["insights"] = {
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": value}],
                        "title": name.title(),
                        "description": f"The {name} of the media.",
                        "id": f"{post.remote_id}/insights/{name}/lifetime",
                    }
                    for name, value in values.items()
                ]
            }
        return body


FAKE = FakeInstagram
