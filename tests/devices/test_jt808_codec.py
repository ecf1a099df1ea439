"""JT/T 808 framing, messages and the stream decoder: round trips, replies, sub-packages and
bad input (hypothesis)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.commands import CommandAnswer
from devices.jt808 import Jt808Stream, MsgId, RegisterResult, ReplyResult, build, parse
from devices.jt808 import messages as m
from devices.jt808.frame import MAX_FRAME, check_code, escape, unescape
from devices.records import Fix, NoFix
from devices.reject import Reject
from devices.status import Alarm

WHEN = datetime(2026, 12, 6, 8, 30, 15, tzinfo=UTC)
PHONE = "013912345678"


def location(**kw) -> bytes:
    args = {"time": WHEN, "lat": 31.230416, "lon": 121.473701, "speed_kmh": 54.3, "course": 90,
            "alt_m": 12}
    args.update(kw)
    return m.encode_location(**args)


def frames(out: bytes) -> list:
    return [parse(raw) for raw in out.split(b"\x7e") if raw]


def test_escapes_both_ways():
    data = bytes([0x30, 0x7E, 0x08, 0x7D, 0x55])
    assert escape(data) == bytes([0x30, 0x7D, 0x02, 0x08, 0x7D, 0x01, 0x55])
    assert unescape(escape(data)) == data
    assert unescape(b"\x30\x7d") is None  # an escape cut off by the flag


def test_the_standards_example_frame():
    # JT/T 808-2013 §4.4: 0x30 7E 08 7D 55 is sent as 30 7D 02 08 7D 01 55
    frame = build(0x0002, "13800138000", 7)
    msg = parse(frame[1:-1])
    assert not isinstance(msg, Reject)
    assert (msg.msg_id, msg.phone, msg.terminal, msg.serial, msg.body) == (
        0x0002, "013800138000", "13800138000", 7, b"")
    assert msg.version is None


def test_a_2019_header_carries_its_version_and_a_20_digit_phone():
    frame = build(0x0200, "13800138000", 9, location(), version=1)
    msg = parse(frame[1:-1])
    assert not isinstance(msg, Reject)
    assert msg.version == 1 and msg.phone == "00000000013800138000"
    assert msg.terminal == "13800138000"


def test_a_wrong_check_code_is_refused():
    frame = bytearray(build(0x0002, PHONE, 1))
    frame[-2] ^= 0x01
    assert parse(bytes(frame[1:-1])) is Reject.BAD_CHECKSUM


def test_a_short_frame_is_truncated():
    data = b"\x00\x02\x00"
    assert parse(data + bytes((check_code(data),))) is Reject.TRUNCATED


def test_a_location_round_trips_into_a_fix_with_its_status():
    body = location(alarms=frozenset({Alarm.ANTENNA_OPEN, Alarm.POWER_CUT}), acc=False,
                    items={0x01: (12345).to_bytes(4), 0x30: b"\x17", 0x31: b"\x09",
                           0xE1: b"\x01\x02"})
    stream = Jt808Stream()
    [fix] = stream.feed(build(MsgId.LOCATION, PHONE, 3, body))
    assert isinstance(fix, Fix)
    assert fix.time == WHEN and fix.terminal == "13912345678"
    assert (fix.lat, fix.lon, fix.alt_m, fix.course) == (31.230416, 121.473701, 12.0, 90.0)
    assert fix.speed_kn == pytest.approx(54.3 / 1.852)
    assert fix.sats == 9
    status = fix.status
    assert status is not None
    assert status.alarms == {Alarm.ANTENNA_OPEN, Alarm.POWER_CUT}
    assert status.acc is False and status.mileage_km == 1234.5 and status.signal == 23
    assert status.attributes == {"item_e1": "0102"}
    # the platform's general reply names the location's serial and id, result OK
    [reply] = frames(stream.take_output())
    assert reply.msg_id == MsgId.PLATFORM_REPLY and reply.phone == PHONE
    assert m.decode_reply(reply.body) == (3, MsgId.LOCATION, ReplyResult.OK)
    assert stream.take_output() == b""


def test_south_and_west_and_not_positioned():
    stream = Jt808Stream()
    [fix] = stream.feed(build(MsgId.LOCATION, PHONE, 1, location(lat=-33.9, lon=-70.6)))
    assert isinstance(fix, Fix) and (fix.lat, fix.lon) == (-33.9, -70.6)
    [nofix] = stream.feed(build(MsgId.LOCATION, PHONE, 2, location(
        positioned=False, alarms=frozenset({Alarm.GNSS_FAULT}))))
    assert isinstance(nofix, NoFix) and nofix.time == WHEN
    assert nofix.status is not None and nofix.status.alarms == {Alarm.GNSS_FAULT}
    assert (stream.stats.fixes, stream.stats.no_fixes) == (1, 1)


def test_batch_and_blind_area_supplement():
    bodies = [location(time=WHEN.replace(second=s)) for s in (1, 2, 3)]
    stream = Jt808Stream()
    out = stream.feed(build(MsgId.BATCH_LOCATION, PHONE, 4, m.encode_batch(bodies,
                                                                          supplement=True)))
    assert [r.time.second for r in out] == [1, 2, 3]
    [reply] = frames(stream.take_output())
    assert m.decode_reply(reply.body) == (4, MsgId.BATCH_LOCATION, 0)


def test_a_batch_whose_count_lies_is_refused_and_answered_as_bad():
    body = bytearray(m.encode_batch([location()]))
    body[0:2] = (5).to_bytes(2)
    stream = Jt808Stream()
    assert stream.feed(build(MsgId.BATCH_LOCATION, PHONE, 4, bytes(body))) == []
    assert stream.stats.rejected == {Reject.MALFORMED: 1}
    [reply] = frames(stream.take_output())
    assert m.decode_reply(reply.body) == (4, MsgId.BATCH_LOCATION, ReplyResult.BAD_MESSAGE)


@pytest.mark.parametrize("version", [None, 1])
def test_registration_is_answered_with_an_auth_code_and_auth_heartbeat_logout_generally(
        version):
    stream = Jt808Stream(auth_code=lambda t: f"AC{t}")
    feed = (build(MsgId.REGISTER, PHONE, 0, m.encode_register(plate="沪A12345",
                                                              version=version),
                  version=version)
            + build(MsgId.AUTH, PHONE, 1, m.encode_auth("AC13912345678", version=version,
                                                        imei="864000000000001"),
                    version=version)
            + build(MsgId.HEARTBEAT, PHONE, 2, version=version)
            + build(MsgId.LOGOUT, PHONE, 3, version=version))
    assert stream.feed(feed) == []
    assert stream.terminal == "13912345678"
    replies = frames(stream.take_output())
    assert [r.msg_id for r in replies] == [MsgId.REGISTER_REPLY] + [MsgId.PLATFORM_REPLY] * 3
    assert all(r.version == version for r in replies)
    assert replies[0].body == (0).to_bytes(2) + b"\x00" + b"AC13912345678"
    assert [m.decode_reply(r.body)[:2] for r in replies[1:]] == [
        (1, MsgId.AUTH), (2, MsgId.HEARTBEAT), (3, MsgId.LOGOUT)]
    # the platform numbers its own messages
    assert [r.serial for r in replies] == [0, 1, 2, 3]
    assert stream.stats.by_type == {"register": 1, "auth": 1, "heartbeat": 1, "logout": 1}


def test_registration_refused_by_policy_has_no_auth_code():
    stream = Jt808Stream(register_result=lambda t: RegisterResult.NO_TERMINAL)
    stream.feed(build(MsgId.REGISTER, PHONE, 5, m.encode_register()))
    [reply] = frames(stream.take_output())
    assert reply.body == (5).to_bytes(2) + bytes((RegisterResult.NO_TERMINAL,))


def test_register_and_auth_bodies_decode():
    body = m.encode_register(maker="ACME", model="T808", device_id="D1", plate="粤B0001")
    assert m.decode_register(body, None) == {
        "province": 0, "city": 0, "maker": "ACME", "model": "T808", "device_id": "D1",
        "plate_color": 1, "plate": "粤B0001"}
    assert m.decode_auth(m.encode_auth("XYZ", version=1, imei="1"), 1) == "XYZ"
    assert m.decode_auth(b"XYZ", None) == "XYZ"


def test_a_terminal_reply_is_kept_for_the_command_log():
    stream = Jt808Stream()
    stream.feed(build(MsgId.TERMINAL_REPLY, PHONE, 8,
                      m.terminal_reply(41, MsgId.SET_PARAMS, ReplyResult.OK)))
    assert stream.take_answers() == [CommandAnswer(41, True, "ok")]
    assert stream.take_answers() == []  # taken once: nothing piles up on a long connection
    assert stream.take_output() == b""  # a reply is not answered


def test_sub_packages_are_reassembled_and_each_answered():
    body = m.encode_batch([location(time=WHEN.replace(second=s)) for s in range(40)])
    chunks = [body[i:i + 500] for i in range(0, len(body), 500)]
    assert len(chunks) >= 3
    stream = Jt808Stream()
    wire = b"".join(build(MsgId.BATCH_LOCATION, PHONE, 10 + i, chunk,
                          packages=(len(chunks), i + 1))
                    for i, chunk in reversed(list(enumerate(chunks))))  # out of order
    records = stream.feed(wire)
    assert [r.time.second for r in records] == list(range(40))
    replies = frames(stream.take_output())
    # one reply per package, and one for the whole message (its first package's serial)
    assert len(replies) == len(chunks) + 1
    assert m.decode_reply(replies[-1].body) == (10, MsgId.BATCH_LOCATION, 0)


def test_reassemblies_are_bounded():
    stream = Jt808Stream()
    for msg_id in range(0x0F00, 0x0F10):  # 16 messages left at their first of two packages
        stream.feed(build(msg_id, PHONE, 1, b"x", packages=(2, 1)))
    assert len(stream._parts) <= 4
    assert stream.stats.rejected[Reject.TRUNCATED] == 12


def test_frames_split_anywhere_and_noise_between_them():
    wire = (b"junk" + build(MsgId.HEARTBEAT, PHONE, 1)
            + build(MsgId.LOCATION, PHONE, 2, location()) + b"\x7e\x7e\x7e")
    for cut in range(len(wire)):
        stream = Jt808Stream()
        records = stream.feed(wire[:cut]) + stream.feed(wire[cut:]) + stream.flush()
        assert len(records) == 1
        assert stream.stats.by_type == {"heartbeat": 1, "location": 1}
        assert stream.stats.rejected == {Reject.NO_FRAME: 1}


def test_an_endless_frame_is_cut_at_the_cap_and_the_stream_recovers():
    stream = Jt808Stream()
    stream.feed(b"\x7e")
    for _ in range(10):
        assert stream.feed(b"\x01" * 1000) == []
    assert len(stream._buf) <= MAX_FRAME + 1001
    assert stream.stats.rejected.get(Reject.OVERLONG)
    [fix] = stream.feed(build(MsgId.LOCATION, PHONE, 2, location()))
    assert isinstance(fix, Fix)


def test_an_encrypted_body_is_counted_unsupported():
    frame = bytearray(build(MsgId.LOCATION, PHONE, 2, location()))
    frame[3] |= 0x04  # properties bit 10: RSA
    data = bytes(frame[1:-2])  # escaped header and body, without the old check code
    raw = data + bytes((check_code(unescape(data) or b""),))
    stream = Jt808Stream()
    assert stream.feed(b"\x7e" + raw + b"\x7e") == []
    assert stream.stats.rejected == {Reject.UNSUPPORTED: 1}


# -- properties ------------------------------------------------------------------------------

locations = st.builds(
    lambda t, lat, lon, spd, crs, alt, pos, alarms, sats: (
        m.encode_location(time=t, lat=lat, lon=lon, speed_kmh=spd, course=crs, alt_m=alt,
                          positioned=pos, alarms=frozenset(alarms),
                          items={0x31: bytes((sats,))}),
        (t, lat, lon, spd, crs, alt, pos, frozenset(alarms), sats)),
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31),
                 timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
    st.integers(-90_000_000, 90_000_000).map(lambda v: v / 1e6),
    st.integers(-180_000_000, 180_000_000).map(lambda v: v / 1e6),
    st.integers(0, 6553).map(lambda v: v / 10),
    st.integers(0, 359), st.integers(-500, 9000), st.booleans(),
    st.sets(st.sampled_from(list(m.ALARM_BITS.values()))), st.integers(0, 60))


@settings(max_examples=300, deadline=None)
@given(locations, st.sampled_from([None, 1]), st.integers(0, 0xFFFF),
       st.text("0123456789", min_size=1, max_size=12))
def test_encode_then_decode_is_identity(loc, version, serial, phone):
    body, (t, lat, lon, spd, crs, alt, pos, alarms, sats) = loc
    stream = Jt808Stream()
    [rec] = stream.feed(build(MsgId.LOCATION, phone, serial, body, version=version))
    assert rec.time == t and rec.sats == sats
    assert rec.terminal == (phone.lstrip("0") or "0")
    assert rec.status is not None and rec.status.alarms == alarms
    if pos:
        assert isinstance(rec, Fix)
        assert (rec.lat, rec.lon, rec.alt_m, rec.course) == (lat, lon, alt, crs)
        assert rec.speed_kn * 1.852 == pytest.approx(spd)
    else:
        assert isinstance(rec, NoFix)
    [reply] = frames(stream.take_output())
    assert m.decode_reply(reply.body) == (serial, MsgId.LOCATION, 0)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_random_bytes_never_raise(data, chunk):
    stream = Jt808Stream()
    for i in range(0, len(data), chunk):
        stream.feed(data[i:i + chunk])
    stream.flush()
    stream.take_output()


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.integers(0, 0x3FF), st.integers(0, 0xFFFF))
def test_lying_lengths_and_damaged_frames_never_raise(body, length, msg_id):
    frame = bytearray(build(msg_id, PHONE, 1, body[:0x3FF]))
    frame[3:5] = (length | (frame[3] & 0xFC) << 8).to_bytes(2)[0:2]
    stream = Jt808Stream()
    stream.feed(bytes(frame))
    stream.feed(bytes(frame[: len(frame) // 2]))
    stream.flush()


def test_endless_flags_and_noise_keep_memory_flat():
    stream = Jt808Stream()
    tracemalloc.start()
    try:
        stream.feed(b"\x7e" * 100_000)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            stream.feed(b"\x7e" * 10_000)
            stream.feed(bytes(range(256)) * 20)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024
    assert stream.take_output() == b""
