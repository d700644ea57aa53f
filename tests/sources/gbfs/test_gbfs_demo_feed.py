"""The demo fleet written as a GBFS 2.3 folder reads back as the same vehicles."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl

from fleetcast.sources.gbfs import (
    FeedReader,
    check_vehicles,
    discover,
    read_document,
    read_vehicle_types,
)
from fleetcast.sources.synthetic import generate_city
from fleetcast.sources.synthetic.gbfs_feed import write_gbfs_folder


def test_demo_folder_is_gbfs_2_3_and_round_trips(tmp_path: Path) -> None:
    """gbfs.json lists three feeds by file URI; every vehicle comes back unchanged."""
    city = generate_city(seed=3, days=28, n_zones=12)
    folder = write_gbfs_folder(city, tmp_path / "demo_gbfs")
    gbfs = json.loads((folder / "gbfs.json").read_text())
    assert gbfs["version"] == "2.3"
    assert [f["name"] for f in gbfs["data"]["en"]["feeds"]] == [
        "system_information",
        "vehicle_types",
        "free_bike_status",
    ]
    bikes = json.loads((folder / "free_bike_status.json").read_text())["data"]["bikes"]
    assert len(bikes) == city.vehicles.height
    assert set(bikes[0]) >= {
        "bike_id",
        "lat",
        "lon",
        "is_reserved",
        "is_disabled",
        "vehicle_type_id",
        "current_fuel_percent",
    }
    assert all(0 <= b["current_fuel_percent"] <= 1 for b in bikes)
    now = city.vehicles["observed_at"].max()
    assert isinstance(now, datetime)
    with FeedReader() as reader:
        found = discover(folder, reader=reader, now=now)
        docs = {n: read_document(reader, n, u, now=now) for n, u in found.feeds.items()}
    types, _ = read_vehicle_types(docs["vehicle_types"])
    checked = check_vehicles(
        docs["free_bike_status"],
        system_id=city.system.system_id,
        timezone=city.system.timezone,
        now=now,
        vehicle_types=types,
    )
    assert checked.warnings == [] and checked.reasons == {}
    columns = [
        "vehicle_id",
        "observed_at",
        "lat",
        "lon",
        "battery_pct",
        "is_reserved",
        "is_disabled",
        "vehicle_type",
        "date",
    ]
    got = checked.accepted.select(columns).sort("vehicle_id")
    expected = city.vehicles.select(columns).sort("vehicle_id")
    assert got.equals(expected)
    assert got.select(pl.col("vehicle_type").unique()).to_series().to_list() == ["scooter"]
