"""Gateway memory with N idle TCP terminals connected (target: 10,000 under 300 MB RSS).

``--protocol jt808``: the terminals are JT/T 808 terminals on the gateway's JT/T 808 listener:
each registers, authenticates and reports once, then sends a heartbeat every ``--heartbeat``
seconds while held, reading the gateway's acknowledgements (issue 8: 10,000 of them under
300 MB).

The gateway runs in this process exactly as ``fieldgate gateway`` runs it: uvloop, the TCP
listener, and the real sink (``telemetry.ingest.Ingest`` on a fresh SQLite file, unless ``--db``
names another database). The terminals are a separate process (so that their sockets are not
counted), each connection sending ``$PGID,<id>`` and one epoch, then staying silent.

Measured from ``/proc/self/status`` (VmRSS): the gateway before any connection (the baseline,
same process), with all N connected and identified, after holding them ``--hold`` seconds, and
after they all left. Reports the RSS, the increase per connection and the ratio to the target.

Usage: python -m bench gateway_idle [--connections N] [--hold S] [--loop uvloop|asyncio]
                                    [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET_BYTES = 300 * 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(wanted, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def mib(n: float) -> str:
    return f"{n / 1048576:8.1f} MiB"


# -- the terminals (child process) ---------------------------------------------------------

async def _terminals(port: int, n: int, concurrency: int, protocol: str,
                     heartbeat: float) -> None:
    from devices.nmea import encode
    from devices.records import Fix
    from simulators.jt808 import Jt808Device

    loop = asyncio.get_running_loop()
    socks: list[socket.socket] = []
    devices: list[Jt808Device] = []
    t0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            sock = socket.socket()
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", port))
            fix = Fix(t0 + timedelta(seconds=i), 45 + (i % 1000) * 1e-3, 7 + (i // 1000) * 1e-3,
                      0.0, 0.0, 300.0, 8, 1.0, 1)
            if protocol == "jt808":
                device = Jt808Device(f"139{i:08d}")
                devices.append(device)
                hello = (device.register() + device.authenticate()
                         + device.location(time=fix.time, lat=fix.lat, lon=fix.lon))
            else:
                hello = encode.pgid(f"IDLE{i:06d}") + encode.epoch(fix)
            await loop.sock_sendall(sock, hello)
            socks.append(sock)

    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"connected {len(socks)}", flush=True)
    done = loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    beats = 0
    while protocol == "jt808" and not done.done():
        await asyncio.wait([done], timeout=heartbeat)
        if done.done():
            break
        for sock, device in zip(socks, devices, strict=True):
            with contextlib.suppress(BlockingIOError):
                while sock.recv(65536):  # the acknowledgements so far
                    pass
            with contextlib.suppress(BlockingIOError, OSError):
                sock.send(device.heartbeat())
        beats += 1
        print(f"heartbeats {beats}", flush=True)
    await done
    for sock in socks:
        sock.close()


def _client_main(port: int, n: int, concurrency: int, protocol: str, heartbeat: float) -> int:
    raise_nofile(n + 100)
    import uvloop

    uvloop.run(_terminals(port, n, concurrency, protocol, heartbeat))
    return 0


def _spawn_terminals(port: int, n: int, concurrency: int, protocol: str,
                     heartbeat: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "gateway_idle", "--client", str(port),
         "--connections", str(n), "--concurrency", str(concurrency), "--protocol", protocol,
         "--heartbeat", str(heartbeat)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


# -- the gateway (this process) ------------------------------------------------------------

async def _measure(args: argparse.Namespace) -> dict[str, float]:
    from fieldgate.db import upgrade
    from fieldgate.dburl import DatabaseURL
    from gateway import Gateway, GatewayConfig, TcpConfig, TcpLimits
    from telemetry import Ingest, IngestConfig

    n = args.connections
    with tempfile.TemporaryDirectory(prefix="fg-bench-idle-") as tmp:
        db = DatabaseURL.parse(args.db or f"sqlite:///{tmp}/bench.db")
        if args.db is None:
            upgrade(db)
        ingest = IngestConfig(spool_dir=Path(tmp) / "spool", spool_fsync=False)
        listener = TcpConfig(host="127.0.0.1", port=0, backlog=4096, protocol=args.protocol,
                             limits=TcpLimits(max_connections=n + 100, idle_timeout=3600))
        if args.protocol == "nmea":
            config = GatewayConfig(tcp=listener)
        else:
            config = GatewayConfig(listeners=(listener,))
        async with Ingest(db=db, config=ingest) as sink, \
                Gateway(config=config, sink=sink) as gateway:
            tcp = gateway.tcp if args.protocol == "nmea" else gateway.listeners[args.protocol]
            assert tcp is not None
            gc.collect()
            gc.freeze()  # as fieldgate gateway does once it is up
            await asyncio.sleep(0.5)
            base = rss_bytes()
            started = time.perf_counter()
            child = _spawn_terminals(tcp.port, n, args.concurrency, args.protocol,
                                     args.heartbeat)
            try:
                deadline = time.monotonic() + 300
                while tcp.metrics.sessions < n:
                    if child.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"terminals failed: {tcp.metrics.sessions} of {n} "
                                           f"identified, client exit {child.poll()}")
                    await asyncio.sleep(0.05)
                connect_s = time.perf_counter() - started
                connected = rss_bytes()
                await asyncio.sleep(args.hold)
                gc.collect()
                held = rss_bytes()
                peak_connections = tcp.connections
            finally:
                if child.stdin is not None:
                    child.stdin.close()
                await asyncio.get_running_loop().run_in_executor(None, child.wait, 60)
            deadline = time.monotonic() + 120
            while tcp.connections or tcp.metrics.sessions:
                if time.monotonic() > deadline:
                    raise RuntimeError("connections did not close")
                await asyncio.sleep(0.05)
            gc.collect()
            await asyncio.sleep(0.5)
            after = rss_bytes()
    return {"base": base, "connected": connected, "held": held, "after": after,
            "connect_s": connect_s, "connections": peak_connections}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench gateway_idle",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to hold them idle")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--concurrency", type=int, default=500,
                        help="connection attempts in flight (stay under the listen backlog)")
    parser.add_argument("--db", help="database for the sink (default: a fresh SQLite file)")
    parser.add_argument("--protocol", choices=("nmea", "jt808"), default="nmea")
    parser.add_argument("--heartbeat", type=float, default=2.0,
                        help="jt808: seconds between heartbeats while held (default 2)")
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client is not None:
        return _client_main(args.client, args.connections, args.concurrency, args.protocol,
                            args.heartbeat)

    limit = raise_nofile(args.connections + 200)
    if limit < args.connections + 100:
        print(f"RLIMIT_NOFILE is {limit}: cannot hold {args.connections} connections",
              file=sys.stderr)
        return 2
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        r = runner.run(_measure(args))
    n = r["connections"]
    per_conn = (r["held"] - r["base"]) / n
    print(f"gateway_idle: {n} idle {args.protocol} terminals over TCP, loop {args.loop}, "
          f"python {sys.version.split()[0]}, pid {os.getpid()}")
    print(f"  connect + identify all: {r['connect_s']:6.2f} s ({n / r['connect_s']:,.0f}/s)")
    print(f"  RSS baseline (gateway, no connection): {mib(r['base'])}")
    print(f"  RSS all connected:                     {mib(r['connected'])}")
    print(f"  RSS after holding {args.hold:g} s:               {mib(r['held'])}")
    print(f"  RSS after they left:                   {mib(r['after'])}")
    print(f"  per connection:                        {per_conn / 1024:8.1f} KiB")
    print(f"  ratio held / baseline:                 {r['held'] / r['base']:8.2f}")
    print(f"  ratio held / 300 MB target:            {r['held'] / TARGET_BYTES:8.2f}"
          f"  ({'under' if r['held'] < TARGET_BYTES else 'OVER'} the target)")
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
