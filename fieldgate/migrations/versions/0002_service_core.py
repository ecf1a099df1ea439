"""service core: users, customers, vehicles, terminal<->vehicle bindings, work orders,
transitions, install requests, hardware swaps, audit log, counters, app secrets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Timestamps are ``timestamptz`` on PostgreSQL; on SQLite the service layer writes fixed-width
UTC text (fieldservice.db.types.UTCDateTime) so that text order is time order.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OPEN = sa.text("valid_to IS NULL")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        # optimistic concurrency: every UPDATE bumps it and checks the value it read
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _partial_unique(name: str, table: str, column: str, where: sa.TextClause) -> None:
    op.create_index(name, table, [column], unique=True,
                    postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("phone", sa.String(32)),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("zone", sa.String(64)),
        *_timestamps(),
    )

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(200)),
        sa.Column("address", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        *_timestamps(),
    )
    op.create_index("customers_company_idx", "customers", ["company"])

    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_pk", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("plate", sa.String(20), nullable=False, unique=True),
        sa.Column("vin", sa.String(17)),
        sa.Column("model", sa.String(100)),
        sa.Column("driver_name", sa.String(200)),
        sa.Column("driver_phone", sa.String(32)),
        sa.Column("notes", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        *_timestamps(),
    )
    op.create_index("vehicles_customer_idx", "vehicles", ["customer_pk"])
    _partial_unique("vehicles_vin_uq", "vehicles", "vin", sa.text("vin IS NOT NULL"))

    op.create_table(
        "install_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_pk", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_phone", sa.String(32)),
        sa.Column("address", sa.Text),
        sa.Column("requested_date", sa.Date),
        sa.Column("notes", sa.Text),
        sa.Column("created_by_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("decision", sa.String(16)),
        sa.Column("decided_at", TS),
        sa.Column("decided_by_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("decision_note", sa.Text),
        *_timestamps(),
    )
    op.create_index("install_requests_customer_idx", "install_requests", ["customer_pk"])

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False, server_default="normal"),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("state", sa.String(24), nullable=False, server_default="new"),
        sa.Column("state_changed_at", TS, nullable=False),
        sa.Column("customer_pk", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("vehicle_pk", sa.Integer, sa.ForeignKey("vehicles.id")),
        sa.Column("terminal_pk", sa.Integer, sa.ForeignKey("terminals.id")),
        sa.Column("assignee_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("install_request_pk", sa.Integer, sa.ForeignKey("install_requests.id")),
        sa.Column("created_by_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("description", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_phone", sa.String(32)),
        sa.Column("scheduled_for", TS),
        sa.Column("terminal_model", sa.String(64)),
        sa.Column("purchase_date", sa.Date),
        sa.Column("symptoms", sa.Text),
        sa.Column("suggested_action", sa.Text),
        sa.Column("checklist", sa.JSON, nullable=False),
        sa.Column("checklist_confirmed_at", TS),
        sa.Column("diagnosis", sa.Text),
        sa.Column("actions_taken", sa.Text),
        sa.Column("registered_at", TS),
        *_timestamps(),
    )
    for column in ("state", "assignee_pk", "customer_pk", "vehicle_pk", "terminal_pk",
                   "install_request_pk", "created_at"):
        op.create_index(f"work_orders_{column}_idx", "work_orders", [column])

    op.create_table(
        "work_order_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_pk", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(24), nullable=False),
        sa.Column("to_state", sa.String(24), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("work_order_transitions_order_idx", "work_order_transitions",
                    ["work_order_pk", "at"])

    op.create_table(
        "terminal_vehicles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_pk", sa.Integer, sa.ForeignKey("terminals.id"), nullable=False),
        sa.Column("vehicle_pk", sa.Integer, sa.ForeignKey("vehicles.id"), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS),
        sa.Column("installed_on", sa.Date, nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("closed_by", sa.String(64)),
        sa.Column("work_order_pk", sa.Integer, sa.ForeignKey("work_orders.id")),
    )
    op.create_index("terminal_vehicles_vehicle_idx", "terminal_vehicles",
                    ["vehicle_pk", "valid_from"])
    op.create_index("terminal_vehicles_terminal_idx", "terminal_vehicles",
                    ["terminal_pk", "valid_from"])
    # one terminal per vehicle and one vehicle per terminal at any time
    _partial_unique("terminal_vehicles_open_terminal_uq", "terminal_vehicles", "terminal_pk", OPEN)
    _partial_unique("terminal_vehicles_open_vehicle_uq", "terminal_vehicles", "vehicle_pk", OPEN)

    op.create_table(
        "hardware_swaps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_pk", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("vehicle_pk", sa.Integer, sa.ForeignKey("vehicles.id")),
        sa.Column("terminal_pk", sa.Integer, sa.ForeignKey("terminals.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("old_ref", sa.String(64), nullable=False),
        sa.Column("new_ref", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("hardware_swaps_order_idx", "hardware_swaps", ["work_order_pk"])
    op.create_index("hardware_swaps_terminal_idx", "hardware_swaps", ["terminal_pk", "at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_pk", sa.Integer),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_pk", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("context", sa.String(200)),
    )
    op.create_index("audit_log_entity_idx", "audit_log", ["entity", "entity_pk"])
    op.create_index("audit_log_at_idx", "audit_log", ["at"])

    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )

    op.add_column("terminals", sa.Column("fault_label", sa.Text))
    # SQLite cannot add a foreign key in place: batch mode rebuilds the table (partial unique
    # indexes of 0001 are carried over).
    with op.batch_alter_table("terminal_sims") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(64)))
        batch.add_column(sa.Column(
            "work_order_pk", sa.Integer,
            sa.ForeignKey("work_orders.id", name="terminal_sims_work_order_fk"),
        ))


def downgrade() -> None:
    with op.batch_alter_table("terminal_sims") as batch:
        batch.drop_constraint("terminal_sims_work_order_fk", type_="foreignkey")
        batch.drop_column("work_order_pk")
        batch.drop_column("closed_by")
    op.drop_column("terminals", "fault_label")
    for table in ("app_secrets", "counters", "audit_log", "hardware_swaps", "terminal_vehicles",
                  "work_order_transitions", "work_orders", "install_requests", "vehicles",
                  "customers", "users"):
        op.drop_table(table)
