"""GT06 framing, packets and the stream decoder: round trips, answers, resynchronisation and
bad input (hypothesis)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.commands import Command, CommandAnswer, CommandKind
from devices.gt06 import Gt06Stream, Proto, build, crc_itu, parse
from devices.records import Fix, NoFix, StatusReport
from devices.reject import Reject
from devices.status import Alarm
from simulators.gt06 import Gt06Device

WHEN = datetime(2026, 12, 6, 8, 30, 15, tzinfo=UTC)
IMEI = "864000000000001"


def test_crc_itu_check_value():
    assert crc_itu(b"123456789") == 0x906E  # CRC-16/X-25 check value


def test_the_documented_login_frame():
    # the GT06 document's login example and its answer
    frame = bytes.fromhex("78780d01012345678901234500018cdd0d0a")
    packet = parse(frame)
    assert not isinstance(packet, Reject)
    assert (packet.protocol, packet.serial) == (Proto.LOGIN, 1)
    stream = Gt06Stream()
    assert stream.feed(frame) == []
    assert stream.terminal == "123456789012345"
    assert stream.take_output() == bytes.fromhex("787805010001d9dc0d0a")


def test_location_alarm_and_status_round_trip():
    device = Gt06Device(IMEI)
    stream = Gt06Stream()
    assert stream.feed(device.login()) == []
    assert stream.terminal == IMEI
    [report] = stream.feed(device.heartbeat(acc=False, voltage_level=4, signal=3))
    assert isinstance(report, StatusReport) and report.terminal == IMEI
    assert report.status.acc is False and report.status.signal == 3
    assert report.status.attributes["voltage_level"] == 4 and not report.status.alarms
    [fix] = stream.feed(device.location(time=WHEN, lat=-22.9, lon=-43.2, speed_kmh=60,
                                        course=271, sats=11))
    assert isinstance(fix, Fix) and fix.terminal == IMEI and fix.time == WHEN
    assert fix.lat == pytest.approx(-22.9, abs=1e-6) and fix.lon == pytest.approx(-43.2, abs=1e-6)
    assert (fix.course, fix.sats) == (271.0, 11)
    assert fix.speed_kn == pytest.approx(60 / 1.852)
    assert fix.status is None  # a GPS packet carries no terminal information
    [alarm] = stream.feed(device.alarm(Alarm.POWER_CUT, time=WHEN, lat=1.0, lon=2.0))
    assert alarm.status is not None and Alarm.POWER_CUT in alarm.status.alarms
    [nofix] = stream.feed(device.location(time=WHEN, lat=0, lon=0, positioned=False))
    assert isinstance(nofix, NoFix)
    answers = stream.take_output()
    assert device.receive(answers) == b""
    # login, status and alarm are answered with their serials; locations are not
    assert device.traffic.answered == {1: Proto.LOGIN, 2: Proto.STATUS, 4: Proto.ALARM}


def test_records_before_the_login_carry_no_terminal():
    device = Gt06Device(IMEI)
    stream = Gt06Stream()
    [fix] = stream.feed(device.location(time=WHEN, lat=1.0, lon=1.0))
    assert fix.terminal is None  # the gateway holds such records until the login


@pytest.mark.parametrize("alarm", [Alarm.SOS, Alarm.POWER_CUT, Alarm.LOW_VOLTAGE,
                                   Alarm.VIBRATION, Alarm.REMOVAL, Alarm.LOW_BATTERY])
def test_alarm_codes(alarm):
    device = Gt06Device(IMEI)
    [fix] = Gt06Stream(terminal=IMEI).feed(device.alarm(alarm, time=WHEN, lat=1, lon=1))
    assert fix.status is not None and alarm in fix.status.alarms
    [report] = Gt06Stream(terminal=IMEI).feed(device.heartbeat(alarm=alarm))
    assert alarm in report.status.alarms


def test_an_online_command_and_its_answer():
    device = Gt06Device(IMEI)
    stream = Gt06Stream(terminal=IMEI)
    ref, out = stream.send_command(Command(CommandKind.SET_INTERVAL, interval_s=30), 77)
    assert ref == 77  # the server flag carries the command's id
    assert parse(out).protocol == Proto.COMMAND  # type: ignore[union-attr]
    answer = device.receive(out)
    assert device.traffic.commands == [(77, "TIMER,30#")]
    stream.feed(answer)
    assert stream.take_answers() == [CommandAnswer(77, True, "TIMER,30# OK")]
    assert stream.take_answers() == []


def test_time_request_is_answered_with_the_clock():
    stream = Gt06Stream(clock=lambda: WHEN)
    stream.feed(build(Proto.TIME_REQUEST, b"", 9))
    answer = parse(stream.take_output())
    assert not isinstance(answer, Reject)
    assert answer.content == bytes((26, 12, 6, 8, 30, 15))


def test_noise_bad_crc_and_split_frames():
    device = Gt06Device(IMEI)
    good = device.login() + device.location(time=WHEN, lat=1, lon=1)
    damaged = bytearray(device.location(time=WHEN, lat=2, lon=2))
    damaged[-3] ^= 0xFF
    wire = b"\x00\x01noise" + bytes(damaged) + good
    for cut in range(len(wire)):
        stream = Gt06Stream()
        records = stream.feed(wire[:cut]) + stream.feed(wire[cut:]) + stream.flush()
        assert len(records) == 1 and records[0].terminal == IMEI
        assert stream.stats.rejected == {Reject.NO_FRAME: 1, Reject.BAD_CHECKSUM: 1}


def test_a_lying_long_length_is_capped():
    stream = Gt06Stream()
    stream.feed(b"\x79\x79\xff\xff" + b"\x00" * 5000)
    assert stream.stats.rejected.get(Reject.OVERLONG) == 1
    assert len(stream._buf) < 2048
    [fix] = stream.feed(Gt06Device(IMEI).location(time=WHEN, lat=1, lon=1))
    assert isinstance(fix, Fix)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31),
                    timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
       st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000),
       st.integers(0, 255), st.integers(0, 359), st.integers(0, 15), st.booleans(),
       st.sampled_from([None, "NT20", "xt40", "QH302R"]), st.booleans(),
       st.integers(0, 65_535), st.integers(0, 255))
def test_encode_then_decode_is_identity(when, lat_e6, lon_e6, speed, course, sats, positioned,
                                        model, acc, power_cv, battery_dv):
    """Every location layout the simulator sends, the standard one and the models' own, read
    back by a decoder told the model (the IMEI inside names the terminal, no login needed)."""
    lat, lon = lat_e6 / 1e6, lon_e6 / 1e6
    device = Gt06Device(IMEI, model=model)
    stream = Gt06Stream(model=model, terminal=None if model else IMEI)
    [rec] = stream.feed(device.location(
        time=when, lat=lat, lon=lon, speed_kmh=speed, course=course, sats=sats,
        positioned=positioned, acc=acc, power_v=power_cv / 100, battery_v=battery_dv / 10))
    assert stream.rejected == 0
    assert rec.time == when and rec.sats == sats and rec.terminal == IMEI
    if positioned:
        assert isinstance(rec, Fix)
        # 1/1,800,000 of a degree is the wire's resolution
        assert abs(rec.lat - lat) <= 1 / 1_800_000 and abs(rec.lon - lon) <= 1 / 1_800_000
        assert rec.course == course and round(rec.speed_kn * 1.852) == speed
    else:
        assert isinstance(rec, NoFix)
    if model in ("NT20", "xt40"):
        assert rec.status is not None and rec.status.acc is acc
        assert rec.status.power_v == power_cv / 100
        assert rec.status.attributes["battery_v"] == battery_dv / 10
    else:
        assert rec.status is None


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_random_bytes_never_raise(data, chunk):
    stream = Gt06Stream()
    for i in range(0, len(data), chunk):
        stream.feed(data[i:i + chunk])
    stream.flush()
    stream.take_output()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([p.value for p in Proto]), st.binary(max_size=300),
       st.integers(0, 0xFFFF), st.sampled_from([None, "NT20", "XT40", "QH302R"]),
       st.sampled_from([None, IMEI]))
def test_any_content_under_any_protocol_number_never_raises(proto, content, serial, model,
                                                            terminal):
    # every model's layouts, and reports whose IMEI inside names the terminal
    stream = Gt06Stream(terminal=terminal, model=model)
    stream.feed(build(proto, content, serial))
    stream.feed(build(proto, content, serial, long=True))
    stream.flush()


def test_endless_start_bytes_keep_memory_flat():
    stream = Gt06Stream()
    tracemalloc.start()
    try:
        stream.feed(b"\x78" * 100_000)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            stream.feed(b"\x78\x78" * 5_000)
            stream.feed(b"\x79\x79\x00\x00" * 1000)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024
