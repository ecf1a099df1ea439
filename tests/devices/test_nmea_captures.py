"""Hand-made captures (tests/fixtures/nmea/*.nmea, written by make_captures.py) decoded in both
modes: expected values worked out by hand from the sentences, not copied from the decoder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.nmea import NmeaStream, Reject
from devices.records import Fix, NoFix

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nmea"


def _decode(name: str, *, eager: bool, chunk: int = 65536) -> tuple[list, NmeaStream]:
    data = (FIXTURES / name).read_bytes()
    stream = NmeaStream(eager=eager)
    out = []
    for i in range(0, len(data), chunk):
        out += stream.feed(data[i : i + chunk])
    return out + stream.flush(), stream


@pytest.mark.parametrize("eager", [False, True])
def test_ublox_cold_start_acquires_a_fix_and_crosses_midnight(eager: bool) -> None:
    out, stream = _decode("ublox_m8_cold_start.nmea", eager=eager)
    assert out[0] == NoFix(None, 0)  # no time yet: one NoFix per cycle, not one per sentence
    assert out[1] == NoFix(datetime(2026, 11, 29, 23, 59, 57, tzinfo=UTC), 3)
    fixes = out[2:]
    assert [f.time for f in fixes] == [
        datetime(2026, 11, 29, 23, 59, 58, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC),
    ]
    # 4807.03812 N = 48 + 7.03812 / 60; 01131.00046 E = 11 + 31.00046 / 60
    assert fixes[0] == Fix(fixes[0].time, 48.117302, 11.51667433, 0.012, None, 545.4, 5, 2.1, 1, 3)
    assert (fixes[1].speed_kn, fixes[1].course, fixes[1].sats, fixes[1].hdop) == (
        12.512, 271.25, 6, 1.8)
    assert (fixes[2].fix_quality, fixes[2].lat, fixes[2].lon) == (2, 48.11735, 11.51675)
    assert stream.stats.by_type == {"RMC": 5, "VTG": 5, "GGA": 5, "GSA": 5, "GSV": 8, "GLL": 5}
    assert stream.stats.rejected == {}


@pytest.mark.parametrize("eager", [False, True])
def test_multi_constellation_gn_stream_gives_one_fix_per_epoch(eager: bool) -> None:
    out, stream = _decode("gnss_multi_constellation.nmea", eager=eager)
    assert [r.time.second for r in out] == [10, 11, 12]
    first = out[0]
    # 3348.92510 S -> -(33 + 48.9251 / 60); four GSAs (3D, 3D, 3D, 2D): the best mode wins
    assert first == Fix(datetime(2024, 6, 15, 6, 30, 10, tzinfo=UTC), -33.81541833, 151.21552833,
                        1.53, 54.2, 41.7, 18, 0.62, 2, 3)
    assert stream.stats.by_type["GSA"] == 12 and stream.stats.by_type["GSV"] == 15
    assert stream.stats.rejected == {}


def test_other_talkers_and_a_date_carried_to_gga_only_epochs() -> None:
    out, _ = _decode("other_talkers.nmea", eager=False)
    assert [(r.time.second, r.sats) for r in out] == [(0, 7), (1, 9), (2, 10), (3, 8)]
    assert all(r.time.date() == datetime(2024, 3, 1).date() for r in out)
    assert out[1].speed_kn is None  # $BDGGA alone: no speed in that epoch
    assert (out[3].speed_kn, out[3].course) == (3.1, 92.5)  # $GARMC


@pytest.mark.parametrize("chunk", [1, 5, 64, 65536])
def test_noisy_serial_line_with_cr_only_ends(chunk: int) -> None:
    out, stream = _decode("noisy_serial.nmea", eager=True, chunk=chunk)
    assert [r.time.second for r in out] == [0, 1, 3]  # 12:00:02 was cut short by a reset
    assert all(r.terminal == "866104023179743" for r in out)
    assert out[1].speed_kn is None  # the RMC of 12:00:01 had a damaged checksum
    pubx = out[2]  # u-blox PUBX,00 through pynmea2: 9.630 km/h = 5.2 kn, ellipsoid height unused
    assert (pubx.lat, pubx.lon, pubx.speed_kn, pubx.sats, pubx.hdop, pubx.mode, pubx.alt_m) == (
        51.4751, -0.12732833, 5.2, 9, 0.95, 3, None)
    assert stream.stats.rejected == {
        Reject.NO_SENTENCE: 4, Reject.BAD_CHECKSUM: 1, Reject.MALFORMED: 1}
    assert stream.stats.by_type == {"PGID": 1, "RMC": 1, "GGA": 2, "PUBX": 1, "TXT": 1}
