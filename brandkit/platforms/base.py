"""The connector interface every platform implements, and the registry that finds one by name.

A connector is as small as an httpx transport: five coroutines and a few class attributes that
describe what the platform can do. It receives an ``httpx.AsyncClient`` (tests inject one with
``httpx.MockTransport``), a base URL, the decrypted credentials and an optional
:class:`~brandkit.platforms.api.ConnectorContext` (clock, shared rate-limit book, retry policy,
credential store), and sends every request through an :class:`~brandkit.platforms.api.ApiSession`,
which owns waiting, retrying, token refresh and redaction for all platforms alike. It knows
nothing about post states: the publisher decides what a failure means for a variant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import httpx

from brandkit.errors import UnknownPlatformError

if TYPE_CHECKING:
    from brandkit.platforms.api import ConnectorContext


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
    """One post's engagement counters; ``None`` where the platform does not report a number.

    ``text`` is filled where reconciliation needs it (``find_post``); a connector may leave it
    ``None`` in ``fetch_post_metrics`` when producing it is costly (Mastodon's HTML).
    """

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

    def get(self, key: str) -> str | None:
        """One extra value (``refresh_token``, ``expires_at``, ``user_id``…), or ``None``."""
        value = self.extra.get(key)
        return value if value else None

    def with_updates(self, token: str | None = None, **extra: str | None) -> Credentials:
        """A copy with a new token and/or extras; an extra set to ``None`` is dropped."""
        merged = {**self.extra, **{k: v for k, v in extra.items() if v is not None}}
        for key in [k for k, v in extra.items() if v is None]:
            merged.pop(key, None)
        return Credentials(token=token if token is not None else self.token, extra=merged)


@runtime_checkable
class Connector(Protocol):
    """One platform account, spoken to over the platform's HTTP API."""

    platform: ClassVar[str]
    #: False for a metrics-only platform (YouTube) or one that needs an image (Instagram).
    can_publish_text: ClassVar[bool]
    max_length: ClassVar[int]
    metrics_fields: ClassVar[frozenset[str]]
    #: True when a resend with the same key cannot create a second post.
    supports_idempotency_key: ClassVar[bool]
    #: True when ``publish`` takes ``image_url`` (a public URL the platform fetches itself).
    accepts_image_url: ClassVar[bool]

    @property
    def last_rate_limit(self) -> RateLimit | None:
        """What the platform last said about this account's rate-limit bucket."""
        ...

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post ``text`` (with the image at public ``image_url`` where the platform takes one).

        Raise ``OutcomeUnknownError`` when it may or may not have gone out, ``RejectedError``
        when the platform cannot take this kind of post at all (saying why).
        """
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

    default_base_url: str | None
    can_publish_text: bool
    accepts_image_url: bool

    def __call__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> Connector: ...


_BUILTIN: dict[str, str] = {
    "bluesky": "brandkit.platforms.bluesky:BlueskyConnector",
    "facebook": "brandkit.platforms.facebook:FacebookPageConnector",
    "instagram": "brandkit.platforms.instagram:InstagramConnector",
    "linkedin": "brandkit.platforms.linkedin:LinkedInConnector",
    "mastodon": "brandkit.platforms.mastodon:MastodonConnector",
    "threads": "brandkit.platforms.threads:ThreadsConnector",
    "x": "brandkit.platforms.x:XConnector",
    "youtube": "brandkit.platforms.youtube:YouTubeConnector",
}
_ENTRY_POINT_GROUP = "brandkit.platforms"


@cache
def _registered() -> dict[str, str]:
    """Built-ins plus entry points, scanned once per process (a scan costs ~7 ms)."""
    found = dict(_BUILTIN)
    for ep in entry_points(group=_ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def takes_image_url(connector: object) -> bool:
    """Whether a connector (class or instance) publishes an image by URL.

    Connectors from other packages may predate ``accepts_image_url``; they take none.
    """
    return bool(getattr(connector, "accepts_image_url", False))


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
    platform: str,
    *,
    client: httpx.AsyncClient,
    base_url: str,
    credentials: Credentials,
    context: ConnectorContext | None = None,
) -> Connector:
    """Build the connector for ``platform`` around an injected HTTP client."""
    cls = get_connector_class(platform)
    return cls(client=client, base_url=base_url, credentials=credentials, context=context)
