"""Rentals files: GetAround's columns or a mapping, every bad row rejected with its reasons,
whole files that are not rentals refused with the missing columns named, and the real
GetAround CSV and workbook read alike."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from fleetcast.domain import RENTALS
from fleetcast.errors import SchemaError
from fleetcast.sources.rentals import (
    RentalLimits,
    read_prices_per_day,
    read_rentals_file,
    resolve_rentals_mapping,
)
from shared_data import shared_file

SMALL = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"
"""19 hand-made rentals: rows 1-10 good, 11-19 bad (see tests/data/rentals/README.md)."""


def test_small_file_keeps_good_rows_and_rejects_each_bad_one_with_its_reason() -> None:
    """Ten rows load; each of the nine bad rows is rejected with exactly its reasons."""
    checked = read_rentals_file(SMALL)
    assert checked.rows_read == 19
    assert checked.accepted.schema == pl.Schema(RENTALS)
    assert sorted(checked.accepted["rental_id"].to_list(), key=int) == [
        str(i) for i in range(1, 11)
    ]
    reasons = dict(zip(checked.rejected["row_number"], checked.rejected["reason"], strict=True))
    assert reasons == {
        11: "unknown checkin type",
        12: "missing rental id",
        13: "unknown state",
        14: "unparseable delay",
        15: "absurd gap",
        16: "duplicate rental id in this input",
        17: "delay on a canceled rental",
        18: "previous rental without gap",
        19: "missing car id; absurd delay",
    }
    assert checked.reasons["absurd delay"] == 1
    assert sum(checked.reasons.values()) == 10


def test_values_are_typed_and_ids_normalised() -> None:
    """Float-written ids become whole ("1.0" -> "1"), check-in types are lower-cased, blank
    delays and gaps are null."""
    rows = {r["rental_id"]: r for r in read_rentals_file(SMALL).accepted.iter_rows(named=True)}
    assert rows["2"]["previous_rental_id"] == "1"
    assert rows["2"]["gap_with_previous_minutes"] == 0.0
    assert rows["3"]["checkin_type"] == "connect"
    assert rows["3"]["delay_at_checkout_minutes"] is None
    assert rows["6"]["delay_at_checkout_minutes"] is None
    assert rows["1"]["previous_rental_id"] is None
    assert rows["10"]["previous_rental_id"] == "999"


def test_rejected_rows_keep_their_record() -> None:
    """A rejected row's record is the file's row as JSON, for the quarantine."""
    rejected = read_rentals_file(SMALL).rejected
    record = json.loads(rejected.filter(pl.col("row_number") == 13)["record"][0])
    assert record["state"] == "returned"
    assert record["rental_id"] == "13"


def test_a_mapping_names_other_columns(tmp_path: Path) -> None:
    """An operator's own column names load with a mapping from our field names."""
    raw = pl.read_csv(SMALL, infer_schema=False).rename(
        {"rental_id": "id", "time_delta_with_previous_rental_in_minutes": "gap"}
    )
    path = tmp_path / "own.csv"
    raw.write_csv(path)
    checked = read_rentals_file(
        path, mapping={"rental_id": "id", "gap_with_previous_minutes": "gap"}
    )
    assert checked.accepted.equals(read_rentals_file(SMALL).accepted)


def test_a_file_that_is_not_rentals_names_the_missing_columns(tmp_path: Path) -> None:
    """A trips file is refused as a whole, naming what is missing and what it has."""
    path = tmp_path / "trips.csv"
    path.write_text("trip_id,started_at,ended_at\n1,2024-01-01 08:00,2024-01-01 08:10\n")
    with pytest.raises(SchemaError, match="not a rentals file") as raised:
        read_rentals_file(path)
    message = str(raised.value)
    assert "time_delta_with_previous_rental_in_minutes" in message
    assert "trip_id" in message


def test_a_mapping_to_an_absent_column_or_unknown_field_is_refused() -> None:
    """A mapping must name a column the file has and a field rentals have."""
    columns = list(pl.read_csv(SMALL, n_rows=1).columns)
    with pytest.raises(SchemaError, match="missing column"):
        resolve_rentals_mapping(columns, {"car_id": "vehicle"})
    with pytest.raises(SchemaError, match="unknown rental field"):
        resolve_rentals_mapping(columns, {"price": "vehicle"})


def test_nan_and_infinite_values_are_rejected(tmp_path: Path) -> None:
    """'nan' is not a delay and 'inf' minutes is absurd: neither is clamped or kept."""
    path = tmp_path / "odd.csv"
    header = SMALL.read_text().splitlines()[0]
    path.write_text(
        f"{header}\n1,1,mobile,ended,nan,,\n2,1,mobile,ended,inf,,\n3,1,mobile,ended,,,\n"
    )
    checked = read_rentals_file(path)
    assert checked.accepted["rental_id"].to_list() == ["3"]
    assert checked.rejected["reason"].to_list() == ["unparseable delay", "absurd delay"]


def test_limits_are_configurable() -> None:
    """A tighter delay limit rejects more; nonsense limits are refused."""
    checked = read_rentals_file(SMALL, limits=RentalLimits(max_abs_delay_minutes=600))
    assert "8" not in checked.accepted["rental_id"].to_list()
    with pytest.raises(ValueError, match="positive"):
        RentalLimits(max_gap_minutes=0)


def test_empty_and_missing_files_are_schema_errors(tmp_path: Path) -> None:
    """A header without rows, or no file at all, is a clear SchemaError."""
    path = tmp_path / "header.csv"
    path.write_text(SMALL.read_text().splitlines()[0] + "\n")
    with pytest.raises(SchemaError, match="no rows"):
        read_rentals_file(path)
    with pytest.raises(SchemaError, match="does not exist"):
        read_rentals_file(tmp_path / "absent.xlsx")


def test_the_real_csv_loads_but_one_canceled_rental_with_a_delay() -> None:
    """GetAround's 21,310 rentals: one canceled rental carries a delay (row 21,003) and is
    quarantined; every other row loads."""
    checked = read_rentals_file(
        shared_file("getaround", "get_around_delay_analysis_rentals_data.csv")
    )
    assert checked.rows_read == 21_310
    assert checked.accepted.height == 21_309
    assert checked.rejected["row_number"].to_list() == [21_003]
    assert checked.reasons == {"delay on a canceled rental": 1}


def test_the_real_workbook_reads_like_the_csv() -> None:
    """Sheet rentals_data of the workbook gives the same rentals as the CSV derived from it;
    a sheet that does not exist is named with the sheets there are."""
    pytest.importorskip("openpyxl", reason="the carsharing extra is not installed")
    book = shared_file("getaround", "get_around_delay_analysis.xlsx")
    from_book = read_rentals_file(book)
    from_csv = read_rentals_file(
        shared_file("getaround", "get_around_delay_analysis_rentals_data.csv")
    )
    assert from_book.accepted.equals(from_csv.accepted)
    assert from_book.reasons == from_csv.reasons
    with pytest.raises(SchemaError, match="Documentation"):
        read_rentals_file(book, sheet="rentals")


def test_prices_per_day_come_from_the_pricing_file() -> None:
    """The pricing file's rental_price_per_day, all positive, one per car."""
    prices = read_prices_per_day(shared_file("getaround", "get_around_pricing_project.csv"))
    assert prices.len() == 4_843
    assert prices.min() > 0  # type: ignore[operator]
    assert prices.median() == 119.0
