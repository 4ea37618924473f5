"""Goals: the projection maths on series computed by hand, its monotonic properties, the status
rules, the daily series from the database on both backends, and the ``goals`` commands."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from brandkit.cli.main import main
from brandkit.db.engine import make_engine, session_scope
from brandkit.db.models import Account, AccountSnapshot, Goal, Post, PostMetrics, Profile, Variant
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.reports.goals import add_goal, goal_progress, parse_target, remove_goal
from brandkit.reports.projection import (
    AT_RISK_PACE,
    HORIZON_DAYS,
    STATUS_ORDER,
    Trend,
    days_needed,
    judge,
    log_linear,
    project,
    sen,
    theil_sen,
)
from tests.factories import make_workspace

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=TOKYO)  # the 56th day of the series is Nov 24


def line(slope: float, start: float = 100.0, days: int = 14) -> list[tuple[int, float]]:
    return [(x, start + slope * x) for x in range(days)]


# --- the fits, by hand ------------------------------------------------------------------------


def test_sen_on_four_points_by_hand() -> None:
    """Pairwise slopes of (0,1) (1,2) (2,4) (3,5): 1, 1.5, 4/3, 2, 1.5, 1 → median 17/12.

    n = 4, N = 6, σ = √(4·3·13/18) = 2.944, z(95 %) = 1.645: ranks round((6 ∓ 4.84)/2) → 0 and 5.
    """
    slope, low, high = sen([(0, 1), (1, 2), (2, 4), (3, 5)])
    assert slope == pytest.approx(17 / 12)
    assert (low, high) == (1.0, 2.0)


def test_a_straight_line_has_its_slope_and_no_spread() -> None:
    trend = theil_sen(line(5))
    assert trend is not None
    assert (trend.slope, trend.low, trend.high, trend.points) == (5, 5, 5, 14)
    projection = project(trend, current=165, target=200, today=TODAY)
    assert projection.date == TODAY + timedelta(days=7)  # 35 more at 5 a day
    assert projection.earliest == projection.latest == projection.date
    assert projection.per_week == 35


def test_one_wild_day_does_not_move_the_robust_slope() -> None:
    """78 of the 91 pairs of y = 10x still have slope 10, so the median stays 10 (least squares
    would give about 28)."""
    points = line(10, start=0)
    points[6] = (6, 1000.0)
    trend = theil_sen(points)
    assert trend is not None and trend.slope == 10
    assert trend.low <= 10 <= trend.high


def test_compound_fit_by_hand() -> None:
    """y = 100·1.01^x: every log slope is ln 1.01. From 100·1.01^13 to 200 takes
    ln(200 / 113.809) / ln 1.01 = 56.66 days, so day 57; 1.01^7 − 1 = 7.21 % a week."""
    points = [(x, 100 * 1.01**x) for x in range(14)]
    trend = log_linear(points)
    assert trend is not None and trend.slope == pytest.approx(math.log(1.01))
    current = 100 * 1.01**13
    projection = project(trend, current=current, target=200, today=TODAY)
    assert projection.date == TODAY + timedelta(days=57)
    assert projection.per_week == pytest.approx(1.01**7 - 1)
    assert log_linear([(x, float(x)) for x in range(14)]) is None  # a zero: no logarithm


def test_too_few_days_give_no_trend() -> None:
    assert theil_sen(line(5, days=13)) is None
    assert log_linear(line(5, days=13)) is None


def test_days_needed_never_and_beyond_the_horizon() -> None:
    trend = Trend("theil_sen", 1.0, 1.0, 1.0, 14)
    assert days_needed(trend, 10, 5, 1.0) == 0  # already there
    assert days_needed(trend, 0, 10, 0.0) is None  # no growth, never
    assert days_needed(trend, 0, 10, -1.0) is None
    assert days_needed(trend, 0, HORIZON_DAYS + 1, 1.0) is None  # more than ten years
    assert days_needed(trend, 0, HORIZON_DAYS, 1.0) == HORIZON_DAYS


def test_the_range_takes_the_fast_end_first_and_may_be_open() -> None:
    trend = Trend("theil_sen", 2.0, 0.0, 4.0, 14)
    projection = project(trend, current=0, target=20, today=TODAY)
    assert projection.date == TODAY + timedelta(days=10)
    assert projection.earliest == TODAY + timedelta(days=5)
    assert projection.latest is None  # the slow end does not grow at all


# --- status -----------------------------------------------------------------------------------


def trend(slope: float, high: float | None = None) -> Trend:
    return Trend("theil_sen", slope, slope, slope if high is None else high, 56)


DUE = TODAY + timedelta(days=10)  # 100 to go in 10 days: 10 a day required


@pytest.mark.parametrize(
    ("current", "due", "fit", "status"),
    [
        (200, DUE, trend(0), "reached"),
        (100, DUE, trend(10), "on_track"),  # exactly the required pace
        (100, DUE, trend(10 * AT_RISK_PACE), "at_risk"),  # 75 % of it
        (100, DUE, trend(5, high=10), "at_risk"),  # only the fast end makes it
        (100, DUE, trend(7.4, high=9.9), "off_track"),
        (100, TODAY - timedelta(days=1), trend(50), "off_track"),  # past due
        (100, DUE, None, "unknown"),  # fewer than 14 days
        (None, DUE, trend(10), "unknown"),
    ],
)
def test_status_thresholds(
    current: float | None, due: date, fit: Trend | None, status: str
) -> None:
    verdict = judge(current, 200, TODAY, due, fit)
    assert verdict.status == status
    if status in ("on_track", "at_risk", "off_track") and due >= TODAY:
        assert verdict.required == pytest.approx(10)


# --- properties -------------------------------------------------------------------------------

values = st.lists(st.integers(min_value=1, max_value=100_000), min_size=14, max_size=40)


def later(a: date | None, b: date | None) -> bool:
    """``a`` is later than ``b``, with ``None`` meaning "never"."""
    if a is None:
        return b is not None
    return b is not None and a > b


@settings(max_examples=200, deadline=None)
@given(values, st.data())
def test_more_growth_never_makes_the_linear_projection_later(
    ys: list[int], data: st.DataObject
) -> None:
    """Adding a non-decreasing extra (more growth every day) raises every pairwise slope, so the
    median, both ends of the range and the current value; every date can only come earlier."""
    steps = data.draw(st.lists(st.integers(0, 500), min_size=len(ys), max_size=len(ys)))
    extra = [sum(steps[: n + 1]) for n in range(len(ys))]
    more = [y + e for y, e in zip(ys, extra, strict=True)]
    target = max(more) + data.draw(st.integers(1, 100_000))
    before, after = theil_sen(list(enumerate(ys))), theil_sen(list(enumerate(more)))
    assert before is not None and after is not None
    assert after.slope >= before.slope and after.low >= before.low and after.high >= before.high
    old, new = project(before, ys[-1], target, TODAY), project(after, more[-1], target, TODAY)
    for field in ("date", "earliest", "latest"):
        assert not later(getattr(new, field), getattr(old, field)), field
    rank = STATUS_ORDER.index
    due = TODAY + timedelta(days=data.draw(st.integers(0, 400)))
    verdicts = judge(ys[-1], target, TODAY, due, before), judge(more[-1], target, TODAY, due, after)
    assert rank(verdicts[1].status) >= rank(verdicts[0].status)


@settings(max_examples=200, deadline=None)
@given(values, st.data())
def test_faster_compound_growth_never_makes_that_projection_later(
    ys: list[int], data: st.DataObject
) -> None:
    """Multiplying by a non-decreasing factor ≥ 1 adds a non-decreasing amount to every log."""
    steps = data.draw(st.lists(st.integers(0, 50), min_size=len(ys), max_size=len(ys)))
    factors = [1 + sum(steps[: n + 1]) / 1000 for n in range(len(ys))]
    more = [y * f for y, f in zip(ys, factors, strict=True)]
    target = max(more) * 2
    before, after = log_linear(list(enumerate(ys))), log_linear(list(enumerate(more)))
    assert before is not None and after is not None
    assert after.slope >= before.slope - 1e-12
    old, new = project(before, ys[-1], target, TODAY), project(after, more[-1], target, TODAY)
    assert not later(new.date, old.date)


# --- goals on the database --------------------------------------------------------------------


def add_account(
    engine: Engine, workspace_id: int, name: str, platform: str, **extra: object
) -> int:
    with session_scope(engine) as session:
        account = Account(
            workspace_id=workspace_id,
            name=name,
            platform=platform,
            base_url="https://example.invalid",
            credentials_encrypted=b"-",
            **extra,
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id


def snapshots(engine: Engine, account_id: int, counts: dict[date, int]) -> None:
    """One snapshot at 09:00 Tokyo on each day (before ``NOW``, noon on the last day)."""
    with session_scope(engine) as session:
        for day, followers in counts.items():
            at = datetime.combine(day, datetime.min.time(), TOKYO) + timedelta(hours=9)
            session.add(AccountSnapshot(account_id=account_id, taken_at=at, followers=followers))


def days_before(n: int) -> list[date]:
    return [TODAY - timedelta(days=k) for k in range(n - 1, -1, -1)]


@pytest.fixture
def grower(engine: Engine) -> tuple[int, int]:
    """A workspace whose mastodon account gains 10 a day for 60 days, ending at 1,600 today."""
    workspace_id = make_workspace(engine)
    account_id = add_account(engine, workspace_id, "masto", "mastodon")
    snapshots(
        engine, account_id, {d: 1600 - 10 * n for n, d in enumerate(reversed(days_before(60)))}
    )
    return workspace_id, account_id


def test_a_followers_goal_from_baseline_to_projection(
    engine: Engine, grower: tuple[int, int]
) -> None:
    workspace_id, _ = grower
    progress = add_goal(
        engine,
        workspace_id,
        metric="followers",
        platform="mastodon",
        target=2000,
        due=date(2027, 1, 31),
        profile=None,
        now=NOW,
    )
    assert progress.baseline == progress.current == 1600
    assert progress.share == 0.0
    assert progress.actual_per_week == pytest.approx(70)
    assert progress.required_per_week == pytest.approx(400 / 68 * 7)  # 68 days to Jan 31
    assert progress.status == "on_track"
    linear = progress.projection
    assert linear is not None and linear.date == TODAY + timedelta(days=40)
    assert [p.method for p in progress.projections] == ["theil_sen", "log_linear"]
    assert progress.days_of_data == 56
    later_on = goal_progress_at(engine, workspace_id, NOW + timedelta(days=1))
    assert later_on[0].id == progress.id


def goal_progress_at(engine: Engine, workspace_id: int, when: datetime) -> tuple:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return goal_progress(conn, workspace_id, when)


def test_a_stopped_sync_means_not_enough_data_not_a_flat_line(
    engine: Engine, grower: tuple[int, int]
) -> None:
    workspace_id, _ = grower
    with session_scope(engine) as session:
        session.add(
            Goal(
                workspace_id=workspace_id,
                metric="followers",
                target=3000,
                due_date=date(2027, 6, 1),
            )
        )
    (progress,) = goal_progress_at(engine, workspace_id, NOW + timedelta(days=50))
    assert progress.current == 1600  # still the last count
    assert progress.days_of_data == 6  # only the days that had a snapshot
    assert progress.status == "unknown" and progress.projections == ()


def test_engagement_rate_and_posting_pace_roll_over_four_weeks(engine: Engine) -> None:
    """One post a day for 84 days on 1,000 followers, with 20 interactions each (2 %), then 40
    (4 %) for the last 28 days: today's four-week mean is 4 %, and the pace is 7 a week."""
    workspace_id = make_workspace(engine)
    account_id = add_account(engine, workspace_id, "masto", "mastodon")
    snapshots(engine, account_id, {TODAY - timedelta(days=100): 1000})
    with session_scope(engine) as session:
        for n, day in enumerate(days_before(84)):
            at = datetime.combine(day, datetime.min.time(), TOKYO) + timedelta(hours=9)
            post = Post(workspace_id=workspace_id, scheduled_at=at)
            session.add(post)
            session.flush()
            assert post.id is not None
            variant = Variant(
                post_id=post.id,
                account_id=account_id,
                text="x",
                state="published",
                due_at=at,
                published_at=at,
            )
            session.add(variant)
            session.flush()
            assert variant.id is not None
            likes = 20 if n < 56 else 40
            session.add(
                PostMetrics(variant_id=variant.id, taken_at=at + timedelta(hours=2), likes=likes)
            )
        for metric, target in (("engagement_rate", 0.05), ("posts_per_week", 10)):
            session.add(
                Goal(
                    workspace_id=workspace_id,
                    metric=metric,
                    target=target,
                    due_date=date(2027, 3, 1),
                )
            )
    rate, pace = sorted(goal_progress_at(engine, workspace_id, NOW), key=lambda g: g.metric)
    assert rate.current == pytest.approx(0.04)
    assert rate.actual_per_week is not None and rate.actual_per_week > 0  # it went up
    assert pace.current == pytest.approx(7.0)
    assert pace.actual_per_week == pytest.approx(0.0)
    assert pace.status == "off_track"  # 7 a week, steady, needs 10


