"""The report as one self-contained HTML page with inline SVG charts.

The page must open from an e-mail attachment or a USB stick on a clinic PC with no network, so
it loads nothing: the CSS is inline, the charts are pygal SVG without JavaScript
(:mod:`brandkit.reports.charts`), the heatmap is a table, and no web fonts are used (a Japanese
system font stack instead). The only URLs are the links to the posts. It reads on a phone (fluid
charts, scrolling tables) and prints to PDF (a print stylesheet keeps charts and rows whole).

Jinja2 autoescapes every value; chart SVG is marked safe because pygal builds it with an XML
serializer that escapes account names and labels itself.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from brandkit.reports.charts import FONT_STACK, charts, heat_rows
from brandkit.reports.labels import (
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
from brandkit.reports.wording import gap_lines, goal_lines


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
        heat=heat_rows(report, labels),
        goals=[goal_lines(goal, labels) for goal in report.goals],
        gaps=gap_lines(report, labels),
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
