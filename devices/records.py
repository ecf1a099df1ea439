"""Typed records that decoders produce and the rest of the system consumes.

One record per navigation epoch: a :class:`Fix` when the receiver reported a valid position,
a :class:`NoFix` when it reported an epoch without one (RMC status ``V``, GGA quality 0, GSA mode
1); and a :class:`StatusReport` when a binary protocol reports the terminal's state without a
position. Immutable and slotted: millions of them pass through the gateway every minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.status import DeviceStatus


@dataclass(frozen=True, slots=True)
class Fix:
    """A valid position for one navigation epoch (all sentences of that epoch merged)."""

    time: datetime  #: UTC, timezone-aware
    lat: float  #: decimal degrees, north positive
    lon: float  #: decimal degrees, east positive
    speed_kn: float | None = None
    course: float | None = None  #: degrees true
    alt_m: float | None = None  #: above mean sea level (GGA)
    sats: int | None = None  #: satellites used
    hdop: float | None = None
    fix_quality: int | None = None  #: GGA quality: 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR
    mode: int | None = None  #: GSA mode: 2 = 2D, 3 = 3D
    terminal: str | None = None  #: terminal id announced on the stream ($PGID), if any
    #: alarm and status words of binary protocols (JT/T 808, GT06); None for NMEA
    status: DeviceStatus | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``fieldgate decode`` form: ISO 8601 UTC time, unknown fields left out."""
        spec = "milliseconds" if self.time.microsecond else "seconds"  # receivers stop at ms
        out: dict[str, Any] = {
            "time": self.time.isoformat(timespec=spec).replace("+00:00", "Z"),
            "lat": self.lat,
            "lon": self.lon,
        }
        for name in ("speed_kn", "course", "alt_m", "sats", "hdop", "fix_quality", "mode",
                     "terminal"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.status is not None:
            out["status"] = self.status.as_json()
        return out


@dataclass(frozen=True, slots=True)
class NoFix:
    """An epoch in which the receiver reported but had no valid position."""

    time: datetime | None  #: None when no date is known yet (a GGA-only stream before any RMC)
    sats: int | None = None
    terminal: str | None = None
    status: DeviceStatus | None = None  #: as on :class:`Fix`: an alarm may come without a fix


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A report of the terminal's state without a position (GT06 status and heartbeat
    packets): alarms, ignition, power. Not stored as a position; read by the health rules and
    counted as the terminal being heard from."""

    time: datetime | None  #: None when the report carries no time (the receive time applies)
    terminal: str | None
    status: DeviceStatus


Record = Fix | NoFix | StatusReport
