"""A virtual terminal: a vehicle, a receiver, a sentence profile and its faults.

:class:`VirtualTerminal` is pure and clock-free: each :meth:`~VirtualTerminal.next_report`
moves the vehicle one report interval and returns the bytes the terminal sends for that epoch,
with the record a correct decoder must make of them and the rejections it must count. Runners
(:mod:`simulators.fleet`) decide when to call it and where the bytes go; tests call it directly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from devices.nmea import MAX_LINE, Reject
from devices.records import Record
from devices.status import Alarm
from simulators.errors import SpecError
from simulators.faults import Fault, FaultKind
from simulators.route import RouteConfig, Vehicle
from simulators.sentences import Reading, Sentence, SentenceProfile, encode_epoch

#: the alarm each alarm fault makes a binary-protocol terminal report
_ALARM_OF = {
    FaultKind.POWER_CUT: Alarm.POWER_CUT,
    FaultKind.LOW_VOLTAGE: Alarm.LOW_VOLTAGE,
    FaultKind.ANTENNA: Alarm.ANTENNA_OPEN,
    FaultKind.GNSS_FAULT: Alarm.GNSS_FAULT,
    FaultKind.SOS: Alarm.SOS,
}
#: bytes that would make a garbage line something else than one line of noise
_GARBAGE_FIX = bytes.maketrans(b"$\r\n\t\x0b\x0c ", b"\x01\x02\x03\x04\x05\x06\x07")
_FILLER = b"GPTXT,01,01,02,ANTENNA OK,0123456789ABCDEF" * 4


def check_terminal_id(terminal_id: str) -> str:
    """Terminal ids travel in ``$PGID`` and MQTT topics: 1..64 ASCII letters and digits."""
    if not (1 <= len(terminal_id) <= 64 and terminal_id.isascii() and terminal_id.isalnum()):
        raise SpecError(f"terminal id {terminal_id!r} must be 1..64 ASCII letters/digits")
    return terminal_id


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminalConfig:
    """One virtual terminal.

    Args:
        terminal_id: what it identifies as (``$PGID``, MQTT topic, serial binding).
        interval: seconds between reports; a multiple of 10 ms (NMEA times are centiseconds).
        phase: seconds from the start of the run to the first report.
        profile: sentences per epoch and talker.
        route: where and how the vehicle drives.
        seed: with the terminal id, fixes every random choice.
        faults: faults that apply to this terminal (already filtered by target).
    """

    terminal_id: str
    interval: float = 1.0
    phase: float = 0.0
    profile: SentenceProfile = field(default_factory=SentenceProfile)
    route: RouteConfig = field(default_factory=RouteConfig)
    seed: int = 0
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        check_terminal_id(self.terminal_id)
        for name in ("interval", "phase"):
            value = getattr(self, name)
            cs = round(value * 100)
            if abs(value * 100 - cs) > 1e-6 or (name == "interval" and cs < 1) or cs < 0:
                raise SpecError(f"{name} {value} s must be a non-negative multiple of 0.01 s"
                                + (" and at least 0.01 s" if name == "interval" else ""))


@dataclass(frozen=True, slots=True)
class Report:
    """One epoch of one terminal, as sent."""

    terminal_id: str
    tick: int
    at: float  #: seconds from the start of the run (true time)
    time: datetime  #: true UTC time of the epoch
    data: bytes  #: what goes on the wire; empty while silent
    record: Record | None  #: what a decoder makes of ``data``; None when nothing was sent
    sentences: int  #: NMEA sentences in ``data`` (noise lines not counted)
    intact: bool  #: no sentence of the epoch was corrupted, so ``record`` is exact
    rejects: Mapping[Reject, int]  #: what a decoder must count as rejected in ``data``
    faults: tuple[FaultKind, ...]  #: kinds active at this report
    #: what a binary-protocol terminal reports in its alarm word at this report (alarm faults)
    alarms: frozenset[Alarm] = frozenset()


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """What the connection should be doing at an instant."""

    up: bool = True  #: False while a ``silent:drop`` fault holds
    storm_every: float | None = None  #: reconnect period while a storm holds


class VirtualTerminal:
    """See the module docstring. Reports must be taken in order; the vehicle only moves on."""

    def __init__(self, config: TerminalConfig, *, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.config = config
        self.terminal_id = config.terminal_id
        self.start = start
        base = f"{config.seed}:{config.terminal_id}"
        # string seeds are hashed with SHA-512 by random: stable across runs and processes
        self.vehicle = Vehicle(config.route, random.Random(f"{base}:route"))
        self._rng = random.Random(f"{base}:faults")
        self._tick = 0
        self._jumps: dict[int, tuple[float, float]] = {}
        for i, fault in enumerate(config.faults):
            if fault.kind is FaultKind.JUMP:
                a = random.Random(f"{base}:jump:{i}").uniform(0, 2 * math.pi)
                d = fault.param("distance")
                self._jumps[i] = (d * math.sin(a), d * math.cos(a))
        self._kept: set[int] = set()
        sky = random.Random(f"{base}:sky")
        self._prns = sky.sample(range(1, 33), 16)
        self._wants_sky = bool({Sentence.GSA, Sentence.GSV} & set(config.profile.sentences))

    # -- schedule --------------------------------------------------------------------------

    def at(self, tick: int) -> float:
        """Seconds from the start of the run to report ``tick``."""
        return round(self.config.phase + tick * self.config.interval, 6)

    @property
    def next_tick(self) -> int:
        return self._tick

    def active_faults(self, t: float) -> list[Fault]:
        interval = self.config.interval
        return [f for f in self.config.faults if f.active(t, interval)]

    def link_plan(self, t: float) -> LinkPlan:
        up, storm = True, None
        for fault in self.active_faults(t):
            if fault.kind is FaultKind.SILENT and fault.param("drop"):
                up = False
            elif fault.kind is FaultKind.STORM:
                every = fault.param("every")
                storm = every if storm is None else min(storm, every)
        return LinkPlan(up, storm)

    def fault_boundaries(self) -> list[float]:
        """Times at which some fault starts or ends (runners wake up for connection faults)."""
        interval = self.config.interval
        out = set()
        for f in self.config.faults:
            out.add(f.start)
            if math.isfinite(f.end(interval)):
                out.add(f.end(interval))
        return sorted(out)

    # -- reports ---------------------------------------------------------------------------

    def next_report(self) -> Report:
        cfg = self.config
        tick = self._tick
        self._tick += 1
        t = self.at(tick)
        if tick > 0:
            self.vehicle.advance(cfg.interval)
        true_time = self.start + timedelta(seconds=t)
        active = [(i, f) for i, f in enumerate(cfg.faults) if f.active(t, cfg.interval)]
        kinds = tuple(dict.fromkeys(f.kind for _, f in active))
        for i, f in active:
            if f.kind is FaultKind.JUMP and f.param("keep") and i not in self._kept:
                self._kept.add(i)
                self.vehicle.teleport(*self._jumps[i])
        if FaultKind.SILENT in kinds:
            return Report(cfg.terminal_id, tick, t, true_time, b"", None, 0, True, {}, kinds)
        reading = self._reading(true_time, active)
        sentences, record = encode_epoch(reading, cfg.profile)
        rejects: dict[Reject, int] = {}
        intact = True
        prefix: list[bytes] = []
        for _, f in active:
            if f.kind is FaultKind.CHECKSUM:
                rate = f.param("rate")
                for n, s in enumerate(sentences):
                    if self._rng.random() < rate:
                        sentences[n] = _corrupt(s)
                        intact = False
                        rejects[Reject.BAD_CHECKSUM] = rejects.get(Reject.BAD_CHECKSUM, 0) + 1
            elif f.kind is FaultKind.GARBAGE and self._rng.random() < f.param("rate"):
                prefix.append(self._garbage(f.param("size")))
                rejects[Reject.NO_SENTENCE] = rejects.get(Reject.NO_SENTENCE, 0) + 1
            elif f.kind is FaultKind.OVERLONG and self._rng.random() < f.param("rate"):
                length = f.param("length")
                prefix.append((_FILLER * (length // len(_FILLER) + 1))[:length] + b"\r\n")
                reason = Reject.OVERLONG if length > MAX_LINE else Reject.NO_SENTENCE
                rejects[reason] = rejects.get(reason, 0) + 1
        data = b"".join(prefix) + b"".join(sentences)
        alarms = frozenset(_ALARM_OF[f.kind] if not (f.kind is FaultKind.ANTENNA
                                                    and f.param("short"))
                           else Alarm.ANTENNA_SHORT
                           for _, f in active if f.kind in _ALARM_OF)
        return Report(cfg.terminal_id, tick, t, true_time, data, record, len(sentences), intact,
                      rejects, kinds, alarms)

    def _reading(self, true_time: datetime, active: list[tuple[int, Fault]]) -> Reading:
        state = self.vehicle.state()
        lat, lon = state.lat, state.lon
        sats, hdop, valid = state.sats, state.hdop, True
        when = true_time
        for i, f in active:
            kind = f.kind
            if kind is FaultKind.SKEW:
                when += timedelta(seconds=f.param("offset"))
            elif kind is FaultKind.JUMP and not f.param("keep"):
                frame = self.vehicle.frame
                x, y = frame.to_xy(lat, lon)
                dx, dy = self._jumps[i]
                lat, lon = frame.to_latlon(x + dx, y + dy)
            elif kind is FaultKind.NO_FIX:
                valid = False
            elif kind is FaultKind.POOR_ACCURACY:
                sats, hdop = f.param("sats"), f.param("hdop")
        in_view = self._sky(when, sats) if self._wants_sky else ()
        return Reading(when, lat, lon, state.speed_kn, state.course, state.alt_m, sats, hdop,
                       valid, in_view)

    def _sky(self, when: datetime, sats: int) -> tuple[tuple[int, int, int, int], ...]:
        # satellites drift slowly across the sky: positions move with the minute of the day
        minute = when.hour * 60 + when.minute
        out = []
        for n, prn in enumerate(self._prns[: min(16, sats + 3)]):
            elev = 5 + (prn * 17 + minute // 4) % 80
            az = (prn * 47 + minute) % 360
            snr = 30 + (prn * 7) % 20 if n < sats else (prn * 3) % 18
            out.append((prn, elev, az, snr))
        return tuple(out)

    def _garbage(self, size: int) -> bytes:
        noise = self._rng.randbytes(size).translate(_GARBAGE_FIX)
        return noise + b"\r\n"


def _corrupt(sentence: bytes) -> bytes:
    """The same sentence with a checksum that cannot match (every value differs)."""
    star = sentence.rfind(b"*")
    value = int(sentence[star + 1 : star + 3], 16) ^ 0x5A
    return b"%s*%02X%s" % (sentence[:star], value, sentence[star + 3 :])
