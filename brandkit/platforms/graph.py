"""What Threads, Instagram and Facebook Pages share: Meta's Graph API conventions, written once.

The three connectors speak the same dialect (developers.facebook.com/docs/graph-api):

- **Errors** (graph-api/guides/error-handling): ``{"error": {"message", "type", "code",
  "error_subcode", "is_transient", "error_user_msg", "fbtrace_id"}}``, usually with HTTP 400,
  whatever went wrong. :class:`GraphErrors` reads the code, because the status alone would call
  an expired token (code 190) or throttling (codes 4, 17, 32, 613, 80001…) a plain "bad request".
- **Usage headers** (graph-api/overview/rate-limiting): ``X-App-Usage`` (percentages of the
  app's hourly allowance), ``X-Business-Use-Case-Usage`` (per business object: percentages plus
  ``estimated_time_to_regain_access`` in minutes) and ``X-Page-Usage``. :func:`read_usage` turns
  them into rate-limit buckets for :class:`~brandkit.platforms.api.ApiSession`.
- **Pagination** (graph-api/results): ``{"data": [...], "paging": {"cursors": {"before",
  "after"}, "next"}}``; :func:`next_page` follows ``next`` on the same server, or the ``after``
  cursor when ``next`` is absent (the Threads examples show cursors only).

The rest of what they share has its own module: the connectors' base class
(:mod:`brandkit.platforms.graph_connector`), the container → status → publish flow of Threads
and Instagram (:mod:`brandkit.platforms.graph_publish`) and their 60-day tokens
(:mod:`brandkit.platforms.graph_tokens`).

Requests carry the token in ``Authorization: Bearer`` (the Graph hosts accept OAuth 2.0 bearer
headers); only the token endpoints take it as a query parameter, and httpx's request log line
for them is redacted by :mod:`brandkit.platforms.http`.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Generic, TypeVar

import httpx

from brandkit.clock import Clock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms import fields, http
from brandkit.platforms.api import ApiSession, Scope
from brandkit.platforms.base import RateLimit

T = TypeVar("T")

#: The Graph API version every Facebook and Instagram request is pinned to (one place to bump).
GRAPH_API_VERSION: Final = "v25.0"
#: Threads versions its API separately; v1.0 is the only published version.
THREADS_API_VERSION: Final = "v1.0"
FACEBOOK_BASE_URL: Final = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
INSTAGRAM_BASE_URL: Final = f"https://graph.instagram.com/{GRAPH_API_VERSION}"
THREADS_BASE_URL: Final = f"https://graph.threads.net/{THREADS_API_VERSION}"

#: Meta estimates the wait in whole minutes; "0" while throttled means "under a minute".
MIN_THROTTLE_WAIT: Final = timedelta(seconds=30)
#: Throttled without an estimate (``X-App-Usage`` has none): the hourly window is rolling.
UNKNOWN_THROTTLE_WAIT: Final = timedelta(minutes=5)

#: 190 = access token invalid or expired, 102 = API session (graph-api/guides/error-handling).
AUTH_CODES: Final = frozenset({102, 190})
#: 4 app, 17 user, 32 Page, 341 application limit, 613 custom, 9 Instagram publishing limit,
#: 80001-80014 business-use-case limits (graph-api/overview/rate-limiting#error-codes).
THROTTLE_CODES: Final = frozenset({4, 9, 17, 32, 341, 613, *range(80001, 80015)})
#: 1 = unknown, 2 = service: temporary, "wait and retry".
TRANSIENT_CODES: Final = frozenset({1, 2})
#: 3 = capability, 10 and 200-299 = permission denied or removed.
PERMISSION_CODES: Final = frozenset({3, 10, *range(200, 300)})
DUPLICATE_POST: Final = 506
#: code 100, subcode 33: the object does not exist or this token cannot see it
UNKNOWN_OBJECT: Final = 33

_USAGE_FIELDS: Final = ("call_count", "total_cputime", "total_time")
_MAY_EXIST: Final = "the post may have been published; it will be looked for before any resend"


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphError:
    """The ``error`` object of a Graph API answer."""

    message: str
    type: str | None = None
    code: int | None = None
    subcode: int | None = None
    fbtrace_id: str | None = None
    is_transient: bool = False
    user_message: str | None = None

    def describe(self) -> str:
        """The message with its codes, as support asks for them."""
        codes = [f"code {self.code}"] if self.code is not None else []
        if self.subcode is not None:
            codes.append(f"subcode {self.subcode}")
        if self.fbtrace_id:
            codes.append(f"fbtrace_id {self.fbtrace_id}")
        text = self.message or self.type or "no message"
        return f"{text} ({', '.join(codes)})" if codes else text


def graph_error(content: bytes | str | None) -> GraphError | None:
    """The Graph ``error`` object in a body, or ``None`` when the body is not one."""
    if not content:
        return None
    try:
        data = json.loads(content)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    return GraphError(
        message=fields.opt_string(error, "message") or "",
        type=fields.opt_string(error, "type"),
        code=fields.opt_int(error, "code", from_string=True),
        subcode=fields.opt_int(error, "error_subcode", from_string=True),
        fbtrace_id=fields.opt_string(error, "fbtrace_id"),
        is_transient=error.get("is_transient") is True,
        user_message=fields.opt_string(error, "error_user_msg"),
    )


class GraphErrors:
    """The ``classify_error`` hook of a Graph session: the error code decides, not the status.

    Returns ``None`` for an answer without a Graph error body, so the shared status rules
    (:func:`brandkit.platforms.http.raise_for_status`) apply to it.
    """

    def __init__(self, clock: Clock, *, reauthorise: str) -> None:
        self._clock = clock
        self._reauthorise = reauthorise

    def __call__(self, response: httpx.Response, call: http.Call) -> PlatformError | None:
        try:
            error = graph_error(response.content)
        except httpx.ResponseNotRead:
            return None
        if error is None:
            return None
        status = response.status_code
        what = (
            f"{call.action} failed (HTTP {status}): {http.redact(error.describe(), call.secrets)}"
        )
        body = http.error_body(response, call.secrets)
        common: dict[str, Any] = {"platform": call.platform, "status": status, "body": body}
        code = error.code
        if code in AUTH_CODES:
            return AuthExpiredError(what, hint=self._reauthorise, **common)
        if code in THROTTLE_CODES:
            reset_at = throttled_until(response.headers, self._clock.now())
            return RateLimitedError(
                what,
                reset_at=reset_at,
                hint=f"Meta is throttling this account until about {reset_at:%H:%M} UTC; "
                "brandkit waits rather than retrying sooner",
                **common,
            )
        if status >= 500 or code in TRANSIENT_CODES or error.is_transient:
            if call.is_publish:
                return OutcomeUnknownError(what, hint=_MAY_EXIST, **common)
            return TransientError(what, **common)
        if code in PERMISSION_CODES:
            hint = "the token lacks a permission this needs; re-authorise and grant it"
            return PlatformError(what, hint=f"{hint} ({self._reauthorise})", **common)
        if call.is_publish and (code == DUPLICATE_POST or status in (400, 413, 422)):
            hint = error.user_message or "change the post; sending it again unchanged will fail"
            return RejectedError(what, hint=hint, **common)
        if status == 429:
            return None
        if (code, error.subcode) == (100, UNKNOWN_OBJECT):
            hint = "check the account's stored id (user_id, ig_user_id, page_id) and its token"
            return PlatformError(what, hint=hint, **common)
        return PlatformError(what, hint=error.user_message, **common)


# --- usage headers ---------------------------------------------------------------------------


def _header_json(headers: httpx.Headers, name: str) -> object:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _percent(entry: Mapping[str, object]) -> float | None:
    values = [v for k in _USAGE_FIELDS if isinstance(v := entry.get(k), int | float)]
    return float(max(values)) if values else None


def _usage_limit(entry: object, now: datetime) -> RateLimit | None:
    """One usage object (``call_count``… percentages, maybe ``estimated_time_to_regain_access``)."""
    if not isinstance(entry, dict):
        return None
    percent = _percent(entry)
    minutes = entry.get("estimated_time_to_regain_access")
    if percent is None and not isinstance(minutes, int | float):
        return None
    used = percent or 0.0
    reset_at = None
    if isinstance(minutes, int | float) and minutes > 0:
        reset_at = now + max(timedelta(minutes=minutes), MIN_THROTTLE_WAIT)
    elif used >= 100:
        reset_at = now + (
            MIN_THROTTLE_WAIT if isinstance(minutes, int | float) else UNKNOWN_THROTTLE_WAIT
        )
    remaining = 0 if reset_at is not None else max(0, 100 - math.ceil(used))
    return RateLimit(limit=100, remaining=remaining, reset_at=reset_at)


def _worst(limits: Iterable[RateLimit]) -> RateLimit | None:
    """The most constrained of several buckets: least remaining, latest reset."""
    found = list(limits)
    if not found:
        return None
    resets = [limit.reset_at for limit in found if limit.reset_at is not None]
    return RateLimit(
        limit=100,
        remaining=min(limit.remaining for limit in found if limit.remaining is not None),
        reset_at=max(resets) if resets else None,
    )


def read_usage(headers: httpx.Headers, now: datetime) -> list[tuple[Scope, RateLimit]]:
    """Meta's usage headers as buckets: the app's, then the account's (which is recorded last).

    ``remaining`` is the percentage left (``limit`` 100). ``X-App-Usage`` counts against the
    app; ``X-Business-Use-Case-Usage`` (one list per business object: the Page, the Instagram
    account) and ``X-Page-Usage`` against the account, whose worst entry wins.
    """
    found: list[tuple[Scope, RateLimit]] = []
    app = _usage_limit(_header_json(headers, "x-app-usage"), now)
    if app is not None:
        found.append(("app", app))
    account: list[RateLimit] = []
    business = _header_json(headers, "x-business-use-case-usage")
    if isinstance(business, dict):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if (limit := _usage_limit(entry, now)) is not None:
                    account.append(limit)
    if (page := _usage_limit(_header_json(headers, "x-page-usage"), now)) is not None:
        account.append(page)
    if (worst := _worst(account)) is not None:
        found.append(("account", worst))
    return found


def throttled_until(headers: httpx.Headers, now: datetime) -> datetime:
    """When a throttled account may call again, from the usage headers or a cautious guess."""
    resets = [limit.reset_at for _, limit in read_usage(headers, now) if limit.reset_at]
    return max(resets) if resets else now + UNKNOWN_THROTTLE_WAIT


# --- pagination ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a Graph edge: its items and its ``paging`` object."""

    items: list[T]
    paging: Mapping[str, object] | None


