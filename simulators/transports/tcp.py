"""Plain-NMEA over TCP, the way T55-family terminals do it: ``$PGID,<id>*hh`` then sentences."""

from __future__ import annotations

import asyncio
import contextlib

from devices.nmea import encode
from simulators.errors import SpecError, TransportError
from simulators.transports.base import Link, Transport

#: how long a clean close may wait for the kernel to hand the last bytes over
CLOSE_TIMEOUT_S = 2.0


def parse_host_port(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT``."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        raise SpecError(f"bad address {text!r}: expected HOST:PORT")
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise SpecError(f"bad port in {text!r}") from None
    if not 0 < number < 65536:
        raise SpecError(f"port {number} in {text!r} outside 1..65535")
    return host, number


class TcpLink(Link):
    def __init__(self, terminal_id: str, host: str, port: int, *, identify: bool,
                 connect_timeout: float) -> None:
        self.terminal_id = terminal_id
        self._host, self._port = host, port
        self._identify = identify
        self._timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._peer_closed = False
        self.received = 0  #: bytes the server sent back (acks in later protocols)

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._peer_closed

    @property
    def remote(self) -> str:
        return f"{self._host}:{self._port}"

    async def open(self) -> None:
        await self.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"{self.terminal_id}: cannot connect to {self.remote}: "
                                 f"{exc or type(exc).__name__}") from exc
        self._writer = writer
        self._peer_closed = False
        # the server closing its side is seen here at once, not at the next failed write
        self._reader_task = asyncio.create_task(self._watch(reader),
                                                name=f"sim-tcp-watch-{self.terminal_id}")
        if self._identify:
            await self.send(encode.pgid(self.terminal_id))

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(4096):
                self.received += len(data)
        except OSError:
            pass
        self._peer_closed = True

    async def send(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or self._peer_closed:
            raise TransportError(f"{self.terminal_id}: connection to {self.remote} is closed")
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError) as exc:  # RuntimeError: write on a closing transport
            self._peer_closed = True
            raise TransportError(f"{self.terminal_id}: connection to {self.remote} lost: "
                                 f"{exc}") from exc

    async def close(self) -> None:
        task, self._reader_task = self._reader_task, None
        writer, self._writer = self._writer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)


class TcpTransport(Transport):
    """Each terminal opens its own connection to ``host:port``.

    Args:
        host, port: where the gateway listens.
        identify: send ``$PGID,<terminal id>`` first on every connection (T55 convention).
        connect_timeout: seconds before a connect attempt counts as failed.
    """

    name = "tcp"

    def __init__(self, host: str, port: int, *, identify: bool = True,
                 connect_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.identify = identify
        self.connect_timeout = connect_timeout

    def link(self, terminal_id: str) -> TcpLink:
        return TcpLink(terminal_id, self.host, self.port, identify=self.identify,
                       connect_timeout=self.connect_timeout)

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"
