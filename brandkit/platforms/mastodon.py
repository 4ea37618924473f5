"""Mastodon: publish a status, read the account's counts and its statuses' counters.

Documented API used (docs.joinmastodon.org):

- ``POST /api/v1/statuses`` (methods/statuses#create): form fields ``status`` and ``visibility``;
  the ``Idempotency-Key`` header makes the server answer a repeated POST (same key, within an
  hour) with the status it already created instead of creating a second one.
- ``GET /api/v1/accounts/verify_credentials`` (methods/accounts#verify_credentials): the
  CredentialAccount, i.e. the token's own account with its counts.
- ``GET /api/v1/accounts/:id/statuses`` (methods/accounts#statuses): newest first, ``limit``
  up to 40, paginated through the ``Link`` header; ``exclude_reblogs`` drops boosts.
- Rate limits (api/rate-limits): ``X-RateLimit-Limit/Remaining/Reset`` on every answer, the
  reset being an ISO 8601 timestamp.
- Errors (entities/Error): ``{"error": "..."}``, the HTTP status carrying the meaning.

Mastodon reports favourites, boosts, replies and (since 4.5) quotes per status; bookmarks and
impressions are private to the author's server, so they stay ``None``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import ClassVar, Final, TypeVar
from urllib.parse import quote

import httpx

from brandkit.errors import RejectedError
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession, ConnectorContext
from brandkit.platforms.base import (
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
)
from brandkit.platforms.fields import Shape
from brandkit.platforms.oauth import OAuthSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE: Final = 40  # the documented maximum for an account's statuses
FIND_POST_PAGES: Final = 2  # 80 statuses: far more than an account posts while one is unconfirmed
FIND_POST_SLACK: Final = timedelta(minutes=1)  # the server's clock may run behind ours

_BREAK_AFTER: Final = {
    **dict.fromkeys(("p", "div", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"), "\n\n"),
    **dict.fromkeys(("li", "ul", "ol"), "\n"),
}
_SKIP_CONTENT: Final = frozenset({"script", "style", "template"})
_TAG: Final = re.compile(r"<[^>]*>")
_FULL_MENTION: Final = re.compile(r"(?<![\w@])@(\w+)@[\w.-]+\w")


class _TextExtractor(HTMLParser):
    """Collects the text of Mastodon's status HTML, turning breaks and paragraphs into newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._pending = ""
        self._skipping = 0

    def _emit(self, text: str) -> None:
        if self._pending and self.parts:
            self.parts.append(self._pending)
        self._pending = ""
        self.parts.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_CONTENT:
            self._skipping += 1
        elif tag == "br":
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_CONTENT:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BREAK_AFTER and len(_BREAK_AFTER[tag]) > len(self._pending):
            self._pending = _BREAK_AFTER[tag]

    def handle_data(self, data: str) -> None:
        if data and not self._skipping:
            self._emit(data)


def html_to_text(html: str) -> str:
    """The plain text of a status's HTML ``content``.

    ``<br>`` becomes a newline and a paragraph end a blank line (which is how Mastodon renders
    what the author typed), entities are unescaped and every tag is dropped, so a linkified URL
    (split over invisible ``<span>``s) comes back whole and ``#tag`` stays ``#tag``. Never raises.
    """
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the stdlib parser is lenient; this is only a last resort
        return unescape(_TAG.sub("", html)).strip()
    return "".join(parser.parts).strip()


