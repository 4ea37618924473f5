"""HTTP behaviour every connector shares: one attempt per call, failures mapped to brandkit errors.

A connector builds an ``httpx.Request``, passes it to :func:`send`, records the rate-limit
headers, then calls :func:`raise_for_status` and :func:`json_body`. The one question that decides
how a failure is classified is *could the platform have acted on the request?*

- the connection was never made (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``): nothing
  reached the server, so it is a :class:`~brandkit.errors.TransientError`, even for a publish;
- the request may have been received (a read timed out, the connection dropped mid-answer, a 5xx
  or an unreadable 2xx came back): harmless for a read (``TransientError``), but for a publish
  the post may exist, so it is an :class:`~brandkit.errors.OutcomeUnknownError` and the publisher
  reconciles instead of sending again.

Retries are deliberately absent: the publisher and the metrics worker own retry policy, and a
retry hidden here would turn one unknown outcome into several.

Nothing raised from here contains a credential: bodies and messages pass through :func:`redact`
and are cut to :data:`BODY_LIMIT` characters *after* redaction, so half a token cannot survive.
Nor does a log line: importing this module filters httpx's request log lines through the same
patterns (:func:`install_log_redaction`), since httpx logs each URL, query string included.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms.base import RateLimit

REDACTED: Final = "***"
BODY_LIMIT: Final = 500

# Failures raised before a single byte of the request left this machine.
_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Credentials that may sit in text we did not write (echoed headers, URLs in messages, httpx's
# request log line): bearer headers, token and secret query parameters, and an OAuth ``code``
# (only as a query parameter, so a message's "status code=400" survives).
_CREDENTIAL_PATTERNS: Final = (
    re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|fb_exchange_token|input_token)=)"
        r"[^&\s\"',;]+"
    ),
    re.compile(r"(?i)([?&]code=)[^&\s\"',;]+"),
    # the same secrets as JSON fields: a token endpoint's answer quoted in an error body
    re.compile(
        r"(?i)(\"(?:access_token|refresh_token|id_token|client_secret|code_verifier|"
        r"accessJwt|refreshJwt|password)\"\s*:\s*\")(?:[^\"\\]|\\.)*(?=\")"
    ),
)
# Statuses that mean "this content will never be accepted" when they answer a publish.
_CONTENT_REFUSED: Final = frozenset({400, 413, 422})
_PARAM_NAME: Final = re.compile(r"([^\s=;,]+)\s*(=\s*)?")
_PARAM_TOKEN: Final = re.compile(r"[^\s;,]*")
_MAY_EXIST: Final = "the post may have been published; it will be looked for before any resend"
_HINTS: Final = {
    403: "the account may be suspended, unconfirmed or lack a permission; check it on the platform",
    404: "check the account's base_url and that the account still exists",
}


# --- parsing --------------------------------------------------------------------------------


def parse_link_header(value: str | None) -> dict[str, str]:
    """Map each relation type of an RFC 8288 ``Link`` header to its (unresolved) URL.

    Handles several links, quoted and bare ``rel`` values, several relation types in one ``rel``
    (``rel="next last"``) and commas or semicolons inside ``<…>``. Relation types are lowercased
    (they compare case-insensitively); the first link for a relation wins. Malformed parts are
    skipped, never raised, because a bad header must not cost us the page we already have.
    """
    links: dict[str, str] = {}
    if not value:
        return links
    pos, end = 0, len(value)
    while pos < end:
        start = value.find("<", pos)
        close = value.find(">", start + 1) if start != -1 else -1
        if close == -1:
            break
        url = value[start + 1 : close].strip()
        params, pos = _link_params(value, close + 1)
        for rel in params.get("rel", "").lower().split():
            links.setdefault(rel, url)
    return links


def _link_params(value: str, pos: int) -> tuple[dict[str, str], int]:
    """Read ``; name=value`` pairs up to the comma that ends one link; return them and the end."""
    params: dict[str, str] = {}
    end = len(value)
    while pos < end:
        char = value[pos]
        if char == ",":
            return params, pos + 1
        if char in " \t;":
            pos += 1
            continue
        match = _PARAM_NAME.match(value, pos)
        if match is None:  # pragma: no cover - the class above matches any other character
            return params, end
        name, pos = match.group(1).lower(), match.end()
        param_value = ""
        if match.group(2):
            param_value, pos = _param_value(value, pos)
        params.setdefault(name, param_value)  # RFC 8288 §3.3: later rel parameters are ignored
    return params, end


def _param_value(value: str, pos: int) -> tuple[str, int]:
    """A token or a quoted-string (with backslash escapes) starting at ``pos``."""
    if pos < len(value) and value[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(value) and value[pos] != '"':
            if value[pos] == "\\" and pos + 1 < len(value):
                pos += 1
            out.append(value[pos])
            pos += 1
        return "".join(out), pos + 1
    match = _PARAM_TOKEN.match(value, pos)
    assert match is not None  # a star pattern always matches
    return match.group(0), match.end()


def parse_iso8601(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string, or ``None`` for anything else.

    Accepts ``Z`` (either case), numeric offsets and any number of fractional digits. A value
    without an offset is taken as UTC, which is what platforms mean by it. Never raises: a
    header or field we cannot read must degrade to "unknown", not crash a sync.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] == "z":
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_retry_after(value: str | None, *, now: datetime) -> datetime | None:
    """When a ``Retry-After`` header (delay in seconds, or an HTTP date) says to come back."""
    if not value:
        return None
    text = value.strip()
    try:
        if text.isdigit():
            return now + timedelta(seconds=int(text))
        parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, OverflowError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_int(value: str | None) -> int | None:
    """A header's integer value, or ``None`` when it is missing or not an integer."""
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def rate_limit_from_headers(
    headers: httpx.Headers,
    *,
    prefix: str = "x-ratelimit-",
    parse_reset: Callable[[str], datetime | None] = parse_iso8601,
) -> RateLimit | None:
    """The ``<prefix>limit/remaining/reset`` headers as a :class:`RateLimit`; ``None`` if absent.

    Platforms agree on the names but not on the reset's format (Mastodon sends ISO 8601, others
    epoch seconds), so the caller passes ``parse_reset``.
    """
    limit, remaining, reset = (
        headers.get(prefix + part) for part in ("limit", "remaining", "reset")
    )
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(
        limit=parse_int(limit),
        remaining=parse_int(remaining),
        reset_at=parse_reset(reset) if reset is not None else None,
    )


