"""``brandkit sync``: pull follower and engagement numbers from the accounts that are due."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import col, select

from brandkit.cli.output import emit_json
from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.errors import NotFoundError
from brandkit.metrics.sync import DEFAULT_CONCURRENCY, SyncResult, due_accounts, sync_accounts
from brandkit.metrics.transport import sync_http_client
from brandkit.workspace import build_runtime


def sync(
    ctx: typer.Context,
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Sync this account now, due or not (repeatable)."),
    ] = None,
    all_accounts: Annotated[
        bool, typer.Option("--all", help="Sync every active account now, due or not.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Accounts pulled at once.")
    ] = DEFAULT_CONCURRENCY,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sync the accounts that are due, concurrently; one account's failure does not stop the rest.

    An account is due when it was never synced or last synced at least sync_interval_minutes
    ago. Each sync stores the account's counts; a published post's metrics are read about 1
    hour, 1 day, 7 days and 30 days after publishing. Exits 1 if any account failed.

    Example: brandkit sync --account dr-yamada
    """
    st = state(ctx)
    settings = st.settings()
    engine = st.engine()
    runtime = build_runtime(settings, engine, http=sync_http_client(settings.http_timeout))
    interval = timedelta(minutes=settings.sync_interval_minutes)
    with session_scope(engine) as session:
        if account:
            found = {
                a.name: a.id
                for a in session.exec(select(Account).where(col(Account.name).in_(account)))
            }
            for name in account:
                if name not in found:
                    raise NotFoundError("account", name, hint="see 'brandkit accounts list'")
            ids = [i for i in dict.fromkeys(found[n] for n in account) if i is not None]
        elif all_accounts:
            query = select(Account.id).where(col(Account.status) == "active")
            ids = [i for i in session.exec(query.order_by(col(Account.name))) if i is not None]
        else:
            ids = due_accounts(session, runtime.clock.now(), interval)
        active = session.exec(select(Account.id).where(col(Account.status) == "active")).all()

    if not ids:
        asyncio.run(runtime.aclose())
        if as_json:
            emit_json([])
        elif not active:
            console.print("No active accounts: add one with 'brandkit accounts add'.")
        else:
            console.print(
                f"Nothing is due: every active account was synced in the last "
                f"{settings.sync_interval_minutes} minutes. Use --all to sync them now."
            )
        return

    async def main() -> list[SyncResult]:
        try:
            with Progress(
                TextColumn("syncing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=as_json,
            ) as progress:
                task = progress.add_task("sync", total=len(ids))
                return await sync_accounts(
                    runtime,
                    ids,
                    concurrency=concurrency,
                    on_done=lambda _r: progress.advance(task),
                )
        finally:
            await runtime.aclose()

    results = asyncio.run(main())
    if as_json:
        emit_json([r.__dict__ for r in results])
    else:
        _print(results)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def _print(results: list[SyncResult]) -> None:
    for r in results:
        name = escape(r.account_name)
        if r.ok:
            console.print(
                f"{name}: [green]ok[/] {r.followers:,} followers, "
                f"{r.posts_updated} of {r.posts_due} due post(s) read",
                highlight=False,
            )
        else:
            status = "needs_reauth" if r.needs_reauth else "error"
            console.print(
                f"{name}: [red]{status}[/] {escape(r.error or '')}", highlight=False, soft_wrap=True
            )
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} synced, {failed} failed.", highlight=False)
