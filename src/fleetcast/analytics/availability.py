"""Live supply: where vehicles are short now (deficits per zone and per station, ranked) and
how often each station was empty or full, by local hour and weekday (time-weighted).

Deficits compare usable vehicles with the forecast demand of the coming hours: each day's
forecast times the share of that day's demand its hours in the window carry. The score of
a place is the rides expected to be lost if nothing moves, E[max(D - stock, 0)] for
Poisson demand D, so zones and stations of any size rank on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.analytics.kpis import (
    LOW_BATTERY_PCT,
    TimeKey,
    check_time_keys,
    local_hour_pieces,
    local_midnight,
    time_key_columns,
)
from fleetcast.domain import check_timezone
from fleetcast.errors import SchemaError
from fleetcast.geo import Zoning

Frame = pl.DataFrame | pl.LazyFrame

NEED: Final = pl.Enum(["vehicles", "docks", "surplus", "balanced"])
"""What a place needs: vehicles added, docks freed (remove bikes), can give vehicles, none."""
PLACE_KIND: Final = pl.Enum(["zone", "station"])
PLACES: Final[dict[str, pl.DataType]] = {
    "kind": PLACE_KIND,
    "place_id": pl.String(),
    "name": pl.String(),
    "zone_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "available": pl.Int64(),
    "not_usable": pl.Int64(),
    "expected_demand": pl.Float64(),
    "gap": pl.Float64(),
    "capacity": pl.Int64(),
    "free_docks": pl.Int64(),
    "dock_gap": pl.Int64(),
    "need": NEED,
    "score": pl.Float64(),
    "priority": pl.Int64(),
    "suggested_add": pl.Int64(),
}
"""Columns of a deficit report: one row per zone (dockless) or station (docks)."""
DEMAND_COLUMNS: Final = ("mean", "q10", "q50", "q90")


def _problems(params: DeficitParams) -> list[str]:
    """Every reason ``params`` cannot be used (empty when it can)."""
    problems: list[str] = []
    h = params.horizon_hours
    if h is not None and not (isinstance(h, int | float) and 0.0 < h <= 72.0):
        problems.append(f"horizon_hours={h!r} (use 0 < hours <= 72, or None for today)")
    if params.demand_column not in DEMAND_COLUMNS:
        problems.append(f"demand_column={params.demand_column!r} (use one of {DEMAND_COLUMNS})")
    if not 0.0 <= params.min_battery_pct <= 100.0:
        problems.append(f"min_battery_pct={params.min_battery_pct} (use 0..100)")
    if not 0.0 <= params.free_dock_share < 1.0:
        problems.append(f"free_dock_share={params.free_dock_share} (use 0 <= share < 1)")
    if isinstance(params.min_move, bool) or not isinstance(params.min_move, int):
        problems.append(f"min_move={params.min_move!r} (use a whole number >= 1)")
    elif params.min_move < 1:
        problems.append(f"min_move={params.min_move} (use a whole number >= 1)")
    if not (math.isfinite(params.profile_prior_trips) and params.profile_prior_trips >= 0.0):
        problems.append(f"profile_prior_trips={params.profile_prior_trips} (use >= 0)")
    return problems


@dataclass(frozen=True, slots=True)
class DeficitParams:
    """How deficits are judged; checks itself so a bad setting fails early, naming the field.

    ``horizon_hours``: how far ahead demand counts (None: until local midnight).
    ``demand_column``: which forecast column is the day's demand (``mean`` or a quantile).
    ``min_battery_pct``: a vehicle is usable when not reserved, not disabled and its battery
    is not below this — the KPIs' low-battery threshold by default, so the deficit list and
    the fleet cards agree (a vehicle without a battery reading is usable).
    ``free_dock_share``: the share of a station's capacity to keep free for returns.
    ``min_move``: a place needs or gives vehicles when the move is at least this many.
    ``profile_prior_trips``: a zone's hourly profile is shrunk toward the system's as if the
    system profile had this many trips in the zone (quiet zones have noisy profiles).
    """

    horizon_hours: float | None = None
    demand_column: str = "mean"
    min_battery_pct: float = LOW_BATTERY_PCT
    free_dock_share: float = 0.1
    min_move: int = 1
    profile_prior_trips: float = 50.0

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("DeficitParams not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeficitParams:
        """Params from a TOML table; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"DeficitParams not understood: unknown key(s) {unknown}")
        return cls(**dict(values))


