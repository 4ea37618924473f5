"""Goals: add, list and remove them, and measure each one's progress on a given day.

A goal is "at least ``target`` of a metric by ``due_date``", for the whole workspace or one
doctor (profile), on one platform or all of them. Its baseline is the metric's value when the
goal was added, so progress reads as "how far from where we started". Progress is computed from
the last eight weeks of daily values (:mod:`brandkit.reports.series`) with the fits and status
rules of :mod:`brandkit.reports.projection`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlmodel import col

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Goal, Profile
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.reports.localtime import LocalTime
from brandkit.reports.projection import (
    Projection,
    Status,
    judge,
    log_linear,
    project,
    theil_sen,
)
from brandkit.reports.scope import Scope
from brandkit.reports.series import (
    METRICS,
    ROLLING_DAYS,
    WINDOW_DAYS,
    Metric,
    metric_series,
    series_days,
)
from brandkit.reports.sql import WorkspaceInfo, fetch, load_workspace


@dataclass(frozen=True)
class GoalProgress:
    """Where one goal stands on ``as_of`` (a local day). Paces are per week in the metric's
    units; ``share`` is the part of the way from baseline to target covered (1.0 is there)."""

    id: int
    metric: str
    platform: str
    profile: str | None
    target: float
    due_date: date
    baseline: float | None
    baseline_at: datetime | None
    as_of: date
    current: float | None
    share: float | None
    required_per_week: float | None
    actual_per_week: float | None
    status: Status
    days_of_data: int
    projections: tuple[Projection, ...]

    @property
    def projection(self) -> Projection | None:
        """The linear (Theil–Sen) projection, the one the status follows."""
        return next((p for p in self.projections if p.method == "theil_sen"), None)


def _scope(info: WorkspaceInfo, dialect: str, goal: Any, as_of: datetime) -> Scope:
    earliest = as_of - timedelta(days=WINDOW_DAYS + ROLLING_DAYS + 2)
    platform = None if goal.platform == "all" else goal.platform
    local = LocalTime(dialect, info.tz, earliest, as_of)
    return Scope(info.id, earliest, as_of, local, goal.profile_id, platform)


def evaluate(
    conn: Connection, info: WorkspaceInfo, goal: Any, as_of: datetime, profile: str | None = None
) -> GoalProgress:
    """Progress of ``goal`` (a :class:`Goal` or a row with its fields) on the day of ``as_of``."""
    scope = _scope(info, conn.dialect.name, goal, as_of)
    days = series_days(scope, as_of)
    series = metric_series(conn, scope, goal.metric, days)
    points = [(n, value) for n, (_, value) in enumerate(series.points) if value is not None]
    current = series.current
    today = days[-1].day
    linear, compound = theil_sen(points), log_linear(points)
    verdict = judge(current, goal.target, today, goal.due_date, linear)
    projections = tuple(
        project(trend, current, goal.target, today)
        for trend in (linear, compound)
        if trend is not None and current is not None
    )
    return GoalProgress(
        id=goal.id,
        metric=goal.metric,
        platform=goal.platform,
        profile=profile,
        target=goal.target,
        due_date=goal.due_date,
        baseline=goal.baseline,
        baseline_at=goal.baseline_at,
        as_of=today,
        current=current,
        share=_share(goal.baseline, current, goal.target),
        required_per_week=_weekly(verdict.required),
        actual_per_week=_weekly(verdict.actual),
        status=verdict.status,
        days_of_data=len(points),
        projections=projections,
    )


def _share(baseline: float | None, current: float | None, target: float) -> float | None:
    """From baseline (0) to target (1); a target already met at the start counts as 1."""
    if baseline is None or current is None:
        return None
    if target <= baseline:
        return 1.0 if current >= target else 0.0
    return (current - baseline) / (target - baseline)


def _weekly(per_day: float | None) -> float | None:
    return None if per_day is None else per_day * 7


def goal_progress(
    conn: Connection, workspace_id: int, as_of: datetime, *, profile_id: int | None = None
) -> tuple[GoalProgress, ...]:
    """Every goal of the workspace (or of one doctor), measured on the day of ``as_of``."""
    info = load_workspace(conn, workspace_id)
    goals = Goal.__table__.columns  # type: ignore[attr-defined]
    query = (
        select(*goals, col(Profile.slug).label("profile_slug"))
        .outerjoin(Profile, col(Profile.id) == col(Goal.profile_id))
        .where(col(Goal.workspace_id) == workspace_id)
        .order_by(col(Goal.due_date), col(Goal.id))
    )
    if profile_id is not None:
        query = query.where(col(Goal.profile_id) == profile_id)
    return tuple(evaluate(conn, info, row, as_of, row.profile_slug) for row in conn.execute(query))


def current_value(
    conn: Connection, info: WorkspaceInfo, goal: Any, as_of: datetime
) -> float | None:
    """The metric's value now: the baseline a new goal records."""
    scope = _scope(info, conn.dialect.name, goal, as_of)
    return metric_series(conn, scope, goal.metric, series_days(scope, as_of, 1)).current


