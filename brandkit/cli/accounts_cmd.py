"""``brandkit accounts``: add, list, verify and remove platform accounts.

A token is read from a hidden prompt, standard input or a named environment variable — never
from a command-line argument, where it would end up in shell history and process lists.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Any

import typer
from sqlmodel import select

from brandkit.cli.output import emit_json, emit_table, local
from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, Variant
from brandkit.errors import AuthExpiredError, BrandkitError, InvalidInputError, NotFoundError
from brandkit.platforms.base import Credentials, get_connector_class, known_platforms
from brandkit.publishing.jobs import SYNC_PREFIX, JobQueue
from brandkit.secrets import SecretBox
from brandkit.workspace import add_account, build_runtime, current_workspace, default_profile

app = typer.Typer(
    help="Platform accounts: add, list, verify, reauth, remove.", no_args_is_help=True
)


def _read_token(token_env: str | None) -> str:
    if token_env:
        value = os.environ.get(token_env)
        if not value:
            raise InvalidInputError(f"environment variable {token_env} is not set or empty")
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return str(typer.prompt("Access token", hide_input=True))


@app.command("add")
def add(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(help=f"One of: {', '.join(known_platforms())}.")],
    name: Annotated[str, typer.Option(help="A short name to refer to the account.")],
    base_url: Annotated[str, typer.Option(help="The instance or API base URL.")],
    token_env: Annotated[
        str | None, typer.Option(help="Read the token from this environment variable.")
    ] = None,
) -> None:
    """Add an account; the token is encrypted before it is stored.

    Example: echo "$TOKEN" | brandkit accounts add mastodon --name dr-yamada \\
    --base-url https://mastodon.social
    """
    st = state(ctx)
    settings = st.settings()
    get_connector_class(platform)  # an unknown platform is refused before asking for a token
    token = _read_token(token_env)
    secrets = SecretBox.from_key_file(settings.secret_key_file)
    with session_scope(st.engine()) as session:
        workspace = current_workspace(session)
        account = add_account(
            session,
            secrets,
            workspace,
            platform=platform,
            name=name,
            base_url=base_url,
            token=token,
            profile=default_profile(session, workspace),
        )
    console.print(
        f"Added {account.platform} account {account.name!r}. "
        f"Check it with: brandkit accounts verify {account.name}"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List accounts with their status, last sync and latest follower count.

    Example: brandkit accounts list --json
    """
    st = state(ctx)
    tz = st.settings().tz
    with session_scope(st.engine()) as session:
        rows: list[dict[str, Any]] = []
        for account in session.exec(select(Account).order_by(Account.name)).all():
            followers = session.exec(
                select(AccountSnapshot.followers)
                .where(AccountSnapshot.account_id == account.id)
                .order_by(AccountSnapshot.taken_at.desc())  # type: ignore[attr-defined]
            ).first()
            rows.append(
                {
                    "name": account.name,
                    "platform": account.platform,
                    "handle": account.handle,
                    "base_url": account.base_url,
                    "status": account.status,
                    "last_sync_at": account.last_sync_at,
                    "followers": followers,
                    "last_error": account.last_error,
                }
            )
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Accounts",
        ["name", "platform", "handle", "status", "followers", "last sync"],
        [
            [
                r["name"],
                r["platform"],
                r["handle"],
                r["status"],
                r["followers"],
                local(r["last_sync_at"], tz),
            ]
            for r in rows
        ],
    )


@app.command("verify")
def verify(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Accounts (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Call each account's profile endpoint and show whether its credentials work.

    Example: brandkit accounts verify dr-yamada
    """
    st = state(ctx)
    engine = st.engine()
    with session_scope(engine) as session:
        query = select(Account).order_by(Account.name)
        accounts = [
            a
            for a in session.exec(query).all()
            if ((a.name in names) if names else a.status != "disabled")
        ]
        for missing in set(names or []) - {a.name for a in accounts}:
            raise NotFoundError("account", missing, hint="see 'brandkit accounts list'")
        for account in accounts:
            session.expunge(account)

    async def check_all() -> list[dict[str, object]]:
        runtime = build_runtime(st.settings(), engine)
        results: list[dict[str, object]] = []
        try:
            for account in accounts:
                try:
                    profile = await runtime.connector_for(account).fetch_profile()
                except BrandkitError as exc:
                    results.append({"name": account.name, "ok": False, "error": str(exc)})
                    reauth = isinstance(exc, AuthExpiredError)
                    runtime.mark_account(
                        account.id, status="needs_reauth" if reauth else None, error=str(exc)
                    )
                    continue
                results.append(
                    {
                        "name": account.name,
                        "ok": True,
                        "handle": profile.handle,
                        "followers": profile.followers,
                        "error": None,
                    }
                )
                # working credentials lift needs_reauth; a disabled account stays disabled
                status = "active" if account.status == "needs_reauth" else None
                runtime.mark_account(account.id, status=status, error=None)
        finally:
            await runtime.aclose()
        return results

    results = asyncio.run(check_all())
    if as_json:
        emit_json(results)
    else:
        for r in results:
            mark = "[green]ok[/]" if r["ok"] else "[red]failed[/]"
            detail = f"@{r['handle']}, {r['followers']} followers" if r["ok"] else r["error"]
            console.print(f"{r['name']}: {mark} {detail}", highlight=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@app.command("reauth")
def reauth(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account whose token to replace.")],
    token_env: Annotated[
        str | None, typer.Option(help="Read the token from this environment variable.")
    ] = None,
) -> None:
    """Replace an account's token (read like 'accounts add') and make it active again.

    Example: echo "$NEW_TOKEN" | brandkit accounts reauth dr-yamada
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFoundError("account", name, hint="see 'brandkit accounts list'")
        token = _read_token(token_env)
        if not token.strip():
            raise InvalidInputError("the access token is empty")
        secrets = SecretBox.from_key_file(st.settings().secret_key_file)
        account.credentials_encrypted = secrets.encrypt(Credentials(token=token.strip()))
        account.status = "active"
        account.last_error = None
    console.print(f"Stored a new token for {name}. Check it with: brandkit accounts verify {name}")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an account; one with posts is disabled instead, so its history stays.

    Example: brandkit accounts remove old-account --yes
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFoundError("account", name, hint="see 'brandkit accounts list'")
        used = session.exec(select(Variant.id).where(Variant.account_id == account.id)).first()
        if used is not None:
            account.status = "disabled"
            console.print(f"{name} has posts; it is now disabled instead of removed.")
            return
        if not yes and not typer.confirm(f"Remove account {name}?"):
            raise typer.Exit(1)
        for snap in session.exec(
            select(AccountSnapshot).where(AccountSnapshot.account_id == account.id)
        ).all():
            session.delete(snap)
        account_id = account.id
        session.delete(account)
    with JobQueue(st.engine()) as queue:
        queue.remove(f"{SYNC_PREFIX}{account_id}")
    console.print(f"Removed {name}.")
