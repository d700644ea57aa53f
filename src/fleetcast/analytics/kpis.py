"""Fleet KPIs: rides per vehicle, utilisation, parking occupancy, idle time, battery and where
vehicles stand, by local day, hour, day part and weekday vs weekend.

Also the time vocabulary every analytics module shares: the day parts, the day types and
the cutting of intervals at local hour boundaries (time-weighted shares need the time an
interval spent in each local hour, not the hour it started in).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fleetcast.analytics.paths import path_metrics
from fleetcast.domain import check_timezone
from fleetcast.errors import SchemaError
from fleetcast.geo import local_crs

HOUR_US: Final = 3_600_000_000
DAY_US: Final = 24 * HOUR_US

Frame = pl.DataFrame | pl.LazyFrame
TimeKey = Literal["date", "weekday", "hour", "day_type", "day_part"]
TIME_KEYS: Final[tuple[TimeKey, ...]] = get_args(TimeKey)


@dataclass(frozen=True, slots=True)
class DayPart:
    """A named span of local clock hours [start_hour, end_hour), wrapping past midnight."""

    name: str
    start_hour: int
    end_hour: int

    @property
    def hours(self) -> tuple[int, ...]:
        """The local hours (0-23) this part covers."""
        span = (self.end_hour - self.start_hour) % 24 or 24
        return tuple((self.start_hour + i) % 24 for i in range(span))


DAY_PARTS: Final = (
    DayPart("morning", 6, 10),
    DayPart("afternoon", 10, 16),
    DayPart("evening", 16, 22),
    DayPart("night", 22, 6),
)
"""The one definition of day parts; together they cover each hour of the day once."""

DAY_PART: Final = pl.Enum([p.name for p in DAY_PARTS])
DAY_TYPE: Final = pl.Enum(["weekday", "weekend"])
_HOUR_TO_PART: Final = {h: p.name for p in DAY_PARTS for h in p.hours}


def day_part(hour: pl.Expr) -> pl.Expr:
    """The day part (``DAY_PARTS``) of a local hour 0-23."""
    return hour.replace_strict(_HOUR_TO_PART, return_dtype=DAY_PART)


def day_type(day: pl.Expr, holidays: Collection[date] = ()) -> pl.Expr:
    """``weekend`` on Saturdays, Sundays and the given holidays, else ``weekday``."""
    off = day.dt.weekday() >= 6
    if holidays:
        off = off | day.is_in(sorted(holidays))
    return pl.when(off).then(pl.lit("weekend")).otherwise(pl.lit("weekday")).cast(DAY_TYPE)


def check_time_keys(by: Sequence[str]) -> tuple[TimeKey, ...]:
    """``by`` as time keys, or a ValueError naming the unknown ones and what exists."""
    unknown = [k for k in by if k not in TIME_KEYS]
    if unknown or len(set(by)) != len(by):
        raise ValueError(f"by={list(by)} not understood: use distinct keys among {TIME_KEYS}")
    return tuple(k for k in by if k in TIME_KEYS)


def time_key_columns(by: Sequence[TimeKey], holidays: Collection[date] = ()) -> list[pl.Expr]:
    """The ``by`` columns computed from a frame's local ``date``, ``hour`` and ``weekday``."""
    made = {
        "date": pl.col("date"),
        "weekday": pl.col("weekday"),
        "hour": pl.col("hour"),
        "day_type": day_type(pl.col("date"), holidays).alias("day_type"),
        "day_part": day_part(pl.col("hour")).alias("day_part"),
    }
    return [made[k] for k in by]


def _epoch_us(column: str) -> pl.Expr:
    return pl.col(column).dt.cast_time_unit("us").dt.epoch("us")


def _local_us(utc_us: pl.Expr, timezone: str) -> pl.Expr:
    """Local wall-clock time as microseconds since 1970-01-01 00:00 (of that clock)."""
    return (
        pl.from_epoch(utc_us, time_unit="us")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
        .dt.epoch("us")
    )


