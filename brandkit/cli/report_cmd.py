"""``brandkit report``: follower growth and engagement for a period."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import func, select

from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import AccountSnapshot
from brandkit.errors import InvalidInputError
from brandkit.planner.calendar import local_to_utc, parse_local_time
from brandkit.reports import build_report, render_html, render_text, report_to_dict
from brandkit.workspace import current_workspace

FORMATS = ("text", "html", "json")


def _parse_date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"{flag} {value!r} is not a date", hint="use YYYY-MM-DD") from exc


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
    fmt: Annotated[str, typer.Option("--format", help="text, html or json.")] = "text",
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Report follower growth, engagement and what works.

    Example: brandkit report --period 2026-11 --format html --out report.html
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
    midnight = parse_local_time("00:00")
    data = build_report(
        engine,
        workspace.id or 0,
        start=local_to_utc(first, midnight, settings.tz),
        end=local_to_utc(last, midnight, settings.tz),
    )
    if fmt == "html":
        text = render_html(data)
    elif fmt == "json":
        text = json.dumps(report_to_dict(data), ensure_ascii=False, indent=2)
    else:
        if out is None:
            console.print(render_text(data))
            return
        from brandkit.reports import render_plain

        text = render_plain(data)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}")
    else:
        typer.echo(text)
