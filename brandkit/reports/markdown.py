"""The report as Markdown: for a wiki, a chat message, or a pull request in a clinic's repo.

Same sections as the HTML page, tables instead of charts. Text that came from the database or a
platform (names, post text, errors) is escaped, so a post cannot add links, images or HTML to
the page, and links to posts are written only for ``http(s)`` URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from brandkit.reports.html import safe_url
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

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(text: str) -> str:
    """Backslash-escape Markdown punctuation and flatten newlines (a cell is one line)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A pipe table; cells are already formatted (and escaped where they need it)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""] if len(lines) > 2 else []


def render_markdown(report: Report) -> str:
    """The whole report as one Markdown document."""
    labels = labels_for(report.locale)
    s = report.summary
    period = f"{fmt_day(report.first_day)} – {fmt_day(report.last_day)} ({report.timezone})"
    profile = f" · {labels['profile']} {escape(report.profile)}" if report.profile else ""
    out = [f"# {escape(report.workspace_name)} — {labels['report_title']}", ""]
    out += [f"{labels['period']} {period}{profile}", "", f"## {labels['summary']}", ""]
    out += [
        f"- {labels['followers']}: {fmt_int(s.start_followers)} → {fmt_int(s.end_followers)}",
        f"- {labels['net_growth']}: {fmt_signed(s.net_growth)} ({fmt_signed_pct(s.growth_rate)})",
        f"- {labels['posts_published']}: {fmt_int(s.posts_published)}",
        f"- {labels['mean_engagement_rate']}: {fmt_pct(s.mean_engagement_rate)}",
        f"- {labels['mean_impression_rate']}: {fmt_pct(s.mean_impression_rate)}",
        f"- {labels['best_template']}: {escape(s.best_template or NONE)}",
        f"- {labels['best_category']}: {escape(s.best_category or NONE)}",
        f"- {labels['best_weekday']}: {labels.weekday(s.best_weekday)}",
        f"- {labels['best_hour']}: {labels.hour(s.best_hour)}",
        "",
    ]
    if not report.has_data:
        out += [labels["no_data"], ""]
    out += _goals(report, labels)
    if report.has_data:
        out += _growth(report, labels) + _what_works(report, labels) + _cadence(report, labels)
        out += _posts(labels["top"], report.top, report, labels)
        out += _posts(labels["bottom"], report.bottom, report, labels)
    out += _attention(report, labels) + _gaps(report, labels)
    out += [f"_{labels['rate_note']}_", ""]
    return "\n".join(out)


def _goals(report: Report, labels: Labels) -> list[str]:
    out = [f"### {labels['goals']}", ""]
    if not report.goals:
        return [*out, labels["no_goals"], ""]
    for goal in report.goals:
        text = goal_lines(goal, labels)
        out.append(f"- **{text.status_text}** — {escape(text.title)}")
        out += [f"  - {line}" for line in text.lines]
    return [*out, "", f"_{labels['goal_note']}_", ""]


def _growth(report: Report, labels: Labels) -> list[str]:
    out = [f"## {labels['followers_chart']}", ""]
    if report.resolution == "week":
        out += [labels["weekly_points"], ""]
    names = ("account", "platform", "status", "start_followers", "end_followers", "net_growth")
    out += table(
        [labels[n] for n in (*names, "growth_rate", "posts", "mean_rate")],
        (
            [
                escape(a.name),
                escape(a.platform),
                labels.state(a.status),
                fmt_int(a.start_followers),
                fmt_int(a.end_followers),
                fmt_signed(a.net_growth),
                fmt_signed_pct(a.growth_rate),
                fmt_int(a.posts),
                fmt_pct(a.mean_engagement_rate),
            ]
            for a in report.accounts
        ),
    )
    weeks = ("week", "start_followers", "end_followers", "net_growth", "growth_rate")
    out += table(
        [labels[n] for n in weeks],
        (
            [
                fmt_day(w.week_start),
                fmt_int(w.start_followers),
                fmt_int(w.end_followers),
                fmt_signed(w.net_growth),
                fmt_signed_pct(w.growth_rate),
            ]
            for w in report.weekly
        ),
    )
    return out


