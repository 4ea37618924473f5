"""Facebook Pages for the contract suite, and the Graph API conventions the Meta fakes share.

Shapes follow developers.facebook.com:

- errors: graph-api/guides/error-handling (``{"error": {"message", "type", "code",
  "error_subcode", "is_transient", "fbtrace_id"}}``; code 190 for an invalid token, code 2 with
  ``is_transient`` for a temporary outage, the "An unexpected error has occurred" message);
- throttling: graph-api/overview/rate-limiting (HTTP 400 with a throttling code, here 80001 for
  a Page's business-use-case limit, and ``X-Business-Use-Case-Usage`` whose
  ``estimated_time_to_regain_access`` is in whole minutes; ``X-App-Usage`` on every answer);
- pagination: graph-api/results (``paging.cursors.before/after`` and ``paging.next``);
- Page: graph-api/reference/page (``followers_count``, ``fan_count``); publishing:
  pages-api/posts (``POST /{page-id}/feed`` → ``{"id": "<page-id>_<post-id>"}``), graph-api/
  reference/page/photos; posts with ``reactions``/``comments`` summaries and ``shares``:
  graph-api/reference/page/feed and graph-api/reference/pagepost.

Page tokens do not expire and cannot be renewed without the user, so ``refreshable`` is False.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx

from brandkit.platforms.base import Credentials
from brandkit.platforms.graph import GRAPH_API_VERSION
from tests.contract.fake import Endpoint, FakePlatform, FakePost

PAGE_ID = "104857600123456"


def graph_time(moment: datetime) -> str:
    """Graph timestamps: ISO 8601 with a ``+0000`` offset and whole seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def form(request: httpx.Request) -> dict[str, str]:
    """The form fields of a POST (the Graph API takes parameters form-encoded)."""
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class GraphFake(FakePlatform):
    """What the Meta fakes share: bearer check, usage headers, errors and cursor paging."""

    #: the version prefix of every API path (``/v25.0``)
    prefix: ClassVar[str]
    #: the business object the usage headers are reported for
    node: ClassVar[str]
    #: the business-use-case type (``pages``, ``instagram``) and the code a throttle carries
    usage_type: ClassVar[str] = "pages"
    throttle_code: ClassVar[int] = 80001
    #: whether ``paging.next`` is sent alongside the cursors (Threads' examples show cursors only)
    sends_next: ClassVar[bool] = True
    #: tokens the refresh endpoint still accepts although the API no longer does
    renewable: set[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renewable = set()

    # --- helpers for subclasses ---------------------------------------------------------------

    def path(self, request: httpx.Request) -> str:
        """The request path without the version prefix."""
        return request.url.path.removeprefix(self.prefix)

    def authorized(self, request: httpx.Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return token in self.valid_tokens

    def usage_headers(self, *, percent: int = 3, minutes: int = 0) -> dict[str, str]:
        business = {
            self.node: [
                {
                    "type": self.usage_type,
                    "call_count": percent,
                    "total_cputime": 1,
                    "total_time": 2,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
        app = {"call_count": 2, "total_cputime": 1, "total_time": 1}
        return {
            "X-Business-Use-Case-Usage": json.dumps(business),
            "X-App-Usage": json.dumps(app),
        }

    def answer(self, payload: object, status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=payload, headers=self.usage_headers())

    def error(
        self,
        status: int,
        message: str,
        *,
        code: int,
        type_: str = "OAuthException",
        subcode: int | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        error: dict[str, object] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if transient is not None:
            error["is_transient"] = transient
        error["fbtrace_id"] = "AbCdEfGh123"
        return httpx.Response(status, json={"error": error}, headers=headers or {})

    def page(
        self, request: httpx.Request, items: list[dict[str, object]], *, next_link: bool = True
    ) -> httpx.Response:
        """``items`` (newest first) cut at ``page_size`` from the ``after`` cursor."""
        start = int(request.url.params.get("after", "QVFI0").removeprefix("QVFI"))
        chunk = items[start : start + self.page_size]
        body: dict[str, object] = {"data": chunk}
        if chunk:
            end = start + len(chunk)
            paging: dict[str, object] = {
                "cursors": {"before": f"QVFI{start}", "after": f"QVFI{end}"}
            }
            if next_link and self.sends_next and end < len(items):
                paging["next"] = str(request.url.copy_set_param("after", f"QVFI{end}"))
            body["paging"] = paging
        return self.answer(body)

    # --- the contract's error answers ---------------------------------------------------------

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        minutes = int((reset_at - self.clock.now()).total_seconds() // 60)
        return self.error(
            400,
            "(#80001) There have been too many calls to this Page account. "
            "Wait a bit and try again.",
            code=self.throttle_code,
            subcode=2446079,
            headers=self.usage_headers(percent=100, minutes=minutes),
        )

    def unauthorized(self) -> httpx.Response:
        return self.error(
            400,
            "Error validating access token: Session has expired on Tuesday, 24-Nov-26 00:00:00 "
            "PST. The current time is Tuesday, 24-Nov-26 01:00:00 PST.",
            code=190,
            subcode=463,
        )

    def server_error(self) -> httpx.Response:
        return self.error(
            500,
            "An unexpected error has occurred. Please retry your request later.",
            code=2,
            transient=True,
        )


class FakeFacebook(GraphFake):
    platform: ClassVar[str] = "facebook"
    base_url: ClassVar[str] = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
    prefix: ClassVar[str] = f"/{GRAPH_API_VERSION}"
    node: ClassVar[str] = PAGE_ID
    refreshable: ClassVar[bool] = False

    def credentials(self, *, expired: bool = False) -> Credentials:
        if expired:
            self.valid_tokens.discard(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

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
