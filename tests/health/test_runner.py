"""The monitor running in a gateway process: the sink wrapper, the timer, the database."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from devices.records import Record
from fieldgate.db import upgrade
from fieldgate.dburl import DatabaseURL
from gateway.sink import SessionInfo, Transport
from telemetry.health import (
    FaultStore,
    HealthConfig,
    HealthStack,
    NoFixThresholds,
    OfflineThresholds,
)
from telemetry.health.store import reset_fault_history
from tests import servers
from tests.health import dbutil
from tests.health.streams import Clock, Drive


class ListSink:
    """The inner sink of these tests: keeps what it is given (the real writer is
    telemetry's; the wrapper's contract is only to pass every call through unchanged)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.flushed = 0

    async def session_opened(self, session: SessionInfo) -> None:
        self.calls.append(("opened", session.terminal_id, 0))

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        await asyncio.sleep(0)
        self.calls.append(("publish", session.terminal_id, len(records)))

    async def session_closed(self, session: SessionInfo) -> None:
        self.calls.append(("closed", session.terminal_id, 0))

    async def flush(self) -> int:
        self.flushed += 1
        return self.flushed


def fast_config(**rules) -> HealthConfig:
    return HealthConfig(rules={"offline": OfflineThresholds(open_after_s=3600), **rules},
                        tick_s=0.05, sync_every_s=0.2, sweep_every_s=0.2)


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def new_session(tid: str) -> SessionInfo:
    return SessionInfo(terminal_id=tid, transport=Transport.TCP, remote="127.0.0.1:4000",
                       connected_at=datetime.now(UTC))


async def test_wrapped_sink_passes_everything_through_and_faults_reach_the_database(
        db: DatabaseURL) -> None:
    dbutil.add_terminal(db, "A")
    dbutil.add_terminal(db, "B")
    inner = ListSink()
    cfg = fast_config(no_fix=NoFixThresholds(open_after_s=0.3, clear_after_s=0.3))
    clock = Clock(time.time())
    async with HealthStack(db=db, config=cfg) as health:
        sink = health.wrap(inner)
        a, b = new_session("A"), new_session("B")
        await sink.session_opened(a)
        await sink.session_opened(b)
        car = Drive(clock)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            clock.now = time.time()
            await sink.publish(a, [car.no_fix()])
            await sink.publish(b, [car.fix()])
            await asyncio.sleep(0.02)
        await wait_for(lambda: dbutil.faults(db, "A") != [])
        # the fix comes back: clears after the recovery delay
        deadline = time.monotonic() + 5.0
        while dbutil.faults(db, "A")[0]["state"] == "open":
            assert time.monotonic() < deadline
            clock.now = time.time()
            await sink.publish(a, [car.fix()])
            await asyncio.sleep(0.02)
        await sink.session_closed(a)
        assert await sink.flush() == 1  # other attributes are the inner sink's
    assert dbutil.faults(db) == [{"terminal_id": "A", "rule": "no_fix", "state": "cleared",
                                  "clear_reason": "recovered"}]
    assert dbutil.outbox(db) == [("A", "no_fix", "opened"), ("A", "no_fix", "cleared")]
    assert inner.calls[:2] == [("opened", "A", 0), ("opened", "B", 0)]
    assert sum(1 for c in inner.calls if c[0] == "publish") >= 2 * 40
    assert inner.calls[-1] == ("closed", "A", 0)


async def test_a_hardware_swap_in_the_database_restarts_the_monitor(db: DatabaseURL) -> None:
    """The repair cleared the fault in the database; the monitor forgets it at its next sync,
    and a condition that persists on the new hardware opens a new fault (once)."""
    dbutil.add_terminal(db, "A")
    cfg = fast_config(no_fix=NoFixThresholds(open_after_s=0.2))
    clock = Clock(time.time())
    async with HealthStack(db=db, config=cfg) as health:
        sink = health.wrap(ListSink())
        s = new_session("A")
        car = Drive(clock)

        async def feed_until(cond) -> None:
            deadline = time.monotonic() + 10
            while not cond():
                assert time.monotonic() < deadline
                clock.now = time.time()
                await sink.publish(s, [car.no_fix()])
                await asyncio.sleep(0.02)

        await feed_until(lambda: len(dbutil.outbox(db)) == 1)
        async with FaultStore(db=db) as store, store.engine.begin() as conn:
            await reset_fault_history(conn, terminal_id="A", at=datetime.now(UTC),
                                      reason="sim_swap", evidence={})
        await feed_until(lambda: len(dbutil.outbox(db)) == 3)
        await asyncio.sleep(0.5)  # and nothing more
    assert dbutil.outbox(db) == [("A", "no_fix", "opened"), ("A", "no_fix", "cleared"),
                                 ("A", "no_fix", "opened")]


@pytest.mark.postgres
@pytest.mark.slow
async def test_events_wait_while_the_database_is_away(
        private_pg: servers.PrivatePostgres) -> None:
    url = servers.create_database("health", admin_url=private_pg.admin_url())
    db = DatabaseURL.parse(url)
    await asyncio.to_thread(upgrade, db)
    dbutil.add_terminal(db, "A")
    cfg = fast_config(no_fix=NoFixThresholds(open_after_s=0.2, clear_after_s=0.2))
    clock = Clock(time.time())
    async with HealthStack(db=db, config=cfg, sweep=False) as health:
        sink = health.wrap(ListSink())
        s = new_session("A")
        car = Drive(clock)
        await asyncio.sleep(0.3)  # first sync done
        await asyncio.to_thread(private_pg.stop)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            clock.now = time.time()
            await sink.publish(s, [car.no_fix()])
            await asyncio.sleep(0.02)
        assert health.monitor.stats.opened == 1
        await wait_for(lambda: health.runner.store_errors > 0)
        assert health.monitor.pending_events == 1
        await asyncio.to_thread(private_pg.start)
        await wait_for(lambda: dbutil.outbox(db) != [])
        assert health.monitor.pending_events == 0
    assert dbutil.outbox(db) == [("A", "no_fix", "opened")]


async def test_a_terminal_registered_while_running_is_watched_from_the_next_tick(
        db: DatabaseURL) -> None:
    """Issue 9 §1: registered after the monitor started (the periodic sync an hour away), its
    no-fix stream opens the fault; retired (state ``returned``) it is no longer judged."""
    cfg = dataclasses.replace(fast_config(no_fix=NoFixThresholds(open_after_s=0.2,
                                                                 clear_after_s=0.2)),
                              sync_every_s=3600)
    clock = Clock(time.time())
    async with HealthStack(db=db, config=cfg, sweep=False) as health:
        runner = health.runner
        syncs = runner.syncs
        assert not await runner.follow_registry()  # nothing changed since the first sync
        dbutil.add_terminal(db, "LATE")
        await wait_for(lambda: runner.syncs > syncs)
        assert health.monitor._directory is not None and "LATE" in health.monitor._directory

        sink = health.wrap(ListSink())
        s = new_session("LATE")
        car = Drive(clock)
        deadline = time.monotonic() + 10
        while not dbutil.faults(db, "LATE"):
            assert time.monotonic() < deadline
            clock.now = time.time()
            await sink.publish(s, [car.no_fix()])
            await asyncio.sleep(0.02)

        # retired: the monitor follows the state change too, and stops judging it
        dbutil.execute(db, "UPDATE terminals SET state = 'returned' WHERE terminal_id = 'LATE'")
        await wait_for(lambda: not health.monitor.terminal("LATE").watched)
        assert runner.registry_errors == 0
