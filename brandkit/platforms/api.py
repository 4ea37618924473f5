"""The request pipeline every connector shares: wait for capacity, authenticate, send, retry.

A connector describes *what* to ask (a method, a path, how to read the answer); an
:class:`ApiSession` decides *how*:

1. **Rate limits.** Before sending, it waits until every bucket the request draws on (the
   account's and the app's) has capacity, using what earlier answers said
   (:class:`RateLimitBook`, shared by all connectors of a runtime). A wait longer than
   :attr:`RetryPolicy.max_wait` is not slept through: it raises ``RateLimitedError`` with the
   reset time at once, so the publisher reschedules instead of a worker hanging for an hour.
2. **Credentials.** A token that expires within :data:`REFRESH_MARGIN` is refreshed first; a
   401 triggers one refresh and one resend. Refreshed credentials are saved through the
   :class:`CredentialStore` before they are used, and re-read before refreshing, so two
   connectors of one account never spend the same (single-use, rotating) refresh token twice.
3. **Retries.** A failure that certainly did not take effect (``TransientError`` that is not an
   ``OutcomeUnknownError``: a refused connection, a 5xx or timeout on a read, a 429) is retried
   with exponential backoff and jitter, honouring the platform's reset time. A publish whose
   outcome is unknown is never resent here: the publisher looks for the post first.
4. **Redaction.** Every secret of the credentials is redacted from anything raised or logged.

Time comes from the injected :class:`~brandkit.clock.Clock`, so tests run backoff and reset
waits on a simulated clock without sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from brandkit.clock import Clock, SystemClock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    TransientError,
)
from brandkit.platforms import http
from brandkit.platforms.base import Credentials, RateLimit
from brandkit.platforms.fields import Shape

logger = logging.getLogger(__name__)

T = TypeVar("T")
Scope = Literal["account", "app"]

REFRESH_MARGIN: Final = timedelta(seconds=60)
#: A reset this close is waited for even when the platform still reports capacity: clocks drift.
_RESET_SLACK: Final = 0.5


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a session tries before giving up.

    ``attempts`` counts every try of one request (1 = no retry). ``max_wait`` is the longest a
    caller is made to wait for a rate-limit reset; beyond it ``RateLimitedError`` is raised with
    the reset time so the caller can come back later.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_wait: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter for the ``attempt``-th failure (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


NO_RETRY: Final = RetryPolicy(attempts=1, max_wait=0.0)


# --- rate-limit bookkeeping ------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    remaining: int | None = None
    reset_at: datetime | None = None
    limit: int | None = None


class RateLimitBook:
    """What each platform last said about its rate-limit buckets, shared across connectors.

    Keys name a bucket (``account:42``, ``x:app:<client id>``). Each request takes one unit
    from its buckets *before* it is sent, so concurrent requests cannot all spend the last
    unit; each answer's headers then overwrite the estimate with the platform's own count.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def record(self, key: str, limit: RateLimit) -> None:
        """Store the platform's word on bucket ``key``."""
        bucket = self._buckets.setdefault(key, _Bucket())
        bucket.limit = limit.limit if limit.limit is not None else bucket.limit
        bucket.remaining = limit.remaining
        bucket.reset_at = limit.reset_at

    def get(self, key: str) -> RateLimit | None:
        """The current estimate for ``key``, or ``None`` if nothing was heard yet."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        return RateLimit(limit=bucket.limit, remaining=bucket.remaining, reset_at=bucket.reset_at)

    def wait_until(self, key: str, now: datetime) -> datetime | None:
        """When bucket ``key`` has capacity again, or ``None`` if it has some now."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.remaining is None or bucket.remaining > 0:
            return None
        if bucket.reset_at is None or bucket.reset_at <= now:
            bucket.remaining = None  # the window has passed: unknown until the next answer
            return None
        return bucket.reset_at

    def take(self, key: str) -> None:
        """Spend one unit of ``key`` ahead of the answer that will correct the count."""
        bucket = self._buckets.get(key)
        if bucket is not None and bucket.remaining is not None:
            bucket.remaining -= 1

    def lock(self, key: str) -> asyncio.Lock:
        """A lock for ``key`` shared by this book's users (to refresh an account's token once)."""
        return self._locks.setdefault(key, asyncio.Lock())


