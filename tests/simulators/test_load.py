"""Load plans: template encoding equals the devices encoder, plans decode to their ground
truth, and the senders deliver every byte over real TCP and MQTT (rates are measured by the
CLI and benchmarks, not asserted here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.nmea import NmeaStream, encode
from devices.records import Fix
from simulators.errors import SpecError, TransportError
from simulators.geo import haversine_m
from simulators.load import LoadPlan, _Clockface, _Template, send_mqtt, send_tcp
from simulators.mqttwire import publish_packet, remaining_length
from simulators.route import RouteConfig
from simulators.sentences import SentenceProfile
from tests.simulators.nmea_server import NmeaServer
from tests.simulators.test_fleet_mqtt import Subscriber

START = datetime(2026, 7, 31, 23, 59, 0, tzinfo=UTC)

fixes = st.builds(
    Fix,
    time=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                      timezones=st.just(UTC)).map(
                          lambda t: t.replace(microsecond=t.microsecond // 10000 * 10000)),
    lat=st.floats(-89.9, 89.9), lon=st.floats(-179.9, 179.9),
    speed_kn=st.floats(0, 300), course=st.floats(0, 359.99), alt_m=st.floats(-400, 9000),
    sats=st.integers(0, 24), hdop=st.floats(0.5, 50), fix_quality=st.just(1),
)


@settings(max_examples=300, deadline=None)
@given(fix=fixes, other=st.datetimes(min_value=datetime(2000, 1, 1),
                                     max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_templates_render_exactly_what_the_encoder_writes(fix: Fix, other: datetime) -> None:
    other = other.replace(microsecond=other.microsecond // 10000 * 10000)
    face = _Clockface()
    moved = Fix(other, *[getattr(fix, n) for n in ("lat", "lon", "speed_kn", "course", "alt_m",
                                                   "sats", "hdop", "fix_quality")])
    for talker in ("GP", "GN"):
        for make in (lambda f, t=talker: encode.rmc(f, talker=t),
                     lambda f, t=talker: encode.gga(f, talker=t),
                     lambda f, t=talker: encode.vtg(f, talker=t),
                     lambda f, t=talker: encode.zda(f.time, talker=t),
                     lambda f, t=talker: encode.gsa(3, hdop=f.hdop, talker=t)):
            out: list[bytes] = []
            size = _Template(make(fix)).render(out, face.fields(other))
            assert b"".join(out) == make(moved)
            assert size == len(make(moved))


@pytest.mark.parametrize("profile", ["rmc,gga", "rmc,gga,gsa,vtg,zda", "gga,zda", "zda,rmc"])
def test_a_plan_decodes_into_its_ground_truth(profile: str) -> None:
    plan = LoadPlan.build(terminals=3, fixes_per_terminal=200, start=START, interval=0.5,
                          profile=SentenceProfile.parse(profile), seed=4)
    assert plan.total_fixes == 600 and plan.fix_time(199) == START + timedelta(seconds=99.5)
    truth = {}
    for tid, t in plan.truth():
        truth.setdefault(tid, []).append(t)
    for index, tid in enumerate(plan.terminal_ids):
        stream = NmeaStream(eager=True)
        records = stream.feed(plan.streams[index]) + stream.flush()
        assert not stream.stats.rejected
        assert [r.time for r in records] == truth[tid]  # across midnight, dated
        assert len(plan.ends[index]) == 200 and plan.ends[index][-1] == len(plan.streams[index])


def test_long_plans_drive_back_and_forth_without_teleporting() -> None:
    plan = LoadPlan.build(terminals=1, fixes_per_terminal=500, start=START, track_points=120)
    stream = NmeaStream(eager=False)
    records = stream.feed(plan.streams[0]) + stream.flush()
    top = RouteConfig().max_speed_mps
    for a, b in zip(records, records[1:], strict=False):
        assert haversine_m(a.lat, a.lon, b.lat, b.lon) <= top + 0.01
    # the way back retraces the way out
    assert (records[119].lat, records[119].lon) == (records[120].lat, records[120].lon)
    assert (records[0].lat, records[0].lon) == (records[239].lat, records[239].lon)
    assert len({r.time for r in records}) == 500


def test_chunks_are_epoch_aligned_and_cover_the_stream() -> None:
    plan = LoadPlan.build(terminals=1, fixes_per_terminal=1000, start=START)
    chunks = list(plan.chunks(0, 4096))
    assert b"".join(bytes(c) for _, _, c in chunks) == plan.streams[0]
    assert sum(n for _, n, _ in chunks) == 1000
    assert all(len(c) <= 4096 and bytes(c).startswith(b"$GPRMC") and bytes(c).endswith(b"\r\n")
               for _, _, c in chunks)
    assert [f for f, _, _ in chunks] == sorted(f for f, _, _ in chunks)
    # a chunk smaller than one epoch still makes progress, one epoch at a time
    assert len(list(plan.chunks(0, 10))) == 1000


def test_bad_plans_are_refused() -> None:
    with pytest.raises(SpecError):
        LoadPlan.build(terminals=0, fixes_per_terminal=1)
    with pytest.raises(SpecError, match="multiple of 0.01"):
        LoadPlan.build(terminals=1, fixes_per_terminal=1, interval=0.005)
    with pytest.raises(SpecError, match="not GSV"):
        LoadPlan.build(terminals=1, fixes_per_terminal=1,
                       profile=SentenceProfile.parse("rmc,gga,gsv"))


@pytest.mark.parametrize("rate", [None, 4000.0])
async def test_tcp_load_delivers_every_fix_under_its_terminal(rate: float | None) -> None:
    plan = LoadPlan.build(terminals=5, fixes_per_terminal=400, start=START)
    server = await NmeaServer().start()
    try:
        result = await send_tcp(plan, "127.0.0.1", server.port, rate=rate, chunk_bytes=8192,
                                wait_consumed=5)
        # the server closed each connection after reading our end of stream
        assert result.consumed_s is not None and result.consumed_s >= result.elapsed_s
        assert all(s.closed for s in server.sessions) and len(server.sessions) == 5
    finally:
        await server.stop()
    assert result.fixes == 2000 and result.bytes == plan.total_bytes and result.rate > 0
    stored = {(tid, r.time) for tid, recs in server.by_terminal().items() for r in recs}
    assert stored == set(plan.truth())
    written = result.written_at()
    assert len(written) == 2000 and (4, 399) in written


@pytest.mark.mqtt
@pytest.mark.parametrize("qos", [0, 1])
async def test_mqtt_load_publishes_every_fix_on_its_topic(mqtt_broker, qos: int) -> None:
    plan = LoadPlan.build(terminals=6, fixes_per_terminal=100, start=START)
    async with Subscriber(mqtt_broker.host, mqtt_broker.port) as sub:
        # small chunks and (QoS 1) a small in-flight window exercise the batching and the
        # waiting for acknowledgements
        result = await send_mqtt(plan, mqtt_broker.host, mqtt_broker.port, qos=qos,
                                 connections=4, epochs_per_message=8, inflight=5,
                                 chunk_bytes=3000, rate=None if qos else 20_000)
        messages = 6 * 13  # 100 epochs in 8s: 12 full messages and one of 4
        await sub.wait_for(messages)
    assert result.fixes == 600 and result.connections == 4
    assert result.consumed_s is not None  # the broker answered the closing PINGREQ
    got = {}
    for topic, payload, _ in sub.messages:
        got.setdefault(topic.split("/")[1], bytearray()).extend(payload)
    for index, tid in enumerate(plan.terminal_ids):
        assert bytes(got[tid]) == plan.streams[index]  # in order, nothing lost or doubled


@pytest.mark.parametrize(("n", "encoded"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"),
    (16_384, b"\x80\x80\x01"), (268_435_455, b"\xff\xff\xff\x7f"),
])
def test_mqtt_remaining_length(n: int, encoded: bytes) -> None:
    assert remaining_length(n) == encoded


def test_mqtt_publish_packets() -> None:
    assert publish_packet(b"a/b", b"xy") == b"\x30\x07\x00\x03a/bxy"
    assert publish_packet(b"t", b"", qos=1, packet_id=258) == b"\x32\x05\x00\x01t\x01\x02"
    with pytest.raises(ValueError):
        remaining_length(268_435_456)


async def test_load_against_nobody_fails_with_a_transport_error() -> None:
    import socket

    plan = LoadPlan.build(terminals=2, fixes_per_terminal=5, start=START)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(TransportError, match="cannot connect"):
            await send_tcp(plan, "127.0.0.1", port)
        with pytest.raises(TransportError, match="cannot connect"):
            await send_mqtt(plan, "127.0.0.1", port)
