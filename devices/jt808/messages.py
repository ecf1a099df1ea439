"""JT/T 808 message bodies: the tables (ids, alarm bits, status bits, additional items) and the
codecs for the messages fieldgate reads and writes.

Bit and item meanings are data, read by one interpreter (:func:`decode_location`): a new alarm
bit or additional item is a table edit. Sources: JT/T 808-2013 and -2019, tables 24-27
(location report), §8.1-8.9 (registration, authentication, replies).
"""

from __future__ import annotations

import enum
import functools
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from devices.status import Alarm, DeviceStatus

#: JT/T 808 times are Beijing time unless a terminal is configured otherwise
BEIJING = timezone(timedelta(hours=8))
KMH_PER_KNOT = 1.852
LOCATION_SIZE = 28  #: the fixed part of a location report
#: alarm, status, latitude, longitude (DWORDs), altitude (signed), speed, direction (WORDs)
_FIXED = struct.Struct(">IIIIhHH")
#: serial, message id, result: the body of both general replies (0x8001, 0x0001)
_REPLY = struct.Struct(">HHB")
#: byte -> its value as two BCD digits, -1 when a nibble is not a digit
_BCD = [(b >> 4) * 10 + (b & 15) if b >> 4 < 10 and b & 15 < 10 else -1 for b in range(256)]


class MsgId(enum.IntEnum):
    # terminal → platform
    TERMINAL_REPLY = 0x0001
    HEARTBEAT = 0x0002
    LOGOUT = 0x0003
    REGISTER = 0x0100
    DEREGISTER = 0x0101
    AUTH = 0x0102
    PARAMS_REPLY = 0x0104
    ATTRIBUTES_REPLY = 0x0107
    LOCATION = 0x0200
    LOCATION_QUERY_REPLY = 0x0201
    CONTROL_REPLY = 0x0500
    BATCH_LOCATION = 0x0704
    TRANSPARENT = 0x0900
    # platform → terminal
    PLATFORM_REPLY = 0x8001
    REGISTER_REPLY = 0x8100
    SET_PARAMS = 0x8103
    QUERY_PARAMS = 0x8104
    TERMINAL_CONTROL = 0x8105
    LOCATION_QUERY = 0x8201
    TEXT_MESSAGE = 0x8300


class ReplyResult(enum.IntEnum):
    """Result byte of 0x8001 (platform) and 0x0001 (terminal) general replies."""

    OK = 0
    FAILED = 1
    BAD_MESSAGE = 2
    UNSUPPORTED = 3
    ALARM_CONFIRMED = 4  #: platform reply only


class RegisterResult(enum.IntEnum):
    """Result byte of 0x8100."""

    OK = 0
    VEHICLE_REGISTERED = 1
    NO_VEHICLE = 2
    TERMINAL_REGISTERED = 3
    NO_TERMINAL = 4


#: alarm flag bits (table 24); bits not listed are reserved
ALARM_BITS: dict[int, Alarm] = {
    0: Alarm.SOS,
    1: Alarm.OVERSPEED,
    2: Alarm.FATIGUE,
    3: Alarm.DANGER,
    4: Alarm.GNSS_FAULT,
    5: Alarm.ANTENNA_OPEN,
    6: Alarm.ANTENNA_SHORT,
    7: Alarm.LOW_VOLTAGE,
    8: Alarm.POWER_CUT,
    9: Alarm.LCD_FAULT,
    10: Alarm.TTS_FAULT,
    11: Alarm.CAMERA_FAULT,
    12: Alarm.IC_CARD_FAULT,
    13: Alarm.OVERSPEED_WARNING,
    14: Alarm.FATIGUE_WARNING,
    15: Alarm.DRIVING_VIOLATION,  # 2019
    16: Alarm.TIRE_PRESSURE,  # 2019
    17: Alarm.BLIND_SPOT,  # 2019: right-turn blind spot
    18: Alarm.DRIVING_OVERTIME,
    19: Alarm.PARKING_OVERTIME,
    20: Alarm.AREA,
    21: Alarm.ROUTE,
    22: Alarm.ROUTE_TIME,
    23: Alarm.ROUTE_DEVIATION,
    24: Alarm.VSS_FAULT,
    25: Alarm.FUEL,
    26: Alarm.STOLEN,
    27: Alarm.ILLEGAL_IGNITION,
    28: Alarm.ILLEGAL_MOVEMENT,
    29: Alarm.COLLISION,
    30: Alarm.ROLLOVER,
    31: Alarm.ILLEGAL_DOOR,
}
_BIT_OF_ALARM = {alarm: bit for bit, alarm in ALARM_BITS.items()}


