"""Threads: publish a text post, read the follower count and each post's insights.

Documented API used (developers.facebook.com/docs/threads, host ``graph.threads.net``, v1.0;
``graph.threads.com`` serves the same API):

- ``POST /{threads-user-id}/threads`` (threads/posts): a media container, ``media_type=TEXT``
  with ``text`` (or ``IMAGE`` with a public ``image_url``) → ``{"id": <container id>}``.
- ``GET /{container-id}?fields=id,status,error_message`` (threads/reference/publishing):
  ``IN_PROGRESS``, ``FINISHED``, ``PUBLISHED``, ``ERROR`` or ``EXPIRED``.
- ``POST /{threads-user-id}/threads_publish`` with ``creation_id`` → ``{"id": <media id>}``.
- ``GET /{threads-media-id}?fields=id,permalink,timestamp`` (threads/retrieve-and-discover-posts/
  retrieve-posts): the new post's link and time.
- ``GET /{threads-user-id}?fields=id,username`` (threads/threads-profiles) and
  ``GET /{threads-user-id}/threads_insights?metric=followers_count`` (threads/insights): the
  profile has no counters; the follower count is a user insight (``total_value.value``).
- ``GET /{threads-user-id}/threads?fields=id,text,timestamp,permalink,media_type`` with
  ``limit``/``after`` cursors: the user's posts, newest first; ``REPOST_FACADE`` entries are
  other people's posts reposted and are skipped.
- ``GET /{threads-media-id}/insights?metric=views,likes,replies,reposts,quotes``: one request per
  post (the docs offer no batch form), run a few at a time.
- ``GET /refresh_access_token?grant_type=th_refresh_token`` (threads/get-started/
  long-lived-tokens): 60-day tokens, renewed a week before they expire.

Limits (threads/overview): 500 characters per post, 250 API-published posts per 24 hours, and
calls counted per app-and-user pair (4800 × impressions per 24 hours). The API takes no
idempotency key: :meth:`ThreadsConnector.find_post` compares the text of the latest posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final

from brandkit.clock import Clock
from brandkit.platforms import fields, graph, graph_publish, graph_tokens, http
from brandkit.platforms.api import Authenticator
from brandkit.platforms.base import PostStats, ProfileCounts, PublishResult
from brandkit.platforms.graph_connector import GraphConnector
from brandkit.platforms.oauth import OAuthSpec

PAGE_SIZE: Final = 25
POST_FIELDS: Final = "id,text,timestamp,permalink,media_type"
POST_METRICS: Final = "views,likes,replies,reposts,quotes"
INSIGHTS_AT_ONCE: Final = 4  # per-post insight requests in flight for one account


@dataclass(frozen=True, slots=True)
class _Thread:
    remote_id: str
    created_at: datetime
    url: str | None
    text: str | None
    media_type: str | None


def _thread(value: object) -> _Thread:
    post = fields.mapping(value, "thread")
    return _Thread(
        remote_id=fields.string(post, "id"),
        created_at=fields.timestamp(post, "timestamp"),
        url=fields.opt_string(post, "permalink"),
        text=fields.opt_string(post, "text"),
        media_type=fields.opt_string(post, "media_type"),
    )


def _profile(value: object) -> tuple[str, str]:
    user = fields.mapping(value, "Threads user")
    return fields.string(user, "id"), fields.string(user, "username")


def _followers(value: object) -> int:
    found = graph.insight_values(value).get("followers_count")
    if found is None:
        raise fields.Shape("'followers_count' is missing from the user insights")
    return found


class ThreadsConnector(GraphConnector):
    """One Threads profile, through a long-lived user token with the ``threads_*`` permissions.

    ``extra["user_id"]`` is the Threads user id; without it the connector asks ``/me``.
    """

    platform: ClassVar[str] = "threads"
    max_length: ClassVar[int] = 500
    metrics_fields: ClassVar[frozenset[str]] = frozenset(
        {"likes", "replies", "reposts", "quotes", "impressions"}
    )
    default_base_url: ClassVar[str | None] = graph.THREADS_BASE_URL
    id_key: ClassVar[str] = "user_id"
    exchange_grant: ClassVar[str] = "th_exchange_token"
    oauth: ClassVar[OAuthSpec | None] = OAuthSpec(
        authorize_url="https://threads.com/oauth/authorize",
        token_url="https://graph.threads.net/oauth/access_token",
        scopes=("threads_basic", "threads_content_publish", "threads_manage_insights"),
        pkce=False,
        client_auth="body",
        scope_separator=",",
        docs="https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions",
    )

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Create a TEXT (or IMAGE) container, wait until it is ready, publish it once.

        Only ``threads_publish`` can leave an unknown outcome (``OutcomeUnknownError``); the
        publisher then calls :meth:`find_post`, which reads the user's threads.
        """
        node = await self._node()
        container = (
            {"media_type": "IMAGE", "image_url": image_url, "text": text}
            if image_url
            else {"media_type": "TEXT", "text": text}
        )
        media_id = await graph_publish.create_and_publish(
            self._session,
            node=node,
            container_path="/threads",
            container=container,
            publish_path="/threads_publish",
            status_field="status",
            detail_field="error_message",
        )
        return await self._published(media_id, url_field="permalink", time_field="timestamp")

    async def fetch_profile(self) -> ProfileCounts:
        """Username from the profile, followers from the ``followers_count`` user insight.

        Threads reports neither a following count nor a post count.
        """
        call = self._session.call("fetch profile")
        (node, handle), _ = await self._session.get_json(
            f"/{self._node_id or 'me'}", call, _profile, params={"fields": "id,username"}
        )
        self._node_id = node
        followers, _ = await self._session.get_json(
            f"/{node}/threads_insights", call, _followers, params={"metric": "followers_count"}
        )
        return ProfileCounts(
            remote_id=node, handle=handle, followers=followers, following=None, posts_count=None
        )

    # --- internals ------------------------------------------------------------------------

    def _authenticator(self, base_url: str, clock: Clock) -> Authenticator:
        return graph_tokens.LongLivedTokenAuth(grant_type="th_refresh_token", clock=clock)

    async def _discover_node(self) -> str:
        call = self._session.call("find the account id")
        (node, _), _ = await self._session.get_json(
            "/me", call, _profile, params={"fields": "id,username"}
        )
        return node

    async def _post_pages(
        self, call: http.Call, *, max_pages: int | None = None, counts: bool = True
    ) -> AsyncGenerator[list[PostStats], None]:
        node = await self._node()
        gate = asyncio.Semaphore(INSIGHTS_AT_ONCE)
        async for page in graph.pages(
            self._session,
            f"/{node}/threads",
            call,
            _thread,
            params={"fields": POST_FIELDS, "limit": PAGE_SIZE},
            max_pages=max_pages,
            cursor_without_next=True,  # the documented list answers show cursors only
        ):
            own = [post for post in page if post.media_type != "REPOST_FACADE"]
            yield await self._with_insights(own, gate) if counts else list(map(_bare, own))

    async def _with_insights(
        self, posts: list[_Thread], gate: asyncio.Semaphore
    ) -> list[PostStats]:
        """Each post with its insights; the first failure cancels the others and is raised."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._stats(post, gate)) for post in posts]
        except ExceptionGroup as failed:
            first = failed.exceptions[0]
            raise first from first.__cause__  # keep the error's own cause, not the group
        return [task.result() for task in tasks]

    async def _stats(self, post: _Thread, gate: asyncio.Semaphore) -> PostStats:
        """One post with its lifetime insights (``views`` is reported as impressions)."""
        async with gate:
            values, _ = await self._session.get_json(
                f"/{post.remote_id}/insights",
                self._session.call("fetch post insights"),
                graph.insight_values,
                params={"metric": POST_METRICS},
            )
        return PostStats(
            remote_id=post.remote_id,
            created_at=post.created_at,
            url=post.url,
            likes=values.get("likes"),
            reposts=values.get("reposts"),
            replies=values.get("replies"),
            quotes=values.get("quotes"),
            impressions=values.get("views"),
            text=post.text,
        )


def _bare(post: _Thread) -> PostStats:
    return PostStats(post.remote_id, post.created_at, post.url, text=post.text)
