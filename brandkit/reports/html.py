"""The report as one self-contained HTML page with inline SVG charts.

The page must open from an e-mail attachment or a USB stick on a clinic PC with no network, so
it loads nothing: the CSS is inline, the charts are pygal SVG with pygal's JavaScript switched
off (``js=[]``) and its inline config ``<script>`` and comments removed, and no web fonts are
used (a Japanese system font stack instead). The only URLs are the links to the posts.

Jinja2 autoescapes every value; chart SVG is marked safe because pygal builds it with an XML
serializer that escapes account names and labels itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from typing import Any

import pygal
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pygal.style import Style

from brandkit.reports.labels import (
    Labels,
    fmt_day,
    fmt_int,
    fmt_number,
    fmt_pct,
    fmt_signed,
    fmt_signed_pct,
    fmt_time,
    labels_for,
    shorten,
)
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


def render_html(report: Report) -> str:
    """The report as a complete HTML document (UTF-8 text, no external resources)."""
    labels = labels_for(report.locale)
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        L=labels,
        tz=report.tz,
        font_stack=Markup(FONT_STACK),  # a constant; escaping would break the CSS
        charts=charts(report, labels) if report.has_data else {},
    )


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("brandkit.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    helpers = (fmt_int, fmt_signed, fmt_pct, fmt_signed_pct, fmt_number, fmt_day, fmt_time)
    env.filters.update({f.__name__: f for f in (*helpers, shorten, safe_url)})
    return env


def safe_url(url: str | None) -> str | None:
    """``url`` if it is a web link; anything else (``javascript:``, ``data:``) is not linked."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def charts(report: Report, labels: Labels) -> dict[str, Markup]:
    """The inline SVG charts by name; a chart with nothing to draw is left out."""
    found = {
        "followers": _followers_chart(report, labels),
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


def _followers_chart(report: Report, labels: Labels) -> Markup | None:
    days = report.daily_followers
    accounts = [a for a in report.accounts if a.end_followers is not None]
    if not days or not accounts:
        return None
    chart = pygal.Line(
        _config(x_labels=_day_labels([d.day for d in days])),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(days) // 8),
        value_formatter=lambda value: fmt_int(round(value)),
        dots_size=2,
    )
    for account in accounts:
        chart.add(account.name, [d.by_account.get(account.account_id) for d in days])
    if len(accounts) > 1:
        chart.add(labels["total"], [d.total for d in days], stroke_style={"width": 3})
    return _render(chart, labels["followers_chart"])


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
    )
    chart.add(labels["published"], [w.published for w in weeks])
    chart.add(labels["failed"], [w.failed for w in weeks])
    chart.add(labels["missed"], [w.missed for w in weeks])
    chart.add(labels["other"], [w.planned - w.published - w.failed - w.missed for w in weeks])
    return _render(chart, labels["cadence"])


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
    return [day.strftime("%m/%d") for day in days]


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100
