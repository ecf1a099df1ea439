"""Faults as data: what can go wrong with a terminal, when, and for how long.

A fault spec is one short string, the same in the CLI, in tests and in docs::

    [TARGET/]KIND[:ARGS][@START[+DURATION]]

    no_fix@30s+60s                 every terminal loses its fix from 30 s to 90 s
    SIM0003/silent:drop@1m+2m      SIM0003 stops sending and drops its connection for 2 minutes
    25%/checksum:0.2@0s            a quarter of the fleet corrupts 20 % of its sentences, forever
    poor_accuracy:hdop=12,sats=3@10s+30s
    skew:-2h                       the terminal clock runs two hours behind, all run long
    jump:5km@45s                   one report 5 km off the track (an outlier), then back
    teleport:20km@45s              the vehicle is moved 20 km for good
    storm:every=500ms@20s+10s      reconnect every half second for ten seconds

TARGET is ``*`` (default), a terminal id, a glob (``SIM00*``) or a share of the fleet
(``25%``: the first quarter by index). ARGS are positional in the order of the kind's parameter
table below or ``name=value``; a boolean parameter may be given by its bare name (``drop``).
START and DURATION are times (``500ms``, ``30s``, ``2m``, ``1h``, ``1m30s``; a bare number is
seconds) from the start of the run; without DURATION the fault lasts to the end of the run,
except ``jump``, which lasts one report.

The kinds are named after what they make a terminal do; the health rules they are meant to
trigger (issue 4) are accepted as aliases: ``offline`` = silent, ``clock_drift`` = skew,
``reconnect_storm`` = storm, ``checksum_errors`` = checksum, ``position_jump`` = jump.
"""

from __future__ import annotations

import enum
import fnmatch
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.errors import SpecError


class FaultKind(enum.StrEnum):
    SILENT = "silent"  #: nothing sent; with ``drop`` the connection goes too
    NO_FIX = "no_fix"  #: still reporting, RMC status V / GGA quality 0
    POOR_ACCURACY = "poor_accuracy"  #: valid fixes with a high HDOP and few satellites
    CHECKSUM = "checksum"  #: a share of sentences carry a wrong ``*hh``
    GARBAGE = "garbage"  #: lines of binary noise between reports
    OVERLONG = "overlong"  #: a runaway line longer than any sentence
    JUMP = "jump"  #: reported positions off the true track
    SKEW = "skew"  #: the terminal's clock is offset from true time
    STORM = "storm"  #: the connection is dropped and re-made over and over
    # what binary-protocol terminals (JT/T 808, GT06) report in their alarm words; NMEA
    # terminals have no alarm word and report them not at all
    POWER_CUT = "power_cut"  #: main power off
    LOW_VOLTAGE = "low_voltage"  #: supply voltage low
    ANTENNA = "antenna"  #: GNSS antenna disconnected (``short``: short-circuited)
    GNSS_FAULT = "gnss_fault"  #: GNSS module fault
    SOS = "sos"  #: the emergency button


class Level(enum.Enum):
    """Where a fault acts: it tells the terminal and the runner who applies it."""

    CONNECTION = "connection"  # the runner: connect, disconnect, stay quiet
    READING = "reading"  # the receiver's epoch: position, time, validity
    BYTES = "bytes"  # the encoded sentences
    ALARM = "alarm"  # the alarm word of binary protocols


# -- parameter value parsers ---------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)?")
_UNIT_S = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, *, signed: bool = False) -> float:
    """``500ms``, ``30s``, ``2m``, ``1h``, ``1m30s``, ``45`` (seconds) to seconds."""
    raw = text.strip().lower()
    sign = 1.0
    if raw[:1] in "+-" and raw:
        if not signed:
            raise SpecError(f"time {text!r} may not be signed here")
        sign = -1.0 if raw[0] == "-" else 1.0
        raw = raw[1:]
    pos, total = 0, 0.0
    while pos < len(raw):
        m = _DURATION_PART.match(raw, pos)
        if not m or (m.group(2) is None and m.end() != len(raw)):
            raise SpecError(f"bad time {text!r}: expected e.g. 500ms, 30s, 2m, 1h, 1m30s")
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if not raw or not math.isfinite(total):
        raise SpecError(f"bad time {text!r}: expected e.g. 500ms, 30s, 2m, 1h, 1m30s")
    return sign * total


def parse_distance(text: str) -> float:
    """``800m``, ``5km``, ``1200`` (metres) to metres."""
    raw = text.strip().lower()
    scale = 1.0
    if raw.endswith("km"):
        raw, scale = raw[:-2], 1000.0
    elif raw.endswith("m"):
        raw = raw[:-1]
    try:
        value = float(raw) * scale
    except ValueError:
        raise SpecError(f"bad distance {text!r}: expected e.g. 800m or 5km") from None
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"distance {text!r} must be positive")
    return value


