"""``brandkit calendar``: the weekly slots (add, list, remove) and the iCalendar export."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from brandkit.cli.output import emit_json, emit_table
from brandkit.cli.state import CliState, console, state
from brandkit.cli.templates_cmd import parse_vars
from brandkit.config import Settings
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Slot, Workspace
from brandkit.errors import InvalidInputError
from brandkit.planner.calendar import local_to_utc, parse_weekday, weekday_label
from brandkit.planner.ics import calendar_events, render_calendar
from brandkit.planner.slots import (
    CONFIG,
    add_slot,
    describe,
    find_entry,
    list_slots,
    post_count,
    remove_slot,
    sync_config_slots,
)
from brandkit.workspace import current_workspace

app = typer.Typer(
    help="The weekly calendar: add, list and remove slots; export the queue as iCalendar.",
    no_args_is_help=True,
)


def synced_workspace(session: Session, settings: Settings, library: TemplateLibrary) -> Workspace:
    """The workspace, with the [[calendar]] tables of brandkit.toml synced into its slots."""
    workspace = current_workspace(session)
    sync_config_slots(session, library, workspace, settings.calendar)
    return workspace


def _open(ctx: typer.Context) -> tuple[CliState, Settings, TemplateLibrary]:
    st = state(ctx)
    settings = st.settings()
    return st, settings, TemplateLibrary(settings.template_dirs)


def slot_row(
    session: Session, slot: Slot, settings: Settings, library: TemplateLibrary, locale: str
) -> dict[str, Any]:
    entry = find_entry(slot, settings.calendar, library, locale) if slot.source == CONFIG else None
    return {
        "id": slot.id,
        "weekday": slot.weekday,
        "day": weekday_label(slot.weekday),
        "time": slot.local_time,
        "template": slot.template,
        "category": slot.category,
        "accounts": slot.accounts,
        "variables": slot.variables,
        "active": slot.active,
        "source": slot.source,
        "origin": f"{Path(entry.file).name}:{entry.line}" if entry else slot.source,
        "posts": post_count(session, slot.id),
    }


@app.command("add")
def add(
    ctx: typer.Context,
    weekday: Annotated[str, typer.Option(help="mon … sun, 月 … 日, or 0 (Monday) … 6.")],
    at: Annotated[str, typer.Option("--time", help="Local time HH:MM in the workspace's zone.")],
    account: Annotated[list[str], typer.Option("--account", help="Account name (repeatable).")],
    template: Annotated[str | None, typer.Option(help="Template name, e.g. ja/health_tip.")] = None,
    category: Annotated[
        str | None, typer.Option(help="Template category; the planner picks the template.")
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="KEY=VALUE used when the topic backlog has nothing."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a weekly slot: every WEEKDAY at TIME, post a template (or a category) to accounts.

    Example: brandkit calendar add --weekday tue --time 12:30 --template ja/health_tip \\
    --account dr-yamada --account sakura-clinic
    """
    st, settings, library = _open(ctx)
    day = parse_weekday(weekday)
    with session_scope(st.engine()) as session:
        workspace = synced_workspace(session, settings, library)
        slot = add_slot(
            session,
            library,
            workspace,
            weekday=day,
            local_time=at,
            template=template,
            category=category,
            accounts=account,
            variables=parse_vars(var),
        )
        row = slot_row(session, slot, settings, library, workspace.locale)
    if as_json:
        emit_json(row)
        return
    console.print(f"Added slot {slot.id}: {describe(slot)} → {', '.join(slot.accounts)}.")
    console.print("Plan next week with: brandkit plan")


@app.command("list")
def list_(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include removed slots.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the weekly slots, those from brandkit.toml included, in weekday order.

    Example: brandkit calendar list --json
    """
    st, settings, library = _open(ctx)
    with session_scope(st.engine()) as session:
        workspace = synced_workspace(session, settings, library)
        rows = [
            slot_row(session, s, settings, library, workspace.locale)
            for s in list_slots(session, workspace, include_inactive=show_all)
        ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        f"Weekly calendar ({settings.timezone})",
        ["id", "day", "time", "template / category", "accounts", "from", "active"],
        [
            [
                r["id"],
                r["day"],
                r["time"],
                r["template"] or f"category {r['category']}",
                ", ".join(r["accounts"]),
                r["origin"],
                "yes" if r["active"] else "no",
            ]
            for r in rows
        ],
    )
    if not rows:
        console.print("No slots yet: add one with 'brandkit calendar add' or in brandkit.toml.")


@app.command("remove")
def remove(
    ctx: typer.Context,
    slot_id: Annotated[int, typer.Argument(help="Slot id (see 'brandkit calendar list').")],
) -> None:
    """Remove a slot; one that posts point at is deactivated instead, so they keep their slot.

    Example: brandkit calendar remove 3
    """
    st, settings, library = _open(ctx)
    with session_scope(st.engine()) as session:
        workspace = synced_workspace(session, settings, library)
        outcome = remove_slot(session, library, workspace, slot_id, settings.calendar)
    console.print(f"Slot {slot_id} {outcome}.")
    if outcome == "deactivated":
        console.print(
            "Posts already planned for it stay; cancel them with 'brandkit posts cancel'."
        )


def _parse_date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(
            f"{flag} {value!r} is not a date", hint="write it as 2026-12-01"
        ) from exc


@app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The .ics file to write ('-' for stdout).")],
    from_: Annotated[
        str | None, typer.Option("--from", help="First local date (YYYY-MM-DD).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last local date, included.")] = None,
) -> None:
    """Write scheduled, published, failed and missed posts as iCalendar (RFC 5545) events.

    Example: brandkit calendar export posts.ics --from 2026-12-01 --to 2026-12-31
    """
    st = state(ctx)
    tz = st.settings().tz
    first, last = _parse_date(from_, "--from"), _parse_date(to, "--to")
    if first and last and last < first:
        raise InvalidInputError(f"--to {last} is before --from {first}")
    start = local_to_utc(first, time(0), tz) if first else None
    end = local_to_utc(last + timedelta(days=1), time(0), tz) if last else None
    with session_scope(st.engine()) as session:
        workspace = current_workspace(session)
        events = calendar_events(session, workspace, start=start, end=end)
        text = render_calendar(events, name=workspace.name, timezone=workspace.timezone)
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    try:
        file.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot write {file}: {exc.strerror}") from exc
    console.print(f"Wrote {len(events)} event(s) to {file}.")
