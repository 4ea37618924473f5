"""The reports page: the same report as ``brandkit report``, and its files for the same period.

The page holds the period form (a month, or a first and last day), the doctor filter and the
download links; the report itself is the self-contained HTML page of
:func:`brandkit.reports.render_html`, served by ``/reports/view`` into a sandboxed frame. That
page keeps its own inline styles and SVG charts, so it gets its own Content-Security-Policy:
no script, no request anywhere (``default-src 'none'``), framed by this site only. Post links
are dropped from the framed copy, as every dashboard page shows no link to another site; the
downloaded HTML file is the CLI's, links included.

Periods follow ``brandkit report``: ``period`` is a month, ``from``/``to`` are days (``to``
included), and nothing means the 28 days up to the latest follower snapshot. Links from the
page carry the resolved days, so the frame and the files show the period the page named.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, func, select

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, Profile
from brandkit.errors import InvalidInputError
from brandkit.reports import (
    Report,
    build_report,
    render_html,
    render_markdown,
    report_to_dict,
    write_csv,
)
from brandkit.reports.categories import template_categories
from brandkit.web.i18n import Translator
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]

SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
DEFAULT_DAYS = 28  # as `brandkit report` without a period
YEARS = (1970, 9998)  # days outside are refused: date arithmetic and time zones stay in range
DOWNLOADS = {  # format → media type; the file ends in the format's name
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class Period:
    """Local days ``first`` … ``last`` (both included) and the doctor, as the page chose them."""

    first: date
    last: date
    profile: str | None

    def query(self) -> str:
        values = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.profile:
            values["profile"] = self.profile
        return urlencode(values)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """``[start, end)`` as aware datetimes: local midnights, as the CLI computes them."""
        following = self.last + timedelta(days=1)
        return datetime.combine(self.first, time(0), tz), datetime.combine(following, time(0), tz)


def _day(t: Translator, value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(t("reports.bad_day", field=field, value=value)) from exc
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise InvalidInputError(t("reports.bad_day", field=field, value=value))
    return day


def _month(t: Translator, value: str) -> tuple[date, date]:
    try:
        year, number = (int(part) for part in value.strip().split("-"))
        first = date(year, number, 1)
    except ValueError as exc:
        raise InvalidInputError(t("reports.bad_month", value=value)) from exc
    if not YEARS[0] <= year <= YEARS[1]:
        raise InvalidInputError(t("reports.bad_month", value=value))
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1)


def period_days(
    t: Translator, month: str, start: str, end: str, latest: datetime | None, now: datetime
) -> tuple[date, date]:
    """The first and the last day of the chosen period, with ``brandkit report``'s rules."""
    if month.strip():
        return _month(t, month)
    to_day = (
        _day(t, end, t("reports.to")) + timedelta(days=1)
        if end.strip()
        else (latest or now).astimezone(UTC).date() + timedelta(days=1)
    )
    from_day = (
        _day(t, start, t("reports.from"))
        if start.strip()
        else to_day - timedelta(days=DEFAULT_DAYS)
    )
    if from_day >= to_day:
        raise InvalidInputError(t("reports.empty_range"))
    return from_day, to_day - timedelta(days=1)


def _latest_snapshot(page: Page) -> datetime | None:
    with session_scope(page.web.engine) as db:
        latest = db.exec(
            select(func.max(AccountSnapshot.taken_at))
            .join(Account, col(Account.id) == col(AccountSnapshot.account_id))
            .where(Account.workspace_id == page.workspace.id)
        ).one()
    if isinstance(latest, datetime) and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return latest if isinstance(latest, datetime) else None


def _profiles(page: Page) -> list[Profile]:
    with session_scope(page.web.engine) as db:
        return list(
            db.exec(
                select(Profile)
                .where(Profile.workspace_id == page.workspace.id)
                .order_by(col(Profile.display_name))
            ).all()
        )


