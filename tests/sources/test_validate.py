"""Tests of trip validation: every reason per row, limits, zones by point-in-polygon."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import shapely

from fleetcast.domain import TRIPS
from fleetcast.errors import SchemaError
from fleetcast.geo import Zoning
from fleetcast.sources.validate import ROW, TripLimits, check_trips, quarantine_rows

START = datetime(2020, 8, 12, 11, tzinfo=UTC)
"""6 AM in Chicago on 12 August 2020."""

_TYPED: dict[str, Any] = {
    "trip_id": "t",
    "started_at": START,
    "ended_at": START + timedelta(minutes=15),
    "duration_s": 900.0,
    "distance_m": 1500.0,
    "start_lat": 41.91,
    "start_lon": -87.69,
    "end_lat": 41.91,
    "end_lon": -87.67,
    "start_zone": "1",
    "end_zone": "2",
    "provider": "Lime",
}
_RAW = {
    "started_at_raw": "started_at",
    "ended_at_raw": "ended_at",
    "duration_raw": "duration_s",
    "distance_raw": "distance_m",
    "start_lat_raw": "start_lat",
    "start_lon_raw": "start_lon",
    "end_lat_raw": "end_lat",
    "end_lon_raw": "end_lon",
}
_SCHEMA = {
    ROW: pl.Int64,
    **{name: TRIPS[name] for name in _TYPED},
    **dict.fromkeys(_RAW, pl.String),
}


def candidates(*rows: dict[str, Any]) -> pl.DataFrame:
    """Candidate trips: a good trip from zone 1 to zone 2 changed by each row's overrides.

    Raw text columns follow the typed values (null stays null) unless a row gives them, so
    ``{"duration_s": None, "duration_raw": "ten"}`` is a duration that did not parse.
    """
    records = []
    for number, overrides in enumerate(rows, start=1):
        row = {ROW: number, **_TYPED, "trip_id": f"t{number}", **overrides}
        for raw, typed in _RAW.items():
            if raw not in row:
                row[raw] = None if row[typed] is None else str(row[typed])
        records.append(row)
    return pl.DataFrame(records, schema=_SCHEMA)


@pytest.fixture
def mini_zoning(mini_zones_path: Path) -> Zoning:
    """The four 2 km test squares: 1 and 2 south (west, east), 3 and 4 north of them."""
    return Zoning.from_geojson(mini_zones_path)


def check(frame: pl.DataFrame, zoning: Zoning | None, **kwargs: Any) -> Any:
    """check_trips for the test system in Chicago time."""
    return check_trips(frame, system_id="test", timezone="America/Chicago", zoning=zoning, **kwargs)


def reasons_by_row(checked: Any) -> dict[int, str]:
    """Rejected row number -> reason text."""
    return dict(checked.rejected.select("row_number", "reason").iter_rows())


def test_good_trip_is_accepted_with_its_local_day(mini_zoning: Zoning) -> None:
    """A clean trip passes in the TRIPS schema, with the system id and its local start day.

    8 PM in Chicago on 12 August is 01:00 UTC on the 13th: the day must be the 12th.
    """
    evening = datetime(2020, 8, 13, 1, tzinfo=UTC)
    checked = check(
        candidates({}, {"started_at": evening, "ended_at": evening + timedelta(hours=1)}),
        mini_zoning,
    )
    assert checked.rejected.is_empty() and checked.reasons == {}
    assert checked.rows_read == 2
    assert checked.accepted.schema == pl.Schema(TRIPS)
    assert checked.accepted["system_id"].to_list() == ["test", "test"]
    assert checked.accepted["date"].to_list() == [date(2020, 8, 12), date(2020, 8, 12)]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"trip_id": None}, "missing trip id"),
        ({"trip_id": "  "}, "missing trip id"),
        ({"started_at": None}, "missing start time"),
        ({"started_at": None, "started_at_raw": " "}, "missing start time"),
        ({"started_at": None, "started_at_raw": "yesterday"}, "unparseable start time"),
        ({"ended_at": None}, "missing end time"),
        ({"ended_at": None, "ended_at_raw": "13/45/2020"}, "unparseable end time"),
        ({"ended_at": START - timedelta(seconds=1)}, "ends before it starts"),
        ({"duration_s": None, "duration_raw": "ten minutes"}, "unparseable duration"),
        ({"duration_s": -1.0}, "absurd duration"),
        ({"duration_s": 86_401.0}, "absurd duration"),
        ({"duration_s": float("nan")}, "absurd duration"),
        ({"distance_m": None, "distance_raw": "far"}, "unparseable distance"),
        ({"distance_m": -0.5}, "absurd distance"),
        ({"distance_m": 100_001.0}, "absurd distance"),
        ({"start_lat": None, "start_lat_raw": "41.91N"}, "unparseable start coordinates"),
        ({"end_lon": None, "end_lon_raw": "west"}, "unparseable end coordinates"),
        ({"start_lat": 90.5}, "start coordinates outside the world"),
        ({"start_lon": -180.5}, "start coordinates outside the world"),
        ({"end_lat": float("nan")}, "end coordinates outside the world"),
        ({"start_zone": "99"}, "unknown start zone"),
        ({"end_zone": "99"}, "unknown end zone"),
        (
            {"start_zone": None, "start_lat": None, "start_lon": None},
            "no start zone and no start coordinates",
        ),
        (
            {"start_zone": None, "start_lat": 41.8819, "start_lon": -87.6278},
            "start outside every zone",
        ),
        ({"end_zone": None, "end_lat": 41.8819, "end_lon": -87.6278}, "end outside every zone"),
    ],
)
def test_each_defect_has_its_reason(
    mini_zoning: Zoning, overrides: dict[str, Any], reason: str
) -> None:
    """One defect gives exactly one reason, and the good row beside it still loads.

    An end outside every zone rejects the trip (current behaviour: its end cannot be
    counted anywhere), while a trip with neither end zone nor end point is accepted.
    """
    checked = check(candidates({}, overrides), mini_zoning)
    assert reasons_by_row(checked) == {2: reason}
    assert checked.reasons == {reason: 1}
    assert checked.accepted["trip_id"].to_list() == ["t1"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"duration_s": 0.0},
        {"duration_s": 86_400.0},
        {"distance_m": 0.0},
        {"distance_m": 100_000.0},
        {"ended_at": START},
        {"duration_s": None, "distance_m": None},
        {"end_zone": None, "end_lat": None, "end_lon": None},
        {"provider": None},
    ],
)
def test_edge_values_are_accepted(mini_zoning: Zoning, overrides: dict[str, Any]) -> None:
    """Limits are inclusive; blank durations and distances and an unknown end are allowed.

    (A blank duration or distance is loaded as null: only text that fails to parse or a
    value beyond the limits is a reason to reject.)
    """
    checked = check(candidates(overrides), mini_zoning)
    assert checked.rejected.is_empty()
    assert checked.accepted.height == 1


def test_every_reason_of_a_row_is_reported(mini_zoning: Zoning) -> None:
    """A row with many defects lists all of them, in the validator's order, not the first."""
    broken = {
        "trip_id": None,
        "ended_at": START - timedelta(hours=1),
        "duration_s": 999_999.0,
        "distance_m": None,
        "distance_raw": "far",
        "start_lat": 123.0,
        "end_zone": "99",
    }
    checked = check(candidates({}, broken), mini_zoning)
    assert reasons_by_row(checked) == {
        2: "missing trip id; ends before it starts; absurd duration; unparseable distance; "
        "start coordinates outside the world; unknown end zone"
    }
    assert sum(checked.reasons.values()) == 6


