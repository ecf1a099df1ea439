"""Nothing is lost when the database goes away: spool, backpressure, replay, restart, damage.

A private PostgreSQL cluster (tests.servers.PrivatePostgres) is stopped and started under the
running sink; the shared server on 5432 is never touched.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from fieldgate.dburl import DatabaseURL
from telemetry.ingest import Ingest
from telemetry.spool import HEAD
from tests import servers
from tests.telemetry.conftest import (
    BASE,
    config,
    count,
    eventually,
    fixes,
    position_keys,
    register,
    session,
    sql,
)

pytestmark = pytest.mark.postgres


def _stop(pg: servers.PrivatePostgres) -> asyncio.Future:
    return asyncio.to_thread(pg.stop)


def _start(pg: servers.PrivatePostgres) -> asyncio.Future:
    return asyncio.to_thread(pg.start)


class Publisher:
    """Five terminals publishing 5-fix reads continuously; remembers every key it sent."""

    def __init__(self, sink: Ingest) -> None:
        self.sink = sink
        self.sent: set[tuple[str, object]] = set()
        self.sessions = [session(f"T-{i}") for i in range(5)]
        self._next = 0
        self._stop = asyncio.Event()

    async def one_round(self) -> None:
        start = BASE + timedelta(seconds=self._next)
        self._next += 5
        for s in self.sessions:
            track = fixes(5, start=start)
            await self.sink.publish(s, track)
            self.sent.update((s.terminal_id, f.time) for f in track)

    async def run(self) -> None:
        while not self._stop.is_set():
            await self.one_round()
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()


def _stored(db: DatabaseURL) -> set[tuple[str, object]]:
    return {(tid, t) for tid, t in position_keys(db)}


async def test_database_outage_loses_nothing(private_pg, outage_db: DatabaseURL,
                                             tmp_path: Path) -> None:
    cfg = config(tmp_path, batch_max_rows=200)
    async with Ingest(db=outage_db, config=cfg) as sink:
        pub = Publisher(sink)
        task = asyncio.create_task(pub.run(), name="test-publisher")
        try:
            await eventually(lambda: sink.metrics.fixes_stored >= 300, what="first commits")
            await _stop(private_pg)
            await eventually(lambda: sink.spool_depth()[0] >= 3, what="the spool to grow")
            assert not sink.database_up
            await _start(private_pg)
            await eventually(lambda: sink.metrics.batches_replayed >= 3, what="replay")
        finally:
            pub.stop()
            await task
        await sink.drain()
        m = sink.metrics
    assert m.batches_spooled >= 3 and m.db_errors >= 1
    assert sink.spool_depth() == (0, 0)
    stored = _stored(outage_db)
    assert stored == pub.sent  # every fix, each once (the primary key forbids a second)
    assert count(outage_db, "positions") == len(pub.sent)
    # terminal_state counted every fix exactly once across the outage, too
    fixes_counted = sql(outage_db, "SELECT sum(fixes) FROM terminal_state")[0][0]
    assert fixes_counted == len(pub.sent)


async def test_full_spool_blocks_publish_until_the_database_returns(
        private_pg, outage_db: DatabaseURL, tmp_path: Path) -> None:
    cfg = config(tmp_path, batch_max_rows=100, queue_max_rows=300, spool_max_bytes=40_000,
                 spool_segment_bytes=10_000)
    await _stop(private_pg)
    async with Ingest(db=outage_db, config=cfg) as sink:
        pub = Publisher(sink)
        blocked = None
        for _ in range(200):
            attempt = asyncio.create_task(pub.one_round())
            done, _ = await asyncio.wait({attempt}, timeout=0.5)
            if not done:
                blocked = attempt
                break
        assert blocked is not None, "publish never waited although the spool was full"
        depth = sink.spool_depth()
        assert depth[1] > 20_000  # the spool filled up to (about) its bound...
        await asyncio.sleep(0.2)
        assert not blocked.done() and sink.spool_depth() == depth  # ...and nothing moved
        assert sink.metrics.publish_waits >= 1
        await _start(private_pg)
        await asyncio.wait_for(blocked, 30)
        await sink.drain()
    assert _stored(outage_db) == pub.sent


async def test_leftover_spool_is_replayed_at_start_exactly_once(
        private_pg, outage_db: DatabaseURL, tmp_path: Path) -> None:
    cfg = config(tmp_path, batch_max_rows=50)
    await _stop(private_pg)
    async with Ingest(db=outage_db, config=cfg) as sink:  # the database is away all along
        pub = Publisher(sink)
        for _ in range(12):
            await pub.one_round()
            await sink.flush()
        s = pub.sessions[0]
        await sink.session_opened(s)
        s.sentences = 77
        await sink.session_closed(s)
    assert sorted(cfg.spool_dir.glob("*.seg")), "nothing was left in the spool"
    copy = tmp_path / "spool-copy"
    shutil.copytree(cfg.spool_dir, copy, ignore=shutil.ignore_patterns(".lock"))

    await _start(private_pg)
    async with Ingest(db=outage_db, config=cfg) as sink:
        await sink.drain()
        first = sink.metrics
    assert _stored(outage_db) == pub.sent
    assert first.batches_replayed >= 1 and first.batches_already_applied == 0
    state = sql(outage_db, "SELECT fixes, sentences, connects FROM terminal_state "
                           "WHERE terminal_id = 'T-0'")

    # a crash between commit and spool deletion: the same spool comes back once more
    shutil.rmtree(cfg.spool_dir)
    shutil.copytree(copy, cfg.spool_dir)
    async with Ingest(db=outage_db, config=cfg) as sink:
        await sink.drain()
        again = sink.metrics
    assert again.batches_already_applied == first.batches_replayed
    assert again.fixes_stored == 0 and again.batches_replayed == 0
    assert _stored(outage_db) == pub.sent
    # counters were not added twice
    assert sql(outage_db, "SELECT fixes, sentences, connects FROM terminal_state "
                          "WHERE terminal_id = 'T-0'") == state == [(60, 77, 1)]


async def test_damaged_spool_keeps_the_good_batches(private_pg, outage_db: DatabaseURL,
                                                    tmp_path: Path) -> None:
    cfg = config(tmp_path, batch_max_rows=25)
    await _stop(private_pg)
    batches: list[set] = []
    async with Ingest(db=outage_db, config=cfg) as sink:
        pub = Publisher(sink)
        for _ in range(3):
            before = set(pub.sent)
            await pub.one_round()
            await sink.flush()
            batches.append(pub.sent - before)
    (segment,) = sorted(cfg.spool_dir.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    frames, pos = 0, 0
    while pos < len(data):
        frames += 1
        pos += HEAD.size + int.from_bytes(data[pos + 4 : pos + 8], "big")
    # damage the second frame's payload (round 1's fixes): find it by walking the headers
    first_len = int.from_bytes(data[4:8], "big")
    second = HEAD.size + first_len
    data[second + HEAD.size + 100] ^= 0x55
    segment.write_bytes(bytes(data))

    await _start(private_pg)
    async with Ingest(db=outage_db, config=cfg) as sink:
        await sink.drain()
        m = sink.metrics
        assert sink.spool_corrupt_regions() == 1
    assert _stored(outage_db) == batches[0] | batches[2]  # the good batches, nothing else
    # every frame but the damaged one (latest-state deltas may ride in frames of their own)
    assert m.batches_replayed == frames - 1
    assert (cfg.spool_dir / "quarantine" / segment.name).exists()


async def test_sqlite_locked_by_another_writer_spools_then_replays(
        sqlite_db: DatabaseURL, tmp_path: Path) -> None:
    register(sqlite_db, "T-0")
    cfg = config(tmp_path, statement_timeout=0.1)
    blocker = sqlite3.connect(sqlite_db.sqlite_path, isolation_level=None)
    try:
        async with Ingest(db=sqlite_db, config=cfg) as sink:
            blocker.execute("BEGIN EXCLUSIVE")  # e.g. a long migration or a stuck tool
            track = fixes(40)
            for i in range(0, 40, 10):
                await sink.publish(session("T-0"), track[i : i + 10])
                await sink.flush()
            assert sink.metrics.batches_spooled >= 1 and sink.spool_depth()[0] >= 1
            blocker.execute("ROLLBACK")
            await sink.drain()
            m = sink.metrics
    finally:
        blocker.close()
    assert len(position_keys(sqlite_db, "T-0")) == 40
    assert m.fixes_stored == 40 and m.batches_replayed >= 1
