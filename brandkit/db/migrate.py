"""Schema migrations with Alembic, run from code so users never need an alembic.ini.

Every command opens the database through :func:`open_database`, which upgrades an older schema
in place and refuses, with a clear message, a schema newer than this brandkit knows.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from brandkit.db.engine import hide_password, make_engine
from brandkit.errors import DatabaseError, SchemaError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` inside one transaction per migration."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_schema(engine: Engine, *, create: bool) -> None:
    """Upgrade an older schema; create a new one only when ``create`` (``brandkit init``)."""
    try:
        current = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot open the database {hide_password(str(engine.url))}: {exc.orig}",
            hint="check database_url in brandkit.toml or BRANDKIT_DATABASE_URL",
        ) from exc
    script = ScriptDirectory.from_config(alembic_config())
    if current is None:
        if has_tables and "workspace" in inspect(engine).get_table_names():
            raise SchemaError(
                "the database has brandkit tables but no migration history",
                hint="it was not created by brandkit init; restore a backup or start afresh",
            )
        if not create:
            raise SchemaError(
                "this database has no brandkit workspace yet",
                hint="run 'brandkit init' here (or set BRANDKIT_HOME to your workspace)",
            )
    elif current != script.get_current_head():
        try:
            script.get_revision(current)
        except Exception as exc:  # alembic raises several types for an unknown revision
            raise SchemaError(
                f"the database schema (revision {current}) is newer than this brandkit knows",
                hint="upgrade brandkit (pip install -U brandkit) before using this database",
            ) from exc
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise SchemaError(f"upgrading the database schema failed: {exc}") from exc


def open_database(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url`` whose schema is at the newest revision."""
    engine = make_engine(url)
    try:
        ensure_schema(engine, create=create)
    except BaseException:
        engine.dispose()
        raise
    return engine