def test_goal_input_is_checked(engine: Engine, grower: tuple[int, int]) -> None:
    workspace_id, _ = grower
    assert parse_target("engagement_rate", "5%") == pytest.approx(0.05)
    assert parse_target("engagement_rate", "0.05") == 0.05
    assert parse_target("followers", "2000") == 2000
    for metric, text in [
        ("engagement_rate", "5"),  # a fraction, or say 5%
        ("followers", "5%"),
        ("followers", "-3"),
        ("followers", "lots"),
        ("likes", "10"),
        ("followers", "inf"),  # float() takes these; a goal cannot
        ("followers", "nan"),
        ("engagement_rate", "nan%"),
        ("followers", "1e300"),
    ]:
        with pytest.raises(InvalidInputError):
            parse_target(metric, text)
    kwargs = dict(metric="followers", target=2000.0, profile=None, now=NOW)
    with pytest.raises(InvalidInputError, match="no account here"):
        add_goal(engine, workspace_id, platform="bluesky", due=date(2027, 1, 1), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="not in the future"):
        add_goal(engine, workspace_id, platform="all", due=TODAY, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        add_goal(  # type: ignore[misc]
            engine,
            workspace_id,
            platform="all",
            due=date(2027, 1, 1),
            **{**kwargs, "profile": "nobody"},
        )
    with pytest.raises(NotFoundError):
        remove_goal(engine, workspace_id, 999)


def test_a_doctors_goal_counts_only_that_doctors_accounts(engine: Engine) -> None:
    workspace_id = make_workspace(engine)
    with session_scope(engine) as session:
        profile = Profile(workspace_id=workspace_id, slug="dr-a", display_name="A")
        session.add(profile)
        session.flush()
        profile_id = profile.id
    mine = add_account(engine, workspace_id, "mine", "mastodon", profile_id=profile_id)
    other = add_account(engine, workspace_id, "other", "mastodon")
    snapshots(engine, mine, {TODAY: 300})
    snapshots(engine, other, {TODAY: 5000})
    progress = add_goal(
        engine,
        workspace_id,
        metric="followers",
        platform="all",
        target=1000,
        due=date(2027, 1, 31),
        profile="dr-a",
        now=NOW,
    )
    assert (progress.baseline, progress.profile) == (300, "dr-a")
    with engine.connect() as conn:
        assert goal_progress(conn, workspace_id, NOW, profile_id=profile_id)[0].current == 300
        assert goal_progress(conn, workspace_id, NOW, profile_id=profile_id + 1) == ()  # type: ignore[operator]


# --- the commands -----------------------------------------------------------------------------


def test_goals_commands(capsys: pytest.CaptureFixture[str], clean_environ: Path) -> None:
    assert main(["init", "--name", "Clinic", "--locale", "en"]) == 0
    engine = make_engine(f"sqlite:///{clean_environ / 'brandkit.db'}")
    account_id = add_account(engine, 1, "masto", "mastodon")
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    yesterday = today - timedelta(days=1)  # whatever the time now, its snapshot is in the past
    snapshots(engine, account_id, {yesterday - timedelta(days=k): 1000 - 5 * k for k in range(30)})
    engine.dispose()
    capsys.readouterr()
    due = (today + timedelta(days=90)).isoformat()
    args = ["goals", "add", "--metric", "followers", "--target", "1400", "--by", due]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Goal 1 added; baseline 1,000." in out and "On track" in out
    assert main(["goals", "list", "--json"]) == 0
    (goal,) = json.loads(capsys.readouterr().out)
    assert goal["status"] == "on_track" and goal["actual_per_week"] == pytest.approx(35)
    assert goal["projections"][0]["method"] == "theil_sen"
    assert main(["goals", "add", "--metric", "followers", "--target", "x", "--by", due]) == 65
    assert main(["goals", "add", "--metric", "followers", "--target", "9", "--by", "soon"]) == 65
    assert main(["goals", "remove", "1"]) == 0
    assert main(["goals", "remove", "1"]) == 66
    capsys.readouterr()
    assert main(["goals", "list"]) == 0
    assert "No goals yet" in capsys.readouterr().out
