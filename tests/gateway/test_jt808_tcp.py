"""JT/T 808 terminals on their own TCP port: identification from the header, replies written
after the sink took the records, and the real writer into PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.records import Fix, NoFix
from devices.status import Alarm
from fieldgate.dburl import DatabaseURL
from gateway import Gateway, GatewayConfig, TcpConfig
from gateway.tcp import TcpServer
from simulators.jt808 import Jt808Device
from telemetry import Ingest
from tests.gateway.memsink import MemorySink
from tests.gateway.test_end_to_end import ingest_config, register, stored
from tests.waiting import eventually

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def serving(sink: MemorySink) -> AsyncIterator[TcpServer]:
    server = TcpServer(config=TcpConfig(host="127.0.0.1", port=0, protocol="jt808"), sink=sink)
    await server.start()
    try:
        yield server
    finally:
        sink.unblock()
        await server.close()


class Link:
    """A terminal's socket: send frames, read the platform's answers into the device."""

    def __init__(self, device: Jt808Device, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.device, self.reader, self.writer = device, reader, writer

    @classmethod
    async def open(cls, port: int, device: Jt808Device) -> Link:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(device, reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_acknowledged(self, serial: int, timeout: float = 5.0) -> int:
        async with asyncio.timeout(timeout):
            while serial not in self.device.traffic.acknowledged:
                answer = self.device.receive(await self.reader.read(4096))
                if answer:
                    await self.send(answer)
        return self.device.traffic.acknowledged[serial]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def test_register_authenticate_report_and_every_message_answered() -> None:
    sink = MemorySink()
    device = Jt808Device("13912345678")
    async with serving(sink) as server:
        link = await Link.open(server.port, device)
        await link.send(device.register(plate="沪A12345"))
        async with asyncio.timeout(5):
            while device.auth_code is None:
                device.receive(await link.reader.read(4096))
        assert device.auth_code == "13912345678"
        serial = device.next_serial
        await link.send(device.authenticate() + device.heartbeat())
        assert await link.until_acknowledged(serial + 1) == 0
        serial = device.next_serial
        await link.send(device.location(time=T0, lat=31.2, lon=121.5, speed_kmh=36.0, sats=7,
                                        alarms=frozenset({Alarm.ANTENNA_OPEN}), acc=False))
        assert await link.until_acknowledged(serial) == 0
        [fix] = sink.records["13912345678"]
        assert isinstance(fix, Fix) and fix.time == T0 and fix.sats == 7
        assert fix.status is not None and fix.status.alarms == {Alarm.ANTENNA_OPEN}
        assert sink.opened[0].transport == "jt808"
        await link.close()
        await eventually(lambda: len(sink.closed) == 1)
    assert server.metrics.transport == "jt808"
    assert server.metrics.records_published == 1
    closed = sink.closed[0]
    assert closed.sentences == 4 and closed.rejected == 0  # register, auth, heartbeat, location


async def test_no_acknowledgement_when_the_sink_refuses_the_records() -> None:
    sink = MemorySink()
    device = Jt808Device("13900000001")
    async with serving(sink) as server:
        link = await Link.open(server.port, device)
        sink.fail_publishes = 1
        first = device.next_serial
        await link.send(device.location(time=T0, lat=30.0, lon=120.0))
        await eventually(lambda: server.metrics.rejects.get("sink_error") == 1)
        # the terminal resends what was not acknowledged: that one is taken and answered
        second = device.next_serial
        await link.send(device.location(time=T0, lat=30.0, lon=120.0))
        assert await link.until_acknowledged(second) == 0
        assert first not in device.traffic.acknowledged
        assert len(sink.records["13900000001"]) == 1
        await link.close()


async def test_damaged_frames_are_counted_and_the_connection_goes_on() -> None:
    sink = MemorySink()
    device = Jt808Device("13900000002", version=1)
    async with serving(sink) as server:
        link = await Link.open(server.port, device)
        bad = bytearray(device.heartbeat())
        bad[-2] ^= 0xFF
        serial = device.next_serial
        await link.send(b"garbage" + bytes(bad) + b"\x7e" * 50
                        + device.location(time=T0, lat=1.0, lon=2.0, positioned=False))
        assert await link.until_acknowledged(serial) == 0
        [nofix] = sink.records["13900000002"]
        assert isinstance(nofix, NoFix)
        await link.close()
        await eventually(lambda: len(sink.closed) == 1)
    rejects = server.metrics.decode_totals().rejected
    assert rejects == {"no_frame": 1, "bad_checksum": 1}


async def test_jt808_terminals_into_the_database(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "13911110001", "13911110002")
    config = GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol="jt808"),))
    plan = {phone: [T0 + timedelta(seconds=i) for i in range(30)]
            for phone in ("13911110001", "13911110002")}
    async with (Ingest(db=db, config=ingest_config(tmp_path)) as sink,
                Gateway(config=config, sink=sink) as gateway):
        port = gateway.listeners["jt808"].port
        assert "jt808 127.0.0.1:" in gateway.describe()

        async def terminal(phone: str, times: list[datetime]) -> None:
            device = Jt808Device(phone)
            link = await Link.open(port, device)
            await link.send(device.register() + device.authenticate())
            bodies = [device.location_body(time=t, lat=31.0 + i * 1e-4, lon=121.0, sats=8)
                      for i, t in enumerate(times)]
            last = device.next_serial
            await link.send(device.batch(bodies[:10], supplement=True))
            for body in bodies[10:]:
                last = device.next_serial
                await link.send(device._frame(0x0200, body))
            assert await link.until_acknowledged(last) == 0
            await link.close()

        await asyncio.gather(*(terminal(p, t) for p, t in plan.items()))
        await eventually(lambda: sink.metrics.fixes_stored >= 60, timeout=20)
    for phone, times in plan.items():
        rows = await stored(db, phone)
        assert [r[0] for r in rows] == times
        assert rows[0][1:] == (31.0, 121.0, 0.0, 8)
