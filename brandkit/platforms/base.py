"""The connector interface every platform implements, and the registry that finds one by name.

A connector is as small as an httpx transport: five coroutines and a few class attributes that
describe what the platform can do. It receives an ``httpx.AsyncClient`` (tests inject one with
``httpx.MockTransport``), a base URL and the decrypted credentials, and maps HTTP failures to
``brandkit.errors`` with ``raise … from exc``. It knows nothing about post states: the publisher
decides what a failure means for a variant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import ClassVar, Protocol, runtime_checkable

import httpx

from brandkit.errors import UnknownPlatformError


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What the platform said about a post it accepted."""

    remote_id: str
    url: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileCounts:
    """An account's public counts at one moment."""

    remote_id: str
    handle: str
    followers: int
    following: int | None
    posts_count: int | None


@dataclass(frozen=True, slots=True)
class PostStats:
    """One post's engagement counters; ``None`` where the platform does not report a number."""

    remote_id: str
    created_at: datetime
    url: str | None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    bookmarks: int | None = None
    impressions: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The platform's last word on how many calls are left and when the window resets."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class Credentials:
    """Decrypted secrets for one account. ``repr`` never shows them."""

    token: str
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "Credentials(token='***')"


@runtime_checkable
class Connector(Protocol):
    """One platform account, spoken to over the platform's HTTP API."""

    platform: ClassVar[str]
    can_publish_text: ClassVar[bool]
    max_length: ClassVar[int]
    metrics_fields: ClassVar[frozenset[str]]
    supports_idempotency_key: ClassVar[bool]

    last_rate_limit: RateLimit | None

    async def publish(self, text: str, *, idempotency_key: str) -> PublishResult:
        """Post ``text``. Raise ``OutcomeUnknownError`` when it may or may not have gone out."""
        ...

    async def fetch_profile(self) -> ProfileCounts:
        """The account's current follower, following and post counts."""
        ...

    def fetch_post_metrics(self, *, since: datetime | None = None) -> AsyncIterator[PostStats]:
        """The account's posts, newest first, with their counters, following pagination."""
        ...

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """Look on the platform for a post this account may already have published."""
        ...

    async def aclose(self) -> None:
        """Release what the connector holds (not the injected client)."""
        ...


class ConnectorFactory(Protocol):
    """How a connector class is constructed; every connector's ``__init__`` has this shape."""

    def __call__(
        self, *, client: httpx.AsyncClient, base_url: str, credentials: Credentials
    ) -> Connector: ...


_BUILTIN: dict[str, str] = {
    "mastodon": "brandkit.platforms.mastodon:MastodonConnector",
}
_ENTRY_POINT_GROUP = "brandkit.platforms"


@cache
def _registered() -> dict[str, str]:
    """Built-ins plus entry points, scanned once per process (a scan costs ~7 ms)."""
    found = dict(_BUILTIN)
    for ep in entry_points(group=_ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def known_platforms() -> list[str]:
    """Every platform name a connector is registered under."""
    return sorted(_registered())


def get_connector_class(platform: str) -> ConnectorFactory:
    """Resolve ``platform`` to its connector class, importing the module only now."""
    target = _registered().get(platform.lower())
    if target is None:
        raise UnknownPlatformError(platform, known_platforms())
    module_name, _, attr = target.partition(":")
    cls: ConnectorFactory = getattr(import_module(module_name), attr)
    return cls


def create_connector(
    platform: str, *, client: httpx.AsyncClient, base_url: str, credentials: Credentials
) -> Connector:
    """Build the connector for ``platform`` around an injected HTTP client."""
    return get_connector_class(platform)(client=client, base_url=base_url, credentials=credentials)
