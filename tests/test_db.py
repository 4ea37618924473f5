"""The schema, its migrations and the engine options, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel, select

from brandkit.db.engine import make_engine, session_scope
from brandkit.db.migrate import current_revision, ensure_schema, head_revision, open_database
from brandkit.db.models import Workspace
from brandkit.errors import ConfigError, SchemaError


def test_migrations_create_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "apscheduler_jobs" in tables
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(obj: object, name: str | None, type_: str, *_: object) -> bool:
        table = getattr(obj, "table", obj)
        return getattr(table, "name", name) != "apscheduler_jobs"  # APScheduler's own table

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    from alembic import command

    from brandkit.db.migrate import alembic_config

    engine = open_database(db_url, create=True)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert "workspace" not in inspect(engine).get_table_names()
    ensure_schema(engine, create=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_opening_without_init_says_to_run_init(db_url: str) -> None:
    with pytest.raises(SchemaError, match="brandkit init"):
        open_database(db_url)


def test_a_newer_schema_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(SchemaError, match="newer than this brandkit"):
        ensure_schema(engine, create=False)


def test_times_come_back_as_aware_utc(engine: Engine) -> None:
    jst = timezone(timedelta(hours=9))
    with session_scope(engine) as session:
        session.add(Workspace(name="w", created_at=datetime(2026, 11, 24, 9, 0, tzinfo=jst)))
    with session_scope(engine) as session:
        row = session.exec(select(Workspace)).one()
    assert row.created_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert row.created_at.tzinfo is not None


def test_naive_datetimes_are_rejected(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(engine) as session:
            session.add(Workspace(name="w", created_at=datetime(2026, 11, 24)))


def test_sqlite_pragmas(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x"])
def test_unsupported_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        make_engine(url)


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(db_url: str) -> None:
    """A workspace made by the first release (revision 0001) opens with today's schema."""
    from brandkit.db.engine import make_engine
    from brandkit.db.migrate import upgrade

    old = make_engine(db_url)
    upgrade(old, "0001")
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspace (name, timezone, locale, created_at) "
                "VALUES ('さくら', 'Asia/Tokyo', 'ja', '2026-01-01 00:00:00')"
            )
        )
    old.dispose()
    engine = open_database(db_url)
    assert current_revision(engine) == head_revision()
    with session_scope(engine) as session:
        row = session.exec(select(Workspace)).one()
        assert (row.name, row.phone) == ("さくら", None)
    engine.dispose()
