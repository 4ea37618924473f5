"""The weekly calendar's rows: slots added with ``brandkit calendar add`` and slots synced from
the ``[[calendar]]`` tables of brandkit.toml.

A slot is identified by what and when it posts (weekday, local time, template or category):
the same toml entry always maps to the same row, so planning twice creates nothing new even
across edits of its accounts or variables. A slot is never deleted while a post points at it,
only deactivated, so every planned or published post keeps the slot it was planned for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from brandkit.calendar_config import CalendarEntry
from brandkit.content import TemplateLibrary
from brandkit.db.models import Post, Slot, Workspace
from brandkit.errors import BrandkitError, ConfigError, InvalidInputError, NotFoundError
from brandkit.planner.calendar import parse_local_time, weekday_label
from brandkit.planner.drafts import resolve_accounts
from brandkit.planner.sources import choose_template, missing_variables, require_category

CLI, CONFIG = "cli", "config"
SlotKey = tuple[int, str, str | None, str | None]


@dataclass(frozen=True)
class SyncReport:
    """What syncing the brandkit.toml calendar changed."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0
    deleted: int = 0


def slot_key(slot: Slot) -> SlotKey:
    return (slot.weekday, slot.local_time, slot.template, slot.category)


def describe(slot: Slot) -> str:
    """``Tue 12:30 ja/health_tip``: how messages name a slot."""
    what = slot.template or f"category {slot.category}"
    return f"{weekday_label(slot.weekday)} {slot.local_time} {what}"


def check_slot(
    session: Session,
    library: TemplateLibrary,
    workspace: Workspace,
    *,
    template: str | None,
    category: str | None,
    accounts: Sequence[str],
    variables: Mapping[str, Any],
) -> str | None:
    """Validate a slot's names; returns the template's canonical ``lang/name``."""
    if (template is None) == (category is None):
        raise InvalidInputError("give exactly one of --template and --category")
    resolve_accounts(session, accounts)
    if template is not None:
        found = library.get(template, workspace.locale)
        missing = missing_variables(found, variables) if variables else []
        if missing:
            raise InvalidInputError(
                f"{found.name} needs variable {missing[0]!r} too",
                hint=f"give all of {', '.join(v.name for v in found.variables if v.required)}, "
                "or none to fill it from the topic backlog",
            )
        if variables:
            library.variables_for(found, variables)  # type errors, with the template's name
        return found.name
    assert category is not None
    templates = require_category(library, category, workspace.locale)
    if variables and choose_template(library, category, workspace.locale, variables) is None:
        raise InvalidInputError(
            f"no {category} template takes variables {', '.join(sorted(variables))}",
            hint="templates: " + ", ".join(t.name for t in templates),
        )
    return None


def add_slot(
    session: Session,
    library: TemplateLibrary,
    workspace: Workspace,
    *,
    weekday: int,
    local_time: str,
    template: str | None,
    category: str | None,
    accounts: Sequence[str],
    variables: Mapping[str, Any],
) -> Slot:
    """A new calendar slot, checked: its accounts and template exist, its time is HH:MM."""
    at = parse_local_time(local_time).strftime("%H:%M")
    name = check_slot(
        session,
        library,
        workspace,
        template=template,
        category=category,
        accounts=accounts,
        variables=variables,
    )
    assert workspace.id is not None
    slot = Slot(
        workspace_id=workspace.id,
        weekday=weekday,
        local_time=at,
        template=name,
        category=None if name else category,
        accounts=list(dict.fromkeys(accounts)),
        variables=dict(variables),
    )
    for other in list_slots(session, workspace, include_inactive=False):
        if slot_key(other) == slot_key(slot):
            raise InvalidInputError(
                f"slot {other.id} already posts {describe(slot)}",
                hint=f"remove it first with 'brandkit calendar remove {other.id}'",
            )
    session.add(slot)
    session.flush()
    return slot


def list_slots(session: Session, workspace: Workspace, *, include_inactive: bool) -> list[Slot]:
    query = select(Slot).where(Slot.workspace_id == workspace.id)
    if not include_inactive:
        query = query.where(col(Slot.active).is_(True))
    return list(
        session.exec(query.order_by(col(Slot.weekday), col(Slot.local_time), col(Slot.id))).all()
    )


def post_count(session: Session, slot_id: int | None) -> int:
    return session.exec(select(func.count()).where(Post.slot_id == slot_id)).one()


