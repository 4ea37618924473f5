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
:class:`AppPasswordAuth` renews it inside the shared :class:`~brandkit.platforms.api.ApiSession`
— ``refreshSession`` first, ``createSession`` with the app password when the refresh token is
refused too — and the session is saved through the credential store, so processes reuse it
instead of signing in each time (``createSession`` is limited to 30 per 5 minutes per account).
With only ``identifier`` and an app password (as ``app_password`` or as the token itself), the
first request signs in.

**Idempotency.** The record key is a TID derived from the idempotency key (:func:`record_key`),
so a resend cannot create a second post: the repository already holds that key. The reference PDS
answers such a create with HTTP 500 today (atproto issue #3718; PR #4728 adds an explicit error),
so after any failure that may mean "it exists" the record is looked up by its key first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

import httpx
import regex

from brandkit.content.entities import find_urls, grapheme_count
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession, ConnectorContext, Scope
from brandkit.platforms.base import (
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
)

logger = logging.getLogger(__name__)

POST: Final = "app.bsky.feed.post"
PAGE_SIZE: Final = 100  # the documented maximum of getAuthorFeed
MAX_GRAPHEMES: Final = 300  # app.bsky.feed.post: text maxGraphemes
MAX_BYTES: Final = 3000  # … and maxLength (UTF-8 bytes)
FIND_POST_PAGES: Final = 1  # 100 posts: far more than an account posts while one is unconfirmed
FIND_POST_SLACK: Final = timedelta(minutes=1)
_TOKEN_ERRORS: Final = frozenset({"ExpiredToken", "InvalidToken"})
_EXISTS_ERRORS: Final = frozenset({"InvalidSwap", "RecordAlreadyExists", "RecordExists"})
_LONG_AGO: Final = datetime(1970, 1, 1, tzinfo=UTC)
_REAUTH: Final = (
    "create a new app password on Bluesky (Settings → Privacy and security → App passwords) "
    "and store it again: brandkit accounts reauth <account>"
)


# --- record keys -------------------------------------------------------------------------------

_B32: Final = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto.com/specs/tid)
_TID_BASE_US: Final = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z in microseconds
_TID_SPAN_US: Final = 1 << 44  # about 204 days, so every derived key is dated in 2023


