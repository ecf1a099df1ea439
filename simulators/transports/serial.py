"""A receiver on a serial line, played through a real pseudo-terminal.

Each terminal gets a pty pair; the simulator writes NMEA into the master side, and the gateway
opens the slave side exactly as it would open ``/dev/ttyUSB0``. Because ``/dev/pts/N`` numbers
change every time a pty is created, each terminal has a stable path: a symlink
``<directory>/<terminal id>`` to its current slave, which is what the gateway is configured with
(``--serial <directory>/SIM0001=SIM0001``).

Closing a link is the port *vanishing* (a USB receiver unplugged): the symlink goes and the pty
is torn down, so a reader sees EIO/hang-up; opening it again is the port *returning* under the
same path (with a new pty behind it). Faults ``silent:drop`` and ``storm`` use exactly that.

A UART transmitter does not wait for anybody: while nothing reads the port, the kernel's buffer
fills and then bytes are lost. The link keeps up to ``buffer_limit`` bytes of its own, written out
as the reader catches up, and beyond that drops whole reports and counts them (``dropped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import tty
from pathlib import Path
from types import TracebackType

from simulators.errors import TransportError
from simulators.transports.base import Link, Transport

DEFAULT_BUFFER = 64 * 1024


class PtyLink(Link):
    def __init__(self, terminal_id: str, path: Path, *, buffer_limit: int) -> None:
        self.terminal_id = terminal_id
        self.path = path
        self._limit = buffer_limit
        self._master: int | None = None
        self._slave: int | None = None
        self.device: str | None = None  #: the current ``/dev/pts/N`` behind :attr:`path`
        self._pending = bytearray()
        self._writing = False
        self.dropped = 0  #: bytes lost because nobody read the port
        self.received = 0  #: bytes the reader wrote to the port (ignored, like a receiver)

    @property
    def is_open(self) -> bool:
        return self._master is not None

    @property
    def remote(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        await self.close()
        try:
            master, slave = os.openpty()
        except OSError as exc:
            raise TransportError(f"{self.terminal_id}: cannot create a pty: {exc}") from exc
        try:
            # raw: no echo back into the master, no CR/LF translation, no line buffering.
            # The slave stays open here so that its settings survive the reader closing and
            # reopening it (ptys reset their termios when the last slave fd closes).
            tty.setraw(slave)
            os.set_blocking(master, False)
            device = os.ttyname(slave)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(device)
            tmp.replace(self.path)  # atomic: the path never points at nothing while up
        except OSError as exc:
            os.close(master)
            os.close(slave)
            raise TransportError(f"{self.terminal_id}: cannot expose {self.path}: {exc}") from exc
        self._master, self._slave, self.device = master, slave, device
        asyncio.get_running_loop().add_reader(master, self._on_readable)

    def _on_readable(self) -> None:
        try:
            # the reader is removed (close) before _master is cleared
            data = os.read(self._master, 4096)  # type: ignore[arg-type]
        except OSError:
            data = b""
        if data:
            self.received += len(data)

    async def send(self, data: bytes) -> None:
        master = self._master
        if master is None:
            raise TransportError(f"{self.terminal_id}: port {self.path} is gone")
        if self._pending:
            self._queue(data)
            return
        try:
            written = os.write(master, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            raise TransportError(f"{self.terminal_id}: write to {self.device} failed: {exc}"
                                 ) from exc
        if written < len(data):
            self._queue(data[written:])

    def _queue(self, rest: bytes) -> None:
        if len(self._pending) + len(rest) > self._limit:
            self.dropped += len(rest)
            return
        self._pending += rest
        if not self._writing and self._master is not None:
            asyncio.get_running_loop().add_writer(self._master, self._on_writable)
            self._writing = True

    def _on_writable(self) -> None:
        master = self._master
        if master is None:
            return
        try:
            written = os.write(master, self._pending)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending)
            self.dropped += written
        del self._pending[:written]
        if not self._pending:
            asyncio.get_running_loop().remove_writer(master)
            self._writing = False

    @property
    def pending(self) -> int:
        """Bytes waiting for the reader to make room."""
        return len(self._pending)

    async def close(self) -> None:
        master, self._master = self._master, None
        slave, self._slave = self._slave, None
        if master is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(master)
        if self._writing:
            loop.remove_writer(master)
            self._writing = False
        self.dropped += len(self._pending)
        self._pending.clear()
        with contextlib.suppress(FileNotFoundError):
            if os.readlink(self.path) == self.device:
                self.path.unlink()
        for fd in (master, slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


class PtyTransport(Transport):
    """Serial terminals as pseudo-terminals, exposed as symlinks in ``directory``.

    Args:
        directory: where the per-terminal symlinks go; a fresh temporary directory (removed
            on exit) when not given.
        buffer_limit: bytes a link keeps while the reader is behind; beyond, reports are
            dropped and counted.
    """

    name = "serial"

    def __init__(self, directory: Path | str | None = None, *,
                 buffer_limit: int = DEFAULT_BUFFER) -> None:
        self._given = Path(directory) if directory is not None else None
        self.directory: Path | None = self._given
        self.buffer_limit = buffer_limit
        self.links: dict[str, PtyLink] = {}
        self._made_dir = False

    async def __aenter__(self) -> PtyTransport:
        if self._given is None:
            self.directory = Path(tempfile.mkdtemp(prefix="fieldgate-pty-"))
            self._made_dir = True
        else:
            try:
                self._given.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a file of that name, no permission
                raise TransportError(f"cannot make the pseudo-terminal directory "
                                     f"{self._given}: {exc.strerror or exc}") from exc
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        for link in self.links.values():
            await link.close()
        if self._made_dir and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def path_for(self, terminal_id: str) -> Path:
        if self.directory is None:
            raise RuntimeError("enter the PtyTransport (async with) before using it")
        return self.directory / terminal_id

    def link(self, terminal_id: str) -> PtyLink:
        link = PtyLink(terminal_id, self.path_for(terminal_id), buffer_limit=self.buffer_limit)
        self.links[terminal_id] = link
        return link

    def describe(self) -> str:
        return f"serial ptys in {self.directory}"