def parse_page(value: object, item: Callable[[object], T]) -> Page[T]:
    """``{"data": [...], "paging": {...}}`` read with ``item`` for each element."""
    body = fields.mapping(value, "answer")
    data = fields.array(body.get("data"), "'data'")
    paging = body.get("paging")
    return Page([item(element) for element in data], paging if isinstance(paging, dict) else None)


def object_id(value: object) -> str:
    """The ``id`` of an answer such as ``{"id": "1789…"}`` (a created object, ``/me``)."""
    return fields.string(fields.mapping(value, "answer"), "id")


def next_page(
    response: httpx.Response,
    paging: Mapping[str, object] | None,
    *,
    platform: str,
    cursor_without_next: bool = False,
) -> httpx.URL | None:
    """The URL of the page after ``response``'s, or ``None`` at the end.

    The Graph API's rule (graph-api/results): no ``paging.next`` means the last page. ``next``
    is followed when it points at the server that answered (any ``access_token`` in it is
    dropped: the token travels in the header). A ``next`` on another server is replaced by the
    ``after`` cursor on the request's own URL, or refused when there is none: following it
    would hand the account's token to that server. ``cursor_without_next`` also follows a lone
    ``after`` cursor, for the Threads lists whose documented answers carry cursors only.
    """
    if not paging:
        return None
    here = response.request.url
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    by_cursor = (
        here.copy_set_param("after", after).copy_remove_param("access_token")
        if isinstance(after, str) and after
        else None
    )
    target = paging.get("next")
    if not (isinstance(target, str) and target):
        return by_cursor if cursor_without_next else None
    try:
        url = here.join(target)
    except httpx.InvalidURL as exc:
        raise PlatformError(
            f"the next-page link is not a valid URL ({exc})", platform=platform
        ) from exc
    if (url.scheme, url.host, url.port) == (here.scheme, here.host, here.port):
        return url.copy_remove_param("access_token")
    if by_cursor is None:
        raise PlatformError(
            f"the next-page link points at another server ({url.scheme}://{url.host}); "
            "refusing to send the account's token there",
            platform=platform,
            status=response.status_code,
        )
    return by_cursor