def record_key(idempotency_key: str) -> str:
    """The post's record key: a TID (the key type ``app.bsky.feed.post`` declares) derived from
    ``idempotency_key``, so every resend of one variant names the same record.

    A TID is 64 bits — a zero bit, 53 bits of microseconds since 1970, a 10-bit clock id — in 13
    base32-sortable characters (atproto.com/specs/tid). The timestamp and clock id come from a
    SHA-256 of the key; the timestamp is kept in 2023 so a key is never dated in the future. The
    record's own ``createdAt`` carries the real time, which is what Bluesky shows and sorts by.
    """
    digest = hashlib.sha256(f"brandkit/bluesky/{idempotency_key}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    micros = _TID_BASE_US + (number >> 10) % _TID_SPAN_US
    value = (micros << 10) | (number & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _rkey_of(uri: str) -> str:
    """The record key at the end of an ``at://did/collection/rkey`` URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def web_url(actor: str, uri: str) -> str:
    """The bsky.app address of the post ``uri`` by ``actor`` (a handle, or the DID)."""
    return f"https://bsky.app/profile/{actor}/post/{_rkey_of(uri)}"


# --- the session -------------------------------------------------------------------------------


def jwt_expiry(token: str | None) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying its signature; ``None`` if unreadable.

    Only used to renew a session before the server refuses it: a wrong value costs one
    refused request (which renews the session anyway), never a security decision.
    """
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return fields.epoch(claims.get("exp")) if isinstance(claims, dict) else None


def _looks_like_jwt(token: str) -> bool:
    return token.startswith("eyJ") and token.count(".") == 2


def _has_session(credentials: Credentials) -> bool:
    """Whether the token is a session's access token (not the app password before sign-in)."""
    token = credentials.token
    if not token or token == credentials.get("app_password"):
        return False
    return bool(credentials.get("refresh_jwt")) or _looks_like_jwt(token)


def _app_password(credentials: Credentials) -> str | None:
    """The app password: stored as ``app_password``, or as the token before the first sign-in."""
    if stored := credentials.get("app_password"):
        return stored
    return None if _has_session(credentials) or not credentials.token else credentials.token


def _identifier(credentials: Credentials) -> str | None:
    return credentials.get("identifier") or credentials.get("handle")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def session_credentials(
    payload: Mapping[str, object], previous: Credentials, *, app_password: str | None
) -> Credentials:
    """Credentials from a ``createSession``/``refreshSession`` answer, keeping what still holds."""
    access = fields.string(payload, "accessJwt")
    refresh = fields.string(payload, "refreshJwt")
    return previous.with_updates(
        token=access,
        refresh_jwt=refresh,
        did=fields.string(payload, "did"),
        handle=fields.opt_string(payload, "handle") or previous.get("handle"),
        app_password=app_password,
        expires_at=_iso(jwt_expiry(access)),
        refresh_expires_at=_iso(jwt_expiry(refresh)),
    )


class AppPasswordAuth:
    """The :class:`~brandkit.platforms.api.Authenticator` of a Bluesky app-password session.

    Before the first sign-in (no ``refresh_jwt`` yet) nothing is put on requests and the session
    counts as expired, so :class:`ApiSession` signs in before sending. :meth:`reject` marks an
    access token the server refused with HTTP 400 ``ExpiredToken``; it then counts as expired,
    and the next request renews the session first.
    """

    def __init__(self) -> None:
        self._rejected: set[str] = set()

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        if not _has_session(credentials):
            return {}  # never the app password as a bearer token
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        if not _has_session(credentials) or credentials.token in self._rejected:
            return _LONG_AGO
        stored = http.parse_iso8601(credentials.get("expires_at"))
        return stored or jwt_expiry(credentials.token)

    def can_refresh(self, credentials: Credentials) -> bool:
        can_sign_in = bool(_identifier(credentials) and _app_password(credentials))
        return bool(credentials.get("refresh_jwt")) or can_sign_in

    def reject(self, token: str) -> None:
        """Treat ``token`` as expired from now on."""
        self._rejected.add(token)

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        """``refreshSession``; when the refresh token is refused too, ``createSession``.

        A refresh that fails for another reason (a 5xx, a 429) is raised as it is: signing in
        again would spend the much scarcer ``createSession`` allowance on an outage.
        """
        refresh_jwt = credentials.get("refresh_jwt")
        refresh_expires = http.parse_iso8601(credentials.get("refresh_expires_at"))
        if refresh_jwt and (refresh_expires is None or refresh_expires > session.clock.now()):
            try:
                return await self._refresh_session(session, credentials, refresh_jwt)
            except AuthExpiredError:
                if not (_identifier(credentials) and _app_password(credentials)):
                    raise
                logger.info("bluesky: the refresh token was refused; signing in again")
        return await self._create_session(session, credentials)

    async def _refresh_session(
        self, session: ApiSession, credentials: Credentials, refresh_jwt: str
    ) -> Credentials:
        action = "renew the Bluesky session"
        response = await session.send_unauthenticated(
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            action,
            headers={"Authorization": f"Bearer {refresh_jwt}"},
            extra_secrets=(refresh_jwt,),
        )
        call = http.Call(session.platform, action, (refresh_jwt,))
        payload = session.parse(response, lambda d: fields.mapping(d, "session"), call)
        return session_credentials(payload, credentials, app_password=_app_password(credentials))

    async def _create_session(self, session: ApiSession, credentials: Credentials) -> Credentials:
        action = "sign in to Bluesky with the app password"
        identifier, password = _identifier(credentials), _app_password(credentials)
        if not identifier or not password:
            raise AuthExpiredError(
                "the Bluesky session expired and no identifier and app password are stored "
                "to start a new one",
                platform=session.platform,
                hint=_REAUTH,
            )
        try:
            response = await session.send_unauthenticated(
                "POST",
                "/xrpc/com.atproto.server.createSession",
                action,
                json={"identifier": identifier, "password": password},
                extra_secrets=(password,),
            )
        except AuthExpiredError as exc:
            raise AuthExpiredError(
                exc.reason, platform=exc.platform, status=exc.status, body=exc.body, hint=_REAUTH
            ) from exc
        call = http.Call(session.platform, action, (password,))
        payload = session.parse(response, lambda d: fields.mapping(d, "session"), call)
        return session_credentials(payload, credentials, app_password=password)


def read_limits(headers: httpx.Headers, now: datetime) -> list[tuple[Scope, RateLimit]]:
    """``RateLimit-*`` with an epoch-seconds reset, for the account's bucket."""
    found = http.rate_limit_from_headers(headers, prefix="ratelimit-", parse_reset=fields.epoch)
    return [("account", found)] if found else []


def xrpc_error(exc: PlatformError) -> tuple[str | None, str | None]:
    """The ``error`` name and ``message`` of an XRPC error body (already redacted)."""
    try:
        data = json.loads(exc.body or "")
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    name, message = data.get("error"), data.get("message")
    return (
        name if isinstance(name, str) and name else None,
        message if isinstance(message, str) and message else None,
    )


# --- rich text ---------------------------------------------------------------------------------

# atproto.com/specs/handle, found only at the start, after whitespace or "(" as the official
# RichText detection does (packages/api/src/rich-text/util.ts MENTION_REGEX)
_MENTION: Final = re.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?![a-zA-Z0-9-]|\.[a-zA-Z0-9])"
)
_NO_HANDLE_TLDS: Final = frozenset(
    {"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"}
)
# the official TAG_REGEX (same file): after start or whitespace, not all digits or punctuation
_INVISIBLE: Final = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG: Final = regex.compile(
    rf"(^|\s)[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^0-9\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)?"
)
_TRAILING_PUNCTUATION: Final = regex.compile(r"\p{P}+$")
_KANA_OR_HAN: Final = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]"
)
_LATIN: Final = re.compile("[A-Za-z]")

