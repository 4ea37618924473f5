"""One account's posts and the follower curve they produce, evaluated lazily and cached.

Followers at time ``t`` are::

    initial + sum of whole days' organic change + the current day's share of it
            + sum over posts before t of (net followers the post brings x saturating(t - posted))

A day's organic change is fixed when the day starts (followers then x a net rate that depends on
the previous seven days' posts), so caching it is safe; a post invalidates only the days that
start after it. Sums run in a fixed order (days ascending, posts by time) so the floating-point
results do not depend on when or how often they were computed.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from datetime import date, datetime, tzinfo

from . import model
from .model import DAY, HOUR, ModelWeights
from .records import SandboxAccount, SandboxStatus


class Timeline:
    """A single account's statuses (by id) and its cached organic-growth days."""

    def __init__(
        self, account: SandboxAccount, *, seed: int, tz: tzinfo, weights: ModelWeights
    ) -> None:
        self.account = account
        self.statuses: list[SandboxStatus] = []  # ascending id
        self.ids: list[int] = []
        self._seed = seed
        self._tz = tz
        self._weights = weights
        self._by_time: list[tuple[float, int, float]] = []  # (timestamp, id, follower delta)
        self._settled: list[float] = [0.0]  # prefix sums of follower deltas, by time
        self._cum_organic: list[float] = []
        self._day_organic: list[float] = []

    def add(self, status: SandboxStatus, epoch: float) -> None:
        """Record a new status and forget cached days that started after it."""
        self.statuses.append(status)
        self.ids.append(status.id)
        entry = (status.created_at.timestamp(), status.id, status.follower_delta)
        position = bisect_left(self._by_time, entry)
        self._by_time.insert(position, entry)
        del self._settled[position + 1 :]
        for _, _, delta in self._by_time[position:]:
            self._settled.append(self._settled[-1] + delta)
        keep = max(0, math.floor((entry[0] - epoch) / DAY) + 1)
        del self._cum_organic[keep:], self._day_organic[keep:]

    def posts_between(self, start: float, end: float) -> int:
        """Statuses posted in ``[start, end)`` (timestamps)."""
        return bisect_left(self._by_time, (end,)) - bisect_left(self._by_time, (start,))

    def count_until(self, ts: float) -> int:
        """Statuses posted at or before ``ts``."""
        return bisect_right(self._by_time, (ts, math.inf, 0.0))

    def followers(self, ts: float, epoch: float) -> float:
        """The (fractional) follower count at timestamp ``ts``."""
        initial = self.account.initial_followers
        if ts <= epoch:
            return initial + self._post_gains(ts)
        day = math.floor((ts - epoch) / DAY)
        self._ensure_days(day, epoch)
        fraction = (ts - epoch - day * DAY) / DAY
        organic = self._cum_organic[day] + fraction * self._day_organic[day]
        return initial + organic + self._post_gains(ts)

    def _post_gains(self, ts: float) -> float:
        settle = self._weights.settle_days * DAY
        settled = bisect_left(self._by_time, (ts - settle,))
        total = self._settled[settled]
        tau = self._weights.follow_tau_h
        for posted, _, delta in self._by_time[settled : bisect_left(self._by_time, (ts,))]:
            total += delta * model.saturating(ts - posted, tau, self._weights)
        return total

    def _ensure_days(self, day: int, epoch: float) -> None:
        while len(self._day_organic) <= day:
            index = len(self._day_organic)
            cumulative = 0.0
            if index:
                cumulative = self._cum_organic[index - 1] + self._day_organic[index - 1]
            start = epoch + index * DAY
            followers = self.account.initial_followers + cumulative + self._post_gains(start)
            recent = self.posts_between(start - 7 * DAY, start)
            local_day = datetime.fromtimestamp(start + 12 * HOUR, self._tz).date()
            self._cum_organic.append(cumulative)
            self._day_organic.append(followers * self._net_rate(local_day, recent))

    def _net_rate(self, local_day: date, posts_7d: int) -> float:
        w = self._weights
        account = self.account
        rng = model.keyed_rng(self._seed, account.username, "day", local_day.isoformat())
        gain = account.organic_rate * model.cadence_multiplier(posts_7d, w)
        gain *= rng.lognormvariate(0.0, w.organic_noise_sigma)
        loss = account.unfollow_rate * rng.uniform(0.5, 1.5)
        if posts_7d == 0:
            loss += w.silence_unfollow_rate
        return gain - loss
