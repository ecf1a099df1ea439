"""Issue 8's "status words are health", end to end: JT/T 808 and GT06 terminals report power
cuts, low voltage, antenna and GNSS faults and SOS in their alarm words, through the real
gateway (their own TCP ports), the real writer and health stack, into PostgreSQL and SQLite;
the ticket consumer turns the faults into tickets with the rule's advice, SOS urgent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from devices.status import Alarm
from fieldgate.dburl import DatabaseURL
from fieldservice.auto_tickets import TicketConsumer, TicketPolicy
from fieldservice.db import create_engine
from gateway import Gateway, GatewayConfig, TcpConfig
from simulators.gt06 import Gt06Device
from simulators.jt808 import Jt808Device
from telemetry.config import IngestConfig
from telemetry.health import (
    AntennaThresholds,
    GnssFaultThresholds,
    HealthConfig,
    HealthStack,
    LowVoltageThresholds,
    PowerCutThresholds,
    SosThresholds,
)
from telemetry.ingest import Ingest
from tests.health import dbutil
from tests.health.installs import install

CONFIG = HealthConfig(
    rules={
        "power_cut": PowerCutThresholds(open_after_s=0, clear_after_s=30),
        "low_voltage": LowVoltageThresholds(open_after_s=0.5, clear_after_s=30),
        "antenna": AntennaThresholds(open_after_s=0.5, clear_after_s=30),
        "gnss_fault": GnssFaultThresholds(open_after_s=0.5, clear_after_s=30),
        "sos": SosThresholds(open_after_s=0, clear_after_s=30),
    },
    tick_s=0.1, sync_every_s=0.5, sweep_every_s=0.2,
)

#: phone (JT/T 808) → the alarm it reports
JT808 = {
    "13900000101": Alarm.POWER_CUT,
    "13900000102": Alarm.LOW_VOLTAGE,
    "13900000103": Alarm.ANTENNA_OPEN,
    "13900000104": Alarm.GNSS_FAULT,
    "13900000105": Alarm.SOS,
    "13900000106": None,  # healthy
}
GT06_IMEI = "868120300000107"  # reports a power cut in its status packets while parked
RULE = {Alarm.POWER_CUT: "power_cut", Alarm.LOW_VOLTAGE: "low_voltage",
        Alarm.ANTENNA_OPEN: "antenna", Alarm.GNSS_FAULT: "gnss_fault", Alarm.SOS: "sos"}


@contextlib.asynccontextmanager
async def pipeline(db: DatabaseURL, tmp_path: Path) -> AsyncIterator[Gateway]:
    ingest_config = IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02,
                                 state_interval=0.05, spool_fsync=False,
                                 registry_refresh_interval=60.0, registry_miss_ttl=60.0)
    gateway_config = GatewayConfig(listeners=(
        TcpConfig(host="127.0.0.1", port=0, protocol="jt808"),
        TcpConfig(host="127.0.0.1", port=0, protocol="gt06")))
    async with Ingest(db=db, config=ingest_config) as ingest, \
            HealthStack(db=db, config=CONFIG) as health, \
            Gateway(config=gateway_config, sink=health.wrap(ingest)) as gateway:
        yield gateway


async def report(port: int, hello: bytes, frames: Callable[[int], bytes],
                 device: Jt808Device | Gt06Device, reports: int) -> None:
    """One terminal: ``hello`` (registration or login), then ``reports`` frames a tenth of a
    second apart, reading the gateway's answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(hello)
    for i in range(reports):
        writer.write(frames(i))
        await writer.drain()
        device.receive(await reader.read(4096))
        await asyncio.sleep(0.1)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def jt808_terminal(port: int, phone: str, alarm: Alarm | None, reports: int) -> None:
    device = Jt808Device(phone)
    alarms = frozenset({alarm}) if alarm is not None else frozenset()
    await report(port, device.register() + device.authenticate(), lambda i: device.location(
        time=datetime.now(UTC), lat=31.2 + i * 1e-5, lon=121.5, alarms=alarms,
        acc=alarm is not Alarm.POWER_CUT), device, reports)


async def gt06_terminal(port: int, reports: int) -> None:
    device = Gt06Device(GT06_IMEI)
    await report(port, device.login(),
                 lambda _i: device.heartbeat(acc=False, alarm=Alarm.POWER_CUT), device, reports)


def open_faults(db: DatabaseURL) -> list[tuple[str, str]]:
    return sorted((r[0], r[1]) for r in dbutil.execute(
        db, "SELECT terminal_id, rule FROM faults WHERE state = 'open'"))


async def test_alarm_words_open_faults_and_tickets(db: DatabaseURL, tmp_path: Path) -> None:
    await install(db, [*JT808, GT06_IMEI])
    expected = sorted([(phone, RULE[alarm]) for phone, alarm in JT808.items() if alarm]
                      + [(GT06_IMEI, "power_cut")])
    async with pipeline(db, tmp_path) as gateway:
        await asyncio.gather(
            *(jt808_terminal(gateway.listeners["jt808"].port, phone, alarm, reports=15)
              for phone, alarm in JT808.items()),
            gt06_terminal(gateway.listeners["gt06"].port, reports=15))
        deadline = time.monotonic() + 15
        while open_faults(db) != expected:
            assert time.monotonic() < deadline, open_faults(db)
            await asyncio.sleep(0.1)

    engine = create_engine(db)
    try:
        done = await TicketConsumer(engine=engine, policy=TicketPolicy()).process_pending()
    finally:
        await engine.dispose()
    assert len(done) == len(expected) and not any(d.failed for d in done)
    tickets = {r[0]: r[1:] for r in dbutil.execute(db, """
        SELECT t.terminal_id, w.priority, w.symptoms, w.suggested_action
        FROM work_orders w JOIN terminals t ON t.id = w.terminal_pk
        WHERE w.type = 'repair'""")}
    assert sorted(tickets) == sorted(tid for tid, _ in expected)
    power = tickets["13900000101"]
    assert power[0] == "normal" and "terminal reports power_cut since" in power[1]
    assert "power wiring and fuse" in power[2]
    assert "antenna cable and connector" in tickets["13900000103"][2]
    assert "swap the terminal" in tickets["13900000104"][2]
    assert tickets["13900000105"][0] == "urgent" and "SOS" in tickets["13900000105"][2]
    assert "power wiring and fuse" in tickets[GT06_IMEI][2]