# --- credentials -----------------------------------------------------------------------------


class CredentialStore(Protocol):
    """Where an account's credentials live, so a refreshed token outlives the process."""

    async def load(self) -> Credentials:
        """The credentials as stored now (another process may have refreshed them)."""
        ...

    async def save(self, credentials: Credentials) -> None:
        """Persist ``credentials`` (encrypted) before they are used."""
        ...


class Authenticator(Protocol):
    """How one platform puts credentials on a request and renews them."""

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        """The headers that authenticate a request (``Authorization: Bearer …``)."""
        ...

    def expires_at(self, credentials: Credentials) -> datetime | None:
        """When the access token stops working, if known."""
        ...

    def can_refresh(self, credentials: Credentials) -> bool:
        """Whether :meth:`refresh` has what it needs (a refresh token, an app password…)."""
        ...

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        """New credentials, obtained with ``session.send_unauthenticated``/``request``."""
        ...


class BearerAuth:
    """A long-lived bearer token with no way to renew it (Mastodon, LinkedIn without refresh)."""

    def headers(self, credentials: Credentials) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {credentials.token}"}

    def expires_at(self, credentials: Credentials) -> datetime | None:
        return http.parse_iso8601(credentials.extra.get("expires_at"))

    def can_refresh(self, credentials: Credentials) -> bool:
        return False

    async def refresh(self, session: ApiSession, credentials: Credentials) -> Credentials:
        raise AuthExpiredError(
            "the access token expired and cannot be renewed automatically",
            platform=session.platform,
            hint=f"re-authorise: brandkit auth {session.platform} (or brandkit accounts reauth)",
        )


def secrets_of(credentials: Credentials) -> tuple[str, ...]:
    """Every value of ``credentials`` that must never be shown: the token and secret extras."""
    hidden = [credentials.token]
    for key, value in credentials.extra.items():
        if any(word in key for word in ("token", "secret", "password", "jwt", "code")):
            hidden.append(value)
    return tuple(v for v in hidden if v)


# --- context ---------------------------------------------------------------------------------


@dataclass
class ConnectorContext:
    """What a connector needs beyond its HTTP client: time, shared limits, retry policy, storage.

    ``account_key`` names the account's rate-limit bucket and refresh lock; the runtime passes
    ``account:<id>``. Built without one (a test, a library user), the key is derived from the
    platform, base URL and a hash of the token, which is stable for one account. The default
    book is private to the context; the runtime shares one book among all its connectors.
    """

    clock: Clock = field(default_factory=SystemClock)
    limits: RateLimitBook = field(default_factory=lambda: RateLimitBook())
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    account_key: str | None = None
    store: CredentialStore | None = None
    rng: random.Random = field(default_factory=random.Random)


# --- the session -----------------------------------------------------------------------------

ReadLimits = Callable[[httpx.Headers, datetime], Iterable[tuple[Scope, RateLimit]]]
#: A platform's own reading of a failed answer (a quota reason in a 403 body, an expired-token
#: code in a 400): the error to raise instead of the status-based one, or ``None`` for that.
ClassifyError = Callable[[httpx.Response, http.Call], PlatformError | None]


def default_read_limits(headers: httpx.Headers, now: datetime) -> list[tuple[Scope, RateLimit]]:
    """``X-RateLimit-*`` with an ISO 8601 reset (Mastodon's spelling) for the account bucket."""
    found = http.rate_limit_from_headers(headers)
    return [("account", found)] if found else []


