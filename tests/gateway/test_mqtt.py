"""The MQTT subscriber against a real Mosquitto: topics, payloads, sessions, reconnection,
shared subscriptions and backpressure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from gateway.backoff import Backoff, BackoffPolicy
from gateway.config import MqttConfig
from gateway.mqtt import MqttSubscriber
from tests.gateway.memsink import MemorySink
from tests.gateway.nmea_data import epochs, fixes, pgid
from tests.servers import Mosquitto
from tests.waiting import eventually

pytestmark = pytest.mark.mqtt

FAST = BackoffPolicy(initial=0.05, maximum=0.3)


@contextlib.asynccontextmanager
async def subscribed(broker: Mosquitto, sink: MemorySink,
                     **options: object) -> AsyncIterator[MqttSubscriber]:
    options.setdefault("backoff", FAST)
    sub = MqttSubscriber(config=MqttConfig(host=broker.host, port=broker.port, **options),
                         sink=sink)
    task = asyncio.create_task(sub.run(), name="mqtt-subscriber")
    try:
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        yield sub
    finally:
        sink.unblock()  # a failed assertion must not leave the subscriber stuck in the sink
        await asyncio.wait_for(sub.stop(), 20)
        await task


@contextlib.asynccontextmanager
async def publisher(broker: Mosquitto) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(broker.host, broker.port, max_queued_outgoing_messages=0) as client:
        yield client


def topic(terminal: str) -> str:
    return f"fieldgate/{terminal}/nmea"


@pytest.mark.parametrize("qos", [0, 1])
async def test_messages_become_records_in_one_session_per_topic(mqtt_broker: Mosquitto,
                                                                qos: int) -> None:
    sink = MemorySink()
    plan = {f"Q{qos}T{i}": fixes(6, terminal=f"Q{qos}T{i}", lat=20 + i) for i in range(4)}
    async with subscribed(mqtt_broker, sink, qos=qos) as sub, publisher(mqtt_broker) as pub:
        for i in range(6):
            for name, items in plan.items():
                payload = epochs(items[i:i + 1])
                if i == 5:
                    payload = payload.rstrip(b"\r\n")  # the last line may come unterminated
                if i == 3 and name.endswith("T0"):
                    # ids are the topic's: a $PGID inside a payload does not move the session
                    payload = pgid("SOMEONEELSE") + payload
                await pub.publish(topic(name), payload, qos=qos)
        await eventually(lambda: sum(sink.count(n) for n in plan) == 24)
        assert sub.sessions == 4
    assert sink.records == plan
    assert sorted(s.terminal_id for s in sink.closed) == sorted(plan)
    assert all(s.remote.endswith(f"/fieldgate/{s.terminal_id}/nmea") for s in sink.opened)
    assert sub.metrics.reads == 24 and sub.metrics.rejects == {}


async def test_bad_topics_and_payloads_are_counted_and_skipped(mqtt_broker: Mosquitto) -> None:
    sink = MemorySink()
    good = fixes(3, terminal="GOOD1")
    async with subscribed(mqtt_broker, sink, max_payload=4096) as sub, \
            publisher(mqtt_broker) as pub:
        for bad in ("fieldgate/with space/nmea", "fieldgate//nmea", "fieldgate/" + "x" * 65
                    + "/nmea", "fieldgate/caf\u00e9/nmea"):
            await pub.publish(bad, epochs(fixes(1)), qos=1)
        await pub.publish(topic("GOOD1"), b"", qos=1)
        await pub.publish(topic("GOOD1"), b"$GPRMC," + b"1" * 5000, qos=1)
        await pub.publish(topic("GOOD1"), bytes(range(256)) * 3, qos=1)
        await pub.publish(topic("GOOD1"), epochs(good), qos=1)
        await eventually(lambda: sub.metrics.reads == 8)
    # (the last epoch after the noise may wait for the session's close: the decoder learns
    # nothing about cycle ends from an epoch a refused line went through)
    assert sub.metrics.rejects == {"bad_topic": 4, "empty_payload": 1, "oversize": 1}
    assert sink.records == {"GOOD1": good}
    assert sink.closed[0].rejected >= 1  # the binary noise, counted by the decoder


async def test_idle_sessions_are_closed_and_flushed(mqtt_broker: Mosquitto) -> None:
    sink = MemorySink()
    items = fixes(2, terminal="IDLEM")
    async with subscribed(mqtt_broker, sink, idle_timeout=0.2) as sub, \
            publisher(mqtt_broker) as pub:
        await pub.publish(topic("IDLEM"), epochs(items), qos=1)
        await eventually(lambda: len(sink.closed) == 1)
        # the second epoch was still open (no cycle end learnt yet): the close flushed it
        assert sink.records == {"IDLEM": items}
        assert sub.sessions == 0 and sub.metrics.disconnects.get("idle") == 1
        await pub.publish(topic("IDLEM"), epochs(fixes(1, start=2, terminal="IDLEM")), qos=1)
        await eventually(lambda: len(sink.opened) == 2)
    assert sink.count("IDLEM") == 3


async def test_broker_restart_reconnects_and_carries_on(mqtt_broker_factory) -> None:
    broker = mqtt_broker_factory()
    broker.start()
    sink = MemorySink()
    items = fixes(6, terminal="RC1")
    async with subscribed(broker, sink, qos=1) as sub:
        async with publisher(broker) as pub:
            await pub.publish(topic("RC1"), epochs(items[:3]), qos=1)
        await eventually(lambda: sink.count("RC1") == 3)
        broker.stop()
        await eventually(lambda: not sub.subscribed.is_set())
        # attempts against the stopped broker fail, and are counted
        await eventually(lambda: sub.metrics.refused.get("connect_failed", 0) >= 2)
        broker.start()
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        async with publisher(broker) as pub:
            await pub.publish(topic("RC1"), epochs(items[3:]), qos=1)
        await eventually(lambda: sink.count("RC1") == 6)
        assert sub.metrics.disconnects.get("broker_lost") == 1
        assert sub.metrics.connections_total == 2
        assert sub.sessions == 1  # the terminal's session outlived the broker outage
    assert sink.records == {"RC1": items}


async def test_shared_subscription_splits_messages_between_gateways(
        mqtt_broker: Mosquitto) -> None:
    sinks = [MemorySink(), MemorySink()]
    plan = {f"SH{i:02d}": fixes(10, terminal=f"SH{i:02d}", lat=30 + i) for i in range(10)}
    async with subscribed(mqtt_broker, sinks[0], share_group="gw") as one, \
            subscribed(mqtt_broker, sinks[1], share_group="gw") as two, \
            publisher(mqtt_broker) as pub:
        assert one.config.topic == "$share/gw/fieldgate/+/nmea"
        for i in range(10):
            for name, items in plan.items():
                await pub.publish(topic(name), epochs(items[i:i + 1]), qos=1)
        await eventually(lambda: one.metrics.reads + two.metrics.reads == 100)
    # both took part, and every message was handled by exactly one of them
    assert one.metrics.reads > 10 and two.metrics.reads > 10
    for name, items in plan.items():
        got = sinks[0].records.get(name, []) + sinks[1].records.get(name, [])
        assert sorted(got, key=lambda f: f.time) == items


async def test_blocked_sink_holds_qos1_messages_at_the_broker(mqtt_broker: Mosquitto) -> None:
    sink = MemorySink()
    n = 300
    items = fixes(n, terminal="BPQ1")
    async with subscribed(mqtt_broker, sink, qos=1) as sub, publisher(mqtt_broker) as pub:
        await pub.publish(topic("BPQ1"), epochs(items[:3]), qos=1)
        await eventually(lambda: sink.count("BPQ1") == 3)
        sink.block()
        for f in items[3:]:
            await pub.publish(topic("BPQ1"), epochs([f]), qos=1)  # acked by the broker
        await eventually(lambda: sink.waiting == 1)
        await asyncio.sleep(0.3)
        # unacknowledged messages fill the broker's in-flight window (20 by default), then the
        # broker holds the rest: the gateway does not buffer them
        assert sub.queued <= 25
        sink.unblock()
        await eventually(lambda: sink.count("BPQ1") >= n - 1, timeout=20)
    assert sink.records["BPQ1"] == items


async def test_blocked_sink_stops_reading_the_socket_for_qos0(mqtt_broker: Mosquitto) -> None:
    sink = MemorySink()
    n = 3000
    items = fixes(n, terminal="BPQ0")
    async with subscribed(mqtt_broker, sink, qos=0, high_water=50) as sub, \
            publisher(mqtt_broker) as pub:
        await pub.publish(topic("BPQ0"), epochs(items[:3]), qos=0)
        await eventually(lambda: sink.count("BPQ0") == 3)
        sink.block()
        for f in items[3:]:
            await pub.publish(topic("BPQ0"), epochs([f]), qos=0)
        await eventually(lambda: sub.metrics.paused == 1)
        await asyncio.sleep(0.3)
        held = sub.queued
        await asyncio.sleep(0.3)
        # the socket is not read past the high-water mark: what one read had already brought
        # in when the queue crossed it stays, and nothing more comes (seen: 50-71 queued, one
        # read carries many small QoS 0 messages)
        assert 50 <= held < 200 and sub.queued == held
        reads = sub.metrics.reads
        sink.unblock()
        await eventually(lambda: sink.count("BPQ0") >= n - 1, timeout=20)
        assert sub.metrics.paused == 0 and sub.metrics.pauses >= 1
        assert reads < 10
    # nothing was lost: the kernel, the TCP window and the broker held the rest
    assert sink.records["BPQ0"] == items


def test_backoff_is_capped_and_jittered() -> None:
    import random

    backoff = Backoff(policy=BackoffPolicy(initial=0.1, maximum=1.0, factor=2, jitter=0.5),
                      rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(1.0, 0.1 * 2 ** i) for i in range(10)]
    assert all(c * 0.5 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == 10  # jittered, not lockstep
    backoff.reset()
    assert backoff.next_delay() <= 0.1
