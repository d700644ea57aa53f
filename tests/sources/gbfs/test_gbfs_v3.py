"""The hand-written GBFS 3.0 files (tests/data/gbfs/v3): RFC 3339 times, localized names,
vehicle_status, vehicle types at stations."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from gbfs_helpers import NOW, V3, document

from fleetcast.sources.gbfs import (
    FeedDocument,
    FeedReader,
    check_station_information,
    check_station_status,
    check_vehicles,
    discover,
    read_document,
    read_system_information,
    read_vehicle_types,
)

PUBLISHED = datetime(2025, 10, 18, 9, 10, tzinfo=UTC)


@pytest.fixture
def docs() -> dict[str, FeedDocument]:
    """Every file of the 3.0 folder, found through its gbfs.json."""
    with FeedReader() as reader:
        found = discover(V3, reader=reader, now=NOW)
        return {
            name: read_document(reader, name, url, now=NOW, version=found.version)
            for name, url in found.feeds.items()
        }


def test_system_information_gives_the_name_in_the_asked_language(
    docs: dict[str, FeedDocument],
) -> None:
    """Localized names follow --language, English by default; the timezone is read."""
    assert read_system_information(docs["system_information"]).name == "Example Bikes Lyon"
    french = read_system_information(docs["system_information"], language="fr")
    assert (french.name, french.timezone, french.gbfs_system_id) == (
        "Vélos Exemple Lyon",
        "Europe/Paris",
        "example_lyon",
    )
    assert french.warnings == ()


def test_stations_and_their_status(docs: dict[str, FeedDocument]) -> None:
    """3 stations with localized names; statuses with RFC 3339 times, e-bikes counted from
    vehicle_types_available by the types' propulsion."""
    types, _ = read_vehicle_types(docs["vehicle_types"])
    info = check_station_information(docs["station_information"], language="en")
    assert info.accepted["name"].to_list() == ["Bellecour Square", "Part-Dieu Station", "City Hall"]
    status = check_station_status(
        docs["station_status"],
        system_id="lyon",
        timezone="Europe/Paris",
        now=NOW,
        vehicle_types=types,
    )
    assert status.reasons == {} and status.warnings == []
    rows = {r["station_id"]: r for r in status.accepted.iter_rows(named=True)}
    assert rows["st-1"]["bikes_available"] == 7
    assert rows["st-1"]["ebikes_available"] == 3
    assert rows["st-1"]["bikes_disabled"] == 1
    assert rows["st-1"]["last_reported"] == datetime(2025, 10, 18, 9, 8, 30, tzinfo=UTC)
    assert rows["st-2"]["ebikes_available"] == 0
    assert rows["st-2"]["docks_disabled"] is None
    assert rows["st-3"]["is_renting"] is False
    assert set(status.accepted["observed_at"]) == {PUBLISHED}


def test_vehicle_status(docs: dict[str, FeedDocument]) -> None:
    """4 vehicles: fuel in percent, one placed at its station, one battery estimated."""
    types, _ = read_vehicle_types(docs["vehicle_types"])
    info = check_station_information(docs["station_information"])
    stations = {
        sid: (lat, lon) for sid, lat, lon in info.accepted.select("station_id", "lat", "lon").rows()
    }
    vehicles = check_vehicles(
        docs["vehicle_status"],
        system_id="lyon",
        timezone="Europe/Paris",
        now=NOW,
        vehicle_types=types,
        stations=stations,
    )
    assert vehicles.reasons == {}
    rows = {r["vehicle_id"]: r for r in vehicles.accepted.iter_rows(named=True)}
    assert rows["v-1"]["battery_pct"] == 70.0
    assert rows["v-2"]["is_reserved"] is True
    assert (rows["v-3"]["lat"], rows["v-3"]["lon"]) == stations["st-2"]
    assert rows["v-3"]["battery_pct"] is None
    assert rows["v-4"]["battery_pct"] == 10.0
    assert rows["v-4"]["is_disabled"] is True
    assert vehicles.warnings == [
        "vehicles at a station without coordinates (1 record): placed at the station",
        "no current_fuel_percent (1 record): battery estimated as current_range_meters / "
        "max_range_meters of the type",
    ]


def test_a_vehicle_at_an_unknown_station_is_quarantined() -> None:
    """No coordinates and a station that does not exist: the record has nowhere to be."""
    doc = document(
        "vehicle_status",
        {
            "vehicles": [
                {
                    "vehicle_id": "v",
                    "station_id": "gone",
                    "is_reserved": False,
                    "is_disabled": False,
                }
            ]
        },
        version="3.0",
        last_updated="2025-10-18T09:00:00Z",
    )
    checked = check_vehicles(doc, system_id="x", timezone="UTC", now=NOW, stations={})
    assert checked.accepted.is_empty()
    assert checked.rejected["reason"].to_list() == ["no coordinates and an unknown station_id"]


def test_v2_names_in_a_v3_feed_are_read_and_noted() -> None:
    """A 3.0 status that still says num_bikes_available is read, with a warning."""
    doc = document(
        "station_status",
        {
            "stations": [
                {
                    "station_id": "a",
                    "num_bikes_available": 2,
                    "is_installed": True,
                    "is_renting": True,
                    "is_returning": True,
                    "last_reported": "2025-10-18T08:59:00Z",
                }
            ]
        },
        version="3.0",
        last_updated="2025-10-18T09:00:00Z",
    )
    checked = check_station_status(doc, system_id="x", timezone="UTC", now=NOW)
    assert checked.accepted["bikes_available"].to_list() == [2]
    assert checked.warnings == [
        "num_bikes_available used in a 3.x feed (1 record): read as num_vehicles_available"
    ]
    assert checked.accepted.select(pl.col("last_reported").dt.minute()).item() == 59
