"""The PostgreSQL writer: psycopg 3 async, binary COPY into a staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``positions``.

Why staging: COPY straight into ``positions`` fails the whole batch on the first duplicate
(retransmitted epochs, QoS 1 redeliveries, a spool replayed after a crash), and ``COPY`` has no
ON CONFLICT clause. The temporary tables live in the connection's session, are created at
connect, and are emptied by every commit (``ON COMMIT DELETE ROWS``).

Since most batches hold no duplicate, each batch first tries COPY straight into ``positions``
inside a savepoint (one pass over the rows instead of two); a unique violation rolls the
savepoint back and the batch takes the staging path, and direct attempts pause until staging
batches come out duplicate-free again (see ``_copy_direct``). Either way the table ends the
same: each (terminal, fix time) once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import psycopg

from telemetry.batch import Batch
from telemetry.config import IngestConfig
from telemetry.dburl import DatabaseURL
from telemetry.errors import BatchRejected, StorageUnavailable
from telemetry.pgcopy import COLUMNS, fix_columns
from telemetry.store import WriteResult, split_by_registration
from telemetry.store.sql import (
    AUTO_REGISTER,
    LEDGER_INSERT,
    LEDGER_PRUNE,
    REGISTERED_IDS,
    STATE_COLUMNS,
    STATE_UPSERT_TAIL,
    UNKNOWN_UPSERT,
    fill,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_COLS = ", ".join(COLUMNS)
_STATE_STAGING_COLS = STATE_COLUMNS[:-1]  # updated_at comes from now()
_STATE_TYPES = [
    "text", "text", "text", "bool", "timestamptz", "timestamptz", "timestamptz", "timestamptz",
    "float8", "float8", "float4", "float4", "float4", "int2", "float4", "int2", "int8", "int8",
    "int8", "int8", "bool", "text", "timestamptz",
]
SETUP = (
    "CREATE TEMP TABLE IF NOT EXISTS positions_staging (LIKE positions) ON COMMIT DELETE ROWS",
)
COPY_POSITIONS = f"COPY positions_staging ({_COLS}) FROM STDIN (FORMAT BINARY)"
COPY_DIRECT = f"COPY positions ({_COLS}) FROM STDIN (FORMAT BINARY)"
#: duplicate-free staging batches in a row before COPY straight into positions is tried again
DIRECT_RETRY_AFTER = 8
MOVE_POSITIONS = (
    f"INSERT INTO positions ({_COLS}) SELECT {_COLS} FROM positions_staging "
    "ON CONFLICT (terminal_id, fix_time) DO NOTHING"
)
_NO_FIX = (None,) * 9
UPSERT_STATES = (
    f"INSERT INTO terminal_state AS t ({', '.join(STATE_COLUMNS)}) "
    f"SELECT *, now() FROM unnest("
    + ", ".join(f"%s::{t}[]" for t in _STATE_TYPES)
    + ") " + STATE_UPSERT_TAIL
)


def classify(exc: Exception, what: str) -> Exception:
    """Our error for a psycopg one: data/integrity errors reject the batch, anything else
    (connection lost, server shutting down, disk full, missing table, permissions) means the
    database cannot take it now and the batch is kept for later."""
    state = getattr(exc, "sqlstate", None) or ""
    if state[:2] in ("22", "23"):
        return BatchRejected(f"{what}: {exc.__class__.__name__}: {exc}".strip())
    return StorageUnavailable(f"{what}: {exc.__class__.__name__}: {exc}".strip())


class PostgresStore:
    def __init__(self, db: DatabaseURL, config: IngestConfig) -> None:
        self._conninfo = db.conninfo
        self._config = config
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        # a write may take one connect plus a few statements
        self._op_timeout = config.connect_timeout + config.statement_timeout
        self._clean_batches = DIRECT_RETRY_AFTER  # start optimistic
        self.direct_batches = 0  #: batches that went straight into positions
        self.direct_fallbacks = 0  #: ... that met a duplicate and took the staging path

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        cfg = self._config
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=max(1, math.ceil(cfg.connect_timeout)),
            options=f"-c statement_timeout={int(cfg.statement_timeout * 1000)}",
            application_name="fieldgate-telemetry",
            # notice a vanished server within ~25 s even when no statement is running
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
        )
        try:
            for statement in SETUP:
                await conn.execute(statement)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            # it is broken already; closing is best effort
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop_connection()

    async def _run(self, what: str,
                   operation: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        """Run ``operation(conn)`` with the connection, a time limit and error translation."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._op_timeout):
                    conn = await self._connection()
                    return await operation(conn)
            except TimeoutError as exc:
                await self._drop_connection()
                raise StorageUnavailable(f"{what}: no answer within {self._op_timeout:.0f}s") \
                    from exc
            except psycopg.Error as exc:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    await self._drop_connection()
                raise classify(exc, what) from exc
            except OSError as exc:
                await self._drop_connection()
                raise StorageUnavailable(f"{what}: {exc}") from exc

    async def registered_ids(self) -> set[str]:
        async def load(conn: psycopg.AsyncConnection) -> set[str]:
            cur = await conn.execute(REGISTERED_IDS)
            return {row[0] for row in await cur.fetchall()}

        return await self._run("loading the terminal registry", load)

    async def prune_ledger(self, before: datetime) -> int:
        async def prune(conn: psycopg.AsyncConnection) -> int:
            cur = await conn.execute(fill(LEDGER_PRUNE, "%s"), (before,))
            return cur.rowcount

        return await self._run("pruning the batch ledger", prune)

    async def write(self, batch: Batch) -> WriteResult:
        data = batch.positions_copy()  # CPU work outside the lock and the transaction

        async def write(conn: psycopg.AsyncConnection) -> WriteResult:
            return await self._write(conn, batch, data)

        return await self._run("writing a batch", write)

    async def _write(self, conn: psycopg.AsyncConnection, batch: Batch,
                     data: bytes) -> WriteResult:
        result = WriteResult()
        started = time.perf_counter()
        async with conn.transaction():
            cur = conn.cursor()
            await cur.execute(fill(LEDGER_INSERT, "%s"),
                              (batch.batch_id, datetime.now(UTC), batch.rows))
            if cur.rowcount == 0:
                result.already_applied = True
                return result
            await self._resolve(cur, batch, result)

            if result.unregistered or not await self._copy_direct(conn, cur, data, result):
                async with cur.copy(COPY_POSITIONS) as copy:
                    await copy.write(data)
                copied = max(cur.rowcount, 0)
                if result.unregistered:
                    # fixes of undetermined terminals that turned out unregistered
                    await cur.execute(
                        "DELETE FROM positions_staging WHERE terminal_id = ANY(%s)",
                        (sorted(result.unregistered),))
                    copied -= max(cur.rowcount, 0)
                await cur.execute(MOVE_POSITIONS)
                result.offered = copied
                result.inserted = max(cur.rowcount, 0)
                if result.inserted == copied:
                    self._clean_batches += 1

            unknown_rows = []
            for tid, d in batch.unknown.items():
                if tid in result.registered:
                    continue
                fix = fix_columns(d.fix)
                unknown_rows.append((tid, d.transport, d.remote_addr, d.first_seen_at,
                                     d.last_seen_at, d.messages,
                                     *(fix[:3] if fix else (None, None, None))))
                result.unknown_fixes += d.fixes
                result.unknown_records += d.messages
            if unknown_rows:
                await cur.executemany(fill(UNKNOWN_UPSERT, "%s"), unknown_rows)

            states = [(tid, sd) for tid, sd in batch.states.items()
                      if tid not in result.unregistered]
            if states:
                # one statement with one array per column: a round trip per batch, not a
                # write per terminal (a COPY row by row awaited the event loop 2000 times for
                # 2000 terminals, and a busy gateway loop made each await cost a turn)
                columns: list[list] = [[] for _ in _STATE_STAGING_COLS]
                for tid, sd in states:
                    fix = fix_columns(sd.fix) or _NO_FIX
                    row = (tid, sd.transport, sd.remote_addr, sd.connected, sd.connected_at,
                           sd.disconnected_at, sd.last_seen_at, *fix, sd.sentences,
                           sd.rejected, sd.fixes, sd.connects, sd.acc, sd.alarms,
                           sd.status_at)
                    for column, value in zip(columns, row, strict=True):
                        column.append(value)
                await cur.execute(UPSERT_STATES, columns)
        result.committed_at = datetime.now(UTC)
        result.commit_seconds = time.perf_counter() - started
        return result

    async def _copy_direct(self, conn: psycopg.AsyncConnection, cur: psycopg.AsyncCursor,
                           data: bytes, result: WriteResult) -> bool:
        """Try COPY straight into ``positions`` (half the server's work of the staging path).

        It fails as a whole on the first duplicate; then the savepoint is rolled back, the
        caller takes the staging path, and direct attempts pause until ``DIRECT_RETRY_AFTER``
        staging batches in a row had no duplicate (a terminal replaying history would
        otherwise make every batch pay twice).
        """
        if self._clean_batches < DIRECT_RETRY_AFTER:
            return False
        try:
            # a savepoint inside the batch's transaction
            async with conn.transaction(), cur.copy(COPY_DIRECT) as copy:
                await copy.write(data)
        except psycopg.errors.UniqueViolation:
            self._clean_batches = 0
            self.direct_fallbacks += 1
            return False
        result.offered = result.inserted = max(cur.rowcount, 0)
        self.direct_batches += 1
        return True

    async def _resolve(self, cur: psycopg.AsyncCursor, batch: Batch, result: WriteResult) -> None:
        """Decide the batch's undetermined terminal ids inside its own transaction."""
        if not batch.undetermined:
            return
        ids = sorted(batch.undetermined)
        await cur.execute("SELECT terminal_id, state FROM terminals WHERE terminal_id = ANY(%s)",
                          (ids,))
        known = {tid: state for tid, state in await cur.fetchall()}
        registered, unregistered = split_by_registration(batch, known)
        if self._config.auto_register:
            now = datetime.now(UTC)
            for tid in sorted(t for t in unregistered if t not in known):
                seen = batch.unknown.get(tid) or batch.states.get(tid)
                note = (f"auto-registered by the gateway on first contact "
                        f"({seen.transport} {seen.remote_addr})" if seen else
                        "auto-registered by the gateway on first contact")
                await cur.execute(
                    fill(AUTO_REGISTER, "%s") + " RETURNING terminal_id",
                    (tid, self._config.auto_register_state, now, note, now, now),
                )
                if await cur.fetchone() is not None:
                    result.auto_registered.add(tid)
            registered |= result.auto_registered
            unregistered -= result.auto_registered
        if registered:
            await cur.execute("DELETE FROM unknown_terminals WHERE terminal_id = ANY(%s)",
                              (sorted(registered),))
        result.registered = registered
        result.unregistered = unregistered
