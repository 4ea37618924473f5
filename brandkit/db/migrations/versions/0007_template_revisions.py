"""template revisions with their authors; who rejected a post, when and why

``templaterevision`` keeps every version of a post template saved from the dashboard's template
editor (brandkit/web/template_store.py). ``post.rejected_by``, ``rejected_at`` and
``review_comment`` hold a rejection's author and comment (``brandkit posts reject --comment``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import brandkit.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_by", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("rejected_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("review_comment", sa.Text(), nullable=True))
    op.create_table(
        "templaterevision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_login", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("created_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("templaterevision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_templaterevision_template", ["workspace_id", "template", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("templaterevision", schema=None) as batch_op:
        batch_op.drop_index("ix_templaterevision_template")
    op.drop_table("templaterevision")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("review_comment")
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("rejected_by")
