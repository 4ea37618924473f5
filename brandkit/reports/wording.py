"""Goals and data gaps in sentences, the same in the terminal, the HTML page and Markdown.

Numbers are formatted by metric (followers as counts, engagement rate as a percentage, posts per
week with a decimal) so "needs +52.5 a week" and "needs +0.10% a week" read naturally.
"""

from __future__ import annotations

from dataclasses import dataclass

from brandkit.reports.goals import GoalProgress
from brandkit.reports.labels import NONE, Labels, fmt_day, fmt_int, fmt_pct
from brandkit.reports.model import Report
from brandkit.reports.projection import Projection


@dataclass(frozen=True)
class GoalText:
    """One goal, ready to show: a title, its status (key and words) and a few short lines."""

    title: str
    status: str
    status_text: str
    lines: tuple[str, ...]


def fmt_metric(metric: str, value: float | None, *, signed: bool = False) -> str:
    """A value of ``metric`` in its own units."""
    if value is None:
        return NONE
    sign = "+" if signed else ""
    if metric == "engagement_rate":
        return f"{value * 100:{sign}.2f}%"
    if metric == "followers" and not signed:
        return fmt_int(round(value))
    return f"{value:{sign},.1f}"


def goal_lines(goal: GoalProgress, labels: Labels) -> GoalText:
    """Title, status and the lines under it: where it stands, the paces, the projections."""
    metric = goal.metric
    title = labels["goal_title"].format(
        metric=labels.state(metric),
        target=fmt_metric(metric, goal.target),
        platform=labels.platform(goal.platform),
        due=fmt_day(goal.due_date),
    )
    if goal.profile:
        title += f" · {labels['profile']} {goal.profile}"
    lines = [_now(goal, labels)]
    if goal.status not in ("reached", "unknown") and goal.required_per_week is not None:
        lines.append(
            labels["goal_pace"].format(
                required=fmt_metric(metric, goal.required_per_week, signed=True),
                actual=fmt_metric(metric, goal.actual_per_week, signed=True),
            )
        )
    if goal.status != "reached":
        lines += [_projection(p, metric, labels) for p in goal.projections]
    if goal.status == "unknown":
        lines.append(labels["goal_too_few"].format(days=goal.days_of_data))
    return GoalText(title, goal.status, labels.state(goal.status), tuple(lines))


def _now(goal: GoalProgress, labels: Labels) -> str:
    current = fmt_metric(goal.metric, goal.current)
    if goal.share is None or goal.baseline is None:
        return labels["goal_now_plain"].format(current=current)
    return labels["goal_now"].format(
        current=current,
        share=fmt_pct(goal.share, 0),
        baseline=fmt_metric(goal.metric, goal.baseline),
    )


def _projection(projection: Projection, metric: str, labels: Labels) -> str:
    """ "Linear (Theil–Sen) +52.5/w: reaches it 2027-02-14 (range 2027-01-30 – 2027-03-10)"."""
    method = labels[f"method_{projection.method}"]
    if projection.method == "log_linear":
        method += f" {projection.per_week * 100:+.2f}%/w"
    else:
        method += f" {fmt_metric(metric, projection.per_week, signed=True)}/w"
    if projection.date is None:
        return labels["goal_not_projected"].format(method=method)
    latest = projection.latest
    return labels["goal_projected"].format(
        method=method,
        date=fmt_day(projection.date),
        earliest=fmt_day(projection.earliest or projection.date),
        latest=labels["not_at_this_pace"] if latest is None else fmt_day(latest),
    )


def gap_lines(report: Report, labels: Labels) -> list[str]:
    """One sentence per gap found; empty when the data is complete."""
    gaps = report.gaps
    lines = [
        labels["gap_missing"].format(
            account=m.account_name,
            days=m.days,
            runs=", ".join(
                fmt_day(a) if a == b else f"{fmt_day(a)}–{fmt_day(b)}" for a, b in m.runs[:5]
            )
            + (" …" if len(m.runs) > 5 else ""),
        )
        for m in gaps.missing_days
    ]
    lines += [
        labels["gap_drop"].format(
            account=d.account_name,
            day=fmt_day(d.day),
            before=fmt_int(d.before),
            after=fmt_int(d.after),
        )
        for d in gaps.follower_drops
    ]
    if gaps.stopped_total:
        lines.append(labels["gap_stopped"].format(count=fmt_int(gaps.stopped_total)))
    if gaps.dropped_total:
        lines.append(labels["gap_dropped"].format(count=fmt_int(gaps.dropped_total)))
    if gaps.without_impressions:
        platforms = ", ".join(gaps.without_impressions)
        lines.append(labels["gap_no_impressions"].format(platforms=platforms))
    return lines
