"""Which implementation runs the JT/T 808 hot path: the C accelerator when it is built, else
the pure-Python reference.

``devices/jt808/_speedups.c`` is an optional extension (``pip install`` skips it without a C
compiler). Set ``FIELDGATE_JT808_PURE=1`` to force the pure-Python path, e.g. to compare the
two. Both implement :func:`devices.jt808.frame.parse`,
:func:`devices.jt808.messages.decode_location` and
:func:`devices.jt808.frame.encode_frame` exactly; the tests hold them to that with hypothesis.
``encode_frame`` here takes ``version`` and ``packages`` positionally. ``make_fix`` and
``make_status`` build :class:`~devices.records.Fix` and :class:`~devices.status.DeviceStatus`
from all their fields in order; the C versions fill the slots directly, skipping the frozen
dataclasses' per-field ``object.__setattr__``. ``location_frame`` (C only) does the stream's
whole work for the common frame, a plain dated 0x0200 with only the common items; it answers
None for every other frame, which the stream then decodes the general way.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import UTC

from devices.jt808 import frame, messages
from devices.records import Fix
from devices.reject import Reject
from devices.status import DeviceStatus

#: environment variable that disables the C accelerator
PURE_ENV = "FIELDGATE_JT808_PURE"


def pure_encode_frame(msg_id: int, phone_bcd: bytes, serial: int, body: bytes,
                      version: int | None, packages: tuple[int, int] | None) -> bytes:
    return frame.encode_frame(msg_id, phone_bcd, serial, body, version=version,
                              packages=packages)


pure_parse = frame.parse
pure_decode_location = messages.decode_location
parse: Callable[[bytes], frame.Message | Reject] = pure_parse
decode_location: Callable[[bytes], messages.Location | None] = pure_decode_location
encode_frame: Callable[[int, bytes, int, bytes, int | None, tuple[int, int] | None],
                       bytes] = pure_encode_frame
#: the C path for the common frame (see _speedups.c: location_frame); None in pure Python
location_frame: Callable[[bytes, int, int], tuple[Fix, bytes, str, int | None] | None] | None = None
make_fix: Callable[..., Fix] = Fix
make_status: Callable[..., DeviceStatus] = DeviceStatus
ACCELERATED = False
_speedups = None

#: the fields of the records the C code builds, in the order it fills them
MESSAGE_FIELDS = ("msg_id", "phone", "serial", "body", "version", "packages", "encrypted")
LOCATION_FIELDS = ("alarm", "status", "lat", "lon", "alt_m", "speed_kmh", "course", "time",
                   "items")

if os.environ.get(PURE_ENV, "") in ("", "0"):
    try:
        from devices.jt808 import _speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:  # not built: no compiler at install time
        _speedups = None
    if _speedups is not None:
        _speedups.configure(frame.Message, MESSAGE_FIELDS, messages.Location, LOCATION_FIELDS,
                            UTC, Reject.MALFORMED, Reject.TRUNCATED, Reject.BAD_CHECKSUM,
                            Reject.UNSUPPORTED)
        _speedups.configure_records(
            Fix, tuple(f.name for f in dataclasses.fields(Fix)),
            DeviceStatus, tuple(f.name for f in dataclasses.fields(DeviceStatus)))
        _speedups.configure_fast(round, messages.alarms_of, messages.NO_ALARMS)
        location_frame = _speedups.location_frame
        parse = _speedups.parse
        decode_location = _speedups.decode_location
        encode_frame = _speedups.encode_frame
        make_fix = _speedups.make_fix
        make_status = _speedups.make_status
        ACCELERATED = True

__all__ = ["ACCELERATED", "PURE_ENV", "decode_location", "encode_frame", "location_frame",
           "make_fix",
           "make_status", "parse",
           "pure_decode_location", "pure_encode_frame", "pure_parse"]
