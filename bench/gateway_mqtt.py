"""Gateway MQTT subscriber: messages/s into a counting sink, against the decoder alone.

A private Mosquitto (``tests.servers.Mosquitto``, on a free port) takes N pre-encoded PUBLISH
packets (``simulators.mqttwire``: no client library on the sending side) from 100 terminals,
``--epochs`` epochs per payload; the subscriber (aiomqtt, QoS 0 or 1, uvloop) hands the
records to a counting sink. Baseline in the same process: the decoder alone on the same payloads,
one ``feed`` per payload. Reported: messages/s and fixes/s, per wall second and per CPU second of
this process (the broker runs in its own), and the ratio to the decoder.

Usage: python -m bench gateway_mqtt [--messages N] [--epochs K] [--qos 0|1]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

TERMINALS = 100


class CountingSink:
    def __init__(self) -> None:
        self.records = 0

    async def session_opened(self, session) -> None:
        pass

    async def publish(self, session, records) -> None:
        self.records += len(records)

    async def session_closed(self, session) -> None:
        pass


def payloads(messages: int, epochs: int) -> list[tuple[str, bytes]]:
    from devices.nmea import encode
    from devices.records import Fix

    t0 = datetime(2026, 11, 29, tzinfo=UTC)
    out = []
    per = messages // TERMINALS
    for t in range(TERMINALS):
        for m in range(per):
            body = b"".join(
                encode.epoch(Fix(t0 + timedelta(seconds=m * epochs + k), 45 + t * 1e-3, 7.0,
                                 10.0, 90.0, 300.0, 8, 1.0, 1))
                for k in range(epochs))
            out.append((f"fieldgate/MQ{t:03d}/nmea", body))
    return out


def decoder_rate(items: list[tuple[str, bytes]]) -> float:
    from devices.nmea import NmeaStream

    streams: dict[str, NmeaStream] = {}
    n = 0
    started = time.perf_counter()
    for topic, body in items:
        stream = streams.get(topic)
        if stream is None:
            stream = streams[topic] = NmeaStream(eager=True)
        n += len(stream.feed(body))
    for stream in streams.values():
        n += len(stream.flush())
    return n / (time.perf_counter() - started)


async def run(items: list[tuple[str, bytes]], qos: int) -> dict:
    from gateway import MqttConfig
    from gateway.mqtt import MqttSubscriber
    from simulators.mqttwire import RawPublisher, publish_packet
    from tests.servers import Mosquitto

    blob = b"".join(publish_packet(topic.encode(), body, qos=qos, packet_id=i % 65000 + 1)
                    for i, (topic, body) in enumerate(items))
    broker = Mosquitto()
    broker.start()
    try:
        sink = CountingSink()
        sub = MqttSubscriber(config=MqttConfig(host=broker.host, port=broker.port, qos=qos,
                                               idle_timeout=600), sink=sink)
        task = asyncio.create_task(sub.run(), name="bench-mqtt")
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        pub = RawPublisher(broker.host, broker.port, "bench-publisher")
        await pub.connect()
        started = time.perf_counter()
        cpu0 = time.process_time()
        for i in range(0, len(blob), 65536):
            await pub.write(memoryview(blob)[i:i + 65536])
        while sub.metrics.reads < len(items):
            await asyncio.sleep(0.005)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        await pub.close()
        await sub.stop()
        await task
    finally:
        broker.close()
    return {"wall": wall, "cpu": cpu, "records": sink.records}


def main(argv: list[str]) -> int:
    import uvloop

    parser = argparse.ArgumentParser(prog="python -m bench gateway_mqtt",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per payload")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1)
    args = parser.parse_args(argv)
    items = payloads(args.messages, args.epochs)
    base = decoder_rate(items)
    r = uvloop.run(run(items, args.qos))
    base = (base + decoder_rate(items)) / 2
    n = len(items)
    print(f"gateway_mqtt: {n:,} messages of {args.epochs} epoch(s), QoS {args.qos}, "
          f"{TERMINALS} terminals, counting sink")
    print(f"  decoder alone (baseline):   {base:12,.0f} fixes/s")
    print(f"  subscriber, wall clock:     {n / r['wall']:12,.0f} messages/s, "
          f"{r['records'] / r['wall']:,.0f} fixes/s")
    print(f"  subscriber, per CPU second: {n / r['cpu']:12,.0f} messages/s, "
          f"{r['records'] / r['cpu']:,.0f} fixes/s")
    print(f"  ratio subscriber (CPU) / decoder alone: {r['records'] / r['cpu'] / base:.2f}")
    return 0