def comparable_text(text: str) -> str:
    """``text`` reduced to what survives Mastodon's rendering, for comparing posts.

    Whitespace runs collapse to one space, Unicode is NFC, and ``@user@domain`` becomes
    ``@user`` because Mastodon shows mentions by username only.
    """
    text = _FULL_MENTION.sub(r"@\1", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def _post_stats(value: object, *, with_text: bool = True) -> PostStats:
    """A Status entity as :class:`PostStats`; ``text`` only ``with_text`` (parsing the HTML is
    a third of a metrics sync's CPU, and only reconciliation compares texts)."""
    status = fields.mapping(value, "status")
    content = fields.opt_string(status, "content") or ""
    return PostStats(
        remote_id=fields.string(status, "id"),
        created_at=fields.timestamp(status, "created_at"),
        url=fields.opt_string(status, "url"),
        likes=fields.integer(status, "favourites_count"),
        reposts=fields.integer(status, "reblogs_count"),
        replies=fields.integer(status, "replies_count"),
        quotes=fields.opt_int(status, "quotes_count"),
        text=html_to_text(content) if with_text else None,
    )


def _profile_counts(value: object) -> ProfileCounts:
    """A CredentialAccount entity as :class:`ProfileCounts`."""
    account = fields.mapping(value, "account")
    return ProfileCounts(
        remote_id=fields.string(account, "id"),
        handle=fields.string(account, "acct"),
        followers=fields.integer(account, "followers_count"),
        following=fields.opt_int(account, "following_count"),
        posts_count=fields.opt_int(account, "statuses_count"),
    )


def _result(stats: PostStats) -> PublishResult:
    return PublishResult(remote_id=stats.remote_id, url=stats.url, published_at=stats.created_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MastodonConnector:
    """One Mastodon account, reached through an injected ``httpx.AsyncClient``.

    Each call makes one attempt; pagination makes one request per page. The access token is
    only ever put in the ``Authorization`` header and is kept out of ``repr`` and errors.
    """

    platform: ClassVar[str] = "mastodon"
    can_publish_text: ClassVar[bool] = True
    max_length: ClassVar[int] = 500
    metrics_fields: ClassVar[frozenset[str]] = frozenset({"likes", "reposts", "replies", "quotes"})
    supports_idempotency_key: ClassVar[bool] = True
    accepts_image_url: ClassVar[bool] = False
    default_base_url: ClassVar[str | None] = None  # every instance is its own server
    #: methods/oauth: /oauth/authorize takes PKCE (S256) since Mastodon 4.3; an app registered
    #: under Preferences > Development is confidential, so the token request sends its secret.
    oauth: ClassVar[OAuthSpec | None] = OAuthSpec(
        authorize_url="/oauth/authorize",
        token_url="/oauth/token",
        scopes=("read:accounts", "read:statuses", "write:statuses"),
        pkce=True,
        client_auth="body",
        docs="https://docs.joinmastodon.org/methods/oauth/",
    )

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            context=context,
        )
        self._account_id: str | None = None

    def __repr__(self) -> str:
        return f"MastodonConnector({self._session!r})"

    @property
    def last_rate_limit(self) -> RateLimit | None:
        return self._session.last_rate_limit

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post ``text`` publicly; the ``Idempotency-Key`` makes a resend within the hour harmless.

        Any failure after the request may have reached the server is ``OutcomeUnknownError``.
        Mastodon attaches only media uploaded to the instance first, not images by URL.
        """
        if image_url is not None:
            raise RejectedError(
                "Mastodon attaches uploaded media only, not an image by URL",
                platform=self.platform,
                hint="post the text alone on Mastodon, or attach the image on the instance",
            )
        call = self._call("publish", is_publish=True)
        response = await self._request(
            "POST",
            "/api/v1/statuses",
            call,
            data={"status": text, "visibility": "public"},
            headers={"Idempotency-Key": idempotency_key},
        )
        return _result(self._parse(response, _post_stats, call))

    async def fetch_profile(self) -> ProfileCounts:
        """The token's own account counts; remembers its id for the statuses calls."""
        call = self._call("fetch profile")
        response = await self._request("GET", "/api/v1/accounts/verify_credentials", call)
        profile = self._parse(response, _profile_counts, call)
        self._account_id = profile.remote_id
        return profile

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncIterator[PostStats]:
        """The account's statuses with their counters, newest first, across all pages.

        With ``since``, paging stops after the first page that reaches older posts: the endpoint
        orders by id, which follows creation time, so later pages hold nothing newer.
        """
        cutoff = _aware(since) if since is not None else None
        pages_of = self._status_pages(self._call("fetch post metrics"), with_text=False)
        async with aclosing(pages_of) as pages:
            async for page in pages:
                for stats in page:
                    if cutoff is None or stats.created_at >= cutoff:
                        yield stats
                if cutoff is not None and any(s.created_at < cutoff for s in page):
                    return

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The account's status with this ``text`` created since ``not_before``, if any.

        Mastodon cannot be asked "which status did Idempotency-Key K create?": the key only
        makes a repeated POST return the first status, and only for an hour. So reconciliation
        reads the account's latest statuses (at most two pages) and compares their plain text
        with ``text`` after :func:`comparable_text`, because Mastodon stores HTML with URLs and
        hashtags turned into links. ``idempotency_key`` is unused here for that reason.
        """
        wanted = comparable_text(text)
        threshold = _aware(not_before) - FIND_POST_SLACK
        async with aclosing(
            self._status_pages(self._call("find post"), max_pages=FIND_POST_PAGES)
        ) as pages:
            async for page in pages:
                for stats in page:
                    if stats.created_at < threshold:
                        return None
                    if comparable_text(stats.text or "") == wanted:
                        return _result(stats)
        return None

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""

    # --- internals ------------------------------------------------------------------------

    async def _account(self) -> str:
        if self._account_id is None:
            await self.fetch_profile()
        assert self._account_id is not None
        return self._account_id

    async def _status_pages(
        self, call: http.Call, *, max_pages: int | None = None, with_text: bool = True
    ) -> AsyncGenerator[list[PostStats], None]:
        """The account's statuses page by page, following ``Link: rel="next"`` to the end."""
        account = quote(await self._account(), safe="")
        url: str | httpx.URL = f"/api/v1/accounts/{account}/statuses"
        params: dict[str, str | int] | None = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        seen: set[str] = set()
        while max_pages is None or len(seen) < max_pages:
            response = await self._request("GET", url, call, params=params)
            seen.add(str(response.request.url))
            page = self._parse(response, _status_list if with_text else _counters_list, call)
            if not page:
                return
            yield page
            url = http.next_link(response, platform=self.platform) or ""
            if not url or str(url) in seen:
                return
            params = None  # the link already carries the query

    def _call(self, action: str, *, is_publish: bool = False) -> http.Call:
        return self._session.call(action, is_publish=is_publish)

    async def _request(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        call: http.Call,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request through the shared session (rate-limit waits, retries of safe failures)."""
        return await self._session.request(
            method, path_or_url, call, params=params, data=data, headers=headers
        )

    _parse = staticmethod(ApiSession.parse)


def _status_list(value: object) -> list[PostStats]:
    """An array of Status entities (boosts are already excluded by ``exclude_reblogs``)."""
    if not isinstance(value, list):
        raise Shape("expected a JSON array of statuses")
    return [_post_stats(item) for item in value]


def _counters_list(value: object) -> list[PostStats]:
    """:func:`_status_list` without the texts, for metrics."""
    if not isinstance(value, list):
        raise Shape("expected a JSON array of statuses")
    return [_post_stats(item, with_text=False) for item in value]
