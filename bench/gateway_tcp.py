"""Gateway TCP path: socket-to-commit latency at a fixed rate, and raw throughput vs the decoder.

Two measurements, the terminals always in a separate process (one connection each):

- ``latency`` (default): T terminals send one epoch (RMC+GGA) every T/RATE seconds, each stamped
  with the wall-clock time it is written to the socket; the gateway (uvloop) hands them to the
  real sink (``telemetry.ingest.Ingest``) on PostgreSQL (a fresh database on the local server;
  ``--db`` for another, ``sqlite:///...`` works too). The store is wrapped so that, right after
  each commit, every fix of the batch yields ``commit time - socket write time``. Reported:
  p50/p90/p99/max after a warm-up, the committed rate, and p99 against the 250 ms target.
- ``throughput``: the terminals send pre-encoded epochs as fast as TCP takes them; the gateway
  hands records to a counting sink. Baseline in the same process: the decoder alone
  (``NmeaStream.feed``) on the same bytes. Reported: fixes/s of both and their ratio (what the
  gateway's sockets, sessions and per-read publish cost on top of decoding).

Usage: python -m bench gateway_tcp [--mode latency|throughput] [--rate N] [--terminals N]
                                   [--seconds S] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

from bench.gateway_idle import raise_nofile
from fieldgate import gcpolicy

DEFAULT_ADMIN = os.environ.get("FIELDGATE_BENCH_PG",
                               os.environ.get("FIELDGATE_TEST_PG",
                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
TARGET_P99 = 0.250


def terminal_id(i: int) -> str:
    return f"BENCHTCP{i:05d}"


# -- terminals (child process) ---------------------------------------------------------------

async def _paced(port: int, terminals: int, rate: float, seconds: float) -> None:
    """Each terminal writes one epoch every terminals/rate seconds, stamped with 'now'."""
    from devices.nmea import encode
    from devices.records import Fix

    loop = asyncio.get_running_loop()
    socks = []
    for i in range(terminals):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode.pgid(terminal_id(i)))
        socks.append(writer)
    print("connected", flush=True)
    tick = 0.01
    per_tick = rate * tick
    owed = 0.0
    nxt = 0
    start = loop.time()
    deadline = start + seconds
    step = 0
    while loop.time() < deadline:
        owed += per_tick
        n = int(owed)
        owed -= n
        now = datetime.now(UTC)
        for _ in range(n):
            i = nxt
            nxt = (nxt + 1) % terminals
            # the centisecond NMEA time must move on between two epochs of one terminal: the
            # pacing guarantees it (terminals/rate >= 10 ms is checked by the parent)
            fix = Fix(now, 45 + (i % 100) * 1e-3, 7 + (i // 100) * 1e-3, 10.0, 90.0, 300.0, 8,
                      1.0, 1)
            socks[i].write(encode.epoch(fix))
        step += 1
        await asyncio.sleep(max(0.0, start + step * tick - loop.time()))
    for w in socks:
        await w.drain()
        w.close()
    print("done", flush=True)


async def _blast(port: int, terminals: int, data: list[bytes]) -> None:
    async def one(i: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data[i])
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(one(i) for i in range(terminals)))


def _blast_data(terminals: int, per_terminal: int) -> list[bytes]:
    from devices.nmea import encode
    from devices.records import Fix

    t0 = datetime(2026, 11, 29, tzinfo=UTC)
    out = []
    for i in range(terminals):
        parts = [encode.pgid(terminal_id(i))]
        for k in range(per_terminal):
            parts.append(encode.epoch(Fix(t0 + timedelta(seconds=k), 45 + i * 1e-4, 7.0, 10.0,
                                          90.0, 300.0, 8, 1.0, 1)))
        out.append(b"".join(parts))
    return out


def _client(args: argparse.Namespace) -> int:
    import uvloop

    raise_nofile(args.terminals + 100)
    if args.mode == "latency":
        uvloop.run(_paced(args.client, args.terminals, args.rate, args.seconds))
    else:
        uvloop.run(_blast(args.client, args.terminals,
                          _blast_data(args.terminals, args.per_terminal)))
    return 0


def _spawn(args: argparse.Namespace, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "gateway_tcp", "--client", str(port), "--mode", args.mode,
         "--terminals", str(args.terminals), "--rate", str(args.rate), "--seconds",
         str(args.seconds), "--per-terminal", str(args.per_terminal)],
        stdout=subprocess.PIPE, text=True)


# -- latency -----------------------------------------------------------------------------------

class LatencyStore:
    """The real store; after each commit, ``commit time - socket write time`` per fix."""

    def __init__(self, inner) -> None:
        self.inner = inner
        # (commit wall time, latency) pairs, flat in an array: a list of millions of tuples
        # would make the collector's full passes (and so the latency measured) much longer
        self.samples = array("d")

    async def close(self) -> None:
        await self.inner.close()

    async def registered_ids(self) -> set[str]:
        return await self.inner.registered_ids()

    async def prune_ledger(self, before: datetime) -> int:
        return await self.inner.prune_ledger(before)

    async def write(self, batch):
        result = await self.inner.write(batch)
        now = time.time()
        extend = self.samples.extend
        for _tid, _received, fixes in batch.chunks:
            for fix in fixes:
                extend((now, now - fix.time.timestamp()))
        return result


def _register(db, n: int) -> None:
    rows = [(terminal_id(i), "installed") for i in range(n)]
    if db.is_postgresql:
        import psycopg

        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            conn.cursor().executemany(
                "INSERT INTO terminals (terminal_id, state) VALUES (%s, %s)", rows)
    else:
        import sqlite3

        lite = sqlite3.connect(db.sqlite_path)
        with lite:
            lite.executemany("INSERT INTO terminals (terminal_id, state) VALUES (?, ?)", rows)
        lite.close()


async def _latency(args: argparse.Namespace, db) -> dict:
    from gateway import Gateway, GatewayConfig, TcpConfig, TcpLimits
    from telemetry import Ingest, IngestConfig
    from telemetry.store import open_store

    config = GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0, limits=TcpLimits(
        max_connections=args.terminals + 100, idle_timeout=600)))
    with tempfile.TemporaryDirectory(prefix="fg-bench-tcp-") as tmp:
        cfg = IngestConfig(spool_dir=Path(tmp) / "spool", spool_fsync=False)
        async with contextlib.AsyncExitStack() as stack:
            store: CountingSink | LatencyStore
            sink: CountingSink | Ingest
            ingest: Ingest | None = None
            if db is None:  # --sink memory: the gateway alone, socket-to-publish
                sink = store = CountingSink(stamp=True)
            else:
                store = LatencyStore(open_store(db, cfg))
                sink = await stack.enter_async_context(Ingest(db=db, config=cfg, store=store))
                ingest = sink
            gateway = await stack.enter_async_context(Gateway(config=config, sink=sink))
            if args.gc_freeze:  # as the gateway's process does
                gcpolicy.settle()
            assert gateway.tcp is not None
            child = _spawn(args, gateway.tcp.port)
            loop = asyncio.get_running_loop()
            assert child.stdout is not None
            await loop.run_in_executor(None, child.stdout.readline)  # connected
            started = time.time()
            cpu0 = time.process_time()
            with GcWatch() as gcw:
                await loop.run_in_executor(None, child.wait)
            wall = time.time() - started
            cpu = time.process_time() - cpu0
            # the last fixes: give the writer its flush interval
            deadline = time.monotonic() + 30
            while gateway.tcp.connections and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            writer = ""
            if ingest is not None:
                m = ingest.metrics
                rows = m.batch_rows.sum / max(1, m.batch_rows.count)
                writer = (f"{m.batches_written} batches, {rows:,.0f} rows on average, "
                          "commit mean "
                          f"{m.commit_seconds.sum / max(1, m.commit_seconds.count) * 1000:.0f} ms"
                          f" (p99 <= {m.commit_seconds.quantile(0.99) * 1000:.0f} ms), "
                          f"publish waits {m.publish_waits}")
        samples = store.samples
    return {"samples": samples, "started": started, "wall": wall, "cpu": cpu,
            "gc": gcw.summary(), "writer": writer}


class GcWatch:
    """Longest garbage-collector pause per generation while installed (pauses stop the loop)."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            gen = info["generation"]
            self.count[gen] += 1
            self.longest[gen] = max(self.longest[gen], time.perf_counter() - self._t)

    def __enter__(self) -> Self:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        return ", ".join(f"gen{g} x{self.count[g]} longest {self.longest[g] * 1000:.0f} ms"
                         for g in range(3))


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _latency_main(args: argparse.Namespace) -> int:
    import uvloop

    from fieldgate.db import upgrade
    from fieldgate.dburl import DatabaseURL

    if args.terminals / args.rate < 0.01:
        print("each terminal would send more than 100 epochs/s: raise --terminals",
              file=sys.stderr)
        return 2
    created = None
    if args.sink == "memory":
        r = uvloop.run(_latency(args, None))
        return _report(args, r, "counting sink in memory: socket-to-publish")
    if args.db:
        db = DatabaseURL.parse(args.db)
    else:
        import psycopg

        created = f"fg_bench_tcp_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(DEFAULT_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created}"')
        db = DatabaseURL.parse(DEFAULT_ADMIN.rsplit("/", 1)[0] + "/" + created)
    try:
        upgrade(db)
        _register(db, args.terminals)
        r = uvloop.run(_latency(args, db))
    finally:
        if created:
            import psycopg

            with psycopg.connect(DEFAULT_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
    where = f"{db.kind} ({'fresh database' if created else db}): socket-to-commit"
    return _report(args, r, where)


def _report(args: argparse.Namespace, r: dict, where: str) -> int:
    warm = r["started"] + args.warmup
    flat = r["samples"]
    steady = sorted(flat[i + 1] for i in range(0, len(flat), 2) if flat[i] >= warm)
    total = len(flat) // 2
    if not steady:
        print("no samples after the warm-up", file=sys.stderr)
        return 1
    p99 = _pct(steady, 0.99)
    print(f"gateway_tcp latency: {args.terminals} terminals, {args.rate:,.0f} fixes/s offered "
          f"for {args.seconds:g} s, {where}")
    print(f"  committed: {total:,} fixes, {total / r['wall']:,.0f} fixes/s; gateway process CPU "
          f"{r['cpu'] / r['wall'] * 100:.0f}% of one core")
    print(f"  latency after {args.warmup:g} s warm-up ({len(steady):,} fixes): "
          f"p50 {_pct(steady, .5) * 1000:.0f} ms, p90 {_pct(steady, .9) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {steady[-1] * 1000:.0f} ms, "
          f"mean {statistics.fmean(steady) * 1000:.0f} ms")
    print(f"  ratio p99 / 250 ms target: {p99 / TARGET_P99:.2f} "
          f"({'within' if p99 <= TARGET_P99 else 'OVER'} the target)")
    print(f"  gateway process garbage collections: {r['gc']}")
    if r["writer"]:
        print(f"  telemetry writer: {r['writer']}")
    print("  (NMEA times have centisecond resolution: latencies read up to 10 ms high)")
    return 0


# -- throughput ----------------------------------------------------------------------------------

class CountingSink:
    """Counts records; with ``stamp`` also records ``publish time - socket write time``."""

    def __init__(self, *, stamp: bool = False) -> None:
        self.records = 0
        self.closed = 0
        self.stamp = stamp
        self.samples = array("d")

    async def session_opened(self, session) -> None:
        pass

    async def publish(self, session, records) -> None:
        self.records += len(records)
        if self.stamp:
            now = time.time()
            extend = self.samples.extend
            for r in records:
                extend((now, now - r.time.timestamp()))

    async def session_closed(self, session) -> None:
        self.closed += 1


async def _throughput(args: argparse.Namespace) -> dict:
    from gateway import Gateway, GatewayConfig, TcpConfig, TcpLimits

    sink = CountingSink()
    config = GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0, limits=TcpLimits(
        max_connections=args.terminals + 100)))
    async with Gateway(config=config, sink=sink) as gateway:
        assert gateway.tcp is not None
        loop = asyncio.get_running_loop()
        child = _spawn(args, gateway.tcp.port)
        # the child encodes its data before connecting: time from the first connection
        while gateway.tcp.metrics.connections_total == 0:
            await asyncio.sleep(0.001)
        started = time.perf_counter()
        cpu0 = time.process_time()
        await loop.run_in_executor(None, child.wait)
        while sink.closed < args.terminals:
            await asyncio.sleep(0.001)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
    return {"records": sink.records, "wall": wall, "cpu": cpu}


