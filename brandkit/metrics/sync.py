"""Metric sync: pull account counts and post engagement from the platforms into snapshots.

One run, for any number of accounts:

1. **Plan** (one short read): the accounts, and which of their published posts are due for a
   reading under the decaying schedule of :mod:`brandkit.metrics.schedule`.
2. **Pull** (no transaction open): every account concurrently, each through its connector and
   the shared :class:`~brandkit.platforms.api.ApiSession` pipeline, which waits out rate limits
   rather than hammering. The profile is read every time; post metrics only when some post is
   due, and only back to the oldest due post (``since=``), stopping as soon as every due post
   has been seen.
3. **Store** (one transaction per batch of accounts): a snapshot for each account, a
   ``PostMetrics`` row for each due post the platform returned, and each account's
   ``last_sync_at``, written with bulk inserts by one writer task while the other accounts are
   still being pulled. A run of several accounts writes from a thread, so that pulls go on
   while the database answers; one account (the worker's interval job) writes inline, like the
   rest of the worker.

One account's failure is recorded on that account (``needs_reauth`` when its credentials were
rejected) and does not stop the others. Posts published outside brandkit have no variant and are
ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, bindparam, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from brandkit.db.models import Account, AccountSnapshot, PostMetrics
from brandkit.errors import AuthExpiredError, BrandkitError, DatabaseError
from brandkit.metrics.checkpoints import CHECKPOINTS
from brandkit.metrics.schedule import DuePost, due_posts
from brandkit.platforms import http
from brandkit.platforms.base import Connector, PostStats, ProfileCounts
from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

METRICS_WINDOW: Final = CHECKPOINTS[-1]
"""How long after publishing a post is still read (the reports keep the same constant)."""
DEFAULT_CONCURRENCY: Final = 1000
"""Accounts pulled at once. Rate-limit waits hold no connection (the HTTP client's pool bounds
the requests actually in flight), so this is high: a run is bound by each account's own limit."""
WRITE_BATCH: Final = 100
"""Accounts written per transaction."""
SINCE_SLACK: Final = timedelta(minutes=5)
"""Read back this much before the oldest due post, in case the platform's clock differs."""


@dataclass(frozen=True)
class SyncResult:
    """What one account's sync did; ``error`` is one line, never containing a secret."""

    account_id: int
    account_name: str
    ok: bool
    followers: int | None = None
    posts_updated: int = 0
    posts_due: int = 0
    error: str | None = None
    needs_reauth: bool = False


@dataclass
class _Outcome:
    """One account's pull, waiting to be written."""

    result: SyncResult
    taken_at: datetime
    profile: ProfileCounts | None = None
    readings: list[tuple[int, PostStats]] = field(default_factory=list)


async def sync_job(account_id: int, *, runtime: Runtime | None = None) -> None:
    """The APScheduler job behind ``sync:<account id>``; the runner passes ``runtime``."""
    if runtime is None:  # the default only satisfies APScheduler's signature check
        raise RuntimeError("job functions run inside brandkit's JobRunner, which passes runtime")
    await sync_account(runtime, account_id)


async def sync_account(runtime: Runtime, account_id: int) -> SyncResult:
    """Sync one account now (the worker's interval job)."""
    [result] = await sync_accounts(runtime, [account_id])
    return result