def test_reasons_are_counted_over_rows(mini_zoning: Zoning) -> None:
    """``reasons`` counts rows per reason, most frequent first, then alphabetically."""
    checked = check(
        candidates(
            {"duration_s": -1.0},
            {"duration_s": -2.0, "distance_m": -1.0},
            {"distance_m": -1.0},
            {"start_zone": "99"},
            {},
        ),
        mini_zoning,
    )
    assert list(checked.reasons.items()) == [
        ("absurd distance", 2),
        ("absurd duration", 2),
        ("unknown start zone", 1),
    ]
    assert checked.rejected["row_number"].to_list() == [1, 2, 3, 4]


def test_duplicate_trip_ids_keep_the_first(mini_zoning: Zoning) -> None:
    """A trip id seen earlier in the input rejects the later rows, with the reason given.

    Regression: the duplicate check ran on the rejected rows alone, where the duplicate
    was "first", so the row was rejected with an empty reason.
    """
    checked = check(
        candidates(
            {"trip_id": "a"},
            {"trip_id": "b"},
            {"trip_id": "a"},
            {"trip_id": "a", "duration_s": -1.0},
            {"trip_id": "b"},
        ),
        mini_zoning,
    )
    assert checked.accepted["trip_id"].to_list() == ["a", "b"]
    assert reasons_by_row(checked) == {
        3: "duplicate trip id in this input",
        4: "absurd duration; duplicate trip id in this input",
        5: "duplicate trip id in this input",
    }
    assert checked.reasons == {"duplicate trip id in this input": 3, "absurd duration": 1}


def test_custom_limits() -> None:
    """TripLimits moves the bounds and refuses bounds that make no sense."""
    limits = TripLimits(max_duration_s=600.0, max_distance_m=1000.0, min_duration_s=60.0)
    checked = check(
        candidates({"duration_s": 30.0}, {"duration_s": 700.0}, {"duration_s": 60.0}),
        None,
        limits=limits,
        known_zones={"1", "2"},
    )
    assert reasons_by_row(checked) == {
        1: "absurd duration; absurd distance",
        2: "absurd duration; absurd distance",
        3: "absurd distance",
    }
    with pytest.raises(ValueError, match="max_duration_s must be larger"):
        TripLimits(max_duration_s=10.0, min_duration_s=10.0)
    with pytest.raises(ValueError, match="max_distance_m must be positive"):
        TripLimits(max_distance_m=0.0)


