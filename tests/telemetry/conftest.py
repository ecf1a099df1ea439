"""Helpers for the telemetry suites: plain-SQL access to the tables, sessions and fixes."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devices.records import Fix
from fieldgate.db import upgrade
from fieldgate.dburl import DatabaseURL
from gateway.sink import SessionInfo, Transport
from telemetry.config import IngestConfig
from tests import servers
from tests.waiting import eventually  # noqa: F401  (the suite imports it from here)

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def sql(db: DatabaseURL, query: str, params: tuple | list = ()) -> list[tuple]:
    """Run one statement with plain SQL (``%s`` placeholders) and return its rows."""
    if db.is_postgresql:
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
    conn = sqlite3.connect(db.sqlite_path)
    try:
        cur = conn.execute(query.replace("%s", "?"), params)
        rows = cur.fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def register(db: DatabaseURL, *terminal_ids: str, state: str = "installed") -> None:
    for tid in terminal_ids:
        sql(db, "INSERT INTO terminals (terminal_id, state) VALUES (%s, %s)", (tid, state))


def position_keys(db: DatabaseURL, terminal_id: str | None = None) -> list[tuple[str, Any]]:
    where, params = ("WHERE terminal_id = %s", (terminal_id,)) if terminal_id else ("", ())
    return sql(db, f"SELECT terminal_id, fix_time FROM positions {where} "
                   "ORDER BY terminal_id, fix_time", params)


def count(db: DatabaseURL, table: str) -> int:
    return sql(db, f"SELECT count(*) FROM {table}")[0][0]


def session(terminal_id: str, transport: Transport = Transport.TCP,
            remote: str = "127.0.0.1:40000") -> SessionInfo:
    return SessionInfo(terminal_id=terminal_id, transport=transport, remote=remote,
                       connected_at=datetime.now(UTC))


def fixes(n: int, *, start: datetime = BASE, step: float = 1.0, lat: float = 52.52,
          lon: float = 13.40, **fields: Any) -> list[Fix]:
    """``n`` fixes one ``step`` apart, moving a little north-east."""
    values = {"speed_kn": 12.5, "course": 45.0, "alt_m": 34.0, "sats": 9, "hdop": 0.9,
              "fix_quality": 1}
    values.update(fields)
    return [Fix(time=start + timedelta(seconds=i * step), lat=lat + i * 1e-5, lon=lon + i * 1e-5,
                **values) for i in range(n)]


def config(tmp_path: Path, **overrides: Any) -> IngestConfig:
    """Small, fast settings for tests."""
    values: dict[str, Any] = {
        "spool_dir": tmp_path / "spool", "batch_max_rows": 500, "flush_interval": 0.02,
        "queue_max_rows": 5000, "retry_initial": 0.02, "retry_max": 0.2,
        "registry_refresh_interval": 60.0, "registry_miss_ttl": 60.0, "connect_timeout": 2.0,
        "statement_timeout": 10.0, "shutdown_timeout": 2.0, "spool_fsync": False,
    }
    values.update(overrides)
    return IngestConfig(**values)




@pytest.fixture
def outage_db(private_pg: servers.PrivatePostgres) -> Iterator[DatabaseURL]:
    """A migrated database on the private cluster, with terminals T-0..T-4 registered."""
    with contextlib.suppress(Exception):
        private_pg.start()  # a previous test may have left it stopped
    name = servers.unique_name("fgt_outage")
    url = servers.create_database(name, admin_url=private_pg.admin_url())
    db = DatabaseURL.parse(url)
    upgrade(db)
    register(db, *(f"T-{i}" for i in range(5)))
    try:
        yield db
    finally:
        with contextlib.suppress(Exception):
            private_pg.start()
        servers.drop_database(name, admin_url=private_pg.admin_url())
