"""Publishing one variant: claim it, call the platform once, record what happened.

No database transaction is held while the platform is called: the claim (scheduled →
publishing) commits first, so a crash mid-request leaves a ``publishing`` row that the next
worker start turns into ``unconfirmed`` and settles by looking on the platform. A variant whose
outcome is unknown is never sent again before that look.

When many posts fall due together the worker runs them inside a :class:`PublishPass`: claims
are taken a chunk at a time in one transaction, and confirmed results are written in groups.
Each row still moves by its own compare-and-set, so the guarantees are the single-variant ones;
a result not yet written when the process dies leaves ``publishing``, which is settled by a
look-up like any other crash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Select, Table, Update, bindparam
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from brandkit.clock import ensure_utc
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Variant
from brandkit.db.types import UTCDateTime
from brandkit.errors import (
    AuthExpiredError,
    BrandkitError,
    ConcurrentUpdateError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    TransientError,
)
from brandkit.platforms.base import Connector, PublishResult, takes_image_url
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import can_transition, transition
from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SETTLE_DELAY = timedelta(seconds=60)
# A platform that honours the Idempotency-Key answers a resend with the first post, so looking
# (and resending if not found) soon is safe; the pause lets a request cut off mid-way land first.
SETTLE_DELAY_WITH_KEY = timedelta(seconds=5)
SETTLE_GIVE_UP = timedelta(hours=6)
CLAIM_AHEAD = 64  # variants claimed per transaction in a pass: few left to settle after a crash
FLUSH_ROWS = 64  # confirmed results written per transaction in a pass ...
FLUSH_AGE_S = 0.25  # ... or sooner, so the database never lags the platform by much


def backoff(attempt: int, *, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour: enough for a platform to recover."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Claim:
    variant_id: int
    text: str
    idempotency_key: str
    attempt: int
    started_at: datetime
    account: Account
    image_url: str | None = None


async def publish_job(variant_id: int, *, runtime: Runtime | None = None) -> None:
    """The APScheduler job behind ``publish:<variant id>``; the runner passes ``runtime``."""
    if runtime is None:  # the default only satisfies APScheduler's signature check
        raise RuntimeError("job functions run inside brandkit's JobRunner, which passes runtime")
    await publish_variant(runtime, variant_id)


async def publish_variant(runtime: Runtime, variant_id: int) -> str | None:
    """Publish or settle one variant; returns its state afterwards (None if it is gone)."""
    current = _PASS.get()
    if current is not None and current.covers(variant_id):
        claim, state = current.take(variant_id)
        if claim is not None:
            return await _send(runtime, claim)
        if state == S.UNCONFIRMED:
            return await settle_variant(runtime, variant_id)
        return state
    with session_scope(runtime.engine) as session:
        variant = session.get(Variant, variant_id)
        state = variant.state if variant else None
    if state == S.UNCONFIRMED:
        return await settle_variant(runtime, variant_id)
    claim = _claim(runtime, variant_id)
    if claim is None:
        with session_scope(runtime.engine) as session:
            variant = session.get(Variant, variant_id)
            return variant.state if variant else None
    return await _send(runtime, claim)


def _claim(runtime: Runtime, variant_id: int) -> Claim | None:
    """scheduled → publishing, unless the post is overdue, early or its account is unusable.

    The job store is only written after the transaction ends: on SQLite a second connection
    writing while this one holds the lock would wait for itself.
    """
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        variant = session.get(Variant, variant_id)
        if variant is None or variant.state != S.SCHEDULED:
            return None  # already handled: a job that ran twice does nothing
        if variant.due_at <= now:
            account = session.get(Account, variant.account_id)
            assert account is not None
            return _claim_due(runtime, session, variant, account, now)
        early_until = variant.due_at
    runtime.queue.schedule_publish(variant_id, early_until)  # fired early: put it back on time
    return None


def _claim_due(
    runtime: Runtime, session: Session, variant: Variant, account: Account, now: datetime
) -> Claim | None:
    assert variant.id is not None
    grace = timedelta(minutes=runtime.settings.publish_grace_minutes)
    if variant.attempts == 0 and now - variant.due_at > grace:
        late = int((now - variant.due_at).total_seconds() // 60)
        transition(
            session,
            variant.id,
            S.SCHEDULED,
            S.MISSED,
            now=now,
            last_error=f"not published: the worker was down until {late} min after "
            f"the slot (grace {runtime.settings.publish_grace_minutes} min)",
        )
        return None
    if account.status != "active":
        transition(
            session,
            variant.id,
            S.SCHEDULED,
            S.FAILED,
            now=now,
            last_error=f"account {account.name} is {account.status}: run "
            f"'brandkit accounts verify {account.name}' and re-authorise it",
        )
        return None
    transition(
        session,
        variant.id,
        S.SCHEDULED,
        S.PUBLISHING,
        now=now,
        attempts=variant.attempts + 1,
        attempt_started_at=now,
    )
    post = session.get(Post, variant.post_id)
    return Claim(
        variant.id,
        variant.text,
        variant.idempotency_key,
        variant.attempts + 1,
        now,
        account,
        post.image_url if post else None,
    )


class ConnectorCache:
    """One connector per account for the worker's life, instead of one per publish.

    Building a connector resolves the platform by name and decrypts the token; a worker
    publishing a thousand posts would do that a thousand times. The key holds the encrypted
    credentials and the base URL, so a re-authorised or moved account gets a fresh connector.
    With ``pools``, each account's connector uses one of those HTTP clients (chosen by account
    id) instead of the runtime's; see :func:`brandkit.publishing.worker.worker_http_pools`.
    """

    def __init__(self, pools: Sequence[httpx.AsyncClient] = ()) -> None:
        self._pools = list(pools)
        self._connectors: dict[tuple[int | None, str, str, bytes], Connector] = {}

    def get(self, runtime: Runtime, account: Account) -> Connector:
        key = (account.id, account.platform, account.base_url, account.credentials_encrypted)
        connector = self._connectors.get(key)
        if connector is None:
            if self._pools:
                pool = self._pools[(account.id or 0) % len(self._pools)]
                runtime = replace(runtime, http=pool)
            connector = runtime.connector_for(account)
            self._connectors[key] = connector
        return connector


class PublishPass:
    """The publish jobs of one worker pass, claimed ahead in chunks, recorded in groups.

    :meth:`take` hands a job its claim, claiming it (and up to ``CLAIM_AHEAD`` - 1 variants
    after it, in job order) in one transaction when it has none yet; the same transaction first
    writes the results gathered so far. :meth:`close` writes the rest and hands back claims no
    job took (a job that raised before sending): they go back to ``scheduled`` untouched.
    Each row still moves by compare-and-set (``WHERE id = ? AND state = ?``), several rows per
    statement; everything here is synchronous, so no other task runs in the middle of it.
    """

    def __init__(
        self, runtime: Runtime, variant_ids: Sequence[int], connectors: ConnectorCache
    ) -> None:
        self.runtime = runtime
        self.connectors = connectors
        self._order = list(dict.fromkeys(variant_ids))
        self._position = {vid: i for i, vid in enumerate(self._order)}
        self._decided: dict[int, str | None] = {}  # state after the chunk looked at it
        self._claims: dict[int, Claim] = {}
        self._accounts: dict[int, Account] = {}
        self._results: list[tuple[int, PublishResult]] = []
        self._oldest = 0.0

    def covers(self, variant_id: int) -> bool:
        return variant_id in self._position

    def take(self, variant_id: int) -> tuple[Claim | None, str | None]:
        """This variant's claim if it is to be sent now, else its state."""
        if variant_id not in self._decided:
            self._claim_chunk(self._position[variant_id])
        claim = self._claims.pop(variant_id, None)
        return claim, (S.PUBLISHING if claim else self._decided.get(variant_id))

    def record(self, variant_id: int, result: PublishResult) -> None:
        if not self._results:
            self._oldest = time.monotonic()
        self._results.append((variant_id, result))
        if len(self._results) >= FLUSH_ROWS or time.monotonic() - self._oldest >= FLUSH_AGE_S:
            with session_scope(self.runtime.engine) as session:
                self._write_results(session)

    def close(self) -> None:
        with session_scope(self.runtime.engine) as session:
            self._write_results(session)
            now = self.runtime.clock.now()
            for claim in self._claims.values():  # nothing was sent for these
                try:
                    transition(
                        session,
                        claim.variant_id,
                        S.PUBLISHING,
                        S.SCHEDULED,
                        now=now,
                        attempts=claim.attempt - 1,
                    )
                except ConcurrentUpdateError:
                    log.warning("variant %s changed while claimed", claim.variant_id)
        self._claims.clear()

    def _claim_chunk(self, start: int) -> None:
        """Decide ``order[start]`` and the next undecided variants in one transaction."""
        chunk: list[int] = []
        for vid in self._order[start:]:
            if vid not in self._decided:
                chunk.append(vid)
                if len(chunk) == CLAIM_AHEAD:
                    break
        now = self.runtime.clock.now()
        grace = timedelta(minutes=self.runtime.settings.publish_grace_minutes)
        early: list[tuple[int, datetime]] = []
        with session_scope(self.runtime.engine) as session:
            self._write_results(session)
            conn = session.connection()
            rows = {row.id: row for row in conn.execute(_CHUNK_ROWS, {"ids": chunk})}
            self._load_accounts(session, {row.account_id for row in rows.values()})
            ready: list[int] = []
            for vid in chunk:
                row = rows.get(vid)
                self._decided[vid] = row.state if row else None
                if row is None or row.state != S.SCHEDULED:
                    continue
                account = self._accounts[row.account_id]
                due = ensure_utc(row.due_at)
                if due > now:
                    early.append((vid, due))
                elif (row.attempts == 0 and now - due > grace) or account.status != "active":
                    variant = session.get(Variant, vid)  # missed or failed: the rare, slow path
                    assert variant is not None
                    _claim_due(self.runtime, session, variant, account, now)
                    self._decided[vid] = variant.state
                else:
                    ready.append(vid)
            if ready:
                claimed = conn.execute(
                    _CLAIM, {"ids": ready, "now": now, "to": S.PUBLISHING.value}
                ).scalars()
                for vid in claimed:
                    row = rows[vid]
                    self._claims[vid] = Claim(
                        vid,
                        row.text,
                        row.idempotency_key,
                        row.attempts + 1,
                        now,
                        self._accounts[row.account_id],
                        row.image_url,
                    )
                    self._decided[vid] = S.PUBLISHING
        for vid, due in early:  # fired early: put it back on time, after the commit
            self.runtime.queue.schedule_publish(vid, due)

    def _load_accounts(self, session: Session, ids: set[int]) -> None:
        """Read the chunk's accounts afresh: one refused token stops the rest of its chunk."""
        if ids:
            for account in session.exec(select(Account).where(col(Account.id).in_(ids))):
                assert account.id is not None
                self._accounts[account.id] = account

    def _write_results(self, session: Session) -> None:
        if not self._results:
            return
        now = self.runtime.clock.now()
        params = [
            {
                "vid": vid,
                "now": now,
                "remote_id": r.remote_id,
                "remote_url": r.url,
                "published_at": r.published_at,
            }
            for vid, r in self._results
        ]
        written = session.connection().execute(_RECORD, params).rowcount
        if written != len(params):  # a new leader took some over: its look-up records them
            log.warning("%d of %d results were taken over", len(params) - written, len(params))
        self._results.clear()


