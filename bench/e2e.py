"""End to end: terminals → gateway process (TCP, MQTT) → committed rows, vs raw `psql \\copy`.

One run, one fresh database on the local PostgreSQL:

- baseline: the very rows the terminals will send (decoded from the load plan), as CSV, loaded by
  ``psql \\copy`` into a table created ``LIKE positions INCLUDING ALL`` (same columns, primary
  key and index): the machine's limit for these rows. Measured before and after the gateway
  runs; the ratios use the mean.
- ``tcp``: ``fieldgate gateway`` as its own process (what operators run), N terminals each on
  its own TCP connection (``$PGID`` then pre-encoded RMC+GGA epochs, flat out, from this
  process: simulators' load mode); the clock runs from the first byte sent until
  ``count(*) FROM positions`` reaches every fix of the plan.
- ``mqtt``: the same through a private Mosquitto broker: the gateway subscribes to
  ``fieldgate/+/nmea`` at QoS 1, the load publishes ``--epochs-per-message`` epochs per
  message at QoS 1.

- ``jt808``: the same fixes as JT/T 808 terminals send them: each connection registers, then
  sends one 0x0200 location frame per fix flat out, reading the gateway's 0x8001
  acknowledgements as they come (a terminal that did not would stall on a full socket). The
  baseline then loads the rows those frames decode to (coordinates to 1e-6 degree, speed to
  0.1 km/h), so both sides store the same rows.
- ``gt06``: the same as GT06 terminals send them: each connection logs in with its IMEI, then
  sends one 0x12 GPS+LBS packet per fix flat out (GT06 answers logins and status packets, not
  positions); the baseline loads the rows those packets decode to (coordinates to 1/1,800,000
  of a minute, whole km/h, whole degrees).

Every fix must arrive exactly once: the run fails if the table ends with a different count.

Usage: python -m bench e2e [--transport tcp|mqtt|jt808|gt06|both] [--terminals N] [--fixes N]
                           [--epochs-per-message N] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.writer import checkpoint, run_psql_copy
from devices.nmea import NmeaStream
from devices.records import Fix
from fieldgate.db import upgrade
from fieldgate.dburl import DatabaseURL
from simulators import LoadPlan, send_mqtt, send_tcp
from tests.servers import Mosquitto, free_port

DEFAULT_ADMIN = os.environ.get("FIELDGATE_BENCH_PG",
                               os.environ.get("FIELDGATE_TEST_PG",
                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
TARGET = 0.30
#: per transport where it differs (issue 9 §4: TCP at least 0.50 of the copy limit, MQTT
#: QoS 1 0.35; issue 8: JT/T 808 0.40)
TARGETS = {"tcp": 0.50, "mqtt": 0.35, "jt808": 0.40}
TIMEOUT = float(os.environ.get("FIELDGATE_BENCH_TIMEOUT", "600"))


def plan_rows_csv(plan: LoadPlan, path: Path) -> int:
    """The rows the gateway must store, decoded from the plan's bytes, as CSV for psql."""
    received = datetime.now(UTC).isoformat()
    n = 0
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        for tid, stream_bytes in zip(plan.terminal_ids, plan.streams, strict=True):
            stream = NmeaStream(eager=False, terminal=tid)
            for f in stream.feed(stream_bytes) + stream.flush():
                if not isinstance(f, Fix):
                    continue  # an epoch without a fix is no row in positions
                out.writerow((tid, f.time.isoformat(), f.lat, f.lon, f.speed_kn, f.course,
                              f.alt_m, f.sats, f.hdop, f.fix_quality, received))
                n += 1
    return n


def plan_fixes(stream_bytes: bytes) -> list[Fix]:
    """The fixes of one terminal's stream of the plan (what the binary terminals send)."""
    nmea = NmeaStream(eager=False)
    return [f for f in nmea.feed(stream_bytes) + nmea.flush() if isinstance(f, Fix)]


