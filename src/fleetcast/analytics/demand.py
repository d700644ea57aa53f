"""Trips to demand: daily and hourly counts of trips started per zone, zero-filled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from fleetcast.domain import DEMAND_DAILY

Trips = pl.DataFrame | pl.LazyFrame


def _grid(zone_ids: Sequence[str], start: date, end: date) -> pl.LazyFrame:
    zones = pl.LazyFrame({"zone_id": list(zone_ids)}, schema={"zone_id": pl.String})
    days = pl.LazyFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    return zones.join(days, how="cross")


def daily_demand(
    trips: Trips,
    *,
    system_id: str,
    zone_ids: Sequence[str],
    start: date,
    end: date,
) -> pl.DataFrame:
    """Trips started per zone and local day for every zone on every day in [start, end].

    Trips whose start zone is not in ``zone_ids`` are not counted; days without trips are 0.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    counts = (
        trips.lazy()
        .filter(pl.col("date").is_between(start, end))
        .group_by(pl.col("start_zone").alias("zone_id"), "date")
        .agg(pl.len().cast(pl.Int64).alias("trips"))
    )
    return (
        _grid(zone_ids, start, end)
        .join(counts, on=["zone_id", "date"], how="left")
        .select(
            pl.lit(system_id).alias("system_id"),
            "zone_id",
            "date",
            pl.col("trips").fill_null(0),
        )
        .sort("zone_id", "date")
        .collect()
        .cast(DEMAND_DAILY)  # type: ignore[arg-type]
    )


def hourly_demand(
    trips: Trips,
    *,
    system_id: str,
    timezone: str,
    zone_ids: Sequence[str],
    start: date,
    end: date,
) -> pl.DataFrame:
    """Trips started per zone, local day and local hour (0-23), zero-filled.

    On the day clocks go back the repeated hour is counted once with both hours' trips;
    on the day they go forward the skipped hour is 0.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    local = pl.col("started_at").dt.convert_time_zone(timezone)
    counts = (
        trips.lazy()
        .filter(pl.col("date").is_between(start, end))
        .group_by(
            pl.col("start_zone").alias("zone_id"),
            "date",
            local.dt.hour().cast(pl.Int8).alias("hour"),
        )
        .agg(pl.len().cast(pl.Int64).alias("trips"))
    )
    hours = pl.LazyFrame({"hour": pl.int_range(0, 24, eager=True).cast(pl.Int8)})
    return (
        _grid(zone_ids, start, end)
        .join(hours, how="cross")
        .join(counts, on=["zone_id", "date", "hour"], how="left")
        .select(
            pl.lit(system_id).alias("system_id"),
            "zone_id",
            "date",
            "hour",
            pl.col("trips").fill_null(0),
        )
        .sort("zone_id", "date", "hour")
        .collect()
    )
