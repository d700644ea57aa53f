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
from fleetcast.sources.gbfs.system import VehicleType


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


def status_feed(*records: dict[str, object]) -> CheckedFeed:
    """station_status of ``records`` (each completed with flags and a report time)."""
    base = {"is_installed": True, "is_renting": True, "is_returning": True}
    stations = [{**base, "last_reported": 1760777000, **r} for r in records]
    return check_station_status(
        document("station_status", {"stations": stations}),
        system_id="x",
        timezone="UTC",
        now=NOW,
        vehicle_types={"e": VehicleType("e", "bicycle", "electric_assist", None)},
    )


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"num_bikes_available": 99999999999999999999999}, "num_bikes_available over 100,000"),
        ({"num_bikes_available": 1e30}, "num_bikes_available over 100,000"),
        ({"num_docks_available": -(10**25)}, "negative num_docks_available"),
        ({"last_reported": 1e25}, "last_reported more than a day in the future"),
        (
            {"vehicle_types_available": [{"vehicle_type_id": "e", "count": 10**20}]},
            "e-bikes available over 100,000",
        ),
        ({"station_id": "s" * 65}, "station_id longer than 64 characters"),
    ],
)
def test_values_no_column_can_hold_quarantine_their_record(
    record: dict[str, object], reason: str
) -> None:
    """Counts of 1e23 or 1e30, a report time of 1e25 s and a 65-character id used to crash
    the whole feed (Int64 overflow, a failed datetime cast, or the db refusing the id);
    now only their record is quarantined, with the reason, and the others are kept."""
    good = {"station_id": "z", "num_bikes_available": 1}
    feed = status_feed(good, {"station_id": "a", "num_bikes_available": 1, **record})
    assert feed.accepted["station_id"].to_list() == ["z"]
    assert feed.rejected["reason"].to_list() == [reason]


def test_a_never_reported_placeholder_far_in_the_past_is_still_unknown() -> None:
    """last_reported -1e15 (before 2000, like Vélib's 86400) is read as "never reported",
    not cast into a datetime that cannot exist."""
    feed = status_feed({"station_id": "a", "num_bikes_available": 1, "last_reported": -1e15})
    assert feed.accepted["last_reported"].to_list() == [None]


def information_feed(*stations: dict[str, object]) -> CheckedFeed:
    """station_information of ``stations`` in a 2.3 feed."""
    return check_station_information(document("station_information", {"stations": list(stations)}))


def test_a_latitude_of_400_digits_is_quarantined() -> None:
    """An integer latitude too large for a float is a reason, not an OverflowError."""
    feed = information_feed(
        {"station_id": "a", "name": "A", "lat": 10**400, "lon": 2.3},
        {"station_id": "b", "name": "B", "lat": 48.8, "lon": 2.3},
    )
    assert feed.accepted["station_id"].to_list() == ["b"]
    assert feed.rejected["reason"].to_list() == ["unparseable lat"]


def test_a_station_id_over_64_characters_is_quarantined() -> None:
    """An id longer than the db column is quarantined (cutting it could merge stations)."""
    feed = information_feed(
        {"station_id": "a" * 65, "name": "A", "lat": 48.8, "lon": 2.3},
        {"station_id": "b", "name": "B", "lat": 48.8, "lon": 2.3},
    )
    assert feed.accepted["station_id"].to_list() == ["b"]
    assert feed.reasons == {"station_id longer than 64 characters": 1}


def test_a_name_over_256_characters_is_cut_with_a_warning() -> None:
    """A name only describes its station: the record is kept with the name cut to the
    db's 256 characters, and the cut is reported."""
    feed = information_feed({"station_id": "a", "name": "N" * 300, "lat": 48.8, "lon": 2.3})
    assert feed.accepted["name"].to_list() == ["N" * 256]
    assert feed.warnings == ["name longer than 256 characters (1 record): cut to 256"]


def test_a_v2_name_given_as_an_object_is_warned_about() -> None:
    """``"name": {"en": "A"}`` in a 2.3 feed is left empty, and no longer silently."""
    feed = information_feed({"station_id": "a", "name": {"en": "A"}, "lat": 48.8, "lon": 2.3})
    assert feed.accepted["name"].to_list() == [None]
    assert feed.warnings == ["name given as a JSON object (1 record): left empty"]


def test_vehicle_and_type_ids_longer_than_their_columns_are_quarantined() -> None:
    """A bike_id over 64 characters or a vehicle_type_id over 32 (the db's vehicle_type
    column) rejects the vehicle; the other vehicles are kept."""
    bike = {"lat": 48.8, "lon": 2.3, "is_reserved": False, "is_disabled": False}
    bikes = [
        {**bike, "bike_id": "v" * 65},
        {**bike, "bike_id": "t", "vehicle_type_id": "t" * 33},
        {**bike, "bike_id": "ok", "vehicle_type_id": "t" * 32},
    ]
    feed = check_vehicles(
        document("free_bike_status", {"bikes": bikes}),
        system_id="x",
        timezone="UTC",
        now=NOW,
    )
    assert feed.accepted["vehicle_id"].to_list() == ["ok"]
    assert feed.rejected["reason"].to_list() == [
        "bike_id longer than 64 characters",
        "vehicle_type_id longer than 32 characters",
    ]
    assert feed.rejected_ids == ("t",)


def test_vehicle_report_times_no_column_can_hold() -> None:
    """A vehicle's last_reported of 1e25 quarantines it (it crashed the datetime cast);
    one before 2000 (-1e15, 0) is a "never reported" placeholder, read as unknown and
    noted, since the vehicle's position is still good."""
    bike = {"lat": 48.8, "lon": 2.3, "is_reserved": False, "is_disabled": False}
    bikes = [
        {**bike, "bike_id": "far", "last_reported": 1e25},
        {**bike, "bike_id": "early", "last_reported": -1e15},
        {**bike, "bike_id": "zero", "last_reported": 0},
    ]
    feed = check_vehicles(
        document("free_bike_status", {"bikes": bikes}), system_id="x", timezone="UTC", now=NOW
    )
    assert feed.accepted["vehicle_id"].to_list() == ["early", "zero"]
    assert feed.reasons == {"last_reported more than a day in the future": 1}
    assert (
        "last_reported is a 'never reported' placeholder before 2000, e.g. 0 (2 records): "
        "read as unknown"
    ) in feed.warnings
