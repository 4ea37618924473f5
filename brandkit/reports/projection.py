"""Trends and projections for goals: two robust fits, a date with a range, and a status.

Pure arithmetic on a short daily series (eight weeks at most, so every pairwise slope is cheap);
no database and no clock here, which keeps the maths testable on series computed by hand.

**Linear (Theil–Sen).** The slope is the median of the slopes between every pair of days; one
odd day (a viral post, a sync that read zero) moves it little, unlike least squares. The range is
Sen's (1968) rank-based confidence interval at :data:`CONFIDENCE`: the pairwise slopes at ranks
``(N ∓ z·σ) / 2`` with ``σ² = n(n − 1)(2n + 5) / 18``, as ``scipy.stats.theilslopes`` computes it.
Days are correlated, so read the range as "plausible paces", not as a calibrated probability.

**Compound (log-linear).** The same fit on the logarithm of the values: a constant *rate* of
growth (followers bringing followers). Its slope ``r`` is growth per day in log units
(``e^r − 1`` per day); it needs every value above zero.

**Projection.** Days to the target from the *current* value at the fitted pace:
``(target − current) / slope`` (linear) or ``ln(target / current) / r`` (compound), rounded up.
A non-positive pace, or one that needs more than :data:`HORIZON_DAYS`, has no date. The range
takes the fast end of the slope interval for the earliest date and the slow end for the latest.

**Status** (from the linear fit, the more cautious of the two for growing accounts):

- ``reached``: the current value is at or above the target;
- ``off_track``: the due date has passed, or the pace is below :data:`AT_RISK_PACE` of the
  required pace and even the fast end of the range is below it;
- ``on_track``: the pace is at least the required pace, ``(target − current) / days left``
  (the same as "the projected date is on or before the due date");
- ``at_risk``: otherwise (close to the required pace, or only the fast end reaches it);
- ``unknown``: fewer than :data:`MIN_POINTS` daily values to fit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations
from statistics import NormalDist, median
from typing import Literal

CONFIDENCE = 0.90
MIN_POINTS = 14
AT_RISK_PACE = 0.75
HORIZON_DAYS = 3650

Method = Literal["theil_sen", "log_linear"]
Status = Literal["reached", "on_track", "at_risk", "off_track", "unknown"]
STATUS_ORDER: tuple[Status, ...] = ("unknown", "off_track", "at_risk", "on_track", "reached")
Point = tuple[int, float]
"""(day number, value); day numbers increase by one per local day, gaps allowed."""


@dataclass(frozen=True)
class Trend:
    """A fitted pace per day and its plausible range (``low`` ≤ ``slope`` ≤ ``high``)."""

    method: Method
    slope: float
    low: float
    high: float
    points: int


@dataclass(frozen=True)
class Projection:
    """When the target is reached at the fitted pace, and the range of dates.

    ``per_week`` is the pace in the metric's units per week (linear) or the growth rate per week
    as a fraction (compound: 0.02 is 2 % a week); ``slow_per_week`` and ``fast_per_week`` are
    the ends of its range. Dates are ``None`` where the pace never gets there within
    :data:`HORIZON_DAYS`.
    """

    method: Method
    per_week: float
    slow_per_week: float
    fast_per_week: float
    date: dt.date | None
    earliest: dt.date | None
    latest: dt.date | None


def theil_sen(points: Sequence[Point]) -> Trend | None:
    """The Theil–Sen slope and Sen's interval, or ``None`` with fewer than ``MIN_POINTS``."""
    if len(points) < MIN_POINTS:
        return None
    slope, low, high = sen(points)
    return Trend("theil_sen", slope, low, high, len(points))


def sen(points: Sequence[Point]) -> tuple[float, float, float]:
    """Median pairwise slope and the interval's ends, for any two or more distinct days."""
    points = sorted(points)
    slopes = sorted((y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in combinations(points, 2))
    count, pairs = len(points), len(slopes)
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    spread = z * math.sqrt(count * (count - 1) * (2 * count + 5) / 18)
    upper = min(round((pairs + spread) / 2), pairs - 1)
    lower = max(round((pairs - spread) / 2) - 1, 0)
    return median(slopes), slopes[lower], slopes[upper]


def log_linear(points: Sequence[Point]) -> Trend | None:
    """Theil–Sen on ``ln(value)``: compound growth; ``None`` if a value is zero or below."""
    if any(value <= 0 for _, value in points):
        return None
    fitted = theil_sen([(day, math.log(value)) for day, value in points])
    if fitted is None:
        return None
    return Trend("log_linear", fitted.slope, fitted.low, fitted.high, fitted.points)


def days_needed(trend: Trend, current: float, target: float, slope: float) -> float | None:
    """Days from ``current`` to ``target`` at ``slope`` (per day), or ``None`` if never."""
    if current >= target:
        return 0.0
    if slope <= 0:
        return None
    if trend.method == "theil_sen":
        days = (target - current) / slope
    elif current <= 0:
        return None
    else:
        days = math.log(target / current) / slope
    return days if days <= HORIZON_DAYS else None


def project(trend: Trend, current: float, target: float, today: dt.date) -> Projection:
    """The projected date and its range, counted from ``today`` (the last day of the series)."""

    def when(slope: float) -> dt.date | None:
        days = days_needed(trend, current, target, slope)
        return None if days is None else today + timedelta(days=math.ceil(days))

    def weekly(slope: float) -> float:
        return slope * 7 if trend.method == "theil_sen" else math.expm1(slope * 7)

    return Projection(
        trend.method,
        weekly(trend.slope),
        weekly(trend.low),
        weekly(trend.high),
        when(trend.slope),
        when(trend.high),
        when(trend.low),
    )


@dataclass(frozen=True)
class Judgement:
    """The status and the two paces it compares (per day; ``None`` when not defined)."""

    status: Status
    required: float | None
    actual: float | None

    @property
    def ratio(self) -> float | None:
        """Actual pace as a share of the required pace."""
        if self.required is None or self.actual is None or self.required <= 0:
            return None
        return self.actual / self.required


def judge(
    current: float | None, target: float, today: dt.date, due: dt.date, trend: Trend | None
) -> Judgement:
    """The goal's status by the rules in the module docstring."""
    actual = trend.slope if trend is not None else None
    if current is None:
        return Judgement("unknown", None, actual)
    if current >= target:
        return Judgement("reached", 0.0, actual)
    if today > due:
        return Judgement("off_track", None, actual)
    required = (target - current) / max((due - today).days, 1)
    if trend is None or actual is None:
        return Judgement("unknown", required, None)
    if actual >= required:
        return Judgement("on_track", required, actual)
    if actual >= AT_RISK_PACE * required or trend.high >= required:
        return Judgement("at_risk", required, actual)
    return Judgement("off_track", required, actual)
