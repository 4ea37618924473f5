"""Small SQL helpers the report queries share: fetching rows, a table of days, a temporary table.

Rows come back as dicts keyed by column label, with numbers normalised so SQLite and PostgreSQL
agree (PostgreSQL's ``avg`` of integers is a ``Decimal``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    CTE,
    Column,
    Connection,
    Date,
    MetaData,
    Select,
    Table,
    column,
    insert,
    select,
    text,
    values,
)
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine
from sqlmodel import col

from brandkit.db.models import Workspace
from brandkit.db.types import UTCDateTime
from brandkit.errors import ConfigError, NotFoundError
from brandkit.reports.localtime import LocalDay

Row = dict[str, Any]
"""One result row, keyed by column label (the field names of the matching report dataclass)."""


def fetch(conn: Connection, query: Executable) -> list[Row]:
    """The rows of ``query`` as dicts; ``Decimal`` averages become ``float``."""
    rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        for name, value in row.items():
            if isinstance(value, Decimal):
                row[name] = float(value)
    return rows


def days_table(days: Sequence[LocalDay], name: str = "days") -> CTE:
    """The local days of a period as a ``WITH days(day, day_start, day_end) AS (VALUES …)``.

    A CTE because SQLite accepts ``VALUES`` with column names only there. One row per day, so a
    two-year period is 730 rows: small enough to send as parameters.
    """
    table = values(
        column("day", Date()),
        column("day_start", UTCDateTime()),
        column("day_end", UTCDateTime()),
        name=name,
    ).data([(d.day, d.start, d.end) for d in days])
    return table.cte(name)


@contextmanager
def temporary_table(
    conn: Connection, name: str, query: Select[Any], types: dict[str, TypeEngine[Any]]
) -> Iterator[Table]:
    """Run ``query`` once into a temporary table that later queries aggregate cheaply.

    The report groups the same per-post rows a dozen ways; computing them once (several index
    lookups per post) instead of once per grouping is most of its speed. ``types`` gives each
    selected column's type by label, so values read back (times, rates) keep their Python types.
    ``CREATE`` then ``INSERT … SELECT`` rather than ``CREATE … AS``, which PostgreSQL refuses to
    run with bound parameters. The table is dropped when the block ends; after an error it is
    left to the rollback (PostgreSQL) or to the ``DROP … IF EXISTS`` before the next report on
    the same pooled connection (SQLite), as an aborted transaction accepts no more statements.
    """
    names = [c.name for c in query.selected_columns]
    table = Table(
        name,
        MetaData(),
        *(Column(n, types[n]) for n in names),
        prefixes=["TEMPORARY"],
    )
    drop = text(f"DROP TABLE IF EXISTS {name}")
    conn.execute(drop)
    table.create(conn)
    conn.execute(insert(table).from_select(names, query))
    yield table
    conn.execute(drop)


@dataclass(frozen=True)
class WorkspaceInfo:
    """What every report and goal reads first: the workspace's name, zone and language."""

    id: int
    name: str
    tz: ZoneInfo
    locale: str


def load_workspace(conn: Connection, workspace_id: int) -> WorkspaceInfo:
    """The workspace row, with its zone resolved (a bad zone is a configuration error)."""
    row = conn.execute(
        select(col(Workspace.name), col(Workspace.timezone), col(Workspace.locale)).where(
            col(Workspace.id) == workspace_id
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("workspace", workspace_id, hint="run 'brandkit init' first")
    name, zone, locale = row
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"workspace time zone {zone!r} is unknown",
            hint="set timezone to an IANA name such as Asia/Tokyo in brandkit.toml",
        ) from exc
    return WorkspaceInfo(workspace_id, name, tz, locale)
