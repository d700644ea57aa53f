"""Every dashboard page run headless (Streamlit's AppTest) through app.py: no exception, the
numbers on screen are the jobs' numbers, and empty stores get a friendly way forward."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.jobs import build_demo, models, register_system, serving
from fleetcast.store import Store

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("pydeck", reason="the dashboard extra is not installed")
pytest.importorskip("plotly", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest

from fleetcast.dashboard import app as dashboard_app
from fleetcast.dashboard.app_pages import models as models_page

APP = Path(dashboard_app.__file__)
PAGE_FILES = [f"app_pages/{spec.module}.py" for spec in dashboard_app.PAGES]
TIMEOUT_S = 60


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point the dashboard's settings at ``home`` alone (no other FLEETCAST_* leaking in)."""
    for name in (
        "FLEETCAST_DB_URL",
        "FLEETCAST_LAKE_URL",
        "FLEETCAST_CONFIG",
        "FLEETCAST_MLFLOW_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))


def open_page(page: str | None = None) -> AppTest:
    """Run app.py, then switch to ``page`` (a file under the app's folder) and run it."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric_values(at: AppTest) -> dict[str, str]:
    """Metric labels to their displayed values."""
    return {m.label: m.value for m in at.metric}


def chart_specs(at: AppTest, kind: str) -> list[dict[str, Any]]:
    """The JSON specs of every chart of a kind (``plotly_chart``, ``deck_gl_json_chart``)."""
    field = "spec" if kind == "plotly_chart" else "json"
    return [json.loads(getattr(element.proto, field)) for element in at.get(kind)]


def trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    """The trace of a plotly figure by its legend name."""
    return next(t for t in figure["data"] if t.get("name") == name)


@pytest.fixture
def served(served_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The dashboard pointed at the served demo; a store on it to ask the jobs."""
    _use_home(monkeypatch, served_home)
    store = Store(load_settings(home=served_home, env={}))
    yield store
    store.close()


def test_overview_metrics_are_the_overview_job(served: Store) -> None:
    """The headline numbers on screen equal serving.overview, formatted with separators."""
    at = open_page()
    view = serving.overview(served, "demo")
    shown = metric_values(at)
    assert at.title[0].value == "Overview"
    assert at.sidebar.selectbox[0].value == "demo"
    assert shown["Trips yesterday"] == f"{view.trips_last_day:,}"
    assert shown["Trips, last 7 days"] == f"{view.trips_7d:,}"
    assert shown["Active zones"] == f"{view.active_zones:,} of {view.zones:,}"
    assert shown["Forecast model"] == view.model_version
    assert view.backtest_wape is not None
    assert shown["Backtest WAPE"] == f"{view.backtest_wape:.1%}"
    for row in view.next_days.iter_rows(named=True):
        day: date = row["target_date"]
        assert shown[f"{day:%a} {day.isoformat()}"] == f"{row['mean']:,.0f}"


def test_demand_map_colours_every_zone_by_the_chosen_day(served: Store) -> None:
    """One GeoJsonLayer with every zone, no basemap, a tooltip with the interval; the zone
    table's forecasts are the forecasts job's for the chosen day; other colourings run too."""
    at = open_page("app_pages/demand_map.py")
    (deck,) = chart_specs(at, "deck_gl_json_chart")
    (layer,) = deck["layers"]
    zones = serving.zones_geojson(served, "demo")["features"]
    assert layer["@@type"] == "GeoJsonLayer"
    assert len(layer["data"]["features"]) == len(zones)
    assert all(len(f["properties"]["fill"]) == 4 for f in layer["data"]["features"])
    assert deck["mapStyle"] == "__MAP_STYLE__"
    lats = [f["properties"]["centroid_lat"] for f in zones]
    assert min(lats) < deck["initialViewState"]["latitude"] < max(lats)
    tooltip = json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)
    assert "{tip_interval}" in tooltip["html"] and "{name}" in tooltip["html"]

    first_day = serving.list_systems(served)[0].latest_issue
    expected = serving.forecasts(served, "demo", target_date=first_day)
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["Zone", "Name", "Forecast"]
    shown = dict(zip(table["Zone"], table["Forecast"], strict=True))
    for row in expected.iter_rows(named=True):
        assert shown[row["zone_id"]] == pytest.approx(row["mean"], abs=0.01)

    colour_by = at.button_group(key="map_colour_by")
    for option in ("latest", "mean_7d"):
        colour_by.set_value(option).run()
        assert not at.exception


