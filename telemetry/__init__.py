"""Time-series storage (positions, terminal status), the batch writer and its spool, queries
and fault rules. Knows no HTTP.

The gateway's sink is :class:`Ingest` (configured by :class:`IngestConfig`); its Prometheus view
is :class:`TelemetryCollector`; reads go through :class:`TelemetryReader`. See docs/storage.md.

Names are imported on first use (PEP 562): the command line reads settings from submodules
without paying for the database drivers behind the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BatchRejected": "telemetry.errors",
    "ConfigError": "telemetry.errors",
    "Ingest": "telemetry.ingest",
    "IngestClosed": "telemetry.errors",
    "IngestConfig": "telemetry.config",
    "PolicyOutcome": "telemetry.timescale",
    "QueryError": "telemetry.errors",
    "SpoolError": "telemetry.errors",
    "SpoolLocked": "telemetry.errors",
    "StorageUnavailable": "telemetry.errors",
    "StoredFix": "telemetry.queries",
    "TelemetryCollector": "telemetry.metrics",
    "TelemetryError": "telemetry.errors",
    "TelemetryReader": "telemetry.queries",
    "TerminalState": "telemetry.queries",
    "UnknownTerminal": "telemetry.queries",
    "apply_policies": "telemetry.timescale",
    "apply_policies_for": "telemetry.timescale",
}

__all__ = [
    "BatchRejected", "ConfigError", "Ingest", "IngestClosed", "IngestConfig", "PolicyOutcome",
    "QueryError", "SpoolError", "SpoolLocked", "StorageUnavailable", "StoredFix",
    "TelemetryCollector", "TelemetryError", "TelemetryReader", "TerminalState", "UnknownTerminal",
    "apply_policies", "apply_policies_for",
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