def _prepared_statements() -> tuple[Select[Any], Update, Update]:
    """The pass's three statements, built once: building one per row cost more than running it.

    They are the state machine's compare-and-set (``WHERE id = ? AND state = ?``), for several
    rows at a time; the assertions keep them inside the transitions DESIGN.md allows.
    """
    assert can_transition(S.SCHEDULED, S.PUBLISHING)
    assert can_transition(S.PUBLISHING, S.PUBLISHED)
    v: Table = Variant.__table__  # type: ignore[attr-defined]
    p: Table = Post.__table__  # type: ignore[attr-defined]
    rows = (
        sql_select(
            v.c.id,
            v.c.state,
            v.c.due_at,
            v.c.attempts,
            v.c.text,
            v.c.idempotency_key,
            v.c.account_id,
            p.c.image_url,
        )
        .join(p, p.c.id == v.c.post_id)
        .where(v.c.id.in_(bindparam("ids", expanding=True)))
    )
    claim = (
        v.update()
        .where(v.c.id.in_(bindparam("ids", expanding=True)), v.c.state == S.SCHEDULED.value)
        .values(
            state=bindparam("to"),
            attempts=v.c.attempts + 1,
            attempt_started_at=bindparam("now", type_=UTCDateTime()),
            updated_at=bindparam("now", type_=UTCDateTime()),
        )
        .returning(v.c.id)
    )
    record = (
        v.update()
        .where(v.c.id == bindparam("vid"), v.c.state == S.PUBLISHING.value)
        .values(
            state=S.PUBLISHED.value,
            remote_id=bindparam("remote_id"),
            remote_url=bindparam("remote_url"),
            published_at=bindparam("published_at", type_=UTCDateTime()),
            last_error=None,
            updated_at=bindparam("now", type_=UTCDateTime()),
        )
    )
    return rows, claim, record