def test_forecast_explorer_draws_the_zone_history_fan_and_backtest(served: Store) -> None:
    """The history chart holds the zone's actuals and forecast means; the backtest chart shows
    the model picked in the selector over the actual trips."""
    at = open_page("app_pages/forecast_explorer.py")
    zone_id = at.selectbox(key="explorer_zone").value
    history = serving.zone_history(served, "demo", zone_id, days=60)
    fan, backtest = chart_specs(at, "plotly_chart")
    assert trace(fan, "Trips")["y"] == history["actuals"]["trips"].to_list()
    assert trace(fan, "Forecast (mean)")["y"] == pytest.approx(
        history["forecasts"]["mean"].to_list()
    )

    at.button_group(key="explorer_model").set_value("seasonal_naive").run()
    assert not at.exception
    _, backtest = chart_specs(at, "plotly_chart")
    picked = history["backtest"].filter(
        (pl.col("model") == "seasonal_naive") & (pl.col("horizon") == 1)
    )
    assert trace(backtest, "Forecast (mean)")["y"] == pytest.approx(picked["mean"].to_list())
    assert trace(backtest, "Actual trips")["y"] == pytest.approx(picked["actual"].to_list())


def test_models_page_shows_backtest_metrics_and_the_champion(served: Store) -> None:
    """The backtest table has one row per model and horizon under readable headers; the
    champion history lists the registered version as the champion."""
    at = open_page("app_pages/models.py")
    _, metrics = serving.backtest_table(served, "demo")
    backtest, history = (d.value for d in at.dataframe)
    assert list(backtest.columns) == list(models_page.BACKTEST_COLUMNS.values())
    assert len(backtest) == metrics.height == 6
    expected = models.champion_history(served, "demo")
    assert list(history.columns) == list(models_page.HISTORY_COLUMNS.values())
    assert history["Version"].tolist() == expected["version"].to_list() == [1]
    assert history["Champion"].tolist() == [True]
    assert history["Model"].tolist() == ["global_gbm"]


@pytest.mark.parametrize("page", PAGE_FILES)
def test_an_empty_store_says_how_to_load_data(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no system in the store every page explains `fleetcast demo` instead of failing."""
    _use_home(monkeypatch, tmp_path / "empty")
    at = open_page(page)
    assert any("fleetcast demo" in info.value for info in at.info)
    assert not at.sidebar.selectbox


@pytest.fixture(scope="module")
def unforecast_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-day demo city without a model, backtest or forecast, and a system without data."""
    home = tmp_path_factory.mktemp("unforecast") / "home"
    store = Store(load_settings(home=home, env={}))
    try:
        build_demo(store, seed=5, days=40)
        register_system(store, SystemInfo(system_id="bare", name="Bare city", timezone="UTC"), None)
    finally:
        store.close()
    return home


@pytest.mark.parametrize("page", PAGE_FILES)
@pytest.mark.parametrize("system_id", ["demo", "bare"])
def test_systems_without_forecasts_or_data_get_next_steps(
    page: str, system_id: str, unforecast_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without forecasts (or without any demand) pages run and name the command to run next;
    the car-sharing page, without rentals or a price model, names the commands that load them."""
    _use_home(monkeypatch, unforecast_home)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state["system_id"] = system_id
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    messages = " ".join(info.value for info in at.info)
    if page.endswith("models.py"):
        assert f"fleetcast backtest --system {system_id}" in messages
        assert f"fleetcast train --system {system_id}" in messages
    elif page.endswith("carsharing.py"):
        assert (
            f"fleetcast carsharing delay-policy get_around_delay_analysis.xlsx --system {system_id}"
            in messages
        )
        assert "fleetcast pricing train" in messages
    elif system_id == "demo":
        assert f"fleetcast forecast --system {system_id}" in messages
    else:
        assert "fleetcast ingest" in messages