def next_link(response: httpx.Response, *, platform: str) -> httpx.URL | None:
    """The response's ``Link: <…>; rel="next"`` resolved against its URL, or ``None``.

    The next page is fetched with the account's token, so a link to another origin is refused:
    following it would hand the token to whoever wrote the header.
    """
    target = parse_link_header(response.headers.get("link")).get("next")
    if not target:
        return None
    here = response.request.url
    try:
        url = here.join(target)
    except httpx.InvalidURL as exc:
        raise PlatformError(
            f"the next-page link is not a valid URL ({exc})", platform=platform
        ) from exc
    if (url.scheme, url.host, url.port) != (here.scheme, here.host, here.port):
        raise PlatformError(
            f"the next-page link points at another server ({url.scheme}://{url.host}); "
            "refusing to send the account's token there",
            platform=platform,
            status=response.status_code,
        )
    return url


# --- redaction and messages -----------------------------------------------------------------


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret, ``Bearer <token>`` and ``access_token=<token>`` as ``***``.

    Besides ``access_token=``, the query parameters ``refresh_token=``, ``client_secret=``,
    ``fb_exchange_token=``, ``input_token=`` and ``?code=``/``&code=`` are masked too.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class _RedactLogSecrets(logging.Filter):
    """Masks credentials in httpx's ``HTTP Request: GET <url> "HTTP/1.1 200 OK"`` log line.

    httpx logs every request URL at INFO, query string included, and some endpoints take a
    token or the app secret there (Meta's token endpoints, OAuth redirects carrying ``code``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text, ())
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_LOG_REDACTION: Final = _RedactLogSecrets()


def install_log_redaction() -> None:
    """Attach the credential filter to httpx's loggers; idempotent, done when this is imported.

    Every connector sends through this module, so importing it protects them all; call it
    again after replacing a logger's filters.
    """
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if _LOG_REDACTION not in target.filters:
            target.addFilter(_LOG_REDACTION)


install_log_redaction()


def _shorten(text: str, limit: int = BODY_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_body(response: httpx.Response, secrets: Iterable[str]) -> str:
    """The response body, redacted, then cut to :data:`BODY_LIMIT` characters for an error."""
    try:
        text = response.text
    except httpx.ResponseNotRead:
        return ""
    return _shorten(redact(text, secrets))


def error_message(response: httpx.Response, secrets: Iterable[str]) -> str | None:
    """The human message from a JSON error body (``error`` and ``error_description``), if any."""
    try:
        data = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return None
    if not isinstance(data, dict):
        return None
    parts = [data.get(key) for key in ("error", "error_description")]
    text = ": ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return _shorten(redact(text, secrets), 200) if text else None


# --- classification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """What one request is about, so failures can be classified and worded.

    ``action`` names it in messages ("publish", "fetch profile"); ``secrets`` are redacted from
    everything raised; ``is_publish`` marks a request that creates something on the platform, for
    which any failure after sending means "it may exist" rather than "try again".
    """

    platform: str
    action: str
    secrets: tuple[str, ...] = ()
    is_publish: bool = False

    def __repr__(self) -> str:
        return f"Call({self.platform!r}, {self.action!r}, is_publish={self.is_publish})"


def raise_for_status(
    response: httpx.Response, call: Call, *, reset_at: datetime | None = None
) -> None:
    """Return for a 2xx answer; otherwise raise the brandkit error that says what to do next.

    ``reset_at`` is when the platform's rate-limit window reopens, if its headers said so;
    without it a 429 falls back to ``Retry-After``.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    said = error_message(response, call.secrets) or response.reason_phrase or "no reason given"
    what = f"{call.action} failed (HTTP {status}): {said}"
    body = error_body(response, call.secrets)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=datetime.now(UTC))
        raise RateLimitedError(
            what, platform=call.platform, reset_at=reset_at or retry_after, status=status, body=body
        )
    error, hint = _classify(status, is_publish=call.is_publish)
    raise error(what, platform=call.platform, status=status, body=body, hint=hint)


