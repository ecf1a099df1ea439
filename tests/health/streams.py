"""Small builders for health tests: a settable clock, sessions and record streams."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from devices.records import Fix, NoFix
from gateway.sink import SessionInfo, Transport


class Clock:
    """Wall-clock seconds that only move when told (the monitor's ``clock``)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def session(terminal_id: str, clock: Clock, transport: Transport = Transport.TCP) -> SessionInfo:
    return SessionInfo(terminal_id=terminal_id, transport=transport, remote="127.0.0.1:40000",
                       connected_at=datetime.fromtimestamp(clock.now, UTC))


class Drive:
    """A vehicle driving east at ``speed_kmh``: consecutive fixes at the clock's time."""

    def __init__(self, clock: Clock, *, lat: float = 48.85, lon: float = 2.35,
                 speed_kmh: float = 50.0, hdop: float = 0.9, sats: int = 9,
                 skew_s: float = 0.0) -> None:
        self.clock = clock
        self.lat, self.lon = lat, lon
        self.speed_kmh = speed_kmh
        self.hdop, self.sats = hdop, sats
        self.skew_s = skew_s
        self._last: float | None = None

    def fix(self, **changes: object) -> Fix:
        now = self.clock.now
        if self._last is not None:
            metres = self.speed_kmh / 3.6 * (now - self._last)
            self.lon += metres / (111_195.0 * math.cos(math.radians(self.lat)))
        self._last = now
        values = {"time": datetime.fromtimestamp(now + self.skew_s, UTC), "lat": self.lat,
                  "lon": self.lon, "speed_kn": self.speed_kmh / 1.852, "sats": self.sats,
                  "hdop": self.hdop, "fix_quality": 1}
        values.update(changes)
        return Fix(**values)

    def no_fix(self) -> NoFix:
        return NoFix(time=datetime.fromtimestamp(self.clock.now + self.skew_s, UTC), sats=0)
