"""Terminal health: rules on the telemetry stream and on timers, faults with hysteresis, and
an outbox of fault events for the service layer (docs/health.md).

Pure Python, no HTTP. The gateway process runs :class:`HealthStack` (monitor + runner +
offline sweep) and hands the transports ``stack.wrap(ingest)``.

Names are imported on first use (PEP 562): the command line reads settings from submodules
without paying for the database drivers behind the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AntennaThresholds": "telemetry.health.config",
    "GnssFaultThresholds": "telemetry.health.config",
    "LowVoltageThresholds": "telemetry.health.config",
    "PowerCutThresholds": "telemetry.health.config",
    "SosThresholds": "telemetry.health.config",
    "ChecksumErrorThresholds": "telemetry.health.config",
    "ClearReason": "telemetry.health.store",
    "ClockDriftThresholds": "telemetry.health.config",
    "FaultEvent": "telemetry.health.hysteresis",
    "FaultEventKind": "telemetry.health.hysteresis",
    "FaultRow": "telemetry.health.store",
    "FaultState": "telemetry.health.store",
    "FaultStore": "telemetry.health.store",
    "HealthConfig": "telemetry.health.config",
    "HealthConfigError": "telemetry.health.errors",
    "HealthError": "telemetry.health.errors",
    "HealthMonitor": "telemetry.health.monitor",
    "HealthRunner": "telemetry.health.runner",
    "HealthSink": "telemetry.health.sink",
    "HealthStack": "telemetry.health.runner",
    "MonitorStats": "telemetry.health.monitor",
    "NoFixThresholds": "telemetry.health.config",
    "OfflineSweeper": "telemetry.health.sweep",
    "OfflineThresholds": "telemetry.health.config",
    "Phase": "telemetry.health.hysteresis",
    "PoorAccuracyThresholds": "telemetry.health.config",
    "PositionJumpThresholds": "telemetry.health.config",
    "ReconnectStormThresholds": "telemetry.health.config",
    "Rule": "telemetry.health.rules",
    "RuleKind": "telemetry.health.rules",
    "RuleRegistry": "telemetry.health.rules",
    "SWEEP_LOCK_KEY": "telemetry.health.sweep",
    "SweepResult": "telemetry.health.sweep",
    "TerminalHealth": "telemetry.health.terminal",
    "TerminalInfo": "telemetry.health.terminal",
    "Thresholds": "telemetry.health.config",
    "UnknownRuleError": "telemetry.health.errors",
    "Verdict": "telemetry.health.hysteresis",
    "default_registry": "telemetry.health.builtin_rules",
}

__all__ = [
    "SWEEP_LOCK_KEY", "AntennaThresholds", "GnssFaultThresholds", "LowVoltageThresholds",
    "PowerCutThresholds", "SosThresholds", "ChecksumErrorThresholds", "ClearReason",
    "ClockDriftThresholds",
    "FaultEvent", "FaultEventKind", "FaultRow", "FaultState", "FaultStore", "HealthConfig",
    "HealthConfigError", "HealthError", "HealthMonitor", "HealthRunner", "HealthSink",
    "HealthStack", "MonitorStats", "NoFixThresholds", "OfflineSweeper", "OfflineThresholds",
    "Phase", "PoorAccuracyThresholds", "PositionJumpThresholds", "ReconnectStormThresholds",
    "Rule", "RuleKind", "RuleRegistry", "SweepResult", "TerminalHealth", "TerminalInfo",
    "Thresholds", "UnknownRuleError", "Verdict", "default_registry",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
