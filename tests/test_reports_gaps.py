"""Honest about gaps: missing snapshot days, follower purges, posts that stopped reporting,
counts that went down, platforms without impressions; on both backends.

``steady`` (mastodon) reports at 21:00 Tokyo every day from Nov 8 to Nov 29 except Nov 12, 13
and 20, gaining 10 a day from 1,000, and loses 270 on Nov 25 (a purge). ``quiet`` (bluesky)
stops syncing after Nov 15. Posts on ``steady``:

- S1 (Nov 10) is read on Nov 10 and 11, then never again: probably deleted;
- S2 (Nov 27) and S3 (Nov 28) were never read although the account synced a day later;
- S4 (Nov 15) had 50 likes on Nov 16 and 30 on Nov 29: its count went down;
- S5 (Nov 16) was read an hour before the last sync: complete;
- S6 (Nov 19) was read at its 1-hour, 1-day and 7-day checkpoints and then, as sync's decaying
  schedule says, not again before its 30-day one: complete, though its last reading is three
  days older than the last sync.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import Engine

from brandkit.db.engine import session_scope
from brandkit.db.models import PostMetrics, Workspace
from brandkit.metrics.sync import METRICS_WINDOW as SYNC_WINDOW
from brandkit.reports import Report, build_report, render_html, render_markdown, report_to_dict
from brandkit.reports.scope import METRICS_WINDOW
from tests.test_reports import END, LATER, START, Builder, Seeded, jst

MISSING = {12, 13, 20}


def followers_on(day: int) -> int:
    return 1000 + 10 * (day - 8) - (270 if day >= 25 else 0)


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    with session_scope(engine) as session:
        workspace = Workspace(name="Gaps clinic", locale="en")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        seeded = Seeded(workspace.id)
        b = Builder(session, seeded)
        b.account("steady", "mastodon", workspace.id)
        b.account("quiet", "bluesky", workspace.id)
        for day in range(8, 30):
            if day not in MISSING:
                b.snapshot("steady", jst(day, 21), followers_on(day))
            if day <= 15:
                b.snapshot("quiet", jst(day, 21), 500)
        b.variant("S1", "steady", "en/tip", jst(10, 12))
        b.variant("S2", "steady", "en/tip", jst(27, 12))
        b.variant("S3", "steady", "en/tip", jst(28, 12))
        b.variant("S4", "steady", "en/tip", jst(15, 12))
        b.variant("S5", "steady", "en/tip", jst(16, 12))
        b.variant("S6", "steady", "en/tip", jst(19, 12))
        readings = [
            ("S1", jst(10, 13), 5),
            ("S1", jst(11, 21), 9),
            ("S4", jst(16, 21), 50),
            ("S4", jst(29, 21), 30),
            ("S5", jst(29, 20), 7),
            ("S6", jst(19, 13), 2),
            ("S6", jst(21, 21), 6),
            ("S6", jst(26, 21), 8),
        ]
        for label, at, count in readings:
            variant_id = seeded.variants[label]
            b.add(PostMetrics(variant_id=variant_id, taken_at=at, likes=count))
        return seeded


def build(engine: Engine, seeded: Seeded, start: datetime = START) -> Report:
    return build_report(engine, seeded.workspace_id, start=start, end=END, now=LATER)


def test_the_metrics_window_is_the_one_sync_uses() -> None:
    assert METRICS_WINDOW == SYNC_WINDOW


def test_missing_days_are_listed_as_runs(engine: Engine, seeded: Seeded) -> None:
    gaps = build(engine, seeded).gaps
    found = {m.account_name: (m.days, m.runs) for m in gaps.missing_days}
    nov = {day: date(2026, 11, day) for day in range(1, 31)}
    assert found == {
        "steady": (3, ((nov[12], nov[13]), (nov[20], nov[20]))),
        "quiet": (14, ((date(2026, 11, 16), date(2026, 11, 29)),)),
    }


def test_a_missing_day_carries_the_count_over(engine: Engine, seeded: Seeded) -> None:
    report = build(engine, seeded)
    steady = seeded.accounts["steady"]
    by_day = {p.day: p.by_account[steady] for p in report.followers_over_time}
    assert by_day[date(2026, 11, 12)] == by_day[date(2026, 11, 13)] == followers_on(11)


def test_a_purge_is_a_follower_drop_and_ordinary_days_are_not(
    engine: Engine, seeded: Seeded
) -> None:
    drops = build(engine, seeded).gaps.follower_drops
    assert [(d.account_name, d.day, d.before, d.after) for d in drops] == [
        ("steady", date(2026, 11, 25), followers_on(24), followers_on(25))
    ]


def test_posts_that_stopped_reporting_and_counts_that_went_down(
    engine: Engine, seeded: Seeded
) -> None:
    gaps = build(engine, seeded).gaps
    label = {v: k for k, v in seeded.variants.items()}
    assert gaps.stopped_total == 3
    assert [label[p.variant_id] for p in gaps.stopped_posts] == ["S1", "S2", "S3"]
    assert gaps.stopped_posts[0].last_reading_at == jst(11, 21)
    assert gaps.stopped_posts[1].last_reading_at is None
    assert gaps.dropped_total == 1
    (dropped,) = gaps.dropped_counts
    assert (label[dropped.variant_id], dropped.interactions, dropped.peak_interactions) == (
        "S4",
        30,
        50,
    )
    assert gaps.without_impressions == ("mastodon",)


def test_long_periods_read_weeks_and_missing_weeks(engine: Engine, seeded: Seeded) -> None:
    report = build(engine, seeded, start=datetime(2026, 6, 1, tzinfo=START.tzinfo))
    assert report.resolution == "week"
    days = [p.day for p in report.followers_over_time]
    assert days[0] == date(2026, 6, 7) and days[-1] == date(2026, 11, 29)
    assert all(day.weekday() == 6 for day in days)  # Sundays: the end of each local week
    found = {m.account_name: (m.days, m.runs) for m in report.gaps.missing_days}
    assert found == {"quiet": (14, ((date(2026, 11, 16), date(2026, 11, 29)),))}


def test_gaps_are_shown_in_every_format(engine: Engine, seeded: Seeded) -> None:
    report = build(engine, seeded)
    html = render_html(report)
    assert "Gaps in the data" in html
    assert "steady: 3 days without a snapshot (2026-11-12–2026-11-13, 2026-11-20)" in html
    assert "3 posts stopped reporting" in html and "mastodon give no impressions" in html
    markdown = render_markdown(report)
    assert "## Gaps in the data" in markdown and "1 posts have fewer interactions" in markdown
    data = json.loads(json.dumps(report_to_dict(report)))
    assert data["gaps"]["stopped_total"] == 3
    assert data["gaps"]["missing_days"][1]["runs"] == [["2026-11-16", "2026-11-29"]]


def test_complete_data_says_so(engine: Engine) -> None:
    with session_scope(engine) as session:
        workspace = Workspace(name="Complete", locale="en")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        b = Builder(session, Seeded(workspace.id))
        b.account("daily", "mastodon", workspace.id)
        for day in (8, 9, 10):
            b.snapshot("daily", jst(day, 21), 100 + day)
    report = build_report(engine, workspace.id, start=jst(9, 0), end=jst(11, 0), now=LATER)
    assert not report.gaps
    assert "No gaps found in the data." in render_html(report)
