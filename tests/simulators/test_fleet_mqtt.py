"""Fleets publishing to a real Mosquitto, read back by a real aiomqtt subscriber."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import aiomqtt
import pytest

from devices.nmea import NmeaStream, Reject
from devices.records import Fix, NoFix
from simulators.clock import ScaledClock
from simulators.errors import SpecError
from simulators.faults import parse_fault
from simulators.fleet import Fleet
from simulators.transports import Backoff, MqttTransport, parse_mqtt_url
from simulators.truth import TruthLog
from tests.waiting import eventually

pytestmark = pytest.mark.mqtt

START = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)


class Subscriber:
    """Collects every message on fieldgate/+/nmea."""

    def __init__(self, host: str, port: int) -> None:
        self.client = aiomqtt.Client(host, port, identifier="fg-test-sub")
        self.messages: list[tuple[str, bytes, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Subscriber:
        await self.client.__aenter__()
        await self.client.subscribe("fieldgate/+/nmea", qos=1)
        self._task = asyncio.create_task(self._collect(), name="test-mqtt-subscriber")
        return self

    async def _collect(self) -> None:
        async for message in self.client.messages:
            self.messages.append((str(message.topic), bytes(message.payload), message.qos))

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.client.__aexit__(None, None, None)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")
            await asyncio.sleep(0.01)


def decode_topics(messages: list[tuple[str, bytes, int]]) -> tuple[dict[str, list], NmeaStream]:
    streams: dict[str, NmeaStream] = {}
    out: dict[str, list] = {}
    for topic, payload, _ in messages:
        tid = topic.split("/")[1]
        stream = streams.setdefault(tid, NmeaStream(eager=False, terminal=tid))
        out.setdefault(tid, []).extend(stream.feed(payload))
    total = NmeaStream(eager=False)
    for tid, stream in streams.items():
        out[tid] += stream.flush()
        for reason, n in stream.stats.rejected.items():
            total.stats.reject(reason, n)
    return out, total


@pytest.mark.parametrize("qos", [0, 1])
async def test_each_terminal_publishes_its_epochs_on_its_topic(mqtt_broker, qos: int) -> None:
    truth = TruthLog()
    async with Subscriber(mqtt_broker.host, mqtt_broker.port) as sub:
        fleet = Fleet(transport=MqttTransport(mqtt_broker.host, mqtt_broker.port, qos=qos),
                      terminals=3, duration=20, clock=ScaledClock(speed=100, start=START),
                      truth=truth, faults=[parse_fault("SIM0003/no_fix@5s+5s")])
        async with fleet:
            await fleet.wait()
        await sub.wait_for(60)
    assert {t for t, _, _ in sub.messages} == {f"fieldgate/{i}/nmea" for i in fleet.ids}
    assert {q for _, _, q in sub.messages} == {qos}
    # one message per report: the epoch's sentences separated by CR/LF
    assert all(p.count(b"\r\n") == 2 and p.startswith(b"$GP") for _, p, _ in sub.messages)
    got, _ = decode_topics(sub.messages)
    for tid in fleet.ids:
        sent = [r.record for r in truth if r.terminal_id == tid]
        received = [r for r in got[tid]]
        assert [r.time for r in received] == [r.time for r in sent]
        fixes = [r for r in received if isinstance(r, Fix)]
        assert [(f.lat, f.lon) for f in fixes] == [(s.lat, s.lon) for s in sent
                                                   if isinstance(s, Fix)]
    assert sum(isinstance(r, NoFix) for r in got["SIM0003"]) == 5
    assert fleet.stats.connects == 3 and fleet.stats.reconnects == 0


async def test_checksum_faults_reach_the_subscriber_as_rejects(mqtt_broker) -> None:
    async with Subscriber(mqtt_broker.host, mqtt_broker.port) as sub:
        fleet = Fleet(transport=MqttTransport(mqtt_broker.host, mqtt_broker.port, qos=1),
                      terminals=2, duration=10, clock=ScaledClock(speed=100, start=START),
                      faults=[parse_fault("checksum:0.5"), parse_fault("garbage:0.5")])
        async with fleet:
            await fleet.wait()
        await sub.wait_for(20)
    _, total = decode_topics(sub.messages)
    assert total.stats.rejected[Reject.BAD_CHECKSUM] == fleet.stats.corrupted > 0
    assert total.stats.rejected[Reject.NO_SENTENCE] == fleet.stats.noise_lines > 0


async def test_storms_and_drops_disconnect_the_mqtt_client(mqtt_broker) -> None:
    fleet = Fleet(transport=MqttTransport(mqtt_broker.host, mqtt_broker.port), terminals=2,
                  duration=12, clock=ScaledClock(speed=50, start=START),
                  faults=[parse_fault("SIM0001/storm:every=1s@2s+3s"),
                          parse_fault("SIM0002/silent:drop@4s+4s")])
    async with fleet:
        await fleet.wait()
    assert fleet.stats.reconnects == 3 + 1
    assert fleet.stats.silent == 4


async def test_a_broker_outage_is_ridden_out_with_reconnects(mqtt_broker_factory) -> None:
    broker = mqtt_broker_factory()
    broker.start()
    fleet = Fleet(transport=MqttTransport(broker.host, broker.port, timeout=1.0), terminals=2,
                  clock=ScaledClock(speed=20, start=START),
                  backoff=Backoff(initial=0.5, maximum=2.0))
    async with fleet:
        await eventually(lambda: fleet.stats.sent_reports >= 4)
        broker.stop()
        await eventually(lambda: fleet.stats.send_failures + fleet.stats.connect_failures >= 2)
        broker.start()
        sent = fleet.stats.sent_reports
        await eventually(lambda: fleet.stats.sent_reports >= sent + 4)
    assert fleet.stats.reconnects >= 2
    assert fleet.stats.lost >= 1


def test_broker_urls() -> None:
    assert parse_mqtt_url("mqtt://broker.example:1884") == ("broker.example", 1884)
    assert parse_mqtt_url("mqtt://10.0.0.1") == ("10.0.0.1", 1883)
    for bad in ("tcp://x:1", "mqtt://", "mqtt://h:99999", "mqtt://h/topic"):
        with pytest.raises(SpecError):
            parse_mqtt_url(bad)
    with pytest.raises(SpecError):
        MqttTransport("h", qos=2)
