"""Last week's report as a file: what the worker's weekly job writes into the reports folder.

The worker decides *when* (a configurable day and time) and *where* (the reports folder); this
module decides *what*: the previous local ISO week, Monday 00:00 to Monday 00:00 in the
workspace's zone, rendered as one HTML page named after the week (``report-2026-W47.html``).
The file is written to a temporary name and renamed, so a reader never sees half a report and a
re-run for the same week replaces it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from brandkit.reports.build import build_report
from brandkit.reports.categories import template_categories
from brandkit.reports.html import render_html
from brandkit.reports.sql import load_workspace


def previous_week(today: date) -> tuple[date, date]:
    """The Monday of the last full ISO week before ``today``'s week, and the Monday after it."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def write_weekly_report(
    engine: Engine,
    workspace_id: int,
    folder: Path,
    *,
    now: datetime,
    template_dirs: Sequence[Path] = (),
    profile: str | None = None,
) -> Path:
    """Write the previous local week's HTML report into ``folder`` (created) and return its path.

    ``now`` is the worker's clock (aware); ``template_dirs`` are ``settings.template_dirs``, for
    the templates' categories; ``profile`` limits it to one doctor (the file name says so).
    """
    with engine.connect() as conn:
        tz = load_workspace(conn, workspace_id).tz
    first, after = previous_week(now.astimezone(tz).date())
    report = build_report(
        engine,
        workspace_id,
        start=datetime.combine(first, time(0), tz),
        end=datetime.combine(after, time(0), tz),
        profile=profile,
        categories=template_categories(template_dirs),
        with_posts=False,
        now=now,
    )
    year, week, _ = first.isocalendar()
    suffix = f"-{profile}" if profile else ""
    target = folder / f"report-{year}-W{week:02d}{suffix}.html"
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".report-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(render_html(report))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