def _decoder_baseline(data: list[bytes], chunk: int) -> tuple[int, float]:
    from devices.nmea import NmeaStream

    started = time.perf_counter()
    n = 0
    for blob in data:
        stream = NmeaStream(eager=True)
        for i in range(0, len(blob), chunk):
            n += len(stream.feed(blob[i:i + chunk]))
        n += len(stream.flush())
    return n, time.perf_counter() - started


def _throughput_main(args: argparse.Namespace) -> int:
    import uvloop

    data = _blast_data(args.terminals, args.per_terminal)
    n_dec, t_dec = _decoder_baseline(data, 65536)
    r = uvloop.run(_throughput(args))
    n_dec2, t_dec2 = _decoder_baseline(data, 65536)
    dec_rate = (n_dec + n_dec2) / (t_dec + t_dec2)
    gw_rate = r["records"] / r["wall"]
    gw_cpu_rate = r["records"] / r["cpu"]
    print(f"gateway_tcp throughput: {args.terminals} connections x {args.per_terminal} epochs "
          f"({sum(map(len, data)) / 1e6:.1f} MB), counting sink")
    print(f"  decoder alone (baseline, same bytes, 64 KiB feeds): {dec_rate:12,.0f} fixes/s")
    print(f"  gateway, wall clock:                              {gw_rate:12,.0f} fixes/s "
          f"({r['records']:,} records in {r['wall']:.2f} s)")
    print(f"  gateway, per CPU second of the gateway process:   {gw_cpu_rate:12,.0f} fixes/s")
    print(f"  ratio gateway (CPU) / decoder alone: {gw_cpu_rate / dec_rate:.2f}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench gateway_tcp",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("latency", "throughput"), default="latency")
    parser.add_argument("--rate", type=float, default=20_000, help="fixes/s offered (latency)")
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--per-terminal", type=int, default=500, help="epochs (throughput)")
    parser.add_argument("--db", help="database (latency; default: fresh local PostgreSQL)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="leave the collector as Python sets it (fieldgate gateway "
                             "freezes startup objects and spaces its passes: "
                             "fieldgate/gcpolicy.py)")
    parser.add_argument("--sink", choices=("ingest", "memory"), default="ingest",
                        help="latency: the real sink (to commit) or a counting one (to publish)")
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client is not None:
        return _client(args)
    raise_nofile(args.terminals + 200)
    if args.mode == "latency":
        return _latency_main(args)
    return _throughput_main(args)
