"""TimescaleDB policies for ``positions``: compression and retention, as settings.

Migration 0001 turns ``positions`` into a hypertable (1-day chunks, compression segmented by
terminal, 7-day compression policy) when the ``timescaledb`` extension is available. How long
to keep data is an operator's choice, so the retention policy is applied here, from settings,
and may be re-applied with other values at any time (it replaces the previous policy).

On plain PostgreSQL and on SQLite this is a no-op that says so in the log: there, old positions
are removed by whatever the operator schedules (``DELETE FROM positions WHERE fix_time < ...``).
Only the no-op path is exercised by the test suite (no TimescaleDB package on the build machines).
"""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

import psycopg

from telemetry.dburl import DatabaseURL

log = logging.getLogger(__name__)


class PolicyOutcome(enum.StrEnum):
    APPLIED = "applied"
    NO_TIMESCALEDB = "no-timescaledb"  #: plain PostgreSQL: nothing to do
    NOT_HYPERTABLE = "not-hypertable"  #: extension present but positions is a plain table
    SQLITE = "sqlite"


def apply_policies(conn: psycopg.Connection, *, compress_after: timedelta | None,
                   retain: timedelta | None) -> PolicyOutcome:
    """Set (replace) the compression and retention policies of ``positions``.

    Args:
        conn: a psycopg connection (autocommit or not: committed here).
        compress_after: compress chunks older than this; None removes the policy.
        retain: drop chunks older than this; None keeps everything (removes the policy).
    """
    if retain is not None and compress_after is not None and retain <= compress_after:
        raise ValueError("retain must be longer than compress_after")
    version = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if version is None:
        log.info("timescaledb extension not installed: positions is a plain PostgreSQL table; "
                 "no compression or retention policy applied (compress_after=%s, retain=%s)",
                 compress_after, retain)
        return PolicyOutcome.NO_TIMESCALEDB
    is_hyper = conn.execute(
        "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'positions'"
    ).fetchone()
    if is_hyper is None:
        log.warning("timescaledb %s is installed but positions is not a hypertable (created "
                    "before the extension?); no policy applied", version[0])
        return PolicyOutcome.NOT_HYPERTABLE
    conn.execute("SELECT remove_compression_policy('positions', if_exists => true)")
    if compress_after is not None:
        conn.execute("SELECT add_compression_policy('positions', %s)", (compress_after,))
    conn.execute("SELECT remove_retention_policy('positions', if_exists => true)")
    if retain is not None:
        conn.execute("SELECT add_retention_policy('positions', %s)", (retain,))
    if not conn.autocommit:
        conn.commit()
    log.info("timescaledb %s: positions compress_after=%s retain=%s", version[0], compress_after,
             retain)
    return PolicyOutcome.APPLIED


def apply_policies_for(db: DatabaseURL, *, compress_after: timedelta | None = timedelta(days=7),
                       retain: timedelta | None = None) -> PolicyOutcome:
    """:func:`apply_policies` on a database URL; SQLite gets a log line and nothing else."""
    if db.is_sqlite:
        log.info("SQLite database: no TimescaleDB policies (compress_after=%s, retain=%s)",
                 compress_after, retain)
        return PolicyOutcome.SQLITE
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        return apply_policies(conn, compress_after=compress_after, retain=retain)
