"""Drift over HTTP on the small monitored demo: GET /monitoring's drift section, the newest
Evidently report at /monitoring/drift-report, the drift gauges of /metrics, and the shipped
Grafana dashboard querying only metrics /metrics exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetcast.api import create_app
from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.store import Store, records
from monitor_data import monitored_home

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana" / "fleetcast.json"
MONITORING_FAMILIES = re.compile(r"^fleetcast_(forecast|backtest|demand|monitor|source|drift)_")
"""Families of /metrics that are monitoring figures (accuracy, freshness, drift, sources);
the HTTP request metrics are the API's own, not the monitor's."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The API over the monitored demo (lifespan run, so the forecast cache is loaded)."""
    home, _ = monitored_home(tmp_path_factory)
    with TestClient(create_app(load_settings(home=home, env={}))) as c:
        yield c


@pytest.fixture(scope="module")
def metrics_text(client: TestClient) -> str:
    """One scrape of /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return str(response.text)


def samples(text: str) -> set[str]:
    """Names of the metrics with at least one sample in an exposition text."""
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def test_monitoring_has_the_newest_drift_check(client: TestClient) -> None:
    """GET /monitoring names the windows, shares and columns of the run's drift check, whose
    report is available."""
    body = client.get("/monitoring", params={"system": "demo"}).json()
    drift = body["drift"]
    assert drift["run_id"] == body["run"]["run_id"]
    assert drift["report_available"] is True
    assert drift["report_path"].startswith("monitoring/demo/drift-")
    assert drift["inputs"] == len(drift["columns"]) - 1
    assert [c["role"] for c in drift["columns"]][-1] == "target"
    assert body["run"]["summary"]["drift"]["drift_share"] == pytest.approx(drift["drift_share"])


def test_the_drift_report_is_served_as_html(client: TestClient) -> None:
    """The report itself, inline HTML; 404 with a way forward for a system without one."""
    response = client.get("/monitoring/drift-report", params={"system": "demo"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("inline")
    assert "<html" in response.text[:2000].lower()
    assert client.get("/monitoring/drift-report", params={"system": "nowhere"}).status_code == 404


def test_a_system_without_drift_has_no_report(tmp_path: Path) -> None:
    """A known system never monitored: 404 naming `fleetcast monitor`; drift null."""
    settings = load_settings(home=tmp_path / "home", env={})
    store = Store(settings)
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("city", "City", "UTC"))
    store.close()
    with TestClient(create_app(settings)) as c:
        response = c.get("/monitoring/drift-report", params={"system": "city"})
        assert response.status_code == 404
        assert "fleetcast monitor --system city" in response.text
        assert c.get("/monitoring", params={"system": "city"}).json()["drift"] is None


def test_metrics_expose_the_drift_figures(client: TestClient, metrics_text: str) -> None:
    """Drift share, drifted and compared inputs, target drift and a score per column, equal
    to the stored check."""
    drift = client.get("/monitoring", params={"system": "demo"}).json()["drift"]
    text = metrics_text
    assert f'fleetcast_drift_share{{system="demo"}} {drift["drift_share"]!r}' in text
    assert (
        f'fleetcast_drift_inputs_drifted{{system="demo"}} {float(drift["drifted_inputs"])}' in text
    )
    assert f'fleetcast_drift_inputs{{system="demo"}} {float(drift["inputs"])}' in text
    target = 1.0 if drift["target_drifted"] else 0.0
    assert f'fleetcast_drift_target_drifted{{system="demo"}} {target}' in text
    for col in drift["columns"]:
        labels = (
            f'column="{col["column"]}",method="{col["method"]}",role="{col["role"]}",system="demo"'
        )
        if col["score"] is not None:
            assert f"fleetcast_drift_column_score{{{labels}}} {col['score']!r}" in text
        flag = 1.0 if col["drifted"] else 0.0
        assert (
            f'fleetcast_drift_column_drifted{{column="{col["column"]}",role="{col["role"]}",'
            f'system="demo"}} {flag}' in text
        )


def dashboard_metrics() -> set[str]:
    """Every metric name a query of the shipped Grafana dashboard reads."""
    board = json.loads(GRAFANA.read_text(encoding="utf-8"))
    exprs: list[str] = []

    def walk(panels: list[dict[str, object]]) -> None:
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []))  # type: ignore[attr-defined]
            walk(panel.get("panels", []))  # type: ignore[arg-type]

    walk(board["panels"])
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["query"]["query"])
    assert exprs
    return {name for e in exprs for name in re.findall(r"\bfleetcast_[a-z_]+\b", e)}


def test_the_grafana_dashboard_queries_only_exposed_metrics(metrics_text: str) -> None:
    """Every metric the dashboard queries has samples in /metrics after a monitor run, and
    every monitoring figure /metrics exposes has a panel."""
    queried = dashboard_metrics()
    exposed = samples(metrics_text)
    assert queried - exposed == set(), "queried but not exposed"
    monitoring = {m for m in exposed if MONITORING_FAMILIES.match(m)}
    assert monitoring - queried == set(), "exposed but not on the dashboard"


def test_the_grafana_dashboard_is_importable() -> None:
    """A dashboard with a uid, a Prometheus datasource variable, unique panel ids and every
    panel's datasource that variable."""
    board = json.loads(GRAFANA.read_text(encoding="utf-8"))
    assert board["uid"] and board["title"]
    names = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "system"} <= names
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"]
