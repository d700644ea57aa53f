"""Impossible records are quarantined with every reason they fail; the rest are kept.

tests/data/gbfs/bad/README.md lists each bad record and what must happen to it.
"""

from __future__ import annotations

import json

import pytest
from gbfs_helpers import BAD, NOW, document

from fleetcast.sources.gbfs import (
    CheckedFeed,
    FeedReader,
    check_station_information,
    check_station_status,
    check_vehicles,
    read_document,
)


def checked(name: str) -> CheckedFeed:
    """One file of the bad folder, validated as of NOW."""
    with FeedReader() as reader:
        doc = read_document(reader, name, str(BAD / f"{name}.json"), now=NOW)
    if name == "station_information":
        return check_station_information(doc)
    if name == "station_status":
        return check_station_status(doc, system_id="bad", timezone="Europe/Paris", now=NOW)
    return check_vehicles(doc, system_id="bad", timezone="Europe/Paris", now=NOW)


def rejected(feed: CheckedFeed) -> dict[int, str]:
    """Row number -> full reason text of each quarantined record."""
    return dict(feed.rejected.select("row_number", "reason").iter_rows())


def test_station_information_quarantine() -> None:
    """Out-of-world and (0, 0) coordinates, a negative capacity and a repeated id."""
    feed = checked("station_information")
    assert feed.accepted["station_id"].to_list() == ["s1", "s5"]
    assert rejected(feed) == {
        2: "coordinates outside the world",
        3: "coordinates at (0, 0)",
        4: "negative capacity",
        6: "duplicate station_id in this feed",
    }


def test_station_status_quarantine_collects_every_reason() -> None:
    """A record with a negative count and a far-future report gets both reasons."""
    feed = checked("station_status")
    assert feed.accepted["station_id"].to_list() == ["s1", "s3"]
    assert rejected(feed) == {
        2: "negative num_bikes_available",
        3: "negative num_docks_available; last_reported more than a day in the future",
        5: "unparseable num_bikes_available",
        6: "missing station_id",
    }
    assert feed.reasons["negative num_docks_available"] == 1
    assert feed.reasons["last_reported more than a day in the future"] == 1


def test_vehicles_quarantine_and_tolerated_flags() -> None:
    """Bad coordinates, a future report and a negative fuel level are quarantined; 0/1
    flags in a 2.3 feed are read and warned about."""
    feed = checked("free_bike_status")
    assert feed.accepted["vehicle_id"].to_list() == ["b1", "b6"]
    assert rejected(feed) == {
        2: "coordinates outside the world",
        3: "coordinates at (0, 0)",
        4: "last_reported more than a day in the future",
        5: "current_fuel_percent outside 0-1",
    }
    assert feed.warnings == [
        "is_reserved given as 0/1 in a 2.x feed (1 record): read as false/true",
        "is_disabled given as 0/1 in a 2.x feed (1 record): read as false/true",
    ]


def test_quarantined_records_keep_their_original_json() -> None:
    """The record column holds the record exactly as published."""
    feed = checked("free_bike_status")
    record = json.loads(feed.rejected.filter(feed.rejected["row_number"] == 2)["record"].item())
    assert record["bike_id"] == "b2"
    assert (record["lat"], record["lon"]) == (120.0, 200.0)


def test_values_are_never_clamped() -> None:
    """Nothing is stored in place of a bad value: the bad rows are simply not accepted."""
    feed = checked("station_status")
    assert feed.accepted["bikes_available"].min() == 0
    assert feed.accepted["docks_available"].min() == 10


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"station_id": "a", "num_bikes_available": 200_000}, "num_bikes_available over 100,000"),
        ({"station_id": "a", "num_bikes_available": 1, "is_renting": 7}, "unparseable is_renting"),
        ({"station_id": "a", "num_bikes_available": 1, "is_renting": None}, "missing is_renting"),
        ("not an object", "record is not a JSON object"),
    ],
)
def test_other_impossible_status_values(record: object, reason: str) -> None:
    """Absurd counts, non-boolean flags, flags missing from one record, non-objects."""
    good = {"station_id": "z", "num_bikes_available": 1, "is_renting": True}
    base = {"is_installed": True, "is_returning": True, "last_reported": 1760777000}
    records = [{**base, **good}]
    records.append({**base, **record} if isinstance(record, dict) else record)
    if isinstance(record, dict) and record.get("is_renting", True) is None:
        del records[-1]["is_renting"]
    feed = check_station_status(
        document("station_status", {"stations": records}),
        system_id="x",
        timezone="UTC",
        now=NOW,
    )
    assert feed.accepted["station_id"].to_list() == ["z"]
    assert reason in feed.rejected["reason"].item()


def test_a_flag_absent_from_every_record_is_read_as_its_default() -> None:
    """A feed that never publishes is_installed is read as installed, with a warning."""
    records = [
        {"station_id": str(i), "num_bikes_available": i, "is_renting": True, "is_returning": True}
        for i in range(3)
    ]
    feed = check_station_status(
        document("station_status", {"stations": records}), system_id="x", timezone="UTC", now=NOW
    )
    assert feed.accepted["is_installed"].to_list() == [True, True, True]
    assert feed.warnings == ["is_installed absent from every record (3 records): read as true"]
