"""Prometheus metrics: request counts and latencies per route, ingests, and a text endpoint.

Each app gets its own registry (tests build several apps in one process). With
``PROMETHEUS_MULTIPROC_DIR`` set (``lakeforge serve --workers N`` sets it), ``/metrics``
adds up every worker's values.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lakeforge_http_requests",
            "HTTP requests by method, route name and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lakeforge_http_request_duration_seconds",
            "Time to serve a request, by method and route name",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ingests = Counter(
            "lakeforge_ingests",
            "Ingests through the service by table and outcome",
            ["table", "status"],
            registry=self.registry,
        )
        self.ingest_rows = Counter(
            "lakeforge_ingest_rows",
            "Rows ingested through the service, written or quarantined",
            ["table", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware counting and timing every HTTP request by its route name."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Labelled children, looked up once: ``labels()`` validates and locks on every call.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._timings: dict[tuple[str, str], Any] = {}

    def _record(self, method: str, route: str, status: int, seconds: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self.metrics.requests.labels(method, route, str(status))
            self._counts[(method, route, status)] = count
        timing = self._timings.get((method, route))
        if timing is None:
            timing = self.metrics.latency.labels(method, route)
            self._timings[(method, route)] = timing
        count.inc()
        timing.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "name", None) or "unmatched"
            self._record(scope.get("method", ""), template, status, time.perf_counter() - start)
