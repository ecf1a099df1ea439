"""Serial terminals on real pseudo-terminals, read from the other end as a gateway would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.nmea import NmeaStream
from simulators.clock import ScaledClock
from simulators.faults import parse_fault
from simulators.fleet import Fleet
from simulators.transports import PtyTransport
from simulators.transports.serial import PtyLink
from simulators.truth import TruthLog
from tests.waiting import eventually

pytestmark = pytest.mark.serial

START = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)


class PortReader:
    """Opens a serial device path like a gateway: raw, non-blocking; reads until it vanishes,
    then waits for it to return and reopens it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = bytearray()
        self.opens: list[str] = []  # the /dev/pts/N behind the path at each open
        self.vanished = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PortReader:
        self._task = asyncio.create_task(self._run(), name="test-port-reader")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError:
                await asyncio.sleep(0.005)
                continue
            self.opens.append(os.readlink(self.path) if self.path.is_symlink() else "")
            tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would discard what is queued
            readable = asyncio.Event()
            loop.add_reader(fd, readable.set)
            try:
                while True:
                    await readable.wait()
                    readable.clear()
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    except OSError:  # EIO: the other side of the pty is gone
                        break
                    if not chunk:
                        break
                    self.data += chunk
            finally:
                loop.remove_reader(fd)
                os.close(fd)
            self.vanished += 1


async def test_each_terminal_gets_a_pty_the_gateway_can_open(tmp_path: Path) -> None:
    truth = TruthLog()
    transport = PtyTransport(tmp_path / "ports")
    fleet = Fleet(transport=transport, terminals=2, duration=20, truth=truth,
                  clock=ScaledClock(speed=50, start=START))
    readers = [PortReader(transport.path_for(tid)) for tid in fleet.ids]
    async with contextlib.AsyncExitStack() as stack:
        for reader in readers:
            await stack.enter_async_context(reader)
        async with fleet:
            await fleet.wait()
            for tid, reader in zip(fleet.ids, readers, strict=True):
                expected = b"".join(r.data for r in truth if r.terminal_id == tid)
                await eventually(lambda r=reader, e=expected: len(r.data) >= len(e))
                assert bytes(reader.data) == expected  # byte for byte, nothing lost
                assert reader.opens[0].startswith("/dev/pts/")
        # the fleet is gone: its ports vanished
        assert not any(transport.path_for(t).exists() for t in fleet.ids)
    for tid, reader in zip(fleet.ids, readers, strict=True):
        stream = NmeaStream(eager=False, terminal=tid)
        records = stream.feed(bytes(reader.data)) + stream.flush()
        assert [r.time for r in records] == [r.record.time for r in truth if r.terminal_id == tid]
    assert not (tmp_path / "ports").exists() or not any((tmp_path / "ports").iterdir())


async def test_the_port_vanishes_and_returns_under_the_same_path(tmp_path: Path) -> None:
    transport = PtyTransport(tmp_path)
    truth = TruthLog()
    fleet = Fleet(transport=transport, terminals=1, duration=20, truth=truth,
                  clock=ScaledClock(speed=50, start=START),
                  faults=[parse_fault("silent:drop@5s+5s")])
    path = transport.path_for("SIM0001")
    async with PortReader(path) as reader, fleet:
        await eventually(lambda: reader.vanished == 1)
        assert not path.exists()  # gone while the fault holds
        await fleet.wait()
        sent = sum(len(r.data) for r in truth)
        await eventually(lambda: len(reader.data) >= sent)
        assert path.is_symlink()
    assert fleet.stats.reconnects == 1 and fleet.stats.silent == 5
    # a new pty behind the same path: the gateway only needs to reopen the path
    assert len(reader.opens) == 2
    stream = NmeaStream(eager=False)
    records = stream.feed(bytes(reader.data)) + stream.flush()
    seconds = [int((r.time - START).total_seconds()) for r in records]
    assert seconds == [0, 1, 2, 3, 4] + list(range(10, 20))


async def test_reports_nobody_reads_are_dropped_and_counted(tmp_path: Path) -> None:
    link = PtyLink("SIM0001", tmp_path / "SIM0001", buffer_limit=8192)
    await link.open()
    try:
        report = b"$GPTXT,01,01,02,NOBODY IS LISTENING*00\r\n" * 100
        for _ in range(50):
            await link.send(report)
        # the kernel's buffer and the link's own are full: the rest is counted, not kept
        assert link.dropped > 0
        assert link.pending <= 8192
    finally:
        await link.close()
    assert not (tmp_path / "SIM0001").exists()
