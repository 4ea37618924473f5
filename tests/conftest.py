"""Shared fixtures: a clean environment, databases on SQLite and PostgreSQL, a simulated clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from brandkit.clock import SimulatedClock
from brandkit.db.engine import make_engine
from brandkit.db.migrate import upgrade

POSTGRES_URL = os.environ.get("BRANDKIT_TEST_POSTGRES_URL")

#: the connector tests' ``client`` fixture (an httpx client over the module's ``server``)
pytest_plugins = ["tests.connector_support"]


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep tests out of the user's world: BRANDKIT_HOME is a fresh directory, no stray vars."""
    for name in list(os.environ):
        if name.startswith("BRANDKIT_") and name != "BRANDKIT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("BRANDKIT_HOME", str(home))
    monkeypatch.chdir(home)
    return home


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # Monday 09:00 JST


def _postgres_schema_url(base: str) -> Iterator[str]:
    """A private schema per test, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="set BRANDKIT_TEST_POSTGRES_URL to run on PostgreSQL"
            ),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once for SQLite and once for PostgreSQL (when configured)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        assert POSTGRES_URL
        yield from _postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