class StatusBit(enum.IntFlag):
    """Status word bits (table 25) that fieldgate reads."""

    ACC = 1 << 0
    POSITIONED = 1 << 1
    SOUTH = 1 << 2
    WEST = 1 << 3
    OUT_OF_SERVICE = 1 << 4
    ENCRYPTED = 1 << 5
    OIL_CUT = 1 << 10
    CIRCUIT_CUT = 1 << 11
    DOOR_LOCKED = 1 << 12
    GPS = 1 << 18
    BEIDOU = 1 << 19
    GLONASS = 1 << 20
    GALILEO = 1 << 21


#: additional items (table 27) with a field on DeviceStatus or on the fix:
#: id → (name, byte length, scale); the value is the unsigned big-endian integer × scale
ITEMS: dict[int, tuple[str, int, float]] = {
    0x01: ("mileage_km", 4, 0.1),
    0x02: ("fuel_l", 2, 0.1),
    0x30: ("signal", 1, 1),
    0x31: ("sats", 1, 1),
}
#: additional items kept as named attributes: id → (attribute, byte length, scale)
ATTRIBUTE_ITEMS: dict[int, tuple[str, int, float]] = {
    0x03: ("tachograph_speed_kmh", 2, 0.1),
    0x04: ("alarm_event_id", 2, 1),
    0x06: ("cabin_temp_c", 2, 1),  # 2019; signed, handled below
    0x25: ("vehicle_signals", 4, 1),
    0x2A: ("io_status", 2, 1),
    0x2B: ("analog", 4, 1),
}
_SIGNED_ITEMS = frozenset({0x06})


def decode_time(data: bytes, tz: timezone = BEIJING) -> datetime | None:
    """BCD ``YYMMDDhhmmss`` in ``tz`` to UTC; None when not a real time (all zeros, bad BCD)."""
    if len(data) != 6:
        return None
    day = _day(data[0:3], tz)
    if day is None:
        return None
    h, m, s = _BCD[data[3]], _BCD[data[4]], _BCD[data[5]]
    if not (0 <= h <= 23 and 0 <= m <= 59 and 0 <= s <= 59):  # -1: not BCD
        return None
    return day + timedelta(seconds=h * 3600 + m * 60 + s)


