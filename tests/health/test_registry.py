"""The rule set is open: a protocol with status words adds rules without touching the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from telemetry.health import (
    HealthConfig,
    HealthConfigError,
    HealthMonitor,
    NoFixThresholds,
    PoorAccuracyThresholds,
    Rule,
    RuleRegistry,
    Thresholds,
    UnknownRuleError,
    Verdict,
    default_registry,
)
from telemetry.health.terminal import TerminalHealth
from tests.health.streams import Clock, Drive, session


@dataclass(frozen=True, slots=True)
class StatusWord:
    """What a binary protocol (JT/T 808 location report) would decode: alarm and status bits
    plus the supply voltage."""

    time: datetime
    supply_mv: int
    power_cut: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SupplyVoltageThresholds(Thresholds):
    open_after_s: float = 30.0
    clear_after_s: float = 30.0
    min_supply_mv: int = 11_000


class _Supply:
    __slots__ = ("lowest_mv", "seen")

    def __init__(self) -> None:
        self.lowest_mv: int | None = None
        self.seen = 0


class SupplyVoltageRule(Rule):
    name = "supply_voltage"
    thresholds_type = SupplyVoltageThresholds
    record_types = (StatusWord,)
    summary = "supply voltage below the minimum (status word)"

    def new_memory(self) -> _Supply:
        return _Supply()

    def observe(self, memory: _Supply, record: StatusWord, now: float,
                terminal: TerminalHealth) -> None:
        memory.seen += 1
        if memory.lowest_mv is None or record.supply_mv < memory.lowest_mv:
            memory.lowest_mv = record.supply_mv

    def evaluate(self, terminal: TerminalHealth, thresholds: SupplyVoltageThresholds,
                 memory: _Supply, now: float) -> Verdict | None:
        if memory.lowest_mv is None:
            return None
        lowest, memory.lowest_mv = memory.lowest_mv, None
        return Verdict(lowest < thresholds.min_supply_mv, None,
                       {"lowest_supply_mv": lowest, "status_words": memory.seen})


def test_a_registered_status_word_rule_opens_and_clears_through_the_same_engine() -> None:
    registry = default_registry()
    registry.register(SupplyVoltageRule())
    clock = Clock()
    config = HealthConfig(rules={"supply_voltage": SupplyVoltageThresholds(open_after_s=10,
                                                                      clear_after_s=5)})
    monitor = HealthMonitor(config=config, registry=registry, clock=clock)
    s = session("JT808-1", clock)
    car = Drive(clock)
    events = []
    for volts in [12_400] * 5 + [10_100] * 12 + [12_300] * 8:
        clock.advance(1)
        now = datetime.fromtimestamp(clock.now, UTC)
        monitor.observe(s, [car.fix(), StatusWord(time=now, supply_mv=volts)])
        events += monitor.tick()
    assert [(e.rule, str(e.kind)) for e in events] == [("supply_voltage", "opened"),
                                                       ("supply_voltage", "cleared")]
    assert events[0].evidence["observed"]["lowest_supply_mv"] == 10_100
    assert events[0].evidence["thresholds"]["min_supply_mv"] == 11_000


def test_the_default_registry_is_fresh_each_time() -> None:
    registry = default_registry()
    registry.register(SupplyVoltageRule())
    assert "supply_voltage" in registry
    assert "supply_voltage" not in default_registry()


def test_duplicate_and_nameless_rules_are_refused() -> None:
    registry = default_registry()
    with pytest.raises(HealthConfigError, match="already registered"):
        registry.register(default_registry().get("no_fix"))

    class Nameless(Rule):
        pass

    with pytest.raises(HealthConfigError, match="identifier"):
        RuleRegistry([Nameless()])


def test_thresholds_for_an_unknown_rule_fail_at_startup() -> None:
    with pytest.raises(UnknownRuleError, match="unknown health rule 'supply_voltage'"):
        HealthMonitor(config=HealthConfig(rules={"supply_voltage": SupplyVoltageThresholds()}))
    with pytest.raises(UnknownRuleError):
        HealthMonitor(config=HealthConfig(models={"T55": {"nope": {"x": 1}}}))


def test_thresholds_of_the_wrong_type_or_unknown_fields_fail_at_startup() -> None:
    with pytest.raises(HealthConfigError, match="must be NoFixThresholds"):
        HealthMonitor(config=HealthConfig(rules={"no_fix": PoorAccuracyThresholds()}))
    with pytest.raises(HealthConfigError, match="unknown threshold.*max_hdp"):
        HealthMonitor(config=HealthConfig(models={"T55": {"poor_accuracy": {"max_hdp": 3}}}))


@pytest.mark.parametrize("bad", [
    {"open_after_s": -1}, {"clear_after_s": float("nan")}, {"open_after_s": float("inf")},
])
def test_negative_or_non_finite_thresholds_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(HealthConfigError):
        NoFixThresholds(**bad)


def test_ratios_above_one_are_refused() -> None:
    with pytest.raises(HealthConfigError, match="min_poor_ratio"):
        PoorAccuracyThresholds(min_poor_ratio=1.5)


def test_describe_lists_every_rule_with_its_defaults() -> None:
    described = {d["name"]: d for d in default_registry().describe()}
    assert set(described) == {"offline", "no_fix", "poor_accuracy", "position_jump",
                              "clock_drift", "reconnect_storm", "checksum_errors",
                              "power_cut", "low_voltage", "antenna", "gnss_fault", "sos"}
    assert described["sos"]["defaults"]["open_after_s"] == 0.0
    assert described["offline"]["kind"] == "sweep"
    assert described["no_fix"]["defaults"]["open_after_s"] == 300.0
