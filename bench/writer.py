"""Telemetry writer rows/s against raw `psql \\copy` of the same rows, same table shape.

Three measurements on one fresh database of the local PostgreSQL, in one run:

- ``psql \\copy``: the rows as CSV, loaded by psql into a table created ``LIKE positions
  INCLUDING ALL`` (same columns, primary key and index): the machine's limit. Run before and
  after the writers; the ratios use the mean of the two.
- ``store``: telemetry.store.postgres.PostgresStore.write, batch after batch (encoding to
  binary COPY, COPY into positions in a savepoint, or the staging table + INSERT ... ON
  CONFLICT DO NOTHING after a duplicate; ledger row; commit).
- ``ingest``: the whole sink: Ingest.publish() of 10-fix reads from many terminals, batching,
  the writer task and latest-state upserts, until everything is committed.

Usage: python -m bench writer [--rows N] [--terminals N] [--batch N] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from devices.records import Fix
from fieldgate.db import upgrade
from fieldgate.dburl import DatabaseURL
from gateway.sink import SessionInfo, Transport
from telemetry.batch import Batch
from telemetry.config import IngestConfig
from telemetry.ingest import Ingest
from telemetry.pgcopy import COLUMNS
from telemetry.store.postgres import PostgresStore

DEFAULT_ADMIN = os.environ.get("FIELDGATE_BENCH_PG",
                               os.environ.get("FIELDGATE_TEST_PG",
                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
READ = 10  # fixes per publish() call, as a terminal's TCP read would carry a few epochs


def make_reads(n_rows: int, n_terminals: int) -> list[tuple[str, list[Fix]]]:
    """Reads of ``READ`` consecutive 1 Hz fixes, in arrival order: terminals take turns, as
    they do on a live gateway (so every measurement sees rows in the same, realistic order)."""
    per = -(-n_rows // n_terminals)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    tracks = []
    left = n_rows
    for t in range(n_terminals):
        k = min(per, left)
        left -= k
        lat0, lon0 = 45.0 + (t % 100) * 0.05, 7.0 + (t // 100) * 0.05
        tracks.append((f"BENCH-{t:06d}", [
            Fix(time=base + timedelta(seconds=i), lat=lat0 + i * 1e-5, lon=lon0 + i * 1e-5,
                speed_kn=20.0 + (i % 7), course=float((i * 3) % 360), alt_m=250.0 + (i % 11),
                sats=8 + i % 4, hdop=0.8 + (i % 5) / 10, fix_quality=1)
            for i in range(k)]))
    reads = []
    for i in range(0, per, READ):
        for tid, fixes in tracks:
            if i < len(fixes):
                reads.append((tid, fixes[i : i + READ]))
    return reads


def write_csv(path: Path, reads: list[tuple[str, list[Fix]]], received: datetime) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        recv = received.isoformat()
        for tid, fixes in reads:
            for f in fixes:
                w.writerow((tid, f.time.isoformat(), f.lat, f.lon, f.speed_kn, f.course,
                            f.alt_m, f.sats, f.hdop, f.fix_quality, recv))


def checkpoint(url: str) -> None:
    # start each run without a pending checkpoint's I/O
    with psycopg.connect(url, autocommit=True) as conn, contextlib.suppress(psycopg.Error):
        conn.execute("CHECKPOINT")


def run_psql_copy(url: str, path: Path, n: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE copy_target")
    checkpoint(url)
    started = time.perf_counter()
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc",
                    f"\\copy copy_target ({', '.join(COLUMNS)}) FROM '{path}' CSV"], check=True)
    elapsed = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM copy_target").fetchone()
        assert row is not None and row[0] == n
    return n / elapsed


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE positions, terminal_state, telemetry_batches")
    checkpoint(url)


async def run_store(db: DatabaseURL, cfg: IngestConfig, reads, batch_rows: int, n: int,
                    received: datetime) -> float:
    _truncate(db.conninfo)
    chunks = [(tid, received, fixes) for tid, fixes in reads]
    batches: list[Batch] = []
    current: list = []
    size = 0
    for chunk in chunks:
        current.append(chunk)
        size += len(chunk[2])
        if size >= batch_rows:
            batches.append(Batch(batch_id=uuid.uuid4().hex, chunks=current, rows=size))
            current, size = [], 0
    if current:
        batches.append(Batch(batch_id=uuid.uuid4().hex, chunks=current, rows=size))
    store = PostgresStore(db, cfg)
    try:
        await store.registered_ids()  # connect outside the timing
        started = time.perf_counter()
        inserted = 0
        for batch in batches:
            inserted += (await store.write(batch)).inserted
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    assert inserted == n, (inserted, n)
    return n / elapsed


async def run_ingest(db: DatabaseURL, cfg: IngestConfig, reads, n: int) -> tuple[float, Ingest]:
    _truncate(db.conninfo)
    now = datetime.now(UTC)
    sessions = {tid: SessionInfo(tid, Transport.TCP, f"127.0.0.1:{10000 + i}", now)
                for i, tid in enumerate(dict.fromkeys(tid for tid, _ in reads))}
    async with Ingest(db=db, config=cfg) as sink:
        started = time.perf_counter()
        for s in sessions.values():
            await sink.session_opened(s)
        for tid, fixes in reads:
            await sink.publish(sessions[tid], fixes)
        await sink.drain()
        elapsed = time.perf_counter() - started
    assert sink.metrics.fixes_stored == n, (sink.metrics.fixes_stored, n)
    return n / elapsed, sink


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench writer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000, help="fixes per batch (transaction)")
    parser.add_argument("--pg", default=DEFAULT_ADMIN, help="admin URL of the PostgreSQL server")
    parser.add_argument("--skip-ingest", action="store_true", help="measure the store only")
    args = parser.parse_args(argv)

    name = f"fgbench_{uuid.uuid4().hex[:10]}"
    base = args.pg.rpartition("/")[0]
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    db = DatabaseURL.parse(url)
    tmp = Path(tempfile.mkdtemp(prefix="fgbench-"))
    try:
        upgrade(db)
        reads = make_reads(args.rows, args.terminals)
        n = sum(len(f) for _, f in reads)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE copy_target (LIKE positions INCLUDING ALL)")
            with conn.cursor().copy("COPY terminals (terminal_id, state) FROM STDIN") as cp:
                for tid in dict.fromkeys(tid for tid, _ in reads):
                    cp.write_row((tid, "installed"))
        received = datetime.now(UTC)
        csv_path = tmp / "rows.csv"
        write_csv(csv_path, reads, received)
        cfg = IngestConfig(spool_dir=tmp / "spool", batch_max_rows=args.batch,
                           queue_max_rows=max(8 * args.batch, 100_000), flush_interval=0.05)
        print(f"rows={n} terminals={args.terminals} batch={args.batch} read={READ} fixes "
              f"server={base}/...")

        copy1 = run_psql_copy(url, csv_path, n)
        print(f"  psql \\copy (CSV)        {copy1:>10,.0f} rows/s")
        store = asyncio.run(run_store(db, cfg, reads, args.batch, n, received))
        print(f"  store (binary COPY)     {store:>10,.0f} rows/s")
        ingest = None
        if not args.skip_ingest:
            ingest, sink = asyncio.run(run_ingest(db, cfg, reads, n))
            h = sink.metrics.commit_seconds
            print(f"  ingest (publish..commit){ingest:>10,.0f} rows/s   "
                  f"batches={sink.metrics.batches_written} "
                  f"mean commit={h.sum / h.count * 1000:.0f} ms")
        copy2 = run_psql_copy(url, csv_path, n)
        print(f"  psql \\copy again        {copy2:>10,.0f} rows/s")
        limit = statistics.mean((copy1, copy2))
        print(f"ratio store/copy  = {store / limit:.2f}")
        if ingest is not None:
            print(f"ratio ingest/copy = {ingest / limit:.2f}")
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        tmp.rmdir()
    return 0
