"""Rules on what terminals say about themselves: the alarm words of binary protocols.

JT/T 808 and GT06 terminals report power cuts, low supply voltage, GNSS antenna and module
faults and the SOS button in their alarm and status words; the decoders put them on the records
as a :class:`~devices.status.DeviceStatus` (named :class:`~devices.status.Alarm` flags, no
protocol bit numbers). The monitor folds the statuses of each evaluation window into
:class:`~telemetry.health.terminal.TerminalHealth` (``w_status``, ``w_alarms``, the newest
``status``); each rule here is bad for a window in which a status carried one of its alarms
(a GT06 alarm packet is one report, a JT/T 808 alarm bit stays set while the condition holds:
both count), good for a window whose statuses did not, and learns nothing from a window
without statuses (plain NMEA terminals, silence: the offline rule's business). Hysteresis and
one ticket per terminal are the engine's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from devices.status import Alarm
from telemetry.health.config import (
    AntennaThresholds,
    GnssFaultThresholds,
    LowVoltageThresholds,
    PowerCutThresholds,
    SosThresholds,
)
from telemetry.health.hysteresis import GOOD, Verdict
from telemetry.health.rules import Rule
from telemetry.health.terminal import TerminalHealth, iso


class AlarmRule(Rule):
    """Bad while the window's newest terminal status carries one of :attr:`alarms`."""

    alarms: ClassVar[frozenset[Alarm]]

    def evaluate(self, terminal: TerminalHealth, thresholds: Any, memory: Any,
                 now: float) -> Verdict | None:
        if not terminal.w_status:
            return None
        present = terminal.w_alarms & self.alarms
        if not present:
            return GOOD
        status = terminal.status
        since = min((terminal.alarm_since[a] for a in present if a in terminal.alarm_since),
                    default=None)
        evidence: dict[str, Any] = {
            "alarms": sorted(present),
            "reported_since": iso(since),
            "reports_in_window": terminal.w_status,
        }
        if status is not None:
            for name in ("acc", "power_v", "battery_v", "battery_pct", "signal"):
                value = getattr(status, name)
                if value is not None:
                    evidence[name] = value
        return Verdict(True, since, evidence)


class PowerCutRule(AlarmRule):
    name = "power_cut"
    thresholds_type = PowerCutThresholds
    alarms = frozenset({Alarm.POWER_CUT})
    summary = "the terminal reports its main power off (wiring cut, fuse blown, removed)"


class LowVoltageRule(AlarmRule):
    name = "low_voltage"
    thresholds_type = LowVoltageThresholds
    alarms = frozenset({Alarm.LOW_VOLTAGE})
    summary = "the terminal reports its supply voltage low"


class AntennaRule(AlarmRule):
    name = "antenna"
    thresholds_type = AntennaThresholds
    alarms = frozenset({Alarm.ANTENNA_OPEN, Alarm.ANTENNA_SHORT})
    summary = "the terminal reports its GNSS antenna disconnected or short-circuited"


class GnssFaultRule(AlarmRule):
    name = "gnss_fault"
    thresholds_type = GnssFaultThresholds
    alarms = frozenset({Alarm.GNSS_FAULT})
    summary = "the terminal reports a GNSS module fault"


class SosRule(AlarmRule):
    name = "sos"
    thresholds_type = SosThresholds
    alarms = frozenset({Alarm.SOS})
    summary = "the SOS (emergency) button was pressed: an urgent ticket"


ALARM_RULES: tuple[type[Rule], ...] = (PowerCutRule, LowVoltageRule, AntennaRule, GnssFaultRule,
                                       SosRule)
