"""Metric sync: pull account counts and post engagement from the platforms into snapshots.

The platform is called with no transaction open; what came back is written in one transaction
per account. One account's failure is recorded on that account and does not stop the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, PostMetrics, Variant
from brandkit.errors import AuthExpiredError, BrandkitError
from brandkit.platforms.base import PostStats, ProfileCounts
from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

METRICS_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class SyncResult:
    account_id: int
    account_name: str
    ok: bool
    followers: int | None = None
    posts_updated: int = 0
    error: str | None = None


async def sync_job(account_id: int, *, runtime: Runtime | None = None) -> None:
    """The APScheduler job behind ``sync:<account id>``; the runner passes ``runtime``."""
    if runtime is None:  # the default only satisfies APScheduler's signature check
        raise RuntimeError("job functions run inside brandkit's JobRunner, which passes runtime")
    await sync_account(runtime, account_id)


async def sync_account(runtime: Runtime, account_id: int) -> SyncResult:
    with session_scope(runtime.engine) as session:
        account = session.get(Account, account_id)
        if account is None:
            return SyncResult(account_id, "?", ok=False, error="account was removed")
        session.expunge(account)
    if account.status != "active":
        return SyncResult(
            account_id,
            account.name,
            ok=False,
            error=f"account is {account.status}; re-authorise it first",
        )
    now = runtime.clock.now()
    try:
        connector = runtime.connector_for(account)
        profile = await connector.fetch_profile()
        stats = [s async for s in connector.fetch_post_metrics(since=now - METRICS_WINDOW)]
    except BrandkitError as exc:
        status = "needs_reauth" if isinstance(exc, AuthExpiredError) else None
        runtime.mark_account(account_id, status=status, error=str(exc))
        return SyncResult(account_id, account.name, ok=False, error=str(exc))
    updated = _store(runtime, account_id, profile, stats)
    return SyncResult(
        account_id, account.name, ok=True, followers=profile.followers, posts_updated=updated
    )


def _store(
    runtime: Runtime, account_id: int, profile: ProfileCounts, stats: Sequence[PostStats]
) -> int:
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.last_sync_at = now
        account.last_error = None
        account.remote_id = profile.remote_id
        account.handle = profile.handle
        session.add(
            AccountSnapshot(
                account_id=account_id,
                taken_at=now,
                followers=profile.followers,
                following=profile.following,
                posts_count=profile.posts_count,
            )
        )
        by_remote = {s.remote_id: s for s in stats}
        variants = (
            session.exec(
                select(Variant).where(
                    Variant.account_id == account_id,
                    Variant.remote_id.in_(list(by_remote)),  # type: ignore[union-attr]
                )
            ).all()
            if by_remote
            else []
        )
        for variant in variants:
            assert variant.id is not None and variant.remote_id is not None
            s = by_remote[variant.remote_id]
            session.add(
                PostMetrics(
                    variant_id=variant.id,
                    taken_at=now,
                    likes=s.likes,
                    reposts=s.reposts,
                    replies=s.replies,
                    quotes=s.quotes,
                    bookmarks=s.bookmarks,
                    impressions=s.impressions,
                )
            )
        return len(variants)


async def sync_accounts(
    runtime: Runtime,
    account_ids: Sequence[int] | None = None,
    *,
    concurrency: int = 16,
    on_done: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync several accounts at once; ``on_done`` drives a progress bar."""
    if account_ids is None:
        with session_scope(runtime.engine) as session:
            account_ids = [
                a.id
                for a in session.exec(select(Account).where(Account.status == "active"))
                if a.id is not None
            ]
    limit = asyncio.Semaphore(concurrency)

    async def one(account_id: int) -> SyncResult:
        async with limit:
            result = await sync_account(runtime, account_id)
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(a) for a in account_ids)))
