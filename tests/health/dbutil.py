"""Direct table access for health tests: register terminals, set their latest state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from fieldgate.dburl import DatabaseURL


def engine(db: DatabaseURL) -> sa.Engine:
    return sa.create_engine(db.sqlalchemy_url(asynchronous=False))


def execute(db: DatabaseURL, sql: str, **params: Any) -> list[sa.Row]:
    eng = engine(db)
    try:
        with eng.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        eng.dispose()


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def add_terminal(db: DatabaseURL, terminal_id: str, *, model: str | None = None,
                 report_interval_s: int | None = None, state: str = "installed") -> None:
    execute(db, "INSERT INTO terminals (terminal_id, model, report_interval_s, state) "
                "VALUES (:t, :m, :r, :s)", t=terminal_id, m=model, r=report_interval_s, s=state)


def seen(db: DatabaseURL, terminal_ids: str | list[str], at: datetime) -> None:
    """Upsert terminal_state.last_seen_at, the way the telemetry writer keeps it."""
    eng = engine(db)
    try:
        with eng.begin() as conn:
            for terminal_id in [terminal_ids] if isinstance(terminal_ids, str) else terminal_ids:
                _seen(conn, terminal_id, at)
    finally:
        eng.dispose()


def _seen(conn: sa.Connection, terminal_id: str, at: datetime) -> None:
    params = {"at": at, "t": terminal_id, "c": True}
    updated = conn.execute(sa.text(
        "UPDATE terminal_state SET last_seen_at = :at, last_fix_time = :at, lat = 48.85,"
        " lon = 2.35, sats = 8, hdop = 0.9, connected = :c, fixes = fixes + 1"
        " WHERE terminal_id = :t"), params).rowcount
    if not updated:
        conn.execute(sa.text(
            "INSERT INTO terminal_state (terminal_id, transport, connected, last_seen_at,"
            " last_fix_time, lat, lon, sats, hdop, fixes) VALUES (:t, 'tcp', :c, :at,"
            " :at, 48.85, 2.35, 8, 0.9, 1)"), params)


def faults(db: DatabaseURL, terminal_id: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE terminal_id = :t" if terminal_id else ""
    rows = execute(db, f"SELECT terminal_id, rule, state, clear_reason FROM faults{where}"
                       " ORDER BY id", t=terminal_id)
    return [dict(r._mapping) for r in rows]


def outbox(db: DatabaseURL) -> list[tuple[str, str, str]]:
    rows = execute(db, "SELECT terminal_id, rule, kind FROM fault_events ORDER BY id")
    return [tuple(r) for r in rows]