_CHUNK_ROWS, _CLAIM, _RECORD = _prepared_statements()


_PASS: ContextVar[PublishPass | None] = ContextVar("brandkit_publish_pass", default=None)


@asynccontextmanager
async def publishing_pass(
    runtime: Runtime, variant_ids: Sequence[int], connectors: ConnectorCache
) -> AsyncIterator[PublishPass]:
    """Run the publish jobs started inside this block as one :class:`PublishPass`."""
    current = PublishPass(runtime, variant_ids, connectors)
    token = _PASS.set(current)
    try:
        yield current
    finally:
        _PASS.reset(token)
        current.close()


def _connector(runtime: Runtime, account: Account) -> Connector:
    current = _PASS.get()
    return current.connectors.get(runtime, account) if current else runtime.connector_for(account)


def _settle_delay_for(connector: Connector) -> timedelta:
    return SETTLE_DELAY_WITH_KEY if connector.supports_idempotency_key else SETTLE_DELAY


async def _send(runtime: Runtime, claim: Claim) -> str:
    connector: Connector | None = None
    try:
        connector = _connector(runtime, claim.account)
        if claim.image_url and takes_image_url(connector):
            result = await connector.publish(
                claim.text, idempotency_key=claim.idempotency_key, image_url=claim.image_url
            )
        else:
            result = await connector.publish(claim.text, idempotency_key=claim.idempotency_key)
    except OutcomeUnknownError as exc:
        delay = _settle_delay_for(connector) if connector else SETTLE_DELAY
        return _unconfirmed(runtime, claim.variant_id, S.PUBLISHING, str(exc), delay)
    except TransientError as exc:
        return _retry_or_fail(runtime, claim, exc)
    except AuthExpiredError as exc:
        runtime.mark_account(claim.account.id, status="needs_reauth", error=str(exc))
        return _fail(runtime, claim.variant_id, str(exc))
    except (PlatformError, BrandkitError) as exc:
        return _fail(runtime, claim.variant_id, str(exc))
    except Exception as exc:  # a bug or an unmapped failure after sending: look before resending
        log.exception("unexpected error publishing variant %s", claim.variant_id)
        return _unconfirmed(
            runtime, claim.variant_id, S.PUBLISHING, f"unexpected error: {exc!r}", SETTLE_DELAY
        )
    current = _PASS.get()
    if current is not None and current.covers(claim.variant_id):
        current.record(claim.variant_id, result)
        return S.PUBLISHED
    return _published(runtime, claim.variant_id, S.PUBLISHING, result)


