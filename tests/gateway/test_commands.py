"""Downlink commands end to end below the API: the command log in PostgreSQL and SQLite, the
gateway's relay, real sockets, and simulated JT/T 808 and GT06 terminals that answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from devices.commands import Command, CommandKind
from devices.records import Fix
from fieldgate.dburl import DatabaseURL
from gateway import Gateway, GatewayConfig, TcpConfig
from simulators.gt06 import Gt06Device
from simulators.jt808 import Jt808Device
from telemetry.commands import CommandState, CommandStore
from tests.gateway.memsink import MemorySink

PHONE = "13900000501"
IMEI = "868120300000502"


@contextlib.asynccontextmanager
async def stack(db: DatabaseURL) -> AsyncIterator[tuple[Gateway, CommandStore, MemorySink]]:
    sink = MemorySink()
    config = GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol="jt808"),
                                      TcpConfig(host="127.0.0.1", port=0, protocol="gt06")))
    async with CommandStore(db) as store, \
            Gateway(config=config, sink=sink, commands=store, command_interval=0.05) as gw:
        yield gw, store, sink


class Terminal:
    """A simulated terminal on a socket, answering whatever the gateway sends."""

    def __init__(self, device: Jt808Device | Gt06Device) -> None:
        self.device = device
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int, hello: bytes) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(hello)
        self.task = asyncio.create_task(self._answer(reader))

    async def _answer(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(4096):
            answer = self.device.receive(data)
            if answer and self.writer is not None:
                self.writer.write(answer)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def settled(store: CommandStore, command_id: int, *, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        row = await store.get(command_id)
        assert row is not None
        if row.state not in (CommandState.PENDING, CommandState.SENT):
            return row
        assert time.monotonic() < deadline, row
        await asyncio.sleep(0.05)


async def test_jt808_commands_are_sent_answered_and_recorded(db: DatabaseURL) -> None:
    async with stack(db) as (gateway, store, sink):
        device = Jt808Device(PHONE)
        terminal = Terminal(device)
        # created while the terminal is away: sent when it connects
        early = await store.create(PHONE, Command(CommandKind.SET_INTERVAL, interval_s=30),
                                   created_by="dispatcher1")
        await asyncio.sleep(0.2)
        assert (await store.get(early.id)).state is CommandState.PENDING  # type: ignore[union-attr]
        await terminal.connect(gateway.listeners["jt808"].port, device.register())
        try:
            row = await settled(store, early.id)
            assert row.state is CommandState.ACKNOWLEDGED and row.result == "ok"
            assert row.sent_at is not None and row.answered_at is not None
            assert device.params[0x0029] == (30).to_bytes(4)  # the report interval, changed
            device.location_body(time=datetime.now(UTC), lat=31.0, lon=121.0)  # last position
            locate = await store.create(PHONE, Command(CommandKind.LOCATE), created_by="d1")
            text = await store.create(PHONE, Command(CommandKind.TEXT, text="请回电 call us"),
                                      created_by="d1")
            reset = await store.create(PHONE, Command(CommandKind.RESET), created_by="d1")
            raw = await store.create(PHONE, Command(CommandKind.RAW, text="X#"), created_by="d1")
            assert (await settled(store, locate.id)).result == "position reported"
            assert (await settled(store, text.id)).state is CommandState.ACKNOWLEDGED
            assert (await settled(store, reset.id)).state is CommandState.ACKNOWLEDGED
            refused = await settled(store, raw.id)
            assert refused.state is CommandState.FAILED
            assert "JT/T 808 has no message for a raw command" in (refused.result or "")
            kinds = [m.msg_id for m in device.traffic.commands]
            assert kinds == [0x8103, 0x8201, 0x8300, 0x8105]
            assert device.traffic.commands[2].body[1:].decode("gbk") == "请回电 call us"
            # the position query's answer is a position as well
            assert any(isinstance(r, Fix) for r in sink.records[PHONE])
        finally:
            await terminal.close()
    rows, total = await _history(db, PHONE)
    assert total == 5 and {r.created_by for r in rows} == {"dispatcher1", "d1"}


async def test_gt06_commands_and_expiry(db: DatabaseURL) -> None:
    async with stack(db) as (gateway, store, _sink):
        device = Gt06Device(IMEI)
        terminal = Terminal(device)
        await terminal.connect(gateway.listeners["gt06"].port, device.login())
        silent = Jt808Device("13900000503", answer_commands=False)
        mute = Terminal(silent)
        await mute.connect(gateway.listeners["jt808"].port, silent.register())
        try:
            raw = await store.create(IMEI, Command(CommandKind.RAW, text="STATUS#"),
                                     created_by="d1")
            interval = await store.create(IMEI, Command(CommandKind.SET_INTERVAL, interval_s=60),
                                          created_by="d1")
            text = await store.create(IMEI, Command(CommandKind.TEXT, text="hello"),
                                      created_by="d1")
            assert (await settled(store, raw.id)).result == "STATUS# OK"
            assert (await settled(store, interval.id)).result == "TIMER,60# OK"
            failed = await settled(store, text.id)
            assert failed.state is CommandState.FAILED and "GT06 has no command" in failed.result
            # a terminal that never answers, and one that never connects: both expire
            unanswered = await store.create("13900000503", Command(CommandKind.LOCATE),
                                            created_by="d1", ttl=timedelta(seconds=1))
            absent = await store.create("13900000599", Command(CommandKind.LOCATE),
                                        created_by="d1", ttl=timedelta(seconds=1))
            assert (await settled(store, unanswered.id)).state is CommandState.EXPIRED
            assert (await settled(store, absent.id)).state is CommandState.EXPIRED
            assert (await store.get(unanswered.id)).sent_at is not None  # type: ignore[union-attr]
            assert silent.traffic.commands  # it did reach the terminal
        finally:
            await terminal.close()
            await mute.close()
    rows, total = await _history(db, IMEI)
    assert total == 3 and [r.id for r in rows] == [text.id, interval.id, raw.id]


async def _history(db: DatabaseURL, terminal: str):
    async with CommandStore(db) as store:
        return await store.of_terminal(terminal)


async def test_commands_expire_even_when_no_terminal_is_connected_here(db: DatabaseURL) -> None:
    from gateway.commands import CommandRelay

    async with CommandStore(db) as store:
        stale = await store.create("13900000598", Command(CommandKind.LOCATE), created_by="d1",
                                   ttl=timedelta(seconds=1))
        relay = CommandRelay(source=store, connections=lambda: [], interval=0.05)
        await asyncio.sleep(1.1)
        await relay.cycle()
        row = await store.get(stale.id)
        assert row is not None and row.state is CommandState.EXPIRED
