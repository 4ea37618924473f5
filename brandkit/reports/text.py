"""The report for the terminal: a summary panel and tables, as rich renderables.

Nothing here prints (DESIGN.md: only ``cli`` does); :func:`render_text` returns a
:class:`~rich.console.Group` for the CLI's console and :func:`render_plain` records the same
output as plain text for tests and pipes. Every string from the database goes into a
:class:`~rich.text.Text`, so a post saying ``[bold]`` is shown, not interpreted as markup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from rich import box
from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from brandkit.reports.labels import (
    NONE,
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
from brandkit.reports.model import Bucket, PostStat, Report
from brandkit.reports.wording import gap_lines, goal_lines

PLAIN_WIDTH = 100
K = TypeVar("K")


def render_text(report: Report) -> Group:
    """The whole report as one renderable; sections without rows are left out."""
    labels = labels_for(report.locale)
    parts: list[RenderableType | None] = [_summary(report, labels), _goals(report, labels)]
    if report.has_data:
        parts += [
            _accounts(report, labels),
            _weekly(report, labels),
            _buckets("by_template", "template", report.by_template, labels.template, labels),
            _buckets("by_category", "category", report.by_category, labels.category, labels),
            _buckets("by_language", "language", report.by_language, labels.language, labels),
            _buckets("by_length", "length", report.by_length, labels.length_band, labels),
            _buckets("by_weekday", "weekday", report.by_weekday, labels.weekday, labels),
            _buckets("by_hour", "hour", report.by_hour, labels.hour, labels),
            _cadence(report, labels),
            _posts(labels["top"], report.top, report, labels),
            _posts(labels["bottom"], report.bottom, report, labels),
        ]
    parts += _attention(report, labels)
    parts.append(_gaps(report, labels))
    return Group(*(part for part in parts if part is not None))


def render_plain(report: Report, *, width: int = PLAIN_WIDTH) -> str:
    """The terminal report as plain text, without colours or control codes."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render_text(report))
    return console.export_text()


def _summary(report: Report, labels: Labels) -> Panel:
    s = report.summary
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    period = f"{fmt_day(report.first_day)} – {fmt_day(report.last_day)}"
    if report.profile:
        period += f" · {labels['profile']} {report.profile}"
    rows = [
        (labels["period"], f"{period} ({report.timezone})"),
        (labels["followers"], f"{fmt_int(s.start_followers)} → {fmt_int(s.end_followers)}"),
        (labels["net_growth"], f"{fmt_signed(s.net_growth)} ({fmt_signed_pct(s.growth_rate)})"),
        (labels["posts_published"], fmt_int(s.posts_published)),
        (labels["mean_engagement_rate"], fmt_pct(s.mean_engagement_rate)),
        (labels["mean_impression_rate"], fmt_pct(s.mean_impression_rate)),
        (labels["best_template"], s.best_template or NONE),
        (labels["best_category"], s.best_category or NONE),
        (labels["best_weekday"], labels.weekday(s.best_weekday)),
        (labels["best_hour"], labels.hour(s.best_hour)),
    ]
    for name, value in rows:
        grid.add_row(name, Text(value))
    body: RenderableType = grid
    if not report.has_data:
        body = Group(grid, Text(""), Text(labels["no_data"], style="italic"))
    title = Text(f"{report.workspace_name} — {labels['report_title']}")
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


def _goals(report: Report, labels: Labels) -> RenderableType:
    """Each goal's status, then where it stands, its paces and projections, one per line."""
    if not report.goals:
        return Text(f"{labels['goals']}: {labels['no_goals']}")
    body = Text()
    for goal in report.goals:
        text = goal_lines(goal, labels)
        if body:
            body.append("\n")
        body.append(f"[{text.status_text}] ", style=STATUS_STYLES.get(text.status, "bold"))
        body.append(text.title, style="bold")
        for line in text.lines:
            body.append(f"\n  {line}")
    return Panel(body, title=labels["goals"], title_align="left", box=box.ROUNDED)


STATUS_STYLES = {
    "reached": "bold green",
    "on_track": "bold green",
    "at_risk": "bold yellow",
    "off_track": "bold red",
}


def _gaps(report: Report, labels: Labels) -> RenderableType:
    lines = gap_lines(report, labels)
    if not lines:
        return Text(f"{labels['data_gaps']}: {labels['gaps_none']}")
    body = Text(labels["data_gaps"], style="bold")
    for line in lines:
        body.append(f"\n- {line}")
    return body


Cell = str | int | Text


