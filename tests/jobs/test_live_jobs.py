"""The live supply read jobs on the served demo."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from fleetcast.analytics.kpis import vehicle_usage
from fleetcast.domain import Dataset
from fleetcast.jobs import live
from fleetcast.store import Store, records, state


def test_idle_time_counts_rides_before_the_period(served_store: Store) -> None:
    """For the last day alone, vehicles idle for days still count as idle over 24 h, and the
    median idle time equals one computed from four weeks of trips; usage counts the day only."""
    day = live.kpis(served_store, "demo", period="day")
    with served_store.connect() as conn:
        last = records.demand_summary(conn, "demo")["last_day"]
        one_day = records.load_demand(conn, "demo", start=last, end=last)
        fleet = state.load_vehicle_status(conn, "demo")
    assert day.trips == one_day["trips"].sum()
    trips = served_store.lake.scan(
        Dataset.TRIPS, system_id="demo", start=last - timedelta(days=27), end=last
    )
    usage = vehicle_usage(trips, timezone="America/Chicago", start=last, end=last, vehicles=fleet)
    idle = usage["idle_hours"].drop_nulls()
    assert day.vehicles_idle_over_24h == int((idle > 24.0).sum()) > 0


def test_vehicle_filters_agree_with_the_flags(served_store: Store) -> None:
    """Low-battery and outside-parking filters return exactly the flagged vehicles."""
    every = live.vehicles(served_store, "demo")
    low = live.vehicles(served_store, "demo", low_battery=True)
    outside = live.vehicles(served_store, "demo", outside_parking=True)
    assert low.height == every.filter(pl.col("low_battery")).height > 0
    assert outside.height == every.filter(~pl.col("at_parking").fill_null(False)).height
