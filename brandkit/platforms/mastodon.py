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
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import ClassVar, Final, TypeVar
from urllib.parse import quote

import httpx

from brandkit.platforms import http
from brandkit.platforms.base import (
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
)

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


class _Shape(ValueError):
    """A field the Mastodon docs promise is missing or has the wrong type."""


def _str(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise _Shape(f"{key!r} is missing or not a string")
    return value


def _opt_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _opt_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(obj: Mapping[str, object], key: str) -> int:
    value = _opt_int(obj, key)
    if value is None:
        raise _Shape(f"{key!r} is missing or not an integer")
    return value


def _time(obj: Mapping[str, object], key: str) -> datetime:
    value = http.parse_iso8601(obj.get(key))
    if value is None:
        raise _Shape(f"{key!r} is missing or not an ISO 8601 datetime")
    return value


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Shape(f"{what} is not a JSON object")
    return value


def _post_stats(value: object) -> PostStats:
    """A Status entity as :class:`PostStats`."""
    status = _mapping(value, "status")
    return PostStats(
        remote_id=_str(status, "id"),
        created_at=_time(status, "created_at"),
        url=_opt_str(status, "url"),
        likes=_int(status, "favourites_count"),
        reposts=_int(status, "reblogs_count"),
        replies=_int(status, "replies_count"),
        quotes=_opt_int(status, "quotes_count"),
        text=html_to_text(_opt_str(status, "content") or ""),
    )


def _profile_counts(value: object) -> ProfileCounts:
    """A CredentialAccount entity as :class:`ProfileCounts`."""
    account = _mapping(value, "account")
    return ProfileCounts(
        remote_id=_str(account, "id"),
        handle=_str(account, "acct"),
        followers=_int(account, "followers_count"),
        following=_opt_int(account, "following_count"),
        posts_count=_opt_int(account, "statuses_count"),
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

    def __init__(
        self, *, client: httpx.AsyncClient, base_url: str, credentials: Credentials
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._account_id: str | None = None
        self.last_rate_limit: RateLimit | None = None

    def __repr__(self) -> str:
        return f"MastodonConnector(base_url={self._base_url!r}, credentials={self._credentials!r})"

    async def publish(self, text: str, *, idempotency_key: str) -> PublishResult:
        """Post ``text`` publicly; the ``Idempotency-Key`` makes a resend within the hour harmless.

        Any failure after the request may have reached the server is ``OutcomeUnknownError``.
        """
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
        async with aclosing(self._status_pages(self._call("fetch post metrics"))) as pages:
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
        self, call: http.Call, *, max_pages: int | None = None
    ) -> AsyncGenerator[list[PostStats], None]:
        """The account's statuses page by page, following ``Link: rel="next"`` to the end."""
        account = quote(await self._account(), safe="")
        url: str | httpx.URL = f"/api/v1/accounts/{account}/statuses"
        params: dict[str, str | int] | None = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        seen: set[str] = set()
        while max_pages is None or len(seen) < max_pages:
            response = await self._request("GET", url, call, params=params)
            seen.add(str(response.request.url))
            page = self._parse(response, _status_list, call)
            if not page:
                return
            yield page
            url = http.next_link(response, platform=self.platform) or ""
            if not url or str(url) in seen:
                return
            params = None  # the link already carries the query

    def _call(self, action: str, *, is_publish: bool = False) -> http.Call:
        return http.Call(self.platform, action, (self._credentials.token,), is_publish)

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
        """One request with the token; records rate limits, then raises for a failed status."""
        url = path_or_url if isinstance(path_or_url, httpx.URL) else self._base_url + path_or_url
        request = self._client.build_request(
            method,
            url,
            params=params,
            data=data,
            headers={
                "Authorization": f"Bearer {self._credentials.token}",
                "Accept": "application/json",
                **(headers or {}),
            },
        )
        response = await http.send(self._client, request, call)
        logger.debug("mastodon %s %s -> %s", method, request.url.path, response.status_code)
        limits = http.rate_limit_from_headers(response.headers)
        if limits is not None:
            self.last_rate_limit = limits
        http.raise_for_status(response, call, reset_at=limits.reset_at if limits else None)
        return response

    @staticmethod
    def _parse(response: httpx.Response, parse: Callable[[object], T], call: http.Call) -> T:
        """Decode the JSON body and read it with ``parse``; an unexpected shape is an error."""
        data = http.json_body(response, call)
        try:
            return parse(data)
        except _Shape as exc:
            raise http.malformed(response, str(exc), call) from exc


def _status_list(value: object) -> list[PostStats]:
    """An array of Status entities (boosts are already excluded by ``exclude_reblogs``)."""
    if not isinstance(value, list):
        raise _Shape("expected a JSON array of statuses")
    return [_post_stats(item) for item in value]
