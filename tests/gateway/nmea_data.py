"""NMEA traffic for gateway tests: encoded epochs (devices.nmea.encode) and real captures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.nmea import NmeaStream, encode
from devices.records import Fix, Record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
T0 = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)


def fixes(n: int, *, start: int = 0, terminal: str | None = None, lat: float = 48.1173,
          t0: datetime = T0) -> list[Fix]:
    return [Fix(t0 + timedelta(seconds=i), round(lat + i * 1e-4, 8), 11.5167, 12.5, 271.25,
                545.4, 9, 0.9, 1, None, terminal) for i in range(start, start + n)]


def epochs(items: list[Fix]) -> bytes:
    """RMC + GGA per fix, the way a typical tracker reports."""
    return b"".join(encode.epoch(f) for f in items)


def pgid(terminal: str) -> bytes:
    return encode.pgid(terminal)


def t55_capture() -> bytes:
    """Real T55 terminal lines (Traccar's test suite), CRLF-terminated; the $PGID is mid-way."""
    lines = (FIXTURES / "traccar_t55_stream.nmea").read_bytes().splitlines()
    return b"".join(line + b"\r\n" for line in lines if not line.startswith(b"#"))


def decode_all(data: bytes) -> list[Record]:
    """What the decoder alone makes of a byte stream (the reference the gateway must match)."""
    stream = NmeaStream(eager=True)
    return stream.feed(data) + stream.flush()