def remove_slot(
    session: Session,
    library: TemplateLibrary,
    workspace: Workspace,
    slot_id: int,
    entries: Sequence[CalendarEntry],
) -> str:
    """Delete a slot, or deactivate it when posts point at it; returns which."""
    slot = session.get(Slot, slot_id)
    if slot is None or slot.workspace_id != workspace.id:
        raise NotFoundError("slot", slot_id, hint="see 'brandkit calendar list --all'")
    if slot.source == CONFIG and slot.active:
        entry = find_entry(slot, entries, library, workspace.locale)
        where = entry.where if entry else "brandkit.toml"
        raise InvalidInputError(
            f"slot {slot_id} comes from {where}",
            hint="delete that [[calendar]] table; the next plan deactivates the slot",
        )
    if not slot.active:
        return "already inactive"
    if post_count(session, slot.id):
        slot.active = False
        return "deactivated"
    session.delete(slot)
    session.flush()
    return "deleted"


def find_entry(
    slot: Slot, entries: Sequence[CalendarEntry], library: TemplateLibrary, language: str
) -> CalendarEntry | None:
    """The ``[[calendar]]`` table a config slot was synced from."""
    for entry in entries:
        if (entry.weekday, entry.time, entry.category) != (
            slot.weekday,
            slot.local_time,
            slot.category,
        ):
            continue
        if slot.category or (entry.template and _canonical(library, entry.template, language)) == (
            slot.template
        ):
            return entry
    return None


def _canonical(library: TemplateLibrary, name: str, language: str) -> str | None:
    try:
        return library.get(name, language).name
    except BrandkitError:
        return None


def _rank(slot: Slot) -> tuple[bool, bool]:
    return (slot.active, slot.source == CONFIG)


def sync_config_slots(
    session: Session,
    library: TemplateLibrary,
    workspace: Workspace,
    entries: Sequence[CalendarEntry],
) -> SyncReport:
    """Make the slot table match the ``[[calendar]]`` tables; idempotent.

    An entry updates the slot with its key (accounts and variables may change), reactivating
    it if needed; a hand-made slot with the same key is adopted rather than doubled. A config
    slot whose entry is gone is deleted, or deactivated when posts point at it.
    """
    slots = list_slots(session, workspace, include_inactive=True)
    by_key: dict[SlotKey, Slot] = {}
    for slot in slots:  # an active slot wins over an inactive one, then config over hand-made
        other = by_key.get(slot_key(slot))
        if other is None or _rank(slot) > _rank(other):
            by_key[slot_key(slot)] = slot
    outcomes: Counter[str] = Counter()
    kept: set[int | None] = set()
    seen: dict[SlotKey, CalendarEntry] = {}
    for entry in entries:
        key = _entry_key(session, library, workspace, entry)
        if key in seen:
            raise ConfigError(
                f"{entry.where}: the same slot as entry {seen[key].index} (line {seen[key].line})",
                hint="merge their accounts into one [[calendar]] table",
            )
        seen[key] = entry
        row, outcome = _upsert(session, workspace, entry, key, by_key.get(key))
        outcomes[outcome] += 1
        kept.add(row.id)
    for slot in slots:
        if slot.source != CONFIG or slot.id in kept:
            continue
        if post_count(session, slot.id):
            if slot.active:
                slot.active = False
                outcomes["deactivated"] += 1
        else:
            session.delete(slot)
            outcomes["deleted"] += 1
    session.flush()
    return SyncReport(**{field: outcomes[field] for field in SyncReport.__dataclass_fields__})


def _entry_key(
    session: Session, library: TemplateLibrary, workspace: Workspace, entry: CalendarEntry
) -> SlotKey:
    """The entry's slot key with the template's canonical name; errors point at the entry."""
    try:
        name = check_slot(
            session,
            library,
            workspace,
            template=entry.template,
            category=entry.category,
            accounts=entry.accounts,
            variables=entry.variables,
        )
    except BrandkitError as exc:
        raise ConfigError(f"{entry.where}: {exc.message}", hint=exc.hint) from exc
    return (entry.weekday, entry.time, name, None if name else entry.category)


def _upsert(
    session: Session, workspace: Workspace, entry: CalendarEntry, key: SlotKey, row: Slot | None
) -> tuple[Slot, str]:
    """Create the entry's slot, or bring ``row`` in line with it; says which it did."""
    wanted = (list(entry.accounts), dict(entry.variables), True, CONFIG)
    if row is None:
        assert workspace.id is not None
        row = Slot(
            workspace_id=workspace.id,
            weekday=entry.weekday,
            local_time=entry.time,
            template=key[2],
            category=key[3],
            accounts=wanted[0],
            variables=wanted[1],
            source=CONFIG,
        )
        session.add(row)
        session.flush()
        return row, "created"
    if (row.accounts, row.variables, row.active, row.source) != wanted:
        row.accounts, row.variables, row.active, row.source = wanted
        return row, "updated"
    return row, "unchanged"