def as_metric(name: str) -> Metric:
    """``--metric``, checked."""
    for metric in METRICS:
        if metric == name:
            return metric
    raise InvalidInputError(
        f"--metric {name!r} is not a goal metric", hint=f"use one of: {', '.join(METRICS)}"
    )


MAX_TARGET = 1e12  # no account has a trillion followers; beyond it the number is a typo


def parse_target(metric: str, text: str) -> float:
    """``--target``: a count, or for engagement_rate a fraction (0.05) or a percentage (5%)."""
    as_metric(metric)
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError as exc:
        raise InvalidInputError(f"--target {text!r} is not a number", hint="e.g. 2000") from exc
    if not math.isfinite(value) or value > MAX_TARGET:
        raise InvalidInputError(
            f"--target {text!r} is not a usable number",
            hint=f"give a finite target up to {MAX_TARGET:,.0f}, e.g. 2000",
        )
    if percent:
        if metric != "engagement_rate":
            raise InvalidInputError(f"--target {text!r}: only engagement_rate takes a percentage")
        value /= 100
    if value <= 0 or (metric == "engagement_rate" and value > 1):
        raise InvalidInputError(
            f"--target {text!r} is out of range for {metric}",
            hint="engagement_rate is a fraction (0.05) or a percentage (5%); others are above 0",
        )
    return value


def add_goal(
    engine: Engine,
    workspace_id: int,
    *,
    metric: Metric,
    platform: str,
    target: float,
    due: date,
    profile: str | None,
    now: datetime,
) -> GoalProgress:
    """Record a goal with today's value as its baseline and return its progress so far."""
    with session_scope(engine) as session:
        profile_id = profile_id_for(session.connection(), workspace_id, profile)
        _check_platform(session.connection(), workspace_id, platform, profile_id)
        info = load_workspace(session.connection(), workspace_id)
        if due <= now.astimezone(info.tz).date():
            raise InvalidInputError(f"--by {due.isoformat()} is not in the future")
        goal = Goal(
            workspace_id=workspace_id,
            profile_id=profile_id,
            metric=metric,
            platform=platform,
            target=target,
            due_date=due,
            baseline_at=now,
        )
        goal.baseline = current_value(session.connection(), info, goal, now)
        session.add(goal)
        session.flush()
        return evaluate(session.connection(), info, goal, now, profile)


def remove_goal(engine: Engine, workspace_id: int, goal_id: int) -> None:
    """Delete a goal of this workspace; another workspace's id is "not found", not removed."""
    with session_scope(engine) as session:
        goal = session.get(Goal, goal_id)
        if goal is None or goal.workspace_id != workspace_id:
            raise NotFoundError("goal", goal_id, hint="'brandkit goals list' shows the ids")
        session.delete(goal)


def profile_id_for(conn: Connection, workspace_id: int, slug: str | None) -> int | None:
    """The id of the doctor's profile ``slug`` (``--profile``), or ``None`` for no filter."""
    if slug is None:
        return None
    query = select(col(Profile.id)).where(
        col(Profile.workspace_id) == workspace_id, col(Profile.slug) == slug
    )
    found = conn.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFoundError("profile", slug, hint="use a doctor's profile slug, or leave it out")
    return int(found)


def _check_platform(
    conn: Connection, workspace_id: int, platform: str, profile_id: int | None
) -> None:
    """A goal's platform must be ``all`` or one that the workspace (or doctor) has an account on."""
    if platform == "all":
        return
    query = (
        select(col(Account.platform)).distinct().where(col(Account.workspace_id) == workspace_id)
    )
    if profile_id is not None:
        query = query.where(col(Account.profile_id) == profile_id)
    known = sorted(row["platform"] for row in fetch(conn, query))
    if platform not in known:
        choices = ", ".join(["all", *known]) if known else "all (add accounts first)"
        raise InvalidInputError(
            f"--platform {platform!r} has no account here", hint=f"use one of: {choices}"
        )
