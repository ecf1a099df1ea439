"""Which implementation decodes sentence bodies: the C accelerator when it is built, else the
pure-Python reference.

``devices/nmea/_speedups.c`` is an optional extension (``pip install`` skips it without a C
compiler). Set ``FIELDGATE_NMEA_PURE=1`` to force the pure-Python path, e.g. to compare the
two. Both implement :func:`devices.nmea.sentences.parse_body` exactly; the tests hold them to
that with hypothesis. ``make_fix`` builds a :class:`~devices.records.Fix` from positional
fields; the C version fills the slots directly, skipping the frozen dataclass's per-field
``object.__setattr__`` (about 1 µs a record in pure Python). ``split_parse`` (C only, else
None) is the framing of :meth:`~devices.nmea.stream.NmeaStream.feed` in one call: lines,
sentences and their parsing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime

from devices.nmea import sentences
from devices.nmea.errors import Reject
from devices.records import Fix

#: environment variable that disables the C accelerator
PURE_ENV = "FIELDGATE_NMEA_PURE"

pure_parse_body = sentences.parse_body
parse_body = pure_parse_body
#: the C version is a builtin taking the same positional fields
make_fix: Callable[..., Fix] = Fix
split_parse: Callable[[bytes, int, bool, bool], tuple[list, bytes, bool]] | None = None
#: midnight + timedelta(milliseconds=ms) built at once (C only), or None: the caller adds
at_ms: Callable[[datetime, int], datetime | None] | None = None
ACCELERATED = False
_speedups = None

if os.environ.get(PURE_ENV, "") in ("", "0"):
    try:
        from devices.nmea import _speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:  # not built: no compiler at install time
        _speedups = None
    if _speedups is not None:
        names = tuple(f.name for f in dataclasses.fields(Fix))
        _speedups.configure(Fix, names, Reject.BAD_CHECKSUM, Reject.MALFORMED,
                            Reject.OVERLONG, Reject.NO_SENTENCE)
        parse_body = _speedups.parse_body
        make_fix = _speedups.make_fix
        split_parse = _speedups.split_parse
        at_ms = _speedups.at_ms
        ACCELERATED = True

__all__ = ["ACCELERATED", "PURE_ENV", "make_fix", "parse_body", "pure_parse_body",
           "split_parse", "at_ms"]
