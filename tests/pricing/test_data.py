"""Reading and checking pricing files: missing columns fail as a whole, absurd rows are set
apart with every reason and counted, and the real GetAround file loses exactly its 2 bad rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fleetcast.errors import NothingLoadedError, SchemaError, SourceError
from fleetcast.pricing.data import (
    FEATURES,
    TARGET,
    PricingLimits,
    check_pricing,
    load_pricing_csv,
)
from pricing_data import generated_cars, write_cars_csv
from shared_data import shared_file


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame as the CSV reader gives it: every column as text."""
    return frame.select(pl.all().cast(pl.String))


def test_generated_file_loads_typed(tmp_path: Path) -> None:
    """A clean file: every row used, the unnamed index dropped, numbers and options typed."""
    data = load_pricing_csv(write_cars_csv(tmp_path / "cars.csv", 50))
    assert data.rows_read == 50 and data.cars.height == 50 and data.rows_rejected == 0
    assert data.cars.columns == [*FEATURES, TARGET]
    assert data.cars.schema["mileage"] == pl.Float64
    assert data.cars.schema["has_gps"] == pl.Boolean
    assert data.reasons == {}


def test_missing_columns_are_named(tmp_path: Path) -> None:
    """A file without some needed columns fails with a message naming each of them."""
    path = tmp_path / "cars.csv"
    generated_cars(10).drop("has_gps", "fuel").write_csv(path)
    with pytest.raises(SchemaError, match=r"lacks the column\(s\) fuel, has_gps"):
        load_pricing_csv(path)


def test_absent_file_is_a_source_error(tmp_path: Path) -> None:
    """A path that is not a file fails with a message naming it."""
    with pytest.raises(SourceError, match="does not exist"):
        load_pricing_csv(tmp_path / "nope.csv")


def test_absurd_rows_are_set_apart_with_every_reason() -> None:
    """Negative mileage, zero power, unparseable numbers and options, missing values and
    absurd prices are each set apart with their reasons; a row with two faults has both."""
    raw = _text(generated_cars(8))
    fixes = {
        0: {"mileage": "-64"},
        1: {"engine_power": "0"},
        2: {"mileage": "lots", "has_gps": "maybe"},
        3: {"fuel": ""},
        4: {"rental_price_per_day": "0"},
        5: {"mileage": "5000000"},
    }
    rows = raw.to_dicts()
    for i, change in fixes.items():
        rows[i].update(change)
    data = check_pricing(pl.DataFrame(rows))
    assert data.cars.height == 2
    reasons = dict(zip(data.quarantine["row_number"], data.quarantine["reason"], strict=True))
    assert reasons == {
        1: "negative mileage",
        2: "engine power not positive",
        3: "mileage is not a number; has_gps is not true/false",
        4: "missing fuel",
        5: "price per day not positive",
        6: "mileage above 2,000,000 km",
    }
    assert data.reasons["negative mileage"] == 1
    assert sum(data.reasons.values()) == 7
    assert data.quarantine["mileage"][0] == "-64"  # the text as it was read
    assert "6 set apart" in data.summary()


def test_limits_are_configurable_and_checked() -> None:
    """A lower mileage limit sets more rows apart; nonsense limits are refused."""
    data = check_pricing(_text(generated_cars(40)), limits=PricingLimits(max_mileage_km=100_000))
    assert data.rows_rejected > 0
    assert set(data.reasons) == {"mileage above 100,000 km"}
    with pytest.raises(ValueError, match="max_engine_power_hp"):
        PricingLimits(max_engine_power_hp=-1)


def test_nothing_usable_fails() -> None:
    """When every row is set apart, the error says so with the counts."""
    raw = _text(generated_cars(3)).with_columns(pl.lit("-1").alias("mileage"))
    with pytest.raises(NothingLoadedError, match="no usable row") as info:
        check_pricing(raw)
    assert info.value.reasons == {"negative mileage": 3}


def test_real_file_sets_apart_its_two_absurd_rows() -> None:
    """The GetAround file: 4,843 rows, one negative mileage and one zero engine power."""
    data = load_pricing_csv(shared_file("getaround", "get_around_pricing_project.csv"))
    assert data.rows_read == 4_843
    assert data.cars.height == 4_841
    assert data.reasons == {"engine power not positive": 1, "negative mileage": 1}
    assert data.cars["model_key"].n_unique() == 28
