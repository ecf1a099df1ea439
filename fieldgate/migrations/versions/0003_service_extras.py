"""service extras: parts and price history, parts used, repair charges and payments,
contractors, staff affiliations, escalations, complaints, return visits, major fault reports

Revision ID: 0003_service
Revises: 0002
Create Date: 2026-11-30

Self-contained: it only adds tables (no change to 0002's), so it can be re-pointed after
another 0003 by editing ``down_revision``. Money is NUMERIC(14, 2) on PostgreSQL and an
INTEGER count of hundredths on SQLite (fieldservice.money).
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003_service"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _fk(table: str, **kwargs: Any) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", **kwargs)


def upgrade() -> None:
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("notes", sa.Text),
        *_timestamps(),
    )
    op.create_table(
        "part_prices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("part_pk", sa.Integer, _fk("parts"), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("effective_from", TS, nullable=False),
        sa.Column("set_at", TS, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("part_pk", "effective_from", name="part_prices_part_from_uq"),
        sa.CheckConstraint("unit_price >= 0", name="part_prices_unit_price_ck"),
    )
    op.create_table(
        "part_usages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_pk", sa.Integer, _fk("work_orders"), nullable=False),
        sa.Column("part_pk", sa.Integer, _fk("parts"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("used_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("voided_at", TS),
        sa.Column("voided_by", sa.String(64)),
        sa.Column("void_reason", sa.Text),
        *_timestamps(),
        sa.CheckConstraint("quantity > 0", name="part_usages_quantity_ck"),
    )
    op.create_index("part_usages_order_idx", "part_usages", ["work_order_pk"])
    op.create_table(
        "repair_charges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # one charge per repair order: nothing is billed twice
        sa.Column("work_order_pk", sa.Integer, _fk("work_orders"), nullable=False, unique=True),
        sa.Column("customer_pk", sa.Integer, _fk("customers"), nullable=False),
        sa.Column("technician_pk", sa.Integer, _fk("users")),
        sa.Column("charged_at", TS, nullable=False),
        sa.Column("terminal_ref", sa.String(64)),
        sa.Column("installed_on", sa.Date),
        sa.Column("warranty_until", sa.Date),
        sa.Column("in_warranty", sa.Boolean, nullable=False),
        sa.Column("parts_value", MONEY, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("amount", MONEY),
        sa.Column("method", sa.String(16)),
        sa.Column("invoice_number", sa.String(64), unique=True),
        sa.Column("collected_at", TS),
        sa.Column("collected_by_pk", sa.Integer, _fk("users")),
        sa.Column("collected_by", sa.String(64)),
        sa.Column("confirmed_at", TS),
        sa.Column("confirmed_by_pk", sa.Integer, _fk("users")),
        sa.Column("confirmed_by", sa.String(64)),
        sa.Column("confirmation_note", sa.Text),
        *_timestamps(),
        sa.CheckConstraint("total >= 0 AND parts_value >= 0", name="repair_charges_total_ck"),
        # a recorded payment is complete: amount, method and invoice together
        sa.CheckConstraint(
            "(amount IS NULL AND method IS NULL AND invoice_number IS NULL) OR "
            "(amount IS NOT NULL AND method IS NOT NULL AND invoice_number IS NOT NULL)",
            name="repair_charges_payment_ck"),
    )
    for column in ("charged_at", "collected_at", "state"):
        op.create_index(f"repair_charges_{column}_idx", "repair_charges", [column])

    op.create_table(
        "contractors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(200)),
        sa.Column("zones", sa.JSON, nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        *_timestamps(),
    )
    op.create_table(
        "staff_affiliations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_pk", sa.Integer, _fk("users"), nullable=False, unique=True),
        sa.Column("department", sa.String(64)),
        sa.Column("contractor_pk", sa.Integer, _fk("contractors")),
        *_timestamps(),
        sa.CheckConstraint("(department IS NULL) <> (contractor_pk IS NULL)",
                           name="staff_affiliations_one_kind_ck"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_pk", sa.Integer, _fk("work_orders"), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("raised_by_pk", sa.Integer, _fk("users")),
        sa.Column("raised_by", sa.String(64), nullable=False),
        sa.Column("deadline", TS),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(24)),
        sa.Column("contractor_pk", sa.Integer, _fk("contractors")),
        sa.Column("assignee_pk", sa.Integer, _fk("users")),
        sa.Column("decided_at", TS),
        sa.Column("decided_by_pk", sa.Integer, _fk("users")),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decision_note", sa.Text),
        *_timestamps(),
    )
    # an automatic reason escalates an order once, whichever process sweeps
    not_manual = sa.text("reason <> 'manual'")
    op.create_index("escalations_order_reason_uq", "escalations", ["work_order_pk", "reason"],
                    unique=True, postgresql_where=not_manual, sqlite_where=not_manual)
    open_manual = sa.text("reason = 'manual' AND state = 'open'")
    op.create_index("escalations_open_manual_uq", "escalations", ["work_order_pk"],
                    unique=True, postgresql_where=open_manual, sqlite_where=open_manual)
    op.create_index("escalations_state_idx", "escalations", ["state", "raised_at"])

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("customer_pk", sa.Integer, _fk("customers"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("owner_pk", sa.Integer, _fk("users"), nullable=False),
        sa.Column("complainant", sa.String(200)),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cause", sa.String(24)),
        sa.Column("corrective_action", sa.Text),
        sa.Column("department", sa.String(64)),
        sa.Column("handed_over_at", TS),
        sa.Column("handed_over_by", sa.String(64)),
        sa.Column("reply", sa.Text),
        sa.Column("reply_channel", sa.String(16)),
        sa.Column("replied_at", TS),
        sa.Column("replied_by", sa.String(64)),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.String(64)),
        *_timestamps(),
    )
    for column in ("customer_pk", "owner_pk", "received_at"):
        op.create_index(f"complaints_{column}_idx", "complaints", [column])
    op.create_table(
        "complaint_work_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_pk", sa.Integer, _fk("complaints"), nullable=False),
        sa.Column("work_order_pk", sa.Integer, _fk("work_orders"), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("complaint_pk", "work_order_pk", name="complaint_work_orders_uq"),
    )

    op.create_table(
        "return_visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_pk", sa.Integer, _fk("customers"), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("anchor_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done_at", TS),
        sa.Column("done_by_pk", sa.Integer, _fk("users")),
        sa.Column("done_by", sa.String(64)),
        sa.Column("technician_pk", sa.Integer, _fk("users")),
        sa.Column("feedback", sa.Text),
        sa.Column("satisfaction", sa.SmallInteger),
        *_timestamps(),
        # the generator may run twice, or in two processes: one visit per customer and day
        sa.UniqueConstraint("customer_pk", "due_on", name="return_visits_customer_due_uq"),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)",
                           name="return_visits_satisfaction_ck"),
    )
    op.create_index("return_visits_due_idx", "return_visits", ["due_on"])

    op.create_table(
        "fault_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("customer_pk", sa.Integer, _fk("customers")),
        sa.Column("work_order_pk", sa.Integer, _fk("work_orders")),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("symptom", sa.Text, nullable=False),
        sa.Column("handling_plan", sa.Text, nullable=False),
        sa.Column("notified_people", sa.JSON, nullable=False),
        sa.Column("reported_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("resolved_at", TS),
        sa.Column("resolution", sa.Text),
        sa.Column("impact", sa.Text),
        sa.Column("handling", sa.Text),
        sa.Column("root_cause", sa.Text),
        sa.Column("corrective_actions", sa.Text),
        sa.Column("preventive_actions", sa.Text),
        sa.Column("analysed_at", TS),
        sa.Column("analysed_by", sa.String(64)),
        sa.Column("sent_at", TS),
        sa.Column("sent_by", sa.String(64)),
        sa.Column("sent_to", sa.String(200)),
        *_timestamps(),
        # the analysis goes to the customer only once it is written
        sa.CheckConstraint(
            "sent_at IS NULL OR (impact IS NOT NULL AND handling IS NOT NULL AND "
            "root_cause IS NOT NULL AND corrective_actions IS NOT NULL AND "
            "preventive_actions IS NOT NULL)", name="fault_reports_sent_analysed_ck"),
    )
    op.create_index("fault_reports_occurred_idx", "fault_reports", ["occurred_at"])


def downgrade() -> None:
    for table in ("fault_reports", "return_visits", "complaint_work_orders", "complaints",
                  "escalations", "staff_affiliations", "contractors", "repair_charges",
                  "part_usages", "part_prices", "parts"):
        op.drop_table(table)