def jt808_streams(plan: LoadPlan) -> tuple[list[str], list[bytes]]:
    """Per terminal, a phone number and its fixes as JT/T 808 frames (registration first)."""
    from simulators.jt808 import Jt808Device

    phones, streams = [], []
    for i, stream_bytes in enumerate(plan.streams):
        phone = f"139{i:08d}"
        device = Jt808Device(phone)
        frames = [device.register(), device.authenticate()]
        frames += [device.location(time=f.time, lat=f.lat, lon=f.lon,
                                   speed_kmh=(f.speed_kn or 0.0) * 1.852,
                                   course=round(f.course or 0.0) % 360,
                                   alt_m=round(f.alt_m or 0.0), sats=f.sats)
                   for f in plan_fixes(stream_bytes)]
        phones.append(phone)
        streams.append(b"".join(frames))
    return phones, streams


def gt06_streams(plan: LoadPlan) -> tuple[list[str], list[bytes]]:
    """Per terminal, an IMEI and its fixes as GT06 GPS+LBS packets (login first)."""
    from simulators.gt06 import Gt06Device

    imeis, streams = [], []
    for i, stream_bytes in enumerate(plan.streams):
        imei = f"8641203{i:08d}"
        device = Gt06Device(imei)
        packets = [device.login()]
        packets += [device.location(time=f.time, lat=f.lat, lon=f.lon,
                                    speed_kmh=min(255, round((f.speed_kn or 0.0) * 1.852)),
                                    course=round(f.course or 0.0) % 360,
                                    sats=min(15, f.sats or 0))
                    for f in plan_fixes(stream_bytes)]
        imeis.append(imei)
        streams.append(b"".join(packets))
    return imeis, streams


def binary_rows_csv(protocol: str, ids: list[str], streams: list[bytes], path: Path) -> int:
    """The rows the gateway must store from JT/T 808 frames or GT06 packets, as CSV for
    psql (decoded by the protocol's own stream, as the gateway will)."""
    from devices.protocols import PROTOCOLS

    received = datetime.now(UTC).isoformat()
    n = 0
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        for tid, data in zip(ids, streams, strict=True):
            proto = PROTOCOLS[protocol]
            for f in proto.stream(None, None, proto.limit, None).feed(data):
                if isinstance(f, Fix):
                    out.writerow((tid, f.time.isoformat(), f.lat, f.lon, f.speed_kn,
                                  f.course, f.alt_m, f.sats, f.hdop, f.fix_quality, received))
                    n += 1
    return n


async def send_binary(streams: list[bytes], host: str, port: int,
                      chunk: int = 64 * 1024) -> None:
    """Each terminal on its own connection, flat out, reading the acknowledgements."""

    async def one(data: bytes) -> None:
        reader, writer = await asyncio.open_connection(host, port)

        async def drain_replies() -> None:
            while await reader.read(65536):
                pass

        replies = asyncio.create_task(drain_replies())
        for i in range(0, len(data), chunk):
            writer.write(data[i:i + chunk])
            await writer.drain()
        await asyncio.sleep(0)
        replies.cancel()
        writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await replies
            await writer.wait_closed()

    await asyncio.gather(*(one(data) for data in streams))


def prepare(url: str, plan: LoadPlan, extra_ids: list[str] | None = None) -> None:
    upgrade(DatabaseURL.parse(url))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE copy_target (LIKE positions INCLUDING ALL)")
        with conn.cursor().copy("COPY terminals (terminal_id, state) FROM STDIN") as copy:
            for tid in [*plan.terminal_ids, *(extra_ids or [])]:
                copy.write_row((tid, "installed"))


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE positions, terminal_state, telemetry_batches")
    checkpoint(url)


