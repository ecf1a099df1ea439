"""Wire protocols: framing, checksums, decoding into typed records, encoding.

Pure functions and small state machines: no sockets, no database. Records are defined in
:mod:`devices.records`; NMEA 0183 lives in :mod:`devices.nmea`.
"""

from devices.records import Fix, NoFix, Record, StatusReport

__all__ = ["Fix", "NoFix", "Record", "StatusReport"]
