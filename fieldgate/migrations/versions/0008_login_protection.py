"""users.tokens_valid_after and login_failures: revoked tokens and sign-in throttling

Revision ID: 0008
Revises: 0007

A password change, a role change or a deactivation sets ``users.tokens_valid_after``: tokens
issued before it are refused. ``login_failures`` counts failed sign-ins per user name and per
client address (one row each, ``user:<name>`` / ``addr:<ip>``) within a window, and holds the
lock-out once there were too many; in the database, so every API process agrees.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tokens_valid_after", TS))
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("locked_until", TS),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_valid_after")
