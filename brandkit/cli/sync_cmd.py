"""``brandkit sync``: pull follower and engagement numbers from every account now."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlmodel import select

from brandkit.cli.output import emit_json
from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.errors import NotFoundError
from brandkit.metrics.sync import SyncResult, sync_accounts
from brandkit.workspace import build_runtime


def sync(
    ctx: typer.Context,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only this account (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sync accounts concurrently; one account's failure does not stop the others.

    Example: brandkit sync --account dr-yamada
    """
    st = state(ctx)
    engine = st.engine()
    with session_scope(engine) as session:
        accounts = session.exec(select(Account).where(Account.status == "active")).all()
        chosen = [a for a in accounts if not account or a.name in account]
        for name in set(account or []) - {a.name for a in chosen}:
            raise NotFoundError("active account", name, hint="see 'brandkit accounts list'")
        ids = [a.id for a in chosen if a.id is not None]
    runtime = build_runtime(st.settings(), engine)

    async def main() -> list[SyncResult]:
        try:
            with Progress(
                TextColumn("syncing"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
                disable=as_json,
            ) as progress:
                task = progress.add_task("sync", total=len(ids))
                return await sync_accounts(runtime, ids, on_done=lambda _r: progress.advance(task))
        finally:
            await runtime.aclose()

    results = asyncio.run(main())
    if as_json:
        emit_json([r.__dict__ for r in results])
    else:
        for r in results:
            if r.ok:
                console.print(
                    f"{r.account_name}: {r.followers:,} followers, "
                    f"{r.posts_updated} post(s) updated"
                )
            else:
                console.print(f"{r.account_name}: [red]failed[/] {r.error}", highlight=False)
    if any(not r.ok for r in results):
        raise typer.Exit(1)
