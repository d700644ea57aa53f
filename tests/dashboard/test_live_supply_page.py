"""The Live supply page run headless (Streamlit's AppTest) through app.py: its KPI cards, its
deficit lists and its map are the live jobs' figures; stations are drawn by what they can
serve; a system without a live feed says how to load one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.jobs import live, live_charts, register_system
from fleetcast.jobs.supply import ingest_gbfs
from fleetcast.store import Store

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("pydeck", reason="the dashboard extra is not installed")
pytest.importorskip("plotly", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest

from fleetcast.dashboard import app as dashboard_app
from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import maps
from fleetcast.dashboard.app_pages import live_supply as page

APP = Path(dashboard_app.__file__)
PAGE = "app_pages/live_supply.py"
TIMEOUT_S = 60
GBFS_V3 = Path(__file__).resolve().parents[1] / "data" / "gbfs" / "v3"
FEED_TIME = datetime(2025, 10, 18, 10, 0, tzinfo=UTC)
"""Just after tests/data/gbfs/v3 was published."""


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point the dashboard's settings at ``home`` alone (no other FLEETCAST_* leaking in)."""
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))


def open_live_page(system_id: str | None = None) -> AppTest:
    """Run app.py with ``system_id`` chosen, then the Live supply page, without exception."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    if system_id is not None:
        at.session_state["system_id"] = system_id
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric_values(at: AppTest) -> dict[str, str]:
    """Metric labels to their displayed values."""
    return {m.label: m.value for m in at.metric}


def deck_of(at: AppTest) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The page's one deck and its layers by id."""
    (chart,) = at.get("deck_gl_json_chart")
    deck = json.loads(chart.proto.json)
    return deck, {layer["id"]: layer for layer in deck["layers"]}


def expected_cards(kpis: Any) -> dict[str, str]:
    """The eight cards as the page must show a FleetKpis."""
    idle = kpis.median_idle_hours
    return {
        "Usable vehicles": fmt.count(kpis.usable_vehicles),
        "Low battery": fmt.count(kpis.low_battery_vehicles),
        "Disabled": fmt.count(kpis.disabled_vehicles),
        "Outside parking": fmt.count(kpis.outside_parking),
        "Outside service area": fmt.count(kpis.outside_service_area),
        "Rides per vehicle per day": f"{kpis.rides_per_vehicle_per_day:.2f}",
        "Utilisation": f"{kpis.utilisation:.1%}",
        "Median idle hours": fmt.MISSING if idle is None else f"{idle:.1f} h",
    }


