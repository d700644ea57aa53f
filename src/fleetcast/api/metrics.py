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
from sqlalchemy.exc import SQLAlchemyError

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


def scrape(registry: CollectorRegistry, freshness: FreshnessCollector, *extra: Collector) -> bytes:
    """The exposition text: this process's registry, or every worker's in multiprocess mode
    (with ``freshness`` and any ``extra`` collectors that read shared state, not counters)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        merged.register(freshness)
        for collector in extra:
            merged.register(collector)
        return generate_latest(merged)
    return generate_latest(registry)


_MONITOR_STATUS = {"ok": 0.0, "degraded": 1.0, "failed": 2.0}


class MonitoringCollector(Collector):
    """Per system, what its newest monitor run found: status, accuracy of the newest day of
    each horizon beside the backtest's WAPE, data drift (share, drifted inputs, target, score
    per column) and the health of each source (read at scrape time from the stored run, one
    small query)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        """Read the newest monitor run of every system now."""
        from fleetcast.store import monitoring as mstore

        labels = ["system", "horizon", "model"]
        families = {
            "status": GaugeMetricFamily(
                "fleetcast_monitor_status",
                "Verdict of the newest monitor run: 0 ok, 1 degraded, 2 failed.",
                labels=["system"],
            ),
            "ran": GaugeMetricFamily(
                "fleetcast_monitor_run_timestamp_seconds",
                "When the newest monitor run ran, as a Unix time.",
                labels=["system"],
            ),
            "alerts": GaugeMetricFamily(
                "fleetcast_monitor_accuracy_alerts",
                "Horizons whose WAPE broke the alert rule in the newest monitor run.",
                labels=["system"],
            ),
            **{
                name: GaugeMetricFamily(
                    f"fleetcast_forecast_{name}",
                    f"{text} over all zones on the newest day with actuals, per horizon.",
                    labels=labels,
                )
                for name, text in (
                    ("mae", "Mean absolute error of the forecast"),
                    ("wape", "Weighted absolute percentage error (share) of the forecast"),
                    ("bias", "Bias (sum forecast - actual over sum actual) of the forecast"),
                    ("coverage", "Share of actuals inside the forecast's 10-90% interval"),
                )
            },
            "baseline": GaugeMetricFamily(
                "fleetcast_backtest_wape",
                "WAPE of the same model and horizon in the newest backtest.",
                labels=labels,
            ),
            "day": GaugeMetricFamily(
                "fleetcast_forecast_accuracy_day_timestamp_seconds",
                "The newest day with actuals that accuracy was computed for (midnight UTC).",
                labels=labels,
            ),
            "source_ok": GaugeMetricFamily(
                "fleetcast_source_ok",
                "1 when a source (ingest, feed, daily demand) is healthy, 0 when flagged.",
                labels=["system", "source", "kind", "status"],
            ),
            "source_age": GaugeMetricFamily(
                "fleetcast_source_age_hours",
                "Hours since a source's last success (days behind for daily demand x 24).",
                labels=["system", "source", "kind"],
            ),
            "quarantined": GaugeMetricFamily(
                "fleetcast_source_quarantined_ratio",
                "Share of an ingest source's rows quarantined over the quality window.",
                labels=["system", "source"],
            ),
            **_drift_families(),
        }
        try:
            with self.store.connect() as conn:
                runs = mstore.latest_runs(conn)
        except SQLAlchemyError:  # a scrape must answer while the db is down; /health says why
            runs = []
        for run in runs:
            sid, summary = run["system_id"], run["summary"] or {}
            families["status"].add_metric([sid], _MONITOR_STATUS.get(run["status"], 2.0))
            families["ran"].add_metric([sid], run["ran_at"].timestamp())
            families["alerts"].add_metric([sid], len(summary.get("alerts", [])))
            for row in summary.get("latest", []):
                key = [sid, str(row["horizon"]), row["model_version"]]
                for name in ("mae", "wape", "bias", "coverage"):
                    if row.get(name) is not None:
                        families[name].add_metric(key, row[name])
                if row.get("baseline_wape") is not None:
                    families["baseline"].add_metric(key, row["baseline_wape"])
                families["day"].add_metric(
                    key, _midnight(datetime.fromisoformat(row["target_date"]).date())
                )
            for src in summary.get("sources", []):
                families["source_ok"].add_metric(
                    [sid, src["source"], src["kind"], src["status"]],
                    1.0 if src["status"] == "ok" else 0.0,
                )
                if src.get("age_hours") is not None:
                    families["source_age"].add_metric(
                        [sid, src["source"], src["kind"]], src["age_hours"]
                    )
                if src.get("quarantined_share") is not None:
                    families["quarantined"].add_metric(
                        [sid, src["source"]], src["quarantined_share"]
                    )
            if summary.get("drift"):
                _add_drift(families, sid, summary["drift"])
        yield from families.values()


def _drift_families() -> dict[str, GaugeMetricFamily]:
    """The drift gauges, empty."""
    return {
        "drift_share": GaugeMetricFamily(
            "fleetcast_drift_share",
            "Share of the model's inputs that drifted in the newest drift check.",
            labels=["system"],
        ),
        "drift_inputs": GaugeMetricFamily(
            "fleetcast_drift_inputs_drifted",
            "Model inputs that drifted in the newest drift check.",
            labels=["system"],
        ),
        "drift_inputs_total": GaugeMetricFamily(
            "fleetcast_drift_inputs",
            "Model inputs compared in the newest drift check.",
            labels=["system"],
        ),
        "drift_target": GaugeMetricFamily(
            "fleetcast_drift_target_drifted",
            "1 when the target (daily demand per zone) drifted in the newest check, else 0.",
            labels=["system"],
        ),
        "drift_score": GaugeMetricFamily(
            "fleetcast_drift_column_score",
            "Evidently's drift score of a column (a distance, or a p-value for tests).",
            labels=["system", "column", "role", "method"],
        ),
        "drift_threshold": GaugeMetricFamily(
            "fleetcast_drift_column_threshold",
            "The threshold the column's drift score is judged against.",
            labels=["system", "column", "role", "method"],
        ),
        "drift_column": GaugeMetricFamily(
            "fleetcast_drift_column_drifted",
            "1 when a column drifted in the newest drift check, else 0.",
            labels=["system", "column", "role"],
        ),
        "drift_day": GaugeMetricFamily(
            "fleetcast_drift_current_end_timestamp_seconds",
            "Last day of the newest drift check's current window (midnight UTC).",
            labels=["system"],
        ),
    }


def _add_drift(families: dict[str, GaugeMetricFamily], sid: str, drift: dict[str, Any]) -> None:
    """One system's drift figures from its newest run's summary."""
    families["drift_share"].add_metric([sid], drift["drift_share"])
    families["drift_inputs"].add_metric([sid], len(drift["drifted_inputs"]))
    families["drift_inputs_total"].add_metric([sid], drift["inputs"])
    families["drift_target"].add_metric([sid], 1.0 if drift["target_drifted"] else 0.0)
    families["drift_day"].add_metric(
        [sid], _midnight(datetime.fromisoformat(drift["current_end"]).date())
    )
    for col in drift["columns"]:
        key = [sid, col["column"], col["role"], col["method"]]
        if col.get("score") is not None:
            families["drift_score"].add_metric(key, col["score"])
        families["drift_threshold"].add_metric(key, col["threshold"])
        families["drift_column"].add_metric(
            [sid, col["column"], col["role"]], 1.0 if col["drifted"] else 0.0
        )
