"""Sentence types outside the fast path, decoded with pynmea2 where they add information.

The fast path (:mod:`devices.nmea.sentences`) covers what receivers send every epoch. Of the
long tail, only types that carry a time or a position matter to a fix; those go through
pynmea2 (the project's NMEA reference) and come back in the fast path's tuple shapes:

- ``$PUBX,00`` (u-blox position): time, position, speed, course, HDOP, satellites, fix state.
  Its altitude is above the ellipsoid, not mean sea level, so it is not used as ``alt_m``.
- ``$PUBX,04`` (u-blox time of day and date): dates the epoch like ZDA.
- ``GST``, ``GRS``, ``GBS`` (error statistics, residuals, fault detection): their time ties
  them to an epoch, which matters when a receiver ends its cycle with one of them.

Every other type (GSV, TXT, vendor sentences...) is counted by type and ignored, without the
cost of a pynmea2 parse. A long-tail sentence pynmea2 cannot read is counted as malformed.
"""

from __future__ import annotations

from datetime import time

import pynmea2

from devices.nmea.errors import Reject
from devices.nmea.fields import MAX_SATS

#: shapes handed to the stream, named so that no sentence type can collide with them:
#: ("~fix", kind, ms, valid, lat, lon, speed_kn, course, hdop, sats, mode),
#: ("~date", kind, ms, date ordinal), ("~time", kind, ms)
FIX, DATE, TIME = "~fix", "~date", "~time"
KNOTS_PER_KMH = 1 / 1.852
#: u-blox PUBX,00 navigation status: fix kinds and the GSA-style mode they mean
_UBX_MODES = {"G2": 2, "D2": 2, "G3": 3, "D3": 3, "RK": 3}
_TIMED_TYPES = frozenset(("GST", "GRS", "GBS"))
#: the kinds this module reads; the stream passes nothing else here
KINDS = frozenset(("PUBX", *_TIMED_TYPES))


def _ms(value: object) -> int:
    if not isinstance(value, time):
        raise ValueError("no time")
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + round(
        value.microsecond / 1000
    )


def _float(value: str | float | None) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    if number - number != 0.0:
        raise ValueError("not finite")
    return number


def _sats(value: str | int | None) -> int | None:
    if not value:
        return None
    count = int(value)
    if not 0 <= count <= MAX_SATS:
        raise ValueError("count out of range")
    return count


def decode(kind: str, payload: bytes) -> tuple | Reject | None:
    """A stream tuple for ``payload`` (``$`` and checksum removed), or None if it adds nothing."""
    try:
        sentence = pynmea2.parse("$" + payload.decode("ascii"))
        if kind in _TIMED_TYPES:
            return (TIME, kind, _ms(sentence.timestamp))
        ubx_type = getattr(sentence, "ubx_type", None)
        if ubx_type == "00":
            mode = _UBX_MODES.get(sentence.nav_stat)
            valid = mode is not None and bool(sentence.lat) and bool(sentence.lon)
            lat = round(sentence.latitude, 8) if valid else None
            lon = round(sentence.longitude, 8) if valid else None
            if lat is not None and lon is not None and not (abs(lat) <= 90 and abs(lon) <= 180):
                return Reject.MALFORMED
            kmh = _float(sentence.sog)
            sats = sentence.num_svs
            return (FIX, kind, _ms(sentence.timestamp), valid, lat, lon,
                    None if kmh is None else round(kmh * KNOTS_PER_KMH, 3),
                    _float(sentence.cog), _float(sentence.hdop),
                    _sats(sats), mode)
        if ubx_type == "04":
            return (DATE, kind, _ms(sentence.time), sentence.date.toordinal())
    except (pynmea2.ParseError, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return Reject.MALFORMED
    return None
