"""registry_changes: a counter every change to ``terminals`` bumps, for processes that cache it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

A gateway's health monitor keeps the terminal registry (model, report interval, state) in
memory. It used to re-read it every ``sync_every_s`` (30 s), so a terminal registered or swapped
while the gateway ran went unwatched until then, and a short burst of its stream was judged as
an unknown terminal's. Now every process reads this one row on each health tick and re-reads the
registry when the counter moved. A trigger keeps it, so every writer is seen: the service layer,
``fieldgate terminals``, the ingest's auto-registration, an operator's own SQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "registry_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("serial", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO registry_changes (id, serial) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        # statement level: a bulk UPDATE bumps once. The row lock is held to the end of the
        # writing transaction, so concurrent terminal writers serialise on it: they are rare
        # (registrations, swaps), never the position stream.
        op.execute("""
            CREATE FUNCTION fieldgate_registry_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE registry_changes SET serial = serial + 1 WHERE id = 1;
                RETURN NULL;
            END $$
        """)
        op.execute("""
            CREATE TRIGGER terminals_registry_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON terminals
            FOR EACH STATEMENT EXECUTE FUNCTION fieldgate_registry_changed()
        """)
    else:
        for event in _SQLITE_EVENTS:
            op.execute(f"""
                CREATE TRIGGER terminals_registry_changed_{event.lower()}
                AFTER {event} ON terminals
                BEGIN
                    UPDATE registry_changes SET serial = serial + 1 WHERE id = 1;
                END
            """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS terminals_registry_changed ON terminals")
        op.execute("DROP FUNCTION IF EXISTS fieldgate_registry_changed()")
    else:
        for event in _SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS terminals_registry_changed_{event.lower()}")
    op.drop_table("registry_changes")
