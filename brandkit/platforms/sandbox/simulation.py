"""The simulated platform's state and audience, with no HTTP in sight.

Accounts appear the first time their token is seen; their starting numbers come from
``(seed, username)`` alone. Follower counts and engagement are computed lazily at whatever moment
is asked, from the seed, the account's posts and their times, and nothing else: two simulations
with the same seed that receive the same posts at the same times report the same numbers however
often (or seldom) they are polled. Every random draw comes from a generator keyed by a string such
as ``"seed:username:day:2025-01-06"``, never from one shared stream. See :mod:`.model` for the
weights and the story behind them, :mod:`.audience` for the follower curve.

Time is always passed in (``at=``); the HTTP layer reads it from the injected clock.
"""

from __future__ import annotations

import hashlib
import math
import threading
from bisect import bisect_left, bisect_right
from collections import deque
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from brandkit.clock import ensure_utc

from . import model, text
from .audience import Timeline
from .model import DAY, Engagement, ModelWeights, PostFeatures
from .records import (
    FAULT_KINDS,
    VISIBILITIES,
    FaultKind,
    ReplyTargetMissingError,
    SandboxAccount,
    SandboxConfig,
    SandboxStatus,
    ValidationError,
    username_for_token,
)

IDEMPOTENCY_TTL = timedelta(hours=1)
HISTORY_SPACING = timedelta(hours=2)
_HISTORY_TEXTS = (
    "季節の変わり目は体調を崩しやすい時期です。睡眠と水分をしっかりとりましょう。 #健康",
    "手洗いは指先と手首まで。30秒を目安に、流水でていねいに。 #感染対策",
    "Short walks after meals help keep blood sugar steady. #health",
)


def history_schedule(username: str, count: int, end: datetime) -> list[tuple[int, datetime]]:
    """The ids and times of the ``count`` statuses an account has before ``end``, oldest first.

    A pure function of its arguments, so a benchmark can know the ids the sandbox will serve:
    one status every :data:`HISTORY_SPACING`, shifted by a per-account offset under the spacing,
    with ids Snowflake-like (the millisecond in the high bits, 16 bits of the account below).
    """
    digest = int(hashlib.sha256(f"history:{username}".encode()).hexdigest()[:16], 16)
    spacing_ms = int(HISTORY_SPACING.total_seconds() * 1000)
    offset = timedelta(milliseconds=digest % spacing_ms)
    low = (digest >> 32) & 0xFFFF
    schedule = []
    for index in range(count, 0, -1):
        at = ensure_utc(end) - index * HISTORY_SPACING - offset
        schedule.append(((round(at.timestamp() * 1000) << 16) | low, at))
    return schedule