@dataclass(frozen=True)
class DeficitReport:
    """Deficits and surpluses at one moment: ``places`` has the ``PLACES`` columns, places
    that need something first (by ``priority``), then surpluses (largest first)."""

    places: pl.DataFrame
    window_start: datetime
    window_end: datetime
    params: DeficitParams

    def needs(self) -> pl.DataFrame:
        """Where to put vehicles (or free docks), most urgent first."""
        return self.places.filter(pl.col("priority").is_not_null())

    def surplus(self) -> pl.DataFrame:
        """Places with vehicles to spare, the most spare first: sources for the planner."""
        return self.places.filter(pl.col("need") == "surplus")


def _require(frame: Frame, columns: Sequence[str], what: str) -> None:
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")


def expected_shortage(mean: npt.ArrayLike, stock: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """E[max(D - stock, 0)] for D ~ Poisson(mean), element-wise: the rides lost when the
    stock stays as it is (stock is rounded down to whole vehicles, negatives count as 0)."""
    lam = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    a = np.maximum(np.floor(np.asarray(stock, dtype=np.float64)), 0.0)
    lam, a = np.broadcast_arrays(lam, a)
    out = lam - a
    if a.size == 0:
        return np.asarray(out, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_lam = np.log(lam)
    log_p = -lam
    for k in range(int(a.max())):
        out = out + np.where(k < a, (a - k) * np.exp(log_p), 0.0)
        log_p = log_p + log_lam - math.log(k + 1)
    return np.asarray(np.maximum(out, 0.0), dtype=np.float64)


def _hour_shares(hourly: pl.DataFrame | None, zone_ids: pl.LazyFrame, prior: float) -> pl.LazyFrame:
    """Share of a day's demand in each local hour, per zone: the zone's own profile shrunk
    toward the system's by ``prior`` trips; even shares when there is no profile."""
    hours = pl.LazyFrame({"hour": pl.int_range(0, 24, eager=True).cast(pl.Int8)})
    if hourly is None:
        return zone_ids.join(hours, how="cross").with_columns(share=pl.lit(1.0 / 24.0))
    _require(hourly, ("zone_id", "hour", "trips"), "hourly_profile")
    counts = (
        hourly.lazy()
        .group_by(pl.col("zone_id").cast(pl.String), pl.col("hour").cast(pl.Int8))
        .agg(pl.col("trips").cast(pl.Float64).sum().alias("n"))
    )
    system = (
        hours.join(counts.group_by("hour").agg(pl.col("n").sum()), on="hour", how="left")
        .with_columns(pl.col("n").fill_null(0.0))
        .with_columns(
            sys=pl.when(pl.col("n").sum() > 0)
            .then(pl.col("n") / pl.col("n").sum())
            .otherwise(1.0 / 24.0)
        )
        .select("hour", "sys")
    )
    return (
        zone_ids.join(system, how="cross")
        .join(counts, on=["zone_id", "hour"], how="left")
        .with_columns(pl.col("n").fill_null(0.0))
        .with_columns(total=pl.col("n").sum().over("zone_id"))
        .with_columns(
            share=pl.when(pl.col("total") + prior > 0)
            .then((pl.col("n") + prior * pl.col("sys")) / (pl.col("total") + prior))
            .otherwise(pl.col("sys"))
        )
        .select("zone_id", "hour", "share")
    )


def expected_demand(
    forecasts: pl.DataFrame,
    *,
    start: datetime,
    end: datetime,
    timezone: str,
    hourly_profile: pl.DataFrame | None = None,
    demand_column: str = "mean",
    profile_prior_trips: float = 50.0,
) -> pl.DataFrame:
    """Forecast demand per zone in [start, end): each local day's forecast times the share
    of that day's demand the window's hours carry, from ``hourly_profile`` (``zone_id``,
    ``hour``, ``trips``, e.g. ``demand.hourly_demand``) when given, else even over 24 hours.

    When a zone has several forecasts of one day, the shortest horizon wins; days of the
    window without a forecast add nothing. Shares are normalised over each local day's real
    hours, so a whole 23- or 25-hour day (clocks changing) still expects its forecast.
    """
    check_timezone(timezone)
    _require(forecasts, ("zone_id", "target_date", demand_column), "forecasts")
    order = ["horizon"] if "horizon" in forecasts.columns else []
    daily = (
        forecasts.lazy()
        .sort(order or "zone_id", nulls_last=True)
        .unique(subset=["zone_id", "target_date"], keep="first", maintain_order=True)
        .select(
            pl.col("zone_id").cast(pl.String),
            pl.col("target_date").cast(pl.Date).alias("date"),
            pl.col(demand_column).cast(pl.Float64).fill_null(0.0).alias("demand"),
        )
    )
    window = local_hour_pieces(
        pl.LazyFrame({"_s": [_utc(start, "start")], "_e": [_utc(end, "end")]}),
        start="_s",
        end="_e",
        timezone=timezone,
    ).select("date", "hour", (pl.col("seconds") / 3600.0).alias("weight"))
    shares = _hour_shares(hourly_profile, daily.select("zone_id").unique(), profile_prior_trips)
    days = window.select("date").unique().collect()["date"].to_list()
    whole_days = local_hour_pieces(
        pl.LazyFrame(
            {
                "_s": [local_midnight(d, timezone) for d in days],
                "_e": [local_midnight(d + timedelta(days=1), timezone) for d in days],
            },
            schema={"_s": pl.Datetime("us", "UTC"), "_e": pl.Datetime("us", "UTC")},
        ),
        start="_s",
        end="_e",
        timezone=timezone,
    ).select("date", "hour", (pl.col("seconds") / 3600.0).alias("weight"))
    day_total = (
        whole_days.join(shares, on="hour", how="inner")
        .group_by("zone_id", "date")
        .agg((pl.col("weight") * pl.col("share")).sum().alias("day_total"))
    )
    return (
        window.join(daily, on="date", how="inner")
        .join(shares, on=["zone_id", "hour"], how="inner")
        .join(day_total, on=["zone_id", "date"], how="inner")
        .group_by("zone_id")
        .agg(
            (pl.col("weight") * pl.col("share") * pl.col("demand") / pl.col("day_total"))
            .sum()
            .round(9)
            .alias("expected_demand")
        )
        .sort("zone_id")
        .collect()
    )


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _zone_rows(
    vehicles: pl.DataFrame,
    expected: pl.DataFrame,
    zones: pl.DataFrame | None,
    params: DeficitParams,
) -> pl.DataFrame:
    """One row per forecast zone: usable vehicles in it against its expected demand."""
    _require(vehicles, ("vehicle_id", "lat", "lon"), "vehicles")
    frame = vehicles
    if "zone_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("zone_id"))
    if zones is not None and "geometry" in zones.columns and frame["zone_id"].null_count():
        named = zones if "name" in zones.columns else zones.with_columns(name=pl.col("zone_id"))
        located = Zoning.from_frame(named).assign(frame, lat="lat", lon="lon", out="_zone")
        frame = located.with_columns(pl.coalesce("zone_id", "_zone").alias("zone_id"))
    flags = [
        pl.col(c).fill_null(False) if c in frame.columns else pl.lit(False)
        for c in ("is_reserved", "is_disabled")
    ]
    battery = pl.col("battery_pct") if "battery_pct" in frame.columns else pl.lit(None)
    usable = (
        ~flags[0] & ~flags[1] & (battery.cast(pl.Float64) >= params.min_battery_pct).fill_null(True)
    )
    counts = (
        frame.lazy()
        .filter(pl.col("zone_id").is_not_null())
        .group_by(pl.col("zone_id").cast(pl.String))
        .agg(
            usable.sum().cast(pl.Int64).alias("available"),
            (~usable).sum().cast(pl.Int64).alias("not_usable"),
        )
    )
    info = _zone_info(zones)
    return (
        expected.lazy()
        .join(counts, on="zone_id", how="left")
        .join(info, on="zone_id", how="left")
        .select(
            pl.lit("zone").cast(PLACE_KIND).alias("kind"),
            pl.col("zone_id").alias("place_id"),
            "name",
            "zone_id",
            "lat",
            "lon",
            pl.col("available").fill_null(0),
            pl.col("not_usable").fill_null(0),
            "expected_demand",
            pl.lit(None, pl.Int64).alias("capacity"),
            pl.lit(None, pl.Int64).alias("free_docks"),
            pl.lit(None, pl.Int64).alias("dock_gap"),
        )
        .collect()
    )


def _zone_info(zones: pl.DataFrame | None) -> pl.LazyFrame:
    """Zone names and centres (nulls when no zones are given)."""
    schema = {"zone_id": pl.String, "name": pl.String, "lat": pl.Float64, "lon": pl.Float64}
    if zones is None:
        return pl.LazyFrame(schema=schema)
    cols = zones.columns
    return zones.lazy().select(
        pl.col("zone_id").cast(pl.String),
        (pl.col("name") if "name" in cols else pl.lit(None)).cast(pl.String).alias("name"),
        (pl.col("centroid_lat") if "centroid_lat" in cols else pl.lit(None))
        .cast(pl.Float64)
        .alias("lat"),
        (pl.col("centroid_lon") if "centroid_lon" in cols else pl.lit(None))
        .cast(pl.Float64)
        .alias("lon"),
    )


def _station_rows(
    stations: pl.DataFrame,
    status: pl.DataFrame,
    expected: pl.DataFrame,
    params: DeficitParams,
) -> pl.DataFrame:
    """One row per installed station of a forecast zone: bikes against its share of the
    zone's expected demand (by capacity), free docks against the share kept for returns."""
    _require(stations, ("station_id", "zone_id"), "stations")
    _require(status, ("station_id", "bikes_available", "docks_available"), "station status")
    info = stations.lazy().select(
        pl.col("station_id").cast(pl.String),
        *[
            (pl.col(c) if c in stations.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in (("name", pl.String), ("lat", pl.Float64), ("lon", pl.Float64))
        ],
        pl.col("zone_id").cast(pl.String),
        (pl.col("capacity") if "capacity" in stations.columns else pl.lit(None))
        .cast(pl.Int64)
        .alias("capacity"),
    )
    state = status.lazy().select(
        pl.col("station_id").cast(pl.String),
        pl.col("bikes_available").cast(pl.Int64).fill_null(0).alias("_bikes"),
        pl.col("docks_available").cast(pl.Int64).fill_null(0).alias("_docks"),
        *[
            (pl.col(c).fill_null(True) if c in status.columns else pl.lit(True)).alias(c)
            for c in ("is_installed", "is_renting", "is_returning")
        ],
        *[
            (pl.col(c).cast(pl.Int64).fill_null(0) if c in status.columns else pl.lit(0)).alias(c)
            for c in ("bikes_disabled", "docks_disabled")
        ],
    )
    capacity = pl.coalesce(
        "capacity",
        pl.col("_bikes") + pl.col("_docks") + pl.col("bikes_disabled") + pl.col("docks_disabled"),
    )
    reserve = (pl.col("_capacity") * params.free_dock_share).ceil().cast(pl.Int64)
    return (
        info.join(state, on="station_id", how="inner")
        .filter(pl.col("is_installed"))
        .join(expected.lazy(), on="zone_id", how="inner")
        .with_columns(_capacity=capacity.cast(pl.Int64))
        .with_columns(
            _weight=pl.when(pl.col("_capacity").sum().over("zone_id") > 0)
            .then(pl.col("_capacity") / pl.col("_capacity").sum().over("zone_id"))
            .otherwise(1.0 / pl.len().over("zone_id"))
        )
        .with_columns(
            available=pl.when(pl.col("is_renting")).then(pl.col("_bikes")).otherwise(0),
            free_docks=pl.when(pl.col("is_returning")).then(pl.col("_docks")).otherwise(0),
        )
        .select(
            pl.lit("station").cast(PLACE_KIND).alias("kind"),
            pl.col("station_id").alias("place_id"),
            "name",
            "zone_id",
            "lat",
            "lon",
            "available",
            (pl.col("_bikes") - pl.col("available") + pl.col("bikes_disabled")).alias("not_usable"),
            (pl.col("expected_demand") * pl.col("_weight")).alias("expected_demand"),
            pl.col("_capacity").alias("capacity"),
            "free_docks",
            (reserve - pl.col("free_docks")).alias("dock_gap"),
        )
        .collect()
    )


def _rank(rows: pl.DataFrame, params: DeficitParams) -> pl.DataFrame:
    """Need, suggested move, score and priority of each place, in report order."""
    m = params.min_move
    rows = rows.with_columns(gap=pl.col("expected_demand") - pl.col("available"))
    want = pl.col("gap").ceil().clip(lower_bound=0).cast(pl.Int64)
    add = pl.min_horizontal(want, pl.coalesce("free_docks", want))
    spare = (-pl.col("gap")).floor().clip(lower_bound=0).cast(pl.Int64)
    need = (
        pl.when(add >= m)
        .then(pl.lit("vehicles"))
        .when((pl.col("dock_gap").fill_null(0) >= 1) & (spare >= m))
        .then(pl.lit("docks"))
        .when(spare >= m)
        .then(pl.lit("surplus"))
        .otherwise(pl.lit("balanced"))
        .cast(NEED)
    )
    rows = rows.with_columns(need=need).with_columns(
        suggested_add=pl.when(pl.col("need") == "vehicles")
        .then(add)
        .when(pl.col("need").is_in(["docks", "surplus"]))
        .then(-spare)
        .otherwise(0)
        .cast(pl.Int64)
    )
    expected = rows["expected_demand"].to_numpy()
    stock = np.where(
        rows["need"].cast(pl.String).to_numpy() == "docks",
        rows["free_docks"].fill_null(0).to_numpy(),
        rows["available"].to_numpy(),
    )
    rows = rows.with_columns(pl.Series("score", expected_shortage(expected, stock)))
    urgent = pl.col("need").is_in(["vehicles", "docks"])
    rows = rows.sort(
        [urgent, "score", "gap", "kind", "place_id"],
        descending=[True, True, True, False, False],
    )
    rank = pl.when(urgent).then(pl.int_range(1, pl.len() + 1)).cast(pl.Int64)
    order = pl.when(urgent).then(0).when(pl.col("need") == "surplus").then(1).otherwise(2)
    return (
        rows.with_columns(priority=rank)
        .with_columns(_order=order, _spare=pl.col("suggested_add"))
        .sort(["_order", "priority", "_spare", "kind", "place_id"], nulls_last=True)
        .select(list(PLACES))
        .cast(PLACES)  # type: ignore[arg-type]
    )


def deficits(
    forecasts: pl.DataFrame,
    *,
    now: datetime,
    timezone: str,
    vehicles: pl.DataFrame | None = None,
    stations: pl.DataFrame | None = None,
    station_status: pl.DataFrame | None = None,
    zones: pl.DataFrame | None = None,
    hourly_profile: pl.DataFrame | None = None,
    params: DeficitParams | None = None,
) -> DeficitReport:
    """Where vehicles are short or to spare now, per zone (dockless ``vehicles``) and per
    station (``stations`` with their latest ``station_status``), ranked by rides at risk.

    Expected demand is ``expected_demand`` over [now, now + horizon) (until local midnight
    by default). A station gets its zone's demand in proportion to its capacity; it keeps
    ``free_dock_share`` of its capacity free for returns, and as many returns as pickups
    are expected, so a nearly full station is a dock deficit scored on its free docks.
    Zones without a forecast for the window, and their stations, are left out.
    """
    p = params or DeficitParams()
    if vehicles is None and (stations is None or station_status is None):
        raise ValueError("give vehicles, or stations with their station_status")
    start = _utc(now, "now")
    check_timezone(timezone)
    if p.horizon_hours is None:
        today = start.astimezone(ZoneInfo(timezone)).date()
        end = local_midnight(today + timedelta(days=1), timezone)
    else:
        end = start + timedelta(hours=p.horizon_hours)
    expected = expected_demand(
        forecasts,
        start=start,
        end=end,
        timezone=timezone,
        hourly_profile=hourly_profile,
        demand_column=p.demand_column,
        profile_prior_trips=p.profile_prior_trips,
    )
    if expected.is_empty():
        raise ValueError(
            f"no forecast covers {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: "
            "issue forecasts for these days first"
        )
    parts = []
    if vehicles is not None:
        parts.append(_zone_rows(vehicles, expected, zones, p))
    if stations is not None and station_status is not None:
        parts.append(_station_rows(stations, station_status, expected, p))
    rows = pl.concat(parts, how="vertical_relaxed")
    return DeficitReport(places=_rank(rows, p), window_start=start, window_end=end, params=p)


@dataclass(frozen=True)
class AvailabilityHistory:
    """Share of time each station (and zone) was empty or full, by local time buckets.

    ``stations``: station_id (with zone_id and capacity when stations were given), the
    ``by`` keys, ``observed_s`` (time covered by snapshots), ``empty_s``, ``full_s``,
    ``share_empty``, ``share_full``. ``zones``: the same per zone over station-time (with
    the number of ``stations``), or None when stations carry no zone_id.
    """

    stations: pl.DataFrame
    zones: pl.DataFrame | None
    by: tuple[TimeKey, ...]
    max_gap: timedelta


def availability_history(
    snapshots: pl.LazyFrame | pl.DataFrame,
    *,
    timezone: str,
    stations: pl.DataFrame | None = None,
    by: Sequence[TimeKey] = ("weekday", "hour"),
    max_gap: timedelta = timedelta(hours=2),
    holidays: Collection[date] = (),
) -> AvailabilityHistory:
    """From one system's station-status snapshots, the share of time each station was
    empty (no bikes) or full (no free docks) by local ``by`` buckets (``hour``,
    ``weekday`` ISO 1-7, ``date``, ``day_type``, ``day_part``).

    Time-weighted: a snapshot holds from its ``observed_at`` until the station's next
    snapshot, at most ``max_gap`` (so feed outages count as unobserved), cut at local hour
    boundaries. A station with neither bikes nor free docks counts as empty (not full),
    so the two shares never add up past 1. A station's last snapshot, snapshots with
    unknown bikes and those of uninstalled stations hold no time. Of simultaneous
    snapshots of a station the one with the most bikes (then docks, then installed) holds. Missing
    ``docks_available`` is derived from the station's ``capacity`` when ``stations`` give
    it (capacity - bikes - disabled bikes - disabled docks).
    """
    keys = check_time_keys(by)
    check_timezone(timezone)
    if max_gap <= timedelta(0):
        raise ValueError(f"max_gap={max_gap} must be positive")
    _require(snapshots, ("station_id", "observed_at", "bikes_available"), "snapshots")
    present = snapshots.collect_schema().names()
    lazy = snapshots.lazy()
    info: pl.LazyFrame | None = None
    if stations is not None:
        _require(stations, ("station_id",), "stations")
        info = stations.lazy().select(
            pl.col("station_id").cast(pl.String),
            *[
                pl.col(c).cast(t)
                for c, t in (("zone_id", pl.String), ("capacity", pl.Int64))
                if c in stations.columns
            ],
        )
    has_capacity = stations is not None and "capacity" in stations.columns
    if "docks_available" not in present and not has_capacity:
        raise SchemaError("snapshots lack docks_available and stations give no capacity")

    def col(name: str, default: Any, dtype: pl.DataType) -> pl.Expr:
        return (pl.col(name) if name in present else pl.lit(default)).cast(dtype).alias(name)

    frame = lazy.select(
        pl.col("station_id").cast(pl.String),
        pl.col("observed_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
        pl.col("bikes_available").cast(pl.Int64),
        col("docks_available", None, pl.Int64()),
        col("bikes_disabled", 0, pl.Int64()),
        col("docks_disabled", 0, pl.Int64()),
        col("is_installed", True, pl.Boolean()),
    )
    if has_capacity and info is not None:
        derived = (
            pl.col("capacity")
            - pl.col("bikes_available")
            - pl.col("bikes_disabled").fill_null(0)
            - pl.col("docks_disabled").fill_null(0)
        )
        frame = frame.join(info.select("station_id", "capacity"), on="station_id", how="left")
        frame = frame.with_columns(pl.coalesce("docks_available", derived).alias("docks_available"))
    gap_us = int(max_gap / timedelta(microseconds=1))
    held = (
        frame.sort(
            "station_id",
            "observed_at",
            "bikes_available",
            "docks_available",
            "is_installed",
            nulls_last=False,
        )
        .with_columns(
            _next=pl.col("observed_at").shift(-1),
            _same=pl.col("station_id").shift(-1) == pl.col("station_id"),
        )
        .filter(
            pl.col("_same"),
            pl.col("is_installed").fill_null(True),
            pl.col("bikes_available").is_not_null(),
        )
        .with_columns(
            _until=pl.min_horizontal(
                pl.col("_next"), pl.col("observed_at") + pl.duration(microseconds=gap_us)
            )
        )
    )
    names = list(keys)
    pieces = (
        local_hour_pieces(held, start="observed_at", end="_until", timezone=timezone)
        .with_columns(time_key_columns(keys, holidays))
        .group_by("station_id", *names)
        .agg(
            pl.col("seconds").sum().alias("observed_s"),
            pl.col("seconds").filter(pl.col("bikes_available") <= 0).sum().alias("empty_s"),
            pl.col("seconds")
            .filter((pl.col("docks_available") <= 0) & (pl.col("bikes_available") > 0))
            .sum()
            .alias("full_s"),
        )
    )
    if info is not None:
        pieces = pieces.join(info, on="station_id", how="left")
    per_station = pieces.with_columns(
        share_empty=pl.col("empty_s") / pl.col("observed_s"),
        share_full=pl.col("full_s") / pl.col("observed_s"),
    ).sort("station_id", *names)
    info_cols = (
        [] if info is None else [c for c in info.collect_schema().names() if c != "station_id"]
    )
    station_frame = per_station.select(
        "station_id",
        *info_cols,
        *names,
        "observed_s",
        "empty_s",
        "full_s",
        "share_empty",
        "share_full",
    ).collect()
    zone_frame = None
    if "zone_id" in station_frame.columns:
        zone_frame = (
            station_frame.lazy()
            .filter(pl.col("zone_id").is_not_null())
            .group_by("zone_id", *names)
            .agg(
                pl.col("station_id").n_unique().cast(pl.Int64).alias("stations"),
                pl.col("observed_s", "empty_s", "full_s").sum(),
            )
            .with_columns(
                share_empty=pl.col("empty_s") / pl.col("observed_s"),
                share_full=pl.col("full_s") / pl.col("observed_s"),
            )
            .sort("zone_id", *names)
            .collect()
        )
    return AvailabilityHistory(stations=station_frame, zones=zone_frame, by=keys, max_gap=max_gap)
