"""The gateway's MQTT reader (gateway.mqtt_flow): the framing it does in place of paho's, held
to the packets as encoded, on any split of the bytes; packets it does not take itself go to
paho's own handler; a malformed stream is a lost connection, never an exception."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import MQTTErrorCode

from gateway.mqtt_flow import FlowQueue, Publish, SocketPause, paho_of
from tests.servers import Mosquitto


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: bytes, payload: bytes, qos: int, mid: int, *, dup: bool = False,
            retain: bool = False) -> bytes:
    body = len(topic).to_bytes(2) + topic + (mid.to_bytes(2) if qos else b"") + payload
    command = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    return bytes((command,)) + _remaining(len(body)) + body


PINGRESP = b"\xd0\x00"

messages = st.lists(st.tuples(
    st.binary(min_size=1, max_size=40), st.binary(max_size=300), st.integers(0, 1),
    st.integers(1, 0xFFFF), st.booleans(), st.booleans()), max_size=30)


def _reader() -> tuple[SocketPause, FlowQueue, aiomqtt.Client]:
    async def client_of() -> aiomqtt.Client:  # never connected: only its paho state is used
        return aiomqtt.Client("127.0.0.1")

    with asyncio.Runner() as runner:
        client = runner.run(client_of())
    queue = FlowQueue(high_water=10_000)
    return SocketPause(client, queue), queue, client


def _taken(queue: FlowQueue) -> list[tuple]:
    out = []
    while not queue.empty():
        _generation, item = queue.get_nowait()
        assert isinstance(item, Publish)
        out.append((item.topic, item.payload, item.qos, item.mid))
    return out


@settings(max_examples=300, deadline=None)
@given(messages, st.data())
def test_publishes_are_framed_on_any_split(items, data):
    reader, queue, client = _reader()
    paho = paho_of(client)
    wire = b"".join(publish(t, p, q, m, dup=d, retain=r) + (PINGRESP if i % 3 == 0 else b"")
                    for i, (t, p, q, m, d, r) in enumerate(items))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    buf = bytearray()
    last = 0
    for cut in [*cuts, len(wire)]:
        buf += wire[last:cut]
        last = cut
        assert reader._frames(paho, buf) == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert buf == bytearray()  # every whole packet taken, nothing left over
    assert _taken(queue) == [(t, p, q, m if q else 0) for t, p, q, m, _d, _r in items]
    assert paho._in_packet["command"] == 0  # paho's own state left as its reader leaves it


def test_a_packet_longer_than_a_read_waits_for_its_end():
    reader, queue, client = _reader()
    packet = publish(b"fieldgate/T1/nmea", b"$" * 200_000, 1, 7)
    buf = bytearray(packet[:65_536])
    assert reader._frames(paho_of(client), buf) == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert queue.empty() and len(buf) == 65_536
    buf += packet[65_536:]
    reader._frames(paho_of(client), buf)
    assert _taken(queue) == [(b"fieldgate/T1/nmea", b"$" * 200_000, 1, 7)]


@given(st.binary(max_size=200))
def test_any_bytes_never_raise(raw):
    reader, _queue, client = _reader()
    buf = bytearray(raw)
    rc = reader._frames(paho_of(client), buf)
    assert isinstance(rc, MQTTErrorCode)


def test_malformed_packets_are_a_protocol_error():
    reader, queue, client = _reader()
    paho = paho_of(client)
    # a remaining length of five bytes; a topic length past the packet's end
    assert reader._frames(paho, bytearray(b"\x30\xff\xff\xff\xff\x01")) == (
        MQTTErrorCode.MQTT_ERR_PROTOCOL)
    assert reader._frames(paho, bytearray(b"\x32\x03\x00\x09a")) == (
        MQTTErrorCode.MQTT_ERR_PROTOCOL)
    # an unknown packet type goes to paho, which refuses it
    assert reader._frames(paho, bytearray(b"\x00\x00")) == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert queue.empty()


def _reader_callback(client: aiomqtt.Client):
    fd = paho_of(client).socket().fileno()
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    reader_handle, _writer = selector.get_key(fd).data
    return reader_handle._callback


@pytest.mark.mqtt
async def test_the_reader_switches_only_where_paho_holds_no_partial_packet(
        mqtt_broker: Mosquitto) -> None:
    """The gateway's reader takes over from paho's only between packets: paho inside a packet
    keeps its own reading (take_over declines; a resume after a pause gives it paho's), and a
    resume with paho between packets gives the gateway's."""
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as client:
        paho = paho_of(client)
        reader = SocketPause(client, FlowQueue(high_water=10))
        paho._in_packet["command"] = 0x30  # as if paho had read a PUBLISH's first byte
        assert reader.take_over() is False
        assert reader.pause() is True
        assert reader.resume() is True
        assert _reader_callback(client) == reader._paho_readable
        paho._in_packet["command"] = 0
        assert reader.pause() is True and reader.resume() is True
        assert _reader_callback(client) == reader._readable
        assert reader.pause() is True
        reader.resume()
        assert reader.take_over() is True and _reader_callback(client) == reader._readable
