"""The ingest sink against real PostgreSQL and SQLite: storage, duplicates, the registry,
unknown terminals, auto-registration and the latest state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from devices.records import Fix, NoFix
from fieldgate.dburl import DatabaseURL
from gateway.sink import Transport
from telemetry.errors import ConfigError, IngestClosed
from telemetry.ingest import Ingest
from telemetry.queries import TelemetryReader
from tests.telemetry.conftest import (
    BASE,
    config,
    count,
    fixes,
    position_keys,
    register,
    session,
    sql,
)


async def test_fixes_are_stored_once_even_when_repeated(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "T-1", "T-2")
    track = fixes(100)
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        s1, s2 = session("T-1"), session("T-2", Transport.MQTT, "mqtt://127.0.0.1:1883")
        await sink.session_opened(s1)
        await sink.session_opened(s2)
        for i in range(0, 100, 10):
            await sink.publish(s1, track[i : i + 10])
        await sink.publish(s1, track[:30])  # retransmitted in the same batch
        await sink.publish(s2, track[:5])
        await sink.flush()
        await sink.publish(s1, track[50:])  # and again in a later batch
        await sink.flush()
        m = sink.metrics
    assert len(position_keys(db, "T-1")) == 100
    assert len(position_keys(db, "T-2")) == 5
    assert m.fixes_stored == 105 and m.duplicates_ignored == 80
    assert m.batches_written >= 2 and m.batches_spooled == 0 and m.db_errors == 0
    assert m.batch_rows.count == m.batches_written
    assert m.receive_to_commit_seconds.count == 185  # every offered fix has a latency sample


async def test_stored_values_read_back(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "T-1")
    sparse = Fix(time=BASE + timedelta(hours=1), lat=-33.856784, lon=151.215297)
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        await sink.publish(session("T-1"), [*fixes(2), NoFix(time=BASE), sparse])
        await sink.flush()
    async with TelemetryReader(db) as reader:
        got = [f async for f in reader.positions("T-1")]
    assert [f.fix_time for f in got] == [BASE, BASE + timedelta(seconds=1),
                                         BASE + timedelta(hours=1)]
    first = got[0].as_json()
    assert first["time"] == "2026-03-01T08:00:00Z" and first["terminal"] == "T-1"
    assert first["lat"] == 52.52 and first["sats"] == 9 and first["fix_quality"] == 1
    assert first["speed_kn"] == pytest.approx(12.5) and first["hdop"] == pytest.approx(0.9)
    assert first["received_at"].endswith("Z")
    assert got[2].speed_kn is None and got[2].sats is None
    assert got[2].lat == pytest.approx(-33.856784) and got[2].lon == pytest.approx(151.215297)


async def test_unregistered_terminals_are_listed_not_stored(db: DatabaseURL,
                                                            tmp_path: Path) -> None:
    register(db, "OLD", state="scrapped")
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        stranger = session("STRANGER", Transport.MQTT, "mqtt://broker/fieldgate/STRANGER/nmea")
        await sink.session_opened(stranger)
        track = fixes(300)
        for i in range(0, 300, 3):  # a flood: 100 reads
            await sink.publish(stranger, [*track[i : i + 3], NoFix(time=None)])
            if i % 30 == 0:
                await asyncio.sleep(0.03)  # several flushes happen meanwhile
        await sink.publish(session("OLD"), fixes(2))
        await sink.flush()
        m = sink.metrics
    assert position_keys(db) == []
    rows = dict((r[0], r[1:]) for r in sql(
        db, "SELECT terminal_id, transport, remote_addr, message_count FROM unknown_terminals"))
    assert rows["STRANGER"] == ("mqtt", "mqtt://broker/fieldgate/STRANGER/nmea", 400)
    assert rows["OLD"][2] == 2
    assert m.unknown_terminal_fixes == 302
    # one answer from the database, then the cached negative answer: not one query per read
    assert m.registry_lookups <= 3
    async with TelemetryReader(db) as reader:
        unknown = {u.terminal_id: u for u in await reader.unknown_terminals()}
    assert unknown["STRANGER"].last_fix_time == track[-1].time
    assert unknown["STRANGER"].last_lat == pytest.approx(track[-1].lat)
    assert unknown["STRANGER"].first_seen_at <= unknown["STRANGER"].last_seen_at


async def test_a_terminal_registered_meanwhile_is_stored_after_the_miss_ttl(
        db: DatabaseURL, tmp_path: Path) -> None:
    async with Ingest(db=db, config=config(tmp_path, registry_miss_ttl=0.05)) as sink:
        s = session("NEW-1")
        await sink.publish(s, fixes(3))
        await sink.flush()
        assert position_keys(db) == []
        register(db, "NEW-1")  # an installer registers it
        await asyncio.sleep(0.06)
        await sink.publish(s, fixes(3, start=BASE + timedelta(minutes=1)))
        await sink.flush()
    assert len(position_keys(db, "NEW-1")) == 3
    async with TelemetryReader(db) as reader:
        assert await reader.unknown_terminals() == []  # registered: no longer listed


async def test_auto_register(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "GONE", state="returned")
    before = datetime.now(UTC) - timedelta(seconds=1)
    async with Ingest(db=db, config=config(tmp_path, auto_register=True)) as sink:
        s = session("AUTO-7", remote="10.1.2.3:5555")
        await sink.session_opened(s)
        await sink.publish(s, fixes(5))
        await sink.flush()
        await sink.publish(s, fixes(5, start=BASE + timedelta(minutes=1)))
        await sink.publish(session("GONE"), fixes(2))  # returned: not revived by auto-register
        await sink.flush()
        m = sink.metrics
    assert len(position_keys(db, "AUTO-7")) == 10
    assert position_keys(db, "GONE") == []
    (state, notes), = sql(db, "SELECT state, notes FROM terminals WHERE terminal_id = 'AUTO-7'")
    assert state == "installed" and "10.1.2.3:5555" in notes
    assert m.auto_registered == 1
    assert [r[0] for r in sql(db, "SELECT terminal_id FROM unknown_terminals")] == ["GONE"]
    async with TelemetryReader(db) as reader:
        st = await reader.latest_state("AUTO-7")
    assert st is not None and st.fixes == 10 and st.connects == 1
    assert st.connected_at is not None and st.connected_at >= before


async def test_latest_state_is_kept_current(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "T-9")
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        first = session("T-9", remote="192.0.2.1:1000")
        await sink.session_opened(first)
        first.sentences, first.rejected = 40, 2
        await sink.publish(first, fixes(10))
        await sink.flush()
        # a late, older epoch must not move the last fix back in time
        first.sentences = 41
        await sink.publish(first, [Fix(time=BASE - timedelta(hours=1), lat=1.0, lon=1.0)])
        # the terminal reconnects before the old connection times out
        second = session("T-9", Transport.TCP, "192.0.2.1:2000")
        await sink.session_opened(second)
        second.sentences = 5
        await sink.publish(second, fixes(1, start=BASE + timedelta(minutes=5), lat=48.0))
        first.rejected = 3
        await sink.session_closed(first)
        await sink.flush()
        async with TelemetryReader(db) as reader:
            mid = await reader.latest_state("T-9")
        await sink.session_closed(second)
        await sink.flush()
        async with TelemetryReader(db) as reader:
            end = await reader.latest_state("T-9")
            states = await reader.latest_states()
    assert mid is not None and end is not None
    assert mid.connected is True  # the second connection is still up
    assert mid.remote_addr == "192.0.2.1:2000" and mid.transport == "tcp"
    assert mid.last_fix_time == BASE + timedelta(minutes=5) and mid.lat == pytest.approx(48.0)
    assert mid.sentences == 46 and mid.rejected == 3 and mid.fixes == 12 and mid.connects == 2
    assert end.connected is False and end.disconnected_at is not None
    assert end.disconnected_at >= end.connected_at
    assert end.last_fix_time == BASE + timedelta(minutes=5)
    assert [s.terminal_id for s in states] == ["T-9"]


async def test_bad_terminal_ids_are_counted_not_fatal(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "OK")
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        for bad in ("X" * 65, "nul\x00id", ""):
            s = session(bad)
            await sink.session_opened(s)
            await sink.publish(s, fixes(2))
            await sink.session_closed(s)
        await sink.publish(session("OK"), [*fixes(2), Fix(time=BASE, lat=200.0, lon=0.0)])
        await sink.flush()
        m = sink.metrics
    assert m.rejected_rows == {"terminal_id": 6, "invalid_fix": 1}
    assert len(position_keys(db)) == 2 and count(db, "unknown_terminals") == 0


async def test_publish_after_close_is_refused(sqlite_db: DatabaseURL, tmp_path: Path) -> None:
    sink = Ingest(db=sqlite_db, config=config(tmp_path))
    with pytest.raises(IngestClosed):
        await sink.publish(session("T"), fixes(1))
    async with sink:
        pass
    with pytest.raises(IngestClosed):
        await sink.publish(session("T"), fixes(1))


def test_impossible_configs_fail_at_construction(tmp_path: Path) -> None:
    for bad in ({"batch_max_rows": 0}, {"queue_max_rows": 10, "batch_max_rows": 100},
                {"auto_register_state": "scrapped"}, {"spool_segment_bytes": 10,
                                                      "spool_max_bytes": 5},
                {"retry_initial": 5.0, "retry_max": 1.0}):
        with pytest.raises(ConfigError):
            config(tmp_path, **bad)


async def test_metrics_collector(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "T-1")
    registry = CollectorRegistry()
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        registry.register(sink.collector)
        await sink.publish(session("T-1"), fixes(7))
        await sink.publish(session("T-1"), fixes(2))
        await sink.publish(session("NOBODY"), fixes(1))
        await sink.flush()
        text = generate_latest(registry).decode()
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
             for line in text.splitlines() if line and not line.startswith("#")}
    assert lines["fieldgate_telemetry_fixes_stored_total"] == 7
    assert lines["fieldgate_telemetry_duplicates_ignored_total"] == 2
    assert lines["fieldgate_telemetry_unknown_terminal_fixes_total"] == 1
    assert lines["fieldgate_telemetry_batches_written_total"] >= 1
    assert lines["fieldgate_telemetry_batch_rows_count"] >= 1
    assert lines['fieldgate_telemetry_batch_rows_bucket{le="+Inf"}'] >= 1
    assert lines["fieldgate_telemetry_commit_seconds_count"] >= 1
    assert lines["fieldgate_telemetry_receive_to_commit_seconds_count"] == 10
    assert lines["fieldgate_telemetry_spool_batches"] == 0
    assert lines["fieldgate_telemetry_database_up"] == 1
    assert lines["fieldgate_telemetry_registered_terminals"] == 1


async def test_postgres_store_direct_copy_falls_back_on_duplicates(pg_db: DatabaseURL,
                                                                   tmp_path: Path) -> None:
    import uuid

    from telemetry.batch import Batch
    from telemetry.store.postgres import DIRECT_RETRY_AFTER, PostgresStore

    def batch(fs) -> Batch:
        return Batch(batch_id=uuid.uuid4().hex, chunks=[("T-1", datetime.now(UTC), fs)],
                     rows=len(fs))

    store = PostgresStore(pg_db, config(tmp_path))
    try:
        first = await store.write(batch(fixes(10)))
        assert (first.offered, first.inserted) == (10, 10) and store.direct_batches == 1
        again = await store.write(batch(fixes(15)))  # 10 duplicates: COPY fails, staging path
        assert (again.offered, again.inserted) == (15, 5) and store.direct_fallbacks == 1
        for i in range(DIRECT_RETRY_AFTER):  # clean staging batches re-enable the direct path
            await store.write(batch(fixes(1, start=BASE + timedelta(hours=i + 1))))
        assert store.direct_batches == 1
        await store.write(batch(fixes(1, start=BASE + timedelta(days=1))))
        assert store.direct_batches == 2
    finally:
        await store.close()
    assert len(position_keys(pg_db, "T-1")) == 15 + DIRECT_RETRY_AFTER + 1


async def test_the_newest_status_is_kept_beside_the_last_fix(db: DatabaseURL,
                                                            tmp_path: Path) -> None:
    from devices.records import StatusReport
    from devices.status import Alarm, DeviceStatus

    register(db, "13900000201", "NMEA-1")
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        s = session("13900000201", "jt808")  # status words come with binary protocols
        await sink.session_opened(s)
        on = DeviceStatus(acc=True)
        await sink.publish(s, [Fix(time=BASE, lat=31.0, lon=121.0, status=on)])
        await sink.flush()
        cut = DeviceStatus(acc=False, alarms=frozenset({Alarm.POWER_CUT, Alarm.ANTENNA_OPEN}))
        await sink.publish(s, [StatusReport(None, "13900000201", cut)])
        nmea = session("NMEA-1")
        await sink.session_opened(nmea)
        await sink.publish(nmea, fixes(2))
        await sink.flush()
        async with TelemetryReader(db) as reader:
            state = await reader.latest_state("13900000201")
            plain = await reader.latest_state("NMEA-1")
        # a later batch without a status leaves it as it was
        await sink.publish(s, fixes(1, start=BASE + timedelta(minutes=1)))
        await sink.flush()
        async with TelemetryReader(db) as reader:
            later = await reader.latest_state("13900000201")
    assert state is not None and plain is not None and later is not None
    assert state.acc is False and state.alarms == "antenna_open,power_cut"
    assert state.status_at is not None and state.last_fix_time == BASE  # the fix stays
    assert (plain.acc, plain.alarms, plain.status_at) == (None, None, None)
    assert (later.acc, later.alarms, later.status_at) == (False, "antenna_open,power_cut",
                                                          state.status_at)


async def test_the_writer_takes_the_next_batch_while_it_commits_one_in_order(
        pg_db: DatabaseURL, tmp_path: Path) -> None:
    """With PostgreSQL on its own thread, the ingest hands over the next batch before the last
    one is committed (it waits in that thread, not in the gateway's loop); they are still
    written one at a time, in the order sealed, each exactly once."""
    from telemetry.store.postgres import PostgresStore
    from telemetry.store.threaded import ThreadedStore

    class Watched(ThreadedStore):
        def __init__(self, store: PostgresStore) -> None:
            super().__init__(store)
            self.handed: list[str] = []
            self.written: list[str] = []
            self.at_once = 0
            self._open = 0

        async def write(self, batch):  # type: ignore[no-untyped-def]
            self.handed.append(batch.batch_id)
            self._open += 1
            self.at_once = max(self.at_once, self._open)
            try:
                result = await super().write(batch)
            finally:
                self._open -= 1
            self.written.append(batch.batch_id)
            return result

    register(pg_db, "T-1")
    cfg = config(tmp_path, batch_max_rows=100, queue_max_rows=5000)
    store = Watched(PostgresStore(pg_db, cfg))
    track = fixes(3000)
    async with Ingest(db=pg_db, config=cfg, store=store) as sink:
        s1 = session("T-1")
        await sink.session_opened(s1)
        for i in range(0, 3000, 100):
            await sink.publish(s1, track[i:i + 100])
        await sink.flush()
        m = sink.metrics
    assert store.at_once == 2
    assert store.written == store.handed and len(store.written) >= 30
    assert len(position_keys(pg_db, "T-1")) == 3000
    assert m.fixes_stored == 3000 and m.batches_spooled == 0
