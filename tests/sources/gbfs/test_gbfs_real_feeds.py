"""Real snapshots (../shared/data/gbfs) through the GBFS readers: Vélib' (its deviations
read and reported), Bay Wheels (a standard 1.x/2.x shape) and Tier Wolfsburg (2.3 vehicles)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from fleetcast.domain import STATION_STATUS, VEHICLE_STATUS
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
from shared_data import shared_file

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def read_folder(name: str) -> dict[str, FeedDocument]:
    """Every file of a shared GBFS folder, read as the jobs read it."""
    folder: Path = shared_file("gbfs", name).resolve()
    with FeedReader() as reader:
        found = discover(folder, reader=reader, now=NOW)
        return {
            feed: read_document(reader, feed, url, now=NOW, version=found.version)
            for feed, url in found.feeds.items()
        }


def test_velib_stations_load_with_every_deviation_reported() -> None:
    """1,495 stations: integer ids as text, and the four Vélib' deviations as warnings."""
    docs = read_folder("velib_paris")
    info = check_station_information(docs["station_information"])
    status = check_station_status(
        docs["station_status"], system_id="paris", timezone="Europe/Paris", now=NOW
    )
    assert (info.rows_read, info.accepted.height, info.rejected.height) == (1495, 1495, 0)
    assert (status.rows_read, status.accepted.height, status.rejected.height) == (1495, 1495, 0)
    assert info.accepted["station_id"].dtype == pl.String
    assert "213688169" in info.accepted["station_id"].to_list()
    assert status.warnings == [
        "top-level timestamp named lastUpdatedOther instead of last_updated: read as last_updated",
        "camelCase duplicates numBikesAvailable, numDocksAvailable beside the spec fields "
        "(1,495 records): ignored, the snake_case fields are read",
        "station_id given as integers (1,495 records): read as text",
        'num_bikes_available_types given as a list of one-key objects [{"mechanical": n}, '
        '{"ebike": m}] (1,495 records): e-bikes counted from it',
    ]


def test_velib_status_values_match_the_file() -> None:
    """The first station: 5 bikes of which 4 e-bikes, 30 docks, published 2025-10-18."""
    status = check_station_status(
        read_folder("velib_paris")["station_status"],
        system_id="paris",
        timezone="Europe/Paris",
        now=NOW,
    )
    first = status.accepted.filter(pl.col("station_id") == "213688169").row(0, named=True)
    assert first["bikes_available"] == 5
    assert first["ebikes_available"] == 4
    assert first["docks_available"] == 30
    assert first["is_renting"] is True
    assert first["observed_at"] == datetime.fromtimestamp(1760778556, UTC)
    assert first["last_reported"] == datetime.fromtimestamp(1760776294, UTC)
    assert str(first["date"]) == "2025-10-18"
    assert status.accepted.schema == pl.Schema(STATION_STATUS)
    assert (status.accepted["ebikes_available"] <= status.accepted["bikes_available"]).all()


def test_bay_wheels_is_standard_with_uuid_ids_and_lyft_ebikes() -> None:
    """518 stations with UUID ids, e-bikes from num_ebikes_available, a timezone from
    system_information, and the 'never reported' 86400 read as unknown."""
    docs = read_folder("baywheels_sf")
    system = read_system_information(docs["system_information"])
    assert (system.name, system.timezone) == ("Bay Wheels", "America/Los_Angeles")
    info = check_station_information(docs["station_information"])
    status = check_station_status(
        docs["station_status"], system_id="sf", timezone=system.timezone or "", now=NOW
    )
    assert info.accepted.height == status.accepted.height == 518
    assert info.warnings == [] and info.reasons == {}
    assert info.accepted["station_id"].str.len_chars().max() == 36
    assert status.accepted["ebikes_available"].null_count() == 0
    never = status.accepted.filter(pl.col("station_id") == "1835733187981824398")
    assert never["last_reported"].to_list() == [None]
    assert never["is_installed"].to_list() == [False]
    assert status.warnings == [
        "last_reported is a 'never reported' placeholder before 2000, e.g. 86400 "
        "(1 record): read as unknown"
    ]


def test_tier_vehicles_with_types_and_estimated_battery() -> None:
    """840 scooters of type okai_escooter; batteries estimated from range and noted."""
    docs = read_folder("tier_wolfsburg")
    types, warnings = read_vehicle_types(docs["vehicle_types"])
    assert warnings == []
    assert types["okai_escooter"].max_range_m == 46000
    assert types["okai_escooter"].kind == "scooter"
    vehicles = check_vehicles(
        docs["free_bike_status"],
        system_id="wob",
        timezone="Europe/Berlin",
        now=NOW,
        vehicle_types=types,
    )
    assert (vehicles.rows_read, vehicles.accepted.height) == (840, 840)
    assert vehicles.accepted.schema == pl.Schema(VEHICLE_STATUS)
    first = vehicles.accepted.filter(
        pl.col("vehicle_id") == "161ac588-689f-4e9c-9ef6-4009b93dc3b2"
    ).row(0, named=True)
    assert first["battery_pct"] == round(100 * 39000 / 46000, 4)
    assert first["vehicle_type"] == "okai_escooter"
    assert vehicles.warnings == [
        "no current_fuel_percent (840 records): battery estimated as current_range_meters "
        "/ max_range_meters of the type"
    ]
