"""The sandbox's behavioural model: what makes a simulated post do well, and how followers move.

Everything here is a pure function of its arguments, so the simulation can evaluate it lazily at
any moment and get the same answer however often it is asked. Randomness comes only from
``random.Random`` instances keyed by strings (see :func:`keyed_rng`), never from a shared stream
whose state would depend on how often the API was polled.

The numbers live in one table, :class:`ModelWeights`, so the model can be read (and tuned) in one
place.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class ModelWeights:
    """Every weight of the simulated audience, with the story behind it.

    **Accounts.** Each (seed, username) gets a starting follower count (log-uniform in
    ``followers_range``), a following count, an *appeal* factor that scales all engagement, and a
    base organic growth rate.

    **Organic growth.** Each local day the account gains ``followers x organic rate x cadence
    multiplier x noise`` and loses ``followers x unfollow rate``. The cadence multiplier is read
    from the posts of the *previous seven days* (so a day's rate is fixed when the day starts):
    ``cadence_floor`` after a silent week, rising by ``cadence_step`` per post up to
    ``cadence_cap`` (about one post a day). A silent week also adds ``silence_unfollow_rate``.

    **A post's quality** (its expected engagement multiplier) is fixed when it is posted, as the
    product of: the local hour (``hour_weights``: mornings 7-8, lunch 12 and evenings 19-22 best,
    the small hours worst), the counted length (``length_points``, sweet spot 80-250 characters),
    readability (average sentence length, ``sentence_chars_points`` for unspaced scripts such as
    Japanese and ``sentence_words_points`` for spaced ones), hashtags (``hashtag_weights``: 1-3
    best, more than 5 penalised), cadence (``burst_weights`` by posts in the previous 24 hours:
    diminishing returns beyond two; ``week_weights`` by posts in the previous 7 days: a cold
    audience after silence) and log-normal noise.

    **Engagement.** A post reaches the followers the account had at the start of its day; its
    final favourites are ``reach x appeal x like_rate x quality``; boosts, replies and quotes are
    fixed ratios of that. Counts accrue on a saturating curve (time constants in hours below,
    nearly all within 48 hours) and are exact at ``settle_days``.

    **Followers from posts.** Each post wins ``follows_per_favourite`` per favourite plus
    ``follows_per_reblog`` per boost, accruing on the same kind of curve; the fourth and later
    posts within 24 hours also cost ``overposting_unfollow`` of the followers each.
    """

    followers_range: tuple[int, int] = (300, 3000)
    following_range: tuple[int, int] = (80, 600)
    appeal_range: tuple[float, float] = (0.75, 1.35)
    organic_rate_range: tuple[float, float] = (0.0012, 0.0024)
    organic_noise_sigma: float = 0.35
    unfollow_rate_range: tuple[float, float] = (0.0002, 0.0005)
    silence_unfollow_rate: float = 0.0002
    cadence_floor: float = 0.4
    cadence_step: float = 0.13
    cadence_cap: float = 1.3

    like_rate: float = 0.012
    reblog_ratio: float = 0.22
    reply_ratio: float = 0.07
    quote_ratio: float = 0.015
    quality_noise_sigma: float = 0.3
    hour_weights: tuple[float, ...] = (
        0.55, 0.45, 0.40, 0.35, 0.35, 0.45,  # 00-05: asleep
        0.75, 1.30, 1.30, 1.00, 0.90, 1.00,  # 06-11: the commute is good
        1.35, 1.05, 0.85, 0.85, 0.90, 0.95,  # 12-17: lunch break
        1.10, 1.40, 1.50, 1.45, 1.30, 0.85,  # 18-23: evenings are best
    )  # fmt: skip
    length_points: tuple[tuple[float, float], ...] = (
        (0, 0.5), (30, 0.65), (80, 1.15), (250, 1.15), (400, 0.85), (500, 0.7),
    )  # fmt: skip
    sentence_chars_points: tuple[tuple[float, float], ...] = ((35, 1.1), (90, 0.85), (150, 0.8))
    sentence_words_points: tuple[tuple[float, float], ...] = ((15, 1.1), (30, 0.85), (50, 0.8))
    hashtag_weights: tuple[float, ...] = (1.0, 1.15, 1.15, 1.15, 0.95, 0.9)
    hashtag_excess_penalty: float = 0.08
    hashtag_floor: float = 0.4
    burst_weights: tuple[float, ...] = (1.0, 1.0, 0.9, 0.75)
    burst_decay: float = 0.85
    week_weights: tuple[tuple[int, float], ...] = ((0, 0.85), (1, 1.0), (3, 1.05), (15, 0.95))

    favourite_tau_h: float = 9.0
    reblog_tau_h: float = 7.0
    reply_tau_h: float = 5.0
    quote_tau_h: float = 12.0
    follow_tau_h: float = 18.0
    settle_days: float = 7.0

    follows_per_favourite: float = 0.06
    follows_per_reblog: float = 0.35
    overposting_unfollow: float = 0.0012


WEIGHTS = ModelWeights()


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """What the audience "sees" in a post when it is published."""

    local_hour: int
    length: int
    avg_sentence: float
    spaced_script: bool
    hashtags: int
    posts_24h: int
    posts_7d: int


@dataclass(frozen=True, slots=True)
class Engagement:
    """Interaction counts of one status at one moment."""

    favourites: int
    reblogs: int
    replies: int
    quotes: int


def keyed_rng(*parts: object) -> random.Random:
    """A generator seeded by a readable key such as ``"0:alice:day:2025-01-06"``.

    String seeds are hashed with SHA-512 by ``random.Random``, so they are stable across runs and
    Python versions, unlike ``hash()``.
    """
    return random.Random(":".join(str(part) for part in parts))


def interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    """Piecewise-linear lookup, flat beyond the first and last points."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _step_lookup(table: Sequence[tuple[int, float]], n: int) -> float:
    value = table[0][1]
    for threshold, weight in table:
        if n >= threshold:
            value = weight
    return value


def quality(features: PostFeatures, noise: float, w: ModelWeights = WEIGHTS) -> float:
    """The expected engagement multiplier of a post (1.0 is an ordinary post)."""
    hour = w.hour_weights[features.local_hour % 24]
    length = interpolate(w.length_points, features.length)
    points = w.sentence_words_points if features.spaced_script else w.sentence_chars_points
    readability = interpolate(points, features.avg_sentence)
    if features.hashtags < len(w.hashtag_weights):
        tags = w.hashtag_weights[features.hashtags]
    else:
        extra = features.hashtags - (len(w.hashtag_weights) - 1)
        tags = max(w.hashtag_floor, w.hashtag_weights[-1] - w.hashtag_excess_penalty * extra)
    if features.posts_24h < len(w.burst_weights):
        burst = w.burst_weights[features.posts_24h]
    else:
        extra = features.posts_24h - (len(w.burst_weights) - 1)
        burst = w.burst_weights[-1] * w.burst_decay**extra
    week = _step_lookup(w.week_weights, features.posts_7d)
    return hour * length * readability * tags * burst * week * noise


def cadence_multiplier(posts_last_7d: int, w: ModelWeights = WEIGHTS) -> float:
    """How much a day's organic growth is helped by recent posting (see :class:`ModelWeights`)."""
    return min(w.cadence_cap, w.cadence_floor + w.cadence_step * posts_last_7d)


def saturating(elapsed_s: float, tau_h: float, w: ModelWeights = WEIGHTS) -> float:
    """Share of a post's final count reached ``elapsed_s`` seconds after posting.

    ``1 - exp(-t/tau)`` rescaled to reach exactly 1.0 at ``settle_days`` and stay there, so old
    posts contribute exact totals (which lets sums over them be cached).
    """
    if elapsed_s <= 0:
        return 0.0
    settle = w.settle_days * DAY
    if elapsed_s >= settle:
        return 1.0
    tau = tau_h * HOUR
    return (1.0 - math.exp(-elapsed_s / tau)) / (1.0 - math.exp(-settle / tau))


def engagement_at(targets: Engagement, elapsed_s: float, w: ModelWeights = WEIGHTS) -> Engagement:
    """The counts ``elapsed_s`` seconds after posting, growing towards ``targets``."""
    return Engagement(
        favourites=math.floor(targets.favourites * saturating(elapsed_s, w.favourite_tau_h, w)),
        reblogs=math.floor(targets.reblogs * saturating(elapsed_s, w.reblog_tau_h, w)),
        replies=math.floor(targets.replies * saturating(elapsed_s, w.reply_tau_h, w)),
        quotes=math.floor(targets.quotes * saturating(elapsed_s, w.quote_tau_h, w)),
    )


def engagement_targets(
    reach: float, appeal: float, post_quality: float, rng: random.Random, w: ModelWeights = WEIGHTS
) -> Engagement:
    """Final counts of a post; the fractional part is rounded up or down at random."""
    favourites = reach * appeal * w.like_rate * post_quality

    def draw(expected: float) -> int:
        return math.floor(expected * rng.lognormvariate(0.0, 0.15) + rng.random())

    return Engagement(
        favourites=draw(favourites),
        reblogs=draw(favourites * w.reblog_ratio),
        replies=draw(favourites * w.reply_ratio),
        quotes=draw(favourites * w.quote_ratio),
    )


def follower_delta(
    targets: Engagement, reach: float, posts_24h: int, w: ModelWeights = WEIGHTS
) -> float:
    """Net followers a post eventually brings: gains from engagement, less over-posting losses."""
    gained = targets.favourites * w.follows_per_favourite + targets.reblogs * w.follows_per_reblog
    excess = max(0, posts_24h - 2)
    return gained - reach * w.overposting_unfollow * excess
