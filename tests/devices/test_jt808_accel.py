"""Differential tests: the JT/T 808 C accelerator against the pure-Python reference.

``parse``, ``decode_location`` and ``encode_frame`` of ``devices/jt808/_speedups.c`` must give
exactly what ``devices.jt808.frame`` and ``devices.jt808.messages`` give: for frames the
simulators build, for mutated ones, for arbitrary bytes, for every Traccar vector, and a whole
``Jt808Stream`` must decode and answer the same either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.jt808 import Jt808Stream, accel, build
from devices.jt808 import messages as m
from devices.jt808.frame import encode_frame
from devices.records import Fix
from devices.reject import Reject
from devices.status import Alarm, DeviceStatus
from tests.devices.test_jt808_traccar import VECTOR_ROWS

needs_c = pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

phones = st.text("0123456789", min_size=1, max_size=12)
bodies = st.binary(max_size=120)


def _location(loc: m.Location | None) -> tuple | None:
    if loc is None:
        return None
    values = tuple(getattr(loc, name) for name in accel.LOCATION_FIELDS)
    if loc.time is not None:
        assert loc.time.tzinfo is UTC
    return values


def _same_parse(raw: bytes) -> None:
    ours, theirs = accel.parse(raw), accel.pure_parse(raw)
    assert type(ours) is type(theirs)
    assert ours == theirs


@st.composite
def frames(draw) -> bytes:
    """A frame as the terminals send it (between its flags), maybe with one byte changed."""
    version = draw(st.none() | st.integers(0, 255))
    packages = draw(st.none() | st.tuples(st.integers(0, 5), st.integers(0, 6)))
    width = 12 if version is None else 20
    phone = draw(st.text("0123456789", min_size=1, max_size=width))
    data = bytearray(encode_frame(draw(st.integers(0, 0xFFFF)), bytes.fromhex(phone.zfill(width)),
                                  draw(st.integers(0, 0xFFFF)), draw(bodies), version=version,
                                  packages=packages)[1:-1])
    if data and draw(st.booleans()):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@needs_c
@SETTINGS
@given(frames())
def test_c_and_pure_parse_are_identical_on_frames(raw: bytes) -> None:
    _same_parse(raw)


@needs_c
@SETTINGS
@given(st.binary(max_size=64) | st.lists(st.sampled_from(b"\x7d\x01\x02\x00\x40\x20\x80"),
                                          max_size=40).map(bytes))
def test_c_and_pure_parse_are_identical_on_any_bytes(raw: bytes) -> None:
    _same_parse(raw)


def bcd(top: int = 99) -> st.SearchStrategy[int]:
    return st.integers(0, top).map(lambda v: (v // 10) << 4 | v % 10)


#: BCD times around the edges of real ones: month 0-13, day 0-32, hour 0-24, minute 0-60...
bcd_times = st.tuples(bcd(), bcd(13), bcd(32), bcd(24), bcd(60), bcd(60)).map(bytes)


@st.composite
def location_bodies(draw) -> bytes:
    head = draw(st.binary(min_size=22, max_size=22))
    # mostly BCD times (real and impossible dates and hours), sometimes any bytes
    time = draw(bcd_times | st.binary(min_size=6, max_size=6))
    tail = draw(st.binary(max_size=40))
    return head + time + tail


@needs_c
@settings(SETTINGS, max_examples=2000)
@given(location_bodies() | st.binary(max_size=40))
def test_c_and_pure_decode_location_are_identical(body: bytes) -> None:
    assert _location(accel.decode_location(body)) == _location(accel.pure_decode_location(body))


@needs_c
def test_times_across_days_months_and_leap_years() -> None:
    for local in ("000101000000", "000101075959", "000101080000", "240229233000", "230229120000",
                  "231231235959", "231232000000", "230431000000", "991231235959", "240230000000",
                  "241301000000", "240100000000",
                  "2401010a0000", "240101240000", "240101006000", "240101000060", "000000000000"):
        body = bytes(22) + bytes.fromhex(local)
        ours, theirs = accel.decode_location(body), accel.pure_decode_location(body)
        assert ours is not None and theirs is not None
        assert ours.time == theirs.time, local
    assert accel.decode_location(bytes(22) + bytes.fromhex("240229233000")).time == datetime(
        2024, 2, 29, 15, 30, tzinfo=UTC)


def test_a_time_that_is_not_bcd_is_no_time() -> None:
    # 0x0a is no BCD digit: the hour is unknown, so is the time (it is never a negative hour)
    for local in ("2401010a0000", "2401010000f0", "240101000000"[:10] + "9a"):
        assert m.decode_time(bytes.fromhex(local)) is None
    assert m.decode_time(bytes.fromhex("240101000000")) == datetime(2023, 12, 31, 16,
                                                                     tzinfo=UTC)


@needs_c
@SETTINGS
@given(st.integers(0, 0xFFFF), st.binary(max_size=10), st.integers(0, 0xFFFF),
       st.binary(max_size=m.LOCATION_SIZE * 4), st.none() | st.integers(0, 255),
       st.none() | st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)))
def test_c_and_pure_encode_frame_are_identical(msg_id, phone, serial, body, version,
                                               packages) -> None:
    assert accel.encode_frame(msg_id, phone, serial, body, version, packages) == \
        accel.pure_encode_frame(msg_id, phone, serial, body, version, packages)


@needs_c
def test_c_encode_frame_refuses_what_does_not_fit_a_header() -> None:
    with pytest.raises(ValueError):
        accel.encode_frame(0x10000, b"", 0, b"", None, None)
    with pytest.raises(ValueError):
        accel.encode_frame(0x8001, b"", 0, bytes(1024), None, None)
    with pytest.raises(ValueError):
        accel.encode_frame(0x8001, b"", 0, b"", 256, None)
    with pytest.raises(TypeError):
        accel.encode_frame(0x8001, "phone", 0, b"", None, None)


@needs_c
def test_c_and_pure_agree_on_every_traccar_vector() -> None:
    frames = [raw for row in VECTOR_ROWS if row["encoding"] == "hex"
              for raw in bytes.fromhex(row["payload"]).split(b"\x7e") if raw]
    assert len(frames) >= 110
    for raw in frames:
        _same_parse(raw)
        msg = accel.pure_parse(raw)
        if not isinstance(msg, Reject) and msg.msg_id == m.MsgId.LOCATION:
            assert _location(accel.decode_location(msg.body)) == _location(
                accel.pure_decode_location(msg.body))


def _pure(stream: Jt808Stream) -> Jt808Stream:
    stream._parse = accel.pure_parse
    stream._decode_location = accel.pure_decode_location
    stream._encode_frame = accel.pure_encode_frame
    stream._make_fix = Fix
    stream._make_status = DeviceStatus
    stream._fast = None
    return stream


def _decode(data: bytes, *, pure: bool) -> tuple:
    stream = Jt808Stream()
    if pure:
        _pure(stream)
    records = []
    for i in range(0, len(data), 97):
        records += stream.feed(data[i:i + 97])
    records += stream.flush()
    return (records, stream.take_output(), dict(stream.stats.by_type),
            dict(stream.stats.rejected))


#: additional items as terminals send them: the common ones (the C fast path's), others, and
#: wrong lengths, repeated ids and a cut last item (all for the general path)
items = st.lists(st.tuples(st.sampled_from([0x01, 0x02, 0x30, 0x31, 0x03, 0x06, 0x25, 0xE1]),
                           st.binary(max_size=5)), max_size=5)
common_items = st.fixed_dictionaries({}, optional={
    0x01: st.integers(0, 2**32 - 1).map(lambda v: v.to_bytes(4)),
    0x02: st.integers(0, 2**16 - 1).map(lambda v: v.to_bytes(2)),
    0x30: st.integers(0, 255).map(lambda v: bytes((v,))),
    0x31: st.integers(0, 255).map(lambda v: bytes((v,)))})


@st.composite
def location_frames(draw, n: int) -> bytes:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    body = m.encode_location(
        time=t0 + timedelta(seconds=draw(st.integers(0, 86_400 * 400))),
        lat=draw(st.floats(-90, 90)), lon=draw(st.floats(-180, 180)),
        speed_kmh=draw(st.floats(0, 6000)), course=draw(st.integers(0, 359)),
        alt_m=draw(st.integers(-32768, 32767)), positioned=draw(st.booleans()),
        acc=draw(st.booleans()), items=draw(common_items))
    body = draw(st.integers(0, 2**32 - 1)).to_bytes(4) + body[4:]  # any alarm word
    kind = draw(st.integers(0, 9))
    if kind == 0:  # other items, wrong lengths, repeats
        body += b"".join(bytes((i, len(v))) + v for i, v in draw(items))
    elif kind == 1:  # a time that is no time, or a latitude past 90
        at = draw(st.sampled_from([22, 8]))
        body = body[:at] + draw(st.binary(min_size=4, max_size=4)) + body[at + 4:]
    elif kind == 2:  # a cut item list
        body += bytes((0x01, 4, 0))
    phone = draw(st.sampled_from(["13912345678", "000000000000", "1"]))
    version = draw(st.none() | st.just(1))
    frame = build(m.MsgId.LOCATION, phone, n, body, version=version)
    if draw(st.integers(0, 9)) == 0:  # a damaged byte
        frame = bytearray(frame)
        frame[draw(st.integers(1, len(frame) - 2))] = draw(st.integers(0, 255))
        frame = bytes(frame)
    return frame


@needs_c
@settings(SETTINGS, max_examples=300)
@given(st.data())
def test_a_stream_decodes_and_answers_the_same_either_way(data) -> None:
    """The C paths (the fast one for common frames, the general one for the others) against
    the pure-Python stream: the same records, counters and reply bytes."""
    wire = b""
    for n in range(data.draw(st.integers(1, 12))):
        wire += data.draw(location_frames(n))
        if data.draw(st.booleans()):
            wire += build(m.MsgId.HEARTBEAT, "13912345678", n, b"", version=1)
        wire += data.draw(st.binary(max_size=4))
    assert _decode(wire, pure=False) == _decode(wire, pure=True)


@needs_c
def test_the_fast_path_takes_the_common_frame_and_leaves_the_rest() -> None:
    fast = accel.location_frame
    assert fast is not None
    when = datetime(2026, 12, 7, 8, tzinfo=UTC)

    def frame(version: int | None = None, **kwargs) -> bytes:
        body = m.encode_location(time=when, lat=31.2, lon=121.5, speed_kmh=36.0, **{
            "items": {0x01: (1234).to_bytes(4), 0x31: b"\x09"}, **kwargs})
        return build(m.MsgId.LOCATION, "13912345678", 7, body, version=version)[1:-1]

    fix, reply, phone, version = fast(frame(), 42, 2082)
    assert (fix.terminal, fix.lat, fix.sats, fix.status.mileage_km) == (
        "13912345678", 31.2, 9, 123.4)
    assert (phone, version) == ("013912345678", None)
    assert reply == build(m.MsgId.PLATFORM_REPLY, "13912345678", 42,
                          m.platform_reply(7, m.MsgId.LOCATION))
    assert fast(frame(version=1), 0, 2082)[3] == 1  # the 2019 header too
    for other in (frame(positioned=False),  # a NoFix
                  frame(items={0x06: b"\x00\x14"}),  # an item kept as an attribute
                  frame(items={0x31: b"\x09\x01"}),  # a length the table does not know
                  frame()[:-1] + bytes((frame()[-1] ^ 1,)),  # a wrong check code
                  build(m.MsgId.HEARTBEAT, "13912345678", 1, b"")[1:-1]):
        assert fast(other, 0, 2082) is None
    assert fast(frame(), 0, 40) is None  # longer than the stream's limit: the general path


@needs_c
def test_c_records_equal_the_dataclasses_own() -> None:
    when = datetime(2026, 12, 7, 8, tzinfo=UTC)
    status = (frozenset({Alarm.SOS}), True, None, 12.5, None, 1234.5, None, 20, None,
              {"item_e1": "00"})
    assert accel.make_status(*status) == DeviceStatus(*status)
    assert accel.make_status(*status).attributes == {"item_e1": "00"}
    fix = (when, 31.2, 121.5, 10.0, 90.0, 12.0, 9, None, None, None, "13912345678",
           DeviceStatus(*status))
    made = accel.make_fix(*fix)
    assert made == Fix(*fix) and type(made) is Fix and hash(made) == hash(Fix(*fix))
    with pytest.raises(TypeError):
        accel.make_fix(*fix[:-1])
    with pytest.raises(TypeError):
        accel.make_status(*status, None)


def test_pure_python_can_be_forced_by_environment() -> None:
    code = "from devices.jt808 import accel; print(accel.ACCELERATED)"
    env = dict(os.environ, FIELDGATE_JT808_PURE="1")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
