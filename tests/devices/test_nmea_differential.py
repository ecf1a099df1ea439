"""Differential tests: the fast path against pynmea2 (the project's NMEA reference), and the C
accelerator against the pure-Python fast path.

- For generated RMC/GGA/GSA/VTG/ZDA/GLL/GNS sentences, every field both decoders read agrees
  (time to the millisecond, positions to 1e-8 degree: the fast path rounds to that), and both
  refuse exactly the same sentences for their checksum.
- The C ``parse_body`` returns exactly what the pure one returns, for generated sentences, for
  mutated ones and for arbitrary bytes (including which ones are rejected, and why).

Deliberate differences from pynmea2, each tested explicitly below: an empty RMC mode field
does not invalidate a fix, and the NMEA 4.1 navigational status is ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, time

import pynmea2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.nmea import accel
from devices.nmea.errors import Reject
from devices.nmea.sentences import parse_body as pure_parse
from tests.devices import nmea_strategies as gen

needs_c = pytest.mark.skipif(not accel.ACCELERATED, reason="C accelerator not built")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ms(t: time) -> float:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond / 1000


def _opt(value: object, convert=float):
    return None if value in (None, "") else convert(value)


def _same_time(ours: int | None, theirs: object) -> None:
    if isinstance(theirs, time):  # pynmea2 truncates to microseconds, we round to ms
        assert ours == pytest.approx(_ms(theirs), abs=0.5)


def _same_coord(ours: float | None, theirs: float) -> None:
    assert ours == pytest.approx(theirs, abs=1.1e-8)


def _compare(ours: tuple, msg: pynmea2.NMEASentence) -> None:
    kind = ours[0]
    if kind == "RMC":
        _, ms, valid, lat, lon, speed, course, day = ours
        _same_time(ms, msg.timestamp)
        assert valid == msg.is_valid
        assert (lat is None, lon is None) == (not msg.lat, not msg.lon)
        if msg.lat:  # pynmea2 reads an empty coordinate as 0.0
            _same_coord(lat, msg.latitude)
        if msg.lon:
            _same_coord(lon, msg.longitude)
        assert speed == _opt(msg.spd_over_grnd)
        assert course == _opt(msg.true_course)
        assert day == msg.datestamp.toordinal()
    elif kind == "GGA":
        _, ms, quality, lat, lon, sats, hdop, alt = ours
        _same_time(ms, msg.timestamp)
        assert quality == msg.gps_qual
        assert (1 <= quality <= 5) == msg.is_valid  # the stream's validity rule for GGA
        _same_coord(lat, msg.latitude)
        _same_coord(lon, msg.longitude)
        assert sats == _opt(msg.num_sats, int)
        assert hdop == _opt(msg.horizontal_dil)
        assert alt == _opt(msg.altitude)
    elif kind == "GSA":
        _, mode, hdop = ours
        assert mode == int(msg.mode_fix_type)
        assert (mode >= 2) == msg.is_valid
        assert hdop == _opt(msg.hdop)
    elif kind == "VTG":
        _, course, speed = ours
        assert course == _opt(msg.true_track)
        assert speed == _opt(msg.spd_over_grnd_kts)
    elif kind == "ZDA":
        _, ms, day = ours
        _same_time(ms, msg.timestamp)
        assert day == msg.datestamp.toordinal()
    elif kind == "GLL":
        _, ms, valid, lat, lon = ours
        _same_time(ms, msg.timestamp)
        assert valid == msg.is_valid
        _same_coord(lat, msg.latitude)
        _same_coord(lon, msg.longitude)
    elif kind == "GNS":
        _, ms, valid, lat, lon, sats, hdop, alt = ours
        _same_time(ms, msg.timestamp)
        _same_coord(lat, msg.latitude)
        _same_coord(lon, msg.longitude)
        assert valid == any(c != "N" for c in msg.mode_indicator)
        assert sats == _opt(msg.num_sats, int)
        assert hdop == _opt(msg.hdop)
        assert alt == _opt(msg.altitude)
    else:  # pragma: no cover - the strategies only make hot sentences
        raise AssertionError(kind)


@SETTINGS
@given(gen.sentence_bodies())
def test_fast_path_agrees_with_pynmea2(sample: tuple[bytes, str]) -> None:
    body, variant = sample
    ours = accel.parse_body(body)
    try:
        msg = pynmea2.parse("$" + body.decode("ascii"))
    except pynmea2.ChecksumError:
        assert variant == "bad"
        assert ours is Reject.BAD_CHECKSUM
        return
    assert variant != "bad"
    assert isinstance(ours, tuple), ours
    _compare(ours, msg)


@SETTINGS
@given(gen.sentence_bodies())
def test_pure_path_agrees_with_pynmea2_on_checksums(sample: tuple[bytes, str]) -> None:
    body, variant = sample
    ours = pure_parse(body)
    assert (ours is Reject.BAD_CHECKSUM) == (variant == "bad")
    with pytest.raises(pynmea2.ChecksumError) if variant == "bad" else _nothing():
        pynmea2.parse("$" + body.decode("ascii"))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


@needs_c
@SETTINGS
@given(st.one_of(gen.sentence_bodies().map(lambda s: s[0]), gen.mutated_bodies(),
                 st.binary(max_size=120)),
       st.booleans())
def test_c_and_pure_paths_are_identical(body: bytes, require: bool) -> None:
    assert accel.parse_body(body, require) == pure_parse(body, require)
    assert type(accel.parse_body(body, require)) is type(pure_parse(body, require))


@needs_c
@pytest.mark.parametrize("token", gen.WEIRD_TOKENS)
@pytest.mark.parametrize("index", range(1, 17))
@pytest.mark.parametrize("kind", ["RMC", "GGA", "GSA", "VTG", "ZDA", "GLL", "GNS", "PGID"])
def test_c_and_pure_agree_on_every_odd_field(kind: str, index: int, token: bytes) -> None:
    base = {
        "RMC": b"GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A,V",
        "GGA": b"GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        "GSA": b"GNGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1,1",
        "VTG": b"GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A",
        "ZDA": b"GPZDA,201530.00,04,07,2002,00,00",
        "GLL": b"GPGLL,4916.45,N,12311.12,W,225444,A,A",
        "GNS": b"GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,",
        "PGID": b"PGID,359853000144328",
    }[kind]
    fields = base.split(b",")
    if index >= len(fields):
        return
    fields[index] = token
    body = b",".join(fields)
    for candidate in (body, body + b"*%02X" % _xor(body)):
        assert accel.parse_body(candidate) == pure_parse(candidate)


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def test_empty_rmc_mode_field_is_not_a_lost_fix() -> None:
    """l100 terminals send ``311218,,,*39``: pynmea2 calls that invalid, we keep the fix."""
    body = b"GPRMC,062943,A,2533.6719,N,09154.3203,E,0,179,311218,,,*39"
    assert pynmea2.parse("$" + body.decode()).is_valid is False
    assert accel.parse_body(body)[2] is True
    assert pure_parse(body)[2] is True


def test_nmea41_navigational_status_is_ignored() -> None:
    """u-blox prints navStatus ``V`` ("no integrity information") on every RMC."""
    body = b"GNRMC,164414.90,A,4650.5156500,N,01246.1059604,E,0.018,,091123,,,A,V*15"
    assert pynmea2.parse("$" + body.decode()).is_valid is False
    assert accel.parse_body(body)[2] is True


def test_spaced_checksum_of_t55_firmware() -> None:
    body = b"GPRMC,213516.0,A,4337.216791,N,11611.995877,W,0.0,335.4,181214,,,A * 72"
    assert pure_parse(body)[0] == "RMC"
    assert accel.parse_body(body) == pure_parse(body)


def test_pure_python_can_be_forced_by_environment() -> None:
    code = "from devices.nmea import accel; print(accel.ACCELERATED)"
    env = dict(os.environ, FIELDGATE_NMEA_PURE="1")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def test_zda_date_matches_python_dates() -> None:
    assert pure_parse(b"GPZDA,000000,29,02,2024,00,00")[2] == date(2024, 2, 29).toordinal()
    assert pure_parse(b"GPZDA,000000,29,02,2023,00,00") is Reject.MALFORMED
