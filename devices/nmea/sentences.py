"""One sentence body (the bytes after ``$``) to a parsed tuple: the decoder's fast path.

:func:`parse_body` is the pure-Python reference. ``devices/nmea/_speedups.c`` implements the
same function in C; :mod:`devices.nmea.accel` picks one, and the tests check (hypothesis) that
both give identical results, and that both agree with pynmea2 on every field they both decode.

Results (the first item names the type; ``ms`` is the time of day in milliseconds, or None when
the sentence left it empty; dates are proleptic ordinals):

- ``("RMC", ms, valid, lat, lon, speed_kn, course, date)``
- ``("GGA", ms, quality, lat, lon, sats, hdop, alt_m)``
- ``("GSA", mode, hdop)``
- ``("VTG", course, speed_kn)``
- ``("ZDA", ms, date)``
- ``("GLL", ms, valid, lat, lon)``
- ``("GNS", ms, valid, lat, lon, sats, hdop, alt_m)``
- ``("PGID", terminal_id)``
- ``(kind, payload)`` for every other type: the long tail (:mod:`devices.nmea.longtail`)

or a :class:`~devices.nmea.errors.Reject` (``BAD_CHECKSUM`` or ``MALFORMED``).

Validity follows pynmea2 (``is_valid``): RMC status ``A`` and, when the mode field is present
and not empty, a mode in ``ADEFMPRS``; GGA quality 1..5; GLL status ``A``. Two deliberate
differences, both seen on real terminals: an empty RMC mode field does not invalidate the fix
(l100 terminals send ``311218,,,*39``), and the NMEA 4.1 navigational status (13th RMC field)
is ignored (u-blox always prints ``V`` there, "no integrity information").
"""

from __future__ import annotations

from devices.nmea.errors import Reject
from devices.nmea.fields import (
    MAX_QUALITY,
    MAX_SATS,
    ddmmyy,
    opt_float,
    opt_int,
    opt_time,
    parse_coord,
    parse_time,
    ymd_ordinal,
)

RMC, GGA, GSA, VTG, ZDA, GLL, GNS, PGID = "RMC", "GGA", "GSA", "VTG", "ZDA", "GLL", "GNS", "PGID"
#: RMC mode indicators that pynmea2 counts as a fix (N: not valid)
VALID_RMC_MODES = frozenset((b"A", b"D", b"E", b"F", b"M", b"P", b"R", b"S"))
#: longest terminal id accepted from ``$PGID``
MAX_TERMINAL_ID = 64

_HEX_DIGITS = b"0123456789ABCDEFabcdef"
_HEX: dict[bytes, int] = {
    bytes((a, b)): int(bytes((a, b)), 16) for a in _HEX_DIGITS for b in _HEX_DIGITS
}
_BAD_CHECKSUM = Reject.BAD_CHECKSUM
_MALFORMED = Reject.MALFORMED


def _rmc(f: list[bytes]) -> tuple:
    # RMC: time, status, lat, N/S, lon, E/W, speed kn, course, date, magvar, E/W, mode, nav
    status = f[2]
    if status == b"A":
        valid = len(f) <= 12 or not f[12] or f[12] in VALID_RMC_MODES
    elif status == b"V":
        valid = False
    else:
        raise ValueError("bad RMC status")
    day = ddmmyy(f[9])
    lat = parse_coord(f[3], f[4], 90) if f[3] else None
    lon = parse_coord(f[5], f[6], 180) if f[5] else None
    return (RMC, opt_time(f[1]), valid, lat, lon, opt_float(f[7]), opt_float(f[8]), day)


def _gga(f: list[bytes]) -> tuple:
    # GGA: time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, geoid sep, M, age, station
    quality = opt_int(f[6], MAX_QUALITY) or 0
    lat = parse_coord(f[2], f[3], 90) if f[2] else None
    lon = parse_coord(f[4], f[5], 180) if f[4] else None
    sats = opt_int(f[7], MAX_SATS)
    hdop = opt_float(f[8])
    alt = opt_float(f[9]) if len(f) > 9 else None
    return (GGA, opt_time(f[1]), quality, lat, lon, sats, hdop, alt)


