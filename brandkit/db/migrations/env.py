"""Alembic environment: always run programmatically with a connection from brandkit.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import brandkit.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through brandkit (brandkit init / brandkit db upgrade)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
