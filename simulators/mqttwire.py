"""Just enough MQTT 3.1.1 on the wire for load generation: CONNECT, PUBLISH (QoS 0/1),
PUBACK, PINGREQ, DISCONNECT.

The fleet's MQTT transport is a real client (aiomqtt); a client library, though, spends tens of
microseconds of Python per message, which on a two-core machine is CPU taken from the gateway
under test. Load runs therefore pre-encode their PUBLISH packets and write them in large
chunks over a plain asyncio connection, as they do for TCP.
"""

from __future__ import annotations

import asyncio
import struct

from simulators.errors import TransportError

CONNECT, CONNACK, PUBLISH, PUBACK = 0x10, 0x20, 0x30, 0x40
PINGREQ, PINGRESP, DISCONNECT = 0xC0, 0xD0, 0xE0
#: MQTT's ceiling for one packet's remaining length
MAX_REMAINING = 268_435_455


def remaining_length(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING:
        raise ValueError(f"MQTT packet of {n} bytes is too large")
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: bytes) -> bytes:
    return struct.pack("!H", len(text)) + text


def connect_packet(client_id: str, *, keepalive: int = 0) -> bytes:
    """CONNECT with a clean session; keepalive 0 (no pings needed during a burst)."""
    body = _string(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive)
    body += _string(client_id.encode("utf-8"))
    return bytes([CONNECT]) + remaining_length(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, *, qos: int = 0, packet_id: int = 0) -> bytes:
    head = _string(topic)
    if qos:
        head += struct.pack("!H", packet_id)
    return (bytes([PUBLISH | (qos << 1)]) + remaining_length(len(head) + len(payload)) + head
            + payload)


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One packet from the broker: ``(type and flags byte, body)``."""
    first = (await reader.readexactly(1))[0]
    n, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 21:
            raise TransportError("malformed MQTT remaining length from the broker")
    return first, await reader.readexactly(n) if n else b""


class RawPublisher:
    """One MQTT connection that writes pre-encoded PUBLISH packets.

    QoS 1 acknowledgements are counted by a reader task; :meth:`fence` returns once the broker
    has answered a PINGREQ sent after everything else, which, since a broker handles a
    connection's packets in order, means it has read every PUBLISH before it.
    """

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self.host, self.port, self.client_id = host, port, client_id
        self.acked = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pong = asyncio.Event()
        self._acks = asyncio.Event()

    # a connect timeout, like asyncio.open_connection's callers pass: the caller's whole
    # budget for TCP and CONNACK, not a cancellation scope it could open itself
    async def connect(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        where = f"mqtt://{self.host}:{self.port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), timeout)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {where}: {exc}") from exc
        self._reader, self._writer = reader, writer
        writer.write(connect_packet(self.client_id))
        try:
            kind, body = await asyncio.wait_for(read_packet(reader), timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise TransportError(f"{where} did not answer CONNECT: {exc!r}") from exc
        if kind != CONNACK or len(body) != 2 or body[1] != 0:
            await self.close()
            raise TransportError(f"{where} refused the connection (CONNACK {body.hex()})")
        self._task = asyncio.create_task(self._read(), name=f"mqtt-raw-{self.client_id}")

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                kind, _ = await read_packet(self._reader)
                if kind & 0xF0 == PUBACK:
                    self.acked += 1
                    self._acks.set()
                elif kind & 0xF0 == PINGRESP:
                    self._pong.set()
        except (OSError, asyncio.IncompleteReadError):
            self._acks.set()  # wake waiters: the connection is gone
            self._pong.set()

    @property
    def lost(self) -> bool:
        return self._task is None or self._task.done()

    async def write(self, data: bytes | memoryview) -> None:
        writer = self._writer
        if writer is None or self.lost:
            raise TransportError(f"connection to mqtt://{self.host}:{self.port} is closed")
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"connection to mqtt://{self.host}:{self.port} lost: {exc}"
                                 ) from exc

    async def wait_acked(self, count: int) -> None:
        """Until ``count`` QoS 1 publishes were acknowledged."""
        while self.acked < count:
            if self.lost:
                raise TransportError(f"broker closed the connection after {self.acked} acks")
            self._acks.clear()
            await self._acks.wait()

    async def fence(self) -> None:
        self._pong.clear()
        await self.write(bytes([PINGREQ, 0]))
        await self._pong.wait()
        if self.lost:
            raise TransportError("broker closed the connection before answering PINGREQ")

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                if not self.lost:
                    writer.write(bytes([DISCONNECT, 0]))
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 5)
            except (OSError, TimeoutError, RuntimeError):
                pass
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
