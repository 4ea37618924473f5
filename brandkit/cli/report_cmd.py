"""``brandkit report``: follower growth, goals, engagement and data gaps for a period."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlmodel import func, select

from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import AccountSnapshot
from brandkit.errors import InvalidInputError
from brandkit.reports import (
    Report,
    build_report,
    render_html,
    render_markdown,
    render_plain,
    render_text,
    report_to_dict,
    write_csv,
    write_csv_dir,
)
from brandkit.reports.categories import template_categories
from brandkit.workspace import current_workspace

FORMATS = ("text", "html", "md", "csv", "json")


YEARS = (1970, 9998)  # outside, date arithmetic and time-zone conversion would overflow


def _in_range(day: date, flag: str, value: str) -> date:
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise InvalidInputError(
            f"{flag} {value!r} is outside the years {YEARS[0]}–{YEARS[1]}",
            hint="give a date in the period your data covers",
        )
    return day


def _parse_date(value: str, flag: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"{flag} {value!r} is not a date", hint="use YYYY-MM-DD") from exc
    return _in_range(day, flag, value)


def period_bounds(
    period: str | None, start: str | None, end: str | None, latest: datetime | None
) -> tuple[date, date]:
    """A month (``2026-11``), an explicit range, or the 28 days up to the latest data."""
    if period:
        try:
            year, month = (int(p) for p in period.split("-"))
            first = date(year, month, 1)
        except ValueError as exc:
            raise InvalidInputError(
                f"--period {period!r} is not a month", hint="use YYYY-MM, e.g. 2026-11"
            ) from exc
        _in_range(first, "--period", period)
        following = date(year + month // 12, month % 12 + 1, 1)
        return first, following
    last = (latest or datetime.now(UTC)).date() + timedelta(days=1)
    to_day = _parse_date(end, "--to") + timedelta(days=1) if end else last
    from_day = _parse_date(start, "--from") if start else to_day - timedelta(days=28)
    if from_day >= to_day:
        raise InvalidInputError("--from must be before --to")
    return from_day, to_day


def report(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option(help="A month, YYYY-MM.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Only this doctor's accounts and goals (profile slug).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, html, md, csv or json.")] = "text",
    out: Annotated[
        Path | None, typer.Option(help="Write to this file (csv: this directory).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Report follower growth, goals, engagement, what works and gaps in the data.

    csv writes one file per table into the --out directory, or one CSV with a "table" column
    to stdout. Example: brandkit report --period 2026-11 --format html --out report.html
    """
    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise InvalidInputError(
            f"--format {fmt!r} is not supported", hint=f"use one of: {', '.join(FORMATS)}"
        )
    st = state(ctx)
    settings = st.settings()
    engine = st.engine()
    with session_scope(engine) as session:
        workspace = current_workspace(session)
        latest = session.exec(select(func.max(AccountSnapshot.taken_at))).one()
    if isinstance(latest, datetime) and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    first, last = period_bounds(period, start, end, latest)
    data = build_report(
        engine,
        workspace.id or 0,
        start=_midnight(first, settings.tz),
        end=_midnight(last, settings.tz),
        profile=profile,
        categories=template_categories(settings.template_dirs),
        with_posts=fmt in ("csv", "json"),
        now=datetime.now(UTC),
    )
    if fmt == "csv" and out is not None:
        written = write_csv_dir(data, out)
        console.print(f"Wrote {len(written)} files to {out}")
        return
    if fmt == "text" and out is None:
        console.print(render_text(data))
        return
    text = _render(data, fmt)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}")
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def _render(data: Report, fmt: str) -> str:
    if fmt == "html":
        return render_html(data)
    if fmt == "md":
        return render_markdown(data)
    if fmt == "csv":
        return write_csv(data)
    if fmt == "json":
        return json.dumps(report_to_dict(data), ensure_ascii=False, indent=2)
    return render_plain(data)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local day as an aware datetime (zoneinfo resolves DST)."""
    return datetime.combine(day, time(0), tz)
