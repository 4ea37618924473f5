"""Last week's report as files: what the worker's weekly job writes into the reports folder.

The worker decides *when*: the job ``report:weekly:<workspace id>`` (a cron trigger on the
``report_day`` and ``report_time`` settings, in the workspace's zone) runs
:func:`weekly_report_job`. This module decides *what*: the previous local ISO week, Monday 00:00
to Monday 00:00 in the workspace's zone, rendered as one HTML page named after the week
(``report-2026-W47.html``), and for the worker also as JSON and CSV beside it. Each file is
written to a temporary name and renamed, so a reader never sees half a report and a re-run for
the same week replaces it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine

from brandkit.config import WEEKDAY_KEYS
from brandkit.reports.build import build_report
from brandkit.reports.categories import template_categories
from brandkit.reports.html import render_html
from brandkit.reports.json import report_to_dict
from brandkit.reports.model import Report
from brandkit.reports.sql import load_workspace
from brandkit.reports.tables import write_csv

if TYPE_CHECKING:
    from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

FileFormat = Literal["html", "json", "csv"]
WORKER_FORMATS: tuple[FileFormat, ...] = ("html", "json", "csv")
"""What the worker writes each week: the page to read, and its tables for other programs."""


def previous_week(today: date) -> tuple[date, date]:
    """The Monday of the last full ISO week before ``today``'s week, and the Monday after it."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def last_due(now: datetime, weekday: str, at: str, tz: tzinfo) -> datetime:
    """The latest moment at or before ``now`` that is ``weekday`` (``"mon"``) at ``at``
    (``"08:00"``) on the wall clock of ``tz``: when the report ``now`` is late for fell due."""
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - WEEKDAY_KEYS.index(weekday)) % 7)
    moment = datetime.combine(day, time(hour, minute), tz)
    if moment > now:
        moment = datetime.combine(day - timedelta(days=7), time(hour, minute), tz)
    return moment


def write_weekly_report(
    engine: Engine,
    workspace_id: int,
    folder: Path,
    *,
    now: datetime,
    template_dirs: Sequence[Path] = (),
    profile: str | None = None,
    formats: Sequence[FileFormat] = ("html",),
) -> Path:
    """Write the previous local week's report into ``folder`` (created); return the HTML path.

    ``now`` is the moment the report is for (aware; the week before its local date's week);
    ``template_dirs`` are ``settings.template_dirs``, for the templates' categories; ``profile``
    limits it to one doctor (the file name says so). ``formats`` adds ``json`` (the data of
    ``--format json``) and ``csv`` (every table in one file, as ``--format csv``) beside the
    page, under the same name.
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
        with_posts="json" in formats or "csv" in formats,  # the page does not list every post
        now=now,
    )
    year, week, _ = first.isocalendar()
    suffix = f"-{profile}" if profile else ""
    stem = f"report-{year}-W{week:02d}{suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in ("html", *(f for f in formats if f != "html")):
        _write_atomically(folder / f"{stem}.{fmt}", RENDERERS[fmt](report))
    return folder / f"{stem}.html"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "html": render_html,
    "json": lambda report: json.dumps(report_to_dict(report), ensure_ascii=False, indent=2),
    "csv": write_csv,
}


def _write_atomically(target: Path, text: str) -> None:
    """``text`` into ``target`` through a temporary file in the same folder and a rename."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".report-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def weekly_report_job(workspace_id: int, *, runtime: Runtime | None = None) -> None:
    """The APScheduler job behind ``report:weekly:<workspace id>``; the runner passes ``runtime``.

    It writes the report that fell due last (the week before the latest ``report_day`` at
    ``report_time``), so a worker that was down on the day writes that week's report, not a
    later one, when it starts. Rendering runs in a thread: publishing goes on meanwhile.
    """
    if runtime is None:  # the default only satisfies APScheduler's signature check
        raise RuntimeError("job functions run inside brandkit's JobRunner, which passes runtime")
    settings = runtime.settings
    with runtime.engine.connect() as conn:
        tz = load_workspace(conn, workspace_id).tz
    due = last_due(runtime.clock.now(), settings.report_day, settings.report_time, tz)
    path = await asyncio.to_thread(
        write_weekly_report,
        runtime.engine,
        workspace_id,
        settings.reports_dir,
        now=due,
        template_dirs=settings.template_dirs,
        formats=WORKER_FORMATS,
    )
    log.info("weekly report written: %s", path)