def _table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Cell]], numeric_from: int = 1
) -> Table | None:
    """A titled table; columns from ``numeric_from`` on are right-aligned numbers.

    Cells fold instead of being cut with "…", so a long link can still be copied. A table
    without rows is ``None`` and left out of the report.
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for index, name in enumerate(columns):
        justify: JustifyMethod = "right" if index >= numeric_from else "left"
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    return table if table.row_count else None


def _accounts(report: Report, labels: Labels) -> Table | None:
    """Start → end followers and net growth share a cell so the table fits 100 columns."""
    rows = [
        (
            f"{a.name} ({a.platform})",
            labels.state(a.status),
            f"{fmt_int(a.start_followers)} → {fmt_int(a.end_followers)}",
            f"{fmt_signed(a.net_growth)} ({fmt_signed_pct(a.growth_rate)})",
            fmt_int(a.posts),
            fmt_pct(a.mean_engagement_rate),
        )
        for a in report.accounts
    ]
    names = ["account", "status", "followers", "net_growth", "posts", "mean_rate"]
    return _table(labels["accounts"], [labels[n] for n in names], rows, numeric_from=2)


def _weekly(report: Report, labels: Labels) -> Table | None:
    rows = [
        (
            fmt_day(w.week_start),
            fmt_int(w.start_followers),
            fmt_int(w.end_followers),
            fmt_signed(w.net_growth),
            fmt_signed_pct(w.growth_rate),
        )
        for w in report.weekly
    ]
    names = ["week", "start_followers", "end_followers", "net_growth", "growth_rate"]
    return _table(labels["weekly"], [labels[n] for n in names], rows)


def _buckets(
    title: str,
    key_column: str,
    buckets: Sequence[Bucket[K]],
    key_label: Callable[[K], str],
    labels: Labels,
) -> Table | None:
    """One "what works" table; a template key is shown as stored, weekdays and hours in words."""
    rows = [
        (
            key_label(b.key),
            fmt_int(b.posts),
            fmt_pct(b.mean_rate),
            fmt_number(b.mean_interactions),
            fmt_pct(b.mean_impression_rate),
        )
        for b in buckets
    ]
    names = (key_column, "posts", "mean_rate", "mean_interactions", "mean_impression_rate")
    columns = [labels[c] for c in names]
    return _table(f"{labels['what_works']}: {labels[title]}", columns, rows)


def _cadence(report: Report, labels: Labels) -> Table | None:
    rows = [
        (fmt_day(c.week_start), c.planned, c.published, c.failed, c.missed) for c in report.cadence
    ]
    names = ["week", "planned", "published", "failed", "missed"]
    return _table(labels["cadence"], [labels[n] for n in names], rows)


def _posts(title: str, posts: Sequence[PostStat], report: Report, labels: Labels) -> Table | None:
    """Each post with its account under the time and its link under the text."""
    rows = []
    for p in posts:
        when = Text(fmt_time(p.published_at, report.tz))
        when.append(f"\n{p.account_name}", style="dim")
        text = Text(shorten(p.text, 60))
        if p.url:
            text.append(f"\n{p.url}", style="dim")
        rate, interactions = fmt_pct(p.engagement_rate), fmt_int(p.interactions)
        rows.append((when, labels.template(p.template), rate, interactions, text))
    columns = [
        f"{labels['published_at']} / {labels['account']}",
        *(labels[n] for n in ("template", "engagement_rate", "interactions", "text")),
    ]
    table = _table(title, columns, rows, numeric_from=2)
    if table is not None:
        table.columns[2].max_width = 10  # let the long Japanese header wrap
        table.columns[-1].justify = "left"
        table.columns[-1].ratio = 1
    return table


def _attention(report: Report, labels: Labels) -> list[RenderableType]:
    """Problem posts and accounts, or one line saying there are none."""
    attention, tz = report.attention, report.tz
    if not attention:
        return [Text(f"{labels['attention']}: {labels['attention_none']}")]
    variants = [
        (
            fmt_time(v.due_at, tz),
            labels.state(v.state),
            v.account_name,
            labels.template(v.template),
            v.last_error or NONE,
        )
        for v in attention.variants
    ]
    accounts = [
        (
            a.name,
            a.platform,
            labels.state(a.status),
            fmt_time(a.last_sync_at, tz),
            a.last_error or NONE,
        )
        for a in attention.accounts
    ]
    shown, total = len(attention.variants), attention.variants_total
    more = ""
    if total > shown:
        more = " (" + labels["showing_newest"].format(shown=shown, total=total) + ")"
    tables = [
        _table(
            f"{labels['attention']}: {labels[title]}{more if title == 'problem_posts' else ''}",
            [labels[n] for n in names],
            rows,
            len(names),
        )
        for title, names, rows in (
            ("problem_posts", ("due_at", "state", "account", "template", "error"), variants),
            ("problem_accounts", ("account", "platform", "status", "last_sync", "error"), accounts),
        )
    ]
    return [table for table in tables if table is not None]
