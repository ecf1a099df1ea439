"""NMEA 0183: stream decoding into epochs (:class:`NmeaStream`) and sentence encoding."""

from devices.nmea.checksum import checksum, with_checksum
from devices.nmea.errors import Reject
from devices.nmea.stream import MAX_LINE, DecodeStats, NmeaStream

__all__ = ["MAX_LINE", "DecodeStats", "NmeaStream", "Reject", "checksum", "with_checksum"]
