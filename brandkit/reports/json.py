"""The report as plain JSON data, for ``brandkit report --format json`` and other programs.

The shape follows :class:`~brandkit.reports.model.Report` field by field, so a new field
appears here without code. Times are ISO 8601 in UTC (``…+00:00``), days are ``YYYY-MM-DD``,
rates stay fractions (0.21 is 21 %) rounded to six decimals, and ``None`` becomes ``null``:
a counter a platform does not report is unknown, not zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from brandkit.reports.model import Report

FLOAT_DIGITS = 6
SCHEMA_VERSION = 2
"""Bumped when a field changes meaning or disappears; adding fields keeps the version.
2: ``daily_followers`` became ``followers_over_time`` (with ``resolution``); goals and gaps."""


def report_to_dict(report: Report) -> dict[str, Any]:
    """A dict that ``json.dumps`` accepts as is (no custom encoder needed)."""
    data = _plain(report)
    assert isinstance(data, dict)
    period = {
        "first_day": report.first_day.isoformat(),
        "last_day": report.last_day.isoformat(),
        "has_data": report.has_data,
    }
    return {"schema_version": SCHEMA_VERSION, **data, **period}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
