"""The serial receiver on real pseudo-terminals: a socat pty pair stands for the cable; killing
socat makes the port vanish, starting it again with the same link names brings it back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.backoff import BackoffPolicy
from gateway.config import SerialPortConfig
from gateway.serialport import SerialReceiver
from tests import servers
from tests.gateway.memsink import MemorySink
from tests.gateway.nmea_data import epochs, fixes, pgid
from tests.waiting import eventually

pytestmark = pytest.mark.serial

FAST = BackoffPolicy(initial=0.05, maximum=0.2)


class PtyPair:
    """``socat pty,link=A pty,link=B``: the gateway opens A, the test writes to B."""

    def __init__(self, directory: Path) -> None:
        self.a = directory / "ttyGW"
        self.b = directory / "ttyTERM"
        self._proc: subprocess.Popen | None = None
        self._fd: int | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (self.a.exists() and self.b.exists()):
            if time.monotonic() > deadline:
                raise TimeoutError("socat did not create its pty links")
            time.sleep(0.01)

    def stop(self) -> None:
        self.close_terminal()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)
        self._proc = None

    def terminal_fd(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.b, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        return self._fd

    def write(self, data: bytes) -> None:
        fd = self.terminal_fd()
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                time.sleep(0.001)

    def close_terminal(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@pytest.fixture
def ptys(tmp_path: Path) -> Iterator[PtyPair]:
    if shutil.which("socat") is None:
        servers.unavailable("socat", "no socat binary on PATH")
    pair = PtyPair(tmp_path)
    try:
        yield pair
    finally:
        pair.stop()


@contextlib.asynccontextmanager
async def receiving(device: Path, terminal: str, sink: MemorySink,
                    **options: object) -> AsyncIterator[SerialReceiver]:
    options.setdefault("backoff", FAST)
    receiver = SerialReceiver(config=SerialPortConfig(device=str(device), terminal_id=terminal,
                                                      **options), sink=sink)
    task = asyncio.create_task(receiver.run(), name="serial-receiver")
    try:
        yield receiver
    finally:
        sink.unblock()
        await asyncio.wait_for(receiver.stop(), 20)
        await task


async def test_port_binding_identifies_the_terminal(ptys: PtyPair) -> None:
    ptys.start()
    sink = MemorySink()
    items = fixes(5, terminal="SER1")
    async with receiving(ptys.a, "SER1", sink, baudrate=115200) as receiver:
        await asyncio.wait_for(receiver.opened.wait(), 10)
        await eventually(lambda: len(sink.opened) == 1)  # opened with the port, before data
        ptys.write(pgid("NOTME") + epochs(items))  # the binding wins over $PGID
        await eventually(lambda: sink.count("SER1") == 5)
    assert sink.records == {"SER1": items}
    assert sink.opened[0].remote == str(ptys.a)
    assert receiver.metrics.disconnects == {"shutdown": 1}
    assert len(sink.closed) == 1 and sink.closed[0].sentences == 11


async def test_vanishing_port_is_reopened_when_it_returns(ptys: PtyPair) -> None:
    ptys.start()
    sink = MemorySink()
    items = fixes(8, terminal="SER2")
    async with receiving(ptys.a, "SER2", sink) as receiver:
        await asyncio.wait_for(receiver.opened.wait(), 10)
        ptys.write(epochs(items[:4]))
        await eventually(lambda: sink.count("SER2") == 4)
        ptys.stop()  # unplugged
        await eventually(lambda: len(sink.closed) == 1)
        assert receiver.metrics.connections == 0
        failed = receiver.metrics.refused.get("open_failed", 0)
        await eventually(lambda: receiver.metrics.refused.get("open_failed", 0) > failed + 1)
        ptys.start()  # plugged back in, same name
        await asyncio.wait_for(receiver.opened.wait(), 10)
        ptys.write(epochs(items[4:]))
        await eventually(lambda: sink.count("SER2") == 8)
    assert sink.records == {"SER2": items}
    assert [e[0] for e in sink.events if e[0] != "publish"] == ["opened", "closed", "opened",
                                                                 "closed"]
    assert receiver.metrics.connections_total == 2


async def test_port_missing_at_start_is_waited_for(ptys: PtyPair) -> None:
    sink = MemorySink()
    async with receiving(ptys.a, "SER3", sink) as receiver:
        await eventually(lambda: receiver.metrics.refused.get("open_failed", 0) >= 2)
        assert sink.events == []
        ptys.start()
        await asyncio.wait_for(receiver.opened.wait(), 10)
        ptys.write(epochs(fixes(3, terminal="SER3")))
        await eventually(lambda: sink.count("SER3") == 3)


async def test_blocked_sink_stops_reading_the_port_until_the_writer_blocks(
        ptys: PtyPair) -> None:
    ptys.start()
    sink = MemorySink()
    async with receiving(ptys.a, "SER4", sink, read_buffer=4096) as receiver:
        await asyncio.wait_for(receiver.opened.wait(), 10)
        ptys.write(epochs(fixes(3, terminal="SER4")))
        await eventually(lambda: sink.count("SER4") == 3)
        sink.block()
        fd = ptys.terminal_fd()
        sent, pending, blocked = 3, b"", False
        for _ in range(5000):
            if not pending:
                pending = epochs(fixes(20, start=sent, terminal="SER4"))
                sent += 20
            try:
                pending = pending[os.write(fd, pending):]
            except BlockingIOError:
                await asyncio.sleep(0.05)
                try:
                    pending = pending[os.write(fd, pending):]
                except BlockingIOError:
                    blocked = True
                    break
            await asyncio.sleep(0)
        assert blocked, "the writer never blocked: the receiver kept reading"
        assert receiver.metrics.paused == 1 and sink.waiting == 1
        sink.unblock()
        while pending:
            try:
                pending = pending[os.write(fd, pending):]
            except BlockingIOError:
                await asyncio.sleep(0.01)
        await eventually(lambda: sink.count("SER4") >= sent - 1, timeout=20)
    assert sink.records["SER4"] == fixes(sent, terminal="SER4")
