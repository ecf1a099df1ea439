"""terminal_commands: the downlink command log

Revision ID: 0007
Revises: 0006

A dispatcher's command for a terminal (report interval, position query, text, reset, a maker's
raw command), its state (pending → sent → acknowledged / failed, or expired) and the
terminal's answer. Gateways read the pending ones (indexed by state) and claim each with one
conditional UPDATE, so exactly one process sends it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "terminal_commands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("interval_s", sa.Integer),
        sa.Column("text", sa.String(256)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("answered_at", TS),
        sa.Column("result", sa.String(512)),
    )
    op.create_index("terminal_commands_state_idx", "terminal_commands", ["state", "id"])
    op.create_index("terminal_commands_terminal_idx", "terminal_commands", ["terminal_id", "id"])


def downgrade() -> None:
    op.drop_index("terminal_commands_terminal_idx", "terminal_commands")
    op.drop_index("terminal_commands_state_idx", "terminal_commands")
    op.drop_table("terminal_commands")
