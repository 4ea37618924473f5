"""an index for reports: published variants by time

Reports select the published variants of a period (``state = 'published' AND published_at`` in
a range); without this index SQLite walks every published variant ever, so a month's report
grew with the whole history (0.69 s → 0.35 s for a month of a 50,000-post workspace).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("variant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_variant_state_published", ["state", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("variant", schema=None) as batch_op:
        batch_op.drop_index("ix_variant_state_published")
