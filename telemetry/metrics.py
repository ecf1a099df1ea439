"""Counters of the ingest pipeline and their Prometheus view.

The hot path only adds to plain ints (no locks, no label lookups); the :class:`TelemetryCollector`
turns them into metric families when ``/metrics`` is scraped. It is an object, not global
registry state: whoever serves ``/metrics`` registers it in its own ``CollectorRegistry``::

    registry.register(TelemetryCollector(ingest))
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector


class IngestView(Protocol):
    """What the collector reads of a :class:`~telemetry.ingest.Ingest`."""

    @property
    def metrics(self) -> IngestMetrics: ...

    def spool_depth(self) -> Any: ...

    def spool_corrupt_regions(self) -> int: ...

    @property
    def pending_rows(self) -> int: ...

    @property
    def database_up(self) -> bool: ...

    @property
    def registered_terminals(self) -> int: ...

PREFIX = "fieldgate_telemetry_"
ROW_BUCKETS = (1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0, 60.0, 300.0)


class Histogram:
    """A fixed-bucket histogram fed with (value, count) pairs: weighted observations let one
    call record many fixes that share a latency."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # last: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, n: int = 1) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += n
        self.sum += value * n
        self.count += n

    def quantile(self, q: float) -> float:
        """Upper bound of the bucket holding the q-quantile (inf when beyond the last)."""
        if not self.count:
            return 0.0
        rank = q * self.count
        seen = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            seen += n
            if seen >= rank:
                return bound
        return float("inf")

    def buckets(self) -> list[tuple[str, int]]:
        out = []
        seen = 0
        # the finite buckets; the last count (+Inf) is added after the loop
        for bound, n in zip(self.bounds, self.counts, strict=False):
            seen += n
            out.append((repr(float(bound)), seen))
        out.append(("+Inf", self.count))
        return out


@dataclass(slots=True)
class IngestMetrics:
    """Plain counters; the ingest increments them, the collector reads them."""

    records_received: int = 0
    fixes_received: int = 0
    fixes_stored: int = 0
    duplicates_ignored: int = 0
    batches_written: int = 0
    batches_spooled: int = 0
    batches_replayed: int = 0
    batches_already_applied: int = 0  #: replayed batches found in the ledger (committed before)
    batches_quarantined: int = 0
    unknown_terminal_fixes: int = 0
    unknown_terminal_records: int = 0
    auto_registered: int = 0
    rejected_rows: dict[str, int] = field(default_factory=dict)  #: by reason
    fields_nulled: int = 0
    db_errors: int = 0
    spool_errors: int = 0
    registry_refreshes: int = 0
    registry_lookups: int = 0  #: batches that had to ask the database about unknown ids
    registry_refresh_errors: int = 0
    publish_waits: int = 0
    publish_wait_seconds: float = 0.0
    batch_rows: Histogram = field(default_factory=lambda: Histogram(ROW_BUCKETS))
    commit_seconds: Histogram = field(default_factory=lambda: Histogram(SECONDS_BUCKETS))
    receive_to_commit_seconds: Histogram = field(
        default_factory=lambda: Histogram(SECONDS_BUCKETS))

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected_rows[reason] = self.rejected_rows.get(reason, 0) + n


_COUNTERS = (
    ("records_received", "records (epochs) handed to publish()"),
    ("fixes_received", "fixes handed to publish()"),
    ("fixes_stored", "fixes committed to positions"),
    ("duplicates_ignored",
     "fixes already in positions (same terminal and fix time), not stored again"),
    ("batches_written", "batches committed"),
    ("batches_spooled", "batches written to the on-disk spool because the database was away"),
    ("batches_replayed", "batches committed from the spool"),
    ("batches_already_applied", "spooled batches found already committed (ledger) on replay"),
    ("batches_quarantined", "batches the database refused repeatedly, kept in spool quarantine"),
    ("unknown_terminal_fixes", "fixes from unregistered terminals (not stored as positions)"),
    ("unknown_terminal_records", "records from unregistered terminals"),
    ("auto_registered", "terminals registered automatically"),
    ("fields_nulled", "optional fix fields stored as NULL because they were not representable"),
    ("db_errors", "failed database operations (writes, registry loads)"),
    ("spool_errors", "failed spool operations"),
    ("registry_refreshes", "full reloads of the terminal registry"),
    ("registry_lookups", "batches that asked the database about not-yet-known terminal ids"),
    ("registry_refresh_errors", "failed reloads of the terminal registry"),
    ("publish_waits", "publish() calls that waited for room (backpressure)"),
    ("publish_wait_seconds", "time publish() spent waiting for room"),
)


class TelemetryCollector(Collector):
    """Prometheus view of one :class:`~telemetry.ingest.Ingest`."""

    def __init__(self, ingest: IngestView) -> None:
        self._ingest = ingest

    def describe(self) -> Iterator[Metric]:
        # the families are fixed: describing them lets the registry check for name clashes
        # without calling collect()
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        m = self._ingest.metrics
        for name, doc in _COUNTERS:
            yield CounterMetricFamily(PREFIX + name, doc, value=getattr(m, name))
        rejected = CounterMetricFamily(PREFIX + "rejected_rows",
                                       "fixes not stored because they were invalid",
                                       labels=["reason"])
        for reason, n in sorted(m.rejected_rows.items()):
            rejected.add_metric([reason], n)
        yield rejected
        for hist, name, doc in (
            (m.batch_rows, "batch_rows", "fixes per written batch"),
            (m.commit_seconds, "commit_seconds", "time to write and commit one batch"),
            (m.receive_to_commit_seconds, "receive_to_commit_seconds",
             "per fix: from publish() (the gateway's read) to the commit that stored it"),
        ):
            yield HistogramMetricFamily(PREFIX + name, doc, buckets=hist.buckets(),
                                        sum_value=hist.sum)
        spool = self._ingest.spool_depth()
        yield GaugeMetricFamily(PREFIX + "spool_bytes", "bytes of batches waiting in the spool",
                                value=spool[1])
        yield GaugeMetricFamily(PREFIX + "spool_batches", "batches waiting in the spool",
                                value=spool[0])
        yield CounterMetricFamily(PREFIX + "spool_corrupt_regions",
                                  "corrupt or truncated spool regions found (good batches kept)",
                                  value=self._ingest.spool_corrupt_regions())
        yield GaugeMetricFamily(PREFIX + "queue_rows", "fixes held in memory, not yet written",
                                value=self._ingest.pending_rows)
        yield GaugeMetricFamily(PREFIX + "database_up",
                                "1 when the last database operation succeeded",
                                value=1 if self._ingest.database_up else 0)
        yield GaugeMetricFamily(PREFIX + "registered_terminals",
                                "registered terminal ids in the in-memory registry",
                                value=self._ingest.registered_terminals)
