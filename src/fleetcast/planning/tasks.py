"""Field tasks from the fleet state: rules find what needs a worker, weights say how urgent.

Six rules look at the latest fleet state, five per vehicle and one per parking:

==================  ========================================================  ===========
rule                fires when                                                task kind
==================  ========================================================  ===========
``repair``          ``is_disabled`` is true                                   repair
``outside_area``    the vehicle stands outside the service area               retrieve
``low_battery``     ``battery_pct < low_battery_pct`` (default 20)            swap_battery
``outside_parking`` farther than ``radius_m + parking_tolerance_m`` from      retrieve
                    every parking (the parking's disc, or its polygon)
``long_idle``       ``idle_hours > idle_hours`` (default 48 h)                reposition
``below_minimum``   a parking holds fewer vehicles than its ``min_vehicles``  drop
==================  ========================================================  ===========

A vehicle gets one task: the kind of the first rule it matches in the order of the table
(repair > retrieve outside the service area > swap battery > retrieve outside parking >
reposition), with the other rules listed in ``rules`` and ``reason``. A worker sent to a
disabled vehicle outside the area deals with both; the order says which problem names the
trip. Reserved vehicles get no task (a rider is about to take them). A vehicle without a
position can still be due a repair, swap or reposition: its task has null ``lat``/``lon``
(the assignment reports it as unassigned, "no location") rather than vanishing.

A retrieve names in ``parking_id`` the parking to bring the vehicle to: the one whose edge
is nearest. A drop counts the vehicles standing at the parking (within its area + the
tolerance, the nearest centre when areas overlap) that a rider could take soon: not
disabled, not reserved.

Priority = base weight of the kind + Σ weight x factor, every factor normalised to 0..1:

- ``battery`` = 1 - battery_pct / 100 (clipped to 0..1; 0 when unknown and for drops);
- ``demand`` = the zone's expected trips today / the largest expected trips of any zone in
  ``zone_demand`` (0 for zones without a forecast);
- ``idle`` = min(idle_hours / idle_saturation_hours, 1) (0 when unknown);
- ``distance`` = min(metres out of place / distance_saturation_m, 1), where the metres out of
  place are the distance to the service area when the vehicle is outside it, else the
  distance beyond the edge of the nearest parking (0 inside a parking, and for drops);
- ``shortfall`` (drops only) = vehicles missing / min_vehicles.

``score_parts`` is a struct column ``{base, battery, demand, idle, distance, shortfall}``
holding each part's contribution (weight x factor); its fields sum to ``priority``. A struct
keeps the parts typed in Polars and the UI can unnest it; ``.struct.json_encode()`` turns it
into JSON text for a db column.

Distances are measured in a local azimuthal-equidistant projection around the fleet
(metres), never in degrees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fleetcast.analytics.kpis import LOW_BATTERY_PCT
from fleetcast.errors import SchemaError
from fleetcast.geo import local_crs, to_metric

DEFAULT_RADIUS_M: Final = 30.0
"""Radius of a parking whose ``radius_m`` is null (the KPIs use the same)."""

_CHUNK: Final = 2048
"""Vehicles per block when measuring vehicle-to-parking distances (bounds memory)."""


class TaskKind(StrEnum):
    """What a worker does at a task."""

    SWAP_BATTERY = "swap_battery"
    RETRIEVE = "retrieve"
    DROP = "drop"
    REPAIR = "repair"
    REPOSITION = "reposition"


class Rule(StrEnum):
    """The rules that raise tasks, in order of importance for one vehicle (first wins)."""

    REPAIR = "repair"
    OUTSIDE_AREA = "outside_area"
    LOW_BATTERY = "low_battery"
    OUTSIDE_PARKING = "outside_parking"
    LONG_IDLE = "long_idle"
    BELOW_MINIMUM = "below_minimum"

    @property
    def kind(self) -> TaskKind:
        """The kind of task this rule raises."""
        return _RULE_KIND[self]


_RULE_KIND: Final = {
    Rule.REPAIR: TaskKind.REPAIR,
    Rule.OUTSIDE_AREA: TaskKind.RETRIEVE,
    Rule.LOW_BATTERY: TaskKind.SWAP_BATTERY,
    Rule.OUTSIDE_PARKING: TaskKind.RETRIEVE,
    Rule.LONG_IDLE: TaskKind.REPOSITION,
    Rule.BELOW_MINIMUM: TaskKind.DROP,
}

VEHICLE_RULES: Final = (
    Rule.REPAIR,
    Rule.OUTSIDE_AREA,
    Rule.LOW_BATTERY,
    Rule.OUTSIDE_PARKING,
    Rule.LONG_IDLE,
)
"""The per-vehicle rules, most important first: a vehicle's task has the first one's kind."""

FACTORS: Final = ("battery", "demand", "idle", "distance", "shortfall")
"""The priority factors, each normalised to 0..1 (see the module docstring)."""

SCORE_PARTS: Final = pl.Struct({name: pl.Float64() for name in ("base", *FACTORS)})
"""The dtype of ``score_parts``: each part's contribution to ``priority``."""

