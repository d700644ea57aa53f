"""Monitoring tables on SQLite and PostgreSQL: idempotent accuracy days and monitor runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from fleetcast.domain import SystemInfo
from fleetcast.monitoring.accuracy import ACCURACY_SCHEMA
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore

D0 = date(2026, 10, 1)
T0 = datetime(2026, 11, 22, 5, tzinfo=UTC)


@pytest.fixture
def city(store: Store) -> Store:
    """A store with one system ("city") and no monitoring yet."""
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("city", "City", "America/Chicago"))
    return store


def rows(day: date, zones: list[str], *, wape: float = 0.2) -> pl.DataFrame:
    """Accuracy rows of one day and horizon 1: one per zone plus the all-zone row."""
    ids = [*zones, "*"]
    return pl.DataFrame(
        {
            "target_date": [day] * len(ids),
            "horizon": [1] * len(ids),
            "zone_id": ids,
            "model_version": ["m@v1"] * len(ids),
            "issued_on": [day] * len(ids),
            "n": [1] * len(zones) + [len(zones)],
            "actual": [10.0] * len(ids),
            "forecast": [8.0] * len(ids),
            "mae": [2.0] * len(ids),
            "wape": [wape] * len(ids),
            "bias": [None] * len(ids),
            "coverage": [1.0] * len(ids),
        },
        schema=ACCURACY_SCHEMA,
    )


def test_saving_a_day_again_replaces_it(city: Store) -> None:
    """Re-running a day replaces its rows (fewer zones leave no stale rows); others stay."""
    with city.begin() as conn:
        mstore.save_accuracy(conn, "city", rows(D0, ["A", "B"]), run_id="r1")
        mstore.save_accuracy(conn, "city", rows(D0 + timedelta(days=1), ["A"]), run_id="r1")
    with city.begin() as conn:
        written = mstore.save_accuracy(conn, "city", rows(D0, ["A"], wape=0.5), run_id="r2")
    assert written == 2
    with city.connect() as conn:
        every = mstore.load_accuracy(conn, "city", zone_id=None)
        overall = mstore.load_accuracy(conn, "city")
        first = mstore.load_accuracy(conn, "city", start=D0, end=D0, zone_id="A")
        days = mstore.accuracy_days(conn, "city")
    assert every.height == 4
    assert overall["zone_id"].unique().to_list() == ["*"] and overall.height == 2
    assert first.row(0, named=True)["wape"] == 0.5
    assert first.schema == pl.Schema(ACCURACY_SCHEMA)
    assert days == {D0, D0 + timedelta(days=1)}


def test_runs_are_recorded_and_the_newest_is_found(city: Store) -> None:
    """Runs keep their status and JSON summary; latest_runs gives one per system."""
    with city.begin() as conn:
        mstore.save_run(
            conn, run_id="r1", system_id="city", ran_at=T0, status="ok", summary={"reasons": []}
        )
        mstore.save_run(
            conn,
            run_id="r2",
            system_id="city",
            ran_at=T0 + timedelta(hours=1),
            status="degraded",
            summary={"reasons": ["h1 too wrong"]},
        )
    with city.connect() as conn:
        newest = mstore.latest_run(conn, "city")
        every = mstore.latest_runs(conn)
        assert mstore.latest_run(conn, "elsewhere") is None
    assert newest is not None and newest["run_id"] == "r2"
    assert newest["summary"] == {"reasons": ["h1 too wrong"]}
    assert newest["ran_at"] == T0 + timedelta(hours=1)
    assert [r["run_id"] for r in every] == ["r2"]
    with city.begin() as conn, pytest.raises(ValueError, match="not understood"):
        mstore.save_run(conn, run_id="r3", system_id="city", ran_at=T0, status="meh", summary={})


def test_deleting_the_system_removes_its_monitoring(city: Store) -> None:
    """Monitoring rows belong to the system and go with it."""
    with city.begin() as conn:
        mstore.save_accuracy(conn, "city", rows(D0, ["A"]), run_id="r1")
        mstore.save_run(conn, run_id="r1", system_id="city", ran_at=T0, status="ok", summary={})
    with city.begin() as conn:
        records.delete_system(conn, "city")
    with city.connect() as conn:
        assert mstore.load_accuracy(conn, "city", zone_id=None).is_empty()
        assert mstore.latest_run(conn, "city") is None


def test_forecasts_are_read_by_target_day(city: Store) -> None:
    """Forecasts of every issue date covering the asked days, and their target days."""
    zones = pl.DataFrame({"zone_id": ["A"], "name": ["A"]})
    with city.begin() as conn:
        records.save_zones(conn, "city", zones)
        for issue in (D0, D0 + timedelta(days=1)):
            frame = pl.DataFrame(
                {
                    "zone_id": ["A", "A"],
                    "target_date": [issue, issue + timedelta(days=1)],
                    "horizon": [1, 2],
                    "mean": [1.0, 2.0],
                    "q10": [0.0, 0.0],
                    "q50": [1.0, 2.0],
                    "q90": [2.0, 3.0],
                }
            )
            records.save_forecasts(conn, "city", frame, issued_on=issue, model_version="m@v1")
    with city.connect() as conn:
        days = mstore.forecast_target_days(conn, "city", until=D0 + timedelta(days=1))
        found = mstore.load_forecasts_for_days(conn, "city", [D0 + timedelta(days=1)])
    assert days == [D0, D0 + timedelta(days=1)]
    assert sorted(found["horizon"].to_list()) == [1, 2]
