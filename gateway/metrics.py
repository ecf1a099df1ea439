"""Gateway metrics: plain counters on the hot path, turned into Prometheus families on scrape.

The per-read path only adds to ints and dicts of :class:`TransportMetrics`; nothing touches
``prometheus_client`` until something scrapes. :class:`GatewayCollector` is a custom collector
with no global state: register it on the registry of your choice (the standalone ``/metrics``
endpoint of ``fieldgate gateway --metrics``, or the API's ``/metrics`` in ``fieldgate serve``).

Decoder counters (sentences by type, rejects by reason) live in each stream's own
:class:`~devices.nmea.DecodeStats` (so a session can report its own rejects to the sink); a
transport folds a stream's counters into its retired totals when the stream ends, and a scrape
adds the live ones.

Collection may be asked for from another thread (``prometheus_client.start_http_server`` serves
in one): the collector then takes its snapshot on the event loop's thread, so a scrape never sees
a stream half-way between "live" and "retired" (a counter going down reads as a reset).
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from devices.nmea import DecodeStats
from gateway.sink import Transport

#: Upper bounds (seconds) of the publish-wait histogram: sub-millisecond when the sink has room,
#: seconds when it applies backpressure (spool full, database away).
PUBLISH_WAIT_BOUNDS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)


def _bump(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


class TransportMetrics:
    """Counters of one transport (TCP listener, MQTT subscriber, all serial ports)."""

    __slots__ = (
        "connections",
        "connections_total",
        "disconnects",
        "live_streams",
        "paused",
        "pauses",
        "publish_wait_buckets",
        "publish_wait_sum",
        "reads",
        "records_published",
        "refused",
        "rejects",
        "retired",
        "sessions",
        "sessions_total",
        "transport",
    )

    def __init__(self, transport: Transport | str) -> None:
        self.transport = transport
        self.connections = 0  #: open now: TCP sockets, broker connections, serial ports
        self.connections_total = 0
        self.refused: dict[str, int] = {}  #: by reason
        self.disconnects: dict[str, int] = {}  #: by reason
        self.sessions = 0  #: identified terminals now
        self.sessions_total = 0
        self.reads = 0  #: socket reads, MQTT messages
        self.records_published = 0
        self.publish_wait_sum = 0.0
        self.publish_wait_buckets = [0] * (len(PUBLISH_WAIT_BOUNDS) + 1)
        self.pauses = 0  #: times reading was paused for backpressure
        self.paused = 0  #: connections paused now
        #: gateway-level rejects (unidentified, bad topic, sink error...), in records or messages
        self.rejects: dict[str, int] = {}
        #: decoder counters of streams that have ended
        self.retired = DecodeStats()
        #: the decoder counters of live streams (set by the transport)
        self.live_streams: Callable[[], Iterable[DecodeStats]] = tuple

    def refuse(self, reason: str) -> None:
        _bump(self.refused, reason)

    def disconnect(self, reason: str) -> None:
        _bump(self.disconnects, reason)

    def reject(self, reason: str, n: int = 1) -> None:
        if n:
            _bump(self.rejects, reason, n)

    def published(self, records: int, waited: float) -> None:
        self.records_published += records
        self.publish_wait_sum += waited
        self.publish_wait_buckets[bisect.bisect_left(PUBLISH_WAIT_BOUNDS, waited)] += 1

    def retire(self, stats: DecodeStats) -> None:
        """Fold the counters of a stream that ended into the transport's totals."""
        into = self.retired
        for name, n in stats.by_type.items():
            _bump(into.by_type, name, n)
        for reason, n in stats.rejected.items():
            into.rejected[reason] = into.rejected.get(reason, 0) + n
        into.fixes += stats.fixes
        into.no_fixes += stats.no_fixes

    def decode_totals(self) -> DecodeStats:
        """Retired plus live decoder counters (a snapshot)."""
        total = DecodeStats(dict(self.retired.by_type), dict(self.retired.rejected),
                            self.retired.fixes, self.retired.no_fixes)
        for stats in list(self.live_streams()):
            for name, n in dict(stats.by_type).items():
                _bump(total.by_type, name, n)
            for reason, n in dict(stats.rejected).items():
                total.rejected[reason] = total.rejected.get(reason, 0) + n
            total.fixes += stats.fixes
            total.no_fixes += stats.no_fixes
        return total