def choose(page: Page, month: str, start: str, end: str, profile: str) -> Period:
    """The period and doctor of the request, checked; a bad value is one translated line."""
    authorize(page.signed_in, Action.READ_REPORTS)
    first, last = period_days(page.t, month, start, end, _latest_snapshot(page), page.now)
    slug = profile.strip() or None
    if slug is not None and slug not in {p.slug for p in _profiles(page)}:
        raise InvalidInputError(page.t("reports.bad_profile", value=slug))
    return Period(first, last, slug)


def build(page: Page, period: Period, *, with_posts: bool) -> Report:
    """The report ``brandkit report`` builds for this period, measured at the app's clock."""
    start, end = period.bounds(page.tz)
    assert page.workspace.id is not None
    return build_report(
        page.web.engine,
        page.workspace.id,
        start=start,
        end=end,
        profile=period.profile,
        categories=template_categories(page.web.settings.template_dirs),
        with_posts=with_posts,
        now=page.now,
    )


def without_links(report: Report) -> Report:
    """The report with every post URL (ranked posts, stopped posts…) set to ``None``: the
    framed copy links nowhere outside the app. Walks the whole report, so a list added later
    is covered too."""
    stripped = _strip(report)
    assert isinstance(stripped, Report)
    return stripped


def _strip(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_strip(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: None if f.name == "url" else _strip(getattr(value, f.name))
            for f in fields(value)
            if f.init
        }
        return replace(value, **changes)
    return value


Month = Annotated[str, Query(alias="period")]
From = Annotated[str, Query(alias="from")]
To = Annotated[str, Query(alias="to")]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    page: SignedIn, month: Month = "", start: From = "", end: To = "", profile: str = ""
) -> HTMLResponse:
    authorize(page.signed_in, Action.READ_REPORTS)
    error, period = None, None
    try:
        period = choose(page, month, start, end, profile)
    except InvalidInputError as exc:
        error = exc.message
    return page.render(
        "reports.html",
        status=400 if error else 200,
        error=error,
        period=period,
        month=month.strip(),
        start=start.strip(),
        end=end.strip(),
        profile=profile.strip(),
        profiles=_profiles(page),
        formats=list(DOWNLOADS),
        timezone=page.workspace.timezone,
    )


@router.get("/reports/view", response_class=HTMLResponse)
def report_frame(
    page: SignedIn, month: Month = "", start: From = "", end: To = "", profile: str = ""
) -> HTMLResponse:
    """The report's own HTML page, for the frame on ``/reports``."""
    period = choose(page, month, start, end, profile)
    html = render_html(without_links(build(page, period, with_posts=False)))
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": FRAME_POLICY, "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/reports/download/{fmt}")
def download(
    page: SignedIn,
    fmt: str,
    month: Month = "",
    start: From = "",
    end: To = "",
    profile: str = "",
) -> Response:
    """The same report as a file: CSV (one table column), JSON, Markdown or the HTML page."""
    if fmt not in DOWNLOADS:
        authorize(page.signed_in, Action.READ_REPORTS)
        formats = ", ".join(DOWNLOADS)
        raise InvalidInputError(page.t("reports.bad_format", value=fmt, formats=formats))
    period = choose(page, month, start, end, profile)
    data = build(page, period, with_posts=fmt in ("csv", "json"))
    if fmt == "csv":
        body = write_csv(data)
    elif fmt == "json":
        body = json.dumps(report_to_dict(data), ensure_ascii=False, indent=2)
    elif fmt == "md":
        body = render_markdown(data)
    else:
        body = render_html(data)
    who = f"-{SAFE_NAME.sub('_', period.profile)}" if period.profile else ""
    name = f"brandkit-report{who}-{period.first.isoformat()}-{period.last.isoformat()}.{fmt}"
    return Response(
        body,
        media_type=DOWNLOADS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": FRAME_POLICY.replace("'self'", "'none'"),
        },
    )
