"""Monitoring over HTTP: Prometheus gauges from the newest monitor run, GET /monitoring."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from fleetcast.api.metrics import MonitoringCollector
from fleetcast.api.routes import monitoring
from fleetcast.domain import SystemInfo
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore

SUMMARY = {
    "status": "degraded",
    "alerts": [{"horizon": 1}],
    "latest": [
        {
            "horizon": 1,
            "model_version": "m@v1",
            "target_date": "2026-10-10",
            "mae": 2.0,
            "wape": 0.3,
            "bias": 0.1,
            "coverage": 0.75,
            "baseline_wape": 0.1,
        }
    ],
    "sources": [
        {
            "source": "chicago/trips",
            "kind": "ingest",
            "status": "stale",
            "age_hours": 50.0,
            "quarantined_share": 0.01,
        }
    ],
}
"""The parts of a monitor run's summary the collector reads."""


def city(store: Store) -> Store:
    """A store with system "city" and one degraded monitor run."""
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("city", "City", "UTC"))
        mstore.save_run(
            conn,
            run_id="r1",
            system_id="city",
            ran_at=datetime(2026, 10, 11, 5, tzinfo=UTC),
            status="degraded",
            summary=SUMMARY,
        )
    return store


def test_collector_exposes_the_newest_run(sqlite_store: Store) -> None:
    """Status 1 (degraded), WAPE beside the backtest's, and source health as gauges."""
    registry = CollectorRegistry()
    registry.register(MonitoringCollector(city(sqlite_store)))
    text = generate_latest(registry).decode()
    assert 'fleetcast_monitor_status{system="city"} 1.0' in text
    assert 'fleetcast_forecast_wape{horizon="1",model="m@v1",system="city"} 0.3' in text
    assert 'fleetcast_backtest_wape{horizon="1",model="m@v1",system="city"} 0.1' in text
    assert 'fleetcast_monitor_accuracy_alerts{system="city"} 1.0' in text
    assert (
        'fleetcast_source_ok{kind="ingest",source="chicago/trips",status="stale",system="city"} 0.0'
        in text
    )
    assert 'fleetcast_source_quarantined_ratio{source="chicago/trips",system="city"} 0.01' in text


def test_monitoring_route_reads_the_newest_run(sqlite_store: Store) -> None:
    """GET /monitoring gives the run and (none yet) accuracy; an unknown system is an error."""
    app = FastAPI()
    app.state.store = city(sqlite_store)
    app.include_router(monitoring.router)
    with TestClient(app, raise_server_exceptions=False) as client:
        body = client.get("/monitoring", params={"system": "city"}).json()
        assert body["run"]["status"] == "degraded" and body["accuracy"] == []
        assert client.get("/monitoring", params={"system": "no"}).status_code >= 400
