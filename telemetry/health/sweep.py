"""The offline sweep: the one rule judged on the database rather than on a stream.

Several gateway processes may share one database, and a terminal that reconnects may land on
any of them, so only the database's ``terminal_state.last_seen_at`` (kept current by every
gateway's writer) tells whether a terminal went silent. The sweep compares it with each
terminal's threshold and opens or clears ``offline`` faults.

On PostgreSQL only one process sweeps: the one holding the session-level advisory lock
:data:`SWEEP_LOCK_KEY` (``pg_try_advisory_lock``). It keeps the lock on a dedicated connection
for as long as it lives, and sweeps on that same connection, so losing the connection (and with
it the lock) also stops its sweeping; another process takes over at its next period. SQLite is
one process's file: no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from telemetry.health.builtin_rules import OfflineRule, default_registry
from telemetry.health.config import HealthConfig, OfflineThresholds
from telemetry.health.rules import RuleRegistry
from telemetry.health.schema import faults, terminal_state, terminals
from telemetry.health.store import FaultState, FaultStore, clear_fault, open_fault
from telemetry.health.terminal import iso

log = logging.getLogger(__name__)

#: advisory lock key of the sweep: the bytes "fghealth" as a signed 64-bit integer
SWEEP_LOCK_KEY = int.from_bytes(b"fghealth", "big", signed=True)


@dataclass(slots=True)
class SweepResult:
    at: datetime
    checked: int = 0
    opened: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    recovering: list[str] = field(default_factory=list)


class OfflineSweeper:
    """Run the offline sweep every ``config.sweep_every_s`` (async context manager), or call
    :meth:`sweep_once`.

    Args:
        store: the fault store (its engine gives the connections).
        config: thresholds (``offline`` and per-model overrides) and the period.
        registry: to resolve per-model thresholds (default: the built-in rules).
        clock: wall-clock seconds.
        lock_key: the advisory lock key (tests use their own to run side by side).
    """

    def __init__(self, *, store: FaultStore, config: HealthConfig | None = None,
                 registry: RuleRegistry | None = None, clock: Callable[[], float] = time.time,
                 lock_key: int = SWEEP_LOCK_KEY) -> None:
        self.store = store
        self.config = config or HealthConfig()
        self.registry = registry if registry is not None else default_registry()
        self.registry.validate(self.config)
        self._clock = clock
        self._lock_key = lock_key
        self._lock_conn: AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._serial = asyncio.Lock()  # one sweep at a time per sweeper (one lock session)
        self._thresholds: dict[str | None, OfflineThresholds] = {}
        self.sweeps = 0
        self.skipped = 0  #: periods in which another process held the lock

    @property
    def is_leader(self) -> bool:
        """Holds the PostgreSQL sweep lock."""
        return self._lock_conn is not None

    @property
    def acting(self) -> bool:
        """This process sweeps: it holds the lock, or the database is SQLite (no lock)."""
        return self.is_leader or (self.store.db.is_sqlite and self.sweeps > 0)

    async def __aenter__(self) -> OfflineSweeper:
        self._task = asyncio.create_task(self._run(), name="health-offline-sweep")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._serial:
            await self._release()

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("offline sweep failed; retrying in %.1fs", self.config.sweep_every_s)
                await self._release()
            await asyncio.sleep(self.config.sweep_every_s)

    async def _release(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                # closing the session releases the lock; unlock first to return a clean
                # connection to the pool
                await conn.rollback()
                await conn.execute(sa.select(sa.func.pg_advisory_unlock(self._lock_key)))
                await conn.commit()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _leader(self) -> AsyncConnection | None:
        if self._lock_conn is not None:
            return self._lock_conn
        conn = await self.store.engine.connect()
        try:
            got = (await conn.execute(
                sa.select(sa.func.pg_try_advisory_lock(self._lock_key))
            )).scalar()
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return None
        log.info("offline sweep: this process holds the sweep lock")
        self._lock_conn = conn
        return conn

    async def sweep_once(self) -> SweepResult | None:
        """One sweep; None when another process holds the lock (PostgreSQL)."""
        async with self._serial:
            return await self._sweep_once()

    async def _sweep_once(self) -> SweepResult | None:
        if self.store.db.is_postgresql:
            conn = await self._leader()
            if conn is None:
                self.skipped += 1
                return None
            try:
                async with conn.begin():
                    return await self._sweep(conn)
            except Exception:
                await self._release()  # a broken session has lost the lock with it
                raise
        async with self.store.engine.begin() as conn:
            return await self._sweep(conn)

    def _offline_thresholds(self, model: str | None) -> OfflineThresholds:
        th = self._thresholds.get(model)
        if th is None:
            resolved = self.registry.resolve(self.config, model)["offline"]
            # the registry validated the configuration: "offline" is the offline rule's
            if not isinstance(resolved, OfflineThresholds):
                raise TypeError(f"offline thresholds of type {type(resolved).__name__}")
            th = self._thresholds[model] = resolved
        return th

    async def _sweep(self, conn: AsyncConnection) -> SweepResult:
        now = self._clock()
        at = datetime.fromtimestamp(now, UTC)
        result = SweepResult(at=at)
        ts = terminal_state.c
        open_offline = sa.and_(faults.c.terminal_id == terminals.c.terminal_id,
                               faults.c.rule == "offline", faults.c.state == FaultState.OPEN)
        stmt = (
            sa.select(
                terminals.c.terminal_id, terminals.c.model, terminals.c.report_interval_s,
                terminals.c.state, ts.last_seen_at, ts.connected, ts.transport, ts.remote_addr,
                ts.last_fix_time, ts.lat, ts.lon, ts.sats, ts.hdop, ts.sentences, ts.rejected,
                ts.fixes, ts.connects,
                faults.c.id.label("fault_id"), faults.c.clearing_since,
            )
            .select_from(
                terminals.join(terminal_state, ts.terminal_id == terminals.c.terminal_id)
                .outerjoin(faults, open_offline)
            )
        )
        ignored = self.config.ignored_states
        for row in (await conn.execute(stmt)).mappings():
            if row["state"] in ignored or row["last_seen_at"] is None:
                continue
            th = self._offline_thresholds(row["model"])
            if not th.enabled:
                continue
            result.checked += 1
            interval = row["report_interval_s"]
            silent = now - row["last_seen_at"].timestamp()
            after = OfflineRule.open_after(th, interval)
            tid = row["terminal_id"]
            if row["fault_id"] is None:
                if silent >= after:
                    evidence = self._evidence(row, th, "opened", at, silent, after)
                    if await open_fault(conn, terminal_id=tid, rule="offline", at=at,
                                        evidence=evidence) is not None:
                        result.opened.append(tid)
                continue
            recovered = silent < min(OfflineRule.recovery_gap(th, interval), after)
            clearing_since = row["clearing_since"]
            if not recovered:
                if clearing_since is not None:  # seen once, then silent again: not back
                    await self._set_clearing(conn, row["fault_id"], None, at)
                continue
            if clearing_since is None:
                clearing_since = at
                await self._set_clearing(conn, row["fault_id"], at, at)
            if now - clearing_since.timestamp() >= th.clear_after_s:
                evidence = self._evidence(row, th, "cleared", at, silent, after)
                evidence["condition_since"] = iso(clearing_since.timestamp())
                if await clear_fault(conn, terminal_id=tid, rule="offline", at=at,
                                     evidence=evidence) is not None:
                    result.cleared.append(tid)
            else:
                result.recovering.append(tid)
        self.sweeps += 1
        return result

    @staticmethod
    async def _set_clearing(conn: AsyncConnection, fault_id: int, value: datetime | None,
                            at: datetime) -> None:
        await conn.execute(sa.update(faults).where(faults.c.id == fault_id)
                           .values(clearing_since=value, updated_at=at))

    @staticmethod
    def _evidence(row: Any, th: OfflineThresholds, event: str, at: datetime, silent: float,
                  after: float) -> dict[str, Any]:
        last_fix = None
        if row["last_fix_time"] is not None:
            last_fix = {"time": iso(row["last_fix_time"].timestamp()), "lat": row["lat"],
                        "lon": row["lon"], "sats": row["sats"], "hdop": row["hdop"]}
        return {
            "rule": "offline", "event": event, "at": iso(at.timestamp()),
            "condition_since": iso(row["last_seen_at"].timestamp()),
            "thresholds": th.as_json(),
            "observed": {
                "last_seen_at": iso(row["last_seen_at"].timestamp()),
                "silent_for_s": round(silent, 3), "offline_after_s": after,
                "report_interval_s": row["report_interval_s"], "connected": row["connected"],
                "transport": row["transport"], "remote": row["remote_addr"],
            },
            "last_fix": last_fix,
            "counts": {k: row[k] for k in ("sentences", "rejected", "fixes", "connects")},
            "model": row["model"],
        }
