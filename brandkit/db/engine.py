"""Engines and sessions: the SQLite pragmas and PostgreSQL options live here and nowhere else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlmodel import Session

from brandkit.errors import ConcurrentUpdateError, ConfigError, DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    WAL lets the worker write while the CLI and reports read; the busy timeout makes a second
    writer wait instead of failing with "database is locked".
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"database_url {hide_password(url)!r} is not a valid database URL",
            hint="use sqlite:///path/to/brandkit.db or postgresql+psycopg://user@host/db",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigError(
        f"database_url {parsed.render_as_string(hide_password=True)!r} is not supported",
        hint="brandkit runs on SQLite (default) or PostgreSQL (postgresql+psycopg://…)",
    )


def hide_password(url: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host``, for messages and logs."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise ConcurrentUpdateError(
                f"the change conflicts with data already stored ({exc.orig})",
                hint="someone else may have made the same change; look, then try again",
            ) from exc
        except OperationalError as exc:
            session.rollback()
            raise DatabaseError(f"database error: {exc.orig}") from exc
        except BaseException:
            session.rollback()
            raise
