"""The weekly calendar: turning "every Tuesday 12:30" into exact UTC moments.

Local times are resolved in the workspace's zone with ``zoneinfo``: a time that falls into a DST
gap (02:30 on a spring-forward night) moves forward past the gap, and an ambiguous time in the
autumn fold takes its first occurrence, so a slot is never skipped nor doubled.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from brandkit.calendar_config import WEEKDAY_LABELS, weekday_number
from brandkit.errors import InvalidInputError

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_week(value: str) -> date:
    """``2026-W49`` → the Monday of that ISO week."""
    match = WEEK_PATTERN.match(value.strip())
    if not match:
        raise InvalidInputError(f"week {value!r} is not an ISO week", hint="write it as 2026-W49")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise InvalidInputError(f"week {value!r} does not exist: {exc}") from exc


def parse_weekday(value: str) -> int:
    """``tue``, ``Tuesday``, ``火`` or ``1`` → 1 (Monday is 0, as in ``date.weekday()``)."""
    number = weekday_number(value)
    if number is None:
        raise InvalidInputError(
            f"weekday {value!r} is not a weekday", hint="use mon … sun, 月 … 日, or 0 … 6"
        )
    return number


def weekday_label(weekday: int) -> str:
    return WEEKDAY_LABELS[weekday]


def next_week(now: datetime, tz: ZoneInfo) -> date:
    """The Monday after the local week containing ``now``: what ``brandkit plan`` plans."""
    return week_start(now, tz) + timedelta(days=7)


def iso_week(monday: date) -> str:
    """``date(2026, 11, 30)`` → ``2026-W49``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_local_time(value: str) -> time:
    match = TIME_PATTERN.match(value.strip())
    if not match:
        raise InvalidInputError(f"time {value!r} is not HH:MM", hint="for example 12:30")
    return time(int(match[1]), int(match[2]))


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    """The Monday of the local week containing ``moment``."""
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``day at`` in ``tz``, DST gaps and folds handled."""
    # fold=0: an ambiguous time is its first occurrence; a time in a gap is read with the offset
    # in force before the gap, which lands it just after the gap (02:30 EST = 03:30 EDT).
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


def slot_moment(monday: date, weekday: int, local_time: str, tz: ZoneInfo) -> datetime:
    if not 0 <= weekday <= 6:
        raise InvalidInputError(f"weekday {weekday} must be 0 (Monday) to 6 (Sunday)")
    return local_to_utc(monday + timedelta(days=weekday), parse_local_time(local_time), tz)
