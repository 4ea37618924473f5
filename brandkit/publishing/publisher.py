"""Publishing one variant: claim it, call the platform once, record what happened.

No database transaction is held while the platform is called: the claim (scheduled →
publishing) commits first, so a crash mid-request leaves a ``publishing`` row that the next
worker start turns into ``unconfirmed`` and settles by looking on the platform. A variant whose
outcome is unknown is never sent again before that look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from brandkit.db.engine import session_scope
from brandkit.db.models import Account, Post, Variant
from brandkit.errors import (
    AuthExpiredError,
    BrandkitError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    TransientError,
)
from brandkit.platforms.base import PublishResult
from brandkit.publishing.states import VariantState as S
from brandkit.publishing.states import transition
from brandkit.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SETTLE_DELAY = timedelta(seconds=60)
SETTLE_GIVE_UP = timedelta(hours=6)


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


async def publish_job(variant_id: int, *, runtime: Runtime | None = None) -> None:
    """The APScheduler job behind ``publish:<variant id>``; the runner passes ``runtime``."""
    if runtime is None:  # the default only satisfies APScheduler's signature check
        raise RuntimeError("job functions run inside brandkit's JobRunner, which passes runtime")
    await publish_variant(runtime, variant_id)


async def publish_variant(runtime: Runtime, variant_id: int) -> str | None:
    """Publish or settle one variant; returns its state afterwards (None if it is gone)."""
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
            return _claim_due(runtime, session, variant, now)
        early_until = variant.due_at
    runtime.queue.schedule_publish(variant_id, early_until)  # fired early: put it back on time
    return None


def _claim_due(runtime: Runtime, session: Session, variant: Variant, now: datetime) -> Claim | None:
    assert variant.id is not None
    account = session.get(Account, variant.account_id)
    assert account is not None
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
    session.expunge(account)
    return Claim(
        variant.id, variant.text, variant.idempotency_key, variant.attempts + 1, now, account
    )


async def _send(runtime: Runtime, claim: Claim) -> str:
    try:
        connector = runtime.connector_for(claim.account)
        result = await connector.publish(claim.text, idempotency_key=claim.idempotency_key)
    except OutcomeUnknownError as exc:
        return _unconfirmed(runtime, claim.variant_id, S.PUBLISHING, str(exc))
    except TransientError as exc:
        return _retry_or_fail(runtime, claim, exc)
    except AuthExpiredError as exc:
        runtime.mark_account(claim.account.id, status="needs_reauth", error=str(exc))
        return _fail(runtime, claim.variant_id, str(exc))
    except (PlatformError, BrandkitError) as exc:
        return _fail(runtime, claim.variant_id, str(exc))
    except Exception as exc:  # a bug or an unmapped failure after sending: look before resending
        log.exception("unexpected error publishing variant %s", claim.variant_id)
        return _unconfirmed(runtime, claim.variant_id, S.PUBLISHING, f"unexpected error: {exc!r}")
    return _published(runtime, claim.variant_id, S.PUBLISHING, result)


def _published(runtime: Runtime, variant_id: int, current: S, result: PublishResult) -> str:
    with session_scope(runtime.engine) as session:
        transition(
            session,
            variant_id,
            current,
            S.PUBLISHED,
            now=runtime.clock.now(),
            remote_id=result.remote_id,
            remote_url=result.url,
            published_at=result.published_at,
            last_error=None,
        )
    return S.PUBLISHED


def _fail(runtime: Runtime, variant_id: int, reason: str) -> str:
    return _finish(runtime, variant_id, S.PUBLISHING, S.FAILED, reason)


def _finish(runtime: Runtime, variant_id: int, current: S, target: S, reason: str) -> str:
    with session_scope(runtime.engine) as session:
        transition(session, variant_id, current, target, now=runtime.clock.now(), last_error=reason)
    return target


def _unconfirmed(runtime: Runtime, variant_id: int, current: S, reason: str) -> str:
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        transition(session, variant_id, current, S.UNCONFIRMED, now=now, last_error=reason)
    runtime.queue.schedule_publish(variant_id, now + SETTLE_DELAY)
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
        found = await runtime.connector_for(account).find_post(
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
