"""Facebook Pages: publish a Page post, read the Page's followers and each post's engagement.

Documented API used (developers.facebook.com/docs, host ``graph.facebook.com``, pinned to
:data:`brandkit.platforms.graph.GRAPH_API_VERSION`), always with a Page access token:

- ``POST /{page-id}/feed`` with ``message`` (pages-api/posts, graph-api/reference/page/feed) →
  ``{"id": "<page-id>_<post-id>"}``; with an image, ``POST /{page-id}/photos`` with ``url`` and
  ``caption`` (graph-api/reference/page/photos) → ``{"id": <photo id>, "post_id": ...}``.
- ``GET /{page-post-id}?fields=id,permalink_url,created_time`` (graph-api/reference/pagepost).
- ``GET /{page-id}?fields=id,name,username,followers_count,fan_count`` (graph-api/reference/page):
  ``followers_count`` is what New Pages Experience shows; ``fan_count`` (likes) is the fallback.
- ``GET /{page-id}/posts?fields=id,message,created_time,permalink_url,shares,
  reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)``
  (graph-api/reference/page/feed#read): the summaries give the totals without listing anyone;
  ``shares`` is left out of a post nobody shared, which reads as 0.
- Throttling (graph-api/overview/rate-limiting): Page tokens fall under Business Use Case limits
  (``X-Business-Use-Case-Usage``, type ``pages``); app tokens under ``X-App-Usage``.

A Page token derived from a long-lived user token does not expire (facebook-login/guides/
access-tokens/get-long-lived#long-lived-page-token), so nothing is refreshed: an invalidated
token (code 190: password change, revoked app, lost Page role) must be re-authorised. Post
impressions are not read: the Page Insights impression metrics were deprecated in 2025.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import ClassVar, Final

import httpx

from brandkit.errors import PlatformError
from brandkit.platforms import fields, graph, http
from brandkit.platforms.api import ApiSession
from brandkit.platforms.base import Credentials, PostStats, ProfileCounts, PublishResult
from brandkit.platforms.graph_connector import GraphConnector
from brandkit.platforms.oauth import OAuthSpec

PAGE_SIZE: Final = 25
POST_FIELDS: Final = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
PROFILE_FIELDS: Final = "id,name,username,followers_count,fan_count"


def _total(post: Mapping[str, object], edge: str) -> int | None:
    """``<edge>.summary.total_count`` of a post, or ``None`` when the summary is missing."""
    found = post.get(edge)
    summary = found.get("summary") if isinstance(found, dict) else None
    return fields.opt_int(summary, "total_count") if isinstance(summary, dict) else None


def _post_stats(value: object) -> PostStats:
    post = fields.mapping(value, "Page post")
    shares = post.get("shares")
    return PostStats(
        remote_id=fields.string(post, "id"),
        created_at=fields.timestamp(post, "created_time"),
        url=fields.opt_string(post, "permalink_url"),
        likes=_total(post, "reactions"),
        replies=_total(post, "comments"),
        reposts=fields.opt_int(shares, "count") if isinstance(shares, dict) else 0,
        text=fields.opt_string(post, "message"),
    )


def _profile(value: object) -> ProfileCounts:
    page = fields.mapping(value, "Page")
    followers = fields.first_int(page, "followers_count", "fan_count")
    if followers is None:
        raise fields.Shape("neither 'followers_count' nor 'fan_count' is in the Page")
    return ProfileCounts(
        remote_id=fields.string(page, "id"),
        handle=fields.opt_string(page, "username") or fields.string(page, "name"),
        followers=followers,
        following=None,
        posts_count=None,
    )


def _managed_pages(value: object) -> list[tuple[str, str, str]]:
    """``(id, name, access_token)`` of each Page in a ``/me/accounts`` answer."""
    data = fields.array(fields.mapping(value, "answer").get("data"), "'data'")
    pages = [fields.mapping(item, "Page") for item in data]
    return [
        (
            fields.string(p, "id"),
            fields.opt_string(p, "name") or "?",
            fields.string(p, "access_token"),
        )
        for p in pages
    ]


def _photo_post(value: object) -> str:
    photo = fields.mapping(value, "answer")
    return fields.opt_string(photo, "post_id") or fields.string(photo, "id")


class FacebookPageConnector(GraphConnector):
    """One Facebook Page, reached with a Page access token.

    ``extra["page_id"]`` is the Page id; without it the connector asks ``/me``, which for a
    Page token is the Page itself.
    """

    platform: ClassVar[str] = "facebook"
    max_length: ClassVar[int] = 63206
    metrics_fields: ClassVar[frozenset[str]] = frozenset({"likes", "replies", "reposts"})
    default_base_url: ClassVar[str | None] = graph.FACEBOOK_BASE_URL
    id_key: ClassVar[str] = "page_id"
    oauth: ClassVar[OAuthSpec | None] = OAuthSpec(
        authorize_url=f"https://www.facebook.com/{graph.GRAPH_API_VERSION}/dialog/oauth",
        token_url=f"{graph.FACEBOOK_BASE_URL}/oauth/access_token",
        scopes=(
            "pages_show_list",
            "pages_read_engagement",
            "pages_manage_posts",
        ),
        pkce=False,
        client_auth="body",
        scope_separator=",",
        docs="https://developers.facebook.com/docs/pages-api/getting-started",
    )

    @classmethod
    async def finish_authorization(
        cls,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        token_response: Mapping[str, object],
    ) -> Credentials:
        """After ``brandkit auth facebook``: the Page token of the one Page the person manages.

        The user token is first made long-lived (``fb_exchange_token``), so the Page token
        derived from it does not expire (facebook-login/guides/access-tokens/get-long-lived).
        """
        client_id, secret = credentials.get("client_id"), credentials.get("client_secret")
        if not client_id or not secret:
            raise PlatformError(
                "the app id and secret are needed to get a Page token that does not expire",
                platform=cls.platform,
                hint="run brandkit auth facebook again with --client-id and --client-secret-env",
            )
        session = ApiSession(
            platform=cls.platform, client=client, base_url=base_url, credentials=credentials
        )
        action = "exchange for a long-lived token"
        response = await session.send_unauthenticated(
            "GET",
            "/oauth/access_token",
            action,
            params={
                "grant_type": "fb_exchange_token",
                "client_id": client_id,
                "client_secret": secret,
                "fb_exchange_token": credentials.token,
            },
            extra_secrets=(secret,),
        )
        call = http.Call(cls.platform, action, (secret, credentials.token))
        user_token = session.parse(
            response, lambda v: fields.string(fields.mapping(v, "answer"), "access_token"), call
        )
        response = await session.send_unauthenticated(
            "GET",
            "/me/accounts",
            "list the Pages this login manages",
            params={"fields": "id,name,access_token"},
            headers={"Authorization": f"Bearer {user_token}"},
            extra_secrets=(user_token,),
        )
        pages = session.parse(response, _managed_pages, call)
        if len(pages) != 1:
            names = ", ".join(f"{name} ({page_id})" for page_id, name, _ in pages) or "none"
            raise PlatformError(
                f"this login manages {len(pages)} Pages ({names}); brandkit needs exactly one",
                platform=cls.platform,
                hint="add the Page with its own Page token: brandkit accounts add facebook "
                "--name NAME --set page_id=ID (see docs/platforms/facebook.md)",
            )
        page_id, _, page_token = pages[0]
        return Credentials(token=page_token, extra={"page_id": page_id, "client_id": client_id})

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post ``text`` on the Page's feed (as a photo caption when ``image_url`` is given).

        One request; a failure after it may have reached Meta is ``OutcomeUnknownError``, and
        :meth:`find_post` then looks for the text among the Page's latest posts.
        """
        node = await self._node()
        call = self._session.call("publish", is_publish=True)
        if image_url:
            response = await self._session.request(
                "POST", f"/{node}/photos", call, data={"url": image_url, "caption": text}
            )
            post_id = self._session.parse(response, _photo_post, call)
        else:
            response = await self._session.request(
                "POST", f"/{node}/feed", call, data={"message": text}
            )
            post_id = self._session.parse(
                response, lambda v: fields.string(fields.mapping(v, "answer"), "id"), call
            )
        return await self._published(post_id, url_field="permalink_url", time_field="created_time")

    async def fetch_profile(self) -> ProfileCounts:
        """The Page's followers (``followers_count``, else ``fan_count``)."""
        return await self._read_node("fetch profile", _profile, PROFILE_FIELDS)

    def _post_pages(
        self, call: http.Call, *, max_pages: int | None = None, counts: bool = True
    ) -> AsyncGenerator[list[PostStats], None]:
        return self._pages(
            call, max_pages, POST_FIELDS if counts else "id,message,created_time,permalink_url"
        )

    async def _pages(
        self, call: http.Call, max_pages: int | None, wanted: str
    ) -> AsyncGenerator[list[PostStats], None]:
        node = await self._node()
        async for page in graph.pages(
            self._session,
            f"/{node}/posts",
            call,
            _post_stats,
            params={"fields": wanted, "limit": PAGE_SIZE},
            max_pages=max_pages,
        ):
            yield page
