"""The Gateway service: all transports at once, clean shutdown, Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.request

import aiomqtt
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway import (
    BackoffPolicy,
    Gateway,
    GatewayConfig,
    MqttConfig,
    SerialPortConfig,
    TcpConfig,
    TcpLimits,
)
from gateway.metrics_http import MetricsEndpoint, private_registry
from tests.gateway.memsink import MemorySink
from tests.gateway.nmea_data import epochs, fixes, pgid
from tests.gateway.test_serial import PtyPair, ptys  # noqa: F401 - fixture
from tests.servers import Mosquitto
from tests.waiting import eventually


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    text = generate_latest(registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.mark.mqtt
@pytest.mark.serial
async def test_all_transports_at_once_then_a_clean_shutdown(mqtt_broker: Mosquitto,
                                                            ptys: PtyPair) -> None:  # noqa: F811 - the imported pytest fixture, requested by name
    ptys.start()
    sink = MemorySink()
    config = GatewayConfig(
        tcp=TcpConfig(host="127.0.0.1", port=0),
        mqtt=MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port,
                        backoff=BackoffPolicy(initial=0.05, maximum=0.2)),
        serial=(SerialPortConfig(device=str(ptys.a), terminal_id="GWSER"),),
    )
    registry = CollectorRegistry()
    with contextlib.ExitStack() as cleanup:
        await _all_transports(config, sink, registry, mqtt_broker, ptys, cleanup)


async def _all_transports(config: GatewayConfig, sink: MemorySink, registry: CollectorRegistry,
                          mqtt_broker: Mosquitto, ptys: PtyPair,  # noqa: F811 - the imported pytest fixture, requested by name
                          cleanup: contextlib.ExitStack) -> None:
    async with Gateway(config=config, sink=sink) as gateway:
        registry.register(gateway.collector)
        names = sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name()
                       .startswith("gateway:"))
        assert names == ["gateway:mqtt", f"gateway:serial:{ptys.a}", "gateway:tcp-idle-sweep"]
        assert gateway.mqtt is not None and gateway.tcp is not None
        await asyncio.wait_for(gateway.mqtt.subscribed.wait(), 10)
        await asyncio.wait_for(gateway.serial[0].opened.wait(), 10)

        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.tcp.port)
        cleanup.callback(writer.close)  # even when an assertion below fails
        writer.write(pgid("GWTCP") + epochs(fixes(3, terminal="GWTCP"))
                     + b"junk\r\n$GPRMC,1*00\r\n")
        await writer.drain()
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as pub:
            await pub.publish("fieldgate/GWMQTT/nmea", epochs(fixes(3, terminal="GWMQTT")),
                              qos=1)
            await pub.publish("fieldgate/bad topic/nmea", b"x", qos=1)
        ptys.write(epochs(fixes(3, terminal="GWSER")))
        await eventually(lambda: all(sink.count(t) == 3 for t in ("GWTCP", "GWMQTT", "GWSER")))
        await eventually(lambda: gateway.mqtt.metrics.reads == 2)  # the bad topic too
        await eventually(lambda: gateway.tcp.metrics.decode_totals().rejected_total == 2)

        live = samples(registry)
        assert live[("fieldgate_gateway_open_connections", (("transport", "tcp"),))] == 1
        assert live[("fieldgate_gateway_open_sessions", (("transport", "serial"),))] == 1
        assert live[("fieldgate_gateway_sentences_total",
                     (("transport", "tcp"), ("type", "RMC")))] == 3
        assert live[("fieldgate_gateway_rejects_total",
                     (("reason", "bad_checksum"), ("transport", "tcp")))] == 1
        assert live[("fieldgate_gateway_rejects_total",
                     (("reason", "no_sentence"), ("transport", "tcp")))] == 1
        assert live[("fieldgate_gateway_rejects_total",
                     (("reason", "bad_topic"), ("transport", "mqtt")))] == 1
        assert live[("fieldgate_gateway_publish_wait_seconds_count",
                     (("transport", "mqtt"),))] >= 1
        # the TCP connection is left open: shutdown must close it and its session
    assert sorted(s.terminal_id for s in sink.closed) == ["GWMQTT", "GWSER", "GWTCP"]
    assert sink.open_sessions == {}
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    after = samples(registry)  # counters of closed streams are kept (retired), not lost
    assert after[("fieldgate_gateway_sentences_total",
                  (("transport", "tcp"), ("type", "RMC")))] == 3
    assert after[("fieldgate_gateway_records_published_total", (("transport", "serial"),))] == 3
    assert after[("fieldgate_gateway_disconnects_total",
                  (("reason", "shutdown"), ("transport", "tcp")))] == 1
    assert after[("fieldgate_gateway_open_connections", (("transport", "tcp"),))] == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("gateway:")]


async def test_a_port_in_use_fails_at_entry_without_leaving_tasks() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = Gateway(config=GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=port)),
                          sink=MemorySink())
        with pytest.raises(OSError):
            async with gateway:
                pass


async def test_metrics_endpoint_serves_the_collector_over_http() -> None:
    sink = MemorySink()
    config = GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0,
                                         limits=TcpLimits(max_connections=1)))
    async with Gateway(config=config, sink=sink) as gateway:
        assert gateway.tcp is not None
        registry = private_registry(gateway.collector)
        async with MetricsEndpoint(host="127.0.0.1", port=0, registry=registry) as endpoint:
            _r1, w1 = await asyncio.open_connection("127.0.0.1", gateway.tcp.port)
            w1.write(pgid("HTTP1") + epochs(fixes(3, terminal="HTTP1")))
            await w1.drain()
            r2, w2 = await asyncio.open_connection("127.0.0.1", gateway.tcp.port)
            assert await r2.read() == b""  # over the limit
            await eventually(lambda: sink.count("HTTP1") == 3)

            def scrape() -> str:
                url = f"http://127.0.0.1:{endpoint.port}/metrics"
                with urllib.request.urlopen(url, timeout=10) as response:
                    return response.read().decode()

            # scraped from the server's thread: the snapshot is taken on the event loop
            text = await asyncio.get_running_loop().run_in_executor(None, scrape)
            for w in (w1, w2):
                w.close()
                await w.wait_closed()
    assert 'fieldgate_gateway_records_published_total{transport="tcp"} 3.0' in text
    assert ('fieldgate_gateway_connections_refused_total{reason="max_connections",'
            'transport="tcp"} 1.0') in text
    assert "process_resident_memory_bytes" in text
    assert 'fieldgate_gateway_publish_wait_seconds_bucket{le="+Inf",transport="tcp"} 1.0' in text
