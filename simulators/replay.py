"""Replay a capture to a transport at its original pace, faster, or as fast as possible.

Two kinds of file are read:

- a raw NMEA capture, as a receiver or ``socat``/``cat /dev/ttyUSB0`` wrote it: any bytes, CR,
  LF or CRLF line ends, junk and binary noise included (replayed byte for byte);
- a Traccar vector file (``/work/shared/vectors/traccar/*.txt`` layout): ``# verify... ; [enc]``
  comment lines each followed by one payload line, decoded from its encoding (``text`` with Java
  escapes, ``text-bytes``, ``hex``); ``http-request`` vectors are skipped and counted.

Pacing comes from the sentences' own times (RMC, GGA, GNS, ZDA field 1; GLL field 5): lines of
the same time form one *burst* (one write, one MQTT message); the wait before a burst is the
time since the previous one divided by ``speed``. Time going backwards by more than half a day is
midnight passing; any other step back (a capture spliced from several sessions) waits nothing;
``max_gap`` caps long pauses. Lines without a time travel with the burst before them.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simulators.clock import Clock
from simulators.errors import CaptureError, TransportError
from simulators.transports.base import Backoff, Link

_DAY_MS = 86_400_000
_VECTOR = re.compile(rb"^# (verify\w*) ; \[([\w-]+)\]")
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|.)")
_TIME_FIELD = {b"RMC": 1, b"GGA": 1, b"GNS": 1, b"ZDA": 1, b"GLL": 5, b"GBS": 1, b"GST": 1}
_PGID = re.compile(rb"\$PGID,([A-Za-z0-9]{1,64})\*")
_SEND_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Burst:
    """Lines sent together."""

    time_ms: int | None  #: time of day of its sentences, None when none carried a time
    data: bytes
    lines: int


@dataclass(frozen=True, slots=True)
class Capture:
    path: str
    bursts: tuple[Burst, ...]
    format: str  #: "raw" or "traccar"
    skipped: int = 0  #: vectors that cannot be replayed (HTTP requests)
    terminal_id: str | None = None  #: from the first ``$PGID`` in the capture, if any

    @property
    def lines(self) -> int:
        return sum(b.lines for b in self.bursts)

    @property
    def bytes(self) -> int:
        return sum(len(b.data) for b in self.bursts)

    def duration(self, *, max_gap: float | None = None) -> float:
        """Seconds the capture lasts at its original pace."""
        return sum(_gaps(self.bursts, max_gap))


def _unescape(raw: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"\\": b"\\", b"0": b"\x00",
                  b'"': b'"', b"'": b"'"}
        if code in simple:
            return simple[code]
        if code[:1] in (b"x", b"u"):
            value = int(code[1:], 16)
            return bytes([value]) if value < 256 else chr(value).encode("utf-8")
        return b"\\" + code
    return _ESCAPE.sub(one, raw)


def _line_time(line: bytes) -> int | None:
    for body in line.split(b"$")[1:]:
        fields = body.split(b"*", 1)[0].split(b",")
        address = fields[0]
        index = _TIME_FIELD.get(address[2:]) if len(address) == 5 else None
        if index is None or len(fields) <= index:
            continue
        raw = fields[index]
        if len(raw) >= 6 and raw[:6].isdigit():
            try:
                h, m, s = int(raw[0:2]), int(raw[2:4]), float(raw[4:])
            except ValueError:
                continue
            if h < 24 and m < 60 and s < 61:
                return (h * 60 + m) * 60000 + round(s * 1000)
    return None


def _split_raw(data: bytes) -> list[bytes]:
    if b"\n" not in data and b"\r" in data:  # CR-only line ends (old receivers)
        parts = data.split(b"\r")
        return [p + b"\r" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _traccar(data: bytes) -> tuple[list[bytes], int]:
    lines = data.split(b"\n")
    out, skipped = [], 0
    for i, line in enumerate(lines):
        m = _VECTOR.match(line)
        if not m or i + 1 >= len(lines):
            continue
        payload = lines[i + 1].rstrip(b"\r")
        encoding = m.group(2)
        if encoding == b"hex":
            try:
                raw = bytes.fromhex(payload.decode("ascii"))
            except ValueError:
                skipped += 1
                continue
        elif encoding in (b"text", b"text-bytes"):
            raw = _unescape(payload)
        else:
            skipped += 1
            continue
        out.append(raw if raw.endswith(b"\n") else raw + b"\r\n")
    return out, skipped


def load_capture(path: str | Path) -> Capture:
    """Read a capture file (format detected from its content)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CaptureError(f"cannot read capture {p}: {exc.strerror or exc}") from exc
    if any(_VECTOR.match(line) for line in data.split(b"\n", 200)[:200]):
        lines, skipped = _traccar(data)
        kind = "traccar"
    else:
        lines, skipped, kind = _split_raw(data), 0, "raw"
    if not lines:
        raise CaptureError(f"capture {p} holds nothing to replay")
    bursts: list[Burst] = []
    current: list[bytes] = []
    current_t: int | None = None
    for line in lines:
        t = _line_time(line)
        if t is not None and current and t != current_t and current_t is not None:
            bursts.append(Burst(current_t, b"".join(current), len(current)))
            current = []
        if t is not None:
            current_t = t
        current.append(line)
    if current:
        bursts.append(Burst(current_t, b"".join(current), len(current)))
    m = _PGID.search(data)
    return Capture(str(p), tuple(bursts), kind, skipped, m.group(1).decode() if m else None)


