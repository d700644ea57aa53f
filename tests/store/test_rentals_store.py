"""Rentals in the db, on SQLite and PostgreSQL: a round trip keeps every value, saving the
same rentals again writes nothing, changed values are updated; and the ingest job logs,
quarantines and re-runs without changing anything."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fleetcast.domain import RENTALS, Dataset, SystemInfo, VehicleKind
from fleetcast.errors import NothingLoadedError, SchemaError
from fleetcast.jobs import carsharing
from fleetcast.store import Store, records
from fleetcast.store import rentals as stored
from fleetcast.store.tables import IngestLog

SMALL = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"


def _rentals() -> pl.DataFrame:
    """Three rentals of two cars: one with a previous rental, one canceled."""
    return pl.DataFrame(
        {
            "rental_id": ["r1", "r2", "r3"],
            "car_id": ["c1", "c1", "c2"],
            "checkin_type": ["connect", "connect", "mobile"],
            "state": ["ended", "ended", "canceled"],
            "delay_at_checkout_minutes": [12.5, -3.0, None],
            "previous_rental_id": [None, "r1", None],
            "gap_with_previous_minutes": [None, 30.0, None],
        },
        schema=RENTALS,
    )


@pytest.fixture
def cars(store: Store) -> Store:
    """A store with one car system and no rentals yet."""
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("cars", "Cars", "UTC", kind=VehicleKind.CAR))
    return store


def test_round_trip_keeps_every_value(cars: Store) -> None:
    """What is saved is what loads back, nulls included, by rental id."""
    with cars.begin() as conn:
        saved = stored.save_rentals(conn, "cars", _rentals())
    assert (saved.new, saved.changed, saved.unchanged) == (3, 0, 0)
    with cars.connect() as conn:
        loaded = stored.load_rentals(conn, "cars")
        assert stored.count_rentals(conn, "cars") == 3
        assert stored.count_rentals(conn, "other") == 0
    assert loaded.equals(_rentals())


def test_saving_the_same_rentals_again_writes_nothing(cars: Store) -> None:
    """A second save of the same rows counts them all as unchanged."""
    for _ in range(2):
        with cars.begin() as conn:
            saved = stored.save_rentals(conn, "cars", _rentals())
    assert (saved.new, saved.changed, saved.unchanged, saved.written) == (0, 0, 3, 0)


def test_changed_values_are_updated_in_place(cars: Store) -> None:
    """A rental saved again with another delay (or a null one) is updated, not duplicated."""
    with cars.begin() as conn:
        stored.save_rentals(conn, "cars", _rentals())
    changed = _rentals().with_columns(
        pl.when(pl.col("rental_id") == "r1")
        .then(None)
        .otherwise(pl.col("delay_at_checkout_minutes"))
        .alias("delay_at_checkout_minutes")
    )
    with cars.begin() as conn:
        saved = stored.save_rentals(conn, "cars", changed)
        loaded = stored.load_rentals(conn, "cars")
    assert (saved.new, saved.changed, saved.unchanged) == (0, 1, 2)
    assert loaded.equals(changed)


def test_duplicate_ids_are_refused(cars: Store) -> None:
    """The store takes one row per rental id; de-duplication is the source's job."""
    with cars.begin() as conn, pytest.raises(ValueError, match="one row per"):
        stored.save_rentals(conn, "cars", pl.concat([_rentals(), _rentals().head(1)]))


def test_ingest_is_idempotent_and_quarantines_bad_rows(store: Store) -> None:
    """The small file creates a car system with its ten good rentals and quarantines nine
    rows with their reasons; the same file again adds and changes nothing."""
    first = carsharing.ingest_rentals_file(store, SMALL, system_id="small")
    assert (first.rows_read, first.rows_accepted, first.rows_rejected) == (19, 10, 9)
    assert (first.rows_new, first.status, first.system_created) == (10, "partial", True)
    again = carsharing.ingest_rentals_file(store, SMALL, system_id="small")
    assert (again.rows_new, again.rows_changed, again.rows_unchanged) == (0, 0, 10)
    assert not again.system_created
    with store.connect() as conn:
        assert records.get_system(conn, "small").kind is VehicleKind.CAR
        assert stored.count_rentals(conn, "small") == 10
        logs = (
            conn.execute(
                IngestLog.__table__.select().where(IngestLog.system_id == "small")  # type: ignore[attr-defined]
            )
            .mappings()
            .all()
        )
    assert [log["dataset"] for log in logs] == ["rentals", "rentals"]
    assert logs[0]["rejects_by_reason"]["unknown state"] == 1
    quarantine = store.lake.scan(Dataset.QUARANTINE, system_id="small").collect()
    assert quarantine.filter(pl.col("ingest_id") == first.ingest_id).height == 9
    assert set(quarantine["source"]) == {carsharing.RENTALS_SOURCE}


def test_a_file_that_is_not_rentals_leaves_the_store_as_it_was(
    store: Store, tmp_path: Path
) -> None:
    """A file without the rental columns is refused, logged as failed, and no system made."""
    path = tmp_path / "trips.csv"
    path.write_text("trip_id,started_at\n1,2024-01-01 08:00\n")
    with pytest.raises(SchemaError, match="not a rentals file"):
        carsharing.ingest_rentals_file(store, path, system_id="nope")
    with store.connect() as conn:
        assert "nope" not in records.list_system_ids(conn)
        (log,) = records.recent_ingests(conn, system_id="nope")
    assert log["status"] == "failed"


def test_a_file_without_one_good_row_writes_nothing(store: Store, tmp_path: Path) -> None:
    """Every row bad: NothingLoadedError with the reasons, and no system created."""
    lines = SMALL.read_text().splitlines()
    bad = [line for line in lines[11:] if not line.startswith("4,")]  # rental 4: only a duplicate
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([lines[0], *bad]) + "\n")
    with pytest.raises(NothingLoadedError) as raised:
        carsharing.ingest_rentals_file(store, path, system_id="bad")
    assert raised.value.reasons["unknown state"] == 1
    with store.connect() as conn:
        assert "bad" not in records.list_system_ids(conn)
