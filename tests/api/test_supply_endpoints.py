"""Live supply endpoints answer what the jobs compute, and bad queries are 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import pytest
from fastapi.testclient import TestClient

from fleetcast.domain import SystemInfo
from fleetcast.jobs import live
from fleetcast.store import Store, records, state


def test_vehicles_with_flags_and_filters(client: TestClient, served_store: Store) -> None:
    """All vehicles, then only low-battery ones, then only those outside a parking."""
    every = client.get("/vehicles", params={"system": "demo"}).json()["rows"]
    assert len(every) == live.vehicles(served_store, "demo").height > 0
    low = client.get("/vehicles", params={"system": "demo", "low_battery": "true"}).json()["rows"]
    assert low and all(r["low_battery"] for r in low)
    assert len(low) == sum(r["low_battery"] for r in every)
    out = client.get("/vehicles", params={"system": "demo", "outside_parking": "true"}).json()
    assert all(not r["at_parking"] for r in out["rows"])


def test_supply_ranks_needs_first(client: TestClient, served_store: Store) -> None:
    """The first places are the job's needs in the same order; the window is given."""
    body = client.get("/supply", params={"system": "demo", "limit": 5}).json()
    needs = live.supply(served_store, "demo").needs()
    assert [p["place_id"] for p in body["places"]] == needs["place_id"].head(5).to_list()
    assert body["window_start"] < body["window_end"]


def test_kpis_per_period(client: TestClient, served_store: Store) -> None:
    """The week's KPIs equal the job's; a period that does not exist is a 422."""
    body = client.get("/kpis", params={"system": "demo", "period": "week"}).json()
    expected = live.kpis(served_store, "demo", period="week").as_dict()
    assert body["kpis"]["trips"] == expected["trips"]
    assert body["kpis"]["low_battery_vehicles"] == expected["low_battery_vehicles"]
    bad = client.get("/kpis", params={"system": "demo", "period": "year"})
    assert bad.status_code == 422 and "period" in str(bad.json()["detail"])


@pytest.fixture
def docks(served_store: Store) -> Iterator[str]:
    """A small station-based system next to the demo: two stations, one empty."""
    sid = "docks"
    now = datetime(2026, 11, 1, 8, tzinfo=UTC)
    with served_store.begin() as conn:
        records.save_system(conn, SystemInfo(sid, "Docks", "America/Chicago"))
        state.save_stations(
            conn,
            sid,
            pl.DataFrame(
                {
                    "station_id": ["s1", "s2"],
                    "name": ["One", "Two"],
                    "lat": [41.88, 41.89],
                    "lon": [-87.63, -87.62],
                    "capacity": [10, 20],
                }
            ),
        )
        state.save_station_status(
            conn,
            sid,
            pl.DataFrame(
                {
                    "station_id": ["s1", "s2"],
                    "observed_at": [now, now],
                    "bikes_available": [0, 15],
                    "docks_available": [10, 5],
                    "is_installed": [True, True],
                    "is_renting": [True, True],
                    "is_returning": [True, True],
                }
            ),
        )
    yield sid
    with served_store.begin() as conn:
        records.delete_system(conn, sid)


def test_stations_with_status_and_fill(client: TestClient, docks: str) -> None:
    """Both stations with bikes, docks and fill (bikes over capacity)."""
    rows = client.get("/stations", params={"system": docks}).json()["rows"]
    assert [(r["station_id"], r["bikes_available"], r["fill"]) for r in rows] == [
        ("s1", 0, 0.0),
        ("s2", 15, 0.75),
    ]


@pytest.mark.parametrize("path", ["/stations", "/vehicles", "/supply", "/kpis"])
def test_unknown_system_is_404(client: TestClient, path: str) -> None:
    """Every supply endpoint names the unknown system."""
    response = client.get(path, params={"system": "nowhere"})
    assert response.status_code == 404 and "nowhere" in response.json()["detail"]


def test_supply_without_forecasts_or_live_state_is_409(client: TestClient, docks: str) -> None:
    """A station system without forecasts, and a system without any live state, get a 409
    that says what to run."""
    no_forecasts = client.get("/supply", params={"system": docks})
    assert no_forecasts.status_code == 409
    assert "fleetcast forecast" in no_forecasts.json()["detail"]


def test_supply_of_a_system_without_live_state_is_409(
    client: TestClient, served_store: Store
) -> None:
    """A system that has never seen a vehicle or a station says to ingest a feed."""
    with served_store.begin() as conn:
        records.save_system(conn, SystemInfo("empty", "Empty", "Europe/Paris"))
    try:
        response = client.get("/supply", params={"system": "empty"})
        assert response.status_code == 409
        assert "ingest gbfs" in response.json()["detail"]
    finally:
        with served_store.begin() as conn:
            records.delete_system(conn, "empty")
