"""Prometheus view of a gateway process's health monitor and offline sweep.

Register it where the gateway serves ``/metrics`` (``private_registry(..., stack.collector)``);
it holds no global state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the parts the collector reads; the runner's own modules, no cycle
    from telemetry.health.monitor import HealthMonitor
    from telemetry.health.sweep import OfflineSweeper


class _RunnerCounters(Protocol):
    dropped_events: int
    store_errors: int


class HealthParts(Protocol):
    """What the collector reads of a :class:`~telemetry.health.runner.HealthStack`."""

    @property
    def monitor(self) -> HealthMonitor: ...

    @property
    def runner(self) -> _RunnerCounters: ...

    @property
    def sweeper(self) -> OfflineSweeper | None: ...

PREFIX = "fieldgate_health_"

_COUNTERS = (
    ("batches", "read batches observed"),
    ("records", "records observed"),
    ("ticks", "rule evaluation rounds"),
    ("evaluations", "terminal evaluations (all rules of one terminal)"),
    ("opened", "faults opened by the stream rules of this process"),
    ("cleared", "faults cleared by the stream rules of this process"),
    ("rule_errors", "rule evaluations that raised (counted, logged, skipped)"),
    ("observe_errors", "batches the monitor failed to observe (ingestion went on)"),
)


class HealthCollector(Collector):
    def __init__(self, stack: HealthParts) -> None:
        self._stack = stack

    def describe(self) -> Iterator[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        stats = self._stack.monitor.stats
        for name, doc in _COUNTERS:
            yield CounterMetricFamily(PREFIX + name, doc, value=getattr(stats, name))
        runner = self._stack.runner
        yield GaugeMetricFamily(PREFIX + "pending_events",
                                "fault events waiting to be stored (database away)",
                                value=self._stack.monitor.pending_events)
        yield CounterMetricFamily(PREFIX + "dropped_events",
                                  "fault events dropped past the in-memory limit",
                                  value=runner.dropped_events)
        yield CounterMetricFamily(PREFIX + "store_errors", "failed attempts to store events",
                                  value=runner.store_errors)
        sweeper = self._stack.sweeper
        yield GaugeMetricFamily(PREFIX + "sweep_leader",
                                "1 while this process runs the offline sweep (on PostgreSQL: "
                                "holds its advisory lock)",
                                value=int(sweeper is not None and sweeper.acting))
        yield CounterMetricFamily(PREFIX + "sweeps", "offline sweeps run by this process",
                                  value=sweeper.sweeps if sweeper is not None else 0)
