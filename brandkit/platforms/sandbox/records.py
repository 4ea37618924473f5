"""The sandbox's configuration and the plain records it keeps: accounts, statuses, errors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import Engagement, PostFeatures

FaultKind = Literal["error_500", "error_502", "error_503", "commit_then_502"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
VISIBILITIES: frozenset[str] = frozenset({"public", "unlisted", "private", "direct"})
_SANDBOX_TOKEN = re.compile(r"sandbox-([A-Za-z0-9_]{1,30})")


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How a sandbox behaves.

    ``seed`` drives every simulated number; ``timezone`` is the audience's (it decides which
    hours are good); ``latency_ms`` adds a real delay per request (loopback benchmarks only);
    ``rate_limit`` is ``(requests, seconds)`` per token, enforced with 429s, or ``None`` to only
    report Mastodon's default 300 per 5 minutes; ``max_characters`` is the status length limit.
    ``history`` is how many statuses every account already has when it is first seen (one every
    :data:`~.simulation.HISTORY_SPACING`, the newest ``history_end`` or, by default, the
    simulation's epoch), for benchmarks that need accounts with a past.
    """

    seed: int = 0
    timezone: str = "Asia/Tokyo"
    latency_ms: float = 0.0
    rate_limit: tuple[int, float] | None = None
    max_characters: int = 500
    history: int = 0
    history_end: datetime | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} for the sandbox") from exc
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be zero or more, not {self.latency_ms}")
        if self.rate_limit is not None and (self.rate_limit[0] < 1 or self.rate_limit[1] <= 0):
            raise ValueError(f"rate_limit must be (requests >= 1, seconds > 0): {self.rate_limit}")
        if self.max_characters < 1:
            raise ValueError(f"max_characters must be positive, not {self.max_characters}")
        if not 0 <= self.history <= 10_000:
            raise ValueError(f"history must be between 0 and 10000 statuses, not {self.history}")


class ValidationError(ValueError):
    """The platform refuses the status; ``message`` is Mastodon's error text (HTTP 422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReplyTargetMissingError(LookupError):
    """``in_reply_to_id`` names no status this account can see (HTTP 404 on Mastodon)."""


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    """An account's fixed profile, derived from ``(seed, username)``."""

    id: str
    username: str
    created_at: datetime
    initial_followers: int
    following: int
    appeal: float
    organic_rate: float
    unfollow_rate: float


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """A published status and everything the model fixed about it when it was posted."""

    id: int
    account_id: str
    username: str
    text: str
    created_at: datetime
    visibility: str
    sensitive: bool
    spoiler_text: str
    language: str
    in_reply_to_id: int | None
    in_reply_to_account_id: str | None
    idempotency_key: str | None
    tags: tuple[str, ...]
    features: PostFeatures
    quality: float
    reach: float
    targets: Engagement
    follower_delta: float

    def visible_to(self, viewer: str) -> bool:
        """Public and unlisted statuses are visible to all, others only to their author."""
        return self.visibility in ("public", "unlisted") or self.username == viewer


def username_for_token(token: str) -> str | None:
    """The account a bearer token stands for, or ``None`` when the token is invalid.

    ``sandbox-<username>`` names the account; any other non-empty token gets a username derived
    from its hash; empty tokens and tokens starting with ``revoked`` are refused.
    """
    token = token.strip()
    if not token or token.lower().startswith("revoked"):
        return None
    match = _SANDBOX_TOKEN.fullmatch(token)
    if match:
        return match.group(1)
    return "user_" + hashlib.sha256(token.encode()).hexdigest()[:12]
