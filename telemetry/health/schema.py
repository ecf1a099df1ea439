"""The tables the health package reads and writes, as SQLAlchemy Core objects.

``faults`` and ``fault_events`` are created by migration 0003, ``registry_changes`` by 0004;
``terminals`` and ``terminal_state`` (migration 0001) are declared here with only the columns
health reads.
Timestamps go through :class:`UtcTimestamp`, which reads whatever an SQLite writer stored
(ISO 8601 with ``T`` or a space, with or without an offset, or epoch seconds) and always returns
aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class UtcTimestamp(TypeDecorator):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: fieldgate stores UTC, aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLAlchemy's own SQLite format (naive UTC, space separator): sorts as text and
            # matches CURRENT_TIMESTAMP defaults
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        return as_utc(value)


def as_utc(value: Any) -> datetime | None:
    """A stored timestamp in any of the forms PostgreSQL or an SQLite writer leaves, as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(float(text), UTC)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

faults = sa.Table(
    "faults", metadata,
    sa.Column("id", BIGID, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_at", UtcTimestamp, nullable=False),
    sa.Column("cleared_at", UtcTimestamp),
    sa.Column("clearing_since", UtcTimestamp),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("clear_evidence", JSON),
    sa.Column("clear_reason", sa.String(32)),
    sa.Column("work_order_id", sa.Integer),
    sa.Column("archived_at", UtcTimestamp),
    sa.Column("created_at", UtcTimestamp),
    sa.Column("updated_at", UtcTimestamp),
)

fault_events = sa.Table(
    "fault_events", metadata,
    sa.Column("id", BIGID, primary_key=True, autoincrement=True),
    sa.Column("fault_id", BIGID, sa.ForeignKey("faults.id"), nullable=False),
    sa.Column("terminal_id", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("occurred_at", UtcTimestamp, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("created_at", UtcTimestamp),
    sa.Column("processed_at", UtcTimestamp),
    sa.Column("processed_by", sa.String(128)),
    sa.Column("outcome", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
)

terminals = sa.Table(
    "terminals", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("terminal_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64)),
    sa.Column("state", sa.String(16)),
    sa.Column("report_interval_s", sa.Integer),
)

terminal_state = sa.Table(
    "terminal_state", metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("transport", sa.String(16)),
    sa.Column("remote_addr", sa.String(128)),
    sa.Column("connected", sa.Boolean),
    sa.Column("connected_at", UtcTimestamp),
    sa.Column("last_seen_at", UtcTimestamp),
    sa.Column("last_fix_time", UtcTimestamp),
    sa.Column("lat", sa.Double),
    sa.Column("lon", sa.Double),
    sa.Column("sats", sa.SmallInteger),
    sa.Column("hdop", sa.REAL),
    sa.Column("sentences", sa.BigInteger),
    sa.Column("rejected", sa.BigInteger),
    sa.Column("fixes", sa.BigInteger),
    sa.Column("connects", sa.BigInteger),
)

#: one row (id 1) whose ``serial`` a trigger bumps on every change to ``terminals`` (0004)
registry_changes = sa.Table(
    "registry_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("serial", sa.BigInteger, nullable=False),
)

unknown_terminals = sa.Table(
    "unknown_terminals", metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("last_seen_at", UtcTimestamp),
)
