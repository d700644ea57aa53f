"""The monitoring page run headless (Streamlit's AppTest) on the small monitored demo: the
verdict, accuracy over time per horizon equal to the stored accuracy, the drift figures of the
newest check with its report to download, every source's health, and the scheduled pipelines
(a hint to start them when none ran, an error naming a failing one's step and message)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetcast.config import load_settings
from fleetcast.jobs.monitor import latest_monitoring
from fleetcast.store import Store
from monitor_data import monitored_copy, monitored_home
from pipeline_runs import FAILURE, record_sample_runs

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("plotly", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest

from fleetcast.dashboard import app as dashboard_app

APP = Path(dashboard_app.__file__)
PAGE = "app_pages/monitoring.py"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The monitored demo's home."""
    return monitored_home(tmp_path_factory)[0]


@pytest.fixture
def view(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The dashboard pointed at the monitored demo; what latest_monitoring says of it."""
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))
    store = Store(load_settings(home=home, env={}))
    yield latest_monitoring(store, "demo", days=28)
    store.close()


def open_monitoring() -> AppTest:
    """app.py, then the monitoring page."""
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_shows_the_stored_run(view: dict[str, Any]) -> None:
    """Verdict, one accuracy line per horizon with the stored WAPE, the drift metrics of the
    newest check, the per-column table, the report download and a row per source."""
    at = open_monitoring()
    assert at.title[0].value == "Monitoring"
    status = view["run"]["status"]
    assert any(f"{status.upper()}" in m.value.upper() for m in at.markdown)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    accuracy, drift_chart = specs
    lines = {t["name"]: t for t in accuracy["data"] if "backtest" not in t["name"]}
    horizons = sorted({r["horizon"] for r in view["accuracy"]})
    assert horizons and sorted(int(n[1]) for n in lines) == horizons
    h1 = next(t for n, t in lines.items() if n.startswith("h1 "))
    stored = [
        r["wape"]
        for r in sorted(view["accuracy"], key=lambda r: r["target_date"])
        if r["horizon"] == 1
    ]
    assert h1["y"] == pytest.approx(stored)
    drift = view["drift"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Drift share"] == f"{drift['drift_share']:.1%}"
    assert metrics["Drifted inputs"] == f"{drift['drifted_inputs']} of {drift['inputs']}"
    assert metrics["Target drift"] == ("Drifted" if drift["target_drifted"] else "Stable")
    assert drift_chart["data"][0]["x"] == [c["column"] for c in drift["columns"]]
    columns, sources = (d.value for d in at.dataframe)
    assert columns["Column"].tolist() == [c["column"] for c in drift["columns"]]
    assert len(sources) == len(view["run"]["summary"]["sources"])
    assert any("Download the drift report" in b.proto.label for b in at.get("download_button"))
    assert any("Scheduled pipelines" in h.value for h in at.subheader)
    assert any("fleetcast run" in i.value for i in at.info)


def test_the_metric_choice_redraws_the_accuracy_chart(view: dict[str, Any]) -> None:
    """Choosing coverage draws the stored coverage and no backtest line."""
    at = open_monitoring()
    at.segmented_control(key="monitoring_metric").set_value("coverage").run()
    assert not at.exception
    accuracy = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert all("backtest" not in t["name"] for t in accuracy["data"])
    assert accuracy["layout"]["yaxis"]["title"]["text"] == "10-90% interval coverage"


def test_a_failing_pipeline_is_an_error_on_the_page(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a copy of the demo with three recorded runs, one failing at its forecast step: an
    error naming the pipeline, the step and the message, and a row per pipeline."""
    home, _ = monitored_copy(tmp_path_factory, "monitoring_pipelines")
    store = Store(load_settings(home=home, env={}))
    try:
        record_sample_runs(store)
    finally:
        store.close()
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))
    at = open_monitoring()
    (error,) = [e.value for e in at.error if "forecast" in e.value]
    assert "daily · demo" in error and FAILURE in error
    pipelines = at.dataframe[-1].value
    assert sorted(pipelines["Pipeline"].tolist()) == ["compact", "daily", "poll"]
    daily = pipelines[pipelines["Pipeline"] == "daily"].iloc[0]
    assert daily["Failed step"] == "forecast" and daily["Status"] == "failed"
