"""A :class:`~gateway.sink.TelemetrySink` that feeds the health monitor on its way through.

Composition, not inheritance: the gateway gets ``HealthSink(inner=ingest, monitor=monitor)``
and sees one sink; the telemetry writer (the inner sink) gets every call unchanged. The monitor
is fed first and synchronously (a few counter updates per read), then the inner sink is awaited
(its wait is the gateway's backpressure). Monitor failures are counted by the monitor and never
reach the gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from devices.records import Record
from devices.session import SessionInfo, TelemetrySink
from telemetry.health.monitor import HealthMonitor

log = logging.getLogger(__name__)


class HealthSink:
    """Args:
        inner: the sink that stores telemetry (``telemetry.ingest.Ingest``).
        monitor: the health monitor to feed.
    """

    __slots__ = ("inner", "monitor")

    def __init__(self, *, inner: TelemetrySink, monitor: HealthMonitor) -> None:
        self.inner = inner
        self.monitor = monitor

    async def session_opened(self, session: SessionInfo) -> None:
        try:
            self.monitor.session_opened(session)
        except Exception:
            self.monitor.stats.observe_errors += 1
            log.exception("health monitor failed on session_opened of %s", session.terminal_id)
        await self.inner.session_opened(session)

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        self.monitor.observe(session, records)  # never raises
        await self.inner.publish(session, records)

    async def session_closed(self, session: SessionInfo) -> None:
        try:
            self.monitor.session_closed(session)
        except Exception:
            self.monitor.stats.observe_errors += 1
            log.exception("health monitor failed on session_closed of %s", session.terminal_id)
        await self.inner.session_closed(session)

    def model_of(self, terminal_id: str) -> str | None:
        """The terminal's registered model (decoders whose layouts differ by model ask it)."""
        return self.monitor.model_of(terminal_id)

    def __getattr__(self, name: str) -> Any:
        # anything beyond the sink contract (stats, flush, close...) is the inner sink's
        return getattr(self.inner, name)
