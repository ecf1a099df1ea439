"""The offline sweep on the database's latest state; one sweeper among several on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from fieldgate.dburl import DatabaseURL
from telemetry.health import (
    FaultStore,
    HealthConfig,
    OfflineSweeper,
    OfflineThresholds,
)
from tests.health import dbutil
from tests.health.streams import Clock


def config(**offline) -> HealthConfig:
    th = OfflineThresholds(**{"open_after_s": 60, "clear_after_s": 20, "recovery_gap_s": 15,
                              **offline})
    return HealthConfig(rules={"offline": th}, sweep_every_s=0.05)


async def test_offline_opens_after_threshold_and_clears_after_recovery_holds(
        db: DatabaseURL) -> None:
    clock = Clock()
    dbutil.add_terminal(db, "A")
    dbutil.add_terminal(db, "SLOW", report_interval_s=30)  # 30 s x 5 = 150 s
    dbutil.add_terminal(db, "NEVER")  # registered, never seen: not judged
    dbutil.add_terminal(db, "RETIRED", state="scrapped")
    for tid in ("A", "SLOW", "RETIRED"):
        dbutil.seen(db, tid, dbutil.ts(clock.now))
    async with FaultStore(db=db) as store:
        sweeper = OfflineSweeper(store=store, config=config(), clock=clock)
        try:
            clock.advance(59)
            r = await sweeper.sweep_once()
            assert r.checked == 2 and r.opened == []
            clock.advance(2)
            assert (await sweeper.sweep_once()).opened == ["A"]
            assert (await sweeper.sweep_once()).opened == []  # once
            clock.advance(100)
            assert (await sweeper.sweep_once()).opened == ["SLOW"]

            # A sends one message, then nothing: seen within the recovery gap, then not
            dbutil.seen(db, "A", dbutil.ts(clock.now))
            clock.advance(5)
            r = await sweeper.sweep_once()
            assert r.recovering == ["A"] and r.cleared == []
            clock.advance(14)
            assert (await sweeper.sweep_once()).cleared == []  # 19 s silent: not back
            # now it reports steadily: clears once recovery held clear_after_s
            for _ in range(5):
                clock.advance(5)
                dbutil.seen(db, "A", dbutil.ts(clock.now))
                r = await sweeper.sweep_once()
                if r.cleared:
                    break
            assert r.cleared == ["A"]
        finally:
            await sweeper.close()
    assert dbutil.faults(db) == [
        {"terminal_id": "A", "rule": "offline", "state": "cleared", "clear_reason": "recovered"},
        {"terminal_id": "SLOW", "rule": "offline", "state": "open", "clear_reason": None},
    ]
    assert dbutil.outbox(db) == [("A", "offline", "opened"), ("SLOW", "offline", "opened"),
                                 ("A", "offline", "cleared")]
    evidence = dbutil.execute(db, "SELECT evidence FROM fault_events WHERE terminal_id = 'SLOW'")
    observed = (evidence[0][0] if isinstance(evidence[0][0], dict)
                else __import__("json").loads(evidence[0][0]))["observed"]
    assert observed["offline_after_s"] == 150 and observed["silent_for_s"] >= 150


async def test_per_model_offline_threshold(db: DatabaseURL) -> None:
    clock = Clock()
    dbutil.add_terminal(db, "A", model="T55")
    dbutil.add_terminal(db, "B", model="SOLAR")
    for tid in ("A", "B"):
        dbutil.seen(db, tid, dbutil.ts(clock.now))
    cfg = HealthConfig(rules={"offline": OfflineThresholds(open_after_s=60)},
                       models={"SOLAR": {"offline": {"open_after_s": 3600}}})
    async with FaultStore(db=db) as store:
        sweeper = OfflineSweeper(store=store, config=cfg, clock=clock)
        clock.advance(120)
        assert (await sweeper.sweep_once()).opened == ["A"]
        await sweeper.close()


@pytest.mark.postgres
async def test_two_sweepers_on_one_postgresql_only_one_acts(pg_db: DatabaseURL) -> None:
    clock = Clock()
    fleet = [f"T{n:02}" for n in range(20)]
    for tid in fleet:
        dbutil.add_terminal(pg_db, tid)
    dbutil.seen(pg_db, fleet, dbutil.ts(clock.now))
    clock.advance(3600)
    # two gateway processes: separate engines, separate sessions
    async with FaultStore(db=pg_db) as store_a, FaultStore(db=pg_db) as store_b:
        a = OfflineSweeper(store=store_a, config=config(), clock=clock)
        b = OfflineSweeper(store=store_b, config=config(), clock=clock)
        try:
            results = await asyncio.gather(*(s.sweep_once() for s in (a, b, a, b, a, b)))
            acted = [r for r in results if r is not None]
            assert len(acted) == 3  # every call of the leader, none of the other
            assert a.is_leader != b.is_leader
            assert sorted(t for r in acted for t in r.opened) == fleet
            assert (a.skipped, b.skipped) in {(0, 3), (3, 0)}
            # the leader goes away (process exit closes its session): the other takes over
            leader, other = (a, b) if a.is_leader else (b, a)
            await leader.close()
            cleared = []
            for _ in range(10):
                clock.advance(10)
                dbutil.seen(pg_db, fleet, dbutil.ts(clock.now))
                r = await other.sweep_once()
                assert r is not None
                cleared += r.cleared
                if len(cleared) == 20:
                    break
            assert other.is_leader and len(cleared) == 20
        finally:
            await a.close()
            await b.close()
    assert len(dbutil.outbox(pg_db)) == 40  # 20 opened, 20 cleared: each exactly once


@pytest.mark.postgres
async def test_sweeper_tasks_run_periodically_and_share_the_work_with_the_lock(
        pg_db: DatabaseURL) -> None:
    clock = Clock()
    dbutil.add_terminal(pg_db, "A")
    dbutil.seen(pg_db, "A", dbutil.ts(clock.now))
    clock.advance(600)
    async with FaultStore(db=pg_db) as store_a, FaultStore(db=pg_db) as store_b, \
            OfflineSweeper(store=store_a, config=config(), clock=clock) as a, \
            OfflineSweeper(store=store_b, config=config(), clock=clock) as b:
        for _ in range(200):
            if a.sweeps + b.sweeps >= 5:
                break
            await asyncio.sleep(0.02)
        assert (a.sweeps == 0) != (b.sweeps == 0)
        assert a.skipped + b.skipped >= 1
    assert dbutil.outbox(pg_db) == [("A", "offline", "opened")]


async def test_sqlite_sweeps_without_a_lock(sqlite_db: DatabaseURL) -> None:
    clock = Clock()
    dbutil.add_terminal(sqlite_db, "A")
    dbutil.seen(sqlite_db, "A", dbutil.ts(clock.now))
    clock.advance(600)
    async with FaultStore(db=sqlite_db) as store, \
            OfflineSweeper(store=store, config=config(), clock=clock) as sweeper:
        for _ in range(200):
            if sweeper.sweeps >= 2:
                break
            await asyncio.sleep(0.02)
        assert not sweeper.is_leader and sweeper.sweeps >= 2
    assert dbutil.outbox(sqlite_db) == [("A", "offline", "opened")]
