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

Publishing needs an image (``needs_image``). Containers and the renewal of long-lived tokens
(renewable only while still valid) are shared with Threads (``tests/contract/fakes/graph.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from brandkit.platforms.graph import GRAPH_API_VERSION
from tests.contract.fake import FakePost
from tests.contract.fakes.graph import LongLivedGraphFake, graph_time

IG_USER_ID = "17841405822304914"


class FakeInstagram(LongLivedGraphFake):
    platform: ClassVar[str] = "instagram"
    base_url: ClassVar[str] = f"https://graph.instagram.com/{GRAPH_API_VERSION}"
    prefix: ClassVar[str] = f"/{GRAPH_API_VERSION}"
    node: ClassVar[str] = IG_USER_ID
    usage_type: ClassVar[str] = "instagram"
    throttle_code: ClassVar[int] = 80002
    needs_image: ClassVar[bool] = True
    edge: ClassVar[str] = "media"
    publish_edge: ClassVar[str] = "media_publish"
    profile_path: ClassVar[str] = f"/{IG_USER_ID}"
    status_field: ClassVar[str] = "status_code"
    refresh_grant: ClassVar[str] = "ig_refresh_token"
    unknown_container: ClassVar[tuple[str, int, int]] = ("Media ID is not available", 9007, 2207027)
    stored_ids: ClassVar[dict[str, str]] = {"ig_user_id": IG_USER_ID}

    def container(self, sent: dict[str, str]) -> dict[str, str]:
        return {"text": sent.get("caption", ""), "image_url": sent["image_url"]}

    def published(self, container: dict[str, str]) -> FakePost:
        post = super().published(container)
        post.image_url = container["image_url"]
        return post

    def profile(self) -> dict[str, object]:
        return {
            "id": IG_USER_ID,
            "username": "tanaka_clinic",
            "followers_count": self.followers,
            "follows_count": self.following,
            "media_count": len(self.posts),
        }

    def other(self, request: httpx.Request, path: str) -> httpx.Response | None:
        if path == f"/{IG_USER_ID}/content_publishing_limit":
            day_ago = self.clock.now() - timedelta(days=1)
            used = sum(1 for p in self.posts if p.created_at > day_ago)
            config = {"quota_total": 50, "quota_duration": 86400}
            return self.answer({"data": [{"quota_usage": used, "config": config}]})
        return None

    def listed(self, post: FakePost, request: httpx.Request) -> dict[str, object]:
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
