"""work_order_attachments: photos taken on site and the customer's signature

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Images live in the database with their order, like every other record of the order: one backup,
one set of permissions. A photo is capped at ``fieldservice.services.attachments.MAX_BYTES``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "work_order_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_pk", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("caption", sa.Text),
        sa.Column("signed_by", sa.String(128)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_by_pk", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_work_order_attachments_work_order_pk", "work_order_attachments",
                    ["work_order_pk"])


def downgrade() -> None:
    op.drop_index("ix_work_order_attachments_work_order_pk", "work_order_attachments")
    op.drop_table("work_order_attachments")
