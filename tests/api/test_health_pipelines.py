"""/health and the scheduled pipelines: a failing one makes the answer ``degraded`` (still
200, the API is up) and is listed with its step and message; no runs, or no table to read
them from, is never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from fleetcast.api import create_app
from fleetcast.store import Store
from pipeline_runs import FAILURE, record_sample_runs


def test_health_without_runs_is_ok(sqlite_store: Store) -> None:
    """An empty store with no scheduled run: ok, an empty pipelines list."""
    with TestClient(create_app(sqlite_store.settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "reachable", "systems": [], "pipelines": []}


def test_failing_pipeline_degrades_health(sqlite_store: Store) -> None:
    """The daily cycle's failed forecast: 200 degraded, the pipeline named with its step."""
    record_sample_runs(sqlite_store)
    with TestClient(create_app(sqlite_store.settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["db"] == "reachable"
    (bad,) = body["pipelines"]
    assert (bad["flow"], bad["system_id"], bad["failed_step"]) == ("daily", "demo", "forecast")
    assert FAILURE in bad["message"] and bad["started_at"].endswith("+00:00")


def test_health_without_the_runs_table_is_not_a_500(sqlite_store: Store) -> None:
    """A db missing ``pipeline_runs`` (an older schema) still answers health, with no
    pipelines."""
    with sqlite_store.begin() as conn:
        conn.execute(text("DROP TABLE pipeline_runs"))
    with TestClient(create_app(sqlite_store.settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["pipelines"] == []
