"""The calendar page: the weekly slots, as ``brandkit calendar list`` shows them.

Like the CLI it first syncs the ``[[calendar]]`` tables of brandkit.toml into the slots (an
error there is one line on the page, and the slots are listed as they are). Owners
(``manage_calendar``) add and remove slots through :mod:`brandkit.planner.slots`, with the CLI's
checks: a weekday, an HH:MM time, exactly one of template and category, existing accounts,
the template's variables; a slot that posts point at is deactivated rather than deleted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from brandkit.cli.calendar_cmd import slot_row, synced_workspace
from brandkit.cli.templates_cmd import parse_vars
from brandkit.content import TemplateLibrary
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.errors import BrandkitError, InvalidInputError
from brandkit.planner.calendar import parse_weekday
from brandkit.planner.slots import add_slot, list_slots, remove_slot
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize
from brandkit.workspace import current_workspace

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]

OUTCOMES = {
    "deleted": "calendar.deleted",
    "deactivated": "calendar.deactivated",
    "already inactive": "calendar.already_inactive",
}


def _library(page: Page) -> TemplateLibrary:
    return TemplateLibrary(page.web.settings.template_dirs)


def load_slots(page: Page, library: TemplateLibrary, show_all: bool) -> list[dict[str, Any]]:
    """The slots after syncing brandkit.toml; a sync error is flashed and the slots are listed
    as they are (the failed sync changed nothing)."""
    settings = page.web.settings
    try:
        with session_scope(page.web.engine) as db:
            workspace = synced_workspace(db, settings, library)
            slots = list_slots(db, workspace, include_inactive=show_all)
            return [slot_row(db, s, settings, library, workspace.locale) for s in slots]
    except BrandkitError as exc:
        page.flash("error", page.t("calendar.sync_failed", reason=exc.message))
    with session_scope(page.web.engine) as db:
        workspace = current_workspace(db)
        slots = list_slots(db, workspace, include_inactive=show_all)
        return [slot_row(db, s, settings, library, workspace.locale) for s in slots]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(page: SignedIn, show_all: bool = False) -> HTMLResponse:
    authorize(page.signed_in, Action.VIEW_QUEUE)
    library = _library(page)
    rows = load_slots(page, library, show_all)
    with session_scope(page.web.engine) as db:
        accounts = list(
            db.exec(
                select(Account.name)
                .where(Account.workspace_id == page.workspace.id, Account.status != "disabled")
                .order_by(col(Account.name))
            ).all()
        )
    templates, categories = _choices(library)
    return page.render(
        "calendar.html",
        slots=rows,
        show_all=show_all,
        accounts=accounts,
        timezone=page.workspace.timezone,
        templates=templates,
        categories=categories,
    )


def _choices(library: TemplateLibrary) -> tuple[list[str], list[str]]:
    """Template names and categories for the add form (names only if one fails to parse:
    the planner reports that template's error where it is used)."""
    try:
        templates = library.all()
    except BrandkitError:
        return library.names(), []
    return [t.name for t in templates], sorted({t.category for t in templates if t.category})


@router.post("/calendar")
def add(
    page: SignedIn,
    weekday: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    template: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    accounts: Annotated[list[str] | None, Form()] = None,
    variables: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """``brandkit calendar add``: every WEEKDAY at TIME, post a template (or a category)."""
    authorize(page.signed_in, Action.MANAGE_CALENDAR)
    library = _library(page)
    try:
        day = parse_weekday(weekday)
        names = [name for name in accounts or [] if name.strip()]
        if not names:
            raise InvalidInputError(page.t("calendar.no_accounts"))
        values = parse_vars([line for line in variables.splitlines() if line.strip()])
        with session_scope(page.web.engine) as db:
            workspace = synced_workspace(db, page.web.settings, library)
            slot = add_slot(
                db,
                library,
                workspace,
                weekday=day,
                local_time=at,
                template=template.strip() or None,
                category=category.strip() or None,
                accounts=names,
                variables=values,
            )
            what = slot.template or page.t("calendar.category_of", category=slot.category)
            message = page.t(
                "calendar.added",
                id=slot.id,
                weekday=page.t.weekday(slot.weekday),
                time=slot.local_time,
                what=what,
                accounts=", ".join(slot.accounts),
            )
        page.flash("success", message)
    except BrandkitError as exc:
        page.flash("error", page.t("calendar.failed", reason=exc.message))
    return page.redirect("/calendar")


@router.post("/calendar/remove")
def remove(page: SignedIn, slot: Annotated[str, Form()] = "") -> RedirectResponse:
    """``brandkit calendar remove``: deleted, or deactivated when posts point at it."""
    authorize(page.signed_in, Action.MANAGE_CALENDAR)
    library = _library(page)
    try:
        try:
            slot_id = int(slot)
        except ValueError as exc:
            raise InvalidInputError(page.t("calendar.bad_id", value=slot)) from exc
        with session_scope(page.web.engine) as db:
            workspace = synced_workspace(db, page.web.settings, library)
            outcome = remove_slot(db, library, workspace, slot_id, page.web.settings.calendar)
        page.flash("success", page.t(OUTCOMES.get(outcome, "calendar.deleted"), id=slot_id))
    except BrandkitError as exc:
        page.flash("error", page.t("calendar.failed", reason=exc.message))
    return page.redirect("/calendar")
