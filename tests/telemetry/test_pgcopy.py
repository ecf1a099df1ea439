"""The binary COPY encoder: what PostgreSQL reads back is what was encoded; bad values are
counted, never fatal."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.records import Fix
from fieldgate.dburl import DatabaseURL
from telemetry import pgcopy
from telemetry.pgcopy import COLUMNS, EncodeStats, decode_positions, encode_positions, fix_columns
from tests.telemetry.conftest import BASE, fixes

RECEIVED = datetime(2026, 3, 1, 8, 0, 5, 123456, tzinfo=UTC)
_optional_float = st.one_of(st.none(), st.floats(), st.floats(-1e3, 1e3), st.integers(-5, 5),
                            st.just(True), st.just(3.5e38), st.just(-3.4028235e38))
_optional_int = st.one_of(st.none(), st.integers(-40000, 40000), st.booleans(), st.just(9.0))


def _expected(tid: str, f: Fix) -> tuple:
    return (tid, f.time, f.lat, f.lon, f.speed_kn, f.course, f.alt_m, f.sats, f.hdop,
            f.fix_quality, RECEIVED)


def test_round_trip_full_and_sparse_rows() -> None:
    full = fixes(3)
    sparse = [Fix(time=BASE + timedelta(seconds=10), lat=-33.9, lon=151.2)]  # RMC-less GGA-less
    stats = EncodeStats()
    data = encode_positions([("T-1", RECEIVED, full), ("ÜNI-ü", RECEIVED, sparse)], stats)
    rows = list(decode_positions(data))
    assert stats.rows == 4 and stats.rejected == 0 and stats.nulled == 0
    assert rows[0][0] == "T-1" and rows[3][0] == "ÜNI-ü"
    for row, (tid, f) in zip(rows, [("T-1", f) for f in full] + [("ÜNI-ü", sparse[0])],
                             strict=True):
        exp = _expected(tid, f)
        assert row[:4] == exp[:4] and row[7] == exp[7] and row[9] == exp[9] and row[10] == RECEIVED
        for got, want in zip((row[4], row[5], row[6], row[8]), (exp[4], exp[5], exp[6], exp[8]),
                             strict=True):
            assert (got is None and want is None) or got == pytest.approx(want, rel=1e-6)


def test_fast_path_and_validating_path_produce_the_same_bytes() -> None:
    good = fixes(5)
    odd = Fix(time=BASE + timedelta(seconds=99), lat=1.0, lon=2.0, sats=None)
    fast = encode_positions([("T", RECEIVED, good)])
    mixed = encode_positions([("T", RECEIVED, [*good, odd])])  # whole chunk takes the slow path
    assert mixed.startswith(fast[:-2])  # same rows, then the odd one, then the trailer


def test_invalid_rows_are_rejected_and_unrepresentable_fields_nulled() -> None:
    naive = Fix(time=datetime(2026, 3, 1, 9, 0), lat=10.0, lon=10.0)
    offset = Fix(time=datetime(2026, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))), lat=1.0,
                 lon=1.0)
    bad = [
        Fix(time=BASE, lat=91.0, lon=0.0),
        Fix(time=BASE, lat=float("nan"), lon=0.0),
        Fix(time=BASE, lat=0.0, lon=-180.5),
        Fix(time="yesterday", lat=0.0, lon=0.0),  # type: ignore[arg-type]
    ]
    huge = Fix(time=BASE + timedelta(seconds=1), lat=0.0, lon=0.0, speed_kn=1e39, sats=70000,
               fix_quality=True, hdop=float("inf"))
    stats = EncodeStats()
    rows = list(decode_positions(encode_positions([("T", RECEIVED, [*bad, naive, offset, huge])],
                                                  stats)))
    assert stats.rejected == 4 and stats.rows == 3
    assert stats.nulled == 3  # speed beyond float4, sats beyond int2, a bool as fix quality
    assert rows[0][1] == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # naive taken as UTC
    assert rows[1][1] == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # converted from +02:00
    assert rows[2][4] is None and rows[2][7] is None and rows[2][9] is None
    assert math.isinf(rows[2][8])  # infinity is a float4 value: kept


def test_fix_columns_validates_like_the_encoder() -> None:
    assert fix_columns(None) is None
    assert fix_columns(Fix(time=BASE, lat=95.0, lon=0.0)) is None
    cols = fix_columns(Fix(time=BASE, lat=1.0, lon=2.0, sats=40000, hdop=1.5))
    assert cols == (BASE, 1.0, 2.0, None, None, None, None, 1.5, None)


@pytest.mark.parametrize("damage", [
    lambda b: b[:-2],                      # no trailer
    lambda b: b[:30],                      # cut inside a row
    lambda b: b"NOTCOPY" + b[7:],          # signature
    lambda b: b[:19] + b"\x00\x05" + b[21:],  # wrong field count
])
def test_decoder_refuses_damaged_streams(damage) -> None:
    data = encode_positions([("T", RECEIVED, fixes(2))])
    with pytest.raises(ValueError):
        list(decode_positions(damage(data)))


def test_postgresql_reads_the_stream(pg_db: DatabaseURL) -> None:
    data = encode_positions([("T-1", RECEIVED, fixes(50)),
                             ("T-2", RECEIVED, [Fix(time=BASE, lat=-1.5, lon=-2.5)])])
    with psycopg.connect(pg_db.conninfo) as conn:
        conn.execute("CREATE TEMP TABLE p (LIKE positions)")
        with conn.cursor().copy(f"COPY p ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(data)
        got = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM p ORDER BY terminal_id, fix_time"
                           ).fetchall()
    def norm(row: tuple) -> tuple:  # float4 read back through different conversions
        return tuple(round(v, 5) if isinstance(v, float) else v for v in row)

    assert [norm(r) for r in got] == [norm(r) for r in decode_positions(data)]
    assert len(got) == 51


@pytest.mark.skipif(pgcopy.pack_rows is None, reason="C accelerator not built")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["T-1", "864000000000001", "ÜNI-ü", ""]),
    st.lists(st.builds(
        Fix,
        time=st.one_of(st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC)),
                       st.datetimes(min_value=datetime(1970, 1, 1)),
                       st.datetimes(min_value=datetime(1970, 1, 1),
                                    timezones=st.just(timezone(timedelta(hours=8))))),
        lat=st.one_of(st.floats(-91, 91), st.floats(), st.integers(-90, 90)),
        lon=st.one_of(st.floats(-181, 181), st.integers(-180, 180)),
        speed_kn=_optional_float, course=_optional_float, alt_m=_optional_float,
        sats=_optional_int, hdop=_optional_float, fix_quality=_optional_int),
        max_size=6)), max_size=4))
def test_the_c_rows_are_the_python_rows(chunks: list) -> None:
    """The C encoder (pack_rows) gives the bytes and counts of the Python one for any values:
    plain rows it packs itself, anything else goes the Python way."""
    data = [(tid, RECEIVED, fs) for tid, fs in chunks]
    c_stats, py_stats = EncodeStats(), EncodeStats()
    with_c = encode_positions(data, c_stats)
    saved, pgcopy.pack_rows = pgcopy.pack_rows, None
    try:
        pure = encode_positions(data, py_stats)
    finally:
        pgcopy.pack_rows = saved
    assert with_c == pure and c_stats == py_stats


def test_plain_rows_take_the_c_path() -> None:
    if pgcopy.pack_rows is None:
        pytest.skip("C accelerator not built")
    assert pgcopy.pack_rows(b"T-1", 5, fixes(3)) is not None
    assert pgcopy.pack_rows(b"T-1", 5, [Fix(time=BASE, lat=1.0, lon=2.0)]) is None