Span = tuple[int, int, int, dict[str, str]]  # start, end (str indexes), priority, feature


def _mention_spans(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).lower()
        if len(handle) <= 253 and handle.rsplit(".", 1)[-1] not in _NO_HANDLE_TLDS:
            found.append((match.start(), match.end(), handle))
    return found


def mention_handles(text: str) -> list[str]:
    """The handles ``text`` mentions, in order, each once (to resolve to DIDs)."""
    return list(dict.fromkeys(handle for _, _, handle in _mention_spans(text)))


def _tag_spans(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", (match.group(2) or "").strip())
        if tag and grapheme_count(tag) <= 64 and len(tag.encode()) <= 640:
            start = match.start() + len(match.group(1))
            found.append((start, start + 1 + len(tag), tag))
    return found


def _spans(text: str, dids: Mapping[str, str]) -> list[Span]:
    spans: list[Span] = []
    for start, end in find_urls(text):
        uri = text[start:end]
        if not uri.lower().startswith(("http://", "https://")):
            uri = "https://" + uri
        spans.append((start, end, 0, {"$type": "app.bsky.richtext.facet#link", "uri": uri}))
    for start, end, handle in _mention_spans(text):
        if did := dids.get(handle):
            spans.append((start, end, 1, {"$type": "app.bsky.richtext.facet#mention", "did": did}))
    for start, end, tag in _tag_spans(text):
        spans.append((start, end, 2, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    return sorted(spans, key=lambda s: (s[0], s[2]))


def build_facets(text: str, dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects for the links, mentions and hashtags of ``text``.

    Offsets are UTF-8 byte offsets, start inclusive, end exclusive (advanced-guides/post-richtext).
    Links are found as :func:`brandkit.content.entities.find_urls` finds them (a bare domain gets
    ``https://``), which also links a URL written straight after Japanese text; mentions and
    hashtags follow the official RichText rules, and a mention whose handle is not in ``dids``
    (it did not resolve) stays plain text. Facets may not overlap, so a later one that would is
    dropped, links winning over mentions over tags.
    """
    spans = _spans(text, dids)
    if not spans:
        return []
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8", "surrogatepass")))
    facets: list[dict[str, Any]] = []
    taken = 0
    for start, end, _, feature in spans:
        if start < taken:
            continue
        taken = end
        facets.append(
            {
                "index": {"byteStart": offsets[start], "byteEnd": offsets[end]},
                "features": [feature],
            }
        )
    return facets


def _entity_ranges(text: str) -> list[tuple[int, int]]:
    """Where the links, mention-like handles and hashtags of ``text`` are."""
    mentions = [(start, end) for start, end, _ in _mention_spans(text)]
    tags = [(start, end) for start, end, _ in _tag_spans(text)]
    return sorted([*find_urls(text), *mentions, *tags])


def post_languages(text: str) -> list[str]:
    """A rough ``langs`` value: ``["ja"]`` with kana or kanji, ``["en"]`` with Latin letters.

    Links, mentions and hashtags are left out first, so a Japanese post with an English URL is
    still Japanese; text with neither (only emoji) gets no language.
    """
    prose, at = [], 0
    for start, end in _entity_ranges(text):
        prose.append(text[at:start])
        at = max(at, end)
    prose.append(text[at:])
    words = " ".join(prose)
    if _KANA_OR_HAN.search(words):
        return ["ja"]
    return ["en"] if _LATIN.search(words) else []


def comparable_text(text: str) -> str:
    """``text`` with Unicode NFC and whitespace runs as one space, for comparing posts."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# --- answers -----------------------------------------------------------------------------------


def _profile_counts(value: object) -> ProfileCounts:
    """An ``app.bsky.actor.defs#profileViewDetailed`` as :class:`ProfileCounts`."""
    profile = fields.mapping(value, "profile")
    return ProfileCounts(
        remote_id=fields.string(profile, "did"),
        handle=fields.string(profile, "handle"),
        followers=fields.integer(profile, "followersCount"),
        following=fields.opt_int(profile, "followsCount"),
        posts_count=fields.opt_int(profile, "postsCount"),
    )


def _post_stats(value: object, did: str) -> PostStats | None:
    """One ``feedViewPost`` as :class:`PostStats`; ``None`` for a repost or a pin (``reason``)
    and for anyone else's post."""
    item = fields.mapping(value, "feed item")
    if item.get("reason") is not None:
        return None
    post = fields.mapping(item.get("post"), "post")
    author = fields.mapping(post.get("author"), "post author")
    if fields.string(author, "did") != did:
        return None
    record = fields.mapping(post.get("record"), "post record")
    uri = fields.string(post, "uri")
    handle = fields.opt_string(author, "handle")
    created = http.parse_iso8601(record.get("createdAt")) or fields.timestamp(post, "indexedAt")
    return PostStats(
        remote_id=uri,
        created_at=created,
        url=web_url(handle if handle and handle != "handle.invalid" else did, uri),
        likes=fields.opt_int(post, "likeCount"),
        reposts=fields.opt_int(post, "repostCount"),
        replies=fields.opt_int(post, "replyCount"),
        quotes=fields.opt_int(post, "quoteCount"),
        bookmarks=fields.opt_int(post, "bookmarkCount"),
        text=fields.opt_string(record, "text"),
    )


def _feed_page(value: object, did: str) -> tuple[list[PostStats], str | None, int]:
    """A getAuthorFeed answer: the account's own posts, the next cursor, the raw item count."""
    answer = fields.mapping(value, "author feed")
    items = fields.array(answer.get("feed"), "feed")
    stats = [s for item in items if (s := _post_stats(item, did)) is not None]
    return stats, fields.opt_string(answer, "cursor"), len(items)


def _field(name: str, what: str) -> Callable[[object], str]:
    """A parser for one required string field of a JSON object answer."""
    return lambda value: fields.string(fields.mapping(value, what), name)


def _record(value: object) -> tuple[str, datetime | None]:
    """A getRecord answer: the record's URI and its ``createdAt``."""
    answer = fields.mapping(value, "record answer")
    record = fields.mapping(answer.get("value"), "record value")
    return fields.string(answer, "uri"), http.parse_iso8601(record.get("createdAt"))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timestamp(moment: datetime) -> str:
    """An atproto datetime: RFC 3339 UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the connector -----------------------------------------------------------------------------


class BlueskyConnector:
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

    def __repr__(self) -> str:
        return f"BlueskyConnector({self._session!r})"

    @staticmethod
    def credentials_from_secret(secret: str, extra: Mapping[str, str]) -> Credentials:
        """What ``brandkit accounts add bluesky`` (and ``reauth``) store: the app password,
        given as the secret, and ``identifier`` (the handle, from ``--set identifier=…``).

        No session yet: the first request signs in and saves one. A session left over from an
        older app password is dropped; ``did`` and ``handle`` are kept.
        """
        identifier = extra.get("identifier") or extra.get("handle")
        if not identifier:
            raise ValueError(
                "Bluesky signs in with the account's handle: add --set identifier=<handle>, "
                "e.g. --set identifier=dr-sato.bsky.social"
            )
        if _looks_like_jwt(secret):
            raise ValueError(
                "this looks like a session token; give an app password (xxxx-xxxx-xxxx-xxxx) "
                "from Settings → Privacy and security → App passwords"
            )
        kept = {key: extra[key] for key in ("did", "handle") if extra.get(key)}
        return Credentials(
            token=secret, extra={**kept, "identifier": identifier, "app_password": secret}
        )

    @property
    def last_rate_limit(self) -> RateLimit | None:
        return self._session.last_rate_limit

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
        if grapheme_count(text) > MAX_GRAPHEMES or len(text.encode()) > MAX_BYTES:
            raise RejectedError(
                f"the post has {grapheme_count(text)} characters (graphemes) and "
                f"{len(text.encode())} bytes; Bluesky allows {MAX_GRAPHEMES} and {MAX_BYTES}",
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
        call = self._call("publish", is_publish=True)
        try:
            response = await self._request("POST", "com.atproto.repo.createRecord", call, json=body)
            uri = self._parse(response, _field("uri", "createRecord answer"), call)
        except PlatformError as exc:
            if not _may_exist(exc) or (found := await self._existing(did, rkey)) is None:
                raise
            logger.info("bluesky: record %s already existed; taking it as published", rkey)
            return found
        return PublishResult(remote_id=uri, url=self._web_url(uri), published_at=created_at)

    async def fetch_profile(self) -> ProfileCounts:
        """The account's follower, following and post counts (``app.bsky.actor.getProfile``)."""
        call = self._call("fetch profile")
        params = {"actor": await self._did()}
        response = await self._request("GET", "app.bsky.actor.getProfile", call, params=params)
        return self._parse(response, _profile_counts, call)

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncIterator[PostStats]:
        """The account's posts (not replies, not reposts) with their counters, newest first.

        With ``since``, paging stops after the first page that reaches older posts.
        """
        cutoff = _aware(since) if since is not None else None
        async with aclosing(self._feed_pages(self._call("fetch post metrics"))) as pages:
            async for page in pages:
                for stats in page:
                    if cutoff is None or stats.created_at >= cutoff:
                        yield stats
                if cutoff is not None and any(s.created_at < cutoff for s in page):
                    return

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The post published under ``idempotency_key``, if any.

        First the record itself, by the key derived from ``idempotency_key`` (the repository
        answers at once, before the AppView has indexed it); then, for a post sent some other
        way, the newest page of the author feed, compared by text since ``not_before``.
        """
        call = self._call("find post")
        did = await self._did()
        found = await self._get_record(did, record_key(idempotency_key), call)
        if found is not None:
            return found
        wanted = comparable_text(text)
        threshold = _aware(not_before) - FIND_POST_SLACK
        async with aclosing(self._feed_pages(call, max_pages=FIND_POST_PAGES)) as pages:
            async for page in pages:
                for stats in page:
                    if (
                        stats.created_at >= threshold
                        and comparable_text(stats.text or "") == wanted
                    ):
                        return PublishResult(stats.remote_id, stats.url, stats.created_at)
        return None

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""

    # --- internals ------------------------------------------------------------------------

    async def _did(self) -> str:
        """The account's DID, from the session (signing in first if there is none yet)."""
        if did := self._session.credentials.get("did"):
            return did
        call = self._call("read the session")
        response = await self._request("GET", "com.atproto.server.getSession", call)
        return self._parse(response, _field("did", "getSession answer"), call)

    def _web_url(self, uri: str) -> str:
        credentials = self._session.credentials
        return web_url(credentials.get("handle") or credentials.get("did") or "", uri)

    async def _post_record(self, text: str, created_at: datetime) -> dict[str, Any]:
        """The ``app.bsky.feed.post`` record: text, time, languages and facets."""
        dids = {}
        for handle in mention_handles(text):
            if did := await self._resolve(handle):
                dids[handle] = did
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _timestamp(created_at)}
        if langs := post_languages(text):
            record["langs"] = langs
        if facets := build_facets(text, dids):
            record["facets"] = facets
        return record

    async def _resolve(self, handle: str) -> str | None:
        """The DID of ``handle``, or ``None`` when it does not resolve (the mention stays text).

        Any other failure is raised: nothing has been published yet, so it is safe to retry.
        """
        call = self._call("resolve a mentioned handle")
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
        return self._parse(response, _field("did", "resolveHandle answer"), call)

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
        uri, created = self._parse(response, _record, call)
        published = created or self._session.clock.now()
        return PublishResult(remote_id=uri, url=self._web_url(uri), published_at=published)

    async def _existing(self, did: str, rkey: str) -> PublishResult | None:
        """:meth:`_get_record` after a failed publish: any failure here means "not known"."""
        try:
            return await self._get_record(did, rkey, self._call("look for the post"))
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
            page, cursor, raw = self._parse(response, lambda d: _feed_page(d, did), call)
            pages += 1
            if page:
                yield page
            if not raw or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = {**params, "cursor": cursor}

    def _call(self, action: str, *, is_publish: bool = False) -> http.Call:
        return self._session.call(action, is_publish=is_publish)

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
        if not _has_session(credentials) and not self._auth.can_refresh(credentials):
            raise AuthExpiredError(
                "no Bluesky session is stored, and no identifier and app password to sign in",
                platform=self.platform,
                hint=_REAUTH + " --set identifier=<the account's handle>",
            )
        renewed = False
        while True:
            try:
                return await self._session.request(
                    method, f"/xrpc/{nsid}", call, params=params, json=json
                )
            except PlatformError as exc:
                name, message = xrpc_error(exc)
                token_refused = name in _TOKEN_ERRORS and not isinstance(exc, AuthExpiredError)
                if (
                    token_refused
                    and not renewed
                    and self._auth.can_refresh(self._session.credentials)
                ):
                    self._auth.reject(self._session.credentials.token)
                    renewed = True
                    continue
                mapped = self._mapped(exc, name, message)
                if mapped is exc:
                    raise
                raise mapped from exc

    def _mapped(self, exc: PlatformError, name: str | None, message: str | None) -> PlatformError:
        """``exc`` as the brandkit error Bluesky's error ``name`` means, saying its ``message``."""
        said = f"{exc.reason}: {message}" if message and message not in exc.reason else exc.reason
        common: dict[str, Any] = {"platform": exc.platform, "status": exc.status, "body": exc.body}
        if name in _TOKEN_ERRORS and not isinstance(exc, AuthExpiredError):
            return AuthExpiredError(said, hint=_REAUTH, **common)
        if name == "RateLimitExceeded" and not isinstance(exc, RateLimitedError):
            limit = self.last_rate_limit
            return RateLimitedError(said, reset_at=limit.reset_at if limit else None, **common)
        if said == exc.reason:
            return exc
        if isinstance(exc, RateLimitedError):
            return RateLimitedError(said, reset_at=exc.reset_at, hint=exc.hint, **common)
        return type(exc)(said, hint=exc.hint, **common)

    _parse = staticmethod(ApiSession.parse)


def _may_exist(exc: PlatformError) -> bool:
    """Whether a failed create may mean the record is there: an unknown outcome, or the
    "already exists" answer a resend of the same record key gets."""
    if isinstance(exc, OutcomeUnknownError) or exc.status == 409:
        return True
    name, message = xrpc_error(exc)
    return name in _EXISTS_ERRORS or "already exist" in (message or "").lower()
