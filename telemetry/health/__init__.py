"""Terminal health: rules on the telemetry stream and on timers, faults with hysteresis, and
an outbox of fault events for the service layer (docs/health.md).

Pure Python, no HTTP. The gateway process runs :class:`HealthStack` (monitor + runner +
offline sweep) and hands the transports ``stack.wrap(ingest)``.
"""

from telemetry.health.config import (
    ChecksumErrorThresholds,
    ClockDriftThresholds,
    HealthConfig,
    NoFixThresholds,
    OfflineThresholds,
    PoorAccuracyThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
    Thresholds,
)
from telemetry.health.errors import HealthConfigError, HealthError, UnknownRuleError
from telemetry.health.hysteresis import FaultEvent, FaultEventKind, Phase, Verdict
from telemetry.health.monitor import HealthMonitor, MonitorStats
from telemetry.health.rules import Rule, RuleKind, RuleRegistry, default_registry
from telemetry.health.runner import HealthRunner, HealthStack
from telemetry.health.sink import HealthSink
from telemetry.health.store import ClearReason, FaultRow, FaultState, FaultStore
from telemetry.health.sweep import SWEEP_LOCK_KEY, OfflineSweeper, SweepResult
from telemetry.health.terminal import TerminalHealth, TerminalInfo

__all__ = [
    "SWEEP_LOCK_KEY", "ChecksumErrorThresholds", "ClearReason", "ClockDriftThresholds",
    "FaultEvent", "FaultEventKind", "FaultRow", "FaultState", "FaultStore", "HealthConfig",
    "HealthConfigError", "HealthError", "HealthMonitor", "HealthRunner", "HealthSink",
    "HealthStack", "MonitorStats", "NoFixThresholds", "OfflineSweeper", "OfflineThresholds",
    "Phase", "PoorAccuracyThresholds", "PositionJumpThresholds", "ReconnectStormThresholds",
    "Rule", "RuleKind", "RuleRegistry", "SweepResult", "TerminalHealth", "TerminalInfo",
    "Thresholds", "UnknownRuleError", "Verdict", "default_registry",
]
