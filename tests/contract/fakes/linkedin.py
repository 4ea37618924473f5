"""LinkedIn for the contract suite: an organization page posting through the Posts API.

Shapes follow learn.microsoft.com/linkedin:

- ``POST /rest/posts``: 201, empty body, the URN in ``x-restli-id``
  (marketing/community-management/shares/posts-api, "Create a Text Post");
- ``GET /rest/posts?q=author``: ``{"paging": {"start", "count", "links", "total"}, "elements"}``,
  posts with ``createdAt``/``publishedAt`` in epoch milliseconds (same page, "Find Posts by
  Authors"), paged with ``start``/``count``;
- ``GET /rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER``: ``{"firstDegreeSize"}``
  (community-management/organizations/organization-lookup-api);
- ``GET /rest/organizationalEntityShareStatistics``: ``elements[].totalShareStatistics``
  (community-management/organizations/share-statistics);
- ``POST https://www.linkedin.com/oauth/v2/accessToken`` with ``grant_type=refresh_token``
  (shared/authentication/programmatic-refresh-tokens);
- errors ``{"status", "serviceErrorCode", "code", "message"}``
  (shared/api-guide/concepts/error-handling).

LinkedIn documents no rate-limit headers, not even on a 429 (shared/api-guide/concepts/
rate-limits). The connector honours ``Retry-After`` when one comes and otherwise waits for the
next UTC midnight (tested in ``tests/test_linkedin_connector.py``); this fake sends
``Retry-After`` so that the shared contract can tell it when its window reopens.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qs

import httpx

from tests.contract.fake import Endpoint, FakePlatform, FakePost

ORGANIZATION = "urn:li:organization:2414183"
VERSION_HEADERS = ("linkedin-version", "x-restli-protocol-version")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _error(status: int, code: str, message: str, service_code: int) -> httpx.Response:
    body = {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}
    return httpx.Response(status, json=body)


class FakeLinkedIn(FakePlatform):
    platform: ClassVar[str] = "linkedin"
    base_url: ClassVar[str] = "https://api.linkedin.com"
    REFRESH_TOKEN: ClassVar[str] = "refresh-SECRET-abcdef"

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        return {
            **super().credential_extra(expired=expired),
            "client_secret": "client-SECRET-linkedin",
            "author_urn": ORGANIZATION,
        }

    def new_id(self) -> str:
        """Share URNs mostly, and a ugcPost now and then, as an organization's feed has."""
        number = super().new_id()
        kind = "ugcPost" if int(number) % 4 == 0 else "share"
        return f"urn:li:{kind}:71{number}"

    def route(self, request: httpx.Request) -> Endpoint | None:
        host, path = request.url.host, request.url.path
        if host == "www.linkedin.com" and path == "/oauth/v2/accessToken":
            return "token"
        if path == "/rest/posts":
            return "publish" if request.method == "POST" else "metrics"
        if path == "/rest/organizationalEntityShareStatistics":
            return "metrics"
        if path == f"/rest/networkSizes/{ORGANIZATION}":
            return "profile"
        return None

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if endpoint == "token":
            return self._refresh(request)
        if not self.authorized(request):
            return self.unauthorized()
        if any(name not in request.headers for name in VERSION_HEADERS):
            return _error(400, "VERSION_MISSING", "A version must be present", 100)
        if endpoint == "publish":
            return self._create(request)
        if endpoint == "profile":
            if request.url.params.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
                return _error(400, "ILLEGAL_ARGUMENT", "Invalid edgeType", 100)
            return httpx.Response(200, json={"firstDegreeSize": self.followers})
        if endpoint == "metrics" and request.url.path == "/rest/posts":
            return self._find_by_author(request)
        if endpoint == "metrics":
            return self._share_statistics(request)
        return _error(404, "NOT_FOUND", f"No virtual resource found: {request.url.path}", 0)

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        expected = {
            "author": ORGANIZATION,
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
        }
        if any(body.get(key) != value for key, value in expected.items()):
            return _error(422, "UNPROCESSABLE_ENTITY", "Invalid post", 100)
        post = FakePost(self.new_id(), body["commentary"], self.clock.now())
        self.posts.append(post)
        return httpx.Response(201, headers={"x-restli-id": post.remote_id})

    def _find_by_author(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("q") != "author" or params.get("author") != ORGANIZATION:
            return _error(400, "ILLEGAL_ARGUMENT", "Invalid finder parameters", 100)
        start = int(params.get("start", "0"))
        count = min(int(params.get("count", "10")), self.page_size)
        newest_first = sorted(self.posts, key=lambda p: p.created_at, reverse=True)
        page = newest_first[start : start + count]
        links = []
        if start + count < len(newest_first):
            href = f"/rest/posts?author={ORGANIZATION}&count={count}&q=author&start={start + count}"
            links.append({"type": "application/json", "rel": "next", "href": href})
        paging = {"start": start, "count": count, "links": links, "total": len(newest_first)}
        return httpx.Response(
            200, json={"paging": paging, "elements": [self._post(p) for p in page]}
        )

    def _post(self, post: FakePost) -> dict[str, object]:
        return {
            "id": post.remote_id,
            "author": ORGANIZATION,
            "commentary": post.text,
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
            "distribution": {"feedDistribution": "MAIN_FEED", "thirdPartyDistributionChannels": []},
            "createdAt": _ms(post.created_at),
            "publishedAt": _ms(post.created_at),
            "lastModifiedAt": _ms(post.created_at),
            "lifecycleStateInfo": {"isEditedByAuthor": False},
        }

    def _share_statistics(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("q") != "organizationalEntity":
            return _error(400, "ILLEGAL_ARGUMENT", "Invalid finder", 100)
        asked = set()
        for name in ("shares", "ugcPosts"):
            value = params.get(name, "")
            if value:
                asked |= set(value.removeprefix("List(").removesuffix(")").split(","))
        elements = []
        for post in self.posts:
            if post.remote_id in asked:
                kind = "ugcPost" if ":ugcPost:" in post.remote_id else "share"
                totals = {
                    "uniqueImpressionsCount": post.impressions // 2,
                    "clickCount": 0,
                    "engagement": 0.01,
                    "likeCount": post.likes,
                    "commentCount": post.replies,
                    "shareCount": post.reposts,
                    "impressionCount": post.impressions,
                }
                elements.append(
                    {
                        "organizationalEntity": ORGANIZATION,
                        kind: post.remote_id,
                        "totalShareStatistics": totals,
                    }
                )
        return httpx.Response(200, json={"paging": {"count": 10, "start": 0}, "elements": elements})

    def _refresh(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != (
            self.REFRESH_TOKEN
        ):
            return httpx.Response(
                400,
                json={"error": "invalid_request", "error_description": "Invalid refresh token"},
            )
        return httpx.Response(
            200,
            json={
                "access_token": self.FRESH_TOKEN,
                "expires_in": 5184000,
                "refresh_token": self.REFRESH_TOKEN,
                "refresh_token_expires_in": 31535000,
                "scope": "r_organization_social,rw_organization_admin,w_organization_social",
            },
        )

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        seconds = max(1, int((reset_at - self.clock.now()).total_seconds()))
        return httpx.Response(
            429,
            json={
                "message": "Resource level throttle APPLICATION DAY limit for calls to this "
                "resource is reached.",
                "status": 429,
            },
            headers={"Retry-After": str(seconds)},
        )

    def unauthorized(self) -> httpx.Response:
        return _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)

    def server_error(self) -> httpx.Response:
        return httpx.Response(503, json={"message": "Service Unavailable", "status": 503})


FAKE = FakeLinkedIn