TASKS: Final[dict[str, pl.DataType]] = {
    "task_id": pl.String(),
    "kind": pl.String(),
    "vehicle_id": pl.String(),
    "parking_id": pl.String(),
    "zone_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "quantity": pl.Int64(),
    "priority": pl.Float64(),
    "score_parts": SCORE_PARTS,
    "reason": pl.String(),
    "rules": pl.List(pl.String()),
    "service_minutes": pl.Float64(),
    "created_at": pl.Datetime("us", "UTC"),
}
"""Columns of the frame :func:`generate_tasks` returns, in order."""


def _check_from_mapping(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{cls.__name__} not understood: unknown key(s) {unknown}; known keys are "
            f"{sorted(known)}"
        )
    return dict(data)


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class TaskWeights:
    """How urgent a task is: a base weight per kind plus a weight per 0..1 factor.

    All weights are finite and >= 0 (a factor is already oriented so that more is more
    urgent: lower battery, busier zone, longer idle, farther out of place, bigger gap).
    """

    base_repair: float = 3.0
    base_retrieve: float = 2.5
    base_swap_battery: float = 2.0
    base_drop: float = 2.0
    base_reposition: float = 1.0
    battery: float = 1.0
    demand: float = 1.0
    idle: float = 0.5
    distance: float = 1.0
    shortfall: float = 1.0

    def __post_init__(self) -> None:
        problems = [
            f"{f.name}={getattr(self, f.name)!r} (use a finite number >= 0)"
            for f in fields(self)
            if not _finite(getattr(self, f.name)) or getattr(self, f.name) < 0
        ]
        if problems:
            raise ValueError("TaskWeights not understood: " + "; ".join(problems))

    def base(self, kind: TaskKind) -> float:
        """The base weight of a kind of task."""
        value: float = getattr(self, f"base_{kind.value}")
        return value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TaskWeights:
        """Weights from a TOML table (``[planning.tasks.weights]``); unknown keys are an error."""
        return cls(**_check_from_mapping(cls, data))


@dataclass(frozen=True, slots=True)
class TaskParams:
    """Thresholds, service times and weights of the task rules (``[planning.tasks]``).

    Service minutes: swap 5, retrieve 8, repair 15, reposition 8, drop 10 + 2 per vehicle.
    ``idle_saturation_hours`` and ``distance_saturation_m`` are where the idle and distance
    factors reach 1.
    """

    low_battery_pct: float = LOW_BATTERY_PCT
    idle_hours: float = 48.0
    parking_tolerance_m: float = 0.0
    skip_reserved: bool = True
    idle_saturation_hours: float = 168.0
    distance_saturation_m: float = 500.0
    service_swap_battery_min: float = 5.0
    service_retrieve_min: float = 8.0
    service_repair_min: float = 15.0
    service_reposition_min: float = 8.0
    service_drop_min: float = 10.0
    service_drop_per_vehicle_min: float = 2.0
    weights: TaskWeights = field(default_factory=TaskWeights)

    def __post_init__(self) -> None:
        problems = []
        if not _finite(self.low_battery_pct) or not 0 <= self.low_battery_pct <= 100:
            problems.append(f"low_battery_pct={self.low_battery_pct!r} (use 0..100)")
        if not _finite(self.idle_hours) or self.idle_hours < 0:
            problems.append(f"idle_hours={self.idle_hours!r} (use hours >= 0)")
        if not _finite(self.parking_tolerance_m) or not 0 <= self.parking_tolerance_m <= 1000:
            problems.append(f"parking_tolerance_m={self.parking_tolerance_m!r} (use 0..1000 m)")
        if not isinstance(self.skip_reserved, bool):
            problems.append(f"skip_reserved={self.skip_reserved!r} (use true or false)")
        for name in ("idle_saturation_hours", "distance_saturation_m"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                problems.append(f"{name}={value!r} (use a number > 0)")
        for f in fields(self):
            if f.name.startswith("service_"):
                value = getattr(self, f.name)
                if not _finite(value) or value < 0:
                    problems.append(f"{f.name}={value!r} (use minutes >= 0)")
        if not isinstance(self.weights, TaskWeights):
            problems.append(f"weights={self.weights!r} (use a TaskWeights)")
        if problems:
            raise ValueError("TaskParams not understood: " + "; ".join(problems))

    def service_minutes(self, kind: TaskKind, quantity: int = 1) -> float:
        """Minutes a worker spends at a task of this kind (drops grow with the vehicles)."""
        if kind is TaskKind.DROP:
            return self.service_drop_min + self.service_drop_per_vehicle_min * quantity
        value: float = getattr(self, f"service_{kind.value}_min")
        return value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TaskParams:
        """Params from the ``[planning.tasks]`` table; a nested ``weights`` table becomes
        :class:`TaskWeights`. Unknown keys (here or in ``weights``) are an error naming them."""
        values = _check_from_mapping(cls, data)
        if "weights" in values:
            weights = values["weights"]
            if not isinstance(weights, Mapping):
                raise ValueError(f"TaskParams not understood: weights={weights!r} (use a table)")
            values["weights"] = TaskWeights.from_mapping(weights)
        return cls(**values)


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType, default: Any = None) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(dtype)
    return pl.lit(default, dtype).alias(name)


