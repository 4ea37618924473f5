"""The goals page: progress, status and projections as ``brandkit goals list`` shows them.

Everyone who reads reports sees the goals; owners (``manage_calendar``: the calendar and its
goals) add and remove them with the checks of ``brandkit goals add`` and ``remove``
(:mod:`brandkit.reports.goals`). The wording is the report's own
(:func:`brandkit.reports.wording.goal_lines`) in the workspace's language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Profile
from brandkit.errors import BrandkitError, InvalidInputError
from brandkit.reports.goals import (
    GoalProgress,
    add_goal,
    as_metric,
    goal_progress,
    parse_target,
    remove_goal,
)
from brandkit.reports.labels import labels_for
from brandkit.reports.series import METRICS
from brandkit.reports.wording import GoalText, fmt_metric, goal_lines
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]


@dataclass(frozen=True)
class GoalView:
    goal: GoalProgress
    text: GoalText

    @property
    def percent(self) -> int | None:
        """The share of the way from baseline to target, for a progress bar (0–100)."""
        share = self.goal.share
        return None if share is None else max(0, min(100, round(share * 100)))


@router.get("/goals", response_class=HTMLResponse)
def goals_page(page: SignedIn) -> HTMLResponse:
    authorize(page.signed_in, Action.READ_REPORTS)
    assert page.workspace.id is not None
    with page.web.engine.connect() as conn:
        goals = goal_progress(conn, page.workspace.id, page.now)
    labels = labels_for(page.workspace.locale)
    with session_scope(page.web.engine) as db:
        profiles = list(
            db.exec(
                select(Profile)
                .where(Profile.workspace_id == page.workspace.id)
                .order_by(col(Profile.display_name))
            ).all()
        )
        platforms = sorted(
            set(db.exec(select(Account.platform).where(Account.workspace_id == page.workspace.id)))
        )
    return page.render(
        "goals.html",
        goals=[GoalView(goal, goal_lines(goal, labels)) for goal in goals],
        metrics=METRICS,
        metric_names={metric: labels.state(metric) for metric in METRICS},
        platforms=platforms,
        profiles=profiles,
        first_due=page.now.astimezone(page.tz).date() + timedelta(days=1),
    )


def _due(page: Page, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(page.t("goals.bad_date", value=value)) from exc


@router.post("/goals")
def add(
    page: SignedIn,
    metric: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    by: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "all",
    profile: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """``brandkit goals add``: today's value becomes the goal's baseline."""
    authorize(page.signed_in, Action.MANAGE_CALENDAR)
    assert page.workspace.id is not None
    try:
        due = _due(page, by)
        value = parse_target(metric, target)
        if not math.isfinite(value):  # parse_target lets "inf" and "nan" through
            raise InvalidInputError(page.t("goals.bad_target", value=target))
        progress = add_goal(
            page.web.engine,
            page.workspace.id,
            metric=as_metric(metric),
            platform=platform.strip() or "all",
            target=value,
            due=due,
            profile=profile.strip() or None,
            now=page.now,
        )
        baseline = fmt_metric(progress.metric, progress.baseline)
        page.flash("success", page.t("goals.added", id=progress.id, baseline=baseline))
    except BrandkitError as exc:
        page.flash("error", page.t("goals.failed", reason=exc.message))
    return page.redirect("/goals")


@router.post("/goals/remove")
def remove(page: SignedIn, goal: Annotated[str, Form()] = "") -> RedirectResponse:
    """``brandkit goals remove``: a goal of another workspace is "not found"."""
    authorize(page.signed_in, Action.MANAGE_CALENDAR)
    assert page.workspace.id is not None
    try:
        try:
            goal_id = int(goal)
        except ValueError as exc:
            raise InvalidInputError(page.t("goals.bad_id", value=goal)) from exc
        remove_goal(page.web.engine, page.workspace.id, goal_id)
        page.flash("success", page.t("goals.removed", id=goal_id))
    except BrandkitError as exc:
        page.flash("error", page.t("goals.failed", reason=exc.message))
    return page.redirect("/goals")
