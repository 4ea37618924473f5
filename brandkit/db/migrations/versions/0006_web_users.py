"""dashboard users: a doctor's profile, session version, last sign-in; failed sign-ins

``user.profile_id`` links a doctor to the profile whose posts they approve; ``session_version``
is inside every signed session cookie, so raising it ends the user's sessions. ``loginattempt``
keeps failed sign-ins for the rate limit (brandkit/web/ratelimit.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import brandkit.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("last_login_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key("fk_user_profile_id_profile", "profile", ["profile_id"], ["id"])
    op.create_table(
        "loginattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("attempted_at", brandkit.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loginattempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loginattempt_attempted_at"), ["attempted_at"], unique=False
        )
        batch_op.create_index("ix_loginattempt_login_time", ["login", "attempted_at"], unique=False)
        batch_op.create_index(
            "ix_loginattempt_address_time", ["address", "attempted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("loginattempt", schema=None) as batch_op:
        batch_op.drop_index("ix_loginattempt_address_time")
        batch_op.drop_index("ix_loginattempt_login_time")
        batch_op.drop_index(batch_op.f("ix_loginattempt_attempted_at"))
    op.drop_table("loginattempt")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_profile_id_profile", type_="foreignkey")
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("session_version")
        batch_op.drop_column("profile_id")