def _published(runtime: Runtime, variant_id: int, current: S, result: PublishResult) -> str:
    with session_scope(runtime.engine) as session:
        _mark_published(session, variant_id, current, result, runtime.clock.now())
    return S.PUBLISHED


def _mark_published(
    session: Session, variant_id: int, current: S, result: PublishResult, now: datetime
) -> None:
    transition(session, variant_id, current, S.PUBLISHED, now=now, **_published_values(result))


def _published_values(result: PublishResult) -> dict[str, object]:
    return {
        "remote_id": result.remote_id,
        "remote_url": result.url,
        "published_at": result.published_at,
        "last_error": None,
    }


def _fail(runtime: Runtime, variant_id: int, reason: str) -> str:
    return _finish(runtime, variant_id, S.PUBLISHING, S.FAILED, reason)


def _finish(runtime: Runtime, variant_id: int, current: S, target: S, reason: str) -> str:
    with session_scope(runtime.engine) as session:
        transition(session, variant_id, current, target, now=runtime.clock.now(), last_error=reason)
    return target


def _unconfirmed(
    runtime: Runtime, variant_id: int, current: S, reason: str, delay: timedelta
) -> str:
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        transition(session, variant_id, current, S.UNCONFIRMED, now=now, last_error=reason)
    runtime.queue.schedule_publish(variant_id, now + delay)
    return S.UNCONFIRMED