@functools.lru_cache(maxsize=64)
def _day(ymd: bytes, tz: timezone) -> datetime | None:
    """Local midnight of a BCD ``YYMMDD`` as UTC (a terminal reports a handful of days)."""
    y, mo, d = _BCD[ymd[0]], _BCD[ymd[1]], _BCD[ymd[2]]
    if y < 0 or mo < 0 or d < 0:
        return None
    try:
        return datetime(2000 + y, mo, d, tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


def encode_time(when: datetime, tz: timezone = BEIJING) -> bytes:
    local = when.astimezone(tz)
    return bytes.fromhex(local.strftime("%y%m%d%H%M%S"))


class Location:
    """A decoded location report body (0x0200, and the same inside 0x0201, 0x0500, 0x0704)."""

    __slots__ = ("alarm", "alt_m", "course", "lat", "lon", "speed_kmh", "status", "time",
                 "items")

    def __init__(self, alarm: int, status: int, lat: float, lon: float, alt_m: int,
                 speed_kmh: float, course: int, time: datetime | None,
                 items: dict[int, bytes]) -> None:
        self.alarm = alarm
        self.status = status
        self.lat = lat
        self.lon = lon
        self.alt_m = alt_m
        self.speed_kmh = speed_kmh
        self.course = course
        self.time = time
        self.items = items

    @property
    def positioned(self) -> bool:
        return bool(self.status & _POSITIONED)

    @property
    def sats(self) -> int | None:
        raw = self.items.get(0x31)
        return raw[0] if raw is not None and len(raw) == 1 else None

    def device_status(self, make: Callable[..., DeviceStatus] = DeviceStatus) -> DeviceStatus:
        """The alarm and status words and the items as a :class:`DeviceStatus`, built by
        ``make`` from all its fields in order (the class itself, or the C accelerator's
        ``make_status``)."""
        alarm = self.alarm
        alarms = alarms_of(alarm) if alarm else NO_ALARMS
        fields: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for item_id, raw in self.items.items():
            if item_id == 0x31:  # satellites: a field of the fix
                continue
            known = ITEMS.get(item_id)
            if known is not None and len(raw) == known[1]:
                if known[0] != "sats":
                    value = int.from_bytes(raw) * known[2]
                    fields[known[0]] = round(value, 1) if known[2] != 1 else int(value)
                continue
            named = ATTRIBUTE_ITEMS.get(item_id)
            if named is not None and len(raw) == named[1]:
                value = int.from_bytes(raw, signed=item_id in _SIGNED_ITEMS) * named[2]
                attributes[named[0]] = round(value, 1) if named[2] != 1 else int(value)
                continue
            attributes[f"item_{item_id:02x}"] = raw.hex()
        get = fields.get
        return make(alarms, bool(self.status & _ACC), None, None, None, get("mileage_km"),
                    get("fuel_l"), get("signal"), None, attributes)


@functools.lru_cache(maxsize=256)
def alarms_of(alarm: int) -> frozenset[Alarm]:
    """The alarms an alarm flag word sets (a terminal sends a handful of words)."""
    return frozenset(a for bit, a in ALARM_BITS.items() if alarm >> bit & 1)


def decode_location(body: bytes) -> Location | None:
    """The location body; None when shorter than its fixed part. A damaged additional-item
    list (an item running past the end) ends the list there: the position itself is sound."""
    if len(body) < LOCATION_SIZE:
        return None
    alarm, status, lat_e6, lon_e6, alt, speed, course = _FIXED.unpack_from(body)
    lat = lat_e6 / 1e6
    lon = lon_e6 / 1e6
    if status & _SOUTH:
        lat = -lat
    if status & _WEST:
        lon = -lon
    time = decode_time(body[22:28])
    items: dict[int, bytes] = {}
    pos = LOCATION_SIZE
    n = len(body)
    while pos + 2 <= n:
        item_id = body[pos]
        length = body[pos + 1]
        end = pos + 2 + length
        if end > n:
            break
        items[item_id] = body[pos + 2:end]
        pos = end
    return Location(alarm, status, lat, lon, alt, speed / 10, course, time, items)


def encode_location(*, time: datetime, lat: float, lon: float, speed_kmh: float = 0.0,
                    course: int = 0, alt_m: int = 0, positioned: bool = True, acc: bool = True,
                    alarms: frozenset[Alarm] = frozenset(), items: dict[int, bytes] | None = None
                    ) -> bytes:
    """A location body (simulators, tests); ``items`` are additional items by id."""
    alarm = 0
    for a in alarms:
        alarm |= 1 << _BIT_OF_ALARM[a]
    status = StatusBit(0)
    if acc:
        status |= StatusBit.ACC
    if positioned:
        status |= StatusBit.POSITIONED | StatusBit.GPS
    if lat < 0:
        status |= StatusBit.SOUTH
    if lon < 0:
        status |= StatusBit.WEST
    out = bytearray()
    out += alarm.to_bytes(4) + int(status).to_bytes(4)
    out += round(abs(lat) * 1e6).to_bytes(4) + round(abs(lon) * 1e6).to_bytes(4)
    out += alt_m.to_bytes(2, signed=True) + round(speed_kmh * 10).to_bytes(2)
    out += (course % 360).to_bytes(2) + encode_time(time)
    for item_id, raw in (items or {}).items():
        out += bytes((item_id, len(raw))) + raw
    return bytes(out)


def decode_batch(body: bytes) -> list[bytes] | None:
    """0x0704: the location bodies it carries; None when the count or a length lies."""
    if len(body) < 3:
        return None
    count = int.from_bytes(body[0:2])
    pos = 3  # count, then the type byte (0 regular batch, 1 blind-area supplement)
    out: list[bytes] = []
    for _ in range(count):
        if pos + 2 > len(body):
            return None
        length = int.from_bytes(body[pos:pos + 2])
        pos += 2
        if pos + length > len(body):
            return None
        out.append(body[pos:pos + length])
        pos += length
    return out


def encode_batch(locations: list[bytes], *, supplement: bool = False) -> bytes:
    out = bytearray(len(locations).to_bytes(2))
    out.append(1 if supplement else 0)
    for loc in locations:
        out += len(loc).to_bytes(2) + loc
    return bytes(out)


# -- platform replies and commands --------------------------------------------------------

def platform_reply(serial: int, msg_id: int, result: int = ReplyResult.OK) -> bytes:
    """0x8001 body: the terminal message's serial and id, and the result."""
    return _REPLY.pack(serial, msg_id, result)


def register_reply(serial: int, result: RegisterResult, auth_code: str = "") -> bytes:
    """0x8100 body; the authentication code only with a successful result."""
    body = serial.to_bytes(2) + bytes((result,))
    if result is RegisterResult.OK:
        body += auth_code.encode("ascii")
    return body


def decode_reply(body: bytes) -> tuple[int, int, int] | None:
    """0x0001 / 0x8001: (serial replied to, message id replied to, result)."""
    if len(body) < 5:
        return None
    return int.from_bytes(body[0:2]), int.from_bytes(body[2:4]), body[4]


def terminal_reply(serial: int, msg_id: int, result: int = ReplyResult.OK) -> bytes:
    """0x0001 body (simulators answering commands)."""
    return platform_reply(serial, msg_id, result)


#: terminal parameters (0x8103) fieldgate sets by name: id → (name, byte length)
NO_ALARMS: frozenset[Alarm] = frozenset()
_ACC = int(StatusBit.ACC)
_SOUTH = int(StatusBit.SOUTH)
_WEST = int(StatusBit.WEST)
_POSITIONED = int(StatusBit.POSITIONED)

PARAMS: dict[int, tuple[str, int]] = {
    0x0001: ("heartbeat_interval_s", 4),
    0x0027: ("sleep_report_interval_s", 4),
    0x0029: ("report_interval_s", 4),  # default time-based reporting interval
    0x0055: ("max_speed_kmh", 4),
}
PARAM_IDS = {name: (pid, size) for pid, (name, size) in PARAMS.items()}


def encode_params(values: dict[int, bytes]) -> bytes:
    """0x8103 body: count, then (parameter id DWORD, length, value) for each."""
    out = bytearray((len(values),))
    for pid, raw in values.items():
        out += pid.to_bytes(4) + bytes((len(raw),)) + raw
    return bytes(out)


def decode_params(body: bytes) -> dict[int, bytes] | None:
    """0x8103 (and the list in 0x0104 after its reply serial and count): id → raw value."""
    if not body:
        return None
    count = body[0]
    pos = 1
    out: dict[int, bytes] = {}
    for _ in range(count):
        if pos + 5 > len(body):
            return None
        pid = int.from_bytes(body[pos:pos + 4])
        size = body[pos + 4]
        pos += 5
        if pos + size > len(body):
            return None
        out[pid] = body[pos:pos + size]
        pos += size
    return out


class TextFlag(enum.IntFlag):
    """0x8300 text message flags."""

    EMERGENCY = 1 << 0
    DISPLAY = 1 << 2  #: show on the terminal's display
    TTS = 1 << 3  #: read it aloud


class ControlWord(enum.IntEnum):
    """0x8105 terminal control command words."""

    UPGRADE = 1
    CONNECT_SERVER = 2
    POWER_OFF = 3
    RESET = 4
    FACTORY_RESET = 5


def encode_text(text: str, *, version: int | None = None) -> bytes:
    """0x8300 body: flags (display and speak), [2019: text type 1 = notice], GBK text."""
    flags = bytes((TextFlag.DISPLAY | TextFlag.TTS,))
    kind = b"\x01" if version is not None else b""
    return flags + kind + text.encode("gbk", "replace")


# -- terminal messages the gateway reads --------------------------------------------------

def decode_register(body: bytes, version: int | None) -> dict[str, Any] | None:
    """0x0100: province, city, maker, model, terminal id, plate colour and plate."""
    sizes = (11, 30, 30) if version is not None else (5, 20, 7)
    fixed = 4 + sum(sizes) + 1
    if len(body) < fixed:
        return None
    pos = 4
    maker, model, device = (body[pos:pos + sizes[0]],
                            body[pos + sizes[0]:pos + sizes[0] + sizes[1]],
                            body[pos + sizes[0] + sizes[1]:fixed - 1])
    return {
        "province": int.from_bytes(body[0:2]),
        "city": int.from_bytes(body[2:4]),
        "maker": _text(maker),
        "model": _text(model),
        "device_id": _text(device),
        "plate_color": body[fixed - 1],
        "plate": _text(body[fixed:]),
    }


def encode_register(*, maker: str = "FGSIM", model: str = "FG-808", device_id: str = "SIM0001",
                    plate: str = "", version: int | None = None) -> bytes:
    sizes = (11, 30, 30) if version is not None else (5, 20, 7)
    out = bytearray((0).to_bytes(2) + (0).to_bytes(2))
    for text, size in zip((maker, model, device_id), sizes, strict=True):
        out += text.encode("ascii")[:size].ljust(size, b"\0")
    out.append(1 if plate else 0)
    out += plate.encode("gbk")
    return bytes(out)


def decode_auth(body: bytes, version: int | None) -> str:
    """0x0102: the authentication code (2019: length-prefixed, followed by IMEI and version)."""
    if version is not None and body:
        return _text(body[1:1 + body[0]])
    return _text(body)


def encode_auth(code: str, *, version: int | None = None, imei: str = "",
                software: str = "") -> bytes:
    raw = code.encode("ascii")
    if version is None:
        return raw
    return (bytes((len(raw),)) + raw + imei.encode("ascii")[:15].ljust(15, b"\0")
            + software.encode("ascii")[:20].ljust(20, b"\0"))


def _text(raw: bytes) -> str:
    """A fixed-width or trailing text field: NUL padding dropped, GBK as the standard says."""
    return raw.rstrip(b"\0 ").decode("gbk", "replace")
