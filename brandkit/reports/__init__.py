"""Growth and engagement reports: SQL analytics, goals, a report model, and its renderers.

:func:`build_report` reads the database once into a frozen :class:`Report`; the renderers turn
that into a rich renderable (:func:`render_text`), plain text (:func:`render_plain`), one
self-contained HTML page (:func:`render_html`), Markdown (:func:`render_markdown`), CSV
(:func:`write_csv`, :func:`write_csv_dir`) or JSON data (:func:`report_to_dict`). None of them
prints; only :func:`write_csv_dir` and :func:`write_weekly_report` (the worker's weekly file)
write files, into the directory they are given. Goals live in :mod:`brandkit.reports.goals`.
"""

from __future__ import annotations

from brandkit.reports.build import build_report
from brandkit.reports.html import render_html
from brandkit.reports.json import report_to_dict
from brandkit.reports.markdown import render_markdown
from brandkit.reports.model import Report
from brandkit.reports.tables import report_tables, write_csv, write_csv_dir
from brandkit.reports.text import render_plain, render_text
from brandkit.reports.weekly import write_weekly_report

__all__ = [
    "Report",
    "build_report",
    "render_html",
    "render_markdown",
    "render_plain",
    "render_text",
    "report_tables",
    "report_to_dict",
    "write_csv",
    "write_csv_dir",
    "write_weekly_report",
]
