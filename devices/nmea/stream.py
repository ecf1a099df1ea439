"""NMEA 0183 stream decoder: bytes in, one record per navigation epoch out.

A receiver emits several sentences per epoch (RMC, GGA, GSA, VTG, ZDA, ...). They are merged
into one :class:`~devices.records.Fix` (or :class:`~devices.records.NoFix`) the way gpsd does:
sentences carrying the same time of day belong to one epoch; a change of time closes it.

Waiting for the next epoch to close the current one would delay every fix by a whole report
interval, so in *eager* mode (the gateway's) the stream also learns which sentence type ends
the receiver's cycle: once the same type has been last in two consecutive epochs, its arrival
closes the epoch at once. A sentence that then turns up for an epoch already emitted means the
receiver changed its order: the lesson is forgotten and the sentence counted as ``late``.

Framing is forgiving the way field data needs: CR, LF or CRLF line ends; vendor junk before
``$`` (``123456789$GPGGA,...``); data after the checksum; several sentences on one line; binary
noise. Nothing here raises on input: every refusal is counted (:class:`~devices.nmea.errors.Reject`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from devices.nmea.errors import Reject
from devices.records import Fix, NoFix, Record

#: NMEA 0183 caps a sentence at 82 characters; vendor extensions (T55, Megastek) run longer.
#: A line past this is wiring noise or a wrong baud rate, not a sentence.
MAX_LINE = 512
#: Distinct sentence types counted by name; garbage with a valid checksum must not grow the
#: table without bound.
MAX_COUNTED_TYPES = 64
_HALF_DAY_MS = 12 * 3600 * 1000


@dataclass(slots=True)
class DecodeStats:
    """Counters for one stream, or shared by many (the gateway passes one for all sessions)."""

    by_type: dict[str, int] = field(default_factory=dict)  #: accepted sentences per type
    rejected: dict[Reject, int] = field(default_factory=dict)
    fixes: int = 0
    no_fixes: int = 0

    @property
    def sentences(self) -> int:
        return sum(self.by_type.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, reason: Reject, count: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + count


class _Epoch:
    """Everything learnt so far about one navigation epoch."""

    __slots__ = ("raw", "ms", "date", "lat", "lon", "valid", "speed", "course", "alt", "sats",
                 "hdop", "quality", "mode", "last")

    def __init__(self) -> None:
        self.raw: bytes | None = None  # time field as received (cheap equality test)
        self.ms: int | None = None  # time of day in milliseconds
        self.date: int | None = None  # proleptic ordinal, from RMC or ZDA in this epoch
        self.lat: float | None = None
        self.lon: float | None = None
        self.valid: bool | None = None  # None: no sentence said either way
        self.speed: float | None = None
        self.course: float | None = None
        self.alt: float | None = None
        self.sats: int | None = None
        self.hdop: float | None = None
        self.quality: int | None = None
        self.mode: int | None = None
        self.last: bytes | None = None  # type of the last sentence merged


def parse_time(raw: bytes) -> int:
    """``hhmmss[.sss]`` to milliseconds of the day; ValueError when it is not a time."""
    if len(raw) < 6:
        raise ValueError("short time")
    hours = int(raw[0:2])
    minutes = int(raw[2:4])
    seconds = float(raw[4:])
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
        raise ValueError("time out of range")
    return (hours * 60 + minutes) * 60000 + round(seconds * 1000)


def parse_coord(value: bytes, hemisphere: bytes, limit: int) -> float:
    """``dddmm.mmmm`` + hemisphere to signed decimal degrees.

    Degrees are taken as ``int(value / 100)`` rather than by position: terminals drop leading
    zeros (``1353.52,E`` is 13°53.52'), which positional slicing would misread.
    """
    number = float(value)
    degrees = int(number / 100)
    minutes = number - degrees * 100
    if not (0 <= minutes < 60) or degrees > limit:
        raise ValueError("coordinate out of range")
    result = round(degrees + minutes / 60, 8)  # 1 mm: drop binary noise from /60
    if result > limit:
        raise ValueError("coordinate out of range")
    if hemisphere in (b"S", b"W"):
        return -result
    if hemisphere in (b"N", b"E"):
        return result
    raise ValueError("bad hemisphere")


def _opt_float(value: bytes) -> float | None:
    return float(value) if value else None


def _opt_int(value: bytes) -> int | None:
    return int(value) if value else None


def _ddmmyy(value: bytes) -> int:
    day, month, year = int(value[0:2]), int(value[2:4]), int(value[4:6])
    if len(value) != 6:
        raise ValueError("bad date")
    # two-digit years: the first GPS receivers shipped in the 1980s
    return date(year + (1900 if year >= 80 else 2000), month, day).toordinal()


class NmeaStream:
    """Incremental decoder for one receiver's byte stream.

    Args:
        eager: learn the receiver's cycle-ending sentence and emit epochs as soon as it
            arrives (gateway). Without it an epoch is emitted when the next one starts or at
            :meth:`flush` (batch decoding of captures, where latency does not matter).
        max_line: longest line accepted, in bytes.
        require_checksum: refuse sentences without ``*hh``. By default they are accepted, as
            gpsd does: NMEA 0183 before 2.3 made the checksum optional for most sentences.
        stats: counters to add to; pass one shared object to aggregate many streams.
        terminal: terminal id known from outside (MQTT topic, serial binding); ``$PGID``
            sentences on the stream override it.
    """

    def __init__(self, *, eager: bool = True, max_line: int = MAX_LINE,
                 require_checksum: bool = False, stats: DecodeStats | None = None,
                 terminal: str | None = None) -> None:
        if max_line < 16:
            raise ValueError("max_line must be at least 16 bytes")
        self.eager = eager
        self.max_line = max_line
        self.require_checksum = require_checksum
        self.stats = stats if stats is not None else DecodeStats()
        self.terminal = terminal
        #: sentences accepted and lines/sentences rejected by this stream (the session's
        #: counters; ``stats`` may be shared)
        self.sentences = 0
        self.rejected = 0
        self._buf = b""
        self._discarding = False  # inside an overlong line: drop bytes until the next LF
        self._ep = _Epoch()
        self._date: int | None = None  # last date learnt (ordinal)
        self._midnight: datetime | None = None
        self._last_ms: int | None = None  # time of day of the last dated epoch
        self._emitted_ms: int | None = None
        self._ender: bytes | None = None
        self._candidate: bytes | None = None
        self._candidate_runs = 0

    # -- framing ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Record]:
        """Decode a chunk of bytes; returns the epochs it completed."""
        out: list[Record] = []
        buf = self._buf + data if self._buf else data
        lines = buf.split(b"\n")
        tail = lines.pop()
        if self._discarding and lines:
            lines[0] = b""  # the rest of the overlong line
            self._discarding = False
        for line in lines:
            self._line(line, out)
        if len(tail) > self.max_line:
            if not self._discarding:
                self._reject(Reject.OVERLONG)
                self._discarding = True
            tail = b""
        self._buf = tail
        return out

    def flush(self) -> list[Record]:
        """End of stream: decode a last unterminated line and emit the pending epoch."""
        out: list[Record] = []
        if self._buf and not self._discarding:
            self._line(self._buf, out)
        self._buf = b""
        self._discarding = False
        ep = self._ep
        if ep.last is not None:
            self._ep = _Epoch()
            self._emit(ep, out)
        return out

    def _reject(self, reason: Reject) -> None:
        self.rejected += 1
        rejected = self.stats.rejected
        rejected[reason] = rejected.get(reason, 0) + 1

    def _line(self, line: bytes, out: list[Record]) -> None:
        if len(line) > self.max_line:
            self._reject(Reject.OVERLONG)
            return
        if b"\r" in line:
            line = line.rstrip(b"\r")
            if b"\r" in line:  # CR-only line ends
                for part in line.split(b"\r"):
                    self._line(part, out)
                return
        if not line:
            return
        start = line.find(b"$")
        if start < 0:
            if line.strip():
                self._reject(Reject.NO_SENTENCE)
            return
        if line.find(b"$", start + 1) < 0:
            self._sentence(line[start + 1 :], out)
        else:
            for body in line[start + 1 :].split(b"$"):
                self._sentence(body, out)

    # -- sentences -------------------------------------------------------------------------

    def _sentence(self, body: bytes, out: list[Record]) -> None:
        star = body.find(b"*")
        if star >= 0:
            payload = body[:star]
            given = body[star + 1 : star + 3]
            value = 0
            for byte in payload:
                value ^= byte
            try:
                if len(given) != 2 or int(given, 16) != value:
                    self._reject(Reject.BAD_CHECKSUM)
                    return
            except ValueError:
                self._reject(Reject.BAD_CHECKSUM)
                return
        elif self.require_checksum:
            self._reject(Reject.BAD_CHECKSUM)
            return
        else:
            payload = body.rstrip()
        fields = payload.split(b",")
        address = fields[0]
        if not (3 <= len(address) <= 10 and address.isalnum() and address.isascii()):
            self._reject(Reject.MALFORMED)
            return
        kind = address if address[0] == 0x50 else address[2:]  # 'P': proprietary, no talker
        handler = _HANDLERS.get(kind)
        if handler is not None:
            try:
                handler(self, fields, out)
            except (ValueError, IndexError, OverflowError):
                self._reject(Reject.MALFORMED)
                return
        self.sentences += 1
        name = _TYPE_NAMES.get(kind)
        if name is None:
            name = _type_name(kind)
        by_type = self.stats.by_type
        if name in by_type:
            by_type[name] += 1
        elif len(by_type) < MAX_COUNTED_TYPES:
            by_type[name] = 1
        else:
            by_type["other"] = by_type.get("other", 0) + 1

    def _at(self, raw: bytes, kind: bytes, out: list[Record]) -> _Epoch | None:
        """The epoch a sentence stamped ``raw`` belongs to; None when it arrives too late."""
        ep = self._ep
        if ep.raw == raw:
            return ep
        ms = parse_time(raw)
        if ep.ms is None:
            if ms == self._emitted_ms:
                # the epoch of this time went out already: the learnt cycle end was wrong
                self._ender = self._candidate = None
                self._candidate_runs = 0
                self._reject(Reject.LATE)
                return None
            ep.ms = ms
            ep.raw = raw
            return ep
        if ms == ep.ms:
            ep.raw = raw
            return ep
        # a new time: the current epoch is complete, and its last sentence may end cycles
        self._learn(ep.last)
        self._emit(ep, out)
        ep = self._ep = _Epoch()
        ep.ms = ms
        ep.raw = raw
        return ep

    def _done(self, ep: _Epoch, kind: bytes, out: list[Record]) -> None:
        ep.last = kind
        if kind == self._ender and ep.ms is not None:
            self._learn(kind)
            self._ep = _Epoch()
            self._emit(ep, out)

    def _learn(self, kind: bytes | None) -> None:
        if not self.eager or kind is None:
            return
        if kind == self._candidate:
            self._candidate_runs += 1
            if self._candidate_runs >= 2:
                self._ender = kind
        else:
            self._candidate = kind
            self._candidate_runs = 1

    def _emit(self, ep: _Epoch, out: list[Record]) -> None:
        ms = ep.ms
        self._emitted_ms = ms
        if ms is None:
            if ep.valid is False:
                self.stats.no_fixes += 1
                out.append(NoFix(None, ep.sats, self.terminal))
            return
        if ep.date is not None:
            if ep.date != self._date:
                self._date = ep.date
                self._midnight = None
        elif self._date is not None:
            if self._last_ms is not None and ms < self._last_ms - _HALF_DAY_MS:
                self._date += 1  # midnight passed between two epochs with no date in them
                self._midnight = None
        else:
            if ep.valid:
                self._reject(Reject.UNDATED)
            elif ep.valid is False:
                self.stats.no_fixes += 1
                out.append(NoFix(None, ep.sats, self.terminal))
            return
        self._last_ms = ms
        midnight = self._midnight
        if midnight is None:
            midnight = self._midnight = datetime.fromordinal(self._date).replace(tzinfo=UTC)
        when = midnight + timedelta(milliseconds=ms)
        if ep.valid and ep.lat is not None:
            self.stats.fixes += 1
            out.append(Fix(when, ep.lat, ep.lon, ep.speed, ep.course, ep.alt, ep.sats, ep.hdop,
                           ep.quality, ep.mode, self.terminal))
        elif ep.valid is False:
            self.stats.no_fixes += 1
            out.append(NoFix(when, ep.sats, self.terminal))

    # -- one handler per sentence type: fields[0] is the address ---------------------------

    def _rmc(self, f: list[bytes], out: list[Record]) -> None:
        # RMC: time, status, lat, N/S, lon, E/W, speed kn, course, date, magvar, E/W, mode
        status = f[2]
        if status not in (b"A", b"V"):
            raise ValueError("bad RMC status")
        valid = status == b"A" and not (len(f) > 12 and f[12][:1] == b"N")
        day = _ddmmyy(f[9]) if f[9] else None
        lat = parse_coord(f[3], f[4], 90) if f[3] else None
        lon = parse_coord(f[5], f[6], 180) if f[5] else None
        speed = _opt_float(f[7])
        course = _opt_float(f[8])
        ep = self._at(f[1], b"RMC", out) if f[1] else self._ep
        if ep is None:
            return
        if day is not None:
            ep.date = day
        if valid and lat is not None and lon is not None:
            ep.lat, ep.lon, ep.valid = lat, lon, True
        elif not valid and not ep.valid:
            ep.valid = False
        if speed is not None:
            ep.speed = speed
        if course is not None:
            ep.course = course
        self._done(ep, b"RMC", out)

    def _gga(self, f: list[bytes], out: list[Record]) -> None:
        # GGA: time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, geoid sep, M, ...
        quality = int(f[6]) if f[6] else 0
        lat = parse_coord(f[2], f[3], 90) if f[2] else None
        lon = parse_coord(f[4], f[5], 180) if f[4] else None
        sats = _opt_int(f[7])
        hdop = _opt_float(f[8])
        alt = _opt_float(f[9]) if len(f) > 9 else None
        if not f[1]:
            if quality == 0:  # receivers without time yet report an empty, fixless GGA
                self.stats.no_fixes += 1
                out.append(NoFix(None, sats, self.terminal))
            return
        ep = self._at(f[1], b"GGA", out)
        if ep is None:
            return
        if quality > 0 and lat is not None and lon is not None:
            ep.valid = True
            if ep.lat is None:
                ep.lat, ep.lon = lat, lon
        elif quality == 0 and not ep.valid:
            ep.valid = False
        ep.quality = quality
        if sats is not None:
            ep.sats = sats
        if hdop is not None:
            ep.hdop = hdop
        if alt is not None:
            ep.alt = alt
        self._done(ep, b"GGA", out)

    def _gsa(self, f: list[bytes], out: list[Record]) -> None:
        # GSA: selection mode, fix mode (1 none, 2 2D, 3 3D), 12 PRNs, PDOP, HDOP, VDOP
        mode = int(f[2])
        if mode not in (1, 2, 3):
            raise ValueError("bad GSA mode")
        hdop = _opt_float(f[16]) if len(f) > 16 else None
        ep = self._ep
        # multi-constellation receivers send one GSA per system: keep the best mode
        if ep.mode is None or mode > ep.mode:
            ep.mode = mode
        if mode == 1 and not ep.valid:
            ep.valid = False
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop
        self._done(ep, b"GSA", out)

    def _vtg(self, f: list[bytes], out: list[Record]) -> None:
        # VTG (NMEA 2.3+): course T, "T", course M, "M", speed kn, "N", speed km/h, "K", mode
        # VTG (old): course T, course M, speed kn, speed km/h
        if len(f) > 2 and f[2] == b"T":
            course, speed = _opt_float(f[1]), _opt_float(f[5])
        else:
            course, speed = _opt_float(f[1]), _opt_float(f[3])
        ep = self._ep
        if course is not None and ep.course is None:
            ep.course = course
        if speed is not None and ep.speed is None:
            ep.speed = speed
        self._done(ep, b"VTG", out)

    def _zda(self, f: list[bytes], out: list[Record]) -> None:
        # ZDA: time, day, month, year (4 digits), local zone hours, minutes
        day = date(int(f[4]), int(f[3]), int(f[2])).toordinal()
        ep = self._at(f[1], b"ZDA", out)
        if ep is None:
            return
        ep.date = day
        self._done(ep, b"ZDA", out)

    def _gll(self, f: list[bytes], out: list[Record]) -> None:
        # GLL: lat, N/S, lon, E/W, time, status, mode
        if len(f) < 7 or not f[5]:
            return  # NMEA 1.x GLL without time: cannot be placed in an epoch
        valid = f[6] == b"A" and not (len(f) > 7 and f[7][:1] == b"N")
        lat = parse_coord(f[1], f[2], 90) if f[1] else None
        lon = parse_coord(f[3], f[4], 180) if f[3] else None
        ep = self._at(f[5], b"GLL", out)
        if ep is None:
            return
        if valid and lat is not None and lon is not None:
            ep.valid = True
            if ep.lat is None:
                ep.lat, ep.lon = lat, lon
        elif not valid and not ep.valid:
            ep.valid = False
        self._done(ep, b"GLL", out)

    def _gns(self, f: list[bytes], out: list[Record]) -> None:
        # GNS: time, lat, N/S, lon, E/W, mode chars (one per system), sats, hdop, alt, ...
        modes = f[6]
        valid = any(c != 0x4E for c in modes)  # any system not 'N'
        lat = parse_coord(f[2], f[3], 90) if f[2] else None
        lon = parse_coord(f[4], f[5], 180) if f[4] else None
        sats, hdop = _opt_int(f[7]), _opt_float(f[8])
        alt = _opt_float(f[9]) if len(f) > 9 else None
        ep = self._at(f[1], b"GNS", out) if f[1] else None
        if ep is None:
            return
        if valid and lat is not None and lon is not None:
            ep.valid = True
            if ep.lat is None:
                ep.lat, ep.lon = lat, lon
        elif not valid and not ep.valid:
            ep.valid = False
        if sats is not None and ep.sats is None:
            ep.sats = sats
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop
        if alt is not None and ep.alt is None:
            ep.alt = alt
        self._done(ep, b"GNS", out)

    def _pgid(self, f: list[bytes], out: list[Record]) -> None:
        # $PGID,<terminal id>: T55-family terminals announce themselves with it
        ident = f[1].strip()
        if not (1 <= len(ident) <= 64 and ident.isascii() and ident.isalnum()):
            raise ValueError("bad terminal id")
        self.terminal = ident.decode("ascii")


_HANDLERS: dict[bytes, Callable[[NmeaStream, list[bytes], list[Record]], None]] = {
    b"RMC": NmeaStream._rmc,
    b"GGA": NmeaStream._gga,
    b"GSA": NmeaStream._gsa,
    b"VTG": NmeaStream._vtg,
    b"ZDA": NmeaStream._zda,
    b"GLL": NmeaStream._gll,
    b"GNS": NmeaStream._gns,
    b"PGID": NmeaStream._pgid,
}
_TYPE_NAMES: dict[bytes, str] = {}


def _type_name(kind: bytes) -> str:
    name = kind.decode("ascii")
    if len(_TYPE_NAMES) < 4 * MAX_COUNTED_TYPES:
        _TYPE_NAMES[kind] = name
    return name
