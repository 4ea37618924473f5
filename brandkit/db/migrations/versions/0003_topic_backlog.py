"""topic backlog, and where a calendar slot comes from (cli or brandkit.toml)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import brandkit.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slot", schema=None) as batch_op:
        # existing slots were all made by hand (the demo, 'calendar add'): "cli"
        batch_op.add_column(
            sa.Column("source", sa.String(), nullable=False, server_default="cli")
        )
    op.create_table(
        "topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Date(), nullable=True),
        sa.Column("evergreen", sa.Boolean(), nullable=False),
        sa.Column("used_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_post_id", sa.Integer(), nullable=True),
        sa.Column("created_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["used_by_post_id"], ["post.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topic_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topic_workspace_id"))
    op.drop_table("topic")
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_column("source")