def no_rate_limit_headers(headers: httpx.Headers, now: datetime) -> list[tuple[Scope, RateLimit]]:
    """``read_limits`` for a platform that sends no rate-limit headers (LinkedIn, YouTube)."""
    return []


class ApiSession:
    """One account's way to the platform: the pipeline described in the module docstring.

    A connector owns one session; ``base_url`` is joined with the paths it passes. ``app_key``
    names the bucket shared by every account of one app (X, Meta); ``None`` for per-user APIs.
    """

    def __init__(
        self,
        *,
        platform: str,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
        auth: Authenticator | None = None,
        read_limits: ReadLimits = default_read_limits,
        app_key: str | None = None,
        classify_error: ClassifyError | None = None,
    ) -> None:
        self.platform = platform
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.context = context or ConnectorContext()
        self.auth: Authenticator = auth or BearerAuth()
        self._credentials = credentials
        self._read_limits = read_limits
        self.account_key = self.context.account_key or _derived_key(platform, base_url, credentials)
        self.app_key = app_key
        self._classify_error = classify_error
        self.last_rate_limit: RateLimit | None = None

    def __repr__(self) -> str:
        return f"ApiSession({self.platform!r}, {self.base_url!r}, {self._credentials!r})"

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    @property
    def clock(self) -> Clock:
        return self.context.clock

    def call(self, action: str, *, is_publish: bool = False) -> http.Call:
        """The :class:`~brandkit.platforms.http.Call` describing one request, secrets included."""
        return http.Call(self.platform, action, secrets_of(self._credentials), is_publish)

    def url(self, path_or_url: str | httpx.URL) -> str | httpx.URL:
        """``path_or_url`` joined to the base URL unless it is already absolute."""
        if isinstance(path_or_url, httpx.URL) or path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + path_or_url

    # --- requests ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        call: http.Call,
        *,
        params: Mapping[str, Any] | None = None,
        json: object = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send with waits, refresh and retries; return a 2xx answer or raise a brandkit error."""
        policy = self.context.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, policy.attempts)),
            wait=self._wait_before_retry,
            retry=retry_if_exception(self._worth_retrying),
            sleep=self.clock.sleep,
            reraise=True,
        )
        response: httpx.Response | None = None
        async for attempt in retrying:
            with attempt:
                response = await self._attempt(
                    method,
                    path_or_url,
                    call,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    authenticated=authenticated,
                )
        assert response is not None  # reraise=True: the loop either returned or raised
        return response

    async def get_json(
        self,
        path_or_url: str | httpx.URL,
        call: http.Call,
        parse: Callable[[object], T],
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[T, httpx.Response]:
        """GET and parse; the response comes back too, for its pagination headers."""
        response = await self.request("GET", path_or_url, call, params=params, headers=headers)
        return self.parse(response, parse, call), response

    @staticmethod
    def parse(response: httpx.Response, parse: Callable[[object], T], call: http.Call) -> T:
        """Decode the JSON body and read it with ``parse``; a :class:`Shape` error is malformed."""
        data = http.json_body(response, call)
        try:
            return parse(data)
        except Shape as exc:
            raise http.malformed(response, str(exc), call) from exc

    async def _attempt(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        call: http.Call,
        *,
        params: Mapping[str, Any] | None,
        json: object,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        authenticated: bool,
    ) -> httpx.Response:
        """One try: capacity, fresh credentials, send; one refresh-and-resend after a 401."""
        await self._wait_for_capacity(call)
        refreshed = False
        if authenticated and self._expires_soon():
            refreshed = await self._refresh(call, reason="expires")
        while True:
            sent = self._credentials  # what a 401 rejects, whatever happens meanwhile
            auth_headers = self.auth.headers(sent) if authenticated else {}
            request = self._build(
                method, path_or_url, params, json, data, {**auth_headers, **(headers or {})}
            )
            for key in self._bucket_keys():
                self.context.limits.take(key)
            call = self.call(call.action, is_publish=call.is_publish)  # secrets may have changed
            response = await http.send(self.client, request, call)
            logger.debug(
                "%s %s %s -> %s", self.platform, method, request.url.path, response.status_code
            )
            reset_at = self._record_limits(response)
            try:
                self._raise_for_status(response, call, reset_at)
            except AuthExpiredError:
                if not authenticated or refreshed or not self.auth.can_refresh(self._credentials):
                    raise
                refreshed = await self._refresh(call, reason="rejected", used=sent)
                continue
            return response

    def _build(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        params: Mapping[str, Any] | None,
        json: object,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> httpx.Request:
        """The request to send: ``path_or_url`` on the base URL, asking for JSON."""
        return self.client.build_request(
            method,
            self.url(path_or_url),
            params=params,
            json=json,
            data=data,
            headers={"Accept": "application/json", **headers},
        )

    def _raise_for_status(
        self, response: httpx.Response, call: http.Call, reset_at: datetime | None
    ) -> None:
        """The connector's own reading of a failure first (``classify_error``), then the shared one.

        A ``RateLimitedError`` it returns is recorded for the account, so other requests wait.
        """
        if self._classify_error is not None and not response.is_success:
            error = self._classify_error(response, call)
            if isinstance(error, RateLimitedError) and error.reset_at is not None:
                limit = RateLimit(limit=None, remaining=0, reset_at=error.reset_at)
                self.context.limits.record(self.account_key, limit)
            if error is not None:
                raise error
        http.raise_for_status(response, call, reset_at=reset_at)

    # --- rate limits ------------------------------------------------------------------------

    def _bucket_keys(self) -> list[str]:
        return [self.account_key] + ([self.app_key] if self.app_key else [])

    def _record_limits(self, response: httpx.Response) -> datetime | None:
        """Store the answer's limits; return the reset a 429 should wait for, if any."""
        latest: datetime | None = None
        for scope, limit in self._read_limits(response.headers, self.clock.now()):
            key = self.account_key if scope == "account" else (self.app_key or self.account_key)
            self.context.limits.record(key, limit)
            if scope == "account":
                self.last_rate_limit = limit
            exhausted = limit.remaining is not None and limit.remaining <= 0
            if limit.reset_at is not None and (exhausted or response.status_code == 429):
                latest = max(latest, limit.reset_at) if latest else limit.reset_at
        if latest is None and response.status_code == 429:
            # no bucket headers (LinkedIn sends none): Retry-After, read on the injected clock
            latest = http.parse_retry_after(
                response.headers.get("retry-after"), now=self.clock.now()
            )
            if latest is not None:
                self.context.limits.record(
                    self.account_key, RateLimit(limit=None, remaining=0, reset_at=latest)
                )
        return latest

    async def _wait_for_capacity(self, call: http.Call) -> None:
        """Sleep until every bucket has capacity, or raise if that is beyond ``max_wait``."""
        while True:
            now = self.clock.now()
            resets = [
                reset
                for key in self._bucket_keys()
                if (reset := self.context.limits.wait_until(key, now)) is not None
            ]
            if not resets:
                return
            reset_at = max(resets)
            delay = (reset_at - now).total_seconds() + _RESET_SLACK
            if delay > self.context.retry.max_wait:
                raise RateLimitedError(
                    f"{call.action}: the rate limit is used up until {reset_at:%Y-%m-%d %H:%M} UTC",
                    platform=self.platform,
                    reset_at=reset_at,
                    status=None,
                    hint="brandkit will try again after the reset",
                )
            logger.info("%s: waiting %.1f s for the rate limit to reset", self.platform, delay)
            await self.clock.sleep(delay)

    # --- retries ----------------------------------------------------------------------------

    def _worth_retrying(self, exc: BaseException) -> bool:
        """Retry what certainly did not take effect, and a 429 whose reset is near enough."""
        if not isinstance(exc, TransientError) or isinstance(exc, OutcomeUnknownError):
            return False
        if isinstance(exc, RateLimitedError) and exc.reset_at is not None:
            wait = (exc.reset_at - self.clock.now()).total_seconds()
            return wait <= self.context.retry.max_wait
        return True

    def _wait_before_retry(self, state: RetryCallState) -> float:
        policy = self.context.retry
        delay = policy.backoff(state.attempt_number, self.context.rng)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.reset_at is not None:
            until_reset = (exc.reset_at - self.clock.now()).total_seconds() + _RESET_SLACK
            delay = max(delay, until_reset)
        return max(0.0, delay)

    # --- credentials ------------------------------------------------------------------------

    def _expires_soon(self) -> bool:
        expires = self.auth.expires_at(self._credentials)
        if expires is None or not self.auth.can_refresh(self._credentials):
            return False
        return expires - self.clock.now() <= REFRESH_MARGIN

    async def _refresh(
        self, call: http.Call, *, reason: str, used: Credentials | None = None
    ) -> bool:
        """Renew the credentials once per account at a time; save them before use.

        ``used`` are the credentials the platform rejected (default: the current ones). If they
        were replaced meanwhile (another request of this session, another connector of this
        process, or another process that saved to the store), the replacement is adopted rather
        than spending the rotating refresh token again. A refresh refused because another
        process spent the same refresh token first adopts that process's saved credentials.
        """
        used = used if used is not None else self._credentials
        async with self.context.limits.lock(f"refresh:{self.account_key}"):
            if self._credentials.token != used.token:  # this session renewed them meanwhile
                return True
            store = self.context.store
            if store is not None:
                stored = await store.load()
                if stored.token != used.token:  # someone else refreshed while we waited
                    self._credentials = stored
                    return True
            try:
                fresh = await self.auth.refresh(self, used)
            except AuthExpiredError:
                if store is not None:
                    stored = await store.load()
                    if stored.token != used.token:  # another process won the race
                        self._credentials = stored
                        return True
                raise
            if store is not None:
                await store.save(fresh)
            self._credentials = fresh
        logger.info("%s: access token renewed (%s)", self.platform, reason)
        return True

    async def send_unauthenticated(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        action: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: object = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra_secrets: Iterable[str] = (),
    ) -> httpx.Response:
        """One request without the account's token (a token endpoint), mapped like any other.

        Used by :meth:`Authenticator.refresh`; ``extra_secrets`` (a client secret, a refresh
        token) are redacted from whatever it raises. A 400/401 from a token endpoint means the
        grant is gone, so it is ``AuthExpiredError``.
        """
        secrets = (*secrets_of(self._credentials), *(s for s in extra_secrets if s))
        call = http.Call(self.platform, action, secrets)
        request = self._build(method, path_or_url, params, json, data, headers or {})
        response = await http.send(self.client, request, call)
        if response.status_code in (400, 401, 403):
            said = http.error_message(response, secrets) or response.reason_phrase
            raise AuthExpiredError(
                f"{action} failed (HTTP {response.status_code}): {said}",
                platform=self.platform,
                status=response.status_code,
                body=http.error_body(response, secrets),
                hint=f"the grant was revoked or expired; run: brandkit auth {self.platform}",
            )
        http.raise_for_status(response, call)
        return response


class SessionConnector:
    """What a connector built on one :class:`ApiSession` (as ``_session``) does the same way.

    Its ``repr`` is the session's (secrets hidden), ``last_rate_limit`` is what the platform last
    said, and ``aclose`` has nothing to release: the HTTP client belongs to the caller.
    """

    _session: ApiSession

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._session!r})"

    @property
    def last_rate_limit(self) -> RateLimit | None:
        return self._session.last_rate_limit

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""


def _derived_key(platform: str, base_url: str, credentials: Credentials) -> str:
    digest = hashlib.sha256(credentials.token.encode()).hexdigest()[:16]
    return f"{platform}:{base_url.rstrip('/')}:{digest}"