def _latest_vehicles(vehicles: pl.DataFrame) -> pl.DataFrame:
    """One row per vehicle (the newest ``observed_at`` when a vehicle appears twice), with
    the optional columns filled in with their neutral value."""
    _require(vehicles, ("vehicle_id", "lat", "lon"), "vehicles")
    frame = vehicles
    if frame["vehicle_id"].null_count():
        raise SchemaError("vehicles have rows without a vehicle_id")
    if frame["vehicle_id"].n_unique() < frame.height:
        if "observed_at" not in frame.columns:
            raise SchemaError("vehicles repeat a vehicle_id and have no observed_at to pick one")
        frame = frame.sort("observed_at", nulls_last=False).unique(
            subset="vehicle_id", keep="last", maintain_order=True
        )
    return frame.select(
        pl.col("vehicle_id").cast(pl.String),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        _column(frame, "zone_id", pl.String()),
        _column(frame, "battery_pct", pl.Float64()),
        _column(frame, "is_disabled", pl.Boolean(), False).fill_null(False),
        _column(frame, "is_reserved", pl.Boolean(), False).fill_null(False),
        _column(frame, "idle_hours", pl.Float64()),
    ).with_columns(pl.col("lat", "lon").fill_nan(None))


def _clean_parkings(parkings: pl.DataFrame) -> pl.DataFrame:
    _require(parkings, ("parking_id", "lat", "lon"), "parkings")
    if parkings["parking_id"].n_unique() < parkings.height:
        raise SchemaError("parkings repeat a parking_id")
    located = parkings.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null()).height
    if located < parkings.height:
        raise SchemaError(f"{parkings.height - located} parking(s) have no lat/lon")
    return parkings.select(
        pl.col("parking_id").cast(pl.String),
        _column(parkings, "zone_id", pl.String()),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        _column(parkings, "radius_m", pl.Float64()).fill_null(DEFAULT_RADIUS_M),
        _column(parkings, "min_vehicles", pl.Int64()),
        _column(parkings, "geometry", pl.String()),
    )


@dataclass(frozen=True)
class _Placement:
    """Where each vehicle stands relative to the parkings and the service area."""

    nearest_parking: npt.NDArray[np.object_]
    beyond_parking_m: npt.NDArray[np.float64]
    at_parking: npt.NDArray[np.object_]
    outside_area_m: npt.NDArray[np.float64]


