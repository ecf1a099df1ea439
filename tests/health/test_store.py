"""Faults and their outbox on PostgreSQL and SQLite: one open fault per (terminal, rule),
one outbox row per real change, hardware-swap resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fieldgate.db import current_revision, downgrade, upgrade
from fieldgate.dburl import DatabaseURL
from telemetry.health import FaultEvent, FaultEventKind, FaultStore
from telemetry.health.store import reset_fault_history
from tests.health import dbutil

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def ev(kind: FaultEventKind, tid: str, rule: str, minutes: float) -> FaultEvent:
    return FaultEvent(kind, tid, rule, T0 + timedelta(minutes=minutes),
                      {"rule": rule, "observed": {"n": minutes}})


OPEN, CLEAR = FaultEventKind.OPENED, FaultEventKind.CLEARED


async def test_open_clear_and_duplicates(db: DatabaseURL) -> None:
    async with FaultStore(db=db) as store:
        assert len(await store.record([ev(OPEN, "A", "no_fix", 0)])) == 1
        # a second gateway opens the same fault: absorbed, no outbox row
        assert await store.record([ev(OPEN, "A", "no_fix", 1)]) == []
        assert await store.record([ev(CLEAR, "A", "poor_accuracy", 1)]) == []
        assert len(await store.record([ev(OPEN, "A", "poor_accuracy", 2),
                                       ev(CLEAR, "A", "no_fix", 3)])) == 2
        assert await store.record([ev(CLEAR, "A", "no_fix", 4)]) == []
        # the same rule opens again later: a new fault
        assert len(await store.record([ev(OPEN, "A", "no_fix", 10)])) == 1

        assert dbutil.outbox(db) == [("A", "no_fix", "opened"), ("A", "poor_accuracy", "opened"),
                                     ("A", "no_fix", "cleared"), ("A", "no_fix", "opened")]
        listed = await store.list_faults(terminal_id="A")
        assert [(f.rule, f.state) for f in listed] == [
            ("no_fix", "open"), ("poor_accuracy", "open"), ("no_fix", "cleared")]
        cleared = listed[2]
        assert cleared.opened_at == T0 and cleared.cleared_at == T0 + timedelta(minutes=3)
        assert cleared.clear_reason == "recovered"
        assert cleared.evidence == {"rule": "no_fix", "observed": {"n": 0}}
        assert cleared.clear_evidence["observed"] == {"n": 3}
        events = await store.events()
        assert events[2].evidence["open_for_s"] == 180.0
        assert events[2].evidence["opened_at"] == "2026-11-30T08:00:00Z"
        assert [e.id for e in await store.events(after_id=events[1].id)] == [
            events[2].id, events[3].id]
        assert await store.last_event_id() == events[3].id

        assert await store.open_fault_map() == {"A": {
            "no_fix": (T0 + timedelta(minutes=10)).timestamp(),
            "poor_accuracy": (T0 + timedelta(minutes=2)).timestamp()}}
        assert [f.rule for f in await store.list_faults(open_only=True, limit=1)] == ["no_fix"]


async def test_directory_reads_the_registry(db: DatabaseURL) -> None:
    dbutil.add_terminal(db, "A", model="T55", report_interval_s=30)
    dbutil.add_terminal(db, "B", state="in_stock")
    async with FaultStore(db=db) as store:
        directory = {t.terminal_id: t for t in await store.directory()}
    assert directory["A"].model == "T55" and directory["A"].report_interval_s == 30
    assert directory["B"].state == "in_stock"


async def test_hardware_swap_resets_the_history(db: DatabaseURL) -> None:
    async with FaultStore(db=db) as store:
        await store.record([ev(OPEN, "A", "offline", 0), ev(CLEAR, "A", "offline", 5),
                            ev(OPEN, "A", "reconnect_storm", 6), ev(OPEN, "B", "no_fix", 6)])
        async with store.engine.begin() as conn:
            cleared = await reset_fault_history(conn, terminal_id="A", at=T0 + timedelta(hours=1),
                                                reason="sim_swap", evidence={"work_order": 7})
        assert len(cleared) == 1
        faults = await store.list_faults(terminal_id="A")
        assert all(f.archived_at == T0 + timedelta(hours=1) for f in faults)
        storm = next(f for f in faults if f.rule == "reconnect_storm")
        assert storm.state == "cleared" and storm.clear_reason == "hardware_swap"
        assert storm.clear_evidence["work_order"] == 7
        # other terminals untouched
        (other,) = await store.list_faults(terminal_id="B")
        assert other.state == "open" and other.archived_at is None
    assert dbutil.outbox(db)[-1] == ("A", "reconnect_storm", "cleared")


def test_migration_0003_downgrades_and_upgrades(db: DatabaseURL) -> None:
    downgrade(db, "0003_service")
    eng = dbutil.engine(db)
    with eng.connect() as conn:
        assert not {"faults", "fault_events"} & set(sa.inspect(conn).get_table_names())
    upgrade(db)
    with eng.connect() as conn:
        assert {"faults", "fault_events"} <= set(sa.inspect(conn).get_table_names())
    eng.dispose()
    assert current_revision(db) is not None


async def test_every_change_to_terminals_moves_the_registry_counter(db: DatabaseURL) -> None:
    async with FaultStore(db=db) as store:
        start = await store.registry_serial()
        dbutil.add_terminal(db, "CNT1")
        after_insert = await store.registry_serial()
        dbutil.execute(db, "UPDATE terminals SET state = 'faulty' WHERE terminal_id = 'CNT1'")
        after_update = await store.registry_serial()
        dbutil.execute(db, "UPDATE positions SET lat = lat WHERE terminal_id = 'CNT1'")
        unrelated = await store.registry_serial()
        dbutil.execute(db, "DELETE FROM terminals WHERE terminal_id = 'CNT1'")
        after_delete = await store.registry_serial()
    assert start < after_insert < after_update == unrelated < after_delete


def test_migration_0004_downgrades_and_upgrades(db: DatabaseURL) -> None:
    downgrade(db, "0003")
    eng = dbutil.engine(db)
    with eng.connect() as conn:
        assert "registry_changes" not in sa.inspect(conn).get_table_names()
    dbutil.add_terminal(db, "NOTRIGGER")  # no trigger left behind to fail on
    upgrade(db)
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT serial FROM registry_changes")).scalar_one() == 0
    eng.dispose()
    dbutil.add_terminal(db, "TRIGGERED")
    assert dbutil.execute(db, "SELECT serial FROM registry_changes")[0][0] == 1