@pytest.fixture
def served(served_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The dashboard pointed at the served demo (a fleet, parkings, forecasts); a store on it
    to ask the jobs."""
    _use_home(monkeypatch, served_home)
    store = Store(load_settings(home=served_home, env={}))
    yield store
    store.close()


def test_kpi_cards_are_the_kpis_job_for_the_chosen_period(served: Store) -> None:
    """The cards equal live.kpis over the default week, then over the day once chosen; the
    demo's figures are real (a fleet, parkings and zones, so no card is empty)."""
    at = open_live_page()
    week = live.kpis(served, "demo", period="week")
    assert at.title[0].value == "Live supply"
    assert metric_values(at) == expected_cards(week)
    assert week.usable_vehicles and week.outside_parking and week.trips

    at.button_group(key="live_period").set_value("day").run()
    assert not at.exception
    assert metric_values(at) == expected_cards(live.kpis(served, "demo", period="day"))


def test_deficit_lists_are_the_supply_job_ranked(served: Store) -> None:
    """The first row of "Where to put vehicles" is supply().needs()'s first row, the list
    stops at TOP_NEEDS, the surplus list starts with the largest surplus, and the caption
    names the window in the system's local time."""
    at = open_live_page()
    report = live.supply(served, "demo")
    needs, surplus = (d.value for d in at.dataframe)
    first = report.needs().row(0, named=True)
    shown = needs.iloc[0]
    assert shown["#"] == first["priority"] == 1
    assert shown["Zone / station"] == first["name"]
    assert shown["Id"] == first["place_id"]
    assert shown["Available"] == first["available"]
    assert shown["Expected"] == pytest.approx(first["expected_demand"])
    assert shown["Gap"] == pytest.approx(first["gap"])
    assert shown["Suggested"] == first["suggested_add"]
    assert shown["Need"] == "add vehicles"
    assert len(needs) == min(report.needs().height, page.TOP_NEEDS)
    assert needs["Id"].tolist() == report.needs()["place_id"].head(page.TOP_NEEDS).to_list()

    spare = report.surplus().row(0, named=True)
    assert surplus.iloc[0]["Zone / station"] == spare["name"]
    assert surplus.iloc[0]["Can give"] == -spare["suggested_add"] > 0

    chicago = ZoneInfo("America/Chicago")
    start, end = (t.astimezone(chicago) for t in (report.window_start, report.window_end))
    captions = " ".join(c.value for c in at.caption)
    assert (
        f"Rides expected from **{start:%a %Y-%m-%d %H:%M %Z}** to **{end:%a %Y-%m-%d %H:%M %Z}**"
        in captions
    )


def test_map_draws_the_fleet_by_battery_over_zones_by_need(served: Store) -> None:
    """Without a basemap: zones shaded by need, one point per vehicle in its battery colour,
    every point carrying the tooltip's fields; the low-battery filter keeps what the
    vehicles job keeps."""
    at = open_live_page()
    deck, layers = deck_of(at)
    fleet = live.vehicles(served, "demo")
    assert deck["mapStyle"] == "__MAP_STYLE__"
    assert list(layers) == ["zones", "vehicles"]
    points = layers["vehicles"]["data"]
    assert len(points) == fleet.height
    colours = {p["tip_title"]: tuple(p["rgb"]) for p in points}
    for row in fleet.head(200).iter_rows(named=True):
        expected = maps.battery_rgb(row["battery_pct"], disabled=row["is_disabled"])
        assert colours[row["vehicle_id"]] == expected
    fields = set(re.findall(r"{(\w+)}", page.TOOLTIP))
    assert all(fields <= set(p) for p in points)
    assert all(fields <= set(f["properties"]) for f in layers["zones"]["data"]["features"])
    top = live.supply(served, "demo").needs().row(0, named=True)
    zone = next(
        f
        for f in layers["zones"]["data"]["features"]
        if f["properties"]["tip_id"] == top["zone_id"]
    )
    assert zone["properties"]["fill"][:3] == list(maps.ZONE_NEEDS)
    assert f"add {top['suggested_add']} (#1)" in zone["properties"]["tip_b"]

    at.button_group(key="live_show").set_value("low_battery").run()
    assert not at.exception
    _, layers = deck_of(at)
    low = live.vehicles(served, "demo", low_battery=True)
    assert len(layers["vehicles"]["data"]) == low.height > 0
    assert {tuple(p["rgb"]) for p in layers["vehicles"]["data"]} <= {
        maps.BATTERY_LOW,
        maps.DISABLED,
    }


def test_charts_show_the_fleets_batteries_and_the_periods_trips(served: Store) -> None:
    """The battery bars count every vehicle of the fleet by bin; the day-part bars hold as
    many trips as the KPI period has (weekday and weekend bars together)."""
    at = open_live_page()
    battery, day_parts = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    fleet = live.vehicles(served, "demo")
    (bars,) = battery["data"]
    assert sum(bars["y"]) == fleet.height
    low = fleet.filter(pl.col("battery_pct") < 10).height
    assert bars["y"][0] == low
    usage = live_charts.trips_by_day_part(served, "demo", period="week")
    shown = sum(
        round(y * d)
        for trace in day_parts["data"]
        for y, d in zip(
            trace["y"],
            usage.filter(pl.col("day_type") == trace["name"].split()[0].lower())["days"],
            strict=True,
        )
    )
    assert shown == usage["trips"].sum() == live.kpis(served, "demo", period="week").trips


def test_live_parts_say_when_they_were_read_and_how_often(served: Store) -> None:
    """The first caption gives the local time of the read, the refresh period and the
    fleet's size and report time."""
    at = open_live_page()
    caption = at.caption[0].value
    assert re.match(r"updated \d\d:\d\d:\d\d, refreshes every 30 s · 1,600 vehicles", caption)
    assert "as reported Sat 2026-10-31 23:59 CDT" in caption


@pytest.fixture(scope="module")
def feed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with ``lyon`` (a GBFS 3.0 feed: 3 stations, 4 vehicles, no forecast) and
    ``bare`` (a system with neither vehicles nor stations)."""
    home = tmp_path_factory.mktemp("live") / "home"
    store = Store(load_settings(home=home, env={}))
    try:
        ingest_gbfs(store, GBFS_V3, system_id="lyon", language="fr", now=FEED_TIME)
        register_system(store, SystemInfo(system_id="bare", name="Bare city", timezone="UTC"), None)
    finally:
        store.close()
    return home


def test_stations_are_drawn_by_availability_without_forecasts(
    feed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stations get their availability colour (the empty one red) and their bikes and docks
    in the tooltip; without a forecast the deficit list says how to issue one."""
    _use_home(monkeypatch, feed_home)
    at = open_live_page("lyon")
    store = Store(load_settings(home=feed_home, env={}))
    try:
        stations = live.stations(store, "lyon")
    finally:
        store.close()
    _, layers = deck_of(at)
    assert list(layers) == ["stations", "vehicles"]
    drawn = {p["tip_id"]: p for p in layers["stations"]["data"]}
    assert set(drawn) == set(stations["station_id"].to_list())
    for row in stations.iter_rows(named=True):
        point = drawn[row["station_id"]]
        expected = maps.station_rgb(row["bikes_available"], row["docks_available"], row["fill"])
        assert tuple(point["rgb"]) == expected
        assert f"{row['bikes_available']} bikes" in point["tip_a"]
    assert tuple(drawn["st-3"]["rgb"]) == maps.STATION_EMPTY
    assert "fleetcast forecast --system lyon" in " ".join(i.value for i in at.info)
    assert not at.dataframe


def test_a_system_without_fleet_or_stations_says_how_to_load_a_feed(
    feed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No vehicle and no station: the page names the GBFS ingest and poll commands and
    draws no map, card or table."""
    _use_home(monkeypatch, feed_home)
    at = open_live_page("bare")
    messages = " ".join(i.value for i in at.info)
    assert "fleetcast ingest gbfs URL_OR_DIR --system bare" in messages
    assert "fleetcast poll gbfs URL --system bare --every 60s" in messages
    assert not at.get("deck_gl_json_chart")
    assert not at.metric and not at.dataframe