def _project(crs: pyproj.CRS, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> Any:
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = forward.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _place(
    fleet: pl.DataFrame,
    parkings: pl.DataFrame,
    service_area: BaseGeometry | None,
    tolerance_m: float,
) -> _Placement:
    """Distances beyond the nearest parking's edge and to the service area, in metres.

    A parking's area is its polygon (``geometry``, GeoJSON) when given, else the disc of
    ``radius_m`` around its centre; "beyond" is the distance from the vehicle to that area
    (0 inside). A vehicle stands at the parking whose area (grown by ``tolerance_m``) holds
    it, the nearest centre among several. Vehicles without a position get NaN / None.
    """
    n = fleet.height
    lat = fleet["lat"].to_numpy().astype(np.float64)
    lon = fleet["lon"].to_numpy().astype(np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    nearest = np.full(n, None, dtype=object)
    at = np.full(n, None, dtype=object)
    beyond = np.full(n, np.nan)
    outside = np.full(n, np.nan)
    all_lat = np.concatenate([lat[ok], parkings["lat"].to_numpy().astype(np.float64)])
    all_lon = np.concatenate([lon[ok], parkings["lon"].to_numpy().astype(np.float64)])
    if not len(all_lat):
        return _Placement(nearest, beyond, at, outside)
    crs = local_crs(float(np.mean(all_lat)), float(np.mean(all_lon)))
    vx, vy = _project(crs, lat[ok], lon[ok])
    if service_area is not None and ok.any():
        shapely.prepare(service_area)
        inside = shapely.intersects_xy(service_area, lon[ok], lat[ok])
        metric_area = to_metric(service_area, crs)
        dist = np.zeros(len(vx))
        if (~inside).any():
            dist[~inside] = shapely.distance(shapely.points(vx[~inside], vy[~inside]), metric_area)
            # a point on the projected boundary of an outside vehicle still counts as out
            dist[~inside] = np.maximum(dist[~inside], np.finfo(np.float64).tiny)
        outside[ok] = dist
    if parkings.height and ok.any():
        idx = np.flatnonzero(ok)
        near, near_d, at_ok = _parking_distances(vx, vy, parkings, crs, tolerance_m)
        nearest[idx], beyond[idx], at[idx] = near, near_d, at_ok
    return _Placement(nearest, beyond, at, outside)


def _parking_distances(
    vx: npt.NDArray[np.float64],
    vy: npt.NDArray[np.float64],
    parkings: pl.DataFrame,
    crs: pyproj.CRS,
    tolerance_m: float,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    """Per vehicle: the parking whose area is nearest, the metres beyond its edge, and the
    parking it stands at (None when beyond every area + tolerance)."""
    ids = np.array(parkings["parking_id"].to_list(), dtype=object)
    px, py = _project(
        crs,
        parkings["lat"].to_numpy().astype(np.float64),
        parkings["lon"].to_numpy().astype(np.float64),
    )
    radius = parkings["radius_m"].to_numpy().astype(np.float64)
    polygons = [
        None if text is None else to_metric(shape(json.loads(text)), crs)
        for text in parkings["geometry"].to_list()
    ]
    has_polygon = np.array([p is not None for p in polygons])
    metric_polygons = np.array([p for p in polygons if p is not None], dtype=object)
    n = len(vx)
    nearest = np.full(n, None, dtype=object)
    beyond = np.full(n, np.nan)
    at = np.full(n, None, dtype=object)
    for start in range(0, n, _CHUNK):
        x, y = vx[start : start + _CHUNK, None], vy[start : start + _CHUNK, None]
        centre = np.hypot(x - px[None, :], y - py[None, :])
        edge = np.maximum(centre - radius[None, :], 0.0)
        if has_polygon.any():
            points = shapely.points(x[:, 0], y[:, 0])
            edge[:, has_polygon] = shapely.distance(points[:, None], metric_polygons[None, :])
        best = np.argmin(edge, axis=1)
        rows = np.arange(len(best))
        nearest[start : start + len(best)] = ids[best]
        beyond[start : start + len(best)] = edge[rows, best]
        # standing at a parking: within its area + tolerance (1 µm slack for rounding);
        # among several, the nearest centre
        holding = np.where(edge <= tolerance_m + 1e-6, centre, np.inf)
        stand = np.argmin(holding, axis=1)
        found = np.isfinite(holding[rows, stand])
        at[start : start + len(best)] = np.where(found, ids[stand], None)
    return nearest, beyond, at


def _demand_shares(zone_demand: pl.DataFrame | None) -> dict[str, float]:
    """Each zone's expected trips over the busiest zone's (0..1)."""
    if zone_demand is None or zone_demand.is_empty():
        return {}
    _require(zone_demand, ("zone_id", "trips"), "zone_demand")
    frame = zone_demand.select(pl.col("zone_id").cast(pl.String), pl.col("trips").cast(pl.Float64))
    if frame["zone_id"].n_unique() < frame.height:
        raise SchemaError("zone_demand repeats a zone_id: give one row of trips per zone")
    trips = frame["trips"].fill_null(0.0).fill_nan(0.0).clip(lower_bound=0.0)
    top = float(trips.max() or 0.0)  # type: ignore[arg-type]
    if top <= 0:
        return dict.fromkeys(frame["zone_id"].to_list(), 0.0)
    return dict(zip(frame["zone_id"].to_list(), (trips / top).to_list(), strict=True))


def _fmt_m(metres: float) -> str:
    return f"{metres:,.0f} m"


def _vehicle_reasons(
    row: Mapping[str, Any], p: TaskParams, placement: tuple[Any, float, float]
) -> list[tuple[Rule, str]]:
    """The rules one vehicle matches with their human text, most important first."""
    nearest, beyond_m, outside_m = placement
    found: list[tuple[Rule, str]] = []
    if row["is_disabled"]:
        found.append((Rule.REPAIR, "disabled"))
    if np.isfinite(outside_m) and outside_m > 0:
        found.append((Rule.OUTSIDE_AREA, f"outside the service area by {_fmt_m(outside_m)}"))
    battery = row["battery_pct"]
    if battery is not None and math.isfinite(battery) and battery < p.low_battery_pct:
        found.append((Rule.LOW_BATTERY, f"battery {battery:g}% below {p.low_battery_pct:g}%"))
    if nearest is not None and np.isfinite(beyond_m) and beyond_m > p.parking_tolerance_m + 1e-6:
        found.append(
            (Rule.OUTSIDE_PARKING, f"outside any parking ({_fmt_m(beyond_m)} from {nearest})")
        )
    idle = row["idle_hours"]
    if idle is not None and math.isfinite(idle) and idle > p.idle_hours:
        found.append((Rule.LONG_IDLE, f"idle {idle:.0f} h (over {p.idle_hours:g} h)"))
    return found


def _score(
    kind: TaskKind, factors: Mapping[str, float], weights: TaskWeights
) -> tuple[float, dict[str, float]]:
    parts = {"base": weights.base(kind)}
    parts |= {name: getattr(weights, name) * factors.get(name, 0.0) for name in FACTORS}
    return math.fsum(parts.values()), parts


def _reason_text(found: list[tuple[Rule, str]]) -> str:
    text = found[0][1]
    if len(found) > 1:
        text += "; also " + "; ".join(t for _, t in found[1:])
    return text


def _vehicle_tasks(
    fleet: pl.DataFrame,
    placement: _Placement,
    demand: Mapping[str, float],
    p: TaskParams,
) -> list[dict[str, Any]]:
    rows = []
    w = p.weights
    for i, row in enumerate(fleet.iter_rows(named=True)):
        if p.skip_reserved and row["is_reserved"]:
            continue
        beyond = float(placement.beyond_parking_m[i])
        outside = float(placement.outside_area_m[i])
        found = _vehicle_reasons(row, p, (placement.nearest_parking[i], beyond, outside))
        if not found:
            continue
        rule = found[0][0]
        kind = rule.kind
        battery = row["battery_pct"]
        idle = row["idle_hours"]
        out_of_place = outside if np.isfinite(outside) and outside > 0 else beyond
        factors = {
            "battery": 0.0
            if battery is None or not math.isfinite(battery)
            else min(max(1.0 - battery / 100.0, 0.0), 1.0),
            "demand": demand.get(row["zone_id"], 0.0) if row["zone_id"] is not None else 0.0,
            "idle": 0.0
            if idle is None or not math.isfinite(idle)
            else min(max(idle, 0.0) / p.idle_saturation_hours, 1.0),
            "distance": 0.0
            if not np.isfinite(out_of_place)
            else min(out_of_place / p.distance_saturation_m, 1.0),
        }
        priority, parts = _score(kind, factors, w)
        rows.append(
            {
                "task_id": f"{kind.value}:{row['vehicle_id']}",
                "kind": kind.value,
                "vehicle_id": row["vehicle_id"],
                "parking_id": placement.nearest_parking[i] if kind is TaskKind.RETRIEVE else None,
                "zone_id": row["zone_id"],
                "lat": row["lat"],
                "lon": row["lon"],
                "quantity": 1,
                "priority": priority,
                "score_parts": parts,
                "reason": _reason_text(found),
                "rules": [r.value for r, _ in found],
                "service_minutes": p.service_minutes(kind),
            }
        )
    return rows


def _drop_tasks(
    fleet: pl.DataFrame,
    parkings: pl.DataFrame,
    placement: _Placement,
    demand: Mapping[str, float],
    p: TaskParams,
) -> list[dict[str, Any]]:
    """Parkings below their minimum: bring ``min_vehicles - present`` vehicles.

    Present = vehicles standing at the parking that a rider could take soon: not disabled
    and not reserved (low-battery ones count: their swap happens in place).
    """
    counted = (~fleet["is_disabled"] & ~fleet["is_reserved"]).to_numpy()
    present: dict[str, int] = {}
    for parking_id, keep in zip(placement.at_parking, counted, strict=True):
        if parking_id is not None and keep:
            present[parking_id] = present.get(parking_id, 0) + 1
    rows = []
    for park in parkings.iter_rows(named=True):
        minimum = park["min_vehicles"]
        have = present.get(park["parking_id"], 0)
        if minimum is None or minimum <= 0 or have >= minimum:
            continue
        missing = int(minimum - have)
        factors = {
            "demand": demand.get(park["zone_id"], 0.0) if park["zone_id"] is not None else 0.0,
            "shortfall": missing / minimum,
        }
        priority, parts = _score(TaskKind.DROP, factors, p.weights)
        rows.append(
            {
                "task_id": f"drop:{park['parking_id']}",
                "kind": TaskKind.DROP.value,
                "vehicle_id": None,
                "parking_id": park["parking_id"],
                "zone_id": park["zone_id"],
                "lat": park["lat"],
                "lon": park["lon"],
                "quantity": missing,
                "priority": priority,
                "score_parts": parts,
                "reason": f"parking {park['parking_id']} holds {have} of its minimum {minimum}: "
                f"bring {missing}",
                "rules": [Rule.BELOW_MINIMUM.value],
                "service_minutes": p.service_minutes(TaskKind.DROP, missing),
            }
        )
    return rows


def generate_tasks(
    vehicles: pl.DataFrame,
    *,
    parkings: pl.DataFrame | None = None,
    service_area: BaseGeometry | None = None,
    zone_demand: pl.DataFrame | None = None,
    params: TaskParams | None = None,
    now: datetime,
) -> pl.DataFrame:
    """The field tasks of a fleet state, most urgent first (columns :data:`TASKS`).

    ``vehicles`` is the latest vehicle status (``vehicle_id``, ``lat``, ``lon`` required;
    ``zone_id``, ``battery_pct``, ``is_disabled``, ``is_reserved`` and the caller's
    ``idle_hours`` used when present; a vehicle listed twice counts at its newest
    ``observed_at``). ``parkings`` (``parking_id``, ``lat``, ``lon``, ``radius_m``,
    ``zone_id``, ``min_vehicles``, optional GeoJSON ``geometry``) drive the outside-parking
    and below-minimum rules; None or empty means a free-floating system without them.
    ``service_area`` is a lon/lat (multi)polygon; None skips that rule. ``zone_demand``
    (``zone_id``, ``trips``) is today's expected trips per zone. ``now`` (timezone-aware)
    stamps ``created_at``.

    ``task_id`` is ``"{kind}:{vehicle_id}"`` or ``"drop:{parking_id}"``: the same problem
    gets the same id on every re-plan, so tasks already in progress can be matched.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    p = params or TaskParams()
    fleet = _latest_vehicles(vehicles)
    parks = _clean_parkings(
        parkings
        if parkings is not None
        else pl.DataFrame(schema={"parking_id": pl.String, "lat": pl.Float64, "lon": pl.Float64})
    )
    placement = _place(fleet, parks, service_area, p.parking_tolerance_m)
    demand = _demand_shares(zone_demand)
    rows = _vehicle_tasks(fleet, placement, demand, p)
    rows += _drop_tasks(fleet, parks, placement, demand, p)
    created = now.astimezone(UTC)
    schema = {k: v for k, v in TASKS.items() if k != "created_at"}
    return (
        pl.DataFrame(rows, schema=schema)
        .with_columns(pl.lit(created).dt.cast_time_unit("us").alias("created_at"))
        .sort(["priority", "task_id"], descending=[True, False])
        .select(list(TASKS))
    )
