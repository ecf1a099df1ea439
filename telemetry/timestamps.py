"""Timestamps as each database stores them.

- PostgreSQL binary COPY: ``timestamptz`` is a signed 64-bit count of microseconds since
  2000-01-01 00:00 UTC.
- SQLite has no time type. SQLAlchemy's ``DateTime`` (which the ORM side of fieldgate uses to
  read these tables) stores UTC wall time as text ``YYYY-MM-DD HH:MM:SS.ffffff`` without an
  offset. We write exactly that form so that rows written here read back through the ORM, and
  so that text comparison in SQL orders times correctly (all values have the same width).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.utcoffset():
        return value.astimezone(UTC)
    return value


def pg_micros(value: datetime) -> int:
    """Microseconds since the PostgreSQL epoch (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - PG_EPOCH) // ONE_MICROSECOND


def from_pg_micros(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


def sqlite_text(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores for ``value`` (converted to UTC)."""
    if value.tzinfo is not None:
        if value.utcoffset():
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def from_sqlite_text(text: str | None) -> datetime | None:
    """Parse what SQLite holds (our form, SQLAlchemy's, or ``CURRENT_TIMESTAMP``'s) as UTC."""
    if text is None:
        return None
    return as_utc(datetime.fromisoformat(text))
