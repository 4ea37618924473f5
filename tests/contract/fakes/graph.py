"""The Graph API conventions the Meta fakes share (Facebook, Instagram, Threads).

Shapes follow developers.facebook.com:

- errors: graph-api/guides/error-handling (``{"error": {"message", "type", "code",
  "error_subcode", "is_transient", "fbtrace_id"}}``; code 190 for an invalid token, code 2 with
  ``is_transient`` for a temporary outage, the "An unexpected error has occurred" message);
- throttling: graph-api/overview/rate-limiting (HTTP 400 with a throttling code, 80001 for a
  Page's business-use-case limit, and ``X-Business-Use-Case-Usage`` whose
  ``estimated_time_to_regain_access`` is in whole minutes; ``X-App-Usage`` on every answer);
- pagination: graph-api/results (``paging.cursors.before/after`` and ``paging.next``).

Instagram and Threads also publish the same way (a media container, its status, then a publish
call) and renew 60-day tokens at ``GET /refresh_access_token``: :class:`LongLivedGraphFake` is
that part, once, so each of their fakes keeps only its own paths, payloads and error codes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from brandkit.platforms.base import Credentials
from tests.connector_support import form
from tests.contract.fake import Endpoint, FakePlatform, FakePost


def graph_time(moment: datetime) -> str:
    """Graph timestamps: ISO 8601 with a ``+0000`` offset and whole seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


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

    # --- helpers for subclasses ---------------------------------------------------------------

    def path(self, request: httpx.Request) -> str:
        """The request path without the version prefix."""
        return request.url.path.removeprefix(self.prefix)

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


class LongLivedGraphFake(GraphFake):
    """Instagram's and Threads' shared part: containers, publishing, 60-day token renewal.

    A post is made in three calls: ``POST /{node}/{edge}`` creates a container from the form,
    ``GET /{container}`` reports it finished, ``POST /{node}/{publish_edge}`` with
    ``creation_id`` publishes it. ``GET /{node}/{edge}`` lists the posts (the metrics endpoint).
    Long-lived tokens are renewable only while still valid, so an "expired" token here is one
    inside the renewal week: the API refuses it (to prove the connector renews before use) while
    ``/refresh_access_token`` still takes it.
    """

    #: the edge that makes containers (POST) and lists the posts (GET): ``threads``, ``media``
    edge: ClassVar[str]
    #: the edge that publishes a container: ``threads_publish``, ``media_publish``
    publish_edge: ClassVar[str]
    #: the path of the profile endpoint (the follower count), without the version prefix
    profile_path: ClassVar[str]
    #: the field of a container's status (``status``, ``status_code``)
    status_field: ClassVar[str]
    #: the ``grant_type`` ``/refresh_access_token`` takes
    refresh_grant: ClassVar[str]
    #: the error a publish of an unknown container gets: message, code, subcode
    unknown_container: ClassVar[tuple[str, int, int]]
    #: what the credentials store besides the token (the account id, where it is stored)
    stored_ids: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.containers: dict[str, dict[str, str]] = {}
        #: tokens the refresh endpoint still accepts although the API no longer does
        self.renewable: set[str] = set()

    def credentials(self, *, expired: bool = False) -> Credentials:
        if expired:
            self.valid_tokens.discard(self.TOKEN)
            self.renewable.add(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        left = timedelta(days=1) if expired else timedelta(days=50)
        return {**self.stored_ids, "expires_at": (self.clock.now() + left).isoformat()}

    def route(self, request: httpx.Request) -> Endpoint | None:
        path = self.path(request)
        if request.url.path == "/refresh_access_token":
            return "token"
        if request.method == "POST" and path == f"/{self.node}/{self.publish_edge}":
            return "publish"
        if request.method == "GET" and path == self.profile_path:
            return "profile"
        if request.method == "GET" and path == f"/{self.node}/{self.edge}":
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
                message, code, subcode = self.unknown_container
                return self.error(400, message, code=code, subcode=subcode)
            post = self.published(container)
            self.posts.append(post)
            return self.answer({"id": post.remote_id})
        if endpoint == "profile":
            return self.answer(self.profile())
        if endpoint == "metrics":
            return self.page(request, [self.listed(p, request) for p in reversed(self.posts)])
        if request.method == "POST" and path == f"/{self.node}/{self.edge}":
            container_id = self.new_id()
            self.containers[container_id] = self.container(form(request))
            return self.answer({"id": container_id})
        if path.removeprefix("/") in self.containers:
            return self.answer({"id": path.removeprefix("/"), self.status_field: "FINISHED"})
        for post in self.posts:
            if path == f"/{post.remote_id}":
                return self.answer(self.listed(post, request))
        return self.other(request, path) or self.error(
            400, "Unsupported get request.", code=100, subcode=33
        )

    def refresh(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("access_token")
        if request.url.params.get("grant_type") != self.refresh_grant:
            return self.error(400, "Unsupported grant_type", code=100)
        if token not in self.valid_tokens | self.renewable:
            return self.error(400, "Error validating access token", code=190)
        return httpx.Response(
            200,
            json={"access_token": self.FRESH_TOKEN, "token_type": "bearer", "expires_in": 5183944},
        )

    def published(self, container: dict[str, str]) -> FakePost:
        """The post a finished container becomes."""
        return FakePost(self.new_id(), container["text"], self.clock.now().replace(microsecond=0))

    # --- platform-specific --------------------------------------------------------------------

    def container(self, sent: dict[str, str]) -> dict[str, str]:
        """What a container keeps of the form that created it (its ``text``, maybe an image)."""
        raise NotImplementedError

    def profile(self) -> dict[str, object]:
        """The profile endpoint's answer."""
        raise NotImplementedError

    def listed(self, post: FakePost, request: httpx.Request) -> dict[str, object]:
        """``post`` as the list and the post's own endpoint show it."""
        raise NotImplementedError

    def other(self, request: httpx.Request, path: str) -> httpx.Response | None:
        """The answer to a path of the platform's own, or ``None``."""
        return None
