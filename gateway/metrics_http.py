"""A standalone ``/metrics`` endpoint for ``fieldgate gateway --metrics HOST:PORT``.

It is ``prometheus_client.start_http_server`` on a private registry holding the gateway's
collector and the process/platform/GC collectors (RSS, CPU, open files: what matters for 10,000
connected terminals). The server runs in a thread; :class:`~gateway.metrics.GatewayCollector`
takes its snapshot on the event loop. ``fieldgate serve`` mounts the same collector in the API's
``/metrics`` instead.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any, Self

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector


def private_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry with ``collectors`` and the process, platform and GC collectors; never the
    library's global one."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    return registry


class MetricsEndpoint:
    """Serves ``registry`` over HTTP on ``host:port`` while entered.

    Args:
        host, port: where to listen (port 0 picks a free one).
        registry: what to expose.
    """

    def __init__(self, *, host: str, port: int, registry: CollectorRegistry) -> None:
        self.host = host
        self._port = port
        self.registry = registry
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_port if self._server is not None else self._port

    async def __aenter__(self) -> Self:
        self._server, self._thread = start_http_server(self._port, addr=self.host,
                                                       registry=self.registry)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        # shutdown() waits for the serving loop to notice (it polls twice a second): off the loop
        await asyncio.get_running_loop().run_in_executor(None, server.shutdown)
        server.server_close()
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 5)