async def pages(
    session: ApiSession,
    path: str,
    call: http.Call,
    item: Callable[[object], T],
    *,
    params: Mapping[str, str | int],
    max_pages: int | None = None,
    cursor_without_next: bool = False,
) -> AsyncGenerator[list[T], None]:
    """An edge's items page by page, to the end, never asking for the same URL twice."""
    target: str | httpx.URL = path
    query: Mapping[str, str | int] | None = params
    seen: set[str] = set()
    while max_pages is None or len(seen) < max_pages:
        response = await session.request("GET", target, call, params=query)
        seen.add(str(response.request.url))
        page = session.parse(response, lambda value: parse_page(value, item), call)
        if page.items:
            yield page.items
        following = next_page(
            response, page.paging, platform=call.platform, cursor_without_next=cursor_without_next
        )
        has_next = bool(page.paging and page.paging.get("next"))
        if following is None or str(following) in seen or not (page.items or has_next):
            return
        target, query = following, None


# --- insights --------------------------------------------------------------------------------


def insight_values(value: object) -> dict[str, int]:
    """``{"data": [{"name", "values": [{"value"}] | "total_value": {"value"}}]}`` by name.

    Lifetime metrics carry one value; a time series is read at its latest point. A metric the
    platform left out (it returns an empty set rather than 0) is simply absent.
    """
    if not isinstance(value, dict):
        return {}
    found: dict[str, int] = {}
    data = value.get("data")
    for metric in data if isinstance(data, list) else []:
        if not isinstance(metric, dict) or not isinstance(name := metric.get("name"), str):
            continue
        total = metric.get("total_value")
        series = metric.get("values")
        if isinstance(total, dict) and (number := fields.opt_int(total, "value")) is not None:
            found[name] = number
        elif isinstance(series, list) and series and isinstance(series[-1], dict):
            if (number := fields.opt_int(series[-1], "value")) is not None:
                found[name] = number
    return found
