"""Real terminals' frames (Traccar's test vectors, tests/fixtures/nmea/traccar_vectors.txt)
replayed through NmeaStream against the outcomes written next to each frame.

Traccar does not verify NMEA checksums, so several of its vectors carry a wrong ``*hh``
(marked ``checksum=BAD`` in the fixture). fieldgate rejects those: the tests below assert the
rejection rather than skipping the vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.nmea import NmeaStream, Reject

FIXTURE = Path(__file__).parents[1] / "fixtures" / "nmea" / "traccar_vectors.txt"


def _vectors() -> list:
    lines = FIXTURE.read_text(encoding="latin-1").split("\n")
    vectors = []
    for i, line in enumerate(lines):
        if line.startswith("# expect: "):
            note = lines[i - 1]
            payload = lines[i + 1].encode("latin-1").decode("unicode_escape").encode("latin-1")
            vectors.append(pytest.param(payload, json.loads(line[10:]), note,
                                        id=f"v{len(vectors):02d}"))
    return vectors


VECTORS = _vectors()


def _decode(payload: bytes) -> tuple[list, NmeaStream]:
    stream = NmeaStream(eager=False)
    return stream.feed(payload + b"\r\n") + stream.flush(), stream


@pytest.mark.parametrize(("payload", "expected", "note"), VECTORS)
def test_traccar_vector(payload: bytes, expected: dict, note: str) -> None:
    out, stream = _decode(payload)
    assert [r.as_json() for r in out if hasattr(r, "as_json")] == expected["fixes"]
    assert sum(1 for r in out if not hasattr(r, "as_json")) == expected["no_fixes"]
    assert {str(k): v for k, v in stream.stats.rejected.items()} == expected["rejected"]
    assert stream.stats.by_type == expected["types"]
    if "checksum=BAD" in note:
        assert stream.stats.rejected[Reject.BAD_CHECKSUM] >= 1
        assert expected["fixes"] == []


def test_the_fixture_holds_bad_checksum_vectors_and_known_positions() -> None:
    notes = [v.values[2] for v in VECTORS]
    assert len(VECTORS) >= 35
    assert sum("checksum=BAD" in n for n in notes) >= 8


@pytest.mark.parametrize(
    ("payload", "lat", "lon"),
    [  # positions Traccar's own tests state (fix=... lat=... lon=...)
        (b"$GPRMC,154403.000,A,6311.64120,N,01438.02740,E,0.000,0.0,270707,,*0A", 63.19402,
         14.63379),
        (b"%356939010012099,$GPRMC,124945.752,A,4436.6245,N,01054.4634,E,0.11,358.52,060408,,,A,"
         b"+393334347445,N028d", 44.61041, 10.90772),
        (b"imei=352024028982787&rmc=$GPRMC,103048.000,A,4735.0399,N,01905.2895,E,0.00,0.00,"
         b"171013,,*05,AUTO-4095mv", 47.58400, 19.08816),
    ],
)
def test_positions_agree_with_traccar(payload: bytes, lat: float, lon: float) -> None:
    out, _ = _decode(payload)
    assert out[0].lat == pytest.approx(lat, abs=5e-6)
    assert out[0].lon == pytest.approx(lon, abs=5e-6)


def test_a_whole_traccar_session_in_one_stream() -> None:
    """All vectors back to back through one eager stream: nothing raises, every good frame
    still gives its fix."""
    stream = NmeaStream(eager=True)
    data = b"\r\n".join(v.values[0] for v in VECTORS) + b"\r\n"
    out = stream.feed(data) + stream.flush()
    expected = sum(len(v.values[1]["fixes"]) for v in VECTORS)
    # GGA/GLL-only vectors are dated by the RMC before them when they share one stream
    assert len([r for r in out if hasattr(r, "as_json")]) >= expected
