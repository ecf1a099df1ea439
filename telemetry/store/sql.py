"""SQL shared by the PostgreSQL and SQLite writers.

Both dialects understand ``INSERT ... AS alias ... ON CONFLICT (...) DO UPDATE`` with
``excluded``; the merge rules are written with CASE so that NULLs behave the same on both
(SQLite's two-argument ``max()`` returns NULL when either side is NULL). Placeholders are
``{p}`` and filled per dialect (``%s`` or ``?``).
"""

from __future__ import annotations

from telemetry.config import UNREGISTERED_STATES

STATE_COLUMNS = (
    "terminal_id", "transport", "remote_addr", "connected", "connected_at", "disconnected_at",
    "last_seen_at", "last_fix_time", "lat", "lon", "speed_kn", "course_deg", "alt_m", "sats",
    "hdop", "fix_quality", "sentences", "rejected", "fixes", "connects", "acc", "alarms",
    "status_at", "updated_at",
)
_FIX_COLUMNS = ("last_fix_time", "lat", "lon", "speed_kn", "course_deg", "alt_m", "sats", "hdop",
                "fix_quality")
_STATUS_COLUMNS = ("acc", "alarms", "status_at")
_NEWER_STATUS = ("excluded.status_at IS NOT NULL AND (t.status_at IS NULL "
                 "OR excluded.status_at >= t.status_at)")
_NEWER_FIX = ("excluded.last_fix_time IS NOT NULL AND (t.last_fix_time IS NULL "
              "OR excluded.last_fix_time > t.last_fix_time)")

STATE_UPSERT_TAIL = (
    "ON CONFLICT (terminal_id) DO UPDATE SET "
    "transport = COALESCE(excluded.transport, t.transport), "
    "remote_addr = COALESCE(excluded.remote_addr, t.remote_addr), "
    "connected = excluded.connected, "
    "connected_at = COALESCE(excluded.connected_at, t.connected_at), "
    "disconnected_at = COALESCE(excluded.disconnected_at, t.disconnected_at), "
    "last_seen_at = CASE WHEN t.last_seen_at IS NULL OR excluded.last_seen_at > t.last_seen_at "
    "THEN excluded.last_seen_at ELSE t.last_seen_at END, "
    + ", ".join(f"{c} = CASE WHEN {_NEWER_FIX} THEN excluded.{c} ELSE t.{c} END"
                for c in _FIX_COLUMNS)
    + ", "
    + ", ".join(f"{c} = t.{c} + excluded.{c}" for c in ("sentences", "rejected", "fixes",
                                                         "connects"))
    + ", "
    + ", ".join(f"{c} = CASE WHEN {_NEWER_STATUS} THEN excluded.{c} ELSE t.{c} END"
                for c in _STATUS_COLUMNS)
    + ", updated_at = excluded.updated_at"
)

UNKNOWN_COLUMNS = (
    "terminal_id", "transport", "remote_addr", "first_seen_at", "last_seen_at", "message_count",
    "last_fix_time", "last_lat", "last_lon",
)
_NEWER_UNKNOWN_FIX = ("excluded.last_fix_time IS NOT NULL AND (t.last_fix_time IS NULL "
                      "OR excluded.last_fix_time > t.last_fix_time)")
UNKNOWN_UPSERT = (
    f"INSERT INTO unknown_terminals AS t ({', '.join(UNKNOWN_COLUMNS)}) "
    f"VALUES ({', '.join(['{p}'] * len(UNKNOWN_COLUMNS))}) "
    "ON CONFLICT (terminal_id) DO UPDATE SET "
    "transport = excluded.transport, remote_addr = excluded.remote_addr, "
    "first_seen_at = CASE WHEN excluded.first_seen_at < t.first_seen_at "
    "THEN excluded.first_seen_at ELSE t.first_seen_at END, "
    "last_seen_at = CASE WHEN excluded.last_seen_at > t.last_seen_at "
    "THEN excluded.last_seen_at ELSE t.last_seen_at END, "
    "message_count = t.message_count + excluded.message_count, "
    + ", ".join(f"{c} = CASE WHEN {_NEWER_UNKNOWN_FIX} THEN excluded.{c} ELSE t.{c} END"
                for c in ("last_fix_time", "last_lat", "last_lon"))
)

_EXCLUDED_STATES = ", ".join(f"'{s}'" for s in UNREGISTERED_STATES)
REGISTERED_IDS = f"SELECT terminal_id FROM terminals WHERE state NOT IN ({_EXCLUDED_STATES})"
REGISTRATION_OF = "SELECT terminal_id, state FROM terminals WHERE terminal_id IN ({ids})"
AUTO_REGISTER = (
    "INSERT INTO terminals (terminal_id, state, registered_at, notes, created_at, updated_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (terminal_id) DO NOTHING"
)
FORGET_UNKNOWN = "DELETE FROM unknown_terminals WHERE terminal_id IN ({ids})"
LEDGER_INSERT = (
    "INSERT INTO telemetry_batches (batch_id, committed_at, rows) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (batch_id) DO NOTHING"
)
LEDGER_PRUNE = "DELETE FROM telemetry_batches WHERE committed_at < {p}"


def fill(sql: str, placeholder: str) -> str:
    return sql.replace("{p}", placeholder)


def in_list(sql: str, n: int, placeholder: str) -> str:
    return sql.replace("{ids}", ", ".join([placeholder] * n))


def is_registered_state(state: str) -> bool:
    return state not in UNREGISTERED_STATES
