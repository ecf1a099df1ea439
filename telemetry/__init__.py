"""Time-series storage (positions, terminal status), the batch writer and its spool, queries
and fault rules. Knows no HTTP.

The gateway's sink is :class:`Ingest` (configured by :class:`IngestConfig`); its Prometheus view
is :class:`TelemetryCollector`; reads go through :class:`TelemetryReader`. See docs/storage.md.
"""

from telemetry.config import IngestConfig
from telemetry.errors import (
    BatchRejected,
    ConfigError,
    IngestClosed,
    QueryError,
    SpoolError,
    SpoolLocked,
    StorageUnavailable,
    TelemetryError,
)
from telemetry.ingest import Ingest
from telemetry.metrics import TelemetryCollector
from telemetry.queries import StoredFix, TelemetryReader, TerminalState, UnknownTerminal
from telemetry.timescale import PolicyOutcome, apply_policies, apply_policies_for

__all__ = [
    "BatchRejected", "ConfigError", "Ingest", "IngestClosed", "IngestConfig", "PolicyOutcome",
    "QueryError", "SpoolError", "SpoolLocked", "StorageUnavailable", "StoredFix",
    "TelemetryCollector", "TelemetryError", "TelemetryReader", "TerminalState", "UnknownTerminal",
    "apply_policies", "apply_policies_for",
]