def _gsa(f: list[bytes]) -> tuple:
    # GSA: selection mode, fix mode (1 none, 2 2D, 3 3D), 12 PRNs, PDOP, HDOP, VDOP
    mode = int(f[2])
    if not 1 <= mode <= 3:
        raise ValueError("bad GSA mode")
    return (GSA, mode, opt_float(f[16]) if len(f) > 16 else None)


def _vtg(f: list[bytes]) -> tuple:
    # VTG (NMEA 2.3+): course T, "T", course M, "M", speed kn, "N", speed km/h, "K", mode
    # VTG (before 2.3): course T, course M, speed kn, speed km/h
    if len(f) > 2 and f[2] == b"T":
        return (VTG, opt_float(f[1]), opt_float(f[5]))
    return (VTG, opt_float(f[1]), opt_float(f[3]))


def _zda(f: list[bytes]) -> tuple:
    # ZDA: time, day, month, year (4 digits), local zone hours, minutes
    if len(f) < 5:
        raise ValueError("short ZDA")
    # receivers print an empty ZDA until they know the date
    day = ymd_ordinal(int(f[4]), int(f[3]), int(f[2])) if f[2] or f[3] or f[4] else None
    return (ZDA, opt_time(f[1]), day)


def _gll(f: list[bytes]) -> tuple:
    # GLL: lat, N/S, lon, E/W, time, status, mode
    if len(f) < 7 or not f[5]:
        return (GLL, None, False, None, None)  # NMEA 1.x GLL: no time, no epoch to join
    ms = parse_time(f[5])
    lat = parse_coord(f[1], f[2], 90) if f[1] else None
    lon = parse_coord(f[3], f[4], 180) if f[3] else None
    return (GLL, ms, f[6] == b"A", lat, lon)


def _gns(f: list[bytes]) -> tuple:
    # GNS: time, lat, N/S, lon, E/W, mode chars (one per system), sats, hdop, alt, ...
    lat = parse_coord(f[2], f[3], 90) if f[2] else None
    lon = parse_coord(f[4], f[5], 180) if f[4] else None
    valid = bool(f[6].strip(b"N"))  # any constellation not 'N'
    sats = opt_int(f[7], MAX_SATS)
    hdop = opt_float(f[8])
    alt = opt_float(f[9]) if len(f) > 9 else None
    return (GNS, opt_time(f[1]), valid, lat, lon, sats, hdop, alt)


def _pgid(f: list[bytes]) -> tuple:
    # $PGID,<terminal id>: T55-family terminals announce themselves with it
    ident = f[1].strip()
    if not (1 <= len(ident) <= MAX_TERMINAL_ID and ident.isalnum()):
        raise ValueError("bad terminal id")
    return (PGID, ident.decode("ascii"))


_PARSERS = {
    b"RMC": _rmc,
    b"GGA": _gga,
    b"GSA": _gsa,
    b"VTG": _vtg,
    b"ZDA": _zda,
    b"GLL": _gll,
    b"GNS": _gns,
    b"PGID": _pgid,
}


def _spaced_checksum(body: bytes, star: int) -> tuple[bytes, int]:
    """``...,A * 72``: T55-family firmware pads the ``*`` with spaces outside the checksum."""
    payload = body[:star].rstrip(b" ")
    return payload, _HEX.get(body[star + 1 :].lstrip(b" ")[:2], -1)


def parse_body(body: bytes, require_checksum: bool = False) -> tuple | Reject:
    """Check, split and decode one sentence body; never raises on any bytes."""
    star = body.find(b"*")
    if star >= 0:
        payload = body[:star]
        expected = _HEX.get(body[star + 1 : star + 3])
        if expected is None or payload[-1:] == b" ":
            payload, expected = _spaced_checksum(body, star)
        value = 0
        for byte in payload:
            value ^= byte
        if value != expected:
            return _BAD_CHECKSUM
    elif require_checksum:
        return _BAD_CHECKSUM
    else:
        payload = body.rstrip()
    fields = payload.split(b",")
    address = fields[0]
    if not (3 <= len(address) <= 10 and address.isalnum()):
        return _MALFORMED
    kind = address if address[0] == 0x50 else address[2:]  # 'P': proprietary, no talker
    parser = _PARSERS.get(kind)
    if parser is None:
        return (kind.decode("ascii"), payload)
    try:
        return parser(fields)
    except (ValueError, IndexError, OverflowError):
        return _MALFORMED