class GatewayProcess:
    """``fieldgate -v gateway`` in its own process; ready once its log says it runs and, for
    MQTT, that it subscribed: a message published before the subscription exists is not the
    gateway's to receive (clean session), and a short run could finish before it. Its log is
    read on a thread for the whole run, so a chatty gateway never blocks on a full pipe."""

    def __init__(self, db_url: str, spool: Path, transport_args: list[str]) -> None:
        #: its /metrics, read for the ingest queue's depth during the run (QueueWatch)
        self.metrics_port = free_port()
        self.argv = [sys.executable, "-m", "fieldgate", "-v", "gateway", "--db", db_url,
                     "--spool-dir", str(spool), "--metrics", f"127.0.0.1:{self.metrics_port}",
                     *transport_args]
        self.ready_marks = ["gateway running"]
        if "--mqtt" in transport_args:
            self.ready_marks.append("MQTT subscribed")
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []
        self._ready = threading.Event()

    def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        waiting = list(self.ready_marks)
        for line in self.proc.stderr:
            self.log.append(line)
            waiting = [mark for mark in waiting if mark not in line]
            if not waiting:
                self._ready.set()

    def __enter__(self) -> GatewayProcess:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read_log, name="gateway-log", daemon=True).start()
        if not self._ready.wait(30):
            self.__exit__()
            raise RuntimeError(f"the gateway did not start: {self.argv}\n"
                               + "".join(self.log[-20:]))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_TICK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: str | int, children: bool = False) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15 if children else 13])


