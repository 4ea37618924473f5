"""``brandkit goals``: targets for followers, engagement rate or posting pace, and progress."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from brandkit.cli.output import emit_json
from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.errors import InvalidInputError
from brandkit.reports.goals import (
    GoalProgress,
    add_goal,
    as_metric,
    goal_progress,
    parse_target,
    profile_id_for,
    remove_goal,
)
from brandkit.reports.labels import labels_for
from brandkit.reports.series import METRICS
from brandkit.reports.wording import fmt_metric, goal_lines
from brandkit.workspace import current_workspace

app = typer.Typer(help="Goals: add, list with progress, remove.", no_args_is_help=True)


def _workspace(ctx: typer.Context) -> tuple[Any, int, str]:
    st = state(ctx)
    engine = st.engine()
    with session_scope(engine) as session:
        workspace = current_workspace(session)
    return engine, workspace.id or 0, st.settings().locale


@app.command("add")
def add(
    ctx: typer.Context,
    metric: Annotated[str, typer.Option(help=f"One of: {', '.join(METRICS)}.")],
    target: Annotated[
        str, typer.Option(help="The value to reach: 2000, or for engagement_rate 5% or 0.05.")
    ],
    by: Annotated[str, typer.Option("--by", help="Due date, YYYY-MM-DD.")],
    platform: Annotated[str, typer.Option(help="A platform name, or all.")] = "all",
    profile: Annotated[str | None, typer.Option(help="Only this doctor (profile slug).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a goal; today's value is recorded as its baseline.

    Example: brandkit goals add --metric followers --platform all --target 2000 --by 2027-03-31
    """
    try:
        due = date.fromisoformat(by)
    except ValueError as exc:
        raise InvalidInputError(f"--by {by!r} is not a date", hint="use YYYY-MM-DD") from exc
    value = parse_target(metric, target)
    engine, workspace_id, locale = _workspace(ctx)
    progress = add_goal(
        engine,
        workspace_id,
        metric=as_metric(metric),
        platform=platform,
        target=value,
        due=due,
        profile=profile,
        now=datetime.now(UTC),
    )
    if as_json:
        emit_json(_plain(progress))
        return
    baseline = fmt_metric(progress.metric, progress.baseline)
    console.print(f"Goal {progress.id} added; baseline {baseline}.")
    _show([progress], locale)


@app.command("list")
def list_(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(help="Only this doctor's goals.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List goals with progress, paces, projected dates and status.

    Example: brandkit goals list --json
    """
    engine, workspace_id, locale = _workspace(ctx)
    with engine.connect() as conn:
        profile_id = profile_id_for(conn, workspace_id, profile)
        goals = goal_progress(conn, workspace_id, datetime.now(UTC), profile_id=profile_id)
    if as_json:
        emit_json([_plain(goal) for goal in goals])
        return
    if not goals:
        console.print(labels_for(locale)["no_goals"])
        return
    _show(goals, locale)


@app.command("remove")
def remove(
    ctx: typer.Context,
    goal_id: Annotated[int, typer.Argument(help="The goal's id, from 'brandkit goals list'.")],
) -> None:
    """Remove a goal.

    Example: brandkit goals remove 3
    """
    engine, workspace_id, _ = _workspace(ctx)
    remove_goal(engine, workspace_id, goal_id)
    console.print(f"Goal {goal_id} removed.")


def _show(goals: Any, locale: str) -> None:
    labels = labels_for(locale)
    table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("id", labels["status"], labels["goal"]):
        table.add_column(column, overflow="fold")
    for goal in goals:
        text = goal_lines(goal, labels)
        body = Text(text.title, style="bold")
        for line in text.lines:
            body.append(f"\n{line}")
        table.add_row(str(goal.id), Text(text.status_text), body)
    console.print(table)


def _plain(goal: GoalProgress) -> dict[str, Any]:
    """The goal as JSON data, with its projections and status."""
    return dataclasses.asdict(goal)
