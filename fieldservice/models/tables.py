"""Tables used through SQL Core rather than mapped classes.

``positions`` belongs to the telemetry writer (migration 0001, a documented stable schema); the
service layer only reads it, to see whether an installed terminal has reported a fix. It lives
in its own MetaData so nothing here can ever create or alter it.
"""

from __future__ import annotations

import sqlalchemy as sa

from fieldservice.db.types import UTCDateTime
from fieldservice.models.base import Base

telemetry_metadata = sa.MetaData()

positions = sa.Table(
    "positions",
    telemetry_metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("fix_time", UTCDateTime(), primary_key=True),
    sa.Column("lat", sa.Double, nullable=False),
    sa.Column("lon", sa.Double, nullable=False),
    sa.Column("fix_quality", sa.SmallInteger),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

#: named sequences that work the same on both databases (work order numbers per year)
counters = sa.Table(
    "counters",
    Base.metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

#: secrets generated once and shared by every process on the database (token signing key)
app_secrets = sa.Table(
    "app_secrets",
    Base.metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

#: failed sign-ins per user name and per client address, and their lock-outs (migration 0008)
login_failures = sa.Table(
    "login_failures",
    Base.metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime()),
)

#: answers kept for requests sent with an Idempotency-Key (migration 0009): the key is a digest
#: of method, path, credentials and the client's key
idempotency_keys = sa.Table(
    "idempotency_keys",
    Base.metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
