"""What every connector test builds around its fake platform, written once.

Each ``tests/test_<platform>_connector.py`` needs the same rig: payloads read from
``tests/fixtures/<platform>/``, JSON answers with headers, a fake server that records each request
and answers per route (any route a test can override), an ``httpx.AsyncClient`` whose transport is
that server (the ``client`` fixture, registered for every test module through ``conftest.py``), a
connector built with a :class:`ConnectorContext` on a :class:`SimulatedClock` with one attempt per
call unless a test says otherwise, a credential store in memory, and the list of what
``fetch_post_metrics`` yields. Only the platform's own routes, payloads and answers stay in its
test module.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from brandkit.clock import SimulatedClock
from brandkit.platforms.api import NO_RETRY, ConnectorContext, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Connector, Credentials, PostStats

Handler = Callable[[httpx.Request], httpx.Response]
C = TypeVar("C", bound=Connector)

FIXTURES = Path(__file__).parent / "fixtures"


def answer(payload: object, status: int = 200, **headers: str) -> httpx.Response:
    """A JSON answer with ``headers``."""
    return httpx.Response(status, json=payload, headers=headers)


def form(request: httpx.Request) -> dict[str, str]:
    """The form fields of a request body (the first value of each)."""
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class Fixtures:
    """The documented payloads of one platform, in ``tests/fixtures/<platform>/``."""

    def __init__(self, platform: str) -> None:
        self.folder = FIXTURES / platform

    def load(self, name: str) -> Any:
        return json.loads((self.folder / name).read_text(encoding="utf-8"))

    def answer(self, name: str, status: int = 200, **headers: str) -> httpx.Response:
        """The payload ``name`` as a JSON answer."""
        return answer(self.load(name), status, **headers)

    def handler(self, name: str, status: int = 200, **headers: str) -> Handler:
        """A route answering every request with the payload ``name``."""
        return lambda request: self.answer(name, status, **headers)


class FakeServer:
    """An ``httpx.MockTransport`` handler: records every request, answers it by route.

    A subclass fills :attr:`routes` with the documented answers (or answers in :meth:`fallback`);
    a test puts its own in :attr:`overrides`: a handler, or a list of handlers used one per
    request, the last one staying. Routes are keyed by :meth:`key`, ``(method, path)`` unless
    the platform's API is better named otherwise (an XRPC method, a path alone).
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[Hashable, Handler] = {}
        self.overrides: dict[Hashable, Handler | list[Handler]] = {}

    def key(self, request: httpx.Request) -> Hashable:
        return (request.method, request.url.path)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = self.key(request)
        override = self.overrides.get(key)
        if isinstance(override, list):
            return (override.pop(0) if len(override) > 1 else override[0])(request)
        if override is not None:
            return override(request)
        route = self.routes.get(key)
        return route(request) if route is not None else self.fallback(request)

    def fallback(self, request: httpx.Request) -> httpx.Response:
        """The answer to a request no route knows."""
        return httpx.Response(404)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested so far (with ``method`` only), in order."""
        return [r.url.path for r in self.requests if method in (None, r.method)]

    def to(self, path: str, method: str | None = None) -> list[httpx.Request]:
        """The requests sent to ``path`` (with ``method`` only)."""
        return [r for r in self.requests if r.url.path == path and method in (None, r.method)]


@pytest.fixture
async def client(server: Handler) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose transport is the test module's ``server`` fixture."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http_client:
        yield http_client


class MemoryStore:
    """A credential store that remembers what was saved, as the account row would."""

    def __init__(self, credentials: Credentials) -> None:
        self.current = credentials
        self.saved: list[Credentials] = []

    async def load(self) -> Credentials:
        return self.current

    async def save(self, credentials: Credentials) -> None:
        self.saved.append(credentials)
        self.current = credentials


def connect(
    cls: Callable[..., C],
    client: httpx.AsyncClient,
    clock: SimulatedClock,
    credentials: Credentials,
    *,
    base_url: str,
    retry: RetryPolicy = NO_RETRY,
    store: MemoryStore | None = None,
    limits: RateLimitBook | None = None,
    account_key: str | None = None,
) -> C:
    """A connector of ``cls`` with its context on ``clock`` (one attempt per call by default)."""
    context = ConnectorContext(
        clock=clock,
        retry=retry,
        limits=limits or RateLimitBook(),
        account_key=account_key,
        store=store,
    )
    return cls(client=client, base_url=base_url, credentials=credentials, context=context)


async def collect(connector: Connector, since: datetime | None = None) -> list[PostStats]:
    """Everything ``fetch_post_metrics`` yields."""
    return [stats async for stats in connector.fetch_post_metrics(since=since)]
