"""telemetry tables (positions, latest state, unknown terminals) and the terminal/SIM registry

Revision ID: 0001
Revises:
Create Date: 2026-11-29

``positions`` is a documented, stable schema (docs/operations.md): people point Grafana and SQL
at it, so columns are only ever added, never renamed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        # optimistic concurrency: every UPDATE bumps it and checks the value it read
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("fix_time", TS, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("speed_kn", sa.REAL),
        sa.Column("course_deg", sa.REAL),
        sa.Column("alt_m", sa.REAL),
        sa.Column("sats", sa.SmallInteger),
        sa.Column("hdop", sa.REAL),
        sa.Column("fix_quality", sa.SmallInteger),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "fix_time", name="positions_pkey"),
    )
    op.create_index("positions_fix_time_idx", "positions", ["fix_time"])

    op.create_table(
        "terminal_state",
        sa.Column("terminal_id", sa.String(64), primary_key=True),
        sa.Column("transport", sa.String(16)),
        sa.Column("remote_addr", sa.String(128)),
        sa.Column("connected", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("connected_at", TS),
        sa.Column("disconnected_at", TS),
        sa.Column("last_seen_at", TS),
        sa.Column("last_fix_time", TS),
        sa.Column("lat", sa.Double),
        sa.Column("lon", sa.Double),
        sa.Column("speed_kn", sa.REAL),
        sa.Column("course_deg", sa.REAL),
        sa.Column("alt_m", sa.REAL),
        sa.Column("sats", sa.SmallInteger),
        sa.Column("hdop", sa.REAL),
        sa.Column("fix_quality", sa.SmallInteger),
        sa.Column("sentences", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rejected", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fixes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("connects", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    )

    op.create_table(
        "unknown_terminals",
        sa.Column("terminal_id", sa.String(64), primary_key=True),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("remote_addr", sa.String(128)),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("message_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_fix_time", TS),
        sa.Column("last_lat", sa.Double),
        sa.Column("last_lon", sa.Double),
    )

    # Ids of committed batches: replaying a spooled batch that was in fact committed (crash
    # between commit and spool deletion, or a connection lost during COMMIT) changes nothing.
    # Rows older than the ingest's ledger_retention are pruned.
    op.create_table(
        "telemetry_batches",
        sa.Column("batch_id", sa.String(40), primary_key=True),
        sa.Column("committed_at", TS, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("telemetry_batches_committed_idx", "telemetry_batches", ["committed_at"])

    op.create_table(
        "terminals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(64), nullable=False, unique=True),
        sa.Column("model", sa.String(64)),
        sa.Column("firmware", sa.String(64)),
        sa.Column("purchase_date", sa.Date),
        sa.Column("warranty_months", sa.Integer, nullable=False, server_default="12"),
        # in_stock / installed / faulty / returned / scrapped
        sa.Column("state", sa.String(16), nullable=False, server_default="in_stock"),
        # seconds between reports the terminal is configured for (offline rule); NULL = default
        sa.Column("report_interval_s", sa.Integer),
        sa.Column("registered_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("notes", sa.Text),
        *_timestamps(),
    )

    op.create_table(
        "sims",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("iccid", sa.String(22), nullable=False, unique=True),
        sa.Column("msisdn", sa.String(20)),
        sa.Column("carrier", sa.String(64)),
        # in_stock / active / faulty / deactivated
        sa.Column("state", sa.String(16), nullable=False, server_default="in_stock"),
        sa.Column("notes", sa.Text),
        *_timestamps(),
    )

    # SIM <-> terminal links are history: a swap closes one row (valid_to) and opens another.
    op.create_table(
        "terminal_sims",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_pk", sa.Integer, sa.ForeignKey("terminals.id"), nullable=False),
        sa.Column("sim_pk", sa.Integer, sa.ForeignKey("sims.id"), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS),
        sa.Column("created_by", sa.String(64)),
    )
    op.create_index("terminal_sims_terminal_idx", "terminal_sims", ["terminal_pk", "valid_from"])
    # at most one open binding per terminal and per SIM
    op.create_index(
        "terminal_sims_open_terminal_uq", "terminal_sims", ["terminal_pk"], unique=True,
        postgresql_where=sa.text("valid_to IS NULL"), sqlite_where=sa.text("valid_to IS NULL"),
    )
    op.create_index(
        "terminal_sims_open_sim_uq", "terminal_sims", ["sim_pk"], unique=True,
        postgresql_where=sa.text("valid_to IS NULL"), sqlite_where=sa.text("valid_to IS NULL"),
    )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        has_timescale = bind.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).scalar()
        if has_timescale:
            # Not exercised here (no TimescaleDB package on the build machines): see
            # docs/operations.md. Chunks of one day, compression after 7 days, segment by
            # terminal so a track query decompresses one terminal's rows only.
            op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            op.execute(
                "SELECT create_hypertable('positions', 'fix_time', "
                "chunk_time_interval => INTERVAL '1 day', migrate_data => true)"
            )
            op.execute(
                "ALTER TABLE positions SET (timescaledb.compress, "
                "timescaledb.compress_segmentby = 'terminal_id', "
                "timescaledb.compress_orderby = 'fix_time DESC')"
            )
            op.execute("SELECT add_compression_policy('positions', INTERVAL '7 days')")


def downgrade() -> None:
    for index, table in (
        ("terminal_sims_open_sim_uq", "terminal_sims"),
        ("terminal_sims_open_terminal_uq", "terminal_sims"),
        ("terminal_sims_terminal_idx", "terminal_sims"),
    ):
        op.drop_index(index, table_name=table)
    op.drop_index("telemetry_batches_committed_idx", table_name="telemetry_batches")
    for table in ("terminal_sims", "sims", "terminals", "telemetry_batches", "unknown_terminals",
                  "terminal_state"):
        op.drop_table(table)
    op.drop_index("positions_fix_time_idx", table_name="positions")
    op.drop_table("positions")
