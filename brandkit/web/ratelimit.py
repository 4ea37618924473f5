"""Rate-limiting sign-ins: so many failures per login and per client address in a window.

Failures are rows of :class:`~brandkit.db.models.LoginAttempt`, so the limit holds across
restarts and across several server processes on one database. Once a login (whether or not it
exists) or an address has ``per_login`` / ``per_address`` failures inside ``window``, further
attempts are refused without checking the password until the oldest of those failures leaves
the window. A successful sign-in forgets its login's failures (not its address's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from brandkit.db.models import LoginAttempt

KEY_LENGTH = 200  # what is kept of a typed login or an address


@dataclass(frozen=True)
class LoginLimits:
    per_login: int = 5
    per_address: int = 20  # several people of one clinic may share an address
    window: timedelta = timedelta(minutes=15)


def _failures(session: Session, column: str, value: str, since: datetime) -> list[datetime]:
    field = col(getattr(LoginAttempt, column))
    return list(
        session.exec(
            select(LoginAttempt.attempted_at)
            .where(field == value[:KEY_LENGTH], col(LoginAttempt.attempted_at) > since)
            .order_by(col(LoginAttempt.attempted_at))
        ).all()
    )


def retry_after(
    session: Session, limits: LoginLimits, *, login: str, address: str, now: datetime
) -> timedelta | None:
    """How long until ``login`` from ``address`` may try again, or ``None`` if it may now."""
    since = now - limits.window
    waits = []
    for column, value, limit in (
        ("login", login, limits.per_login),
        ("address", address, limits.per_address),
    ):
        failures = _failures(session, column, value, since)
        if len(failures) >= limit:
            # allowed again when enough of the oldest failures have left the window
            waits.append(failures[len(failures) - limit] + limits.window - now)
    return max(waits) if waits else None


def record_failure(
    session: Session, limits: LoginLimits, *, login: str, address: str, now: datetime
) -> None:
    """Remember a failed attempt, and forget those that have left the window."""
    session.execute(
        delete(LoginAttempt).where(col(LoginAttempt.attempted_at) <= now - limits.window)
    )
    session.add(
        LoginAttempt(login=login[:KEY_LENGTH], address=address[:KEY_LENGTH], attempted_at=now)
    )


def forget_failures(session: Session, *, login: str) -> None:
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.login) == login[:KEY_LENGTH]))