def _postgres_ticks() -> int:
    """CPU of every PostgreSQL process, with what the postmaster's exited children used."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as fh:
                if fh.read().strip() != "postgres":
                    continue
            total += _ticks(entry.name, children=True)
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) ticks of the whole machine, all cores."""
    with open("/proc/stat") as fh:
        fields = [int(f) for f in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class CpuSplit:
    """Where the machine's CPU went during a run (issue 9 §4), in cores: the gateway
    process(es), this process (the load generator and the clock), every PostgreSQL process
    (the writer's backend, the clock's count(*), checkpoints, WAL), the rest of the machine,
    and what stayed idle."""

    def __init__(self, gateways: list[GatewayProcess]) -> None:
        self.pids = [gw.proc.pid for gw in gateways if gw.proc is not None]

    def _sample(self) -> tuple[float, int, int, int, tuple[int, int]]:
        return (time.perf_counter(), sum(_ticks(p) for p in self.pids), _ticks("self"),
                _postgres_ticks(), _machine_ticks())

    def __enter__(self) -> CpuSplit:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end = self._sample()

    def cores(self) -> dict[str, float]:
        (t0, g0, l0, p0, (b0, a0)), (t1, g1, l1, p1, (b1, a1)) = self.start, self.end
        wall = (t1 - t0) * _TICK
        parts = {"gateway": (g1 - g0) / wall, "load": (l1 - l0) / wall,
                 "postgres": (p1 - p0) / wall}
        n_cores = (a1 - a0) / wall
        busy = (b1 - b0) / wall
        parts["other"] = max(0.0, busy - sum(parts.values()))
        parts["idle"] = max(0.0, n_cores - busy)
        return parts


QUEUE_METRIC = "fieldgate_telemetry_queue_rows"


def _queue_rows(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith(QUEUE_METRIC + " "):
                    return float(line.rsplit(" ", 1)[1])
    except OSError:
        return None
    return None


class QueueWatch:
    """The gateways' ingest queues (fixes held in memory, not yet written) every 0.25 s of a
    run: a queue at its bound means the gateway waits for the database writer, an empty one
    that the writer waits for the gateway (issue 9 §4)."""

    def __init__(self, gateways: list[GatewayProcess], bound: int = 100_000) -> None:
        self.ports = [gw.metrics_port for gw in gateways]
        self.bound = bound
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            for port in self.ports:
                rows = await asyncio.to_thread(_queue_rows, port)
                if rows is not None:
                    self.samples.append(rows)
            await asyncio.sleep(0.25)

    async def __aenter__(self) -> QueueWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def summary(self) -> str:
        if not self.samples:
            return "ingest queue: no samples"
        full = sum(1 for s in self.samples if s >= 0.9 * self.bound) / len(self.samples)
        ordered = sorted(self.samples)
        return (f"ingest queue (bound {self.bound:,} fixes): median "
                f"{ordered[len(ordered) // 2]:,.0f}, within 10 % of the bound in "
                f"{100 * full:.0f} % of {len(ordered)} samples")


async def wait_committed(url: str, n: int, timeout: float) -> float:
    """perf_counter() when ``positions`` holds ``n`` rows (raises after ``timeout``).

    ``count(*)`` scans the whole table (70 ms at 600,000 rows here): polled every 20 ms it
    kept a core of PostgreSQL busy beside the writer, a load the ``\\copy`` baseline never has.
    So the clock waits four times as long as its last count took (at least 20 ms) before
    counting again: a tenth of a core at most, at the cost of reading the end up to one
    interval late (which lowers the ratio, never raises it).
    """
    deadline = time.perf_counter() + timeout
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            asked = time.perf_counter()
            row = await (await conn.execute("SELECT count(*) FROM positions")).fetchone()
            got = row[0] if row is not None else 0
            now = time.perf_counter()
            if got >= n:
                if got != n:
                    raise RuntimeError(f"positions holds {got} rows, {n} were sent")
                return now
            if now > deadline:
                raise RuntimeError(f"only {got:,} of {n:,} rows committed after {timeout}s")
            await asyncio.sleep(max(0.02, 4 * (now - asked)))


async def run_tcp(url: str, plan: LoadPlan, n: int, work: Path) -> dict:
    reset(url)
    port = free_port()
    with GatewayProcess(url, work / "spool-tcp", ["--tcp", f"127.0.0.1:{port}"]) as gw:
        async with QueueWatch([gw]) as queue:
            with CpuSplit([gw]) as split:
                started = time.perf_counter()
                sender = asyncio.create_task(send_tcp(plan, "127.0.0.1", port))
                done = await wait_committed(url, n, timeout=TIMEOUT)
        await sender
    return _result(n, done - started, split, queue, url)


async def run_binary(protocol: str, url: str, streams: list[bytes], n: int,
                     work: Path) -> dict:
    reset(url)
    port = free_port()
    with GatewayProcess(url, work / f"spool-{protocol}",
                        [f"--{protocol}", f"127.0.0.1:{port}"]) as gw:
        async with QueueWatch([gw]) as queue:
            with CpuSplit([gw]) as split:
                started = time.perf_counter()
                sender = asyncio.create_task(send_binary(streams, "127.0.0.1", port))
                done = await wait_committed(url, n, timeout=TIMEOUT)
        await sender
    return _result(n, done - started, split, queue, url)


async def run_mqtt(url: str, plan: LoadPlan, n: int, work: Path, epochs: int,
                   gateways: int, inflight: int) -> dict:
    """``gateways`` > 1: that many processes in one shared-subscription group."""
    reset(url)
    # mosquitto's default QoS 1 window (20 unacknowledged messages per client) caps one
    # subscriber at 20 messages per round trip; production brokers raise it (operations.md)
    broker = Mosquitto(max_inflight=inflight)
    broker.start()
    args = ["--mqtt", broker.url, "--mqtt-qos", "1"]
    if gateways > 1:
        args += ["--mqtt-share", "bench"]
    try:
        with contextlib.ExitStack() as stack:
            procs = [stack.enter_context(GatewayProcess(url, work / f"spool-mqtt-{i}", args))
                     for i in range(gateways)]
            async with QueueWatch(procs) as queue:
                with CpuSplit(procs) as split:
                    started = time.perf_counter()
                    sender = asyncio.create_task(send_mqtt(
                        plan, broker.host, broker.port, qos=1, connections=4,
                        epochs_per_message=epochs))
                    done = await wait_committed(url, n, timeout=TIMEOUT)
            await sender
    finally:
        broker.close()
    return _result(n, done - started, split, queue, url)


def _result(n: int, seconds: float, split: CpuSplit, queue: QueueWatch, url: str) -> dict:
    cores = split.cores()
    return {"rate": n / seconds, "seconds": seconds, "gateway_cpu": cores["gateway"],
            "split": cores, "queue": queue.summary(), "count_ms": count_ms(url)}


def count_ms(url: str) -> float:
    """How long the clock's ``count(*)`` takes on the full table (``wait_committed`` polls
    every four times that, at least every 20 ms)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM positions")  # warm
        started = time.perf_counter()
        for _ in range(5):
            conn.execute("SELECT count(*) FROM positions")
        return (time.perf_counter() - started) / 5 * 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench e2e", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--transport", choices=("tcp", "mqtt", "jt808", "gt06", "both"),
                        default="both", help="both: tcp and mqtt")
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--fixes", type=int, default=400_000, help="fixes in all")
    parser.add_argument("--epochs-per-message", type=int, default=10,
                        help="MQTT: epochs per published message (default 10)")
    parser.add_argument("--mqtt-gateways", type=int, default=1,
                        help="MQTT: gateway processes in one shared-subscription group")
    parser.add_argument("--mqtt-inflight", type=int, default=1000,
                        help="MQTT: the broker's max_inflight_messages (mosquitto's default "
                             "is 20; default here 1000)")
    parser.add_argument("--pg", default=DEFAULT_ADMIN, help="admin URL of the server")
    args = parser.parse_args(argv)
    if shutil.which("psql") is None:
        print("bench e2e: needs psql on PATH for the baseline", file=sys.stderr)
        return 2

    per = max(1, args.fixes // args.terminals)
    plan = LoadPlan.build(terminals=args.terminals, fixes_per_terminal=per, id_prefix="E2E",
                          start=datetime(2026, 3, 1, tzinfo=UTC))
    name = f"fg_bench_e2e_{uuid.uuid4().hex[:8]}"
    base = args.pg.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="fg-bench-e2e-"))
    try:
        csv_path = work / "rows.csv"
        if args.transport in ("jt808", "gt06"):
            build = jt808_streams if args.transport == "jt808" else gt06_streams
            ids, streams = build(plan)
            prepare(url, plan, ids)
            n = binary_rows_csv(args.transport, ids, streams, csv_path)
            what = ("JT/T 808 0x0200 frames" if args.transport == "jt808"
                    else "GT06 0x12 GPS+LBS packets")
        else:
            prepare(url, plan)
            n = plan_rows_csv(plan, csv_path)
            what = "RMC+GGA"
        print(f"bench e2e: {n:,} fixes ({what}) from {args.terminals} terminals; "
              f"database {name}", flush=True)
        copy_before = run_psql_copy(url, csv_path, n)
        results = {}
        if args.transport in ("tcp", "both"):
            results["tcp"] = asyncio.run(run_tcp(url, plan, n, work))
        if args.transport in ("jt808", "gt06"):
            results[args.transport] = asyncio.run(run_binary(args.transport, url, streams, n,
                                                             work))
        if args.transport in ("mqtt", "both"):
            results["mqtt"] = asyncio.run(run_mqtt(url, plan, n, work, args.epochs_per_message,
                                                   args.mqtt_gateways, args.mqtt_inflight))
        copy_after = run_psql_copy(url, csv_path, n)
        copy = (copy_before + copy_after) / 2
        print(f"  psql \\copy baseline: {copy_before:,.0f} / {copy_after:,.0f} rows/s "
              f"(mean {copy:,.0f})")
        for transport, r in results.items():
            ratio = r["rate"] / copy
            target = TARGETS.get(transport, TARGET)
            verdict = "meets" if ratio >= target else "BELOW"
            print(f"  {transport:4}: {r['rate']:,.0f} fixes/s committed "
                  f"({n:,} in {r['seconds']:.1f} s; gateway process(es) at "
                  f"{100 * r['gateway_cpu']:.0f}% of a core): ratio {ratio:.2f} of the copy "
                  f"limit ({verdict} the {target:.2f} target)")
            parts = " · ".join(f"{k} {v:.2f}" for k, v in r["split"].items())
            print(f"        CPU in cores: {parts}; the clock's count(*) on the full table "
                  f"{r['count_ms']:.1f} ms (polled every 4 counts' time, at least 20 ms)")
            print(f"        {r['queue']}")
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
    return 0
