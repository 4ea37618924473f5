"""Per-token rate limits and artificial latency, as an ASGI middleware around the sandbox.

Mastodon reports its limits on every response (``X-RateLimit-Limit``, ``-Remaining`` and
``-Reset``, the last an ISO 8601 time) and answers 429 once a token has used up its window.
Windows here are fixed and aligned to multiples of the period since the Unix epoch, like
Rack::Attack's, and all times come from the injected clock so tests can step past a reset.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brandkit.clock import Clock, ensure_utc

DEFAULT_LIMIT = (300, 300.0)  # Mastodon's default: 300 requests per 5 minutes per account
_MAX_TRACKED = 10_000


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether one request may proceed, and what to tell the client about its budget."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers, reset as ISO 8601 with microseconds like Mastodon."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": self.reset_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }


class RateLimiter:
    """Counts requests per key in fixed windows; rejects only when ``enforce`` is set."""

    def __init__(self, limit: int, seconds: float, *, enforce: bool) -> None:
        self.limit = limit
        self.seconds = seconds
        self.enforce = enforce
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, now: datetime) -> Decision:
        """Count one request by ``key`` at ``now``."""
        stamp = ensure_utc(now).timestamp()
        window = math.floor(stamp / self.seconds)
        if len(self._windows) > _MAX_TRACKED:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        seen_window, count = self._windows.get(key, (window, 0))
        if seen_window != window:
            count = 0
        count += 1
        self._windows[key] = (window, count)
        reset_at = datetime.fromtimestamp((window + 1) * self.seconds, UTC)
        allowed = not self.enforce or count <= self.limit
        return Decision(allowed, self.limit, max(0, self.limit - count), reset_at)


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class LimitsMiddleware:
    """Delays each request by ``latency_s`` (really), counts it, and stamps the headers."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, clock: Clock, latency_s: float
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.clock = clock
        self.latency_s = latency_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        token = bearer_token(Headers(scope=scope)) or ""
        decision = self.limiter.hit(token, self.clock.now())
        headers = decision.headers()
        if not decision.allowed:
            response = JSONResponse({"error": "Too many requests"}, 429, headers=headers)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
