"""``positions`` rows in PostgreSQL's binary COPY format: the writer's wire form and the spool's.

The format is PostgreSQL's own (documented under "COPY ... Binary Format"): a signature, then per
row a 16-bit field count and, per field, a 32-bit length (-1 for NULL) and the value in network
byte order. It is stable, compact and needs no parsing on the server, so the same bytes are sent
to PostgreSQL and written to the spool; the SQLite writer decodes them when it replays a spool.

The encoder is the hot loop of the writer (one pass per fix): rows whose optional fields are all
present go through one precompiled ``struct`` per terminal-id length; a chunk with any NULL or
out-of-range value falls back to a field-by-field path that also validates. When the optional
C accelerator is built (``telemetry/_pgcopy.c``), it packs a chunk of plain rows (UTC times,
float coordinates in range, every optional field an exact float or int that fits) into the
very bytes of that ``struct`` (0.20 µs a row instead of 0.58), and hands any other chunk back to the
Python code; set ``FIELDGATE_PGCOPY_PURE=1`` to leave it out.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.records import Fix
from telemetry.timestamps import ONE_MICROSECOND, PG_EPOCH, as_utc, from_pg_micros, pg_micros

#: column order of ``positions`` as the writer sends it (the staging table has the same order)
COLUMNS = (
    "terminal_id", "fix_time", "lat", "lon", "speed_kn", "course_deg", "alt_m", "sats", "hdop",
    "fix_quality", "received_at",
)
N_FIELDS = len(COLUMNS)
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)

#: one publish() call's fixes of one terminal, all received at the same instant
Chunk = tuple[str, datetime, Sequence[Fix]]
#: a decoded row, in COLUMNS order
Row = tuple[str, datetime, float, float, float | None, float | None, float | None, int | None,
            float | None, int | None, datetime]

FLOAT4_MAX = 3.4028234663852886e38
_REST = "iq" + "id" + "id" + "if" + "if" + "if" + "ih" + "if" + "ih" + "iq"
_fast_structs: dict[int, struct.Struct] = {}
_I = struct.Struct(">i")
_H_I = struct.Struct(">hi")
_I_Q = struct.Struct(">iq")
_I_D = struct.Struct(">id")
_I_F = struct.Struct(">if")
_I_H = struct.Struct(">ih")
_NULL = _I.pack(-1)


#: the C packer of plain chunks (``telemetry/_pgcopy.c``), None when not built or disabled
pack_rows: Callable[[bytes, int, Sequence[Fix]], bytes | None] | None = None
if os.environ.get("FIELDGATE_PGCOPY_PURE", "") in ("", "0"):
    try:
        from telemetry._pgcopy import pack_rows  # type: ignore[import-not-found,no-redef]
    except ImportError:  # not built: no compiler at install time
        pack_rows = None


class _Invalid(Exception):
    """Internal: this chunk needs the validating path."""


@dataclass(slots=True)
class EncodeStats:
    """What the validating path did (reported as metrics by the caller)."""

    rows: int = 0  #: rows encoded
    rejected: int = 0  #: rows dropped: no usable time or lat/lon out of range
    nulled: int = 0  #: optional fields stored as NULL because they could not be represented


def _fast_struct(id_len: int) -> struct.Struct:
    st = _fast_structs.get(id_len)
    if st is None:
        st = _fast_structs[id_len] = struct.Struct(f">hi{id_len}s{_REST}")
    return st


def encode_positions(chunks: Iterable[Chunk], stats: EncodeStats | None = None) -> bytes:
    """Encode chunks of fixes as a complete binary COPY stream (signature to trailer).

    Terminal ids must be valid already (text without NUL, at most 64 characters): the ingest
    checks them once per terminal, not once per row.
    """
    stats = stats if stats is not None else EncodeStats()
    out = bytearray(SIGNATURE)
    rows = 0
    packer = pack_rows
    for terminal_id, received_at, fixes in chunks:
        tid = terminal_id.encode()
        n = len(tid)
        recv = pg_micros(received_at)
        if packer is not None:
            packed = packer(tid, recv, fixes)
            if packed is not None:
                out += packed
                rows += len(fixes)
                continue
        pack = _fast_struct(n).pack
        start = len(out)
        try:
            for f in fixes:
                lat = f.lat
                lon = f.lon
                if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                    raise _Invalid
                # naive times raise TypeError here and take the validating path (as UTC)
                out += pack(N_FIELDS, n, tid, 8, (f.time - PG_EPOCH) // ONE_MICROSECOND,
                            8, lat, 8, lon,
                            4, f.speed_kn, 4, f.course, 4, f.alt_m, 2, f.sats, 4, f.hdop,
                            2, f.fix_quality, 8, recv)
            rows += len(fixes)
        except (_Invalid, struct.error, OverflowError, TypeError, AttributeError):
            del out[start:]
            head = _H_I.pack(N_FIELDS, n) + tid
            tail = _I_Q.pack(8, recv)
            for f in fixes:
                encoded = _encode_row_checked(head, tail, f, stats)
                if encoded is not None:
                    out += encoded
                    rows += 1
    out += TRAILER
    stats.rows += rows
    return bytes(out)


def _encode_row_checked(head: bytes, tail: bytes, f: Fix, stats: EncodeStats) -> bytes | None:
    try:
        t = pg_micros(f.time)
        lat = float(f.lat)
        lon = float(f.lon)
    except (TypeError, ValueError, AttributeError, OverflowError):
        stats.rejected += 1
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        stats.rejected += 1
        return None
    parts = [head, _I_Q.pack(8, t), _I_D.pack(8, lat), _I_D.pack(8, lon)]
    for value, is_int in (
        (f.speed_kn, False), (f.course, False), (f.alt_m, False),
        (f.sats, True), (f.hdop, False), (f.fix_quality, True),
    ):
        parts.append(_optional(value, is_int, stats))
    parts.append(tail)
    return b"".join(parts)


def _optional(value: object, is_int: bool, stats: EncodeStats) -> bytes:
    if value is None:
        return _NULL
    if is_int:
        if isinstance(value, int) and not isinstance(value, bool) and -32768 <= value <= 32767:
            return _I_H.pack(2, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        # NaN and infinities are real float4 values and stored as such; finite values beyond
        # float4's range are not representable
        if not math.isfinite(number) or abs(number) <= FLOAT4_MAX:
            return _I_F.pack(4, number)
    stats.nulled += 1
    return _NULL


def decode_positions(data: bytes) -> Iterator[Row]:
    """Rows of a binary COPY stream produced by :func:`encode_positions`.

    Raises:
        ValueError: the bytes are not such a stream (wrong signature, truncated, bad layout).
    """
    view = memoryview(data)
    if bytes(view[: len(SIGNATURE)]) != SIGNATURE:
        raise ValueError("not a binary COPY stream of positions (bad signature)")
    pos = len(SIGNATURE)
    end = len(view)
    unpack_h = struct.Struct(">h").unpack_from
    unpack_i = _I.unpack_from
    while True:
        if pos + 2 > end:
            raise ValueError("binary COPY stream truncated (no trailer)")
        (count,) = unpack_h(view, pos)
        pos += 2
        if count == -1:
            return
        if count != N_FIELDS:
            raise ValueError(f"row with {count} fields, expected {N_FIELDS}")
        fields: list[bytes | None] = []
        for _ in range(N_FIELDS):
            if pos + 4 > end:
                raise ValueError("binary COPY stream truncated inside a row")
            (length,) = unpack_i(view, pos)
            pos += 4
            if length == -1:
                fields.append(None)
                continue
            if length < 0 or pos + length > end:
                raise ValueError("binary COPY stream truncated inside a field")
            fields.append(bytes(view[pos : pos + length]))
            pos += length
        yield _decode_fields(fields)


_DECODERS = (
    lambda b: b.decode(),
    lambda b: from_pg_micros(struct.unpack(">q", b)[0]),
    lambda b: struct.unpack(">d", b)[0],
    lambda b: struct.unpack(">d", b)[0],
    lambda b: struct.unpack(">f", b)[0],
    lambda b: struct.unpack(">f", b)[0],
    lambda b: struct.unpack(">f", b)[0],
    lambda b: struct.unpack(">h", b)[0],
    lambda b: struct.unpack(">f", b)[0],
    lambda b: struct.unpack(">h", b)[0],
    lambda b: from_pg_micros(struct.unpack(">q", b)[0]),
)


def _decode_fields(fields: list[bytes | None]) -> Row:
    try:
        row = tuple(None if raw is None else dec(raw) for dec, raw in zip(_DECODERS, fields,
                                                                           strict=True))
    except (struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise ValueError(f"bad field in binary COPY row: {exc}") from exc
    if row[0] is None or row[1] is None or row[2] is None or row[3] is None or row[10] is None:
        raise ValueError("binary COPY row lacks a required field")
    # Row's required fields are not Optional: the check above is what makes this one a Row
    return row  # type: ignore[return-value]


def fix_columns(fix: Fix | None) -> tuple[Any, ...] | None:
    """``(fix_time, lat, lon, speed_kn, course_deg, alt_m, sats, hdop, fix_quality)`` of a fix,
    validated as the encoder does (unrepresentable optional values become None); None when
    the fix has no usable time or position. Used for the latest-state and unknown-terminal rows.
    """
    if fix is None:
        return None
    try:
        time = as_utc(fix.time)
        lat = float(fix.lat)
        lon = float(fix.lon)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    stats = EncodeStats()
    values = []
    for value, is_int in (
        (fix.speed_kn, False), (fix.course, False), (fix.alt_m, False),
        (fix.sats, True), (fix.hdop, False), (fix.fix_quality, True),
    ):
        values.append(None if _optional(value, is_int, stats) is _NULL else value)
    return (time, lat, lon, *values)
