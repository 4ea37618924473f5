"""Weekly slots → exact UTC moments: DST gaps and folds, Tokyo, ISO week boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandkit.errors import InvalidInputError
from brandkit.planner.calendar import (
    iso_week,
    next_week,
    parse_week,
    parse_weekday,
    slot_moment,
    week_start,
)

NY, LONDON, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), ZoneInfo("Asia/Tokyo")
SUNDAY = 6


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "monday", "at", "expected", "local"),
    [
        # New York springs forward at 02:00 on Sunday 2026-03-08: 02:30 does not exist and is
        # read with the offset before the gap (EST), landing at 03:30 EDT
        (NY, date(2026, 3, 2), "01:30", utc(2026, 3, 8, 6, 30), "01:30"),
        (NY, date(2026, 3, 2), "02:30", utc(2026, 3, 8, 7, 30), "03:30"),
        (NY, date(2026, 3, 2), "03:30", utc(2026, 3, 8, 7, 30), "03:30"),
        # ... and falls back at 02:00 on Sunday 2026-11-01: 01:30 happens twice, the first (EDT)
        (NY, date(2026, 10, 26), "01:30", utc(2026, 11, 1, 5, 30), "01:30"),
        (NY, date(2026, 10, 26), "02:30", utc(2026, 11, 1, 7, 30), "02:30"),
        # London springs forward at 01:00 GMT on 2026-03-29: 01:30 lands at 02:30 BST
        (LONDON, date(2026, 3, 23), "01:30", utc(2026, 3, 29, 1, 30), "02:30"),
        (LONDON, date(2026, 3, 23), "02:30", utc(2026, 3, 29, 1, 30), "02:30"),
        # ... and falls back at 02:00 BST on 2026-10-25: 01:30 is taken in BST, the first time
        (LONDON, date(2026, 10, 19), "01:30", utc(2026, 10, 25, 0, 30), "01:30"),
        (LONDON, date(2026, 10, 19), "02:30", utc(2026, 10, 25, 2, 30), "02:30"),
    ],
)
def test_dst_gaps_move_forward_and_folds_take_the_first_occurrence(
    tz: ZoneInfo, monday: date, at: str, expected: datetime, local: str
) -> None:
    moment = slot_moment(monday, SUNDAY, at, tz)
    assert moment == expected
    assert moment.astimezone(tz).strftime("%H:%M") == local
    assert moment.astimezone(tz).weekday() == SUNDAY


def test_a_fold_slot_is_planned_once_not_twice() -> None:
    """The weeks either side of the change keep their slot at the same wall time."""
    moments = [
        slot_moment(date(2026, 10, 26) + timedelta(weeks=w), 6, "01:30", NY) for w in (-1, 0, 1)
    ]
    assert [m.astimezone(NY).strftime("%a %H:%M") for m in moments] == ["Sun 01:30"] * 3
    assert moments[1] - moments[0] == timedelta(days=7)  # still EDT
    assert moments[2] - moments[1] == timedelta(days=7, hours=1)  # the extra hour of the fold


def test_tokyo_has_no_dst_and_early_slots_fall_on_the_previous_utc_day() -> None:
    monday = date(2026, 11, 30)
    assert slot_moment(monday, 0, "07:30", TOKYO) == utc(2026, 11, 29, 22, 30)
    assert slot_moment(monday, 1, "12:30", TOKYO) == utc(2026, 12, 1, 3, 30)
    assert slot_moment(monday, 6, "23:59", TOKYO) == utc(2026, 12, 6, 14, 59)
    assert {
        slot_moment(monday + timedelta(weeks=w), 0, "09:00", TOKYO).hour for w in range(53)
    } == {0}


def test_iso_week_boundaries() -> None:
    assert date(2026, 12, 31).isocalendar().week == 53  # 2026 starts on a Thursday
    assert parse_week("2026-W53") == date(2026, 12, 28)
    assert parse_week("2027-W01") == date(2027, 1, 4)
    assert parse_week("2026-W01") == date(2025, 12, 29)  # week 1 starts in the previous year
    assert iso_week(date(2026, 12, 28)) == "2026-W53" and iso_week(date(2027, 1, 4)) == "2027-W01"
    with pytest.raises(InvalidInputError, match="does not exist"):
        parse_week("2027-W53")
    with pytest.raises(InvalidInputError, match="2026-W49"):
        parse_week("2026-49")


def test_next_week_is_the_monday_after_the_local_week() -> None:
    # Sunday 2026-12-27 23:30 JST: next week is 2026-W53
    assert next_week(utc(2026, 12, 27, 14, 30), TOKYO) == date(2026, 12, 28)
    # an hour later it is Monday 2026-12-28 in Tokyo (still Sunday in UTC): next is 2027-W01
    assert next_week(utc(2026, 12, 27, 15, 30), TOKYO) == date(2027, 1, 4)
    assert week_start(utc(2026, 12, 31, 12, 0), TOKYO) == date(2026, 12, 28)


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [("mon", 0), ("Tuesday", 1), ("水", 2), ("木曜日", 3), ("4", 4), (" sat ", 5), ("sun", 6)],
)
def test_weekday_names(given_value: str, expected: int) -> None:
    assert parse_weekday(given_value) == expected


@pytest.mark.parametrize("bad", ["", "funday", "7", "-1", "mo"])
def test_bad_weekdays_say_what_to_write(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="mon … sun"):
        parse_weekday(bad)


ZONES = [
    "Asia/Tokyo",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Sao_Paulo",
    "America/St_Johns",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "UTC",
]


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


@given(
    day=st.dates(min_value=date(2000, 1, 3), max_value=date(2037, 12, 27)),
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from(ZONES),
)
def test_slot_moment_lands_on_the_local_weekday_and_wall_time(
    day: date, weekday: int, hour: int, minute: int, zone: str
) -> None:
    """Any weekday, time and zone: that weekday at that wall time, or just past a DST gap."""
    tz = ZoneInfo(zone)
    monday = day - timedelta(days=day.weekday())
    moment = slot_moment(monday, weekday, f"{hour:02d}:{minute:02d}", tz)
    assert moment.utcoffset() == timedelta(0)
    local = moment.astimezone(tz)
    wall = datetime.combine(monday + timedelta(days=weekday), time(hour, minute))
    assert local.date() == wall.date() and local.weekday() == weekday
    if _exists(wall, tz):
        assert local.replace(tzinfo=None) == wall
        # in a fold, the first of the two instants
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        assert moment <= second
    else:
        # in a gap: moved forward by the gap's size (the offset change), never backwards
        shift = local.replace(tzinfo=None) - wall
        assert shift == local.utcoffset() - wall.replace(tzinfo=tz, fold=0).utcoffset()  # type: ignore[operator]
        assert timedelta(0) < shift <= timedelta(hours=2)