async def sync_accounts(
    runtime: Runtime,
    account_ids: Sequence[int] | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync ``account_ids`` (default: every active account) concurrently.

    Results come back in the order of ``account_ids``; ``on_done`` is called as each account's
    numbers are stored (or its failure recorded), to drive a progress bar.
    """
    now = runtime.clock.now()
    started = time.perf_counter()
    accounts, due = _plan(runtime.engine, account_ids, now)
    log.info(
        "sync: %d account(s), %d post(s) due, planned in %.2f s",
        len(accounts),
        sum(len(d) for d in due.values()),
        time.perf_counter() - started,
    )
    # an account named twice is synced once: two pulls would store its readings twice
    ids = list(dict.fromkeys(account_ids)) if account_ids is not None else list(accounts)
    writer = _Writer(runtime.engine, on_done, in_thread=len(ids) > 1)
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(account_id: int) -> SyncResult:
        account = accounts.get(account_id)
        if account is None or account.status != "active":
            result = _not_synced(account_id, account)
            writer.skipped(result)
            return result
        async with limit:
            outcome = await _pull_safely(runtime, account, due.get(account_id, []))
        return await writer.put(outcome)

    async with writer:
        results = await asyncio.gather(*(one(a) for a in ids))
    return list(results)


def due_accounts(session: Session, now: datetime, interval: timedelta) -> list[int]:
    """Active accounts never synced, or last synced at least ``interval`` before ``now``."""
    last = col(Account.last_sync_at)
    query = (
        select(Account.id)
        .where(col(Account.status) == "active")
        .where(last.is_(None) | (last <= now - interval))
        .order_by(col(Account.name))
    )
    return [i for i in session.exec(query).all() if i is not None]


# --- plan ------------------------------------------------------------------------------------


def _plan(
    engine: Engine, account_ids: Sequence[int] | None, now: datetime
) -> tuple[dict[int, Account], dict[int, list[DuePost]]]:
    """The accounts (detached) and their due posts, read in one short transaction."""
    with Session(engine, expire_on_commit=False) as session:
        query = select(Account)
        if account_ids is None:
            query = query.where(col(Account.status) == "active")
        else:
            query = query.where(col(Account.id).in_(list(account_ids)))
        rows = session.exec(query).all()
        accounts = {a.id: a for a in rows if a.id is not None}
        active = [i for i, a in accounts.items() if a.status == "active"]
        due: dict[int, list[DuePost]] = {}
        for post in due_posts(session.connection(), active, now):
            due.setdefault(post.account_id, []).append(post)
        session.expunge_all()
    return accounts, due


def _not_synced(account_id: int, account: Account | None) -> SyncResult:
    if account is None:
        return SyncResult(account_id, "?", ok=False, error="account was removed")
    if account.status == "needs_reauth":
        error = (
            "the account needs re-authorisation: run brandkit auth "
            f"{account.platform} --name {account.name}, or brandkit accounts reauth {account.name}"
        )
    else:
        error = f"the account is {account.status}; it is not synced"
    return SyncResult(
        account_id,
        account.name,
        ok=False,
        error=error,
        needs_reauth=account.status == "needs_reauth",
    )


# --- pull ------------------------------------------------------------------------------------


async def _pull_safely(runtime: Runtime, account: Account, due: list[DuePost]) -> _Outcome:
    """:func:`_pull`, with a bug in one account's path reported like a failure, not raised."""
    assert account.id is not None
    try:
        return await _pull(runtime, account, due)
    except Exception as exc:  # one account's bug must not end everyone's sync
        log.exception("sync of account %s failed unexpectedly", account.name)
        error = f"internal error: {type(exc).__name__}: {http.redact(str(exc), ())}"
        return _Outcome(
            SyncResult(account.id, account.name, ok=False, error=error),
            runtime.clock.now(),
        )


async def _pull(runtime: Runtime, account: Account, due: list[DuePost]) -> _Outcome:
    """The account's profile and its due posts' counters; no database work here."""
    assert account.id is not None
    connector: Connector | None = None
    try:
        connector = runtime.connector_for(account)
        profile = await connector.fetch_profile()
        readings = await _read_due(connector, due) if due else []
    except BrandkitError as exc:
        reauth = isinstance(exc, AuthExpiredError)
        result = SyncResult(
            account.id,
            account.name,
            ok=False,
            posts_due=len(due),
            error=str(exc),
            needs_reauth=reauth,
        )
        return _Outcome(result, runtime.clock.now())
    finally:
        if connector is not None:
            await connector.aclose()
    result = SyncResult(
        account.id,
        account.name,
        ok=True,
        followers=profile.followers,
        posts_updated=len(readings),
        posts_due=len(due),
    )
    return _Outcome(result, runtime.clock.now(), profile, readings)


async def _read_due(connector: Connector, due: list[DuePost]) -> list[tuple[int, PostStats]]:
    """The counters of the due posts: pages back to the oldest one, stopping once all are seen."""
    wanted = {post.remote_id: post.variant_id for post in due}
    since = min(post.published_at for post in due) - SINCE_SLACK
    found: list[tuple[int, PostStats]] = []
    stream = connector.fetch_post_metrics(since=since)
    try:
        async for stats in stream:
            variant_id = wanted.pop(stats.remote_id, None)
            if variant_id is not None:
                found.append((variant_id, stats))
                if not wanted:
                    break
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return found


# --- store -----------------------------------------------------------------------------------


class _Writer:
    """Writes finished pulls in batches, one transaction each, while other accounts are pulled.

    With ``in_thread`` each batch is written from a worker thread (one at a time), so the event
    loop keeps pulling during the database's round trips.

    ``put`` returns once the account's rows are committed (or the write failed, which turns
    the result into a failure), so callers see the same result the database holds.
    """

    def __init__(
        self,
        engine: Engine,
        on_done: Callable[[SyncResult], None] | None,
        *,
        in_thread: bool,
        batch: int = WRITE_BATCH,
    ) -> None:
        self._engine = engine
        self._on_done = on_done
        self._in_thread = in_thread
        self._batch = batch
        self._queue: asyncio.Queue[tuple[_Outcome, asyncio.Future[SyncResult]] | None] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Writer:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._queue.put_nowait(None)
        assert self._task is not None
        await self._task

    def skipped(self, result: SyncResult) -> None:
        self._report(result)

    def _report(self, result: SyncResult) -> None:
        if self._on_done is None:
            return
        try:
            self._on_done(result)
        except Exception:  # a progress bar's bug must not leave a sync waiting forever
            log.exception("the sync progress callback failed")

    async def put(self, outcome: _Outcome) -> SyncResult:
        done: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((outcome, done))
        return await done

    async def _run(self) -> None:
        finished = False
        while not finished:
            item = await self._queue.get()
            if item is None:
                break
            items = [item]
            while len(items) < self._batch and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    finished = True
                    break
                items.append(more)
            outcomes = [outcome for outcome, _ in items]
            failure: str | None = None
            started = time.perf_counter()
            try:
                if self._in_thread:
                    await asyncio.to_thread(_write, self._engine, outcomes)
                else:
                    _write(self._engine, outcomes)
                log.info(
                    "sync: stored %d account(s) in %.2f s",
                    len(items),
                    time.perf_counter() - started,
                )
            except BrandkitError as exc:
                failure = str(exc)
            except Exception as exc:  # the futures must be resolved whatever happens
                log.exception("storing sync results failed")
                failure = f"internal error: {type(exc).__name__}: {exc}"
            for outcome, done in items:
                result = outcome.result
                if failure is not None:
                    result = SyncResult(
                        result.account_id, result.account_name, ok=False, error=failure
                    )
                self._report(result)
                done.set_result(result)


def _write(engine: Engine, outcomes: Sequence[_Outcome]) -> None:
    """One transaction for a batch of accounts: bulk updates and inserts, no ORM objects."""
    synced = [o for o in outcomes if o.profile is not None]
    failed = [o for o in outcomes if o.profile is None]
    try:
        with engine.begin() as conn:
            if synced:
                conn.execute(
                    update(Account)
                    .where(col(Account.id) == bindparam("b_id"))
                    .values(
                        last_sync_at=bindparam("b_at"),
                        last_error=None,
                        remote_id=bindparam("b_remote"),
                        handle=bindparam("b_handle"),
                    ),
                    [_account_values(o) for o in synced],
                )
                conn.execute(insert(AccountSnapshot), [_snapshot(o) for o in synced])
                metrics = [_metrics(o, v, s) for o in synced for v, s in o.readings]
                if metrics:
                    conn.execute(insert(PostMetrics), metrics)
            for needs_reauth in (True, False):
                rows = [
                    {"b_id": o.result.account_id, "b_error": o.result.error}
                    for o in failed
                    if o.result.needs_reauth == needs_reauth
                ]
                if rows:
                    values: dict[str, Any] = {"last_error": bindparam("b_error")}
                    if needs_reauth:
                        values["status"] = "needs_reauth"
                    conn.execute(
                        update(Account).where(col(Account.id) == bindparam("b_id")).values(values),
                        rows,
                    )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not store the sync results: {exc}") from exc


def _account_values(outcome: _Outcome) -> Mapping[str, Any]:
    assert outcome.profile is not None
    return {
        "b_id": outcome.result.account_id,
        "b_at": outcome.taken_at,
        "b_remote": outcome.profile.remote_id,
        "b_handle": outcome.profile.handle,
    }


def _snapshot(outcome: _Outcome) -> Mapping[str, Any]:
    assert outcome.profile is not None
    return {
        "account_id": outcome.result.account_id,
        "taken_at": outcome.taken_at,
        "followers": outcome.profile.followers,
        "following": outcome.profile.following,
        "posts_count": outcome.profile.posts_count,
    }


def _metrics(outcome: _Outcome, variant_id: int, stats: PostStats) -> Mapping[str, Any]:
    return {
        "variant_id": variant_id,
        "taken_at": outcome.taken_at,
        "likes": stats.likes,
        "reposts": stats.reposts,
        "replies": stats.replies,
        "quotes": stats.quotes,
        "bookmarks": stats.bookmarks,
        "impressions": stats.impressions,
    }
