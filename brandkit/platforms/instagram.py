"""Instagram (professional accounts): publish an image post, read counts and media insights.

Instagram cannot publish text alone: every post is a media container made from an image at a
public URL. Documented API used (developers.facebook.com/docs/instagram-platform):

- Host: ``graph.instagram.com`` for the *Instagram API with Instagram Login* (the default: no
  Facebook Page needed, 60-day user tokens renewed with ``GET /refresh_access_token?
  grant_type=ig_refresh_token``), or ``graph.facebook.com`` for the *Instagram API with Facebook
  Login* (a Page-linked account reached with a Page token, which does not expire). Same paths.
- ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`` (reference/ig-user/
  content_publishing_limit): posts published through the API in the last 24 hours, against
  ``config.quota_total`` (50) over ``config.quota_duration`` (86400 s); checked before publishing.
- ``POST /{ig-user-id}/media`` with ``image_url`` and ``caption`` (reference/ig-user/media) →
  ``{"id": <container id>}``; ``GET /{container-id}?fields=id,status_code,status``
  (reference/ig-container) until ``FINISHED``; ``POST /{ig-user-id}/media_publish`` with
  ``creation_id`` (reference/ig-user/media_publish) → ``{"id": <media id>}``.
- ``GET /{ig-user-id}?fields=id,username,followers_count,follows_count,media_count``
  (reference/ig-user).
- ``GET /{ig-user-id}/media?fields=id,caption,timestamp,permalink,like_count,comments_count,
  insights.metric(views,reach,saved,shares)`` (reference/ig-user/media, reference/instagram-media/
  insights): the insights edge is expanded in the same request instead of one request per post.
  ``impressions`` and ``plays`` were deprecated in v22.0 (April 2025); ``views`` replaces them.
  If the expansion is refused (older media, a missing permission), the counts are read without it.
- Throttling (graph-api/overview/rate-limiting): Business Use Case limits, reported in
  ``X-Business-Use-Case-Usage``; see :mod:`brandkit.platforms.graph`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import ClassVar, Final

import httpx

from brandkit.clock import Clock
from brandkit.errors import (
    AuthExpiredError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms import fields, graph, graph_publish, graph_tokens, http
from brandkit.platforms.api import Authenticator, BearerAuth
from brandkit.platforms.base import PostStats, ProfileCounts, PublishResult
from brandkit.platforms.fields import Shape
from brandkit.platforms.graph_connector import GraphConnector
from brandkit.platforms.oauth import OAuthSpec

logger = logging.getLogger(__name__)

PAGE_SIZE: Final = 25
MEDIA_FIELDS: Final = "id,caption,timestamp,permalink,like_count,comments_count,media_type"
INSIGHTS_FIELD: Final = "insights.metric(views,reach,saved,shares)"
PROFILE_FIELDS: Final = "id,username,followers_count,follows_count,media_count"


def _media_stats(value: object) -> PostStats:
    """An IG Media object, with its expanded ``insights`` when present."""
    media = fields.mapping(value, "media")
    insights = graph.insight_values(media.get("insights"))
    return PostStats(
        remote_id=fields.string(media, "id"),
        created_at=fields.timestamp(media, "timestamp"),
        url=fields.opt_string(media, "permalink"),
        likes=fields.opt_int(media, "like_count"),  # omitted when the owner hides likes
        replies=fields.opt_int(media, "comments_count"),
        reposts=insights.get("shares"),
        bookmarks=insights.get("saved"),
        impressions=insights.get("views"),
        text=fields.opt_string(media, "caption"),
    )


def _profile(value: object) -> ProfileCounts:
    user = fields.mapping(value, "IG user")
    return ProfileCounts(
        remote_id=fields.string(user, "id"),
        handle=fields.string(user, "username"),
        followers=fields.integer(user, "followers_count"),
        following=fields.opt_int(user, "follows_count"),
        posts_count=fields.opt_int(user, "media_count"),
    )


def _quota(value: object) -> tuple[int, int, int]:
    """``(used, total, seconds)`` from ``{"data": [{"quota_usage", "config": {...}}]}``."""
    data = fields.array(fields.mapping(value, "answer").get("data"), "'data'")
    if not data:
        raise Shape("'data' is empty")
    entry = fields.mapping(data[0], "publishing limit")
    config = fields.mapping(entry.get("config"), "'config'")
    return (
        fields.integer(entry, "quota_usage"),
        fields.integer(config, "quota_total"),
        fields.integer(config, "quota_duration"),
    )


def _discovered(value: object) -> str:
    """``user_id`` (Instagram Login) or ``instagram_business_account.id`` (a Page token)."""
    me = fields.mapping(value, "/me")
    business = me.get("instagram_business_account")
    if isinstance(business, dict):
        return fields.string(business, "id")
    return fields.opt_string(me, "user_id") or fields.string(me, "id")


class InstagramConnector(GraphConnector):
    """One Instagram professional account (business or creator).

    ``extra["ig_user_id"]`` is the account's id; without it the connector asks ``/me``.
    """

    platform: ClassVar[str] = "instagram"
    can_publish_text: ClassVar[bool] = False  # a post needs an image
    max_length: ClassVar[int] = 2200  # caption limit
    metrics_fields: ClassVar[frozenset[str]] = frozenset(
        {"likes", "replies", "reposts", "bookmarks", "impressions"}
    )
    default_base_url: ClassVar[str | None] = graph.INSTAGRAM_BASE_URL
    id_key: ClassVar[str] = "ig_user_id"
    exchange_grant: ClassVar[str] = "ig_exchange_token"
    #: set to False on an instance once the insights expansion has been refused
    _insights: bool = True
    oauth: ClassVar[OAuthSpec | None] = OAuthSpec(
        authorize_url="https://api.instagram.com/oauth/authorize",
        token_url="https://api.instagram.com/oauth/access_token",
        scopes=(
            "instagram_business_basic",
            "instagram_business_content_publish",
            "instagram_business_manage_insights",
        ),
        pkce=False,
        client_auth="body",
        scope_separator=",",
        docs="https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login",
    )

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post the image at public ``image_url`` with ``text`` as its caption.

        Checks the 24-hour publishing quota first (``RateLimitedError`` with the time a slot
        frees up when it is used up), then container → ``FINISHED`` → ``media_publish``.
        """
        if not image_url:
            raise RejectedError(
                "Instagram cannot publish text alone: every post needs an image",
                platform=self.platform,
                hint="give the post an image at a public https:// URL (JPEG), or skip Instagram",
            )
        node = await self._node()
        await self._check_quota(node)
        media_id = await graph_publish.create_and_publish(
            self._session,
            node=node,
            container_path="/media",
            container={"image_url": image_url, "caption": text},
            publish_path="/media_publish",
            status_field="status_code",
            detail_field="status",
        )
        return await self._published(media_id, url_field="permalink", time_field="timestamp")

    async def fetch_profile(self) -> ProfileCounts:
        """Followers, follows and media counts of the professional account."""
        return await self._read_node("fetch profile", _profile, PROFILE_FIELDS)

    # --- internals ------------------------------------------------------------------------

    def _authenticator(self, base_url: str, clock: Clock) -> Authenticator:
        if (httpx.URL(base_url).host or "").endswith("facebook.com"):
            return BearerAuth()  # Facebook Login: a Page token, which does not expire
        return graph_tokens.LongLivedTokenAuth(grant_type="ig_refresh_token", clock=clock)

    async def _discover_node(self) -> str:
        facebook = (httpx.URL(self._session.base_url).host or "").endswith("facebook.com")
        wanted = "instagram_business_account" if facebook else "user_id,username"
        node, _ = await self._session.get_json(
            "/me", self._session.call("find the account id"), _discovered, params={"fields": wanted}
        )
        logger.info("%s: no ig_user_id stored; /me says %s", self.platform, node)
        return node

    async def _check_quota(self, node: str) -> None:
        call = self._session.call("check the publishing limit")
        (used, total, seconds), _ = await self._session.get_json(
            f"/{node}/content_publishing_limit",
            call,
            _quota,
            params={"fields": "quota_usage,config"},
        )
        if used < total:
            return
        reset_at = await self._slot_frees_at(node, total, timedelta(seconds=seconds))
        raise RateLimitedError(
            f"the publishing limit of {total} posts per {seconds // 3600} hours is used up",
            platform=self.platform,
            reset_at=reset_at,
            status=None,
            hint=f"Instagram allows {total} API posts in any {seconds // 3600} hours; "
            f"brandkit will publish after {reset_at:%Y-%m-%d %H:%M} UTC",
        )

    async def _slot_frees_at(self, node: str, total: int, window: timedelta) -> datetime:
        """When the oldest post inside the moving window leaves it (at worst, a full window)."""
        now = self._session.clock.now()
        call = self._session.call("estimate when the publishing limit frees up")
        try:
            page, _ = await self._session.get_json(
                f"/{node}/media",
                call,
                lambda value: graph.parse_page(value, _media_stats),
                params={"fields": "id,timestamp", "limit": total},
            )
        except PlatformError:
            return now + window
        recent = [post.created_at for post in page.items if post.created_at > now - window]
        return min(recent) + window if recent else now + window

    async def _post_pages(
        self, call: http.Call, *, max_pages: int | None = None, counts: bool = True
    ) -> AsyncGenerator[list[PostStats], None]:
        node = await self._node()
        with_insights = counts and self._insights
        yielded = False
        try:
            async for page in self._media(node, call, with_insights, max_pages):
                yielded = True
                yield page
        except (TransientError, AuthExpiredError):
            raise
        except PlatformError as exc:
            if not with_insights or yielded:
                raise
            logger.warning(
                "%s: media insights refused (%s); reading counts only", self.platform, exc
            )
            self._insights = False
            async for page in self._media(node, call, False, max_pages):
                yield page

    def _media(
        self, node: str, call: http.Call, insights: bool, max_pages: int | None
    ) -> AsyncGenerator[list[PostStats], None]:
        wanted = f"{MEDIA_FIELDS},{INSIGHTS_FIELD}" if insights else MEDIA_FIELDS
        return graph.pages(
            self._session,
            f"/{node}/media",
            call,
            _media_stats,
            params={"fields": wanted, "limit": PAGE_SIZE},
            max_pages=max_pages,
        )
