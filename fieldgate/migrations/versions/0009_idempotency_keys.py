"""idempotency_keys: answers kept for requests sent with an Idempotency-Key

Revision ID: 0009
Revises: 0008

A tablet's offline queue sends each change with a key of its own; when the answer was lost on
the way, the change is sent again with the same key and gets the kept answer instead of being
made twice (fieldservice.api.idempotency). Kept a day.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("idempotency_keys_created_idx", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("idempotency_keys_created_idx", "idempotency_keys")
    op.drop_table("idempotency_keys")