class Simulation:
    """The sandbox's accounts, statuses, simulated audience and injected faults.

    ``epoch`` anchors organic growth: it is rounded down to local midnight, and accounts have
    their initial follower count then. Two simulations agree when they share seed and epoch day.
    Left ``None``, it is fixed by the first moment the simulation is asked about.

    All methods are thread-safe and never await, so concurrent requests on one event loop see
    each call as atomic.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        epoch: datetime | None = None,
        weights: ModelWeights = model.WEIGHTS,
    ) -> None:
        self.config = config or SandboxConfig()
        self.weights = weights
        self._tz = ZoneInfo(self.config.timezone)
        self._epoch: float | None = None if epoch is None else self._midnight(epoch)
        self._lock = threading.RLock()
        self._accounts: dict[str, SandboxAccount] = {}
        self._accounts_by_id: dict[str, SandboxAccount] = {}
        self._timelines: dict[str, Timeline] = {}
        self._statuses: dict[int, SandboxStatus] = {}
        self._keys: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._faults: deque[FaultKind] = deque()
        self._last_id = 0

    # -- accounts -------------------------------------------------------------------------

    def account_for_token(self, token: str) -> SandboxAccount | None:
        """The (lazily created) account behind ``token``, or ``None`` if it is invalid."""
        username = username_for_token(token)
        return None if username is None else self.account(username)

    def account(self, username: str) -> SandboxAccount:
        """The account called ``username``, created on first use."""
        with self._lock:
            found = self._accounts.get(username)
            if found is None:
                found = self._new_account(username)
                self._accounts[username] = found
                self._accounts_by_id[found.id] = found
                self._timelines[username] = Timeline(
                    found, seed=self.config.seed, tz=self._tz, weights=self.weights
                )
                self._seed_history(found)
            return found

    def _seed_history(self, account: SandboxAccount) -> None:
        """Give a new account its ``config.history`` statuses from before the epoch."""
        count = self.config.history
        if not count:
            return
        if self.config.history_end is not None:
            end = self.config.history_end
        elif self._epoch is not None:
            end = datetime.fromtimestamp(self._epoch, UTC)
        else:
            raise ValueError("a sandbox with history needs history_end or an epoch")
        for index, (status_id, at) in enumerate(history_schedule(account.username, count, end)):
            status_text = _HISTORY_TEXTS[index % len(_HISTORY_TEXTS)]
            while status_id in self._statuses:  # two accounts on one millisecond and id
                status_id += 1
            self._store(self._new_status(account, status_text, at=at, status_id=status_id))
            self._last_id = max(self._last_id, status_id)

    def account_by_id(self, account_id: str) -> SandboxAccount | None:
        """An account already seen, by its id."""
        with self._lock:
            return self._accounts_by_id.get(account_id)

    def _new_account(self, username: str) -> SandboxAccount:
        w = self.weights
        rng = model.keyed_rng(self.config.seed, username, "profile")
        low, high = w.followers_range
        digest = hashlib.sha256(f"account:{username}".encode()).hexdigest()
        return SandboxAccount(
            id=str(int(digest[:13], 16) + 1),
            username=username,
            created_at=datetime.combine(
                date(2019, 1, 1) + timedelta(days=rng.randrange(1800)), time(), tzinfo=UTC
            ),
            initial_followers=round(math.exp(rng.uniform(math.log(low), math.log(high)))),
            following=rng.randint(*w.following_range),
            appeal=rng.uniform(*w.appeal_range),
            organic_rate=rng.uniform(*w.organic_rate_range),
            unfollow_rate=rng.uniform(*w.unfollow_rate_range),
        )

    # -- posting --------------------------------------------------------------------------

    def post_status(
        self,
        username: str,
        status_text: str,
        *,
        at: datetime,
        idempotency_key: str | None = None,
        visibility: str = "public",
        sensitive: bool = False,
        spoiler_text: str = "",
        language: str | None = None,
        in_reply_to_id: int | None = None,
    ) -> tuple[SandboxStatus, bool]:
        """Publish a status at ``at``; returns it and whether it is new.

        A repeated ``idempotency_key`` from the same account within an hour returns the first
        status without creating another, as Mastodon does. Raises :class:`ValidationError` for
        blank or over-long text or a bad visibility, :class:`ReplyTargetMissingError` for an
        unknown ``in_reply_to_id``.
        """
        at = ensure_utc(at)
        with self._lock:
            account = self.account(username)
            previous = self._replay(username, idempotency_key, at)
            if previous is not None:
                return previous, False
            self._validate(status_text, spoiler_text, visibility)
            reply_account = None
            if in_reply_to_id is not None:
                target = self.status(in_reply_to_id, viewer=username)
                if target is None:
                    raise ReplyTargetMissingError(in_reply_to_id)
                reply_account = target.account_id
            # Snowflake-like: milliseconds in the high bits, always increasing.
            self._last_id = max(self._last_id + 1, int(at.timestamp() * 1000) << 16)
            status = self._new_status(
                account,
                status_text,
                at=at,
                status_id=self._last_id,
                visibility=visibility,
                sensitive=sensitive,
                spoiler_text=spoiler_text,
                language=language,
                in_reply_to_id=in_reply_to_id,
                in_reply_to_account_id=reply_account,
                idempotency_key=idempotency_key,
            )
            self._store(status)
            if idempotency_key:
                self._keys[(username, idempotency_key)] = (status.id, at)
            return status, True

    def _new_status(
        self,
        account: SandboxAccount,
        status_text: str,
        *,
        at: datetime,
        status_id: int,
        visibility: str = "public",
        sensitive: bool = False,
        spoiler_text: str = "",
        language: str | None = None,
        in_reply_to_id: int | None = None,
        in_reply_to_account_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SandboxStatus:
        """A status with everything the model fixes when it is posted (not stored yet)."""
        timeline = self._timelines[account.username]
        features, post_quality, reach, targets = self._score(timeline, status_text, at)
        return SandboxStatus(
            id=status_id,
            account_id=account.id,
            username=account.username,
            text=status_text,
            created_at=at,
            visibility=visibility,
            sensitive=sensitive,
            spoiler_text=spoiler_text,
            language=language or text.guess_language(status_text),
            in_reply_to_id=in_reply_to_id,
            in_reply_to_account_id=in_reply_to_account_id,
            idempotency_key=idempotency_key,
            tags=tuple(text.hashtags(status_text)),
            features=features,
            quality=post_quality,
            reach=reach,
            targets=targets,
            follower_delta=model.follower_delta(targets, reach, features.posts_24h, self.weights),
        )

    def _store(self, status: SandboxStatus) -> None:
        self._statuses[status.id] = status
        self._timelines[status.username].add(status, self._epoch_ts(status.created_at))

    def _replay(self, username: str, key: str | None, at: datetime) -> SandboxStatus | None:
        while self._keys:  # keys arrive in time order: expire from the front
            oldest = next(iter(self._keys))
            if at - self._keys[oldest][1] < IDEMPOTENCY_TTL:
                break
            del self._keys[oldest]
        if not key or (username, key) not in self._keys:
            return None
        status_id, when = self._keys[(username, key)]
        return self._statuses[status_id] if at - when < IDEMPOTENCY_TTL else None

    def _validate(self, status_text: str, spoiler_text: str, visibility: str) -> None:
        if text.is_blank(status_text):
            raise ValidationError("Validation failed: Text can't be blank")
        limit = self.config.max_characters
        if text.count_characters(status_text) + text.count_characters(spoiler_text) > limit:
            raise ValidationError(f"Validation failed: Text character limit of {limit} exceeded")
        if visibility not in VISIBILITIES:
            raise ValidationError(f"'{visibility}' is not a valid visibility")

    def _score(
        self, timeline: Timeline, status_text: str, at: datetime
    ) -> tuple[PostFeatures, float, float, Engagement]:
        """Fix a post's features, quality, reach and final engagement as it is posted."""
        account = timeline.account
        ts = at.timestamp()
        epoch = self._epoch_ts(at)
        avg_sentence, spaced = text.average_sentence_length(status_text)
        features = PostFeatures(
            local_hour=at.astimezone(self._tz).hour,
            length=text.count_characters(status_text),
            avg_sentence=avg_sentence,
            spaced_script=spaced,
            hashtags=len(text.hashtags(status_text)),
            posts_24h=timeline.posts_between(ts - DAY, ts),
            posts_7d=timeline.posts_between(ts - 7 * DAY, ts),
        )
        rng = model.keyed_rng(
            self.config.seed, account.username, "post", len(timeline.statuses), at.isoformat()
        )
        noise = rng.lognormvariate(0.0, self.weights.quality_noise_sigma)
        post_quality = model.quality(features, noise, self.weights)
        day_start = ts if ts <= epoch else epoch + math.floor((ts - epoch) / DAY) * DAY
        reach = timeline.followers(day_start, epoch)
        targets = model.engagement_targets(reach, account.appeal, post_quality, rng, self.weights)
        return features, post_quality, reach, targets

    # -- reading --------------------------------------------------------------------------

    def status(self, status_id: int, *, viewer: str | None = None) -> SandboxStatus | None:
        """A status by id; private and direct ones only for their author when ``viewer`` is set."""
        with self._lock:
            found = self._statuses.get(status_id)
        if found is None or (viewer is not None and not found.visible_to(viewer)):
            return None
        return found

    def statuses(self, username: str) -> list[SandboxStatus]:
        """Every status of ``username``, oldest first (for tests and the demo)."""
        with self._lock:
            timeline = self._timelines.get(username)
            return list(timeline.statuses) if timeline else []

    def page(
        self,
        username: str,
        *,
        viewer: str,
        limit: int,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
    ) -> tuple[list[SandboxStatus], bool]:
        """One page of an account's statuses, newest first, and whether older ones remain.

        Mastodon's cursors: ``max_id`` is an exclusive upper bound; ``since_id`` an exclusive
        lower bound giving the newest statuses above it; ``min_id`` an exclusive lower bound
        giving the statuses immediately above it.
        """
        with self._lock:
            timeline = self._timelines.get(username)
            if timeline is None:
                return [], False
            ids, statuses = timeline.ids, timeline.statuses
            high = bisect_left(ids, max_id) if max_id is not None else len(ids)
            low = max(
                bisect_right(ids, since_id) if since_id is not None else 0,
                bisect_right(ids, min_id) if min_id is not None else 0,
            )
            order = range(low, high) if min_id is not None else range(high - 1, low - 1, -1)
            chosen: list[SandboxStatus] = []
            for index in order:
                if len(chosen) == limit:
                    break
                if statuses[index].visible_to(viewer):
                    chosen.append(statuses[index])
            if not chosen:
                return [], False
            chosen.sort(key=lambda status: status.id, reverse=True)
            oldest = bisect_left(ids, chosen[-1].id)
            has_older = any(statuses[i].visible_to(viewer) for i in range(oldest - 1, -1, -1))
            return chosen, has_older

    def followers_at(self, username: str, at: datetime) -> int:
        """The follower count of ``username`` at ``at``."""
        at = ensure_utc(at)
        with self._lock:
            self.account(username)
            followers = self._timelines[username].followers(at.timestamp(), self._epoch_ts(at))
            return max(0, math.floor(followers + 0.5))

    def statuses_count(self, username: str, at: datetime) -> int:
        """How many statuses ``username`` had published by ``at``."""
        with self._lock:
            timeline = self._timelines.get(username)
            return timeline.count_until(ensure_utc(at).timestamp()) if timeline else 0

    def last_status_at(self, username: str) -> datetime | None:
        """When ``username`` last posted, or ``None``."""
        with self._lock:
            timeline = self._timelines.get(username)
            if timeline is None or not timeline.statuses:
                return None
            return timeline.statuses[-1].created_at

    def engagement_at(self, status: SandboxStatus, at: datetime) -> Engagement:
        """The status's favourites, boosts, replies and quotes at ``at``."""
        elapsed = (ensure_utc(at) - status.created_at).total_seconds()
        return model.engagement_at(status.targets, elapsed, self.weights)

    # -- faults ---------------------------------------------------------------------------

    def inject_fault(self, kind: FaultKind, count: int = 1) -> None:
        """Make the next ``count`` ``POST /api/v1/statuses`` calls fail in the way ``kind`` says.

        ``error_500``/``error_502``/``error_503`` answer with that status and create nothing;
        ``commit_then_502`` creates (or replays) the status, then answers 502, as a proxy that
        timed out after the platform applied the post would. A fault is used up by the next
        authorised POST whatever its body.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError(f"fault count must be at least 1, not {count}")
        with self._lock:
            self._faults.extend([kind] * count)

    def take_fault(self) -> FaultKind | None:
        """The fault the next status POST should suffer, consuming it."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @property
    def pending_faults(self) -> list[FaultKind]:
        """Faults not yet consumed, in order."""
        with self._lock:
            return list(self._faults)

    # -- time -----------------------------------------------------------------------------

    def _midnight(self, moment: datetime) -> float:
        local = ensure_utc(moment).astimezone(self._tz)
        return datetime.combine(local.date(), time(), tzinfo=self._tz).timestamp()

    def _epoch_ts(self, moment: datetime) -> float:
        if self._epoch is None:
            self._epoch = self._midnight(moment)
        return self._epoch
