"""Persistence: engine and sessions, SQLModel tables, Alembic migrations."""

from brandkit.db.engine import make_engine, session_scope
from brandkit.db.migrate import open_database

__all__ = ["make_engine", "open_database", "session_scope"]
