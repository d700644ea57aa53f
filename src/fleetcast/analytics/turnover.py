"""Turnover: the rides one vehicle serves per day in a zone, from trips and supply history.

Stock targets divide demand by this figure, so a zone where each vehicle is rented eight
times a day needs fewer vehicles for the same demand than one where it is rented twice.

Per zone the figure is trips over the window divided by the vehicle-days observed in the
zone (the daily mean of available vehicles, summed over the days with supply history). A
zone with few vehicle-days has a noisy ratio — two trips on half a vehicle-day is not a
turnover of four — so it is shrunk toward the system-wide figure ``r_sys = total trips /
(fleet_size * days)``: with trips ``T`` over ``V`` vehicle-days and ``m =
min_vehicle_days``,

    rides_per_vehicle = (T + m * r_sys) / (V + m)

the posterior mean of a Poisson rate with a gamma prior of mean ``r_sys`` worth ``m``
vehicle-days. A zone with ``V >= m`` (its own data carries at least half the weight) gets
``source = "observed"``; a zone with less supply history than that, or none, gets the system
figure itself (``source = "system"``). No zone goes below ``floor``: a zone that was never
used still gets vehicles turning over slowly, never a division by zero.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, timedelta
from typing import Final

import polars as pl

from fleetcast.errors import SchemaError

TURNOVER_SCHEMA: Final[dict[str, pl.DataType]] = {
    "zone_id": pl.String(),
    "rides_per_vehicle": pl.Float64(),
    "source": pl.String(),
    "trips": pl.Float64(),
    "vehicle_days": pl.Float64(),
}
"""Columns of ``rides_per_vehicle``: ``trips`` and ``vehicle_days`` are the zone's counts
over the window on days with supply history (0 without any)."""
ZONE_DAY_SUPPLY: Final[dict[str, pl.DataType]] = {
    "zone_id": pl.String(),
    "date": pl.Date(),
    "vehicles": pl.Float64(),
}
"""Columns of ``supply_history``: the mean available vehicles of a zone on a day."""
SNAPSHOT_NEEDS: Final = (
    "system_id",
    "observed_at",
    "zone_id",
    "is_disabled",
    "is_reserved",
    "date",
)


def rides_per_vehicle(
    demand: pl.DataFrame,
    supply_history: pl.DataFrame | None,
    *,
    fleet_size: int,
    window_days: int = 28,
    min_vehicle_days: float = 14.0,
    floor: float = 0.25,
    end: date | None = None,
    zone_ids: Collection[str] | None = None,
) -> pl.DataFrame:
    """Rides per vehicle per day of each zone over the last ``window_days`` days.

    ``demand`` has ``zone_id, date, trips`` (a zone-day without a row had no trips);
    ``supply_history`` has ``zone_id, date, vehicles`` (``supply_history``): a day
    present for any zone is a day with supply history, and a zone missing on such a day had
    no vehicles. The window ends on ``end`` (default: the last day of ``demand``) and starts
    no earlier than the first day of ``demand``. Zones are those of ``demand``,
    ``supply_history`` and ``zone_ids``.

    Returns ``TURNOVER_SCHEMA`` sorted by zone; see the module docstring for the figure.
    """
    _check_args(fleet_size, window_days, min_vehicle_days, floor)
    _require(demand, ("zone_id", "date", "trips"), "demand")
    demand = demand.select(
        pl.col("zone_id").cast(pl.String), pl.col("date").cast(pl.Date), pl.col("trips")
    )
    if demand.get_column("trips").null_count() or (demand.get_column("trips") < 0).any():
        raise SchemaError("demand: trips must be >= 0, never null")
    if supply_history is not None:
        _require(supply_history, ("zone_id", "date", "vehicles"), "supply_history")
        supply_history = supply_history.select(
            pl.col("zone_id").cast(pl.String),
            pl.col("date").cast(pl.Date),
            pl.col("vehicles").cast(pl.Float64),
        )
        vehicles = supply_history.get_column("vehicles")
        if vehicles.null_count() or (vehicles < 0).any():
            raise SchemaError("supply_history: vehicles must be >= 0, never null")

    zones = set(zone_ids or ()) | set(demand.get_column("zone_id").drop_nulls().to_list())
    if supply_history is not None:
        zones |= set(supply_history.get_column("zone_id").drop_nulls().to_list())
    last = end if end is not None else demand.get_column("date").max()
    if not isinstance(last, date) or demand.height == 0:
        return _system_only(sorted(zones), floor)
    first_data = demand.get_column("date").min()
    assert isinstance(first_data, date)
    start = max(last - timedelta(days=window_days - 1), first_data)
    days = (last - start).days + 1
    in_window = pl.col("date").is_between(start, last)
    window = demand.filter(in_window)
    total_trips = float(window.get_column("trips").sum()) if days > 0 else 0.0
    system = total_trips / (fleet_size * days) if days > 0 else 0.0

    per_zone = pl.DataFrame({"zone_id": sorted(zones)}, schema={"zone_id": pl.String()})
    if supply_history is not None and days > 0:
        supply = supply_history.filter(in_window)
        observed_days = supply.select(pl.col("date").unique())
        trips = (
            window.join(observed_days, on="date", how="semi")
            .group_by("zone_id")
            .agg(trips=pl.col("trips").sum().cast(pl.Float64))
        )
        vehicle_days = supply.group_by("zone_id").agg(vehicle_days=pl.col("vehicles").sum())
        per_zone = per_zone.join(trips, on="zone_id", how="left").join(
            vehicle_days, on="zone_id", how="left"
        )
    else:
        per_zone = per_zone.with_columns(trips=pl.lit(None), vehicle_days=pl.lit(None))
    per_zone = per_zone.with_columns(
        pl.col("trips", "vehicle_days").cast(pl.Float64).fill_null(0.0)
    )
    observed = (pl.col("vehicle_days") >= min_vehicle_days) & (pl.col("vehicle_days") > 0)
    shrunk = (pl.col("trips") + min_vehicle_days * system) / (
        pl.col("vehicle_days") + min_vehicle_days
    )
    return (
        per_zone.with_columns(
            rides_per_vehicle=pl.max_horizontal(
                pl.when(observed).then(shrunk).otherwise(pl.lit(system)), pl.lit(floor)
            ),
            source=pl.when(observed).then(pl.lit("observed")).otherwise(pl.lit("system")),
        )
        .select(list(TURNOVER_SCHEMA))
        .cast(pl.Schema(TURNOVER_SCHEMA))
        .sort("zone_id")
    )


def supply_history(status: pl.DataFrame, *, min_battery_pct: float | None = None) -> pl.DataFrame:
    """Mean available vehicles per zone and day from vehicle status snapshots.

    ``status`` has the ``VEHICLE_STATUS`` columns (``fleetcast.domain``); a snapshot is one
    ``observed_at`` of one system. A vehicle is available when neither disabled nor
    reserved (nor below ``min_battery_pct`` when given; unknown battery counts as
    available). A zone's figure for a day is its available vehicles summed over the day's
    snapshots divided by the number of snapshots of its system that day, so a snapshot in
    which the zone had none counts as zero. Rows without a zone (outside every zone) are
    left out. Returns ``ZONE_DAY_SUPPLY`` sorted by zone and date, summed over systems.
    """
    _require(status, SNAPSHOT_NEEDS, "vehicle status")
    if min_battery_pct is not None and not 0.0 <= min_battery_pct <= 100.0:
        raise ValueError(f"min_battery_pct={min_battery_pct} (use 0..100, or None)")
    snapshots = status.group_by("system_id", "date").agg(snapshots=pl.col("observed_at").n_unique())
    available = ~pl.col("is_disabled").fill_null(True) & ~pl.col("is_reserved").fill_null(True)
    if min_battery_pct is not None and "battery_pct" in status.columns:
        available &= pl.col("battery_pct").fill_null(100.0) >= min_battery_pct
    counts = (
        status.filter(available, pl.col("zone_id").is_not_null())
        .group_by("system_id", "zone_id", "date")
        .agg(seen=pl.len())
        .join(snapshots, on=["system_id", "date"], how="left")
    )
    return (
        counts.group_by("zone_id", "date")
        .agg(vehicles=(pl.col("seen") / pl.col("snapshots")).sum())
        .select(list(ZONE_DAY_SUPPLY))
        .cast(pl.Schema(ZONE_DAY_SUPPLY))
        .sort("zone_id", "date")
    )


def _system_only(zones: list[str], floor: float) -> pl.DataFrame:
    """No demand at all: every zone gets the floor, from the (empty) system figure."""
    return pl.DataFrame(
        {
            "zone_id": zones,
            "rides_per_vehicle": [floor] * len(zones),
            "source": ["system"] * len(zones),
            "trips": [0.0] * len(zones),
            "vehicle_days": [0.0] * len(zones),
        },
        schema=TURNOVER_SCHEMA,
    )


def _check_args(fleet_size: int, window_days: int, min_vehicle_days: float, floor: float) -> None:
    problems: list[str] = []
    if isinstance(fleet_size, bool) or not isinstance(fleet_size, int) or fleet_size < 1:
        problems.append(f"fleet_size={fleet_size!r} (use a whole number >= 1)")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        problems.append(f"window_days={window_days!r} (use a whole number >= 1)")
    if not (math.isfinite(min_vehicle_days) and min_vehicle_days >= 0):
        problems.append(f"min_vehicle_days={min_vehicle_days!r} (use a number >= 0)")
    if not (math.isfinite(floor) and floor > 0):
        problems.append(f"floor={floor!r} (use a number > 0)")
    if problems:
        raise ValueError("rides_per_vehicle not understood: " + "; ".join(problems))


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")