def _retry_or_fail(runtime: Runtime, claim: Claim, exc: TransientError) -> str:
    if claim.attempt >= MAX_ATTEMPTS:
        return _fail(runtime, claim.variant_id, f"gave up after {claim.attempt} attempts: {exc}")
    now = runtime.clock.now()
    retry_at = now + backoff(claim.attempt)
    if isinstance(exc, RateLimitedError) and exc.reset_at and exc.reset_at > retry_at:
        retry_at = exc.reset_at
    with session_scope(runtime.engine) as session:
        transition(
            session,
            claim.variant_id,
            S.PUBLISHING,
            S.SCHEDULED,
            now=now,
            last_error=f"attempt {claim.attempt} failed, retrying at "
            f"{retry_at.astimezone(runtime.settings.tz):%Y-%m-%d %H:%M %Z}: {exc}",
        )
    runtime.queue.schedule_publish(claim.variant_id, retry_at)
    return S.SCHEDULED


def settle_delay(elapsed: timedelta) -> timedelta:
    """Look again soon after a lost answer, then less and less often (1 min … 1 h)."""
    return min(max(elapsed / 2, SETTLE_DELAY), timedelta(hours=1))


async def settle_variant(runtime: Runtime, variant_id: int) -> str:
    """Decide an ``unconfirmed`` variant by looking for it on the platform.

    Found: it went out, record it. Not found: it did not, so it is sent again with the same
    idempotency key (a platform that honours the key returns the first post even then) — unless
    the post was cancelled meanwhile, or it has been sent ``MAX_ATTEMPTS`` times already. A
    platform that cannot be asked for ``SETTLE_GIVE_UP`` ends it as failed with a clear reason
    rather than looping forever.
    """
    with session_scope(runtime.engine) as session:
        variant = session.get(Variant, variant_id)
        if variant is None or variant.state != S.UNCONFIRMED:
            return variant.state if variant else S.CANCELLED
        account = session.get(Account, variant.account_id)
        post = session.get(Post, variant.post_id)
        assert account is not None and post is not None
        session.expunge(account)
        text, key, attempts = variant.text, variant.idempotency_key, variant.attempts
        since = variant.attempt_started_at or variant.due_at
        cancelled = post.state == "cancelled"
    now = runtime.clock.now()
    try:
        found = await _connector(runtime, account).find_post(
            idempotency_key=key, text=text, not_before=since
        )
    except BrandkitError as exc:
        if isinstance(exc, AuthExpiredError):
            runtime.mark_account(account.id, status="needs_reauth", error=str(exc))
        return _settle_later(runtime, variant_id, now, now - since, str(exc))
    if found is not None:
        return _published(runtime, variant_id, S.UNCONFIRMED, found)
    if cancelled:
        return _finish(
            runtime,
            variant_id,
            S.UNCONFIRMED,
            S.CANCELLED,
            "cancelled; it was not found on the platform",
        )
    if attempts >= MAX_ATTEMPTS:
        return _finish(
            runtime,
            variant_id,
            S.UNCONFIRMED,
            S.FAILED,
            f"sent {attempts} times without a confirmed answer and not found on the "
            "platform; check the account, then 'brandkit posts retry'",
        )
    with session_scope(runtime.engine) as session:
        transition(
            session,
            variant_id,
            S.UNCONFIRMED,
            S.SCHEDULED,
            now=now,
            last_error="not found on the platform after an unknown outcome; resending",
        )
    claim = _claim(runtime, variant_id)
    return await _send(runtime, claim) if claim else S.SCHEDULED


def _settle_later(
    runtime: Runtime, variant_id: int, now: datetime, elapsed: timedelta, reason: str
) -> str:
    if elapsed >= SETTLE_GIVE_UP:
        return _finish(
            runtime,
            variant_id,
            S.UNCONFIRMED,
            S.FAILED,
            f"could not confirm for {int(elapsed.total_seconds() // 3600)} h whether "
            f"it was published ({reason}); check the platform before retrying",
        )
    with session_scope(runtime.engine) as session:
        variant = session.get(Variant, variant_id)
        if variant is None or variant.state != S.UNCONFIRMED:
            return variant.state if variant else S.CANCELLED
        variant.last_error = f"cannot check the platform yet: {reason}"
    runtime.queue.schedule_publish(variant_id, now + settle_delay(elapsed))
    return S.UNCONFIRMED
