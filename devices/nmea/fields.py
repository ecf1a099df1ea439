"""NMEA 0183 field parsers shared by the sentence decoders (pure Python reference).

Numbers follow Python's ``float()`` / ``int()`` on the field bytes; the C accelerator
(``_speedups.c``) parses the plain ``[+-]digits[.digits]`` form itself and hands anything else
to the same Python functions, so both paths accept exactly the same inputs. Every parser raises
``ValueError`` on a value it refuses; the caller counts the sentence as malformed.
"""

from __future__ import annotations

from datetime import date

#: receivers print the date as ``ddmmyy``; two-digit years from 69 are 19xx, below are 20xx:
#: the POSIX ``%y`` rule, which pynmea2 (strptime) applies too
CENTURY_PIVOT = 69
#: ``000000`` is what receivers print before they know the date: "no date", not an error
NO_DATE = b"000000"
#: upper bound of a believable "satellites used" count (the widest receivers track ~64)
MAX_SATS = 255
#: GGA quality indicators run 0..8; a larger value is a corrupted field
MAX_QUALITY = 9


def parse_time(raw: bytes) -> int:
    """``hhmmss[.s...]`` to milliseconds of the day (rounded half-even)."""
    n = len(raw)
    if n < 6 or not raw[:6].isdigit():
        raise ValueError("not hhmmss")
    if n > 6 and (raw[6] != 0x2E or (n > 7 and not raw[7:].isdigit())):
        raise ValueError("bad fraction of second")
    hours = int(raw[0:2])
    minutes = int(raw[2:4])
    seconds = float(raw[4:])
    if hours > 23 or minutes > 59 or seconds >= 61.0:  # 60.x: leap second
        raise ValueError("time out of range")
    return (hours * 60 + minutes) * 60000 + round(seconds * 1000)


def opt_time(raw: bytes) -> int | None:
    return parse_time(raw) if raw else None


def parse_coord(value: bytes, hemisphere: bytes, limit: int) -> float:
    """``dddmm.mmmm`` + hemisphere to signed decimal degrees, rounded to 1e-8 (about 1 mm).

    Degrees are taken as ``int(value / 100)`` rather than by position: terminals drop leading
    zeros (``1353.52,E`` is 13°53.52'), which positional slicing would misread.
    """
    number = float(value)
    degrees = int(number / 100)  # OverflowError for inf, ValueError for nan
    minutes = number - degrees * 100
    if not (0.0 <= minutes < 60.0) or not 0 <= degrees <= limit:
        raise ValueError("coordinate out of range")
    result = round(degrees + minutes / 60, 8)  # drop the binary noise of /60
    if result > limit:
        raise ValueError("coordinate out of range")
    if hemisphere == b"N" or hemisphere == b"E":
        return result
    if hemisphere == b"S" or hemisphere == b"W":
        return -result
    raise ValueError("bad hemisphere")


def opt_float(value: bytes) -> float | None:
    """An optional finite number; empty means unknown."""
    if not value:
        return None
    number = float(value)
    if number - number != 0.0:  # inf or nan: no receiver means that
        raise ValueError("not finite")
    return number


def opt_int(value: bytes, limit: int) -> int | None:
    if not value:
        return None
    number = int(value)
    if not 0 <= number <= limit:
        raise ValueError("count out of range")
    return number


def ymd_ordinal(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal()


def ddmmyy(value: bytes) -> int | None:
    """RMC date to a proleptic ordinal; None for an empty or all-zero date."""
    if not value or value == NO_DATE:
        return None
    if len(value) != 6 or not value.isdigit():
        raise ValueError("bad date")
    year = int(value[4:6])
    year += 1900 if year >= CENTURY_PIVOT else 2000
    return ymd_ordinal(year, int(value[2:4]), int(value[0:2]))
