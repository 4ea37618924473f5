"""The base class of the Threads, Instagram and Facebook Page connectors.

The three connectors differ in how they publish and how they list an account's posts, but not
in the rest: one :class:`~brandkit.platforms.api.ApiSession` wired with the Graph error codes
and usage headers of :mod:`brandkit.platforms.graph`, the account's node id (stored, else found
through ``/me``), reading metrics newest first with a ``since`` cut-off, and finding a post again
by its text for reconciliation (no Graph endpoint takes an idempotency key), and the
``finish_authorization`` of the two with 60-day user tokens. That part is here, once; each
connector module keeps only what is its own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import ClassVar, Final, TypeVar

import httpx

from brandkit.clock import Clock
from brandkit.errors import PlatformError
from brandkit.platforms import fields, graph_tokens, http, reconcile
from brandkit.platforms.api import (
    ApiSession,
    Authenticator,
    BearerAuth,
    ConnectorContext,
    SessionConnector,
)
from brandkit.platforms.base import Credentials, PostStats, PublishResult
from brandkit.platforms.graph import GraphErrors, object_id, read_usage

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIND_POST_PAGES: Final = 2  # 50 posts: far more than an account publishes while one is unconfirmed


class GraphConnector(SessionConnector):
    """What the three Meta connectors share: the session, the account's node id, reading posts.

    A subclass names its credential key for the node id (``id_key``), how to find the id when
    it is missing (:meth:`_discover_node`) and how to read its posts page by page, newest first
    (:meth:`_post_pages`); reading metrics and finding a post again are the same for all three.
    """

    platform: ClassVar[str]
    can_publish_text: ClassVar[bool] = True
    supports_idempotency_key: ClassVar[bool] = False  # no Graph endpoint takes one
    #: all three fetch an image from a public URL (Threads IMAGE, Instagram media, Page photos)
    accepts_image_url: ClassVar[bool] = True
    id_key: ClassVar[str]
    #: the ``grant_type`` that makes a login's short-lived token a 60-day one (Threads, Instagram)
    exchange_grant: ClassVar[str]

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        context = context or ConnectorContext()
        client_id = credentials.get("client_id")
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            context=context,
            auth=self._authenticator(base_url, context.clock),
            read_limits=read_usage,
            app_key=f"meta:app:{client_id}" if client_id else None,
            classify_error=GraphErrors(
                context.clock, reauthorise=f"re-authorise: brandkit auth {self.platform}"
            ),
        )
        self._node_id = credentials.get(self.id_key)

    @classmethod
    async def finish_authorization(
        cls,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        token_response: Mapping[str, object],
    ) -> Credentials:
        """After ``brandkit auth``: a 60-day token (``exchange_grant``), and the account id."""
        fresh = await graph_tokens.long_lived_after_login(
            cls.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            grant_type=cls.exchange_grant,
        )
        return fresh.with_updates(**{cls.id_key: graph_tokens.token_user_id(token_response)})

    def fetch_post_metrics(self, *, since: datetime | None = None) -> AsyncIterator[PostStats]:
        """The account's posts with their counters, newest first, across all pages.

        With ``since``, paging stops after the first page that reaches older posts: every edge
        used here lists newest first.
        """
        pages = self._post_pages(self._session.call("fetch post metrics"))
        return reconcile.newest_since(pages, since)

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The account's post with this ``text`` created since ``not_before``, if any.

        The Graph API takes no idempotency key, so reconciliation reads the latest posts (two
        pages at most) and compares their text after
        :func:`~brandkit.platforms.reconcile.comparable_text`.
        """
        call = self._session.call("find post")
        return await reconcile.find_by_text(
            self._post_pages(call, max_pages=FIND_POST_PAGES, counts=False),
            text,
            not_before=not_before,
            result=reconcile.published,
        )

    # --- for subclasses -----------------------------------------------------------------------

    def _authenticator(self, base_url: str, clock: Clock) -> Authenticator:
        """Page tokens do not expire; Threads and Instagram Login override this."""
        return BearerAuth()

    async def _node(self) -> str:
        """The account's node id from the credentials, else discovered once."""
        if self._node_id is None:
            self._node_id = await self._discover_node()
        return self._node_id

    async def _read_node(self, action: str, parse: Callable[[object], T], wanted: str) -> T:
        """``GET /{node}?fields=<wanted>`` of the account's own node, read with ``parse``."""
        node = await self._node()
        found, _ = await self._session.get_json(
            f"/{node}", self._session.call(action), parse, params={"fields": wanted}
        )
        return found

    async def _discover_node(self) -> str:
        """``GET /me?fields=id``: the token's own node (the Page for a Page token)."""
        call = self._session.call("find the account id")
        node, _ = await self._session.get_json("/me", call, object_id, params={"fields": "id"})
        logger.info("%s: no %s stored; using /me -> %s", self.platform, self.id_key, node)
        return node

    async def _published(self, remote_id: str, *, url_field: str, time_field: str) -> PublishResult:
        """The new post's link and time, read back; the post exists even if this read fails."""
        call = self._session.call("read the published post")
        try:
            (url, when), _ = await self._session.get_json(
                f"/{remote_id}",
                call,
                lambda value: _link_and_time(value, url_field, time_field),
                params={"fields": f"id,{url_field},{time_field}"},
            )
        except PlatformError as exc:
            logger.warning(
                "%s: published %s but could not read it back: %s", self.platform, remote_id, exc
            )
            return PublishResult(remote_id, None, self._session.clock.now())
        return PublishResult(remote_id, url, when)

    def _post_pages(
        self, call: http.Call, *, max_pages: int | None = None, counts: bool = True
    ) -> AsyncGenerator[list[PostStats], None]:
        """The account's posts page by page, newest first; ``counts=False`` may skip counters."""
        raise NotImplementedError


def _link_and_time(value: object, url_field: str, time_field: str) -> tuple[str | None, datetime]:
    body = fields.mapping(value, "post")
    return fields.opt_string(body, url_field), fields.timestamp(body, time_field)