def _what_works(report: Report, labels: Labels) -> list[str]:
    out = [f"## {labels['what_works']}", ""]
    sections: list[tuple[str, str, Sequence[Bucket[Any]], Callable[[Any], str]]] = [
        ("by_template", "template", report.by_template, labels.template),
        ("by_category", "category", report.by_category, labels.category),
        ("by_language", "language", report.by_language, labels.language),
        ("by_length", "length", report.by_length, labels.length_band),
        ("by_weekday", "weekday", report.by_weekday, labels.weekday),
        ("by_hour", "hour", report.by_hour, labels.hour),
    ]
    columns = ("posts", "mean_rate", "mean_interactions", "mean_impression_rate")
    for title, key, buckets, name in sections:
        rows = [
            [
                escape(name(b.key)),
                fmt_int(b.posts),
                fmt_pct(b.mean_rate),
                fmt_number(b.mean_interactions),
                fmt_pct(b.mean_impression_rate),
            ]
            for b in buckets
        ]
        if rows:
            out += [f"### {labels[title]}", ""]
            out += table([labels[key], *(labels[c] for c in columns)], rows)
    out += _heatmap(report, labels)
    return out


def _heatmap(report: Report, labels: Labels) -> list[str]:
    """Mean rate (%) per weekday and hour; empty where nothing was posted."""
    if not report.heatmap:
        return []
    cells = {(c.weekday, c.hour): c.mean_rate for c in report.heatmap}
    rows = [
        [name, *(_heat(cells, weekday, hour) for hour in range(24))]
        for weekday, name in enumerate(labels.weekdays)
    ]
    return [f"### {labels['heatmap']} (%)", "", *table(["", *map(str, range(24))], rows)]


def _heat(cells: dict[tuple[int, int], float | None], weekday: int, hour: int) -> str:
    if (weekday, hour) not in cells:
        return ""
    rate = cells[(weekday, hour)]
    return NONE if rate is None else f"{rate * 100:.1f}"


def _cadence(report: Report, labels: Labels) -> list[str]:
    names = ("week", "planned", "published", "failed", "missed")
    rows = [
        [fmt_day(c.week_start), str(c.planned), str(c.published), str(c.failed), str(c.missed)]
        for c in report.cadence
    ]
    return [f"## {labels['cadence']}", "", *table([labels[n] for n in names], rows)]


def _link(url: str | None, labels: Labels) -> str:
    safe = safe_url(url)
    if not safe:
        return ""
    return f" [{labels['open']}](<{safe.replace('<', '%3C').replace('>', '%3E')}>)"


def _posts(title: str, posts: Sequence[PostStat], report: Report, labels: Labels) -> list[str]:
    names = ("published_at", "account", "template", "engagement_rate", "interactions", "text")
    rows = [
        [
            fmt_time(p.published_at, report.tz),
            escape(p.account_name),
            escape(labels.template(p.template)),
            fmt_pct(p.engagement_rate),
            fmt_int(p.interactions),
            escape(shorten(p.text, 80)) + _link(p.url, labels),
        ]
        for p in posts
    ]
    return [f"### {title}", "", *table([labels[n] for n in names], rows)] if rows else []


def _attention(report: Report, labels: Labels) -> list[str]:
    attention, tz = report.attention, report.tz
    out = [f"## {labels['attention']}", ""]
    if not attention:
        return [*out, labels["attention_none"], ""]
    if attention.variants_total > len(attention.variants):
        shown, total = len(attention.variants), attention.variants_total
        out += [labels["showing_newest"].format(shown=shown, total=total), ""]
    out += table(
        [labels[n] for n in ("due_at", "state", "account", "template", "error")],
        (
            [
                fmt_time(v.due_at, tz),
                labels.state(v.state),
                escape(v.account_name),
                escape(labels.template(v.template)),
                escape(v.last_error or NONE),
            ]
            for v in attention.variants
        ),
    )
    out += table(
        [labels[n] for n in ("account", "platform", "status", "last_sync", "error")],
        (
            [
                escape(a.name),
                escape(a.platform),
                labels.state(a.status),
                fmt_time(a.last_sync_at, tz),
                escape(a.last_error or NONE),
            ]
            for a in attention.accounts
        ),
    )
    return out


def _gaps(report: Report, labels: Labels) -> list[str]:
    lines = gap_lines(report, labels)
    body = [f"- {escape(line)}" for line in lines] if lines else [labels["gaps_none"]]
    return [f"## {labels['data_gaps']}", "", *body, ""]
