"""Issue 4's end-to-end tests: simulated terminals with injected faults, through the real
gateway (TCP), the real telemetry writer and the health rules, into real PostgreSQL; the ticket
consumer of the service layer on the other side.

One fleet carries one faulty terminal per rule plus healthy ones, so the run also shows that a
fault of one kind trips its own rule only. Thresholds are a second or so: the run takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fieldgate.dburl import DatabaseURL
from fieldservice.auto_tickets import TicketConsumer, TicketPolicy
from fieldservice.db import create_engine
from gateway import Gateway, GatewayConfig, TcpConfig
from simulators import Fleet, RealClock, TcpTransport, parse_fault
from telemetry.config import IngestConfig
from telemetry.health import (
    ChecksumErrorThresholds,
    ClockDriftThresholds,
    HealthConfig,
    HealthStack,
    NoFixThresholds,
    OfflineThresholds,
    PoorAccuracyThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
)
from telemetry.ingest import Ingest
from tests.health import dbutil
from tests.health.installs import install

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: seconds between reports of each simulated terminal
INTERVAL = 0.2

#: small thresholds: every rule decides within about a second
CONFIG = HealthConfig(
    rules={
        "offline": OfflineThresholds(open_after_s=1.5, clear_after_s=0.5, recovery_gap_s=0.5),
        "no_fix": NoFixThresholds(open_after_s=1.0, clear_after_s=0.5),
        "poor_accuracy": PoorAccuracyThresholds(open_after_s=0.8, clear_after_s=0.5),
        "position_jump": PositionJumpThresholds(count=2, window_s=1.5, clear_after_s=0.5),
        "clock_drift": ClockDriftThresholds(max_drift_s=30, open_after_s=0.8,
                                            clear_after_s=0.5),
        "reconnect_storm": ReconnectStormThresholds(count=5, window_s=1.5, clear_after_s=0.5),
        "checksum_errors": ChecksumErrorThresholds(max_rate=0.2, min_lines=10,
                                                   open_after_s=0.8, clear_after_s=0.5),
    },
    tick_s=0.1, sync_every_s=0.5, sweep_every_s=0.1,
)

#: the faulty terminal of each rule and what the simulator does to it, from 1 s for 3 s
FAULTS = {
    "offline": "silent:drop",
    "no_fix": "no_fix",
    "poor_accuracy": "poor_accuracy:hdop=9,sats=3",
    "position_jump": "jump:5km",  # one outlier report: there and back, two jumps
    "clock_drift": "skew:1h",
    "reconnect_storm": "storm:every=200ms",
    "checksum_errors": "checksum:0.5",
}
HEALTHY = 3


@contextlib.asynccontextmanager
async def pipeline(db: DatabaseURL, tmp_path: Path) -> AsyncIterator[tuple[int, HealthStack]]:
    """Telemetry writer, health stack and gateway as ``fieldgate gateway`` runs them."""
    ingest_config = IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02,
                                 state_interval=0.05,
                                 batch_max_rows=500, queue_max_rows=5000, spool_fsync=False,
                                 registry_refresh_interval=60.0, registry_miss_ttl=60.0)
    gateway_config = GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0))
    async with Ingest(db=db, config=ingest_config) as ingest, \
            HealthStack(db=db, config=CONFIG) as health, \
            Gateway(config=gateway_config, sink=health.wrap(ingest)) as gateway:
        yield gateway.tcp.addresses[0][1], health


async def run_fleet(port: int, *, terminals: int, prefix: str, faults: list[str],
                    duration: float) -> Fleet:
    clock = RealClock()
    # the run starts on a whole second up to two seconds away, and terminals dial in when the
    # fleet is entered: enter just before, or every terminal would look offline at first
    await clock.sleep_until(-0.05)
    fleet = Fleet(transport=TcpTransport("127.0.0.1", port), terminals=terminals,
                  interval=INTERVAL, id_prefix=prefix, faults=[parse_fault(f) for f in faults],
                  clock=clock, duration=duration, seed=4)
    async with fleet:
        await fleet.wait()
    return fleet


def fault_rows(db: DatabaseURL) -> list[dict[str, Any]]:
    rows = dbutil.execute(db, "SELECT id, terminal_id, rule, state, clear_reason, evidence, "
                              "clear_evidence FROM faults ORDER BY id")
    return [dict(r._mapping) for r in rows]


def seconds(a: str, b: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731 - a one-line helper local to the test
    return (parse(b) - parse(a)).total_seconds()


async def test_each_rule_opens_one_fault_and_one_ticket_and_clears_with_hysteresis(
        pg_db: DatabaseURL, tmp_path: Path) -> None:
    rules = list(FAULTS)
    faulty = {rule: f"BAD{i + 1:04d}" for i, rule in enumerate(rules)}
    ids = [f"BAD{i + 1:04d}" for i in range(len(rules))] + [f"BAD{len(rules) + i + 1:04d}"
                                                           for i in range(HEALTHY)]
    await install(pg_db, ids)
    specs = [f"{faulty[rule]}/{kind}@1s+3s" for rule, kind in FAULTS.items()]
    specs[rules.index("position_jump")] = f"{faulty['position_jump']}/jump:5km@1.5s"
    async with pipeline(pg_db, tmp_path) as (port, health):
        await run_fleet(port, terminals=len(ids), prefix="BAD", faults=specs, duration=6.5)
        # the last clearings need their recovery time after the fleet's end
        deadline = time.monotonic() + 10
        while any(r["state"] == "open" for r in fault_rows(pg_db)):
            assert time.monotonic() < deadline, fault_rows(pg_db)
            await asyncio.sleep(0.1)
        assert health.monitor.stats.rule_errors == 0
        assert health.monitor.stats.observe_errors == 0

    rows = fault_rows(pg_db)
    assert sorted((r["terminal_id"], r["rule"]) for r in rows) == sorted(
        (tid, rule) for rule, tid in faulty.items())  # one each, none on healthy terminals
    for row in rows:
        th = CONFIG.rules[row["rule"]]
        opened, cleared = row["evidence"], row["clear_evidence"]
        assert row["state"] == "cleared" and row["clear_reason"] == "recovered"
        # hysteresis: the condition held open_after_s before opening, recovery clear_after_s
        assert seconds(opened["condition_since"], opened["at"]) >= th.open_after_s - 0.01, row
        assert seconds(cleared["condition_since"], cleared["at"]) >= th.clear_after_s - 0.01
        assert opened["thresholds"]["open_after_s"] == th.open_after_s
    assert len(dbutil.outbox(pg_db)) == 2 * len(rules)

    # the service side: one ticket per faulty terminal, with the rule's advice
    engine = create_engine(pg_db)
    try:
        consumer = TicketConsumer(engine=engine, policy=TicketPolicy())
        done = await consumer.process_pending()
    finally:
        await engine.dispose()
    assert len(done) == 2 * len(rules) and not any(d.failed for d in done)
    tickets = dbutil.execute(pg_db, """
        SELECT t.terminal_id, w.source, w.state, w.symptoms, w.suggested_action, w.description
        FROM work_orders w JOIN terminals t ON t.id = w.terminal_pk
        WHERE w.type = 'repair' ORDER BY t.terminal_id""")
    assert [r[0] for r in tickets] == sorted(faulty.values())
    for tid, source, state, symptoms, action, description in tickets:
        rule = next(r for r, t in faulty.items() if t == tid)
        assert source == "auto_detected" and state == "awaiting_approval"
        assert f" {rule}: " in symptoms and action.startswith(f"{rule}: ")
        assert "may be closed as self-resolved" in description
    advice = {r[0]: r[4] for r in tickets}
    assert "power supply" in advice[faulty["offline"]]
    assert "antenna" in advice[faulty["no_fix"]]
    assert "swap the SIM" in advice[faulty["reconnect_storm"]]


async def test_a_healthy_fleet_opens_nothing(pg_db: DatabaseURL, tmp_path: Path) -> None:
    ids = [f"OK{i:04d}" for i in range(1, 13)]
    await install(pg_db, ids)
    async with pipeline(pg_db, tmp_path) as (port, health):
        fleet = await run_fleet(port, terminals=len(ids), prefix="OK", faults=[], duration=5.0)
        await asyncio.sleep(CONFIG.sweep_every_s * 3)  # let the sweep and last ticks run
        assert health.monitor.stats.records >= fleet.stats.fixes > 0
        assert health.monitor.stats.evaluations > 0
    assert fault_rows(pg_db) == []
    assert dbutil.outbox(pg_db) == []
