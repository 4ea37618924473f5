"""Platform accounts, as both the CLI and the web use them: store credentials, verify.

Verifying an account calls its profile endpoint through the runtime's connector and records the
outcome on the account: rejected credentials make it ``needs_reauth``, working ones make a
``needs_reauth`` account active again (a disabled one stays disabled). ``brandkit accounts
verify`` and the accounts page's "Verify now" both go through :func:`verify_accounts`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sqlmodel import Session

from brandkit.db.models import Account
from brandkit.errors import AuthExpiredError, BrandkitError
from brandkit.platforms.base import Credentials
from brandkit.runtime import Runtime
from brandkit.secrets import SecretBox
from brandkit.workspace import add_account, current_workspace, default_profile

VERIFY_CONCURRENCY = 8  # profile calls at a time


def add_to_workspace(
    session: Session,
    secrets: SecretBox,
    *,
    platform: str,
    name: str,
    base_url: str,
    credentials: Credentials,
) -> Account:
    """A new account in the current workspace, under its first profile."""
    workspace = current_workspace(session)
    return add_account(
        session,
        secrets,
        workspace,
        platform=platform,
        name=name,
        base_url=base_url,
        credentials=credentials,
        profile=default_profile(session, workspace),
    )


def replace_credentials(account: Account, secrets: SecretBox, credentials: Credentials) -> None:
    """New credentials for ``account``, which becomes active again."""
    account.credentials_encrypted = secrets.encrypt(credentials)
    account.status = "active"
    account.last_error = None


async def check_account(runtime: Runtime, account: Account) -> dict[str, object]:
    """One account's profile call, recorded on the account; errors become one line."""
    row: dict[str, object] = {"name": account.name, "platform": account.platform}
    connector = None
    try:
        connector = runtime.connector_for(account)
        profile = await connector.fetch_profile()
    except BrandkitError as exc:
        reauth = isinstance(exc, AuthExpiredError)
        message = " ".join(str(exc).split())
        runtime.mark_account(account.id, status="needs_reauth" if reauth else None, error=message)
        return {**row, "status": "needs_reauth" if reauth else "error", "error": message}
    finally:
        if connector is not None:
            await connector.aclose()
    # working credentials lift needs_reauth; a disabled account stays disabled
    status = "active" if account.status == "needs_reauth" else None
    runtime.mark_account(account.id, status=status, error=None)
    return {
        **row,
        "status": "ok",
        "handle": profile.handle,
        "followers": profile.followers,
        "error": None,
    }


async def verify_accounts(runtime: Runtime, accounts: Iterable[Account]) -> list[dict[str, object]]:
    """:func:`check_account` for each of ``accounts``, at most :data:`VERIFY_CONCURRENCY` at a
    time, in their order; closes ``runtime`` afterwards."""
    limit = asyncio.Semaphore(VERIFY_CONCURRENCY)

    async def guarded(account: Account) -> dict[str, object]:
        async with limit:
            return await check_account(runtime, account)

    try:
        return list(await asyncio.gather(*(guarded(a) for a in accounts)))
    finally:
        await runtime.aclose()
