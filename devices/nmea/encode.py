"""NMEA 0183 sentences from records: what simulators send and round-trip tests check.

Precision is chosen so that decoding gives back the record: minutes with 6 decimals
(about 2 mm), time with centiseconds, speed and course with 2 decimals.
"""

from __future__ import annotations

from datetime import datetime

from devices.nmea.checksum import with_checksum
from devices.records import Fix

CRLF = b"\r\n"


def sentence(address: str, *fields: object) -> bytes:
    """``$ADDRESS,f1,f2,...*HH`` + CRLF; None fields are left empty."""
    body = ",".join([address, *("" if f is None else str(f) for f in fields)])
    return with_checksum(body.encode("ascii")) + CRLF


def _time(t: datetime) -> str:
    return f"{t.hour:02d}{t.minute:02d}{t.second:02d}.{t.microsecond // 10000:02d}"


def _date(t: datetime) -> str:
    return f"{t.day:02d}{t.month:02d}{t.year % 100:02d}"


def _lat(lat: float) -> tuple[str, str]:
    value = abs(lat)
    degrees = int(value)
    minutes = round((value - degrees) * 60, 6)
    if minutes >= 60:
        degrees, minutes = degrees + 1, 0.0
    return f"{degrees:02d}{minutes:09.6f}", "N" if lat >= 0 else "S"


def _lon(lon: float) -> tuple[str, str]:
    value = abs(lon)
    degrees = int(value)
    minutes = round((value - degrees) * 60, 6)
    if minutes >= 60:
        degrees, minutes = degrees + 1, 0.0
    return f"{degrees:03d}{minutes:09.6f}", "E" if lon >= 0 else "W"


def _num(value: float | None, digits: int) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def rmc(fix: Fix, *, talker: str = "GP", valid: bool = True) -> bytes:
    lat, ns = _lat(fix.lat)
    lon, ew = _lon(fix.lon)
    return sentence(f"{talker}RMC", _time(fix.time), "A" if valid else "V", lat, ns, lon, ew,
                    _num(fix.speed_kn, 2), _num(fix.course, 2), _date(fix.time), None, None,
                    "A" if valid else "N")


def gga(fix: Fix, *, talker: str = "GP", quality: int | None = None) -> bytes:
    lat, ns = _lat(fix.lat)
    lon, ew = _lon(fix.lon)
    q = fix.fix_quality if quality is None else quality
    return sentence(f"{talker}GGA", _time(fix.time), lat, ns, lon, ew, 1 if q is None else q,
                    None if fix.sats is None else f"{fix.sats:02d}", _num(fix.hdop, 1),
                    _num(fix.alt_m, 1), "M", "0.0", "M", None, None)


def gsa(mode: int, *, hdop: float | None = None, prns: tuple[int, ...] = (),
        talker: str = "GP") -> bytes:
    slots = [f"{p:02d}" for p in prns[:12]] + [None] * (12 - min(len(prns), 12))
    return sentence(f"{talker}GSA", "A", mode, *slots, None, _num(hdop, 1), None)


def vtg(fix: Fix, *, talker: str = "GP") -> bytes:
    kmh = None if fix.speed_kn is None else fix.speed_kn * 1.852
    return sentence(f"{talker}VTG", _num(fix.course, 2), "T", None, "M", _num(fix.speed_kn, 2),
                    "N", _num(kmh, 2), "K", "A")


def zda(t: datetime, *, talker: str = "GP") -> bytes:
    return sentence(f"{talker}ZDA", _time(t), f"{t.day:02d}", f"{t.month:02d}", f"{t.year:04d}",
                    "00", "00")


def pgid(terminal_id: str) -> bytes:
    """T55-family identification sentence."""
    return sentence("PGID", terminal_id)


def no_fix_rmc(t: datetime, *, talker: str = "GP") -> bytes:
    return sentence(f"{talker}RMC", _time(t), "V", None, None, None, None, None, None, _date(t),
                    None, None, "N")


def no_fix_gga(t: datetime, *, talker: str = "GP") -> bytes:
    return sentence(f"{talker}GGA", _time(t), None, None, None, None, 0, "00", None, None, "M",
                    None, "M", None, None)


def epoch(fix: Fix, *, talker: str = "GP") -> bytes:
    """RMC + GGA of one epoch: what a typical tracker sends each report."""
    return rmc(fix, talker=talker) + gga(fix, talker=talker)
