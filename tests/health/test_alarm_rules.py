"""Status words are health: the alarm rules on a fake clock, fed the records the JT/T 808 and
GT06 decoders make (fixes and status reports carrying a DeviceStatus)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from devices.records import StatusReport
from devices.status import Alarm, DeviceStatus
from telemetry.health import (
    AntennaThresholds,
    FaultEventKind,
    GnssFaultThresholds,
    HealthConfig,
    HealthMonitor,
    LowVoltageThresholds,
    PowerCutThresholds,
    SosThresholds,
)
from tests.health.streams import Clock, Drive, session
from tests.health.test_monitor import run

TID = "13912345678"


def status(*alarms: Alarm, **fields: object) -> DeviceStatus:
    return DeviceStatus(alarms=frozenset(alarms), acc=True, **fields)  # type: ignore[arg-type]


def monitor(clock: Clock, **rules: object) -> HealthMonitor:
    return HealthMonitor(config=HealthConfig(rules=rules, tick_s=1.0), clock=clock)


@pytest.mark.parametrize(("rule", "alarm", "thresholds"), [
    ("power_cut", Alarm.POWER_CUT, PowerCutThresholds(open_after_s=0, clear_after_s=20)),
    ("low_voltage", Alarm.LOW_VOLTAGE, LowVoltageThresholds(open_after_s=10, clear_after_s=20)),
    ("antenna", Alarm.ANTENNA_OPEN, AntennaThresholds(open_after_s=10, clear_after_s=20)),
    ("antenna", Alarm.ANTENNA_SHORT, AntennaThresholds(open_after_s=10, clear_after_s=20)),
    ("gnss_fault", Alarm.GNSS_FAULT, GnssFaultThresholds(open_after_s=10, clear_after_s=20)),
    ("sos", Alarm.SOS, SosThresholds(open_after_s=0, clear_after_s=20)),
])
def test_each_alarm_opens_its_own_fault_after_its_delay_and_clears_with_hysteresis(
        rule: str, alarm: Alarm, thresholds: object) -> None:
    clock = Clock()
    m = monitor(clock, **{rule: thresholds})
    s = session(TID, clock, "jt808")
    car = Drive(clock)
    alarmed = status(alarm, power_v=11.2)
    opened_at = clock.now
    events = run(m, clock, 30, lambda: m.observe(s, [car.fix(status=alarmed)]))
    assert [(e.rule, e.kind) for e in events] == [(rule, FaultEventKind.OPENED)]
    opened = events[0]
    delay = opened.at.timestamp() - opened_at
    assert thresholds.open_after_s <= delay <= thresholds.open_after_s + 2  # type: ignore[attr-defined]
    observed = opened.evidence["observed"]
    assert observed["alarms"] == [str(alarm)] and observed["power_v"] == 11.2
    assert observed["acc"] is True
    # other alarm rules stay quiet; the alarm gone, the fault clears after clear_after_s
    events = run(m, clock, 40, lambda: m.observe(s, [car.fix(status=status())]))
    assert [(e.rule, e.kind) for e in events] == [(rule, FaultEventKind.CLEARED)]


def test_one_report_of_an_event_alarm_opens_at_once() -> None:
    # a GT06 alarm packet is one report; the following statuses no longer carry it
    clock = Clock()
    m = monitor(clock)
    s = session(TID, clock, "jt808")
    car = Drive(clock)
    clock.advance(1)
    m.observe(s, [car.fix(status=status(Alarm.SOS)),
                  StatusReport(None, TID, status())])
    events = m.tick()
    assert [(e.rule, e.kind) for e in events] == [("sos", FaultEventKind.OPENED)]


def test_status_reports_without_a_position_are_enough() -> None:
    clock = Clock()
    m = monitor(clock, power_cut=PowerCutThresholds(open_after_s=5))
    s = session(TID, clock, "jt808")
    report = StatusReport(None, TID, status(Alarm.POWER_CUT, battery_v=3.9))
    events = run(m, clock, 10, lambda: m.observe(s, [report]))
    assert [(e.rule, e.kind) for e in events] == [("power_cut", FaultEventKind.OPENED)]
    assert events[0].evidence["observed"]["battery_v"] == 3.9


def test_nmea_fixes_and_silence_decide_nothing() -> None:
    clock = Clock()
    m = monitor(clock, power_cut=PowerCutThresholds(open_after_s=0, clear_after_s=1))
    s = session(TID, clock, "jt808")
    car = Drive(clock)
    assert run(m, clock, 5, lambda: m.observe(s, [car.fix(status=status(Alarm.POWER_CUT))]))
    # plain NMEA fixes (no status) neither clear nor re-open it: the rule learns nothing
    assert run(m, clock, 30, lambda: m.observe(s, [car.fix()])) == []
    assert run(m, clock, 30) == []
    assert m.open_faults() == {TID: ["power_cut"]}


def test_alarms_of_a_status_that_are_not_health_open_nothing() -> None:
    clock = Clock()
    m = monitor(clock)
    s = session(TID, clock, "jt808")
    car = Drive(clock)
    noisy = status(Alarm.VIBRATION, Alarm.OVERSPEED, Alarm.GEOFENCE_OUT)
    assert run(m, clock, 60, lambda: m.observe(s, [car.fix(status=noisy)])) == []


def test_since_is_when_the_alarm_was_first_reported() -> None:
    clock = Clock()
    m = monitor(clock, low_voltage=LowVoltageThresholds(open_after_s=10, clear_after_s=5))
    s = session(TID, clock, "jt808")
    car = Drive(clock)
    first = clock.now + 1
    events = run(m, clock, 20, lambda: m.observe(s, [car.fix(
        status=replace(status(Alarm.LOW_VOLTAGE), power_v=10.1))]))
    [opened] = events
    since = opened.evidence["observed"]["reported_since"]
    assert datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() == first
