"""Issue 9 §5: a JT/T 808 or GT06 terminal is acknowledged once what it sent is durable
(committed, or spooled when the database is away), never merely because the writer took it.

The writer here commits only every 1.5 s: an acknowledgement that came before the commit would
name a position the database does not hold yet, which a crash at that moment would lose while
the terminal, acknowledged, would not send it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.status import Alarm
from fieldgate.dburl import DatabaseURL
from gateway import Gateway, GatewayConfig, TcpConfig
from simulators.gt06 import Gt06Device
from simulators.jt808 import Jt808Device
from telemetry import Ingest
from tests.gateway.test_end_to_end import ingest_config, register, stored
from tests.gateway.test_jt808_tcp import Link

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SLOW_COMMITS = 1.5


@contextlib.asynccontextmanager
async def slow_gateway(db: DatabaseURL, tmp_path: Path, protocol: str,
                       terminal: str) -> AsyncIterator[int]:
    """A gateway for ``protocol`` whose writer commits every :data:`SLOW_COMMITS` seconds,
    with ``terminal`` registered; yields the listener's port."""
    register(db, terminal)
    config = GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol=protocol),))
    slow = replace(ingest_config(tmp_path), flush_interval=SLOW_COMMITS)
    async with (Ingest(db=db, config=slow) as sink,
                Gateway(config=config, sink=sink) as gateway):
        yield gateway.listeners[protocol].port


async def test_a_jt808_location_is_acknowledged_once_it_is_committed(
        db: DatabaseURL, tmp_path: Path) -> None:
    phone = "13922220001"
    async with slow_gateway(db, tmp_path, "jt808", phone) as port:
        device = Jt808Device(phone)
        link = await Link.open(port, device)
        try:
            await link.send(device.register() + device.authenticate())
            for n in range(3):
                serial = device.next_serial
                sent = time.monotonic()
                await link.send(device.location(time=T0 + timedelta(seconds=n), lat=31.0,
                                                lon=121.0, sats=8))
                assert await link.until_acknowledged(serial, timeout=10) == 0
                waited = time.monotonic() - sent
                # the position is in the database the moment its acknowledgement arrives
                assert len(await stored(db, phone)) == n + 1, waited
        finally:
            await link.close()


async def test_a_gt06_login_and_alarm_are_answered_once_durable(
        db: DatabaseURL, tmp_path: Path) -> None:
    imei = "864120300000777"
    async with slow_gateway(db, tmp_path, "gt06", imei) as port:
        device = Gt06Device(imei)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(device.login())
            async with asyncio.timeout(10):
                while not device.traffic.answered:
                    device.receive(await reader.read(4096))
            # a location (not answered in GT06), then an alarm with its position: the alarm's
            # answer comes once both positions are committed
            writer.write(device.location(time=T0, lat=22.5, lon=114.0)
                         + device.alarm(Alarm.SOS, time=T0 + timedelta(seconds=1), lat=22.5,
                                        lon=114.0))
            answered = len(device.traffic.answered)
            async with asyncio.timeout(10):
                while len(device.traffic.answered) == answered:
                    device.receive(await reader.read(4096))
            assert len(await stored(db, imei)) == 2
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