def _classify(status: int, *, is_publish: bool) -> tuple[type[PlatformError], str | None]:
    """The error class and hint for a failed status other than 429."""
    if status == 401:
        return AuthExpiredError, "the access token was rejected; re-authorise this account"
    if is_publish and status in _CONTENT_REFUSED:
        return RejectedError, "change the post's text; sending it again unchanged will fail again"
    if status >= 500:
        return (OutcomeUnknownError, _MAY_EXIST) if is_publish else (TransientError, None)
    if status == 408:  # the server gave up waiting for our request: it did nothing
        return TransientError, None
    return PlatformError, _HINTS.get(status)


async def send(client: httpx.AsyncClient, request: httpx.Request, call: Call) -> httpx.Response:
    """Send ``request`` once, turning transport failures into brandkit errors.

    The answer is returned whatever its status (the caller records rate-limit headers first,
    then calls :func:`raise_for_status`). Connection failures mean the request never left, so
    they are ``TransientError``; any later failure of a publish is ``OutcomeUnknownError``.
    """
    try:
        return await client.send(request)
    except _NEVER_SENT as exc:
        detail = f"{type(exc).__name__}: {redact(str(exc), call.secrets)}"
        raise TransientError(
            f"{call.action} failed: could not connect to {request.url.host} ({detail})",
            platform=call.platform,
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise PlatformError(
            f"{call.action} failed: {redact(str(exc), call.secrets)}",
            platform=call.platform,
            hint="the account's base_url must start with https://",
        ) from exc
    except httpx.RequestError as exc:
        detail = redact(str(exc), call.secrets) or "no detail"
        what = f"{call.action} failed: {type(exc).__name__}: {detail}"
        if call.is_publish:
            raise OutcomeUnknownError(what, platform=call.platform, hint=_MAY_EXIST) from exc
        raise TransientError(what, platform=call.platform) from exc


def malformed(response: httpx.Response, reason: str, call: Call) -> PlatformError:
    """The error for a 2xx answer we cannot read (not JSON, or not the documented shape).

    A publish that got such an answer most likely succeeded, so it is ``OutcomeUnknownError``
    (reconcile, never resend); for a read it is a plain ``PlatformError`` pointing at the
    base URL, since HTML instead of JSON usually means a proxy or a wrong address.
    """
    content_type = response.headers.get("content-type", "missing")
    message = (
        f"{call.action}: HTTP {response.status_code} answer was not what the API documents "
        f"({reason}; content-type {content_type!r})"
    )
    body = error_body(response, call.secrets)
    if call.is_publish:
        return OutcomeUnknownError(
            message, platform=call.platform, status=response.status_code, body=body, hint=_MAY_EXIST
        )
    return PlatformError(
        message,
        platform=call.platform,
        status=response.status_code,
        body=body,
        hint="check that the account's base_url points at the platform's API, not a web page",
    )


def json_body(response: httpx.Response, call: Call) -> object:
    """The decoded JSON body of a 2xx answer, or the :func:`malformed` error."""
    try:
        return json.loads(response.content)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise malformed(response, "the body is not JSON", call) from exc
