"""Health monitor cost on the gateway's data path, against a pass-through sink.

    python -m bench health [--terminals N] [--batches N] [--fixes-per-batch N]

Baseline: the same publish calls into a sink that does nothing, in the same run. Reports the
ratio and the added cost per read batch and per fix, and one tick of rule evaluation over every
terminal (all active, as when the whole fleet reports within a tick).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from devices.records import Fix, Record
from gateway.sink import SessionInfo, TelemetrySink, Transport
from telemetry.health import HealthConfig, HealthMonitor, HealthSink


class _Null:
    async def session_opened(self, session: SessionInfo) -> None:
        pass

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        pass

    async def session_closed(self, session: SessionInfo) -> None:
        pass


def _fleet(terminals: int, per_batch: int, rounds: int) -> tuple[list[SessionInfo],
                                                                 list[list[list[Fix]]]]:
    now = datetime.now(UTC)
    sessions = [SessionInfo(f"B{i:06}", Transport.TCP, "127.0.0.1:1", now)
                for i in range(terminals)]
    batches = []
    for r in range(rounds):
        batches.append([
            [Fix(time=now + timedelta(seconds=r * per_batch + k), lat=48.0 + i * 1e-3,
                 lon=2.0 + (r * per_batch + k) * 1e-4, speed_kn=20.0, sats=9, hdop=0.9,
                 fix_quality=1) for k in range(per_batch)]
            for i in range(terminals)
        ])
    return sessions, batches


async def _drive(sink: TelemetrySink, sessions: list[SessionInfo], batches: list[list[list[Fix]]],
                 count: int) -> float:
    publish = sink.publish
    n_term = len(sessions)
    started = time.perf_counter()
    for n in range(count):
        i = n % n_term
        await publish(sessions[i], batches[(n // n_term) % len(batches)][i])
    return time.perf_counter() - started


async def _run(args: argparse.Namespace) -> None:
    sessions, batches = _fleet(args.terminals, args.fixes_per_batch, rounds=4)
    monitor = HealthMonitor(config=HealthConfig())
    wrapped = HealthSink(inner=_Null(), monitor=monitor)
    for s in sessions:
        await wrapped.session_opened(s)
    base = await _drive(_Null(), sessions, batches, args.batches)
    health = await _drive(wrapped, sessions, batches, args.batches)
    fixes = args.batches * args.fixes_per_batch
    started = time.perf_counter()
    monitor.tick()
    tick = time.perf_counter() - started
    print(f"terminals {args.terminals}, {args.batches} read batches of "
          f"{args.fixes_per_batch} fix(es)")
    print(f"  pass-through sink  {args.batches / base:12,.0f} batches/s")
    print(f"  HealthSink         {args.batches / health:12,.0f} batches/s "
          f"({fixes / health:,.0f} fixes/s)  ratio {base / health:.3f} of baseline speed")
    print(f"  added cost         {(health - base) / args.batches * 1e6:8.2f} us/batch, "
          f"{(health - base) / fixes * 1e6:.2f} us/fix")
    print(f"  one tick           {tick * 1e3:8.1f} ms for {args.terminals} active terminals "
          f"({tick / args.terminals * 1e6:.2f} us each)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench health", description=__doc__)
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=200_000)
    parser.add_argument("--fixes-per-batch", type=int, default=1)
    args = parser.parse_args(argv)
    asyncio.run(_run(args))
    return 0
