"""Growth and engagement reports: SQL analytics, a report model, and its renderers.

:func:`build_report` reads the database once into a frozen :class:`Report`; the renderers turn
that into a rich renderable (:func:`render_text`), plain text (:func:`render_plain`), one
self-contained HTML page (:func:`render_html`) or JSON data (:func:`report_to_dict`). None of
them prints or writes files: the CLI and the web dashboard decide where the output goes.
"""

from __future__ import annotations

from brandkit.reports.html import render_html
from brandkit.reports.json import report_to_dict
from brandkit.reports.model import Report, build_report
from brandkit.reports.text import render_plain, render_text

__all__ = [
    "Report",
    "build_report",
    "render_html",
    "render_plain",
    "render_text",
    "report_to_dict",
]
