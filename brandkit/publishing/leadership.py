"""Only one worker publishes per database: leadership is a lock that dies with its holder.

The compare-and-set transitions already stop two workers from claiming the same variant, so
leadership is not what keeps a post from going out twice. It is what lets the worker that holds
it *know* it is the only publisher: a ``publishing`` row it did not claim itself was left by a
process that died (or lost its lock), so it can be settled at once instead of after the HTTP
timeout, and a ``worker --once`` from cron beside a running daemon steps aside instead of
racing it. Every lock here is released by the operating system or the database when its holder
dies, SIGKILL included, so a standby takes over within one poll:

* **SQLite**: ``fcntl.flock`` on ``<database file>.worker.lock``. The kernel drops a flock when
  the last descriptor of the holder's open file goes, which happens when the process dies.
* **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a connection kept for
  the worker's life. The server drops it when that session ends, so a broken connection means
  the lock may already belong to someone else: :meth:`Leadership.is_held` notices, and the
  worker stops publishing until it wins the lock again.
* **Unshared**: no lock at all, for code that owns its database outright (tests, the demo). It
  is never :attr:`~Leadership.exclusive`, so it settles nothing early.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from brandkit.db.engine import make_engine
from brandkit.errors import DatabaseError

log = logging.getLogger(__name__)

LOCK_NAME = "brandkit-worker"
LOCK_FILE_SUFFIX = ".worker.lock"
# A dead network must not hang the worker's loop for TCP's default two hours: these bound how
# long the lock connection takes to notice (and so how long a check can block).
_PG_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


class Leadership(Protocol):
    """The right to publish for one database; at most one process holds it at a time."""

    #: True when holding it proves no other process publishes, so rows another process left
    #: ``publishing`` are orphans. False for :class:`Unshared`, which proves nothing.
    exclusive: bool

    def try_acquire(self) -> bool:
        """Take the lock without waiting; True if this process holds it (now or already).

        False means another process holds it; a lock that cannot be asked for at all (the
        database is down, the lock file cannot be created) raises
        :class:`~brandkit.errors.DatabaseError`, so that is never mistaken for a standby.
        """
        ...

    def is_held(self) -> bool:
        """Whether the lock is still this process's; False after a lost connection or file."""
        ...

    def release(self) -> None:
        """Give the lock up (idempotent); a standby can take it at its next poll."""
        ...

    def describe(self) -> str:
        """Where the lock lives, for messages: a file path or the advisory lock's key."""
        ...


class Unshared:
    """No lock: the caller promises nothing else publishes from this database."""

    exclusive = False

    def try_acquire(self) -> bool:
        return True

    def is_held(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def describe(self) -> str:
        return "no lock (single process)"


class FileLock:
    """``flock(LOCK_EX | LOCK_NB)`` on a file beside the SQLite database.

    The file is never deleted: deleting a lock file lets a newcomer lock a fresh file while the
    holder still locks the old one. If someone deletes or replaces it anyway, :meth:`is_held`
    sees that the path no longer names the locked file and the worker steps down.
    """

    exclusive = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return self.is_held()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatabaseError(
                f"cannot open the worker lock {self.path}: {exc.strerror}",
                hint="the worker needs write access to the directory of the SQLite database",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            os.close(fd)
            return False
        if not _names_same_file(self.path, fd):  # replaced between open and flock
            os.close(fd)
            return False
        self._fd = fd
        _write_holder(fd)
        return True

    def is_held(self) -> bool:
        if self._fd is None:
            return False
        if _names_same_file(self.path, self._fd):
            return True
        log.error("the worker lock %s was deleted or replaced; stepping down", self.path)
        self.release()
        return False

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def describe(self) -> str:
        return f"lock file {self.path}"


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a dedicated, autocommit connection.

    The key is derived from ``brandkit-worker`` and the connection's schema, so workspaces that
    share one database in different schemas (as the test suite does) do not block each other.
    """

    exclusive = True

    def __init__(self, url: str | URL) -> None:
        self._url = make_url(url)
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self.key: int | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.is_held()
        try:
            conn = self._lock_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot reach PostgreSQL for the worker lock: {exc}") from exc
        try:
            schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
            key = advisory_key(str(schema))
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        except SQLAlchemyError as exc:
            conn.close()
            raise DatabaseError(f"cannot take the worker lock: {exc}") from exc
        if not got:
            conn.close()
            return False
        self._conn, self.key = conn, key
        return True

    def is_held(self) -> bool:
        """A session lock lasts as long as its session: a live connection still holds it."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.error("lost the worker lock's connection; stepping down: %s", exc)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and self.key is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except SQLAlchemyError:
                pass  # the session is gone, and the lock with it
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key if self.key is not None else LOCK_NAME}"

    def _lock_engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(
                self._url.render_as_string(hide_password=False),
                poolclass=NullPool,
                connect_args=_PG_CONNECT_ARGS,
            )
        return self._engine

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except SQLAlchemyError:
                pass


def advisory_key(schema: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``, one per schema."""
    digest = hashlib.sha256(f"{LOCK_NAME}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def leadership_for(engine: Engine) -> Leadership:
    """The lock that fits ``engine``'s database (see the module docstring)."""
    url = engine.url
    backend = url.get_backend_name()
    if backend == "postgresql":
        return AdvisoryLock(url)
    database = url.database or ""
    in_memory = not database or database == ":memory:" or "mode=memory" in database
    if backend == "sqlite" and not in_memory:
        path = Path(os.path.abspath(database.removeprefix("file:").split("?", 1)[0]))
        return FileLock(path.with_name(path.name + LOCK_FILE_SUFFIX))
    return Unshared()


def _names_same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _write_holder(fd: int) -> None:
    """Note who holds the lock, for a person looking at the file; the lock is the flock."""
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = f"pid {os.getpid()} on {socket.gethostname()} since {since}\n"
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode(), 0)
    except OSError:
        pass
