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
- **reading in bursts, framing here**: paho reads one packet per ``loop_read()`` (three
  ``recv`` calls), and aiomqtt calls it once per readable event, so each message cost a turn
  of the event loop, and each acknowledgement its own writer registration; each message also
  cost an ``MQTTMessage``, a topic match under two locks and aiomqtt's ``Message``. The
  gateway's reader (:meth:`SocketPause.take_over`) reads up to ``READ_SIZE`` bytes at once and
  frames them itself: PUBLISH packets (MQTT 3.1.1, QoS 0/1) go to the queue as
  :class:`Publish`; every other packet goes to paho's own handler. A burst of messages is
  handled, and acknowledged, within one turn.

All of it reaches into aiomqtt's paho client (``Client._client``: its socket, its packet
handler, its connection-lost handling) and replaces its socket read callback; that is confined
to this module, pinned by ``aiomqtt>=2.3,<3`` and ``paho-mqtt>=2.1,<2.3``, and covered by the
MQTT tests (backpressure with QoS 0 and 1, reconnection, a broker that goes away, on a real
broker).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

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


#: bytes read per readable event (one ``recv``): a bound on one turn of the event loop, and on
#: how far past ``high_water`` one read can take the queue
READ_SIZE = 64 * 1024
_PUBLISH = 0x30


def _paho_packet(command: int = 0, length: int = 0, body: bytearray | None = None,
                 length_bytes: bytes | bytearray = b"") -> dict[str, Any]:
    """paho's reader state (``Client._in_packet``): a whole packet read (``command`` set), or
    none (the state paho's reader leaves between packets)."""
    return {"command": command, "have_remaining": 1 if command else 0,
            "remaining_count": list(length_bytes), "remaining_mult": 1,
            "remaining_length": length, "packet": body if body is not None else bytearray(),
            "to_process": 0, "pos": 0}


class Publish:
    """A PUBLISH as the reader takes it off the wire: the topic's bytes, the payload, its QoS
    and packet id (0 at QoS 0)."""

    __slots__ = ("mid", "payload", "qos", "topic")

    def __init__(self, topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.mid = mid


class SocketPause:
    """Reads an aiomqtt client's socket in bursts; stops and restarts reading it."""

    def __init__(self, client: aiomqtt.Client, queue: FlowQueue) -> None:
        self._client = client
        self.queue = queue
        self._sock: Any = None
        self._buf = bytearray()  # the start of a packet not all read yet
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
        # the gateway's reader, unless paho is inside a packet (take_over declined): then
        # paho's own reading, as aiomqtt registers it, until the next pause
        reader = self._paho_readable if paho._in_packet["command"] else self._readable
        asyncio.get_running_loop().add_reader(fd, reader)
        return True

    def take_over(self) -> bool:
        """Replace aiomqtt's reader callback of the current socket with :meth:`_readable`."""
        paho = paho_of(self._client)
        sock = paho.socket()
        if sock is None or self.paused or paho._in_packet["command"]:
            return False  # paho is inside a packet: its reader goes on (and aiomqtt's queue)
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
        """Read what the socket has (one ``recv``; plain TCP: the gateway's MQTT settings have
        no TLS) and frame it (:meth:`_frames`)."""
        client = self._client
        paho = paho_of(client)
        sock = paho.socket()
        if sock is None:
            return
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self._lost(paho, MQTTErrorCode.MQTT_ERR_CONN_LOST)
            return
        if not data:  # the broker closed the connection
            self._lost(paho, MQTTErrorCode.MQTT_ERR_CONN_LOST)
            return
        buf = self._buf
        buf += data
        with paho._msgtime_mutex:
            paho._last_bytes_received = mqtt.time_func()  # paho's keepalive clock
        rc = self._frames(paho, buf)
        if rc:
            self._lost(paho, rc)

    def _frames(self, paho: Any, buf: bytearray) -> MQTTErrorCode:
        """Take every whole packet off the front of ``buf``: PUBLISH packets (MQTT 3.1.1, QoS
        0 and 1) to the queue as :class:`Publish`, every other packet (SUBACK, PINGRESP...)
        to paho's own handler, as its reader would; a protocol error is returned."""
        put = self.queue.put_nowait
        fast = paho._protocol in (mqtt.MQTTv31, mqtt.MQTTv311)
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            command = buf[pos]
            length = shift = 0
            i = pos + 1
            whole = False
            while i < n:  # the remaining length: 1 to 4 bytes, 7 bits each
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    whole = True
                    break
                shift += 7
                if shift == 28:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL
            if not whole:
                break
            end = i + length
            if end > n:
                break
            qos = (command >> 1) & 3
            if command & 0xF0 == _PUBLISH and qos < 2 and fast:
                if length < 2:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL
                topic_end = i + 2 + (buf[i] << 8 | buf[i + 1])
                start = topic_end + 2 if qos else topic_end
                if start > end:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL
                mid = buf[topic_end] << 8 | buf[topic_end + 1] if qos else 0
                put(Publish(bytes(buf[i + 2:topic_end]), bytes(buf[start:end]), qos, mid))
            else:
                paho._in_packet = _paho_packet(command, length, buf[i:end], buf[pos + 1:i])
                try:
                    rc = paho._packet_handle()
                except MalformedPacket:
                    rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                finally:
                    paho._in_packet = _paho_packet()
                if rc:
                    return rc
            pos = end
        del buf[:pos]
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _paho_readable(self) -> None:
        """paho reading a packet at a time, as aiomqtt's own reader callback does."""
        try:
            paho_of(self._client).loop_read()
        except Exception as exc:  # noqa: BLE001 - handed to the client like aiomqtt does
            self._disconnected(exc)

    def _lost(self, paho: Any, rc: MQTTErrorCode) -> None:
        """The connection is unusable: tell paho, as its reader would, so that the client
        reports it disconnected and its message iterator raises."""
        self._buf.clear()
        try:
            paho._loop_rc_handle(rc)
        except Exception as exc:  # noqa: BLE001 - handed to the client like aiomqtt does
            self._disconnected(exc)

    def _disconnected(self, exc: Exception) -> None:
        disconnected = self._client._disconnected
        if not disconnected.done():
            disconnected.set_exception(exc)
