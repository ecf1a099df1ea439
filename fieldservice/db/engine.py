"""Async engines and sessions for PostgreSQL (psycopg) and SQLite (aiosqlite).

SQLite: the sqlite3 driver's legacy transaction handling does not BEGIN on SELECT, so a
read-check-write (optimistic version check, "is this terminal free?") would not be isolated.
SQLAlchemy emits the BEGIN itself instead, as ``BEGIN IMMEDIATE``: each transaction takes the
write lock up front, so concurrent requests queue on the busy timeout rather than failing with
"database is locked" when two readers both try to upgrade to writers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from fieldservice.db.audit import AuditedSession
from telemetry.dburl import DatabaseURL

#: how long a SQLite transaction waits for another one's write lock before failing
SQLITE_BUSY_TIMEOUT_S = 30.0


def create_engine(db: DatabaseURL, **kwargs: Any) -> AsyncEngine:
    url = db.sqlalchemy_url(asynchronous=True)
    if db.is_postgresql:
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    sa.event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (module docstring)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    # WAL lets the gateway's writer and API readers overlap; persistent in the file
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: responses are built from the objects after commit, and async
    # sessions cannot lazy-load expired attributes
    return async_sessionmaker(engine, expire_on_commit=False,
                              sync_session_class=AuditedSession)
