"""The report's charts as inline SVG (pygal), and the weekday × hour heatmap as table cells.

pygal's JavaScript is switched off (``js=[]``) and its inline config ``<script>`` and comments
are removed, so a chart is plain SVG that loads nothing. pygal serialises with an XML writer that
escapes account names and labels, which is why the page may mark the SVG safe.

pygal has no heatmap, so :func:`heat_rows` returns colours and numbers for an HTML table that
the template renders with autoescaping: it stays readable on a phone, prints, and is copyable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from brandkit.reports.goals import GoalProgress
from brandkit.reports.labels import Labels, fmt_int
from brandkit.reports.model import Report

FONT_STACK = (
    '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Noto Sans CJK JP", '
    '"Yu Gothic", YuGothic, Meiryo, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
)
COLORS = ("#2f6fad", "#e07b39", "#3a9d5d", "#b04a8f", "#8a6d3b", "#5b6770", "#c0392b")
CHART_STYLE = Style(
    font_family=FONT_STACK,
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    colors=COLORS,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=11,
)
MAX_ACCOUNT_LINES = 6
"""More accounts than this are drawn as one line per platform: a hundred lines help nobody."""
GOAL = {"width": 3}
DASHED = {"width": 2, "dasharray": "8, 5"}
DOTTED = {"width": 1.5, "dasharray": "2, 4"}


def charts(report: Report, labels: Labels) -> dict[str, Markup]:
    """The inline SVG charts by name; a chart with nothing to draw is left out."""
    found = {
        "followers": followers_chart(report, labels),
        "weekday": _rate_chart(
            labels["by_weekday"],
            list(labels.weekdays),
            {b.key: b.mean_rate for b in report.by_weekday},
        ),
        "hour": _rate_chart(
            labels["by_hour"],
            [str(hour) for hour in range(24)],
            {b.key: b.mean_rate for b in report.by_hour},
        ),
        "cadence": _cadence_chart(report, labels),
    }
    return {name: svg for name, svg in found.items() if svg is not None}


def followers_chart(report: Report, labels: Labels) -> Markup | None:
    """Followers per account (or platform) and in total, with an open followers goal: its target
    as a line and the Theil–Sen projection (dashed; dotted: its slow and fast ends) ahead."""
    points = report.followers_over_time
    lines = _follower_lines(report, labels)
    if not points or not lines:
        return None
    goals = _chart_goals(report)
    step = 7 if report.resolution == "week" else 1
    days = [p.day for p in points] + _future_days(points[-1].day, goals, step, len(points))
    chart = pygal.Line(
        _config(x_labels=_day_labels(days)),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(days) // 8),
        value_formatter=lambda value: fmt_int(round(value)),
        dots_size=2,
        show_dots=len(days) <= 62,
    )
    padding = [None] * (len(days) - len(points))
    for name, values, style in lines:
        chart.add(name, [*values, *padding], stroke_style=style)
    for goal in goals:
        _add_goal(chart, goal, days, labels)
    return _render(chart, labels["followers_chart"])


def _chart_goals(report: Report) -> list[GoalProgress]:
    """The one followers goal worth drawing: not yet reached, all platforms first."""
    open_goals = [g for g in report.goals if g.metric == "followers" and g.status != "reached"]
    open_goals.sort(key=lambda g: (g.platform != "all", g.due_date))
    return open_goals[:1]


def _follower_lines(
    report: Report, labels: Labels
) -> list[tuple[str, list[int | None], dict[str, Any] | None]]:
    points = report.followers_over_time
    accounts = [a for a in report.accounts if a.end_followers is not None]
    if not accounts:
        return []
    total = (labels["total"], [p.total for p in points], {"width": 3})
    if len(accounts) == 1:
        account = accounts[0]
        return [(account.name, [p.by_account.get(account.account_id) for p in points], None)]
    if len(accounts) <= MAX_ACCOUNT_LINES:
        groups = {a.name: [a.account_id] for a in accounts}
    else:
        groups = {}
        for a in accounts:
            groups.setdefault(a.platform, []).append(a.account_id)
    lines: list[tuple[str, list[int | None], dict[str, Any] | None]] = [
        (name, [_sum(p.by_account.get(i) for i in ids) for p in points], None)
        for name, ids in groups.items()
    ]
    return [*lines, total]


def _sum(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _future_days(last: date, goals: Sequence[GoalProgress], step: int, shown: int) -> list[date]:
    """Days after the period for the projection: to the latest due date, at most a third more
    points than the period has (and at least a week), so the past stays readable."""
    if not goals:
        return []
    horizon = min(max(g.due_date for g in goals), last + timedelta(days=step * max(7, shown // 3)))
    count = max(0, (horizon - last).days // step)
    return [last + timedelta(days=step * (n + 1)) for n in range(count)]


def _add_goal(chart: Any, goal: GoalProgress, days: Sequence[date], labels: Labels) -> None:
    name = f"{labels['goal']} {fmt_int(round(goal.target))} ({labels.platform(goal.platform)})"
    chart.add(name, [goal.target] * len(days), stroke_style=GOAL, show_dots=False)
    projection = goal.projection
    if projection is None or goal.current is None:
        return
    current, as_of = goal.current, goal.as_of
    ends = (
        (labels["projection_line"], projection.per_week, DASHED),
        (labels["projection_slow"], projection.slow_per_week, DOTTED),
        (labels["projection_fast"], projection.fast_per_week, DOTTED),
    )
    for title, per_week, style in ends:
        values = [
            None if day < as_of else current + per_week * (day - as_of).days / 7 for day in days
        ]
        chart.add(title, values, stroke_style=style, show_dots=False)


def _rate_chart(
    title: str, x_labels: Sequence[str], rates: dict[int, float | None]
) -> Markup | None:
    """Mean engagement rate (in %) per weekday or hour; empty slots stay empty, not zero."""
    values = [_percent(rates.get(index)) for index in range(len(x_labels))]
    if all(value is None for value in values):
        return None
    chart = pygal.Bar(
        _config(x_labels=list(x_labels)),
        show_legend=False,
        value_formatter=lambda value: f"{value:.2f}%",
    )
    chart.add(title, values)
    return _render(chart, title)


def _cadence_chart(report: Report, labels: Labels) -> Markup | None:
    weeks = report.cadence
    if not any(week.planned for week in weeks):
        return None
    chart = pygal.StackedBar(
        _config(x_labels=_day_labels([w.week_start for w in weeks])),
        value_formatter=lambda value: fmt_int(round(value)),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(weeks) // 12),
    )
    chart.add(labels["published"], [w.published for w in weeks])
    chart.add(labels["failed"], [w.failed for w in weeks])
    chart.add(labels["missed"], [w.missed for w in weeks])
    chart.add(labels["other"], [w.planned - w.published - w.failed - w.missed for w in weeks])
    return _render(chart, labels["cadence"])


@dataclass(frozen=True)
class HeatSquare:
    """One cell of the heatmap table: its numbers, background colour and tooltip."""

    posts: int
    rate: str
    colour: str
    title: str


def heat_rows(report: Report, labels: Labels) -> list[tuple[str, list[HeatSquare | None]]]:
    """Weekday rows × 24 hour cells; darker blue is a higher mean rate, blank is no post."""
    cells = {(c.weekday, c.hour): c for c in report.heatmap}
    rated = [c.mean_rate for c in report.heatmap if c.mean_rate is not None]
    top = max(rated, default=0.0) or 1.0
    rows = []
    for weekday, name in enumerate(labels.weekdays):
        row: list[HeatSquare | None] = []
        for hour in range(24):
            cell = cells.get((weekday, hour))
            if cell is None:
                row.append(None)
                continue
            share = (cell.mean_rate or 0.0) / top
            rate = "—" if cell.mean_rate is None else f"{cell.mean_rate * 100:.1f}"
            title = f"{name} {labels.hour(hour)}: {rate}% · {labels['posts']} {cell.posts}"
            row.append(HeatSquare(cell.posts, rate, _blue(share), title))
        rows.append((name, row))
    return rows


def _blue(share: float) -> str:
    """White to the report's blue (#2f6fad) by ``share`` (0–1)."""
    start, end = (255, 255, 255), (47, 111, 173)
    mix = [round(a + (b - a) * max(0.0, min(1.0, share))) for a, b in zip(start, end, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _config(**options: Any) -> pygal.Config:
    """Shared settings: no JavaScript, no XML declaration, a fluid viewBox, our fonts."""
    config = pygal.Config()
    config.js = []
    config.disable_xml_declaration = True
    config.explicit_size = False
    config.width, config.height = 800, 360
    config.style = CHART_STYLE
    config.legend_at_bottom = True
    config.truncate_legend = 30
    config.truncate_label = -1  # dates like 9/14 are short; pygal would cut them to "…"
    for name, value in options.items():
        setattr(config, name, value)
    return config


def _self_contained(title: str) -> Callable[[Any], Any]:
    """An xml filter removing pygal's ``<script>`` and comments and naming the chart.

    pygal always embeds a config script (and URLs in comments) even with ``js=[]``; without
    JavaScript it is dead weight. ``<title>`` becomes the accessible name of the image.
    """

    def finish(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                if callable(child.tag) or str(child.tag).rsplit("}", 1)[-1] == "script":
                    parent.remove(child)  # a comment, processing instruction or script
                elif str(child.tag).rsplit("}", 1)[-1] == "title" and parent is root:
                    child.text = title
        root.set("role", "img")
        root.set("aria-label", title)
        return root

    return finish


def _render(chart: Any, title: str) -> Markup:
    chart.add_xml_filter(_self_contained(title))
    svg = chart.render(is_unicode=True)
    return Markup(svg)  # serialized by pygal's XML writer, which escapes text and attributes


def _day_labels(days: Sequence[date]) -> list[str]:
    """``11/24``; with the year (``25/11/24``) when the axis spans more than one."""
    pattern = "%m/%d" if not days or days[0].year == days[-1].year else "%y/%m/%d"
    return [day.strftime(pattern) for day in days]


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100
