"""Prometheus metrics: request counts and latencies per route (a plain ASGI middleware, cheap
enough for the hot path) and forecast freshness read from the serving cache at scrape time.

With several workers, ``fleetcast serve`` sets PROMETHEUS_MULTIPROC_DIR so every worker's
counts are summed in each scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleetcast.jobs.predict import ServingCache

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


class RequestMetrics:
    """The request counter and latency histogram of one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "fleetcast_http_requests",
            "HTTP requests answered, by method, route and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "fleetcast_http_request_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, name, str(status)).inc()
            self.metrics.latency.labels(method, name).observe(perf_counter() - began)


class FreshnessCollector(Collector):
    """Per system: the newest forecast issue, its age in days, and the last day of demand."""

    def __init__(self, cache: ServingCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        """Read the cache's views now (no db access)."""
        today = datetime.now(UTC).date()
        age = GaugeMetricFamily(
            "fleetcast_forecast_age_days",
            "Days between today (UTC) and the newest forecast issue date.",
            labels=["system"],
        )
        issue = GaugeMetricFamily(
            "fleetcast_forecast_issue_timestamp_seconds",
            "The newest forecast issue date (midnight UTC) as a Unix time.",
            labels=["system"],
        )
        data = GaugeMetricFamily(
            "fleetcast_demand_last_day_timestamp_seconds",
            "The last day of known demand (midnight UTC) as a Unix time.",
            labels=["system"],
        )
        rows = GaugeMetricFamily(
            "fleetcast_forecast_rows_cached",
            "Forecast rows of the newest issue held in memory.",
            labels=["system"],
        )
        for sid, view in sorted(self.cache.views.items()):
            if view.issue is not None:
                age.add_metric([sid], (today - view.issue).days)
                issue.add_metric([sid], _midnight(view.issue))
            if view.last_day is not None:
                data.add_metric([sid], _midnight(view.last_day))
            rows.add_metric([sid], len(view.rows))
        yield from (age, issue, data, rows)


def _midnight(day: Any) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def scrape(registry: CollectorRegistry, freshness: FreshnessCollector) -> bytes:
    """The exposition text: this process's registry, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        merged.register(freshness)
        return generate_latest(merged)
    return generate_latest(registry)
