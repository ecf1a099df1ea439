"""terminal health: faults and the fault_events outbox

Revision ID: 0003
Revises: 0003_service
Create Date: 2026-11-30

``faults`` holds one row per fault (open, then cleared), at most one open per (terminal, rule).
``fault_events`` is an outbox: every opening and clearing, written in the same transaction as
the fault row, consumed exactly once by the service layer (repair tickets), which stamps
``processed_at``.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0003_service"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "faults",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        # open / cleared
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("cleared_at", TS),
        # the sweep's recovery clock (offline): set when the terminal is seen again
        sa.Column("clearing_since", TS),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("clear_evidence", JSON),
        # how it cleared: recovered (the rule's condition ended) / hardware_swap / ...
        sa.Column("clear_reason", sa.String(32)),
        # the repair order that absorbed it
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id")),
        # set when a terminal or SIM swap reset the terminal's fault history: archived faults
        # no longer count as "repeated faults" of the terminal
        sa.Column("archived_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    )
    op.create_index(
        "faults_open_uq", "faults", ["terminal_id", "rule"], unique=True,
        postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"),
    )
    op.create_index("faults_terminal_idx", "faults", ["terminal_id", "opened_at"])
    op.create_index("faults_opened_idx", "faults", ["opened_at"])

    op.create_table(
        "fault_events",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("fault_id", BIGID, sa.ForeignKey("faults.id"), nullable=False),
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        # opened / cleared
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("processed_at", TS),
        sa.Column("processed_by", sa.String(128)),
        # what the consumer did: "ticket WO-2026-000123 created", "no vehicle binding", ...
        sa.Column("outcome", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "fault_events_pending_idx", "fault_events", ["id"],
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    op.create_index("fault_events_terminal_idx", "fault_events", ["terminal_id", "id"])
    op.create_index("fault_events_fault_idx", "fault_events", ["fault_id"])


def downgrade() -> None:
    for index in ("fault_events_fault_idx", "fault_events_terminal_idx",
                  "fault_events_pending_idx"):
        op.drop_index(index, table_name="fault_events")
    op.drop_table("fault_events")
    for index in ("faults_opened_idx", "faults_terminal_idx", "faults_open_uq"):
        op.drop_index(index, table_name="faults")
    op.drop_table("faults")