def _gaps(bursts: Sequence[Burst], max_gap: float | None) -> list[float]:
    """Seconds to wait before each burst at original pace."""
    out, prev = [], None
    for b in bursts:
        gap = 0.0
        if b.time_ms is not None:
            if prev is not None:
                diff = b.time_ms - prev
                if diff < -_DAY_MS // 2:
                    diff += _DAY_MS  # midnight
                gap = max(0, diff) / 1000
                if max_gap is not None:
                    gap = min(gap, max_gap)
            prev = b.time_ms
        out.append(gap)
    return out


@dataclass(slots=True)
class ReplayStats:
    bursts: int = 0
    lines: int = 0
    bytes: int = 0
    reconnects: int = 0
    elapsed: float = 0.0  #: simulated seconds from the first burst to the last
    sent_at: list[float] = field(default_factory=list)  #: clock time of each burst


async def replay(capture: Capture, link: Link, *, clock: Clock, speed: float = 1.0,
                 max_gap: float | None = None, backoff: Backoff | None = None) -> ReplayStats:
    """Send ``capture`` over ``link`` (opened here if needed; left open).

    ``speed``: 1 original pace, N N times faster, ``math.inf`` (or 0) as fast as possible.
    A link that fails is reopened (with backoff) and the burst resent, a few times at most.
    """
    if speed < 0 or math.isnan(speed):
        raise ValueError("speed must be positive (0 or inf: as fast as possible)")
    fast = speed == 0 or math.isinf(speed)
    backoff = backoff or Backoff(initial=0.2, maximum=2.0)
    stats = ReplayStats()
    if not link.is_open:
        await link.open()
    t = clock.elapsed()
    first = None
    for burst, gap in zip(capture.bursts, _gaps(capture.bursts, max_gap), strict=True):
        if not fast and gap > 0:
            t += gap / speed
            await clock.sleep_until(t)
        await _send(link, burst.data, stats, clock, backoff)
        now = clock.elapsed()
        first = now if first is None else first
        stats.sent_at.append(now)
        stats.bursts += 1
        stats.lines += burst.lines
        stats.bytes += len(burst.data)
    stats.elapsed = 0.0 if first is None else clock.elapsed() - first
    return stats


async def _send(link: Link, data: bytes, stats: ReplayStats, clock: Clock,
                backoff: Backoff) -> None:
    rng = random.Random(0)
    for attempt in range(1, _SEND_ATTEMPTS + 1):
        try:
            if not link.is_open:
                await link.open()
                stats.reconnects += 1
            await link.send(data)
            return
        except TransportError:
            if attempt == _SEND_ATTEMPTS:
                raise
            await link.close()
            await clock.sleep_until(clock.elapsed() + backoff.delay(attempt, rng))
