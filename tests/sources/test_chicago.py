"""Tests of the City of Chicago source: the portal's CSV layout, its times, areas and zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import shapely

from fleetcast.errors import SchemaError
from fleetcast.sources import chicago
from fleetcast.sources.chicago_sample import COLUMNS, sample_trips
from fleetcast.sources.validate import ROW, check_trips

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
LOOP = (41.8819, -87.6278)


def portal_rows(*rows: dict[str, str | None]) -> pl.DataFrame:
    """Text rows in the portal's columns (a good trip from area 1 to 2, then overrides)."""
    good = {
        chicago.TRIP_ID: "t",
        chicago.START_TIME: "08/12/2020 06:00:00 AM",
        chicago.END_TIME: "08/12/2020 07:00:00 AM",
        chicago.DISTANCE: "1500",
        chicago.DURATION: "900",
        chicago.START_AREA: "1",
        chicago.END_AREA: "2",
        chicago.START_LAT: "41.91",
        chicago.START_LON: "-87.69",
        chicago.END_LAT: "41.91",
        chicago.END_LON: "-87.67",
        chicago.VENDOR: "Lime",
    }
    frame = pl.DataFrame([{**good, **row} for row in rows], schema=dict.fromkeys(good, pl.String))
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def test_portal_columns_become_typed_candidates() -> None:
    """Local times become UTC, metres and seconds become floats, and the text is kept raw."""
    out = chicago.to_candidates(
        portal_rows(
            {chicago.TRIP_ID: " t1 ", chicago.VENDOR: " Lime ", chicago.DISTANCE: "1,500"},
            {chicago.START_TIME: "11/01/2020 01:00:00 AM", chicago.END_TIME: "01/15/2021 11:00 PM"},
        )
    )
    first = out.row(0, named=True)
    assert first["trip_id"] == "t1"
    assert first["provider"] == "Lime"
    assert first["vehicle_type"] == "scooter" and first["vehicle_id"] is None
    assert first["started_at"] == datetime(2020, 8, 12, 11, tzinfo=UTC)
    assert first["ended_at"] == datetime(2020, 8, 12, 12, tzinfo=UTC)
    assert (first["distance_m"], first["distance_raw"]) == (1500.0, "1,500")
    assert (first["duration_s"], first["duration_raw"]) == (900.0, "900")
    assert (first["start_lat"], first["end_lon"]) == (41.91, -87.67)
    second = out.row(1, named=True)
    assert second["started_at"] == datetime(2020, 11, 1, 6, tzinfo=UTC)
    assert second["ended_at"] is None and second["ended_at_raw"] == "01/15/2021 11:00 PM"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("8", "8"),
        ("8.0", "8"),
        (" 32 ", "32"),
        ("8.5", "8.5"),
        ("Loop", "Loop"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_community_area_numbers_become_zone_ids(text: str | None, zone: str | None) -> None:
    """Area numbers are zone ids as text ("8", even from "8.0"); other text is kept as is.

    Kept text is not a known zone, so validation rejects it as an unknown community area
    rather than guessing.
    """
    out = chicago.to_candidates(portal_rows({chicago.START_AREA: text, chicago.END_AREA: text}))
    assert out.select("start_zone", "end_zone").row(0) == (zone, zone)


def test_read_trips_csv_keeps_the_columns_it_reads(tmp_path: Path, mini_zones_path: Path) -> None:
    """Only the columns fleetcast uses are kept (and so land in a quarantine record)."""
    zoning = chicago.community_areas(mini_zones_path)
    path = tmp_path / "trips.csv"
    sample_trips(zoning, rows=5, seed=1).write_csv(path)
    table = chicago.read_trips_csv(path)
    assert set(table.frame.columns) == {ROW, *chicago.READ_COLUMNS}
    assert table.rows_read == 5
    assert "Accuracy" in COLUMNS


def test_wrong_columns_are_named() -> None:
    """A file in another layout is refused naming the missing columns and the ones it has.

    Regression: the message said the file had no columns at all ("the file has []").
    """
    with pytest.raises(SchemaError) as info:
        chicago.read_trips_csv(BAD / "wrong_columns.csv")
    message = str(info.value)
    assert message.startswith(
        "missing column(s) ['Trip ID', 'Start Time', 'End Time', 'Trip Distance', "
        "'Trip Duration']; the file has ['id', 'start', 'end', 'distance_m', 'duration_s', "
        "'zone', 'lat', 'lon']."
    )
    assert "'E-Scooter Trips' export" in message
    assert "fleetcast ingest trips PATH --map started_at=" in message


@pytest.mark.parametrize(
    ("dropped", "error"),
    [
        ([chicago.DURATION], "missing column(s) ['Trip Duration']"),
        ([chicago.START_AREA], None),
        ([chicago.START_LAT, chicago.START_LON], None),
        (
            [chicago.START_AREA, chicago.START_LAT],
            "missing column(s) ['Start Community Area Number']",
        ),
    ],
)
def test_zones_need_areas_or_centroids(
    tmp_path: Path, dropped: list[str], error: str | None
) -> None:
    """The trip columns are required, and zones need either area numbers or start centroids."""
    path = tmp_path / "trips.csv"
    portal_rows({}).drop(ROW).drop(dropped).write_csv(path)
    if error is None:
        assert chicago.read_trips_csv(path).rows_read == 1
        return
    with pytest.raises(SchemaError) as info:
        chicago.read_trips_csv(path)
    assert str(info.value).startswith(error)


def test_mini_community_areas(mini_zones_path: Path) -> None:
    """The test squares read as community areas: ids from area_numbe, title-case names."""
    zoning = chicago.community_areas(mini_zones_path)
    assert zoning.zone_ids == ("1", "2", "3", "4")
    assert zoning.names == ("Rogers Park", "West Ridge", "Uptown", "Lincoln Square")


def test_real_community_areas(chicago_areas_path: Path) -> None:
    """The portal's boundaries give the 77 areas numbered 1..77; the Loop (32) holds its centre."""
    zoning = chicago.community_areas(chicago_areas_path)
    assert sorted(zoning.zone_ids, key=int) == [str(n) for n in range(1, 78)]
    assert list(zoning.locate([LOOP[0]], [LOOP[1]])) == ["32"]
    assert zoning.names[zoning.zone_ids.index("32")] == "Loop"


def test_sample_trips_validate_over_real_areas(chicago_areas_path: Path) -> None:
    """Generated portal rows all pass, and rows without an area get the one their point is in.

    Oracle: each centroid tested against all 77 polygons with shapely, one by one.
    """
    zoning = chicago.community_areas(chicago_areas_path)
    raw = sample_trips(zoning, rows=400, seed=5).with_row_index(ROW, offset=1)
    raw = raw.with_columns(pl.col(ROW).cast(pl.Int64))
    checked = check_trips(
        chicago.to_candidates(raw),
        system_id="chicago",
        timezone=chicago.TIMEZONE,
        zoning=zoning,
        zone_label="community area",
    )
    assert checked.rejected.is_empty()
    got = dict(checked.accepted.select("trip_id", "start_zone").iter_rows())
    missing = raw.filter(pl.col(chicago.START_AREA).is_null())
    assert missing.height > 0
    for trip_id, lat, lon in missing.select(
        chicago.TRIP_ID, chicago.START_LAT, chicago.START_LON
    ).iter_rows():
        point = shapely.Point(float(lon), float(lat))
        inside = [
            z for z, g in zip(zoning.zone_ids, zoning.geometries, strict=True) if g.covers(point)
        ]
        assert got[trip_id] == inside[0]
    given = raw.filter(pl.col(chicago.START_AREA).is_not_null())
    assert all(got[t] == a for t, a in given.select(chicago.TRIP_ID, chicago.START_AREA).rows())
