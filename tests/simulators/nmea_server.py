"""A small real TCP server standing in for the gateway's listener in simulator tests.

Each connection is decoded with ``devices.nmea.NmeaStream`` (the terminal id comes from
``$PGID``) and kept as a :class:`Session`. Options make it misbehave the way a gateway or a
network can: close a connection after some bytes, or refuse to read.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from devices.nmea import NmeaStream
from devices.records import Record


@dataclass
class Session:
    terminal: str | None = None
    data: bytearray = field(default_factory=bytearray)
    records: list[Record] = field(default_factory=list)
    stream: NmeaStream = field(default_factory=lambda: NmeaStream(eager=False))
    closed: bool = False


class NmeaServer:
    def __init__(self, *, close_after: int | None = None, read: bool = True) -> None:
        self.close_after = close_after  #: close each connection once it sent this many bytes
        self.read = read
        self.sessions: list[Session] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> NmeaServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        session = Session()
        self.sessions.append(session)
        try:
            if not self.read:
                await asyncio.Event().wait()
            while data := await reader.read(65536):
                session.data += data
                session.records += session.stream.feed(data)
                session.terminal = session.stream.terminal
                if self.close_after is not None and len(session.data) >= self.close_after:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            session.records += session.stream.flush()
            session.closed = True
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def stop(self) -> None:
        """Stop listening and drop every connection (a gateway going away)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def by_terminal(self) -> dict[str, list[Record]]:
        out: dict[str, list[Record]] = {}
        for s in self.sessions:
            out.setdefault(s.terminal or "?", []).extend(s.records)
        return out

    def rejected(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.sessions:
            for reason, n in s.stream.stats.rejected.items():
                out[reason] = out.get(reason, 0) + n
        return out

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
        """Poll until ``predicate()`` holds (the data is in flight through real sockets)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.01)
