"""The AT Protocol's wire shapes as the Bluesky connector sends and reads them.

Split out of :mod:`brandkit.platforms.bluesky` so the connector reads as the steps of each
operation while the details of the protocol live here: the TID record key derived from an
idempotency key (atproto.com/specs/tid), ``at://`` URIs turned into bsky.app addresses, atproto
datetimes, the parsers of ``getProfile``/``getAuthorFeed``/``getRecord`` answers, the
``RateLimit-*`` headers, and the ``{"error": "<Name>", "message": "…"}`` error bodies mapped onto
brandkit's exception tree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from brandkit.errors import AuthExpiredError, OutcomeUnknownError, PlatformError, RateLimitedError
from brandkit.platforms import fields, http
from brandkit.platforms.api import Scope
from brandkit.platforms.base import PostStats, ProfileCounts, RateLimit
from brandkit.platforms.bluesky_session import REAUTH

POST: Final = "app.bsky.feed.post"
TOKEN_ERRORS: Final = frozenset({"ExpiredToken", "InvalidToken"})
_EXISTS_ERRORS: Final = frozenset({"InvalidSwap", "RecordAlreadyExists", "RecordExists"})


# --- record keys and addresses -----------------------------------------------------------------

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


def timestamp(moment: datetime) -> str:
    """An atproto datetime: RFC 3339 UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- answers -----------------------------------------------------------------------------------


def profile_counts(value: object) -> ProfileCounts:
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


def feed_page(value: object, did: str) -> tuple[list[PostStats], str | None, int]:
    """A getAuthorFeed answer: the account's own posts, the next cursor, the raw item count."""
    answer = fields.mapping(value, "author feed")
    items = fields.array(answer.get("feed"), "feed")
    stats = [s for item in items if (s := _post_stats(item, did)) is not None]
    return stats, fields.opt_string(answer, "cursor"), len(items)


def string_field(name: str, what: str) -> Callable[[object], str]:
    """A parser for one required string field of a JSON object answer."""
    return lambda value: fields.string(fields.mapping(value, what), name)


def record_answer(value: object) -> tuple[str, datetime | None]:
    """A getRecord answer: the record's URI and its ``createdAt``."""
    answer = fields.mapping(value, "record answer")
    record = fields.mapping(answer.get("value"), "record value")
    return fields.string(answer, "uri"), http.parse_iso8601(record.get("createdAt"))


# --- rate limits and errors --------------------------------------------------------------------


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


def mapped_error(
    exc: PlatformError, name: str | None, message: str | None, last_rate_limit: RateLimit | None
) -> PlatformError:
    """``exc`` as the brandkit error Bluesky's error ``name`` means, saying its ``message``.

    ``last_rate_limit`` gives the reset time of a ``RateLimitExceeded`` that is not a 429.
    """
    said = f"{exc.reason}: {message}" if message and message not in exc.reason else exc.reason
    common: dict[str, Any] = {"platform": exc.platform, "status": exc.status, "body": exc.body}
    if name in TOKEN_ERRORS and not isinstance(exc, AuthExpiredError):
        return AuthExpiredError(said, hint=REAUTH, **common)
    if name == "RateLimitExceeded" and not isinstance(exc, RateLimitedError):
        limit = last_rate_limit
        return RateLimitedError(said, reset_at=limit.reset_at if limit else None, **common)
    if said == exc.reason:
        return exc
    if isinstance(exc, RateLimitedError):
        return RateLimitedError(said, reset_at=exc.reset_at, hint=exc.hint, **common)
    return type(exc)(said, hint=exc.hint, **common)


def may_exist(exc: PlatformError) -> bool:
    """Whether a failed create may mean the record is there: an unknown outcome, or the
    "already exists" answer a resend of the same record key gets."""
    if isinstance(exc, OutcomeUnknownError) or exc.status == 409:
        return True
    name, message = xrpc_error(exc)
    return name in _EXISTS_ERRORS or "already exist" in (message or "").lower()
