"""The report's underlying tables as flat rows, and as CSV.

Two CSV layouts, for two kinds of reader:

- :func:`write_csv_dir` (``--format csv --out DIR``): one file per table (``accounts.csv``,
  ``what_works.csv`` …), each with its own header: what a spreadsheet opens.
- :func:`write_csv` (``--format csv`` to stdout): every table in one CSV whose first column,
  ``table``, names the table; the header is the union of all columns and a row leaves the
  others empty. One stream for a pipe, and ``df[df.table == "accounts"]`` in pandas.

Column names are stable English identifiers (not the report's locale). Times are ISO 8601 in
UTC, days ``YYYY-MM-DD``, rates fractions (0.21 is 21 %), unknown values empty.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from brandkit.reports.gaps import as_rows
from brandkit.reports.goals import GoalProgress
from brandkit.reports.model import Bucket, Report

Row = dict[str, Any]
Rows = list[Row]


def report_tables(report: Report) -> dict[str, Rows]:
    """Every table of the report by name, in reading order."""
    summary = {
        "first_day": report.first_day,
        "last_day": report.last_day,
        "timezone": report.timezone,
        "profile": report.profile,
        **_fields(report.summary),
    }
    tables: dict[str, Rows] = {
        "summary": [summary],
        "goals": [_goal(g) for g in report.goals],
        "accounts": [_fields(a) for a in report.accounts],
        "followers": _followers(report),
        "weekly": [_fields(w) for w in report.weekly],
        "what_works": _what_works(report),
        "heatmap": [_fields(c) for c in report.heatmap],
        "cadence": [_fields(c) for c in report.cadence],
        "ranked_posts": [
            {"list": name, "rank": rank, **_fields(p)}
            for name, posts in (("top", report.top), ("bottom", report.bottom))
            for rank, p in enumerate(posts, 1)
        ],
        "posts": [_fields(p) for p in report.posts],
        "problem_posts": [_fields(v) for v in report.attention.variants],
        "problem_accounts": [_fields(a) for a in report.attention.accounts],
    }
    tables.update({f"gaps_{name}": rows for name, rows in as_rows(report.gaps).items()})
    return tables


def _fields(row: Any) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def _goal(goal: GoalProgress) -> dict[str, Any]:
    """A goal with its projections spread into columns (``theil_sen_date``, …)."""
    row = {k: v for k, v in _fields(goal).items() if k != "projections"}
    for p in goal.projections:
        for name in ("per_week", "slow_per_week", "fast_per_week", "date", "earliest", "latest"):
            row[f"{p.method}_{name}"] = getattr(p, name)
    return row


def _followers(report: Report) -> Rows:
    """Long format: one row per point and account, and one for the total (``account_id`` empty)."""
    names = {a.account_id: a.name for a in report.accounts}
    rows: Rows = []
    for point in report.followers_over_time:
        for account_id, followers in point.by_account.items():
            name = names.get(account_id)
            rows.append(_point(point.day, account_id, name, followers))
        rows.append(_point(point.day, None, "total", point.total))
    return rows


def _point(day: date, account_id: int | None, name: str | None, followers: int | None) -> Row:
    return {"day": day, "account_id": account_id, "account": name, "followers": followers}


def _what_works(report: Report) -> Rows:
    dimensions: Mapping[str, Iterable[Bucket[Any]]] = {
        "template": report.by_template,
        "category": report.by_category,
        "language": report.by_language,
        "length_band": report.by_length,
        "weekday": report.by_weekday,
        "hour": report.by_hour,
    }
    return [
        {"dimension": dimension, **_fields(bucket)}
        for dimension, buckets in dimensions.items()
        for bucket in buckets
    ]


def cell(value: Any) -> str:
    """One CSV cell: ISO times in UTC, six-decimal floats, empty for unknown."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e6 else str(round(value, 6))
    return str(value)


def write_csv(report: Report) -> str:
    """All tables in one CSV with a leading ``table`` column (see the module docstring)."""
    tables = report_tables(report)
    columns: dict[str, None] = {"table": None}
    for rows in tables.values():
        for row in rows:
            columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for name, rows in tables.items():
        for row in rows:
            row = {"table": name, **row}
            writer.writerow(cell(row.get(column)) for column in columns)
    return buffer.getvalue()


def write_csv_dir(report: Report, directory: Path) -> list[Path]:
    """One ``<table>.csv`` per table in ``directory`` (created). A table without rows writes no
    file, so a missing ``gaps_follower_drops.csv`` means "none"."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in report_tables(report).items():
        if not rows:
            continue
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(rows[0])
            writer.writerows([cell(value) for value in row.values()] for row in rows)
        written.append(path)
    return written