def parse_fraction(text: str) -> float:
    """``0.25`` or ``25%`` to 0.25."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise SpecError(f"bad fraction {text!r}: expected 0..1 or a percentage") from None
    if not (0.0 <= value <= 1.0):
        raise SpecError(f"fraction {text!r} must be within 0..1 (or 0%..100%)")
    return value


def _parse_bool(text: str) -> bool:
    raw = text.strip().lower()
    if raw in ("", "1", "yes", "true", "on"):
        return True
    if raw in ("0", "no", "false", "off"):
        return False
    raise SpecError(f"bad flag value {text!r}: expected yes/no")


def _bounded(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text.strip())
        except ValueError:
            raise SpecError(f"bad number {text!r}") from None
        if not (low <= value <= high):
            raise SpecError(f"{text!r} must be within {low:g}..{high:g}")
        return value
    return parse


def _positive_duration(text: str) -> float:
    value = parse_duration(text)
    if value < 0.01:
        raise SpecError(f"{text!r} must be at least 10ms")
    return value


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    parse: Callable[[str], Any]
    default: Any
    flag: bool = False  #: may be given by its bare name


@dataclass(frozen=True, slots=True)
class KindSpec:
    level: Level
    params: tuple[Param, ...]
    rule: str | None  #: the issue-4 health rule this fault is meant to trip
    instant: bool = False  #: without a duration it lasts one report rather than to the end


#: the parameter table: a new fault kind is an entry here plus its effect in the terminal
KINDS: Mapping[FaultKind, KindSpec] = {
    FaultKind.SILENT: KindSpec(Level.CONNECTION, (Param("drop", _parse_bool, False, True),),
                               "offline"),
    FaultKind.NO_FIX: KindSpec(Level.READING, (), "no_fix"),
    FaultKind.POOR_ACCURACY: KindSpec(Level.READING, (
        Param("hdop", _bounded(float, 0.5, 99.9), 8.0),
        Param("sats", _bounded(int, 0, 12), 3),
    ), "poor_accuracy"),
    FaultKind.CHECKSUM: KindSpec(Level.BYTES, (Param("rate", parse_fraction, 0.5),),
                                 "checksum_errors"),
    FaultKind.GARBAGE: KindSpec(Level.BYTES, (
        Param("rate", parse_fraction, 0.5),
        Param("size", _bounded(int, 1, 4096), 48),
    ), None),
    FaultKind.OVERLONG: KindSpec(Level.BYTES, (
        Param("rate", parse_fraction, 0.5),
        Param("length", _bounded(int, 16, 65536), 1024),
    ), None),
    FaultKind.JUMP: KindSpec(Level.READING, (
        Param("distance", parse_distance, 10_000.0),
        Param("keep", _parse_bool, False, True),
    ), "position_jump", instant=True),
    FaultKind.SKEW: KindSpec(Level.READING, (
        Param("offset", lambda t: parse_duration(t, signed=True), 300.0),
    ), "clock_drift"),
    FaultKind.STORM: KindSpec(Level.CONNECTION, (Param("every", _positive_duration, 1.0),),
                              "reconnect_storm"),
    FaultKind.POWER_CUT: KindSpec(Level.ALARM, (), "power_cut"),
    FaultKind.LOW_VOLTAGE: KindSpec(Level.ALARM, (), "low_voltage"),
    FaultKind.ANTENNA: KindSpec(Level.ALARM, (Param("short", _parse_bool, False, True),),
                                "antenna"),
    FaultKind.GNSS_FAULT: KindSpec(Level.ALARM, (), "gnss_fault"),
    FaultKind.SOS: KindSpec(Level.ALARM, (), "sos", instant=True),
}

#: other names accepted for a kind, with the parameters they imply
ALIASES: Mapping[str, tuple[FaultKind, Mapping[str, Any]]] = {
    "offline": (FaultKind.SILENT, {}),
    "clock_drift": (FaultKind.SKEW, {}),
    "reconnect_storm": (FaultKind.STORM, {}),
    "checksum_errors": (FaultKind.CHECKSUM, {}),
    "bad_checksum": (FaultKind.CHECKSUM, {}),
    "position_jump": (FaultKind.JUMP, {}),
    "teleport": (FaultKind.JUMP, {"keep": True}),
    "noise": (FaultKind.GARBAGE, {}),
}


@dataclass(frozen=True, slots=True)
class Target:
    """Which terminals of a fleet a fault applies to."""

    text: str = "*"

    def __post_init__(self) -> None:
        if self.text.endswith("%"):
            parse_fraction(self.text)
        elif not self.text or any(c.isspace() or c in "/@:" for c in self.text):
            raise SpecError(f"bad fault target {self.text!r}: expected *, an id, a glob or N%")

    def matches(self, terminal_id: str, index: int, fleet_size: int) -> bool:
        if self.text == "*":
            return True
        if self.text.endswith("%"):
            return index < math.ceil(fleet_size * parse_fraction(self.text) - 1e-9)
        return fnmatch.fnmatchcase(terminal_id, self.text)


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault. Build with :func:`parse_fault` or directly (keyword arguments)."""

    kind: FaultKind
    start: float = 0.0  #: seconds from the start of the run
    duration: float | None = None  #: None: to the end of the run (one report for instants)
    params: tuple[tuple[str, Any], ...] = ()
    target: Target = field(default_factory=Target)

    def __post_init__(self) -> None:
        spec = KINDS[self.kind]
        given = dict(self.params)
        names = {p.name for p in spec.params}
        unknown = set(given) - names
        if unknown:
            raise SpecError(f"{self.kind}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                            f"known: {', '.join(p.name for p in spec.params) or 'none'}")
        full = tuple((p.name, given.get(p.name, p.default)) for p in spec.params)
        object.__setattr__(self, "params", full)
        if self.start < 0:
            raise SpecError(f"{self.kind}: start must not be negative")
        if self.duration is not None and self.duration <= 0:
            raise SpecError(f"{self.kind}: duration must be positive")

    def param(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def level(self) -> Level:
        return KINDS[self.kind].level

    @property
    def rule(self) -> str | None:
        return KINDS[self.kind].rule

    def end(self, report_interval: float) -> float:
        """When the fault stops (``inf`` when it lasts to the end of the run)."""
        if self.duration is not None:
            return self.start + self.duration
        return self.start + report_interval if KINDS[self.kind].instant else math.inf

    def active(self, t: float, report_interval: float) -> bool:
        return self.start <= t < self.end(report_interval)

    def __str__(self) -> str:
        defaults = {p.name: p.default for p in KINDS[self.kind].params}
        args = ",".join(f"{k}={_fmt(v)}" for k, v in self.params if v != defaults[k])
        out = "" if self.target.text == "*" else f"{self.target.text}/"
        out += self.kind.value + (f":{args}" if args else "")
        if self.start or self.duration is not None:
            out += f"@{_fmt(self.start)}s"
            if self.duration is not None:
                out += f"+{_fmt(self.duration)}s"
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_SPEC = re.compile(
    r"^(?:(?P<target>[^/@:]+)/)?(?P<kind>[A-Za-z_]+)(?::(?P<args>[^@]*))?"
    r"(?:@(?P<start>[^+]*)(?:\+(?P<duration>.*))?)?$"
)


def parse_fault(text: str) -> Fault:
    """Parse one fault spec (see the module docstring); :class:`SpecError` says what is wrong."""
    m = _SPEC.match(text.strip())
    if not m:
        raise SpecError(f"bad fault spec {text!r}: expected [TARGET/]KIND[:ARGS][@START[+DURATION]]"
                        f", e.g. no_fix@30s+60s")
    try:
        return _build(m)
    except SpecError as exc:
        raise SpecError(f"bad fault spec {text!r}: {exc}") from None


def _build(m: re.Match[str]) -> Fault:
    name = m["kind"].lower()
    preset: Mapping[str, Any] = {}
    if name in ALIASES:
        kind, preset = ALIASES[name]
    else:
        try:
            kind = FaultKind(name)
        except ValueError:
            known = ", ".join([k.value for k in FaultKind] + sorted(ALIASES))
            raise SpecError(f"unknown fault kind {name!r} (known: {known})") from None
    spec = KINDS[kind]
    values: dict[str, Any] = dict(preset)
    if m["args"]:
        positional = iter(spec.params)
        for raw in m["args"].split(","):
            raw = raw.strip()
            if not raw:
                raise SpecError("empty parameter")
            key, eq, value = raw.partition("=")
            key = key.strip().lower()
            by_name = {p.name: p for p in spec.params}
            if eq:
                if key not in by_name:
                    raise SpecError(f"{kind} has no parameter {key!r} (has: "
                                    f"{', '.join(by_name) or 'none'})")
                param = by_name[key]
            elif key in by_name and by_name[key].flag:
                param, value = by_name[key], ""
            else:
                free = (p for p in positional if p.name not in values)
                # None ends the loop just below: the param is then known not None
                param = next(free, None)  # type: ignore[assignment]
                if param is None:
                    raise SpecError(f"too many parameters for {kind}")
                value = raw
            if param.name in values and param.name not in preset:
                raise SpecError(f"parameter {param.name!r} given twice")
            values[param.name] = param.parse(value)
    start = parse_duration(m["start"]) if m["start"] else 0.0
    duration = None
    if m["duration"] is not None:
        duration = parse_duration(m["duration"])
        if duration <= 0:
            raise SpecError("duration must be positive")
    target = Target(m["target"].strip()) if m["target"] else Target()
    return Fault(kind, start, duration, tuple(values.items()), target)
