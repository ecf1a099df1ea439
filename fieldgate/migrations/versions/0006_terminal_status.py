"""terminal_state: what the terminal last said about itself (ACC, alarms)

Revision ID: 0006
Revises: 0005

Binary protocols (JT/T 808, GT06) report the ignition (ACC) and alarms with their locations and
status packets. The writer keeps the newest of them per terminal, beside the last fix, for the
dispatch board: ``acc`` (NULL: never reported, as for NMEA terminals), ``alarms`` (the newest
report's alarm names, comma-separated, empty when none) and ``status_at`` (when it arrived).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminal_state") as batch:
        batch.add_column(sa.Column("acc", sa.Boolean))
        batch.add_column(sa.Column("alarms", sa.String(512)))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("terminal_state") as batch:
        batch.drop_column("status_at")
        batch.drop_column("alarms")
        batch.drop_column("acc")