def local_hour_pieces(frame: pl.LazyFrame, *, start: str, end: str, timezone: str) -> pl.LazyFrame:
    """Each row's [start, end) cut at local hour boundaries, one row per piece.

    A piece carries its local ``date``, ``hour`` (0-23), ``weekday`` (ISO, 1 = Monday) and
    ``seconds``, replacing any columns of those names; rows whose interval is empty or
    null vanish. Times are UTC (naive times are read as UTC).
    """
    t0, t1 = _epoch_us(start), _epoch_us(end)
    floor0 = t0 - _local_us(t0, timezone) % HOUR_US
    count = (t1 - floor0 + HOUR_US - 1) // HOUR_US
    local = pl.col("_local")
    return (
        frame.with_columns(_t0=t0, _t1=t1, _floor=floor0, _n=count)
        .filter(pl.col("_t1") > pl.col("_t0"))
        .with_columns(_k=pl.int_ranges(0, pl.col("_n")))
        .explode("_k")
        .with_columns(_b=pl.col("_floor") + pl.col("_k") * HOUR_US)
        .with_columns(
            _ps=pl.max_horizontal("_t0", "_b"),
            _pe=pl.min_horizontal("_t1", pl.col("_b") + HOUR_US),
        )
        .with_columns(_local=_local_us(pl.col("_ps"), timezone))
        .with_columns(
            date=(local // DAY_US).cast(pl.Int32).cast(pl.Date),
            hour=((local // HOUR_US) % 24).cast(pl.Int8),
            weekday=((local // DAY_US + 3) % 7 + 1).cast(pl.Int8),
            seconds=(pl.col("_pe") - pl.col("_ps")).cast(pl.Float64) / 1e6,
        )
        .drop("_t0", "_t1", "_floor", "_n", "_k", "_b", "_ps", "_pe", "_local")
    )


def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC instant local ``day`` begins in ``timezone``."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def _period(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    check_timezone(timezone)
    return local_midnight(start, timezone), local_midnight(end + timedelta(days=1), timezone)


def _require(frame: Frame, columns: Sequence[str], what: str) -> None:
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")


LOW_BATTERY_PCT: Final = 20.0
"""Below this battery share (percent) a vehicle is low: not rentable, due a swap."""


@dataclass(frozen=True, slots=True)
class KpiParams:
    """Thresholds of the fleet KPIs; checks itself so a bad setting fails early, naming it.

    A vehicle is low on battery below ``low_battery_pct``; battery histograms use bins of
    ``battery_bin_pct`` points; a vehicle stands at a parking when within the parking's
    radius (or polygon) plus ``parking_tolerance_m`` metres (GPS noise).
    """

    low_battery_pct: float = LOW_BATTERY_PCT
    battery_bin_pct: int = 10
    parking_tolerance_m: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.low_battery_pct <= 100.0:
            problems.append(f"low_battery_pct={self.low_battery_pct} (use 0..100)")
        if not 1 <= self.battery_bin_pct <= 100 or 100 % self.battery_bin_pct:
            problems.append(f"battery_bin_pct={self.battery_bin_pct} (use a divisor of 100)")
        if not 0.0 <= self.parking_tolerance_m <= 1000.0:
            problems.append(f"parking_tolerance_m={self.parking_tolerance_m} (use 0..1000 m)")
        if problems:
            raise ValueError("KpiParams not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> KpiParams:
        """Params from a TOML table; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"KpiParams not understood: unknown key(s) {unknown}")
        return cls(**dict(values))


def _trips_in(trips: Frame, start: datetime, end: datetime) -> pl.LazyFrame:
    """Trips that overlap [start, end), with UTC times."""
    return (
        trips.lazy()
        .with_columns(pl.col("started_at", "ended_at").dt.cast_time_unit("us"))
        .filter(pl.col("ended_at") > start, pl.col("started_at") < end)
    )


def _clipped_pieces(trips: pl.LazyFrame, start: datetime, end: datetime, tz: str) -> pl.LazyFrame:
    """Ride time of each trip inside [start, end), cut at local hours."""
    clipped = trips.with_columns(
        _s=pl.max_horizontal(pl.col("started_at"), pl.lit(start).dt.cast_time_unit("us")),
        _e=pl.min_horizontal(pl.col("ended_at"), pl.lit(end).dt.cast_time_unit("us")),
    )
    return local_hour_pieces(clipped, start="_s", end="_e", timezone=tz)


def _clock_pieces(start: datetime, end: datetime, tz: str) -> pl.LazyFrame:
    """The period itself cut at local hours: the clock time each bucket holds."""
    period = pl.LazyFrame({"_s": [start], "_e": [end]}).with_columns(
        pl.col("_s", "_e").dt.cast_time_unit("us")
    )
    return local_hour_pieces(period, start="_s", end="_e", timezone=tz)


def _fleet_size(trips: pl.LazyFrame, fleet_size: int | None) -> int:
    if fleet_size is not None:
        if fleet_size < 1:
            raise ValueError(f"fleet_size={fleet_size} must be at least 1")
        return fleet_size
    return max(int(trips.select(pl.col("vehicle_id").n_unique()).collect().item()), 1)


def _started_locally(trips: pl.LazyFrame, start: datetime, end: datetime, tz: str) -> pl.LazyFrame:
    """Trips started in [start, end) with their local start date and hour."""
    local = pl.col("started_at").dt.convert_time_zone(tz)
    return trips.filter(pl.col("started_at") >= start, pl.col("started_at") < end).with_columns(
        date=local.dt.date(),
        hour=local.dt.hour().cast(pl.Int8),
        weekday=local.dt.weekday().cast(pl.Int8),
    )


def daily_usage(
    trips: Frame,
    *,
    timezone: str,
    start: date,
    end: date,
    fleet_size: int | None = None,
    holidays: Collection[date] = (),
) -> pl.DataFrame:
    """Rides per vehicle and utilisation per local day in [start, end], every day listed.

    ``rides_per_vehicle`` divides the trips started that day by the fleet (``fleet_size``,
    else the vehicles with a trip in the period); ``rides_per_active_vehicle`` by the
    vehicles that rode that day; ``utilisation`` is the share of fleet time spent in rides
    (ride time inside the day over fleet x the day's clock length, 23 or 25 h on DST days).
    """
    t0, t1 = _period(start, end, timezone)
    _require(trips, ("vehicle_id", "started_at", "ended_at"), "trips")
    lazy = _trips_in(trips, t0, t1)
    fleet = _fleet_size(lazy, fleet_size)
    started = (
        _started_locally(lazy, t0, t1, timezone)
        .group_by("date")
        .agg(pl.len().alias("trips"), pl.col("vehicle_id").n_unique().alias("active_vehicles"))
    )
    ride = (
        _clipped_pieces(lazy, t0, t1, timezone)
        .group_by("date")
        .agg(pl.col("seconds").sum().alias("ride_s"))
    )
    clock = (
        _clock_pieces(t0, t1, timezone).group_by("date").agg(pl.col("seconds").sum().alias("day_s"))
    )
    return (
        clock.join(started, on="date", how="left")
        .join(ride, on="date", how="left")
        .select(
            "date",
            day_type(pl.col("date"), holidays).alias("day_type"),
            pl.col("trips").fill_null(0).cast(pl.Int64),
            pl.col("active_vehicles").fill_null(0).cast(pl.Int64),
            pl.lit(fleet, pl.Int64).alias("fleet_size"),
            (pl.col("trips").fill_null(0) / fleet).alias("rides_per_vehicle"),
            (pl.col("trips") / pl.col("active_vehicles")).alias("rides_per_active_vehicle"),
            (pl.col("ride_s").fill_null(0.0) / 3600.0).alias("ride_hours"),
            (pl.col("ride_s").fill_null(0.0) / (fleet * pl.col("day_s"))).alias("utilisation"),
        )
        .sort("date")
        .collect()
    )


def usage_by_period(
    trips: Frame,
    *,
    timezone: str,
    start: date,
    end: date,
    by: Sequence[TimeKey] = ("day_type", "day_part"),
    fleet_size: int | None = None,
    holidays: Collection[date] = (),
) -> pl.DataFrame:
    """Trips and utilisation by local time buckets: weekday vs weekend, day parts, hours.

    Per bucket: ``days`` (local days that have clock time in it), ``clock_hours``,
    ``trips`` started, ``trips_per_day`` (per such day), ``trips_per_hour`` (per clock
    hour), ``utilisation`` (ride time over fleet x clock time), mean duration and distance.
    """
    keys = check_time_keys(by)
    t0, t1 = _period(start, end, timezone)
    _require(trips, ("vehicle_id", "started_at", "ended_at"), "trips")
    lazy = _trips_in(trips, t0, t1)
    fleet = _fleet_size(lazy, fleet_size)
    columns = time_key_columns(keys, holidays)
    names = list(keys)
    has = lazy.collect_schema().names()
    extra = [pl.col(c).mean().alias(f"mean_{c}") for c in ("duration_s", "distance_m") if c in has]
    started = (
        _started_locally(lazy, t0, t1, timezone)
        .with_columns(columns)
        .group_by(names)
        .agg(pl.len().alias("trips"), *extra)
    )
    ride = (
        _clipped_pieces(lazy, t0, t1, timezone)
        .with_columns(columns)
        .group_by(names)
        .agg(pl.col("seconds").sum().alias("ride_s"))
    )
    clock = (
        _clock_pieces(t0, t1, timezone)
        .with_columns(columns)
        .group_by(names)
        .agg(pl.col("seconds").sum().alias("clock_s"), pl.col("date").n_unique().alias("days"))
    )
    out = clock.join(started, on=names, how="left", nulls_equal=True).join(
        ride, on=names, how="left", nulls_equal=True
    )
    trips_n = pl.col("trips").fill_null(0)
    return (
        out.select(
            *names,
            pl.col("days").cast(pl.Int64),
            (pl.col("clock_s") / 3600.0).alias("clock_hours"),
            trips_n.cast(pl.Int64).alias("trips"),
            (trips_n / pl.col("days")).alias("trips_per_day"),
            (trips_n / (pl.col("clock_s") / 3600.0)).alias("trips_per_hour"),
            (pl.col("ride_s").fill_null(0.0) / (fleet * pl.col("clock_s"))).alias("utilisation"),
            *[pl.col(e.meta.output_name()) for e in extra],
        )
        .sort(names)
        .collect()
    )


def vehicle_usage(
    trips: Frame,
    *,
    timezone: str,
    start: date,
    end: date,
    vehicles: pl.DataFrame | None = None,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Per vehicle over [start, end]: rides started, rides per day, ride hours and
    utilisation (ride time inside the period over its length), and the idle time since its
    last ride ended at or before ``now`` (default: the end of the period).

    Listed: the vehicles with ride time in the period and those of ``vehicles``; a vehicle
    never seen riding has 0 rides and unknown (null) idle time.
    """
    t0, t1 = _period(start, end, timezone)
    _require(trips, ("vehicle_id", "started_at", "ended_at"), "trips")
    as_of = t1 if now is None else _aware(now, "now")
    days = (end - start).days + 1
    period_s = (t1 - t0).total_seconds()
    all_trips = trips.lazy().with_columns(pl.col("started_at", "ended_at").dt.cast_time_unit("us"))
    lazy = _trips_in(all_trips, t0, t1)
    rides = (
        lazy.filter(pl.col("started_at") >= t0)
        .group_by("vehicle_id")
        .agg(pl.len().cast(pl.Int64).alias("rides"))
    )
    clipped = lazy.select(
        "vehicle_id",
        (
            pl.min_horizontal("ended_at", pl.lit(t1).dt.cast_time_unit("us"))
            - pl.max_horizontal("started_at", pl.lit(t0).dt.cast_time_unit("us"))
        )
        .dt.total_microseconds()
        .alias("_us"),
    )
    ride_s = clipped.group_by("vehicle_id").agg((pl.col("_us").sum() / 1e6).alias("ride_s"))
    last = (
        all_trips.filter(pl.col("ended_at") <= as_of)
        .group_by("vehicle_id")
        .agg(pl.col("ended_at").max().alias("last_ride_end"))
    )
    ids = lazy.select("vehicle_id")
    if vehicles is not None:
        ids = pl.concat([ids, vehicles.lazy().select(pl.col("vehicle_id").cast(pl.String))])
    return (
        ids.unique()
        .join(rides, on="vehicle_id", how="left")
        .join(ride_s, on="vehicle_id", how="left")
        .join(last, on="vehicle_id", how="left")
        .select(
            "vehicle_id",
            pl.col("rides").fill_null(0),
            (pl.col("rides").fill_null(0) / days).alias("rides_per_day"),
            (pl.col("ride_s").fill_null(0.0) / 3600.0).alias("ride_hours"),
            (pl.col("ride_s").fill_null(0.0) / period_s).alias("utilisation"),
            "last_ride_end",
            (
                (pl.lit(as_of).dt.cast_time_unit("us") - pl.col("last_ride_end")).dt.total_seconds(
                    fractional=True
                )
                / 3600.0
            ).alias("idle_hours"),
        )
        .sort("vehicle_id")
        .collect()
    )


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def battery_distribution(
    vehicles: pl.DataFrame, *, params: KpiParams | None = None
) -> pl.DataFrame:
    """Vehicles per battery bin [bin_start, bin_end) (the top bin includes 100), every bin
    listed; vehicles without a battery reading are left out."""
    p = params or KpiParams()
    _require(vehicles, ("battery_pct",), "vehicles")
    width = p.battery_bin_pct
    starts = list(range(0, 100, width))
    battery = pl.col("battery_pct").clip(0.0, 100.0)
    binned = (
        vehicles.lazy()
        .filter(pl.col("battery_pct").is_not_null())
        .select((battery // width * width).clip(upper_bound=100 - width).cast(pl.Int64).alias("b"))
        .group_by("b")
        .agg(pl.len().cast(pl.Int64).alias("vehicles"))
    )
    grid = pl.LazyFrame({"b": starts}, schema={"b": pl.Int64})
    return (
        grid.join(binned, on="b", how="left")
        .select(
            pl.col("b").alias("bin_start"),
            (pl.col("b") + width).alias("bin_end"),
            pl.col("vehicles").fill_null(0),
            (pl.col("b") < p.low_battery_pct).alias("low"),
        )
        .with_columns(
            (pl.col("vehicles") / pl.col("vehicles").sum().clip(lower_bound=1)).alias("share")
        )
        .sort("bin_start")
        .collect()
    )


@dataclass(frozen=True)
class _Parkings:
    """Parkings projected into a local metric CRS: areas (radius or polygon) and centres."""

    ids: npt.NDArray[np.object_]
    centres: npt.NDArray[np.object_]
    areas: npt.NDArray[np.object_]
    crs: pyproj.CRS

    def project(self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> Any:
        """Points (lon/lat arrays) as shapely points in this CRS."""
        forward = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = forward.transform(lon, lat)
        return shapely.points(np.asarray(x), np.asarray(y))


def _parkings(parkings: pl.DataFrame, tolerance_m: float) -> _Parkings:
    """The parkings' areas in metres: the polygon of ``geometry`` when given, else a disc of
    ``radius_m`` around (lat, lon); both grown by ``tolerance_m``."""
    _require(parkings, ("parking_id", "lat", "lon", "radius_m"), "parkings")
    if parkings.is_empty():
        raise SchemaError("parkings are empty")
    lat = parkings["lat"].to_numpy().astype(np.float64)
    lon = parkings["lon"].to_numpy().astype(np.float64)
    crs = local_crs(float(np.mean(lat)), float(np.mean(lon)))
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = forward.transform(lon, lat)
    centres = shapely.points(np.asarray(x), np.asarray(y))
    radius = parkings["radius_m"].fill_null(30.0).to_numpy().astype(np.float64)
    areas = shapely.buffer(centres, radius + tolerance_m)
    if "geometry" in parkings.columns:
        for i, text in enumerate(parkings["geometry"].to_list()):
            if text:
                polygon = shapely.transform(
                    shape(json.loads(text)), forward.transform, interleaved=False
                )
                areas[i] = shapely.buffer(polygon, tolerance_m) if tolerance_m else polygon
    return _Parkings(
        ids=np.array(parkings["parking_id"].cast(pl.String).to_list(), dtype=object),
        centres=centres,
        areas=areas,
        crs=crs,
    )


def _at_parking(
    places: _Parkings, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """For each point: the parking it stands in (nearest centre among those whose area holds
    it, else None), the nearest parking and the distance to that parking's centre in m."""
    points = places.project(lat, lon)
    inside = np.full(len(points), None, dtype=object)
    area_tree = shapely.STRtree(places.areas)
    point_idx, park_idx = area_tree.query(points, predicate="intersects")
    if len(point_idx):
        dist = shapely.distance(points[point_idx], places.centres[park_idx])
        order = np.lexsort((park_idx, dist, point_idx))
        point_idx, park_idx = point_idx[order], park_idx[order]
        first = np.ones(len(point_idx), bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        inside[point_idx[first]] = places.ids[park_idx[first]]
    centre_tree = shapely.STRtree(places.centres)
    (q_idx, c_idx), distance = centre_tree.query_nearest(
        points, return_distance=True, all_matches=False
    )
    nearest = np.full(len(points), None, dtype=object)
    near_d = np.full(len(points), np.nan)
    nearest[q_idx] = places.ids[c_idx]
    near_d[q_idx] = distance
    return inside, nearest, near_d


def service_area_of(
    zones: pl.DataFrame | None = None, service_area: str | BaseGeometry | None = None
) -> BaseGeometry | None:
    """The area riders may park in: ``service_area`` (GeoJSON text or a geometry) when given,
    else the union of the zones' polygons, else None."""
    if service_area is not None:
        if isinstance(service_area, str):
            return shape(json.loads(service_area))
        return service_area
    if zones is None or "geometry" not in zones.columns:
        return None
    polygons = [shape(json.loads(g)) for g in zones["geometry"].drop_nulls()]
    return shapely.union_all(np.array(polygons, dtype=object)) if polygons else None


def vehicle_flags(
    vehicles: pl.DataFrame,
    *,
    parkings: pl.DataFrame | None = None,
    zones: pl.DataFrame | None = None,
    service_area: str | BaseGeometry | None = None,
    params: KpiParams | None = None,
) -> pl.DataFrame:
    """Per vehicle of a status frame: usable, low battery, disabled, reserved, the parking
    it stands at and the nearest parking with its distance in metres (local metric
    projection), and whether it is inside the service area (``service_area``, else the
    union of ``zones``). Parking and service-area columns are null when not given."""
    p = params or KpiParams()
    _require(vehicles, ("vehicle_id", "lat", "lon"), "vehicles")
    frame = vehicles.with_columns(
        [
            pl.col(c).fill_null(False) if c in vehicles.columns else pl.lit(False).alias(c)
            for c in ("is_reserved", "is_disabled")
        ]
    )
    if "battery_pct" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("battery_pct"))
    lat = frame["lat"].to_numpy().astype(np.float64)
    lon = frame["lon"].to_numpy().astype(np.float64)
    located = np.isfinite(lat) & np.isfinite(lon)
    at, nearest = np.full(len(lat), None, dtype=object), np.full(len(lat), None, dtype=object)
    distance = np.full(len(lat), np.nan)
    if parkings is not None and located.any():
        places = _parkings(parkings, p.parking_tolerance_m)
        at[located], nearest[located], distance[located] = _at_parking(
            places, lat[located], lon[located]
        )
    area = service_area_of(zones, service_area)
    inside: list[bool | None] = [None] * len(lat)
    if area is not None:
        shapely.prepare(area)
        hit = shapely.intersects_xy(area, lon, lat)
        inside = [bool(h) if ok else None for h, ok in zip(hit, located, strict=True)]
    low = pl.col("battery_pct") < p.low_battery_pct
    return frame.select(
        "vehicle_id",
        (~pl.col("is_reserved") & ~pl.col("is_disabled") & ~low.fill_null(False)).alias("usable"),
        low.fill_null(False).alias("low_battery"),
        "is_disabled",
        "is_reserved",
        pl.Series("parking_id", at.tolist(), dtype=pl.String),
        pl.Series("nearest_parking_id", nearest.tolist(), dtype=pl.String),
        pl.Series("parking_distance_m", distance, dtype=pl.Float64).fill_nan(None),
        pl.Series(
            "at_parking",
            [None if parkings is None else a is not None for a in at],
            dtype=pl.Boolean,
        ),
        pl.Series("in_service_area", inside, dtype=pl.Boolean),
    )


def parking_occupancy(
    snapshots: Frame,
    parkings: pl.DataFrame,
    *,
    timezone: str,
    by: Sequence[TimeKey] = ("hour",),
    every: str | None = None,
    holidays: Collection[date] = (),
    params: KpiParams | None = None,
) -> pl.DataFrame:
    """Vehicles standing at each parking, averaged over the snapshots in each local bucket.

    A snapshot is the fleet at one ``observed_at`` (or in one ``every`` window such as
    ``"15m"``, a vehicle's last position in it); a vehicle counts at the parking whose area
    holds it, so a parking with nobody there counts 0. Per parking and bucket:
    ``snapshots``, ``mean_vehicles``, ``fill`` (mean over ``max_vehicles``) and the share of
    snapshots below ``min_vehicles`` and above ``max_vehicles``.
    """
    keys = check_time_keys(by)
    check_timezone(timezone)
    p = params or KpiParams()
    _require(snapshots, ("vehicle_id", "observed_at", "lat", "lon"), "vehicle snapshots")
    taken = pl.col("observed_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    snap = taken if every is None else taken.dt.truncate(every)
    fleet = (
        snapshots.lazy()
        .with_columns(_snap=snap, _t=taken)
        .sort("_t")
        .unique(subset=["_snap", "vehicle_id"], keep="last")
        .select("_snap", "lat", "lon")
        .collect()
    )
    places = _parkings(parkings, p.parking_tolerance_m)
    spots = fleet.select("lat", "lon").unique().drop_nulls()
    at, _, _ = _at_parking(
        places,
        spots["lat"].to_numpy().astype(np.float64),
        spots["lon"].to_numpy().astype(np.float64),
    )
    spots = spots.with_columns(pl.Series("parking_id", at.tolist(), dtype=pl.String))
    counts = (
        fleet.lazy()
        .join(spots.lazy(), on=["lat", "lon"], how="inner")
        .filter(pl.col("parking_id").is_not_null())
        .group_by("_snap", "parking_id")
        .agg(pl.len().alias("n"))
    )
    local = pl.col("_snap").dt.convert_time_zone(timezone)
    times = (
        fleet.lazy()
        .select(pl.col("_snap").unique())
        .with_columns(
            date=local.dt.date(),
            hour=local.dt.hour().cast(pl.Int8),
            weekday=local.dt.weekday().cast(pl.Int8),
        )
        .with_columns(time_key_columns(keys, holidays))
    )
    cols = parkings.columns
    info = parkings.lazy().select(
        pl.col("parking_id").cast(pl.String),
        *[
            (pl.col(c) if c in cols else pl.lit(None)).cast(t).alias(c)
            for c, t in (
                ("zone_id", pl.String),
                ("name", pl.String),
                ("min_vehicles", pl.Int64),
                ("max_vehicles", pl.Int64),
            )
        ],
    )
    names = list(keys)
    n = pl.col("n").fill_null(0)
    return (
        times.join(info, how="cross")
        .join(counts, on=["_snap", "parking_id"], how="left")
        .group_by("parking_id", *names)
        .agg(
            pl.first("zone_id", "name", "min_vehicles", "max_vehicles"),
            pl.len().cast(pl.Int64).alias("snapshots"),
            n.mean().alias("mean_vehicles"),
            (n < pl.col("min_vehicles")).mean().alias("share_below_min"),
            (n > pl.col("max_vehicles")).mean().alias("share_above_max"),
        )
        .with_columns((pl.col("mean_vehicles") / pl.col("max_vehicles")).alias("fill"))
        .sort("parking_id", *names)
        .collect()
    )


@dataclass(frozen=True, slots=True)
class FleetKpis:
    """The headline figures of a fleet over a period of local days (None when the input
    that feeds a figure was not given)."""

    start: date
    end: date
    days: int
    trips: int
    fleet_size: int
    active_vehicles: int
    rides_per_vehicle_per_day: float
    utilisation: float
    weekday_trips_per_day: float | None
    weekend_trips_per_day: float | None
    busiest_day_part: str | None
    mean_duration_s: float | None
    mean_distance_m: float | None
    median_idle_hours: float | None
    vehicles_idle_over_24h: int
    usable_vehicles: int | None = None
    low_battery_vehicles: int | None = None
    disabled_vehicles: int | None = None
    reserved_vehicles: int | None = None
    outside_parking: int | None = None
    outside_service_area: int | None = None
    median_detour_ratio: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain values (for JSON and tables)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def fleet_kpis(
    trips: Frame,
    *,
    timezone: str,
    start: date,
    end: date,
    vehicles: pl.DataFrame | None = None,
    parkings: pl.DataFrame | None = None,
    zones: pl.DataFrame | None = None,
    service_area: str | BaseGeometry | None = None,
    now: datetime | None = None,
    holidays: Collection[date] = (),
    params: KpiParams | None = None,
) -> FleetKpis:
    """The fleet's summary over [start, end]: usage from trips; state counts (battery,
    disabled, outside parkings or the service area) from ``vehicles`` when given; the
    median detour ratio when trips carry a ``route``.

    The fleet is ``vehicles`` when given, else every vehicle with a trip in the period.
    """
    p = params or KpiParams()
    fleet = None if vehicles is None else max(vehicles["vehicle_id"].n_unique(), 1)
    daily = daily_usage(
        trips, timezone=timezone, start=start, end=end, fleet_size=fleet, holidays=holidays
    )
    fleet_n = int(daily["fleet_size"][0])
    by_type = usage_by_period(
        trips,
        timezone=timezone,
        start=start,
        end=end,
        by=("day_type",),
        fleet_size=fleet_n,
        holidays=holidays,
    )
    by_part = usage_by_period(
        trips, timezone=timezone, start=start, end=end, by=("day_part",), fleet_size=fleet_n
    )
    per_vehicle = vehicle_usage(
        trips, timezone=timezone, start=start, end=end, vehicles=vehicles, now=now
    )
    per_type = dict(
        zip(by_type["day_type"].to_list(), by_type["trips_per_day"].to_list(), strict=True)
    )
    busiest = by_part.sort("trips_per_hour", descending=True)
    n_trips = int(daily["trips"].sum())
    clock_s = float(by_type["clock_hours"].sum()) * 3600.0
    ride_s = float(daily["ride_hours"].sum()) * 3600.0
    t0, t1 = _period(start, end, timezone)
    in_period = _trips_in(trips, t0, t1).filter(pl.col("started_at") >= t0).collect()
    idle = per_vehicle["idle_hours"].drop_nulls()
    kpis: dict[str, Any] = {
        "start": start,
        "end": end,
        "days": (end - start).days + 1,
        "trips": n_trips,
        "fleet_size": fleet_n,
        "active_vehicles": int((per_vehicle["rides"] > 0).sum()),
        "rides_per_vehicle_per_day": n_trips / fleet_n / ((end - start).days + 1),
        "utilisation": ride_s / (fleet_n * clock_s),
        "weekday_trips_per_day": per_type.get("weekday"),
        "weekend_trips_per_day": per_type.get("weekend"),
        "busiest_day_part": str(busiest["day_part"][0]) if n_trips else None,
        "mean_duration_s": _mean(in_period, "duration_s"),
        "mean_distance_m": _mean(in_period, "distance_m"),
        "median_idle_hours": float(idle.median()) if len(idle) else None,  # type: ignore[arg-type]
        "vehicles_idle_over_24h": int((idle > 24.0).sum()),
    }
    if vehicles is not None:
        flags = vehicle_flags(
            vehicles, parkings=parkings, zones=zones, service_area=service_area, params=p
        )
        kpis |= {
            "usable_vehicles": int(flags["usable"].sum()),
            "low_battery_vehicles": int(flags["low_battery"].sum()),
            "disabled_vehicles": int(flags["is_disabled"].sum()),
            "reserved_vehicles": int(flags["is_reserved"].sum()),
            "outside_parking": None if parkings is None else int((~flags["at_parking"]).sum()),
            "outside_service_area": None
            if flags["in_service_area"].null_count() == flags.height
            else int((flags["in_service_area"] == False).sum()),  # noqa: E712
        }
    if "route" in in_period.columns and in_period["route"].null_count() < in_period.height:
        ratios = path_metrics(in_period.filter(pl.col("route").is_not_null()))["detour_ratio"]
        ratios = ratios.drop_nulls()
        kpis["median_detour_ratio"] = float(ratios.median()) if len(ratios) else None  # type: ignore[arg-type]
    return FleetKpis(**kpis)


def _mean(frame: pl.DataFrame, column: str) -> float | None:
    if column not in frame.columns or frame[column].null_count() == frame.height:
        return None
    value = frame[column].mean()
    return None if value is None else float(value)  # type: ignore[arg-type]
