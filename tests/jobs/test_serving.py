"""The read jobs behind the API and the dashboard, on the served demo."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from fleetcast.errors import UnknownSystemError, UnknownZoneError
from fleetcast.jobs import serving
from fleetcast.store import Store, records


def test_systems_list_the_demo_with_its_days_and_newest_issue(served_store: Store) -> None:
    """The demo is listed with 150 days of demand and forecasts issued the day after."""
    (demo,) = serving.list_systems(served_store)
    assert demo.system_id == "demo"
    assert demo.first_day is not None and demo.last_day is not None
    assert (demo.last_day - demo.first_day).days + 1 == 150
    assert demo.latest_issue == demo.last_day + timedelta(days=1)


def test_zones_geojson_carries_latest_demand_and_forecasts(served_store: Store) -> None:
    """Every zone is a feature with its last day's trips (matching the db) and 3 forecasts."""
    doc = serving.zones_geojson(served_store, "demo")
    assert doc["type"] == "FeatureCollection"
    with served_store.connect() as conn:
        zones = records.load_zones(conn, "demo")
        last = records.demand_summary(conn, "demo")["last_day"]
        day = records.load_demand(conn, "demo", start=last, end=last)
    assert len(doc["features"]) == zones.height
    expected = dict(day.select("zone_id", "trips").iter_rows())
    for feature in doc["features"]:
        props = feature["properties"]
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        assert props["latest_trips"] == expected.get(props["zone_id"], 0)
        assert [f["horizon"] for f in props["forecasts"]] == [1, 2, 3]
        assert all(f["lower"] <= f["mean"] <= f["upper"] for f in props["forecasts"])


def test_forecasts_for_a_day_come_from_the_newest_issue_covering_it(served_store: Store) -> None:
    """Asking for the second forecast day returns one row per zone at horizon 2."""
    issue = serving.list_systems(served_store)[0].latest_issue
    assert issue is not None
    rows = serving.forecasts(served_store, "demo", target_date=issue + timedelta(days=1))
    assert rows["horizon"].unique().to_list() == [2]
    assert rows["zone_id"].n_unique() == rows.height > 0
    assert serving.forecasts(
        served_store, "demo", target_date=issue - timedelta(days=60)
    ).is_empty()


def test_unknown_system_and_zone_are_lookup_errors(served_store: Store) -> None:
    """Bad names raise the store's lookup errors with what to do next."""
    with pytest.raises(UnknownSystemError):
        serving.demand(served_store, "nowhere")
    with pytest.raises(UnknownZoneError, match="GET /zones"):
        serving.demand(served_store, "demo", zone_id="no-such-zone")


def test_overview_matches_a_plain_recount(served_store: Store) -> None:
    """The morning KPIs equal sums recomputed from the demand rows."""
    view = serving.overview(served_store, "demo")
    with served_store.connect() as conn:
        demand = records.load_demand(conn, "demo")
    last = demand["date"].max()
    assert view.last_day == last
    assert view.trips_last_day == demand.filter(pl.col("date") == last)["trips"].sum()
    week = demand.filter(pl.col("date") > last - timedelta(days=7))
    assert view.trips_7d == week["trips"].sum()
    before = demand.filter(
        (pl.col("date") <= last - timedelta(days=7)) & (pl.col("date") > last - timedelta(days=14))
    )
    assert view.trips_prev_7d == before["trips"].sum()
    assert view.active_zones == week.filter(pl.col("trips") > 0)["zone_id"].n_unique()
    assert view.next_days.height == 3
    assert view.model_version is not None and view.model_version.startswith("global_gbm@v")
    assert view.backtest_wape is not None and 0 < view.backtest_wape < 1


def test_zone_history_has_actuals_forecasts_and_backtest(served_store: Store) -> None:
    """The explorer's three frames are filled for a busy zone."""
    zone = serving.zones_geojson(served_store, "demo")["features"][0]["properties"]["zone_id"]
    parts = serving.zone_history(served_store, "demo", zone, days=30)
    assert parts["actuals"].height == 30
    assert parts["forecasts"].height == 3
    backtest = parts["backtest"]
    assert set(backtest["model"].unique()) == {"seasonal_naive", "global_gbm"}
    assert (backtest["zone_id"] == zone).all()


def test_health_reports_freshness_and_champion(served_store: Store) -> None:
    """Health is ok and names the champion and the data age per system."""
    report = serving.health(served_store, champions={"demo": "global_gbm@v1"})
    assert report.ok
    (demo,) = report.systems
    assert demo["champion"] == "global_gbm@v1"
    assert demo["data_age_days"] >= 0
