"""Time as the service layer stores and compares it: always timezone-aware UTC.

SQLite has no timestamp type, and other writers of the shared tables (the gateway's telemetry
writer) may store text in another ISO 8601 spelling, so reading is lenient and writing is one
fixed spelling whose text order is its time order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

#: how timestamps are written to SQLite: fixed width, so text comparison is time comparison
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken to be UTC already (that is how SQLite hands them back)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(value: object) -> datetime | None:
    """Whatever a database driver returns for a timestamp column, as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return as_utc(datetime.fromisoformat(text))
    raise TypeError(f"not a timestamp: {value!r}")


def add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has at least 28 days")
