"""Bluesky (AT Protocol): publish a post, read the account's counts and its posts' counters.

Documented API used (docs.bsky.app, lexicons in ``bluesky-social/atproto/lexicons``):

- ``POST /xrpc/com.atproto.server.createSession`` (docs/api/com-atproto-server-create-session):
  ``identifier`` + app ``password`` give ``accessJwt``, ``refreshJwt``, ``did`` and ``handle``.
- ``POST /xrpc/com.atproto.server.refreshSession`` (…-refresh-session): ``Authorization: Bearer
  <refreshJwt>`` gives a new pair; the old refresh token stops working (it rotates).
- ``GET /xrpc/com.atproto.server.getSession`` (…-get-session): the session's ``did`` and ``handle``.
- ``POST /xrpc/com.atproto.repo.createRecord`` (…-repo-create-record): ``repo``, ``collection``
  ``app.bsky.feed.post``, a client-chosen ``rkey`` and the ``record``; answers ``uri`` and ``cid``.
- ``GET /xrpc/com.atproto.repo.getRecord`` (…-repo-get-record): one record by ``rkey``; a missing
  one is HTTP 400 ``RecordNotFound``.
- ``GET /xrpc/com.atproto.identity.resolveHandle`` (…-identity-resolve-handle): handle → DID for
  mention facets (advanced-guides/post-richtext).
- ``GET /xrpc/app.bsky.actor.getProfile?actor=<did>`` (…-app-bsky-actor-get-profile):
  ``followersCount``, ``followsCount``, ``postsCount``.
- ``GET /xrpc/app.bsky.feed.getAuthorFeed`` (…-app-bsky-feed-get-author-feed): ``limit`` ≤ 100,
  ``cursor``, ``filter=posts_no_replies``; items carry a ``post`` (``app.bsky.feed.defs#postView``
  with ``likeCount``, ``repostCount``, ``replyCount``, ``quoteCount``, ``bookmarkCount``) and, for
  reposts and pins, a ``reason``.
- Rate limits (advanced-guides/rate-limits; ``@atproto/xrpc-server``): ``RateLimit-Limit``,
  ``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds) and ``RateLimit-Policy``
  (``<limit>;w=<seconds>``) on every answer, HTTP 429 ``RateLimitExceeded`` when exceeded.
- Errors: ``{"error": "<Name>", "message": "…"}``. An expired or unverifiable access token is
  **HTTP 400** ``ExpiredToken``/``InvalidToken``, not 401, so it is mapped here: the session is
  renewed and the request sent once more, which is safe because the server refused it unread.

**Session.** ``Credentials.token`` is the current ``accessJwt``; ``extra`` holds ``identifier``,
``app_password``, ``refresh_jwt``, ``did``, ``handle``, ``expires_at`` and
``refresh_expires_at`` (the JWTs' ``exp`` claims, read without verifying the signatures).
:class:`~brandkit.platforms.bluesky_session.AppPasswordAuth` renews it inside the shared
:class:`~brandkit.platforms.api.ApiSession` — ``refreshSession`` first, ``createSession`` with
the app password when the refresh token is refused too — and the session is saved through the
credential store, so processes reuse it instead of signing in each time (``createSession`` is
limited to 30 per 5 minutes per account). With only ``identifier`` and an app password (as
``app_password`` or as the token itself), the first request signs in.

**Idempotency.** The record key is a TID derived from the idempotency key
(:func:`~brandkit.platforms.bluesky_xrpc.record_key`), so a resend cannot create a second post:
the repository already holds that key. The reference PDS answers such a create with HTTP 500
today (atproto issue #3718; PR #4728 adds an explicit error), so after any failure that may mean
"it exists" the record is looked up by its key first.

**Layout.** This module is the connector: the steps of each operation. The session lives in
:mod:`~brandkit.platforms.bluesky_session`, the post text (length limits, facets, language) in
:mod:`~brandkit.platforms.bluesky_richtext`, and the protocol's shapes (record keys, answer
parsers, rate-limit headers, error bodies) in :mod:`~brandkit.platforms.bluesky_xrpc`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final

import httpx

from brandkit.errors import AuthExpiredError, PlatformError, RejectedError, TransientError
from brandkit.platforms import http, reconcile
from brandkit.platforms.api import ApiSession, ConnectorContext, SessionConnector
from brandkit.platforms.base import (
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
)
from brandkit.platforms.bluesky_richtext import (
    MAX_GRAPHEMES,
    build_facets,
    length_problem,
    mention_handles,
    post_languages,
)
from brandkit.platforms.bluesky_session import (
    REAUTH,
    AppPasswordAuth,
    credentials_from_secret,
    has_session,
)
from brandkit.platforms.bluesky_xrpc import (
    POST,
    TOKEN_ERRORS,
    feed_page,
    mapped_error,
    may_exist,
    profile_counts,
    read_limits,
    record_answer,
    record_key,
    string_field,
    timestamp,
    web_url,
    xrpc_error,
)

logger = logging.getLogger(__name__)

PAGE_SIZE: Final = 100  # the documented maximum of getAuthorFeed
FIND_POST_PAGES: Final = 1  # 100 posts: far more than an account posts while one is unconfirmed


class BlueskyConnector(SessionConnector):
    """One Bluesky account on its PDS (or the ``bsky.social`` entryway), through an injected
    ``httpx.AsyncClient``. Reads go to the same host, which proxies ``app.bsky.*`` to the AppView.
    """

    platform: ClassVar[str] = "bluesky"
    can_publish_text: ClassVar[bool] = True
    max_length: ClassVar[int] = MAX_GRAPHEMES
    metrics_fields: ClassVar[frozenset[str]] = frozenset(
        {"likes", "reposts", "replies", "quotes", "bookmarks"}
    )
    supports_idempotency_key: ClassVar[bool] = True  # the record key is derived from it
    accepts_image_url: ClassVar[bool] = False  # images are uploaded blobs, not fetched URLs
    default_base_url: ClassVar[str | None] = "https://bsky.social"

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        self._auth = AppPasswordAuth()
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            context=context,
            auth=self._auth,
            read_limits=read_limits,
        )

    @staticmethod
    def credentials_from_secret(secret: str, extra: Mapping[str, str]) -> Credentials:
        """The app password and ``identifier`` to store; see
        :func:`brandkit.platforms.bluesky_session.credentials_from_secret`."""
        return credentials_from_secret(secret, extra)

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Create an ``app.bsky.feed.post`` record under the key derived from ``idempotency_key``.

        A resend of the same key cannot create a second post; when the answer says (or may
        mean) that the record exists, it is looked up and returned as the published post.
        """
        if image_url is not None:
            raise RejectedError(
                "Bluesky embeds images uploaded as blobs, not an image by URL",
                platform=self.platform,
                hint="post the text alone on Bluesky, or attach the image in the Bluesky app",
            )
        if (problem := length_problem(text)) is not None:
            raise RejectedError(
                problem,
                platform=self.platform,
                hint="shorten the text, or split it into a thread",
            )
        did = await self._did()
        rkey = record_key(idempotency_key)
        created_at = self._session.clock.now()
        body = {
            "repo": did,
            "collection": POST,
            "rkey": rkey,
            "record": await self._post_record(text, created_at),
        }
        call = self._session.call("publish", is_publish=True)
        try:
            response = await self._request("POST", "com.atproto.repo.createRecord", call, json=body)
            uri = self._parse(response, string_field("uri", "createRecord answer"), call)
        except PlatformError as exc:
            if not may_exist(exc) or (found := await self._existing(did, rkey)) is None:
                raise
            logger.info("bluesky: record %s already existed; taking it as published", rkey)
            return found
        return PublishResult(remote_id=uri, url=self._web_url(uri), published_at=created_at)

    async def fetch_profile(self) -> ProfileCounts:
        """The account's follower, following and post counts (``app.bsky.actor.getProfile``)."""
        call = self._session.call("fetch profile")
        params = {"actor": await self._did()}
        response = await self._request("GET", "app.bsky.actor.getProfile", call, params=params)
        return self._parse(response, profile_counts, call)

    def fetch_post_metrics(self, *, since: datetime | None = None) -> AsyncIterator[PostStats]:
        """The account's posts (not replies, not reposts) with their counters, newest first.

        With ``since``, paging stops after the first page that reaches older posts.
        """
        pages = self._feed_pages(self._session.call("fetch post metrics"))
        return reconcile.newest_since(pages, since)

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The post published under ``idempotency_key``, if any.

        First the record itself, by the key derived from ``idempotency_key`` (the repository
        answers at once, before the AppView has indexed it); then, for a post sent some other
        way, the newest page of the author feed, compared by text since ``not_before`` (a
        pinned post may stand first in the feed, so an older post does not end the search).
        """
        call = self._session.call("find post")
        did = await self._did()
        found = await self._get_record(did, record_key(idempotency_key), call)
        if found is not None:
            return found
        return await reconcile.find_by_text(
            self._feed_pages(call, max_pages=FIND_POST_PAGES),
            text,
            not_before=not_before,
            result=reconcile.published,
            newest_first=False,
        )

    # --- internals ------------------------------------------------------------------------

    async def _did(self) -> str:
        """The account's DID, from the session (signing in first if there is none yet)."""
        if did := self._session.credentials.get("did"):
            return did
        call = self._session.call("read the session")
        response = await self._request("GET", "com.atproto.server.getSession", call)
        return self._parse(response, string_field("did", "getSession answer"), call)

    def _web_url(self, uri: str) -> str:
        credentials = self._session.credentials
        return web_url(credentials.get("handle") or credentials.get("did") or "", uri)

    async def _post_record(self, text: str, created_at: datetime) -> dict[str, Any]:
        """The ``app.bsky.feed.post`` record: text, time, languages and facets."""
        dids = {}
        for handle in mention_handles(text):
            if did := await self._resolve(handle):
                dids[handle] = did
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": timestamp(created_at)}
        if langs := post_languages(text):
            record["langs"] = langs
        if facets := build_facets(text, dids):
            record["facets"] = facets
        return record

    async def _resolve(self, handle: str) -> str | None:
        """The DID of ``handle``, or ``None`` when it does not resolve (the mention stays text).

        Any other failure is raised: nothing has been published yet, so it is safe to retry.
        """
        call = self._session.call("resolve a mentioned handle")
        try:
            response = await self._request(
                "GET", "com.atproto.identity.resolveHandle", call, params={"handle": handle}
            )
        except (AuthExpiredError, TransientError):
            raise
        except PlatformError as exc:
            if exc.status not in (400, 404):
                raise
            logger.info("bluesky: @%s does not resolve; it is posted as plain text", handle)
            return None
        return self._parse(response, string_field("did", "resolveHandle answer"), call)

    async def _get_record(self, did: str, rkey: str, call: http.Call) -> PublishResult | None:
        """The post record ``rkey`` of ``did`` as a :class:`PublishResult`, or ``None``."""
        params = {"repo": did, "collection": POST, "rkey": rkey}
        try:
            response = await self._request("GET", "com.atproto.repo.getRecord", call, params=params)
        except PlatformError as exc:
            name, message = xrpc_error(exc)
            missing = name == "RecordNotFound" or (message or "").startswith("Could not locate")
            if exc.status in (400, 404) and missing:
                return None
            raise
        uri, created = self._parse(response, record_answer, call)
        published = created or self._session.clock.now()
        return PublishResult(remote_id=uri, url=self._web_url(uri), published_at=published)

    async def _existing(self, did: str, rkey: str) -> PublishResult | None:
        """:meth:`_get_record` after a failed publish: any failure here means "not known"."""
        try:
            return await self._get_record(did, rkey, self._session.call("look for the post"))
        except PlatformError as exc:
            logger.info("bluesky: could not look for record %s: %s", rkey, exc)
            return None

    async def _feed_pages(
        self, call: http.Call, *, max_pages: int | None = None
    ) -> AsyncGenerator[list[PostStats], None]:
        """The account's author feed page by page, following ``cursor`` to the end."""
        did = await self._did()
        params: dict[str, str | int] = {
            "actor": did,
            "limit": PAGE_SIZE,
            "filter": "posts_no_replies",
        }
        seen: set[str] = set()
        pages = 0
        while max_pages is None or pages < max_pages:
            response = await self._request(
                "GET", "app.bsky.feed.getAuthorFeed", call, params=params
            )
            page, cursor, raw = self._parse(response, lambda d: feed_page(d, did), call)
            pages += 1
            if page:
                yield page
            if not raw or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = {**params, "cursor": cursor}

    async def _request(
        self,
        method: str,
        nsid: str,
        call: http.Call,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
    ) -> httpx.Response:
        """One XRPC call through the shared session, with Bluesky's own error names mapped.

        An HTTP 400 ``ExpiredToken``/``InvalidToken`` renews the session and sends once more
        (the server refused the request without acting on it, so a publish may be resent too).
        """
        credentials = self._session.credentials
        if not has_session(credentials) and not self._auth.can_refresh(credentials):
            raise AuthExpiredError(
                "no Bluesky session is stored, and no identifier and app password to sign in",
                platform=self.platform,
                hint=REAUTH + " --set identifier=<the account's handle>",
            )
        renewed = False
        while True:
            try:
                return await self._session.request(
                    method, f"/xrpc/{nsid}", call, params=params, json=json
                )
            except PlatformError as exc:
                name, message = xrpc_error(exc)
                token_refused = name in TOKEN_ERRORS and not isinstance(exc, AuthExpiredError)
                if (
                    token_refused
                    and not renewed
                    and self._auth.can_refresh(self._session.credentials)
                ):
                    self._auth.reject(self._session.credentials.token)
                    renewed = True
                    continue
                mapped = mapped_error(exc, name, message, self.last_rate_limit)
                if mapped is exc:
                    raise
                raise mapped from exc

    _parse = staticmethod(ApiSession.parse)