class GatewayCollector(Collector):
    """Prometheus collector over the counters of a gateway's transports.

    Args:
        sources: returns the :class:`TransportMetrics` to report (called on every scrape).
        loop: the event loop that mutates the counters; scrapes from other threads take their
            snapshot on it. None: collect wherever called (single-threaded use).
        prefix: metric name prefix.
    """

    #: how long a scrape from another thread waits for the event loop
    LOOP_TIMEOUT = 5.0

    def __init__(self, *, sources: Callable[[], Iterable[TransportMetrics]],
                 loop: asyncio.AbstractEventLoop | None = None,
                 prefix: str = "fieldgate_gateway") -> None:
        self._sources = sources
        #: the event loop that mutates the counters (the gateway sets it when it starts)
        self.loop = loop
        self._prefix = prefix

    def describe(self) -> Iterable[Metric]:
        return list(self._families([]))

    def collect(self) -> Iterable[Metric]:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running() or _on_loop(loop):
            return self._snapshot()
        result: concurrent.futures.Future[list[Metric]] = concurrent.futures.Future()

        def snapshot() -> None:
            try:
                result.set_result(self._snapshot())
            except BaseException as exc:  # noqa: BLE001 - handed to the scraping thread
                result.set_exception(exc)

        loop.call_soon_threadsafe(snapshot)
        return result.result(timeout=self.LOOP_TIMEOUT)

    def _snapshot(self) -> list[Metric]:
        return list(self._families(list(self._sources())))

    def _families(self, sources: list[TransportMetrics]) -> Iterator[Metric]:
        p = self._prefix
        t = ["transport"]
        tr = ["transport", "reason"]
        connections = GaugeMetricFamily(f"{p}_open_connections", "Open connections: TCP sockets, "
                                        "MQTT broker connections, serial ports", labels=t)
        connections_total = CounterMetricFamily(f"{p}_connections", "Connections accepted or "
                                                "established", labels=t)
        refused = CounterMetricFamily(f"{p}_connections_refused", "Connections refused or "
                                      "failed to open, by reason", labels=tr)
        disconnects = CounterMetricFamily(f"{p}_disconnects", "Connections ended, by reason",
                                          labels=tr)
        sessions = GaugeMetricFamily(f"{p}_open_sessions", "Identified terminal sessions open",
                                     labels=t)
        sessions_total = CounterMetricFamily(f"{p}_sessions", "Terminal sessions opened",
                                             labels=t)
        reads = CounterMetricFamily(f"{p}_reads", "Socket reads and MQTT messages handled",
                                    labels=t)
        sentences = CounterMetricFamily(f"{p}_sentences", "NMEA sentences accepted, by type",
                                        labels=["transport", "type"])
        rejects = CounterMetricFamily(f"{p}_rejects", "Lines, sentences, records or messages "
                                      "rejected, by reason", labels=tr)
        epochs = CounterMetricFamily(f"{p}_epochs", "Navigation epochs decoded, by kind",
                                     labels=["transport", "kind"])
        published = CounterMetricFamily(f"{p}_records_published", "Records handed to the sink",
                                        labels=t)
        wait = HistogramMetricFamily(f"{p}_publish_wait_seconds", "Time spent in the sink's "
                                     "publish per read (backpressure when large)", labels=t)
        pauses = CounterMetricFamily(f"{p}_read_pauses", "Times reading paused for "
                                     "backpressure", labels=t)
        paused = GaugeMetricFamily(f"{p}_paused", "Connections whose reading is paused now",
                                   labels=t)
        for m in sources:
            name = [str(m.transport)]
            connections.add_metric(name, m.connections)
            connections_total.add_metric(name, m.connections_total)
            for reason, n in dict(m.refused).items():
                refused.add_metric([*name, reason], n)
            for reason, n in dict(m.disconnects).items():
                disconnects.add_metric([*name, reason], n)
            sessions.add_metric(name, m.sessions)
            sessions_total.add_metric(name, m.sessions_total)
            reads.add_metric(name, m.reads)
            decoded = m.decode_totals()
            for kind, n in sorted(decoded.by_type.items()):
                sentences.add_metric([*name, kind], n)
            merged: dict[str, int] = {}
            for reason, n in decoded.rejected.items():
                _bump(merged, str(reason), n)
            for reason, n in dict(m.rejects).items():
                _bump(merged, reason, n)
            for reason, n in sorted(merged.items()):
                rejects.add_metric([*name, reason], n)
            epochs.add_metric([*name, "fix"], decoded.fixes)
            epochs.add_metric([*name, "no_fix"], decoded.no_fixes)
            published.add_metric(name, m.records_published)
            cumulative, buckets = 0, []
            counts = list(m.publish_wait_buckets)
            for bound, n in zip((*PUBLISH_WAIT_BOUNDS, float("inf")), counts, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            wait.add_metric(name, buckets, m.publish_wait_sum)
            pauses.add_metric(name, m.pauses)
            paused.add_metric(name, m.paused)
        yield from (connections, connections_total, refused, disconnects, sessions,
                    sessions_total, reads, sentences, rejects, epochs, published, wait, pauses,
                    paused)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
