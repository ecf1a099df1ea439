"""What a terminal says about itself besides its position: alarms, ignition, power, counters.

Binary protocols (JT/T 808, GT06) send an alarm word and a status word with every location;
they travel on the record as a :class:`DeviceStatus` so that health rules read typed flags and
never a protocol's bit numbers. Plain NMEA carries none (``status`` is None).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Alarm(enum.StrEnum):
    """Alarm conditions, named once for every protocol (the wire bit tables map onto these)."""

    SOS = "sos"  #: emergency button
    OVERSPEED = "overspeed"
    FATIGUE = "fatigue"  #: fatigue driving
    DANGER = "danger"  #: danger warning (JT/T 808 bit 3)
    GNSS_FAULT = "gnss_fault"  #: GNSS module fault
    ANTENNA_OPEN = "antenna_open"  #: GNSS antenna disconnected
    ANTENNA_SHORT = "antenna_short"  #: GNSS antenna short-circuited
    LOW_VOLTAGE = "low_voltage"  #: main power under voltage
    POWER_CUT = "power_cut"  #: main power off (wiring cut, fuse blown, terminal removed)
    LCD_FAULT = "lcd_fault"
    TTS_FAULT = "tts_fault"
    CAMERA_FAULT = "camera_fault"
    IC_CARD_FAULT = "ic_card_fault"
    OVERSPEED_WARNING = "overspeed_warning"
    FATIGUE_WARNING = "fatigue_warning"
    DRIVING_VIOLATION = "driving_violation"
    TIRE_PRESSURE = "tire_pressure"
    BLIND_SPOT = "blind_spot"
    DRIVING_OVERTIME = "driving_overtime"  #: cumulative driving time of the day exceeded
    PARKING_OVERTIME = "parking_overtime"
    AREA = "area"  #: entering or leaving an area
    ROUTE = "route"  #: entering or leaving a route
    ROUTE_TIME = "route_time"  #: route section driving time too short or too long
    ROUTE_DEVIATION = "route_deviation"
    VSS_FAULT = "vss_fault"  #: vehicle speed sensor
    FUEL = "fuel"  #: abnormal fuel level change
    STOLEN = "stolen"
    ILLEGAL_IGNITION = "illegal_ignition"
    ILLEGAL_MOVEMENT = "illegal_movement"
    COLLISION = "collision"
    ROLLOVER = "rollover"
    ILLEGAL_DOOR = "illegal_door"
    VIBRATION = "vibration"
    LOW_BATTERY = "low_battery"  #: the terminal's own backup battery
    GEOFENCE_IN = "geofence_in"
    GEOFENCE_OUT = "geofence_out"
    REMOVAL = "removal"  #: the terminal was taken off its mount
    UNKNOWN = "unknown"  #: an alarm code the table does not name (kept in ``attributes``)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The alarm and status words of one report, decoded. Fields a report did not carry are
    None; ``attributes`` keeps what has no field here (protocol items, raw hex), JSON-ready."""

    alarms: frozenset[Alarm] = frozenset()
    acc: bool | None = None  #: ignition on
    power_v: float | None = None  #: vehicle (main) power, volts
    battery_v: float | None = None  #: the terminal's backup battery, volts
    battery_pct: int | None = None
    mileage_km: float | None = None  #: odometer
    fuel_l: float | None = None
    signal: int | None = None  #: mobile network signal strength as the terminal reports it
    charging: bool | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.alarms:
            out["alarms"] = sorted(self.alarms)
        for name in ("acc", "power_v", "battery_v", "battery_pct", "mileage_km", "fuel_l",
                     "signal", "charging"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        return out
