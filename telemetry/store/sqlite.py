"""The SQLite writer: the embedded default (``make demo``), one file, no server.

One thread owns the connection (sqlite3 objects must stay on one thread); each batch is one call
into it, so the event loop hops threads once per batch, not per statement. WAL mode lets the API
read while the gateway writes; ``synchronous=FULL`` makes a commit durable before the batch's
spool frame may be deleted. Positions go in with ``INSERT OR IGNORE`` (duplicates skipped), and
timestamps are written as SQLAlchemy's ``DateTime`` text so the ORM side reads them back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from telemetry.batch import Batch
from telemetry.config import IngestConfig
from telemetry.dburl import DatabaseURL
from telemetry.errors import BatchRejected, StorageUnavailable
from telemetry.pgcopy import COLUMNS, decode_positions, fix_columns
from telemetry.store import WriteResult, split_by_registration
from telemetry.store.sql import (
    AUTO_REGISTER,
    FORGET_UNKNOWN,
    LEDGER_INSERT,
    LEDGER_PRUNE,
    REGISTERED_IDS,
    REGISTRATION_OF,
    STATE_COLUMNS,
    STATE_UPSERT_TAIL,
    UNKNOWN_UPSERT,
    fill,
    in_list,
)
from telemetry.timestamps import sqlite_text

log = logging.getLogger(__name__)
T = TypeVar("T")

INSERT_POSITIONS = (f"INSERT OR IGNORE INTO positions ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(COLUMNS))})")
UPSERT_STATE = (f"INSERT INTO terminal_state AS t ({', '.join(STATE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(STATE_COLUMNS))}) " + STATE_UPSERT_TAIL)
#: SQLite's default limit of host parameters per statement is 999 on old builds
MAX_PARAMS = 900


def _ts(value: datetime | None) -> str | None:
    return None if value is None else sqlite_text(value)


def classify(exc: sqlite3.Error, what: str) -> Exception:
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError)):
        return BatchRejected(f"{what}: {exc.__class__.__name__}: {exc}")
    # locked, busy, disk I/O error, no such table, unable to open: keep the batch for later
    return StorageUnavailable(f"{what}: {exc.__class__.__name__}: {exc}")


class SQLiteStore:
    def __init__(self, db: DatabaseURL, config: IngestConfig) -> None:
        self._path = db.sqlite_path
        self._config = config
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldgate-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._guarded, what, fn, args)
        except sqlite3.Error as exc:
            raise classify(exc, what) from exc
        except OSError as exc:
            raise StorageUnavailable(f"{what}: {exc}") from exc

    def _guarded(self, what: str, fn: Callable[..., T], args: tuple) -> T:
        conn = self._connection()
        try:
            return fn(conn, *args)
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self._path.parent.exists():
                raise StorageUnavailable(f"no directory for SQLite database {self._path}")
            # mode=rw: never create an empty database file where the real one is missing
            conn = sqlite3.connect(f"file:{quote(str(self._path))}?mode=rw", uri=True,
                                   timeout=self._config.statement_timeout,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                # a missing schema must look like "not ready", not like an empty registry
                conn.execute("SELECT 1 FROM positions LIMIT 0")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        def close(_conn: sqlite3.Connection | None = None) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)

    async def registered_ids(self) -> set[str]:
        def load(conn: sqlite3.Connection) -> set[str]:
            return {row[0] for row in conn.execute(REGISTERED_IDS)}

        return await self._call("loading the terminal registry", load)

    async def prune_ledger(self, before: datetime) -> int:
        def prune(conn: sqlite3.Connection) -> int:
            return conn.execute(fill(LEDGER_PRUNE, "?"), (_ts(before),)).rowcount

        return await self._call("pruning the batch ledger", prune)

    async def write(self, batch: Batch) -> WriteResult:
        data = batch.positions_copy()
        return await self._call("writing a batch", self._write, batch, data)

    def _write(self, conn: sqlite3.Connection, batch: Batch, data: bytes) -> WriteResult:
        result = WriteResult()
        started = time.perf_counter()
        now = datetime.now(UTC)
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(fill(LEDGER_INSERT, "?"), (batch.batch_id, _ts(now), batch.rows))
        if cur.rowcount == 0:
            conn.rollback()
            result.already_applied = True
            return result
        self._resolve(conn, batch, result, now)

        skip = result.unregistered
        rows = list(_sqlite_rows(data, skip))
        cur = conn.executemany(INSERT_POSITIONS, rows)
        result.offered = len(rows)
        result.inserted = max(cur.rowcount, 0)

        unknown_rows = []
        for tid, d in batch.unknown.items():
            if tid in result.registered:
                continue
            fix = fix_columns(d.fix)
            unknown_rows.append((tid, d.transport, d.remote_addr, _ts(d.first_seen_at),
                                 _ts(d.last_seen_at), d.messages,
                                 *((_ts(fix[0]), fix[1], fix[2]) if fix else (None,) * 3)))
            result.unknown_fixes += d.fixes
            result.unknown_records += d.messages
        if unknown_rows:
            conn.executemany(fill(UNKNOWN_UPSERT, "?"), unknown_rows)

        state_rows = []
        for tid, sd in batch.states.items():
            if tid in skip:
                continue
            fix = fix_columns(sd.fix)
            fix_values = (_ts(fix[0]), *fix[1:]) if fix else (None,) * 9
            state_rows.append((
                tid, sd.transport, sd.remote_addr, sd.connected, _ts(sd.connected_at),
                _ts(sd.disconnected_at), _ts(sd.last_seen_at), *fix_values, sd.sentences,
                sd.rejected, sd.fixes, sd.connects, sd.acc, sd.alarms, _ts(sd.status_at),
                _ts(now),
            ))
        if state_rows:
            conn.executemany(UPSERT_STATE, state_rows)
        conn.commit()
        result.committed_at = datetime.now(UTC)
        result.commit_seconds = time.perf_counter() - started
        return result

    def _resolve(self, conn: sqlite3.Connection, batch: Batch, result: WriteResult,
                 now: datetime) -> None:
        if not batch.undetermined:
            return
        ids = sorted(batch.undetermined)
        known: dict[str, str] = {}
        for i in range(0, len(ids), MAX_PARAMS):
            part = ids[i : i + MAX_PARAMS]
            known.update(conn.execute(in_list(REGISTRATION_OF, len(part), "?"), part))
        registered, unregistered = split_by_registration(batch, known)
        if self._config.auto_register:
            for tid in sorted(t for t in unregistered if t not in known):
                seen = batch.unknown.get(tid) or batch.states.get(tid)
                note = (f"auto-registered by the gateway on first contact "
                        f"({seen.transport} {seen.remote_addr})" if seen else
                        "auto-registered by the gateway on first contact")
                cur = conn.execute(fill(AUTO_REGISTER, "?"), (
                    tid, self._config.auto_register_state, _ts(now), note, _ts(now), _ts(now)))
                if cur.rowcount:
                    result.auto_registered.add(tid)
            registered |= result.auto_registered
            unregistered -= result.auto_registered
        done = sorted(registered)
        for i in range(0, len(done), MAX_PARAMS):
            part = done[i : i + MAX_PARAMS]
            conn.execute(in_list(FORGET_UNKNOWN, len(part), "?"), part)
        result.registered = registered
        result.unregistered = unregistered


def _sqlite_rows(data: bytes, skip: set[str]) -> Iterator[tuple[Any, ...]]:
    for row in decode_positions(data):
        if row[0] in skip:
            continue
        yield (row[0], sqlite_text(row[1]), *row[2:10], sqlite_text(row[10]))
