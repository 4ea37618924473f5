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
- **Publishing** (instagram-platform/content-publishing, threads/posts): create a media
  container, wait until it is ``FINISHED``, then publish it; :func:`create_and_publish`.
- **Long-lived tokens** (threads/get-started/long-lived-tokens, instagram-platform/
  instagram-api-with-instagram-login/business-login): 60-day user tokens renewed with
  ``GET /refresh_access_token?grant_type=th_refresh_token|ig_refresh_token`` while they are
  still valid and at least a day old; :class:`LongLivedTokenAuth` renews them a week early.

Requests carry the token in ``Authorization: Bearer`` (the Graph hosts accept OAuth 2.0 bearer
headers); only the refresh endpoint takes it as a query parameter, so httpx's request log line
is redacted too (:func:`install_log_redaction`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Generic, TypeVar

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
from brandkit.platforms.api import (
    ApiSession,
    Authenticator,
    BearerAuth,
    ConnectorContext,
    Scope,
)
from brandkit.platforms.base import Credentials, PostStats, PublishResult, RateLimit
from brandkit.platforms.oauth import credentials_from_token_response

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The Graph API version every Facebook and Instagram request is pinned to (one place to bump).
GRAPH_API_VERSION: Final = "v25.0"
#: Threads versions its API separately; v1.0 is the only published version.
THREADS_API_VERSION: Final = "v1.0"
FACEBOOK_BASE_URL: Final = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
INSTAGRAM_BASE_URL: Final = f"https://graph.instagram.com/{GRAPH_API_VERSION}"
THREADS_BASE_URL: Final = f"https://graph.threads.net/{THREADS_API_VERSION}"

#: Renew a 60-day token this long before it expires: an expired one can no longer be renewed.
RENEW_AHEAD: Final = timedelta(days=7)
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
_QUERY_SECRET: Final = re.compile(
    r"(?i)\b(access_token|client_secret|fb_exchange_token|input_token)=([^&\s\"',;]+)"
)
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


# --- publishing ------------------------------------------------------------------------------

#: Container states (instagram-platform/instagram-graph-api/reference/ig-container, threads).
READY: Final = frozenset({"FINISHED"})
FAILED: Final = frozenset({"ERROR", "EXPIRED"})


async def create_and_publish(
    session: ApiSession,
    *,
    node: str,
    container_path: str,
    container: Mapping[str, str],
    publish_path: str,
    status_field: str,
    detail_field: str,
    checks: int = 6,
    interval: float = 5.0,
) -> str:
    """Create a media container, wait until it is ready, publish it; return the media id.

    Nothing is public before the publish step, so a container step whose outcome is unknown is
    a plain :class:`TransientError` (an unpublished container expires unseen after 24 hours).
    Only the publish step can leave an unknown outcome; it is sent once, never repeated here.
    """
    create = session.call("create the media container", is_publish=True)
    try:
        response = await session.request("POST", f"/{node}{container_path}", create, data=container)
        container_id = session.parse(response, _object_id, create)
    except OutcomeUnknownError as exc:
        raise TransientError(
            f"creating the media container may have failed ({exc.reason}); nothing was published",
            platform=session.platform,
            status=exc.status,
            hint="brandkit will try the whole post again later",
        ) from exc
    await wait_until_ready(
        session,
        container_id,
        status_field=status_field,
        detail_field=detail_field,
        checks=checks,
        interval=interval,
    )
    publish = session.call("publish", is_publish=True)
    response = await session.request(
        "POST", f"/{node}{publish_path}", publish, data={"creation_id": container_id}
    )
    return session.parse(response, _object_id, publish)


async def wait_until_ready(
    session: ApiSession,
    container_id: str,
    *,
    status_field: str,
    detail_field: str,
    checks: int,
    interval: float,
) -> None:
    """Poll ``GET /{container-id}?fields=<status_field>`` until ``FINISHED`` (session clock)."""
    call = session.call("check the media container")
    for check in range(checks):
        (state, detail), _ = await session.get_json(
            f"/{container_id}",
            call,
            lambda value: _container_status(value, status_field, detail_field),
            params={"fields": f"id,{status_field},{detail_field}"},
        )
        if state in READY:
            return
        if state in FAILED:
            raise RejectedError(
                f"the media container ended {state}: {detail or 'no detail given'}",
                platform=session.platform,
                hint="check that the image is a public JPEG and the text within the limits",
            )
        if check + 1 < checks:
            await session.clock.sleep(interval)
    raise TransientError(
        f"the media container was still processing after {checks} checks; nothing was published",
        platform=session.platform,
        hint="brandkit will try the post again later",
    )


def _object_id(value: object) -> str:
    return fields.string(fields.mapping(value, "answer"), "id")


def _container_status(
    value: object, status_field: str, detail_field: str
) -> tuple[str, str | None]:
    body = fields.mapping(value, "container")
    return fields.string(body, status_field), fields.opt_string(body, detail_field)


# --- tokens ----------------------------------------------------------------------------------


def origin(base_url: str) -> str:
    """``https://graph.threads.net`` for ``https://graph.threads.net/v1.0``."""
    url = httpx.URL(base_url)
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


class LongLivedTokenAuth:
    """A 60-day Meta user token renewed with ``GET /refresh_access_token`` (Threads, Instagram).

    The token is its own refresh credential, but only while it is valid: an expired one must be
    re-authorised. So :meth:`expires_at` reports the moment to renew (:data:`RENEW_AHEAD` before
    the real expiry), and :meth:`can_refresh` is false once the real expiry has passed.
    """

    def __init__(self, *, grant_type: str, clock: Clock) -> None:
        self.grant_type = grant_type
        self._clock = clock

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        expires = http.parse_iso8601(credentials.get("expires_at"))
        return expires - RENEW_AHEAD if expires is not None else None

    def can_refresh(self, credentials: Credentials) -> bool:
        expires = http.parse_iso8601(credentials.get("expires_at"))
        return bool(credentials.token) and (expires is None or expires > self._clock.now())

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        action = "renew the long-lived access token"
        try:
            response = await session.send_unauthenticated(
                "GET",
                origin(session.base_url) + "/refresh_access_token",
                action,
                params={"grant_type": self.grant_type, "access_token": credentials.token},
            )
        except AuthExpiredError as exc:
            error = graph_error(exc.body)
            said = error.describe() if error else exc.reason
            raise AuthExpiredError(
                f"{action} failed: {said}",
                platform=session.platform,
                status=exc.status,
                body=exc.body,
                hint=f"the token expired or was revoked; run: brandkit auth {session.platform}",
            ) from exc
        call = http.Call(session.platform, action, (credentials.token,))
        payload = session.parse(response, lambda d: fields.mapping(d, "token answer"), call)
        return credentials_from_token_response(
            payload, now=session.clock.now(), previous=credentials
        )


async def exchange_for_long_lived(
    session: ApiSession, *, grant_type: str, client_secret: str
) -> Credentials:
    """Swap the session's short-lived token for a 60-day one (``GET /access_token``).

    ``grant_type`` is ``th_exchange_token`` (Threads) or ``ig_exchange_token`` (Instagram); the
    call is server-side only, as it carries the app secret. For ``brandkit auth``.
    """
    credentials = session.credentials
    response = await session.send_unauthenticated(
        "GET",
        origin(session.base_url) + "/access_token",
        "exchange for a long-lived token",
        params={
            "grant_type": grant_type,
            "client_secret": client_secret,
            "access_token": credentials.token,
        },
        extra_secrets=(client_secret,),
    )
    call = http.Call(session.platform, "exchange for a long-lived token", (client_secret,))
    payload = session.parse(response, lambda d: fields.mapping(d, "token answer"), call)
    return credentials_from_token_response(payload, now=session.clock.now(), previous=credentials)


def token_user_id(token_response: Mapping[str, object]) -> str | None:
    """The ``user_id`` of a code-exchange answer (top level, or in ``data[0]`` on Instagram)."""
    data = token_response.get("data")
    found = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    for source in (token_response, found):
        value = source.get("user_id")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


async def long_lived_after_login(
    platform: str,
    *,
    client: httpx.AsyncClient,
    base_url: str,
    credentials: Credentials,
    grant_type: str,
) -> Credentials:
    """The 60-day token for the 1-hour one ``brandkit auth`` just received (needs the secret)."""
    install_log_redaction()
    secret = credentials.get("client_secret")
    if not secret:
        raise PlatformError(
            "the app secret is needed to turn the 1-hour token into a 60-day one",
            platform=platform,
            hint=f"run brandkit auth {platform} again with --client-secret-env NAME",
        )
    session = ApiSession(
        platform=platform, client=client, base_url=base_url, credentials=credentials
    )
    return await exchange_for_long_lived(session, grant_type=grant_type, client_secret=secret)


class _RedactQuerySecrets(logging.Filter):
    """Masks ``access_token=`` and friends in httpx's ``HTTP Request: GET <url>`` log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={http.REDACTED}", text)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_REDACTION = _RedactQuerySecrets()


def install_log_redaction() -> None:
    """Attach the query-secret filter to httpx's logger (once per process)."""
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if _REDACTION not in target.filters:
            target.addFilter(_REDACTION)


# --- text ------------------------------------------------------------------------------------


def comparable_text(text: str) -> str:
    """``text`` as NFC with whitespace runs collapsed, for recognising a post we published."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the connectors' common part -------------------------------------------------------------

FIND_POST_PAGES: Final = 2  # 50 posts: far more than an account publishes while one is unconfirmed
FIND_POST_SLACK: Final = timedelta(minutes=1)  # the platform's clock may run behind ours


class GraphConnector:
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

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        context = context or ConnectorContext()
        install_log_redaction()
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._session!r})"

    @property
    def last_rate_limit(self) -> RateLimit | None:
        return self._session.last_rate_limit

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncIterator[PostStats]:
        """The account's posts with their counters, newest first, across all pages.

        With ``since``, paging stops after the first page that reaches older posts: every edge
        used here lists newest first.
        """
        cutoff = aware(since) if since is not None else None
        async with aclosing(self._post_pages(self._session.call("fetch post metrics"))) as pages:
            async for page in pages:
                for stats in page:
                    if cutoff is None or stats.created_at >= cutoff:
                        yield stats
                if cutoff is not None and any(s.created_at < cutoff for s in page):
                    return

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The account's post with this ``text`` created since ``not_before``, if any.

        The Graph API takes no idempotency key, so reconciliation reads the latest posts (two
        pages at most) and compares their text after :func:`comparable_text`.
        """
        wanted = comparable_text(text)
        threshold = aware(not_before) - FIND_POST_SLACK
        call = self._session.call("find post")
        async with aclosing(
            self._post_pages(call, max_pages=FIND_POST_PAGES, counts=False)
        ) as pages:
            async for page in pages:
                for stats in page:
                    if stats.created_at < threshold:
                        return None
                    if comparable_text(stats.text or "") == wanted:
                        return PublishResult(stats.remote_id, stats.url, stats.created_at)
        return None

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""

    # --- for subclasses -----------------------------------------------------------------------

    def _authenticator(self, base_url: str, clock: Clock) -> Authenticator:
        """Page tokens do not expire; Threads and Instagram Login override this."""
        return BearerAuth()

    async def _node(self) -> str:
        """The account's node id from the credentials, else discovered once."""
        if self._node_id is None:
            self._node_id = await self._discover_node()
        return self._node_id

    async def _discover_node(self) -> str:
        """``GET /me?fields=id``: the token's own node (the Page for a Page token)."""
        call = self._session.call("find the account id")
        node, _ = await self._session.get_json("/me", call, _object_id, params={"fields": "id"})
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
