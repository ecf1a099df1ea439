"""GT06 terminals on their own TCP port: the login identifies the connection (what came
before it is held, then released into its session), login/status/alarm packets are answered,
and the real writer stores the fixes in PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.records import Fix, StatusReport
from devices.status import Alarm
from fieldgate.dburl import DatabaseURL
from gateway import Gateway, GatewayConfig, TcpConfig
from gateway.tcp import TcpServer
from simulators.gt06 import Gt06Device
from telemetry import Ingest
from telemetry.health import HealthConfig, HealthStack
from tests.gateway.memsink import MemorySink
from tests.gateway.test_end_to_end import ingest_config, register, stored
from tests.health import dbutil
from tests.waiting import eventually

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
IMEI = "868120300000001"


async def answered(device: Gt06Device, reader: asyncio.StreamReader, serial: int) -> int:
    async with asyncio.timeout(5):
        while serial not in device.traffic.answered:
            device.receive(await reader.read(4096))
    return device.traffic.answered[serial]


async def test_login_status_locations_and_an_alarm() -> None:
    sink = MemorySink()
    server = TcpServer(config=TcpConfig(host="127.0.0.1", port=0, protocol="gt06"), sink=sink)
    await server.start()
    device = Gt06Device(IMEI)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # a fix before the login: held until the terminal says who it is
        writer.write(device.location(time=T0, lat=22.5, lon=114.0))
        login = device.next_serial
        writer.write(device.login())
        assert await answered(device, reader, login) == 0x01
        status = device.next_serial
        writer.write(device.heartbeat(acc=False))
        assert await answered(device, reader, status) == 0x13
        writer.write(device.location(time=T0 + timedelta(seconds=10), lat=22.6, lon=114.1))
        alarm = device.next_serial
        writer.write(device.alarm(Alarm.POWER_CUT, time=T0 + timedelta(seconds=20), lat=22.7,
                                  lon=114.2))
        assert await answered(device, reader, alarm) == 0x16
        await eventually(lambda: len(sink.records.get(IMEI, [])) == 4)
        first, status_report, second, third = sink.records[IMEI]
        assert isinstance(first, Fix) and first.time == T0 and first.terminal == IMEI
        assert isinstance(status_report, StatusReport) and status_report.status.acc is False
        assert isinstance(second, Fix) and second.status is None
        assert third.status is not None and Alarm.POWER_CUT in third.status.alarms
        assert sink.opened[0].transport == "gt06"
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    finally:
        await server.close()
    assert sink.closed[0].sentences == 5


async def test_gt06_terminals_into_the_database(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, IMEI)
    config = GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol="gt06"),))
    times = [T0 + timedelta(seconds=i) for i in range(25)]
    async with (Ingest(db=db, config=ingest_config(tmp_path)) as sink,
                Gateway(config=config, sink=sink) as gateway):
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       gateway.listeners["gt06"].port)
        device = Gt06Device(IMEI)
        writer.write(device.login())
        for i, t in enumerate(times):
            writer.write(device.location(time=t, lat=22.5 + i * 1e-4, lon=114.0, sats=9))
        last = device.next_serial
        writer.write(device.heartbeat())
        await answered(device, reader, last)
        await eventually(lambda: sink.metrics.fixes_stored >= 25, timeout=20)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    rows = await stored(db, IMEI)
    assert [r[0] for r in rows] == times
    assert rows[0][1:] == (22.5, 114.0, None, 9)


#: a report of Traccar's NT20 capture (its IMEI inside; this model's 0x22 layout)
NT20_REPORT = bytes.fromhex(
    "78783c22010357789648774484180c06142038180c06142038cb03313ee4061fe98300185e09000000000000"
    "0000460984284c000200000000017101d6f35d0d0a")
NT20_IMEI = "357789648774484"


async def test_the_registered_model_chooses_the_report_layout(db: DatabaseURL,
                                                             tmp_path: Path) -> None:
    """A terminal registered as an NT20 (``fieldgate terminals add --model NT20``): its 0x22
    reports lead with its IMEI and time, and are stored where Traccar puts them; the same bytes
    from a terminal registered without a model give no position, until its model is set while
    the gateway runs: from its next login they do."""
    dbutil.add_terminal(db, NT20_IMEI, model="NT20")
    dbutil.add_terminal(db, IMEI)
    config = GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol="gt06"),))
    health = HealthConfig(tick_s=0.1, sync_every_s=0.2)

    async def session(port: int, device: Gt06Device, frames: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        login = device.next_serial
        writer.write(device.login())
        await answered(device, reader, login)
        writer.write(b"".join(frames))
        heartbeat = device.next_serial
        writer.write(device.heartbeat())
        await answered(device, reader, heartbeat)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async with (Ingest(db=db, config=ingest_config(tmp_path)) as ingest,
                HealthStack(db=db, config=health) as stack,
                Gateway(config=config, sink=stack.wrap(ingest)) as gateway):
        port = gateway.listeners["gt06"].port
        for imei in (NT20_IMEI, IMEI):
            await session(port, Gt06Device(imei), [NT20_REPORT])
        await eventually(lambda: ingest.metrics.fixes_stored >= 1, timeout=20)
        await ingest.flush()
        assert await stored(db, IMEI) == []
        # the installer corrects the model while the gateway runs (an XT40, say): the
        # simulator sends that model's reports, read as such from the next login
        dbutil.execute(db, "UPDATE terminals SET model = :m WHERE terminal_id = :t",
                       m="XT40", t=IMEI)
        await eventually(lambda: stack.monitor.model_of(IMEI) == "XT40", timeout=10)
        device = Gt06Device(IMEI, model="XT40")
        await session(port, device, [device.location(time=T0, lat=22.5, lon=114.0, sats=9,
                                                     power_v=12.34)])
        await eventually(lambda: ingest.metrics.fixes_stored >= 2, timeout=20)
        await ingest.flush()
    rows = await stored(db, NT20_IMEI)
    assert rows == [(datetime(2024, 12, 6, 20, 32, 56, tzinfo=UTC),
                     pytest.approx(-29.755007, abs=1e-6), pytest.approx(-57.085939, abs=1e-6),
                     None, 11)]
    assert await stored(db, IMEI) == [(T0, 22.5, 114.0, None, 9)]
