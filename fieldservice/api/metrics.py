"""Prometheus metrics of the API, in a registry of the app's own (several apps can live in one
process, as they do in tests), plus whatever collectors and registries the caller adds."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import Collector


class ApiMetrics:
    def __init__(self, *, collectors: Iterable[Collector] = (),
                 registries: Iterable[CollectorRegistry] = ()) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fieldservice_http_requests", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "fieldservice_http_request_seconds", "time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.transitions = Counter(
            "fieldservice_work_order_transitions", "work-order transitions performed",
            ["action"], registry=self.registry,
        )
        self.refusals = Counter(
            "fieldservice_work_order_refusals", "work-order transitions refused (409)",
            ["action"], registry=self.registry,
        )
        self.logins = Counter(
            "fieldservice_logins", "token requests", ["outcome"], registry=self.registry,
        )
        for collector in [*collectors, *registries]:
            # a registry is itself a collector: the gateway's metrics appear on our page
            self.registry.register(collector)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (not raw path: bounded labels)."""

    def __init__(self, app: Any, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "?")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
