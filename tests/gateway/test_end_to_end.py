"""Terminals over TCP, MQTT and serial, through the gateway and the real telemetry writer
(``telemetry.ingest.Ingest``), into real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiomqtt
import psycopg
import pytest

from fieldgate.dburl import DatabaseURL
from gateway import BackoffPolicy, Gateway, GatewayConfig, MqttConfig, SerialPortConfig, TcpConfig
from telemetry import Ingest, IngestConfig, TelemetryReader
from tests.gateway.nmea_data import epochs, fixes, pgid, t55_capture
from tests.gateway.test_serial import PtyPair, ptys  # noqa: F401 - fixture
from tests.servers import Mosquitto
from tests.waiting import eventually


def register(db: DatabaseURL, *terminal_ids: str) -> None:
    """Registered the way installers do (a row in ``terminals``), before the sink starts."""
    rows = [(tid, "installed") for tid in terminal_ids]
    query = "INSERT INTO terminals (terminal_id, state) VALUES (%s, %s)"
    if db.is_postgresql:
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            conn.cursor().executemany(query, rows)
    else:
        with sqlite3.connect(db.sqlite_path) as conn:
            conn.executemany(query.replace("%s", "?"), rows)
        conn.close()


def ingest_config(tmp_path: Path) -> IngestConfig:
    return IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02, retry_initial=0.02,
                        retry_max=0.2, spool_fsync=False)


async def stored(db: DatabaseURL, terminal: str) -> list[tuple]:
    async with TelemetryReader(db) as reader:
        # altitude is a REAL column (float32 on PostgreSQL): compare at centimetres
        return [(f.fix_time, f.lat, f.lon, None if f.alt_m is None else round(f.alt_m, 2), f.sats)
                async for f in reader.positions(terminal)]


def as_rows(items) -> list[tuple]:
    return [(f.time, f.lat, f.lon, None if f.alt_m is None else round(f.alt_m, 2), f.sats)
            for f in items]


async def test_tcp_terminals_into_the_database(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "E2ET1", "E2ET2", "359853000144328")
    plan = {name: fixes(20, terminal=name, lat=40 + i) for i, name in
            enumerate(["E2ET1", "E2ET2"])}
    config = GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0))
    async with (Ingest(db=db, config=ingest_config(tmp_path)) as sink,
                Gateway(config=config, sink=sink) as gateway):
        assert gateway.tcp is not None
        port = gateway.tcp.port

        async def terminal(name: str, data: bytes) -> None:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for i in range(0, len(data), 333):
                writer.write(data[i:i + 333])
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        await asyncio.gather(
            *(terminal(name, pgid(name) + epochs(items)) for name, items in plan.items()),
            terminal("real", t55_capture()),  # a real T55 stream, $PGID mid-way
            terminal("unknown", pgid("E2EUNREG") + epochs(fixes(3))),
        )
        await eventually(lambda: sink.metrics.fixes_stored >= 40, timeout=20)
    for name, items in plan.items():
        assert await stored(db, name) == as_rows(items)
    real = await stored(db, "359853000144328")
    assert (60.1723915, 24.76213967) in {(r[1], r[2]) for r in real}
    async with TelemetryReader(db) as reader:
        unknown = {u.terminal_id: u for u in await reader.unknown_terminals()}
        states = {s.terminal_id: s for s in await reader.latest_states()}
        assert [f async for f in reader.positions("E2EUNREG")] == []
    assert unknown["E2EUNREG"].transport == "tcp"
    assert unknown["E2EUNREG"].remote_addr.startswith("127.0.0.1:")
    assert states["E2ET1"].connected is False and states["E2ET1"].fixes == 20
    assert states["E2ET1"].sentences == 41


@pytest.mark.mqtt
async def test_mqtt_terminals_into_the_database(db: DatabaseURL, tmp_path: Path,
                                                mqtt_broker: Mosquitto) -> None:
    register(db, "E2EM1", "E2EM2")
    plan = {name: fixes(10, terminal=name, lat=50 + i) for i, name in
            enumerate(["E2EM1", "E2EM2"])}
    config = GatewayConfig(mqtt=MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port,
                                           backoff=BackoffPolicy(initial=0.05, maximum=0.2)))
    async with (Ingest(db=db, config=ingest_config(tmp_path)) as sink,
                Gateway(config=config, sink=sink) as gateway):
        assert gateway.mqtt is not None
        await asyncio.wait_for(gateway.mqtt.subscribed.wait(), 10)
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as pub:
            for i in range(10):
                for name, items in plan.items():
                    await pub.publish(f"fieldgate/{name}/nmea", epochs(items[i:i + 1]),
                                      qos=1)
        await eventually(lambda: gateway.mqtt.metrics.reads == 20, timeout=10)
    for name, items in plan.items():
        assert await stored(db, name) == as_rows(items)
    async with TelemetryReader(db) as reader:
        state = await reader.latest_state("E2EM1")
    assert state is not None and state.transport == "mqtt"


@pytest.mark.serial
async def test_serial_terminal_into_the_database(db: DatabaseURL, tmp_path: Path,
                                                 ptys: PtyPair) -> None:  # noqa: F811 - the imported pytest fixture, requested by name
    ptys.start()
    register(db, "E2ES1")
    items = fixes(10, terminal="E2ES1")
    config = GatewayConfig(serial=(SerialPortConfig(device=str(ptys.a), terminal_id="E2ES1"),))
    async with (Ingest(db=db, config=ingest_config(tmp_path)) as sink,
                Gateway(config=config, sink=sink) as gateway):
        await asyncio.wait_for(gateway.serial[0].opened.wait(), 10)
        ptys.write(epochs(items))
        await eventually(lambda: gateway.transport_metrics[0].records_published == 10)
    assert await stored(db, "E2ES1") == as_rows(items)
    async with TelemetryReader(db) as reader:
        state = await reader.latest_state("E2ES1")
    assert state is not None and state.transport == "serial"
    assert state.remote_addr == str(ptys.a)
