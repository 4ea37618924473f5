"""The accounts page: each account's status, last sync and followers; owners verify them.

"Verify now" is ``brandkit accounts verify``: the same call of each account's profile endpoint
through the runtime's connector (:func:`brandkit.accounts.verify_accounts`), which records the
outcome on the account — rejected credentials make it ``needs_reauth``, working ones make a
``needs_reauth`` account active again. The runtime comes from ``create_app(runtime_factory=…)``
(tests hand in a fake transport or the in-process sandbox), else the workspace's own.

An account that needs re-authorisation shows the command that fixes it; nothing on the page is
ever decrypted, so no token can be shown.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from brandkit.accounts import verify_accounts
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot
from brandkit.errors import BrandkitError
from brandkit.platforms.base import get_connector_class
from brandkit.runtime import Runtime
from brandkit.web.pages import Page, signed_in
from brandkit.web.policy import Action, authorize
from brandkit.workspace import build_runtime

router = APIRouter()
SignedIn = Annotated[Page, Depends(signed_in)]


@dataclass(frozen=True)
class AccountRow:
    """One account as the page shows it (times in the workspace's zone)."""

    id: int
    name: str
    platform: str
    handle: str
    status: str
    error: str | None
    last_sync: datetime | None
    followers: int | None
    fixes: tuple[str, ...]  # the commands that re-authorise it, when it needs that


def one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def reauth_commands(platform: str, name: str) -> tuple[str, ...]:
    """``brandkit auth PLATFORM --name NAME`` for platforms with browser authorisation, and
    ``brandkit accounts reauth NAME`` (a new token on standard input) for every platform."""
    quoted = shlex.quote(name)
    try:
        oauth = getattr(get_connector_class(platform), "oauth", None)
    except BrandkitError:  # a platform whose connector is no longer installed
        oauth = None
    found = [f"brandkit auth {shlex.quote(platform)} --name {quoted}"] if oauth else []
    return (*found, f"brandkit accounts reauth {quoted}")


def load_accounts(page: Page) -> list[AccountRow]:
    rows = []
    with session_scope(page.web.engine) as db:
        accounts = db.exec(
            select(Account)
            .where(Account.workspace_id == page.workspace.id)
            .order_by(col(Account.name))
        ).all()
        for account in accounts:
            assert account.id is not None
            followers = db.exec(
                select(AccountSnapshot.followers)
                .where(AccountSnapshot.account_id == account.id)
                .order_by(col(AccountSnapshot.taken_at).desc(), col(AccountSnapshot.id).desc())
            ).first()
            rows.append(
                AccountRow(
                    id=account.id,
                    name=account.name,
                    platform=account.platform,
                    handle=account.handle,
                    status=account.status,
                    error=one_line(account.last_error),
                    last_sync=account.last_sync_at.astimezone(page.tz)
                    if account.last_sync_at
                    else None,
                    followers=followers,
                    fixes=reauth_commands(account.platform, account.name)
                    if account.status == "needs_reauth"
                    else (),
                )
            )
    return rows


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(page: SignedIn) -> HTMLResponse:
    authorize(page.signed_in, Action.READ_REPORTS)
    rows = load_accounts(page)
    return page.render(
        "accounts.html",
        accounts=rows,
        needs_reauth=[row for row in rows if row.fixes],
        timezone=page.workspace.timezone,
    )


def _runtime(page: Page) -> Runtime:
    factory = page.web.runtime_factory
    if factory is not None:
        return factory()
    return build_runtime(page.web.settings, page.web.engine, clock=page.web.clock)


def _chosen(page: Page, account: str) -> list[Account]:
    """The account with id ``account``, or every account that is not disabled (the CLI's
    default); detached from the session, as ``brandkit accounts verify`` holds them."""
    with session_scope(page.web.engine) as db:
        query = select(Account).where(Account.workspace_id == page.workspace.id)
        if account.strip():
            try:
                query = query.where(Account.id == int(account))
            except ValueError:
                return []
        else:
            query = query.where(Account.status != "disabled")
        found = list(db.exec(query.order_by(col(Account.name))).all())
        for row in found:
            db.expunge(row)
    return found


@router.post("/accounts/verify")
async def verify(page: SignedIn, account: Annotated[str, Form()] = "") -> RedirectResponse:
    """Verify one account (``account`` is its id) or all that are not disabled."""
    authorize(page.signed_in, Action.MANAGE_ACCOUNTS)
    accounts = await asyncio.to_thread(_chosen, page, account)
    if not accounts:
        key = "accounts.not_found" if account.strip() else "accounts.none_to_verify"
        page.flash("error", page.t(key, account=account))
        return page.redirect("/accounts")
    try:
        results = await verify_accounts(_runtime(page), accounts)
    except BrandkitError as exc:  # no secret key, say: nothing was called
        page.flash("error", page.t("accounts.verify_failed", reason=exc.message))
        return page.redirect("/accounts")
    for r in results:
        if r["status"] == "ok":
            followers = r["followers"]
            count = f"{followers:,}" if isinstance(followers, int) else "—"
            message = page.t("accounts.ok", name=r["name"], handle=r["handle"], followers=count)
            page.flash("success", message)
        else:
            key = "accounts.needs_reauth" if r["status"] == "needs_reauth" else "accounts.error"
            page.flash("error", page.t(key, name=r["name"], error=r["error"]))
    return page.redirect("/accounts")
