"""The fake platform every connector's contract test runs against.

Each platform supplies one subclass in ``tests/contract/fakes/<platform>.py`` (exposing it as
``FAKE``) that answers the documented endpoints the connector uses, with payloads shaped like
the platform's documentation (each fake names its pages). The shared state here is what the
contract checks: the posts that exist, the follower count, the requests that arrived, and a
queue of injected failures for the next matching request.

A fake is an ``httpx.MockTransport`` handler: no sockets, no sleeping. Time comes from
:attr:`FakePlatform.clock`, the same :class:`SimulatedClock` the connector's context uses, so a
rate-limit reset or a backoff advances simulated time only.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

import httpx

from brandkit.clock import SimulatedClock
from brandkit.platforms.base import Credentials

#: Which kind of request a failure is injected into.
Endpoint = Literal["publish", "profile", "metrics", "token"]

START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


@dataclass
class FakePost:
    """One post on the fake platform, with the counters its metrics endpoint reports."""

    remote_id: str
    text: str
    created_at: datetime
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    impressions: int = 0
    image_url: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Fault:
    """An answer to give instead of the documented one, ``times`` times in a row."""

    endpoint: Endpoint
    respond: Callable[[httpx.Request], httpx.Response]
    times: int = 1


class FakePlatform(ABC):
    """A platform's documented HTTP API over in-memory state, with injectable failures.

    Subclasses implement :meth:`route` (which endpoint a request is, or ``None``),
    :meth:`handle` (the documented answer) and the error answers in the platform's own shape
    (:meth:`rate_limited`, :meth:`unauthorized`, :meth:`server_error`, :meth:`malformed`).
    """

    #: the registry name of the connector under test
    platform: ClassVar[str]
    #: the base URL handed to the connector
    base_url: ClassVar[str]
    #: how many posts one page of the metrics endpoint holds (the fake's page size)
    page_size: ClassVar[int] = 10
    #: whether publishing needs an image (Instagram): the contract then passes ``image_url``
    needs_image: ClassVar[bool] = False
    #: whether the platform can publish at all (YouTube cannot)
    can_publish: ClassVar[bool] = True
    #: whether an expired token can be renewed without the user (refresh token, app password…)
    refreshable: ClassVar[bool] = True

    TOKEN: ClassVar[str] = "tok-SECRET-contract-0123456789"
    FRESH_TOKEN: ClassVar[str] = "tok-SECRET-refreshed-9876543210"

    def __init__(self, clock: SimulatedClock | None = None) -> None:
        self.clock = clock or SimulatedClock(START)
        self.requests: list[httpx.Request] = []
        self.faults: deque[Fault] = deque()
        self.posts: list[FakePost] = []  # oldest first
        self.followers = 1234
        self.following = 56
        self.valid_tokens: set[str] = {self.TOKEN, self.FRESH_TOKEN}
        self._ids = itertools.count(1)

    # --- what the contract uses -------------------------------------------------------------

    def credentials(self, *, expired: bool = False) -> Credentials:
        """Credentials the connector is built with; ``expired`` ones need a refresh first.

        The default puts an ``expires_at`` in the past and makes the old token invalid;
        platforms whose renewal works differently (Bluesky's session) override this.
        """
        if expired:
            self.valid_tokens.discard(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        """The ``extra`` part of :meth:`credentials` (refresh token, client id, user id…)."""
        expires = self.clock.now() + (timedelta(hours=-1) if expired else timedelta(hours=2))
        return {
            "refresh_token": "refresh-SECRET-abcdef",
            "client_id": "client-id-123",
            "expires_at": expires.isoformat(),
        }

    def seed_posts(self, count: int, *, start: datetime | None = None) -> list[FakePost]:
        """``count`` posts one hour apart, oldest first, with distinct counters."""
        first = start or self.clock.now() - timedelta(hours=count + 1)
        for n in range(count):
            self.posts.append(
                FakePost(
                    remote_id=self.new_id(),
                    text=f"Health tip number {n}: drink water and sleep well.",
                    created_at=first + timedelta(hours=n),
                    likes=n,
                    reposts=n % 7,
                    replies=n % 5,
                    quotes=n % 3,
                    impressions=100 + n,
                )
            )
        return self.posts

    def fail_next(
        self,
        endpoint: Endpoint,
        respond: Callable[[httpx.Request], httpx.Response],
        *,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``respond`` instead."""
        self.faults.append(Fault(endpoint, respond, times))

    def new_id(self) -> str:
        return str(1_000_000 + next(self._ids))

    def requests_to(self, endpoint: Endpoint) -> list[httpx.Request]:
        return [r for r in self.requests if self.route(r) == endpoint]

    def authorized(self, request: httpx.Request) -> bool:
        """Whether ``request`` carries a valid ``Authorization: Bearer`` token."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return token in self.valid_tokens

    # --- the transport ----------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        endpoint = self.route(request)
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault.respond(request)
        return self.handle(request, endpoint)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    # --- platform-specific ------------------------------------------------------------------

    @abstractmethod
    def route(self, request: httpx.Request) -> Endpoint | None:
        """Which contract endpoint ``request`` is (``None`` for anything else it may call)."""

    @abstractmethod
    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        """The documented answer, checking the request's authentication against state."""

    @abstractmethod
    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        """A 429 in the platform's shape, telling (where it can) when the window resets."""

    @abstractmethod
    def unauthorized(self) -> httpx.Response:
        """The answer to a token that is invalid or expired."""

    @abstractmethod
    def server_error(self) -> httpx.Response:
        """A 5xx in the platform's shape."""

    def malformed(self) -> httpx.Response:
        """A 200 whose body is not the documented JSON (a proxy's HTML page)."""
        return httpx.Response(
            200,
            text="<html><body>Service temporarily unavailable</body></html>",
            headers={"Content-Type": "text/html"},
        )

    def published_text(self, post: FakePost) -> str:
        """The text as the platform stores it (Mastodon renders HTML, most keep it as sent)."""
        return post.text
