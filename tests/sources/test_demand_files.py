"""Tests of the pre-aggregated demand reader: zone_id, date, trips from CSV or Parquet."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from fleetcast.errors import SchemaError
from fleetcast.sources import files

DEMAND = Path(__file__).resolve().parents[1] / "data" / "demand"
GOOD = DEMAND / "daily_counts.csv"
BAD = DEMAND / "daily_counts_bad.csv"
EXPORT = DEMAND / "operator_export.csv"


def test_good_file_reads_every_row() -> None:
    """All 8 rows load as typed zone-days; "1,024" is read with its thousands separator."""
    checked = files.read_demand_file(GOOD)
    assert checked.rows_read == 8
    assert checked.rejected.is_empty() and checked.reasons == {}
    assert checked.accepted.schema == {"zone_id": pl.String, "date": pl.Date, "trips": pl.Int64}
    assert checked.accepted.height == 8
    assert checked.accepted["trips"].sum() == 12 + 9 + 15 + 4 + 7 + 31 + 28 + 1024
    row = checked.accepted.filter(
        (pl.col("zone_id") == "centre") & (pl.col("date") == date(2024, 3, 4))
    )
    assert row["trips"].item() == 1024


def test_every_bad_row_has_its_reason_and_record() -> None:
    """Each broken row is rejected with the reason the README gives, and its raw record."""
    checked = files.read_demand_file(BAD)
    assert checked.rows_read == 12
    assert checked.accepted.rows() == [
        ("north", date(2024, 3, 1), 12),
        ("south", date(2024, 3, 1), 4),
        ("south", date(2024, 3, 4), 8),
    ]
    reasons = dict(zip(checked.rejected["row_number"], checked.rejected["reason"], strict=True))
    assert reasons == {
        3: "missing zone id",
        4: "unparseable date (use YYYY-MM-DD)",
        5: "negative trips",
        6: "trips not a whole number",
        7: "unparseable trips",
        8: "duplicate zone and day in this input",
        9: "missing date",
        10: "missing trips",
        12: "row has 4 fields, the header has 3",
    }
    record = checked.rejected.filter(pl.col("row_number") == 6)["record"].item()
    assert json.loads(record) == {"zone_id": "south", "date": "2024-03-02", "trips": "2.5"}
    assert checked.rejected.filter(pl.col("row_number") == 12)["record"].item() == (
        "north,2024-03-04,7,extra"
    )
    assert sum(checked.reasons.values()) == checked.rejected.height


def test_mapping_and_midnight_timestamps() -> None:
    """Another layout loads through a mapping; '2024-03-01 00:00:00' is the day 2024-03-01."""
    mapping = files.parse_mapping(["zone_id=Area,date=Day,trips=Rides"], fields=files.DEMAND_FIELDS)
    checked = files.read_demand_file(EXPORT, mapping=mapping)
    assert checked.accepted.rows() == [
        ("A1", date(2024, 3, 1), 5),
        ("A1", date(2024, 3, 2), 6),
        ("A2", date(2024, 3, 1), 3),
    ]


def test_columns_are_found_in_any_case(tmp_path: Path) -> None:
    """Zone_ID, Date and TRIPS need no mapping."""
    path = tmp_path / "upper.csv"
    path.write_text("Zone_ID,Date,TRIPS\nz1,2024-01-01,3\n")
    assert files.read_demand_file(path).accepted.rows() == [("z1", date(2024, 1, 1), 3)]


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    """A Parquet file with a date column and integer trips reads like a CSV."""
    path = tmp_path / "demand.parquet"
    pl.DataFrame(
        {"zone_id": ["a", "b"], "date": [date(2024, 1, 1), date(2024, 1, 1)], "trips": [3, 0]}
    ).write_parquet(path)
    assert files.read_demand_file(path).accepted.rows() == [
        ("a", date(2024, 1, 1), 3),
        ("b", date(2024, 1, 1), 0),
    ]


def test_unknown_zones_are_rejected_when_zones_are_known() -> None:
    """With the system's zones given, rows of other zones are rejected as unknown."""
    checked = files.read_demand_file(GOOD, known_zones={"north", "south"})
    assert set(checked.accepted["zone_id"]) == {"north", "south"}
    assert checked.reasons == {"unknown zone": 3}


def test_future_days_are_rejected() -> None:
    """Counted trips cannot be in the future: a day after tomorrow is rejected."""
    raw = pl.DataFrame(
        {
            "_row": [1, 2],
            "zone_id": ["a", "a"],
            "date": ["2024-01-01", "2024-01-05"],
            "trips": ["1", "2"],
        }
    )
    checked = files.check_demand(
        raw,
        mapping={"zone_id": "zone_id", "date": "date", "trips": "trips"},
        today=datetime(2024, 1, 2),
    )
    assert checked.accepted["date"].to_list() == [date(2024, 1, 1)]
    assert checked.reasons == {"date in the future": 1}


def test_times_of_day_refuse_the_whole_file(tmp_path: Path) -> None:
    """Rows with a time of day are trips or hourly counts, not daily demand: refused whole."""
    path = tmp_path / "hourly.csv"
    path.write_text("zone_id,date,trips\na,2024-01-01 00:00:00,1\na,2024-01-01 08:00:00,4\n")
    with pytest.raises(SchemaError, match=r"column 'date' holds times of day \(row 2"):
        files.read_demand_file(path)


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        ("zone,day,count\n", {}, "no column for ['zone_id', 'date', 'trips']"),
        ("zone_id,date,count\n", {}, "no column for ['trips']; the file has ['zone_id'"),
        ("zone_id,date,trips\n", {"trips": "Rides"}, "missing column(s) ['Rides']"),
    ],
)
def test_missing_columns_say_how_to_map(
    tmp_path: Path, header: str, mapping: dict[str, str], message: str
) -> None:
    """A layout without our fields is refused with the file's columns and a --map example."""
    path = tmp_path / "d.csv"
    path.write_text(header + "a,2024-01-01,1\n")
    with pytest.raises(SchemaError) as info:
        files.read_demand_file(path, mapping=mapping)
    assert message in str(info.value)
    assert "--map zone_id=" in str(info.value)


def test_mapping_fields_for_demand() -> None:
    """--map for demand knows zone_id, date and trips, and still defaults to trip fields."""
    assert files.parse_mapping(["trips=Rides"], fields=files.DEMAND_FIELDS) == {"trips": "Rides"}
    with pytest.raises(SchemaError, match="unknown field 'started_at'; fields are zone_id, date"):
        files.parse_mapping(["started_at=x"], fields=files.DEMAND_FIELDS)
    assert files.parse_mapping(["started_at=x"]) == {"started_at": "x"}
