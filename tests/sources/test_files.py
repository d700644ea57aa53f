"""Tests of the generic trips source: --map parsing, column resolution, content ids."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from fleetcast.errors import SchemaError
from fleetcast.sources import files
from fleetcast.sources._tabular import read_csv_text
from fleetcast.sources.validate import ROW

GENERIC = Path(__file__).resolve().parents[1] / "data" / "trips" / "generic_trips.csv"
MAP = [
    "started_at=begin,ended_at=finish,start_lat=from_lat,start_lon=from_lon",
    "end_lat=to_lat, end_lon=to_lon ,distance_m=meters",
    "vehicle_id=bike,provider=operator",
]


def test_parse_mapping() -> None:
    """Pairs may come in one --map or several, comma-separated, with blanks around names."""
    assert files.parse_mapping(["started_at=Start Time, ended_at = End Time,", "trip_id=id"]) == {
        "started_at": "Start Time",
        "ended_at": "End Time",
        "trip_id": "id",
    }
    assert files.parse_mapping(None) == {}
    assert files.parse_mapping([]) == {}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("started_at", "--map 'started_at' not understood: write field=Column Name"),
        ("=begin", "--map '=begin' not understood"),
        ("started_at=", "--map 'started_at=' not understood"),
        ("start=begin", "--map: unknown field 'start'; fields are trip_id, started_at, "),
        ("started_at=begin,colour=red", "--map: unknown field 'colour'"),
    ],
)
def test_parse_mapping_errors_name_the_field(item: str, message: str) -> None:
    """Nonsense in --map is a SchemaError quoting the pair or naming the unknown field."""
    with pytest.raises(SchemaError) as info:
        files.parse_mapping([item])
    assert str(info.value).startswith(message)


def test_resolve_mapping_uses_the_files_own_names() -> None:
    """Columns already named like our fields need no mapping; a mapping adds or overrides."""
    columns = ["started_at", "ended_at", "start_lat", "start_lon", "Start Zone"]
    assert files.resolve_mapping(columns, {}) == {
        "started_at": "started_at",
        "ended_at": "ended_at",
        "start_lat": "start_lat",
        "start_lon": "start_lon",
    }
    resolved = files.resolve_mapping(
        columns, {"start_zone": "Start Zone", "ended_at": "started_at"}
    )
    assert resolved["start_zone"] == "Start Zone"
    assert resolved["ended_at"] == "started_at"


@pytest.mark.parametrize(
    ("columns", "mapping", "message"),
    [
        (["begin", "finish", "lat", "lon"], {}, "no column for 'started_at'"),
        (["started_at", "finish", "lat", "lon"], {}, "no column for 'ended_at'"),
        (
            ["started_at", "ended_at"],
            {"start_lat": "lat", "start_lon": "lon"},
            "missing column(s) ['lat', 'lon']; the file has ['started_at', 'ended_at']",
        ),
        (
            ["started_at", "ended_at", "lat"],
            {"start_lat": "lat"},
            "trips need start_zone or start_lat and start_lon",
        ),
    ],
)
def test_resolve_mapping_errors(columns: list[str], mapping: dict[str, str], message: str) -> None:
    """Missing times, mapped columns the file lacks, and no way to place the start are refused.

    Each message carries a --map example so the user can fix the command.
    """
    with pytest.raises(SchemaError) as info:
        files.resolve_mapping(columns, mapping)
    assert str(info.value).startswith(message)
    assert "--map started_at='Start Time'" in str(info.value)


def _candidates(mapping: dict[str, str], path: Path = GENERIC) -> pl.DataFrame:
    table = read_csv_text(path)
    resolved = files.resolve_mapping(table.frame.columns, mapping)
    return files.to_candidates(table.frame, mapping=resolved, timezone="America/Chicago")


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_mapped_columns_become_candidates() -> None:
    """Mapped columns are parsed: local and Z times to UTC, numbers with separators, ids."""
    mapping = files.parse_mapping([*MAP, "trip_id=ride"])
    out = _candidates(mapping)
    assert out["trip_id"].to_list() == ["r1", "r2", "r3", "r4", "r5", "r6"]
    first = out.row(0, named=True)
    assert first["started_at"] == datetime(2021, 6, 1, 13, 5, tzinfo=UTC)
    assert (first["vehicle_id"], first["provider"]) == ("b-1", "Acme")
    assert first["start_zone"] is None and first["vehicle_type"] is None
    assert out.row(2, named=True)["started_at"] == datetime(2021, 6, 2, 12, tzinfo=UTC)
    assert out.row(2, named=True)["distance_m"] == 1300.0


def test_missing_duration_and_distance_are_derived() -> None:
    """Without a duration column it is end minus start; a blank distance is the straight line.

    Oracle for the distance: a plain-Python haversine on the same sphere.
    """
    out = _candidates(files.parse_mapping([*MAP, "trip_id=ride"]))
    assert out["duration_s"].to_list()[:4] == [900.0, 720.0, 600.0, 1500.0]
    assert out["duration_raw"].null_count() == out.height
    r2 = out.row(1, named=True)
    assert r2["distance_raw"] is None
    assert r2["distance_m"] == pytest.approx(_haversine_m(41.935, -87.675, 41.925, -87.695))
    assert out.row(0, named=True)["distance_m"] == 2100.0
    assert out.row(4, named=True)["duration_s"] == -3600.0


def test_content_ids_are_stable(tmp_path: Path) -> None:
    """Without a trip id each row gets one from its content: the same row, the same id.

    Shuffling the rows or reading the file again keeps every row's id; rows that differ
    get different ids. (The ride column is not mapped, so it is not part of the content.)
    """
    mapping = files.parse_mapping(MAP)
    ids = dict(_candidates(mapping).select(ROW, "trip_id").iter_rows())
    assert len(set(ids.values())) == len(ids)
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids.values())
    assert _candidates(mapping)["trip_id"].to_list() == list(ids.values())
    raw = pl.read_csv(GENERIC, infer_schema=False)
    shuffled = tmp_path / "shuffled.csv"
    raw.reverse().with_columns(pl.lit("other").alias("ride")).write_csv(shuffled)
    assert _candidates(mapping, shuffled)["trip_id"].to_list() == list(ids.values())[::-1]
    changed = tmp_path / "changed.csv"
    raw.with_columns(pl.lit("b-9").alias("bike")).write_csv(changed)
    assert set(_candidates(mapping, changed)["trip_id"]).isdisjoint(ids.values())


def test_content_ids_do_not_depend_on_the_library_version() -> None:
    """Content ids are BLAKE2b of the row text, pinned here, so upgrades keep them."""
    assert files.content_ids(pl.Series(["a\x1fb"])) == ["d75b3e77041f1c2cefadc34f"]


def test_zones_from_the_file_are_cleaned(tmp_path: Path) -> None:
    """Mapped zone ids are stripped, and blank ones are null so they get located instead."""
    path = tmp_path / "zoned.csv"
    path.write_text(
        "started_at,ended_at,zone_a,zone_b\n"
        "2021-06-01 08:00,2021-06-01 08:10, 1 ,\n"
        '2021-06-01 09:00,2021-06-01 09:10," ",2\n'
    )
    out = _candidates({"start_zone": "zone_a", "end_zone": "zone_b"}, path)
    assert out.select("start_zone", "end_zone").rows() == [("1", None), (None, "2")]
