"""NMEA 0183 stream decoder: bytes in, one record per navigation epoch out.

A receiver emits several sentences per epoch (RMC, GGA, GSA, VTG, ZDA, ...). They are merged
into one :class:`~devices.records.Fix` (or :class:`~devices.records.NoFix`) the way gpsd does:
sentences carrying the same time of day belong to one epoch; a change of time closes it.

Waiting for the next epoch to close the current one would delay every fix by a whole report
interval, so in *eager* mode (the gateway's) the stream also learns which sentence ends the
receiver's cycle: once the same sentence has been last in two consecutive epochs, its arrival
closes the epoch at once. "The same sentence" is its type and its place in a run of that type,
because multi-constellation receivers send one GSA per system: with ``GSA GSA`` ending each
cycle the second GSA is the ender, not the first. A timed sentence that then turns up for an
epoch already emitted means the receiver changed its order: the lesson is forgotten and the
sentence counted as ``late``.

Framing is forgiving the way field data needs: CR, LF or CRLF line ends; vendor junk before
``$`` (``123456789$GPGGA,...``); data after the checksum; several sentences on one line; binary
noise. Nothing here raises on input: every refusal is counted
(:class:`~devices.nmea.errors.Reject`).
Sentence bodies are decoded by :func:`devices.nmea.accel.parse_body` (C when built, else the
pure-Python reference); the merging below is shared by both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from devices.commands import Command, CommandAnswer, UnsupportedCommand
from devices.nmea import accel, longtail
from devices.nmea.errors import Reject
from devices.records import NoFix, Record
from devices.stats import DecodeStats

#: NMEA 0183 caps a sentence at 82 characters; vendor extensions (T55, Megastek) run longer.
#: A line past this is wiring noise or a wrong baud rate, not a sentence.
MAX_LINE = 512
#: Distinct sentence types counted by name; garbage with a valid checksum must not grow the
#: table without bound.
MAX_COUNTED_TYPES = 64
_HALF_DAY_MS = 12 * 3600 * 1000
_OVERLONG, _NO_SENTENCE, _LATE, _UNDATED = (
    Reject.OVERLONG, Reject.NO_SENTENCE, Reject.LATE, Reject.UNDATED)
#: refusals about epochs, not about damaged lines
_EPOCH_REASONS = frozenset({Reject.LATE, Reject.UNDATED})


class _Epoch:
    """Everything learnt so far about one navigation epoch."""

    __slots__ = ("ms", "date", "lat", "lon", "valid", "speed", "course", "alt", "sats",
                 "hdop", "quality", "mode", "last", "run", "seen", "damaged")

    def __init__(self) -> None:
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
        self.last: str | None = None  # type of the last sentence merged
        self.run = 0  # how many of that type in a row
        self.seen: set[str] | None = None  # types merged without a time (see _timeless)
        #: a line was refused while this epoch was open: its real last sentence may be the
        #: one lost, so it teaches nothing about where the receiver's cycle ends
        self.damaged = False


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
        self._parse = accel.parse_body
        self._split = accel.split_parse
        self._at_ms = accel.at_ms
        self._make_fix = accel.make_fix
        self._buf = b""
        self._discarding = False  # inside an overlong line: drop bytes until the next line end
        self._ep = _Epoch()
        self._day: int | None = None  # last date learnt (ordinal)
        self._midnight: datetime | None = None
        self._last_ms: int | None = None  # time of day of the last dated epoch
        self._emitted_ms: int | None = None
        self._ender: str | None = None  # learnt cycle end: type and place in its run
        self._ender_run = 0
        self._candidate: str | None = None
        self._candidate_run = 0
        self._candidate_seen = 0

    # -- framing ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Record]:
        """Decode a chunk of bytes; returns the epochs it completed."""
        out: list[Record] = []
        buf = self._buf + data if self._buf else data
        max_line = self.max_line
        split = self._split
        if split is not None:  # the same framing in C, in one call
            items, tail, self._discarding = split(buf, max_line, self.require_checksum,
                                                  self._discarding)
            accept = self._accept
            for item in items:
                if item.__class__ is tuple:
                    accept(item, out)
                else:
                    self._reject(item)
            return self._keep(tail, out)
        if b"\r" in buf:  # CR-only and CRLF line ends: empty lines are skipped below
            buf = buf.replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        tail = lines.pop()
        if self._discarding and lines:
            lines[0] = b""  # the rest of the overlong line
            self._discarding = False
        require = self.require_checksum
        parse = self._parse
        accept = self._accept
        for line in lines:
            if not line:
                continue
            if len(line) > max_line:
                self._reject(_OVERLONG)
                continue
            bodies = line.split(b"$")
            if len(bodies) == 1:
                if line.strip():
                    self._reject(_NO_SENTENCE)
                continue
            del bodies[0]  # vendor prefix or nothing
            for body in bodies:
                result = parse(body, require)
                if result.__class__ is tuple:
                    accept(result, out)
                else:
                    self._reject(cast(Reject, result))
        return self._keep(tail, out)

    def _keep(self, tail: bytes, out: list[Record]) -> list[Record]:
        """Keep the unterminated ``tail`` for the next chunk (an overlong one is dropped and
        the rest of its line with it); returns ``out``."""
        if len(tail) > self.max_line:
            if not self._discarding:
                self._reject(_OVERLONG)
                self._discarding = True
            tail = b""
        self._buf = tail
        return out

    def flush(self) -> list[Record]:
        """End of stream: decode a last unterminated line and emit the pending epoch."""
        out: list[Record] = []
        if self._buf and not self._discarding:
            buf, self._buf = self._buf, b""
            out += self.feed(buf + b"\n")
        self._buf = b""
        self._discarding = False
        ep = self._ep
        if ep.last is not None:
            self._ep = _Epoch()
            self._emit(ep, out)
        return out

    def take_output(self) -> bytes:
        """Nothing: NMEA 0183 has no acknowledgements (the gateway's protocol interface)."""
        return b""

    def send_command(self, command: Command, ref: int) -> tuple[int, bytes]:
        """NMEA 0183 terminals take no commands (the gateway's protocol interface)."""
        raise UnsupportedCommand("NMEA terminals take no commands")

    def take_answers(self) -> list[CommandAnswer]:
        return []

    def _reject(self, reason: Reject) -> None:
        self.rejected += 1
        rejected = self.stats.rejected
        rejected[reason] = rejected.get(reason, 0) + 1
        if reason not in _EPOCH_REASONS:
            self._ep.damaged = True

    def _accept(self, parsed: tuple, out: list[Record]) -> None:
        kind = parsed[0]
        merge = _MERGE.get(kind)
        if merge is not None:
            if not merge(self, parsed, out):
                return
        elif kind in longtail.KINDS:
            decoded = longtail.decode(kind, parsed[1])
            if decoded.__class__ is tuple:
                if not _MERGE[decoded[0]](self, decoded, out):
                    return
            elif decoded is not None:
                self._reject(cast(Reject, decoded))
                return
        self.sentences += 1
        by_type = self.stats.by_type
        if kind in by_type:
            by_type[kind] += 1
        elif len(by_type) < MAX_COUNTED_TYPES:
            by_type[kind] = 1
        else:
            by_type["other"] = by_type.get("other", 0) + 1

    # -- epochs ----------------------------------------------------------------------------

    def _at(self, ms: int, out: list[Record]) -> _Epoch | None:
        """The epoch a sentence stamped ``ms`` belongs to; None when it arrives too late."""
        ep = self._ep
        if ep.ms == ms:
            return ep
        if ep.ms is None:
            if ms == self._emitted_ms:
                # the epoch of this time went out already: the learnt cycle end was wrong
                self._ender = self._candidate = None
                self._candidate_seen = 0
                self._reject(_LATE)
                return None
            if ep.seen is not None and ep.last is not None:
                # the open epoch holds timeless sentences of the previous cycle (see _timeless)
                self._emit(ep, out)
                ep = self._ep = _Epoch()
            ep.ms = ms
            return ep
        # a new time: the current epoch is complete, and its last sentence may end cycles
        if not ep.damaged:
            self._learn(ep.last, ep.run)
        self._emit(ep, out)
        ep = self._ep = _Epoch()
        ep.ms = ms
        return ep

    def _timeless(self, kind: str, out: list[Record]) -> _Epoch:
        """The epoch for an RMC/GGA with an empty time (receivers print those until they know
        the time): the same type arriving again starts the next one."""
        ep = self._ep
        if ep.ms is not None:
            return ep
        seen = ep.seen
        if seen is None:
            ep.seen = {kind}
        elif kind in seen:
            self._emit(ep, out)
            ep = self._ep = _Epoch()
            ep.seen = {kind}
        else:
            seen.add(kind)
        return ep

    def _done(self, ep: _Epoch, kind: str, out: list[Record]) -> None:
        if kind == ep.last:
            ep.run += 1
        else:
            ep.last = kind
            ep.run = 1
        if kind == self._ender and ep.run == self._ender_run and ep.ms is not None:
            self._learn(kind, ep.run)
            self._ep = _Epoch()
            self._emit(ep, out)

    def _learn(self, kind: str | None, run: int) -> None:
        if not self.eager or kind is None:
            return
        if kind == self._candidate and run == self._candidate_run:
            self._candidate_seen += 1
            if self._candidate_seen >= 2:
                self._ender = kind
                self._ender_run = run
        else:
            self._candidate = kind
            self._candidate_run = run
            self._candidate_seen = 1

    def _emit(self, ep: _Epoch, out: list[Record]) -> None:
        ms = ep.ms
        self._emitted_ms = ms
        if ms is None:
            if ep.valid is False:
                self.stats.no_fixes += 1
                out.append(NoFix(None, ep.sats, self.terminal))
            elif ep.valid:
                self._reject(_UNDATED)
            return
        if ep.date is not None:
            if ep.date != self._day:
                self._day = ep.date
                self._midnight = None
        elif self._day is not None:
            if self._last_ms is not None and ms < self._last_ms - _HALF_DAY_MS:
                self._day += 1  # midnight passed between two epochs with no date in them
                self._midnight = None
        else:
            if ep.valid:
                self._reject(_UNDATED)
            elif ep.valid is False:
                self.stats.no_fixes += 1
                out.append(NoFix(None, ep.sats, self.terminal))
            return
        self._last_ms = ms
        midnight = self._midnight
        if midnight is None:
            midnight = self._midnight = datetime.fromordinal(self._day).replace(tzinfo=UTC)
        at_ms = self._at_ms
        when = at_ms(midnight, ms) if at_ms is not None else None
        if when is None:
            when = midnight + timedelta(0, 0, 0, ms)
        if ep.valid and ep.lat is not None and ep.lon is not None:
            self.stats.fixes += 1
            out.append(self._make_fix(when, ep.lat, ep.lon, ep.speed, ep.course, ep.alt,
                                      ep.sats, ep.hdop, ep.quality, ep.mode, self.terminal))
        elif ep.valid is False:
            self.stats.no_fixes += 1
            out.append(NoFix(when, ep.sats, self.terminal))

    # -- merging: one function per parsed shape (see devices.nmea.sentences) ---------------

    def _rmc(self, p: tuple, out: list[Record]) -> bool:
        _, ms, valid, lat, lon, speed, course, day = p
        ep = self._timeless("RMC", out) if ms is None else self._at(ms, out)
        if ep is None:
            return False
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
        self._done(ep, "RMC", out)
        return True

    def _gga(self, p: tuple, out: list[Record]) -> bool:
        _, ms, quality, lat, lon, sats, hdop, alt = p
        ep = self._timeless("GGA", out) if ms is None else self._at(ms, out)
        if ep is None:
            return False
        if 1 <= quality <= 5 and lat is not None and lon is not None:
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
        self._done(ep, "GGA", out)
        return True

    def _gsa(self, p: tuple, out: list[Record]) -> bool:
        _, mode, hdop = p
        ep = self._ep
        # multi-constellation receivers send one GSA per system: keep the best mode
        if ep.mode is None or mode > ep.mode:
            ep.mode = mode
        if mode == 1 and not ep.valid:
            ep.valid = False
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop
        self._done(ep, "GSA", out)
        return True

    def _vtg(self, p: tuple, out: list[Record]) -> bool:
        _, course, speed = p
        ep = self._ep
        if course is not None and ep.course is None:
            ep.course = course
        if speed is not None and ep.speed is None:
            ep.speed = speed
        self._done(ep, "VTG", out)
        return True

    def _zda(self, p: tuple, out: list[Record]) -> bool:
        _, ms, day = p
        if ms is None:
            return True  # an empty ZDA: the receiver does not know the time yet
        ep = self._at(ms, out)
        if ep is None:
            return False
        if day is not None:
            ep.date = day
        self._done(ep, "ZDA", out)
        return True

    def _position(self, ms: int | None, valid: bool, lat: float | None,
                  lon: float | None, out: list[Record]) -> _Epoch | None:
        """GLL, GNS and PUBX,00: position if nothing better came in this epoch."""
        if ms is None:
            return None
        ep = self._at(ms, out)
        if ep is None:
            return None
        if valid and lat is not None and lon is not None:
            ep.valid = True
            if ep.lat is None:
                ep.lat, ep.lon = lat, lon
        elif not valid and not ep.valid:
            ep.valid = False
        return ep

    def _gll(self, p: tuple, out: list[Record]) -> bool:
        _, ms, valid, lat, lon = p
        if ms is None:
            return True  # NMEA 1.x GLL without time: cannot be placed in an epoch
        ep = self._position(ms, valid, lat, lon, out)
        if ep is None:
            return False
        self._done(ep, "GLL", out)
        return True

    def _gns(self, p: tuple, out: list[Record]) -> bool:
        _, ms, valid, lat, lon, sats, hdop, alt = p
        if ms is None:
            return True
        ep = self._position(ms, valid, lat, lon, out)
        if ep is None:
            return False
        if sats is not None and ep.sats is None:
            ep.sats = sats
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop
        if alt is not None and ep.alt is None:
            ep.alt = alt
        self._done(ep, "GNS", out)
        return True

    def _pgid(self, p: tuple, out: list[Record]) -> bool:
        self.terminal = p[1]
        return True

    # long-tail shapes (devices.nmea.longtail)

    def _ubx_fix(self, p: tuple, out: list[Record]) -> bool:
        _, kind, ms, valid, lat, lon, speed, course, hdop, sats, mode = p
        ep = self._position(ms, valid, lat, lon, out)
        if ep is None:
            return False
        if speed is not None and ep.speed is None:
            ep.speed = speed
        if course is not None and ep.course is None:
            ep.course = course
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop
        if sats is not None and ep.sats is None:
            ep.sats = sats
        if mode is not None and (ep.mode is None or mode > ep.mode):
            ep.mode = mode
        self._done(ep, kind, out)
        return True

    def _date(self, p: tuple, out: list[Record]) -> bool:
        ep = self._at(p[2], out)
        if ep is None:
            return False
        ep.date = p[3]
        self._done(ep, p[1], out)
        return True

    def _time(self, p: tuple, out: list[Record]) -> bool:
        ep = self._at(p[2], out)
        if ep is None:
            return False
        self._done(ep, p[1], out)
        return True


_MERGE: dict[str, Callable[[NmeaStream, tuple, list[Record]], bool]] = {
    "RMC": NmeaStream._rmc,
    "GGA": NmeaStream._gga,
    "GSA": NmeaStream._gsa,
    "VTG": NmeaStream._vtg,
    "ZDA": NmeaStream._zda,
    "GLL": NmeaStream._gll,
    "GNS": NmeaStream._gns,
    "PGID": NmeaStream._pgid,
    longtail.FIX: NmeaStream._ubx_fix,
    longtail.DATE: NmeaStream._date,
    longtail.TIME: NmeaStream._time,
}