def test_zone_label_and_known_zones() -> None:
    """Zones are checked against ``known_zones`` and reasons use the source's zone label."""
    checked = check(
        candidates({}, {"start_zone": "3"}),
        None,
        known_zones={"1", "2"},
        zone_label="community area",
    )
    assert reasons_by_row(checked) == {2: "unknown start community area"}


def test_missing_zones_are_located_by_point_in_polygon(mini_zoning: Zoning) -> None:
    """Trips with coordinates but no zone get the zone containing each end.

    A point on the border of zones 1 and 2 takes the first zone; a given zone is kept
    even when the coordinates lie elsewhere (the source's word wins).
    """
    checked = check(
        candidates(
            {"start_zone": None, "start_lat": 41.935, "start_lon": -87.695},
            {"end_zone": None, "end_lat": 41.935, "end_lon": -87.665},
            {"start_zone": None, "start_lat": 41.91, "start_lon": -87.68},
            {"start_zone": "4", "start_lat": 41.905, "start_lon": -87.695},
        ),
        mini_zoning,
    )
    assert checked.rejected.is_empty()
    assert checked.accepted.select("start_zone", "end_zone").rows() == [
        ("3", "2"),
        ("1", "4"),
        ("1", "2"),
        ("4", "2"),
    ]


def test_point_in_polygon_matches_brute_force(mini_zoning: Zoning) -> None:
    """Located zones agree with shapely tested zone by zone on 400 random points.

    The points cover the four squares and a margin around them, so some fall outside
    every zone and must be rejected.
    """
    rng = np.random.default_rng(3)
    lats = rng.uniform(41.89, 41.95, 400)
    lons = rng.uniform(-87.71, -87.65, 400)
    checked = check(
        candidates(
            *(
                {"start_zone": None, "start_lat": float(a), "start_lon": float(o)}
                for a, o in zip(lats, lons, strict=True)
            )
        ),
        mini_zoning,
    )
    expected: dict[int, str | None] = {}
    for number, (a, o) in enumerate(zip(lats, lons, strict=True), start=1):
        point = shapely.Point(o, a)
        inside = [
            z
            for z, g in zip(mini_zoning.zone_ids, mini_zoning.geometries, strict=True)
            if g.covers(point)
        ]
        expected[number] = inside[0] if inside else None
    located = dict(
        checked.accepted.select(
            pl.col("trip_id").str.slice(1).cast(pl.Int64), "start_zone"
        ).iter_rows()
    )
    assert located == {n: z for n, z in expected.items() if z is not None}
    assert reasons_by_row(checked) == {
        n: "start outside every zone" for n, z in expected.items() if z is None
    }
    assert 0 < len(located) < 400


def test_without_zoning_zones_must_be_given() -> None:
    """With no polygons (H3 systems fill zones beforehand) nothing is located.

    A trip without a start zone is rejected; one without an end zone is accepted.
    """
    checked = check(
        candidates({}, {"start_zone": None}, {"end_zone": None}),
        None,
        known_zones={"1", "2"},
    )
    assert reasons_by_row(checked) == {2: "start outside every zone"}
    assert checked.accepted["trip_id"].to_list() == ["t1", "t3"]


def test_candidates_without_the_needed_columns_are_refused(mini_zoning: Zoning) -> None:
    """A source that forgets a needed column gets a SchemaError naming it."""
    with pytest.raises(SchemaError, match=r"candidate trips lack \['ended_at_raw'\]"):
        check(candidates({}).drop("ended_at_raw"), mini_zoning)


def test_quarantine_rows_keep_the_original_record() -> None:
    """Rejected rows carry reason, ingest id, source and the original text row as JSON."""
    raw = pl.DataFrame(
        {ROW: [1, 2, 3], "Trip ID": ["a", "b", "c"], "Trip Duration": ["1", "-5", None]}
    )
    rejected = pl.DataFrame({"row_number": [2, 3], "reason": ["absurd duration", "x; y"]})
    rows = quarantine_rows(rejected, raw, system_id="s", ingest_id="i-1", source="chicago")
    assert rows.select("row_number", "reason", "system_id", "ingest_id", "source").rows() == [
        (2, "absurd duration", "s", "i-1", "chicago"),
        (3, "x; y", "s", "i-1", "chicago"),
    ]
    assert [json.loads(r) for r in rows["record"]] == [
        {"Trip ID": "b", "Trip Duration": "-5"},
        {"Trip ID": "c", "Trip Duration": None},
    ]
    assert rows["date"].dtype == pl.Date
    empty = quarantine_rows(rejected.clear(), raw, system_id="s", ingest_id="i", source="x")
    assert empty.is_empty()
