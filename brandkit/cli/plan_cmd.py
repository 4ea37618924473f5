"""``brandkit plan``: a week of drafts from the calendar and the topic backlog."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from brandkit.cli.calendar_cmd import synced_workspace
from brandkit.cli.output import emit_json, emit_table
from brandkit.cli.state import console, state
from brandkit.clock import Clock, SystemClock
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.planner.backlog import BacklogTopics
from brandkit.planner.calendar import iso_week, next_week, parse_week
from brandkit.planner.plan import NEW, PlannedSlot, plan_slots
from brandkit.planner.sources import EXAMPLES, SLOT
from brandkit.workspace import default_profile

FALLBACK_LABEL = {SLOT: "(slot variables)", EXAMPLES: "(template examples)"}
clock: Clock = SystemClock()  # tests replace it: "next week" and "past" depend on now


def plan(
    ctx: typer.Context,
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W49 (default: next week).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan without writing anything.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Draft one post per calendar slot for a week, one variant per account, rendered and
    checked; topics come from the backlog. Running it again creates nothing new.

    Example: brandkit plan --week 2026-W49 --dry-run
    """
    st = state(ctx)
    settings = st.settings()
    library = TemplateLibrary(settings.template_dirs)
    now = clock.now()
    monday = parse_week(week) if week else next_week(now, settings.tz)
    with (
        session_scope(st.engine()) as session,
        Progress(
            TextColumn("planning"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress,
    ):
        task = progress.add_task("plan", total=None)
        workspace = synced_workspace(session, settings, library)
        planned = plan_slots(
            session,
            library,
            workspace=workspace,
            profile=default_profile(session, workspace),
            monday=monday,
            now=now,
            topics=BacklogTopics(session, library, workspace, now),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        if dry_run:
            session.rollback()  # the sync, the drafts and the used topics: all undone
    if as_json:
        emit_json(
            {
                "week": iso_week(monday),
                "monday": monday,
                "timezone": settings.timezone,
                "dry_run": dry_run,
                "slots": [p.as_dict() for p in planned],
            }
        )
        return
    _print_plan(planned, iso_week(monday), monday, settings.timezone, dry_run)


def _accounts_cell(item: PlannedSlot) -> str:
    if not item.variants:
        return ", ".join(item.accounts)
    return ", ".join(
        f"{v.account} {v.length}{'' if v.fits else ' (too long)'}" for v in item.variants
    )


def _print_plan(
    planned: list[PlannedSlot], week: str, monday: date, timezone: str, dry_run: bool
) -> None:
    sunday = monday + timedelta(days=6)
    emit_table(
        f"{week} ({monday} – {sunday}, {timezone})" + (" — dry run" if dry_run else ""),
        ["slot", "when", "template", "topic", "accounts (length)", "errors", "status"],
        [
            [
                p.slot_id,
                p.local_time.strftime("%a %m-%d %H:%M"),
                p.template or "",
                p.topic or FALLBACK_LABEL.get(p.source or "", ""),
                _accounts_cell(p),
                p.error_count if p.variants else "",
                p.status,
            ]
            for p in planned
        ],
    )
    counts = Counter(p.status for p in planned)
    verb = "would be created" if dry_run else "created"
    console.print(
        f"{counts[NEW]} post(s) {verb}, {counts['exists']} already planned, "
        f"{counts['past']} in the past." + (" Nothing was written." if dry_run else "")
    )
    fallbacks = [p for p in planned if p.status == NEW and p.source in FALLBACK_LABEL]
    if fallbacks:
        console.print(
            f"{len(fallbacks)} post(s) had no topic in the backlog and use the slot's variables "
            "or the template's examples: import topics with 'brandkit topics import FILE'."
        )
    if not planned:
        console.print("The calendar is empty: add slots with 'brandkit calendar add'.")
    elif counts[NEW] and not dry_run:
        console.print(
            "Review with 'brandkit posts list'; approve with 'brandkit posts approve ID'."
        )
