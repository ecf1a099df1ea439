"""What aiomqtt does not offer and the gateway needs: manual acknowledgement and flow control.

aiomqtt (2.x) reads every message off the socket into an unbounded queue and lets paho-mqtt
acknowledge a QoS 1 message the moment it is parsed. A gateway that must not lose accepted
messages and must push back on the broker when its sink is full needs instead:

- **manual acks**: paho's ``manual_ack`` mode, and ``ack(mid, qos)`` once the sink has taken the
  message's records. Unacknowledged QoS 1 messages stay the broker's responsibility, and the
  broker stops sending QoS 1 messages once its in-flight window for this client is full.
- **socket pause**: when more than ``high_water`` messages wait in the queue (the consumer is
  blocked on the sink), stop reading the socket (``loop.remove_reader``) so that QoS 0 traffic
  backs up into the kernel, the TCP window and the broker's queue too; start again below half.
- **reading in bursts**: paho reads one packet per ``loop_read()``, and aiomqtt calls it once
  per readable event, so each message cost a turn of the event loop, and each acknowledgement
  its own writer registration. The gateway's reader (:meth:`SocketPause.take_over`) reads every
  whole packet already in the socket's buffer at once (up to ``BURST``), so a burst of messages
  is handled, and acknowledged, within one turn.

Both reach into aiomqtt's paho client (``Client._client``) and mirror its socket read callback;
that is confined to this module, pinned by ``aiomqtt>=2.3,<3`` and covered by the MQTT tests
(backpressure with QoS 0 and 1 on a real broker).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import termios
from collections.abc import Callable
from typing import Any

import aiomqtt

log = logging.getLogger(__name__)


def paho_of(client: aiomqtt.Client) -> Any:
    return client._client


def enable_manual_ack(client: aiomqtt.Client) -> None:
    paho_of(client).manual_ack_set(True)


def ack(client: aiomqtt.Client, mid: int, qos: int) -> None:
    if qos:
        paho_of(client).ack(mid, qos)


class FlowQueue(asyncio.Queue):
    """The message queue aiomqtt fills (passed as its ``queue_type``), shared by every
    connection of one subscriber, with high/low water marks calling ``on_high`` / ``on_low``.

    Items are ``(generation, message)``: the generation of the connection that received the
    message, so that a message received on a connection that has since gone is never
    acknowledged on its successor (message ids are per connection).
    """

    def __init__(self, *, high_water: int) -> None:
        super().__init__()
        self.high_water = high_water
        self.low_water = high_water // 2
        self.generation = 0
        self.above = False
        self.on_high: Callable[[], None] = _nothing
        self.on_low: Callable[[], None] = _nothing

    def factory(self, maxsize: int = 0) -> FlowQueue:
        """What to pass as aiomqtt's ``queue_type``: every client gets this same queue."""
        return self

    def put_nowait(self, item: Any) -> None:
        super().put_nowait((self.generation, item))
        if not self.above and self.qsize() >= self.high_water:
            self.above = True
            self.on_high()

    def put_control(self, item: Any) -> None:
        """Queue a control item (sweep, stop) in order with the messages."""
        super().put_nowait((-1, item))

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        if self.above and self.qsize() <= self.low_water:
            self.above = False
            self.on_low()
        return item


def _nothing() -> None:
    pass


#: most packets read per readable event: a bound on one turn of the event loop
BURST = 256
_INT = b"\0\0\0\0"


def _buffered(sock: Any) -> int:
    """Bytes waiting in the socket (kernel buffer, or decrypted TLS data)."""
    pending = getattr(sock, "pending", None)
    if pending is not None and pending() > 0:
        return 1
    try:
        return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, _INT), "little")
    except OSError:
        return 0


class SocketPause:
    """Reads an aiomqtt client's socket in bursts; stops and restarts reading it."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._sock: Any = None
        self.paused = False

    def pause(self) -> bool:
        sock = paho_of(self._client).socket()
        if sock is None or self.paused:
            return False
        try:
            fd = sock.fileno()
        except OSError:
            return False
        if fd < 0:
            return False
        asyncio.get_running_loop().remove_reader(fd)
        self._sock = sock
        self.paused = True
        return True

    def resume(self) -> bool:
        if not self.paused:
            return False
        self.paused = False
        sock, self._sock = self._sock, None
        paho = paho_of(self._client)
        # after a reconnection aiomqtt has registered its own reader on the new socket
        if paho.socket() is not sock:
            return False
        try:
            fd = sock.fileno()
        except OSError:
            return False
        if fd < 0:
            return False
        asyncio.get_running_loop().add_reader(fd, self._readable)
        return True

    def take_over(self) -> bool:
        """Replace aiomqtt's reader callback of the current socket with :meth:`_readable`."""
        sock = paho_of(self._client).socket()
        if sock is None or self.paused:
            return False
        try:
            fd = sock.fileno()
        except OSError:
            return False
        if fd < 0:
            return False
        loop = asyncio.get_running_loop()
        loop.remove_reader(fd)
        loop.add_reader(fd, self._readable)
        return True

    def _readable(self) -> None:
        # aiomqtt's own reader callback, reading every whole packet waiting: on a broken
        # socket tell the client it is disconnected so that its message iterator raises
        client = self._client
        paho = paho_of(client)
        try:
            for _ in range(BURST):
                paho.loop_read()
                sock = paho.socket()
                if sock is None or not _buffered(sock):
                    break
        except Exception as exc:  # noqa: BLE001 - handed to the client like aiomqtt does
            disconnected = client._disconnected
            if not disconnected.done():
                disconnected.set_exception(exc)
