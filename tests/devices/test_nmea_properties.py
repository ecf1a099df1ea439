"""Properties of NmeaStream on any input: never raises, never hangs, the same records whatever
the chunking, C and pure paths give the same records, and decode(encode(fix)) == fix."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.nmea import NmeaStream, accel, encode
from devices.records import Fix, NoFix
from tests.devices import nmea_strategies as gen

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nmea"
CAPTURES = b"".join(p.read_bytes() for p in sorted(FIXTURES.glob("*.nmea")))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: generating whole streams is the slow part: fewer, larger examples
STREAM_SETTINGS = settings(SETTINGS, max_examples=60)


def _run(data: bytes, cuts: list[int], *, eager: bool, pure: bool = False,
         max_line: int = 512) -> tuple:
    stream = NmeaStream(eager=eager, max_line=max_line)
    if pure:
        stream._parse = accel.pure_parse_body
        stream._split = None
        stream._at_ms = None
        stream._make_fix = Fix
    out = []
    start = 0
    for cut in sorted(set(cuts)):
        out += stream.feed(data[start:cut])
        start = cut
    out += stream.feed(data[start:]) + stream.flush()
    return out, dict(stream.stats.by_type), dict(stream.stats.rejected), stream.sentences, \
        stream.rejected


def _check_records(out: list) -> None:
    for record in out:
        assert isinstance(record, Fix | NoFix)
        if isinstance(record, Fix):
            assert -90 <= record.lat <= 90 and -180 <= record.lon <= 180
            assert record.time.tzinfo is UTC
            for value in (record.speed_kn, record.course, record.alt_m, record.hdop):
                assert value is None or math.isfinite(value)


@st.composite
def streams(draw) -> bytes:
    """Generated sentences mixed with junk, odd line ends and mutations."""
    parts = []
    for _ in range(draw(st.integers(1, 15))):
        choice = draw(st.integers(0, 9))
        if choice < 6:
            body, _ = draw(gen.sentence_bodies())
            parts.append(b"$" + body)
        elif choice < 8:
            parts.append(b"$" + draw(gen.mutated_bodies()))
        else:
            parts.append(draw(st.binary(max_size=40)))
        parts.append(draw(st.sampled_from([b"\r\n", b"\n", b"\r", b"", b"\r\r\n"])))
    return b"".join(parts)


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8), st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int], eager: bool) -> None:
    out, *_ = _run(data, cuts, eager=eager)
    _check_records(out)


@SETTINGS
@given(st.data())
def test_mutated_real_captures_never_raise(data: st.DataObject) -> None:
    capture = bytearray(CAPTURES)
    for _ in range(data.draw(st.integers(1, 40))):
        i = data.draw(st.integers(0, len(capture) - 1))
        capture[i] = data.draw(st.integers(0, 255))
    out, *_ = _run(bytes(capture), data.draw(st.lists(st.integers(0, len(capture)), max_size=6)),
                   eager=data.draw(st.booleans()))
    _check_records(out)


@STREAM_SETTINGS
@given(streams(), st.lists(st.integers(0, 4000), max_size=10), st.booleans())
def test_any_split_gives_identical_output(data: bytes, cuts: list[int], eager: bool) -> None:
    assert _run(data, cuts, eager=eager) == _run(data, [], eager=eager)


@pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
@STREAM_SETTINGS
@given(streams(), st.booleans())
def test_c_and_pure_streams_give_the_same_records(data: bytes, eager: bool) -> None:
    assert _run(data, [], eager=eager) == _run(data, [], eager=eager, pure=True)


@pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
@STREAM_SETTINGS
@given(streams(), st.lists(st.integers(0, 4000), max_size=10), st.booleans(),
       st.integers(16, 120))
def test_c_and_pure_framing_agree_on_any_chunking_and_line_limit(
        data: bytes, cuts: list[int], eager: bool, max_line: int) -> None:
    """The C framing (``split_parse``) against the Python loop: the same records, counters
    and refusals, with overlong lines cut anywhere across chunks."""
    assert _run(data, cuts, eager=eager, max_line=max_line) == \
        _run(data, cuts, eager=eager, pure=True, max_line=max_line)


@pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
@SETTINGS
@given(st.datetimes(timezones=st.sampled_from([UTC, None, timezone(timedelta(hours=8))])),
       st.one_of(st.integers(0, 86_400_000), st.integers(-10, 10**12)), st.booleans())
def test_c_epoch_times_are_pythons(day: datetime, ms: int, at_midnight: bool) -> None:
    """``at_ms`` builds midnight + ms at once, or says None (the caller adds in Python)."""
    assert accel.at_ms is not None
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0) if at_midnight else day
    plain = midnight.time() == datetime.min.time() and 0 <= ms < 86_400_000
    got = accel.at_ms(midnight, ms)
    if got is None:
        assert not plain  # it declines only what it does not build
        return
    assert plain
    want = midnight + timedelta(milliseconds=ms)
    assert got == want and got.tzinfo is want.tzinfo and got.fold == want.fold == 0


@pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
@SETTINGS
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8), st.integers(16, 64))
def test_c_and_pure_framing_agree_on_arbitrary_bytes(data: bytes, cuts: list[int],
                                                      max_line: int) -> None:
    assert _run(data, cuts, eager=True, max_line=max_line) == \
        _run(data, cuts, eager=True, pure=True, max_line=max_line)


def test_real_captures_split_byte_by_byte() -> None:
    whole = _run(CAPTURES, [], eager=True)
    assert _run(CAPTURES, list(range(0, len(CAPTURES), 1)), eager=True) == whole
    assert len(whole[0]) > 10


def test_overlong_garbage_is_bounded_and_counted() -> None:
    stream = NmeaStream(max_line=64)
    for _ in range(1000):
        assert stream.feed(b"x" * 1000) == []
    assert len(stream._buf) <= 64
    good = encode.epoch(Fix(datetime(2026, 1, 1, tzinfo=UTC), 1.0, 2.0))
    out = stream.feed(b"\n" + good) + stream.flush()
    assert len(out) == 1 and stream.rejected == 1


@st.composite
def fixes(draw) -> Fix:
    """Fixes at the encoder's precision: centiseconds, 1e-6 arc minutes, 0.01 kn and degree,
    0.1 m and 0.1 HDOP."""
    t = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(
        milliseconds=10 * draw(st.integers(0, 70 * 365 * 86400 * 100)))
    def angle(limit: int) -> float:
        degrees = draw(st.integers(0, limit - 1))
        micro_minutes = draw(st.integers(0, 60_000_000 - 1))
        return round(degrees + micro_minutes / 1e6 / 60, 8) * draw(st.sampled_from([1, -1]))
    return Fix(t, angle(90), angle(180), draw(st.integers(0, 30000)) / 100,
               draw(st.integers(0, 35999)) / 100, draw(st.integers(-4000, 90000)) / 10,
               draw(st.integers(0, 40)), draw(st.integers(5, 999)) / 10,
               draw(st.integers(1, 5)), draw(st.sampled_from([2, 3])))


@SETTINGS
@given(fixes(), st.sampled_from(gen.TALKERS))
def test_decode_of_encode_is_identity(fix: Fix, talker: str) -> None:
    stream = NmeaStream(eager=False)
    data = encode.epoch(fix, talker=talker) + encode.gsa(fix.mode, hdop=fix.hdop, talker=talker)
    out = stream.feed(data) + stream.flush()
    assert len(out) == 1
    got = out[0]
    assert got.lat == pytest.approx(fix.lat, abs=2e-8)  # 1e-6 arc minute = 1.7e-8 degree
    assert got.lon == pytest.approx(fix.lon, abs=2e-8)
    assert got == Fix(fix.time, got.lat, got.lon, *(getattr(fix, f) for f in (
        "speed_kn", "course", "alt_m", "sats", "hdop", "fix_quality", "mode", "terminal")))
