"""GT06 message contents: the tables (protocol numbers, alarm codes, terminal-info bits) and the
codecs fieldgate reads and writes. Source: the Concox GT06 / GT06N communication protocol
(v1.8 and later), as makers of the family publish it."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from devices.status import Alarm, DeviceStatus

#: coordinates are minutes × 30,000 (so degrees × 1,800,000)
COORD_SCALE = 1_800_000
KMH_PER_KNOT = 1.852


class Proto(enum.IntEnum):
    LOGIN = 0x01
    GPS = 0x10
    GPS_LBS_6 = 0x11  #: 2-byte MNC, 4-byte cell id
    GPS_LBS = 0x12
    STATUS = 0x13
    STRING_REPLY = 0x15  #: the terminal's answer to an online command (short frame)
    ALARM = 0x16  #: GPS, LBS and status (alarm)
    ALARM_LBS = 0x19  #: LBS and status, no GPS
    GPS_PHONE = 0x1A
    GPS_LBS_EXTEND = 0x1E
    STRING_REPLY_LONG = 0x21  #: the same in a ``79 79`` frame
    GPS_LBS_2 = 0x22  #: GPS, LBS, ACC, upload mode
    HEARTBEAT = 0x23
    GPS_LBS_DRIVER = 0x25  #: NT and XT models: the 0x22 layout with a driver card read
    ALARM_2 = 0x26
    ALARM_3 = 0x27
    GPS_LBS_4 = 0x2D
    GPS_LBS_5 = 0x31
    ALARM_4 = 0x32  #: in a ``78 78`` frame; in a ``79 79`` frame: AZ735_GPS
    AZ735_ALARM = 0x33  #: AZ735, ``79 79`` frames only
    X1_GPS = 0x34  #: X1: a data and alarm word, then the GPS block
    GPS_LBS_3 = 0x37
    TIME_REQUEST = 0x8A
    INFO = 0x94
    GPS_4G = 0xA0
    FENCE_SINGLE = 0xA3
    FENCE_MULTI = 0xA4
    # server → terminal
    COMMAND = 0x80


#: messages that carry a GPS block at the start of their content
LOCATION_PROTOCOLS = frozenset({
    Proto.GPS, Proto.GPS_LBS_6, Proto.GPS_LBS, Proto.GPS_LBS_2, Proto.GPS_LBS_3, Proto.GPS_LBS_4,
    Proto.GPS_LBS_5, Proto.GPS_PHONE, Proto.GPS_LBS_EXTEND, Proto.GPS_4G, Proto.ALARM,
    Proto.ALARM_2, Proto.ALARM_3, Proto.ALARM_4, Proto.FENCE_SINGLE, Proto.FENCE_MULTI})
#: AZ735 reports (``79 79`` frames): GPS block with a length byte after its time
AZ735_PROTOCOLS = frozenset({Proto.ALARM_4, Proto.AZ735_ALARM})
#: the AZ735 status byte: alarms of 0x33 reports, and the arming it reports
AZ735_ALARMS: dict[int, Alarm] = {0xA2: Alarm.LOW_BATTERY, 0xA3: Alarm.LOW_BATTERY,
                                  0xA4: Alarm.UNKNOWN, 0xA5: Alarm.ILLEGAL_DOOR}
AZ735_ARMED = {0xA0: True, 0xA1: False}
#: an X1 0x34 of this length byte is an SL4X cell-tower report, not a GPS one
SL4X_LBS_LENGTH = 0x37

#: models whose 0x22 (and 0x25) report leads with a location source byte, the IMEI and the
#: terminal's own time, and carries its status (power in 0.01 V, backup battery in 0.1 V)
NT_MODELS = frozenset({"NT11", "NT20", "NT26", "NT40", "NT46", "VL100", "XT40"})
#: models whose 0x12 report leads with the IMEI
IMEI_FIRST_MODELS = frozenset({"QH302R"})

#: messages whose GPS block is followed by an LBS block with a length byte, then the terminal
#: information, voltage level, GSM signal and alarm bytes
STATUS_PROTOCOLS = frozenset({Proto.ALARM, Proto.ALARM_2, Proto.ALARM_3, Proto.ALARM_4})
#: messages the terminal waits for an answer to (it resends, or drops the link, without one)
ANSWERED = frozenset({Proto.LOGIN, Proto.STATUS, Proto.HEARTBEAT, Proto.ALARM, Proto.ALARM_2,
                      Proto.ALARM_3, Proto.ALARM_4, Proto.ALARM_LBS})

#: alarm byte of alarm packets (and of the status packet's alarm/language word)
ALARM_CODES: dict[int, Alarm] = {
    0x01: Alarm.SOS,
    0x02: Alarm.POWER_CUT,
    0x03: Alarm.VIBRATION,
    0x04: Alarm.GEOFENCE_IN,
    0x05: Alarm.GEOFENCE_OUT,
    0x06: Alarm.OVERSPEED,
    0x09: Alarm.ILLEGAL_MOVEMENT,  # moved while armed
    0x0E: Alarm.LOW_VOLTAGE,  # external (vehicle) battery low
    0x0F: Alarm.LOW_VOLTAGE,  # external battery low-voltage protection
    0x11: Alarm.POWER_CUT,  # power off
    0x13: Alarm.REMOVAL,  # disassembled
    0x14: Alarm.ILLEGAL_DOOR,
    0x19: Alarm.LOW_BATTERY,  # internal battery low
    0x29: Alarm.COLLISION,  # harsh acceleration
    0x2C: Alarm.COLLISION,  # accident
}
_CODE_OF_ALARM = {alarm: code for code, alarm in reversed(list(ALARM_CODES.items()))}

#: bits 3-5 of the terminal information byte
INFO_ALARMS: dict[int, Alarm] = {
    0b001: Alarm.VIBRATION,
    0b010: Alarm.POWER_CUT,
    0b011: Alarm.LOW_BATTERY,
    0b100: Alarm.SOS,
    0b110: Alarm.GEOFENCE_OUT,
    0b111: Alarm.REMOVAL,
}
_INFO_OF_ALARM = {alarm: code for code, alarm in INFO_ALARMS.items()}

# course/status word
_COURSE_MASK = 0x03FF
_NORTH = 1 << 10
_WEST = 1 << 11
_POSITIONED = 1 << 12


def decode_time(data: bytes) -> datetime | None:
    """Six binary bytes YY MM DD hh mm ss, UTC (the terminal's default time zone)."""
    try:
        return datetime(2000 + data[0], data[1], data[2], data[3], data[4], data[5], tzinfo=UTC)
    except (ValueError, IndexError):
        return None


def encode_time(when: datetime) -> bytes:
    t = when.astimezone(UTC)
    return bytes((t.year - 2000, t.month, t.day, t.hour, t.minute, t.second))


class Gps:
    """The GPS block shared by location and alarm packets (18 bytes)."""

    SIZE = 18
    __slots__ = ("course", "lat", "lon", "positioned", "sats", "speed_kmh", "time")

    def __init__(self, time: datetime | None, sats: int, lat: float, lon: float, speed_kmh: int,
                 course: int, positioned: bool) -> None:
        self.time = time
        self.sats = sats
        self.lat = lat
        self.lon = lon
        self.speed_kmh = speed_kmh
        self.course = course
        self.positioned = positioned


def decode_gps(content: bytes) -> Gps | None:
    if len(content) < Gps.SIZE:
        return None
    flags = int.from_bytes(content[16:18])
    lat = int.from_bytes(content[7:11]) / COORD_SCALE
    lon = int.from_bytes(content[11:15]) / COORD_SCALE
    if not flags & _NORTH:
        lat = -lat
    if flags & _WEST:
        lon = -lon
    return Gps(decode_time(content[0:6]), content[6] & 0x0F, lat, lon, content[15],
               flags & _COURSE_MASK, bool(flags & _POSITIONED))


def encode_gps(*, time: datetime, lat: float, lon: float, speed_kmh: int = 0, course: int = 0,
               sats: int = 8, positioned: bool = True) -> bytes:
    flags = course % 360
    if lat >= 0:
        flags |= _NORTH
    if lon < 0:
        flags |= _WEST
    if positioned:
        flags |= _POSITIONED
    return (encode_time(time) + bytes((0xC0 | min(sats, 15),))
            + round(abs(lat) * COORD_SCALE).to_bytes(4) + round(abs(lon) * COORD_SCALE).to_bytes(4)
            + bytes((min(speed_kmh, 255),)) + flags.to_bytes(2))


def decode_info(info: int) -> dict[str, Any]:
    """The terminal information byte of status and alarm packets."""
    out: dict[str, Any] = {"acc": bool(info & 0x02), "charging": bool(info & 0x04)}
    alarm = INFO_ALARMS.get(info >> 3 & 0x07)
    out["alarms"] = {alarm} if alarm is not None else set()
    out["armed"] = bool(info & 0x01)
    out["oil_cut"] = bool(info & 0x80)
    return out


def encode_info(*, acc: bool = True, charging: bool = True, alarm: Alarm | None = None) -> int:
    info = 0x40  # GPS tracking on
    if acc:
        info |= 0x02
    if charging:
        info |= 0x04
    if alarm is not None and alarm in _INFO_OF_ALARM:
        info |= _INFO_OF_ALARM[alarm] << 3
    return info


def status_from(info: int, *, voltage_level: int | None = None, power_v: float | None = None,
                signal: int | None = None, alarm_code: int | None = None,
                extra: dict[str, Any] | None = None) -> DeviceStatus:
    """A :class:`DeviceStatus` from the terminal information byte and what came with it."""
    decoded = decode_info(info)
    alarms = set(decoded["alarms"])
    attributes: dict[str, Any] = dict(extra or {})
    if alarm_code:
        known = ALARM_CODES.get(alarm_code)
        if known is None:
            alarms.add(Alarm.UNKNOWN)
            attributes["alarm_code"] = alarm_code
        else:
            alarms.add(known)
    if voltage_level is not None:
        attributes["voltage_level"] = voltage_level  # 0 (none) .. 6 (full), the maker's scale
    if decoded["armed"]:
        attributes["armed"] = True
    if decoded["oil_cut"]:
        attributes["oil_cut"] = True
    return DeviceStatus(alarms=frozenset(alarms), acc=decoded["acc"], power_v=power_v,
                        signal=signal, charging=decoded["charging"], attributes=attributes)


def alarm_code(alarm: Alarm) -> int:
    """The alarm byte for ``alarm`` (simulators)."""
    return _CODE_OF_ALARM[alarm]


def decode_imei(content: bytes) -> str | None:
    """Login: the IMEI as 8 BCD bytes (a leading zero and 15 digits)."""
    if len(content) < 8:
        return None
    text = content[:8].hex()
    if not text.isdigit():
        return None
    return text[1:] if text[0] == "0" else text


def encode_login(imei: str, *, type_id: int = 0x3200, tz_word: int = 0x0000) -> bytes:
    return bytes.fromhex(imei.zfill(16)) + type_id.to_bytes(2) + tz_word.to_bytes(2)


def encode_command(text: str, *, server_flag: int, english: bool = True) -> bytes:
    """0x80 online command content: length, server flag, ASCII command, language."""
    raw = text.encode("ascii")
    body = server_flag.to_bytes(4) + raw
    return bytes((len(body),)) + body + (2 if english else 1).to_bytes(2)


def decode_string_reply(content: bytes, long: bool) -> tuple[int, str] | None:
    """0x15 / 0x21: (server flag, the terminal's text answer)."""
    if long:  # 0x21: server flag, encoding byte, text
        if len(content) < 5:
            return None
        return int.from_bytes(content[0:4]), content[5:].decode("ascii", "replace")
    if len(content) < 5:
        return None
    length = content[0]
    # some firmware leaves the length out (0): the flag and the text run to the language word
    body = content[1:-2] if length == 0 else content[1:1 + length]
    if len(body) < 4:
        return None
    return int.from_bytes(body[0:4]), body[4:].rstrip(b"\0").decode("ascii", "replace")


def encode_string_reply(server_flag: int, text: str) -> bytes:
    body = server_flag.to_bytes(4) + text.encode("ascii")
    return bytes((len(body),)) + body + (2).to_bytes(2)
