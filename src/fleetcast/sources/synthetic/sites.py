"""Where vehicles are kept: parkings sized by demand (and trip hotspots), and depots."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
import shapely
from shapely.ops import nearest_points

from fleetcast.sources.synthetic.arrays import FloatArray, IntArray
from fleetcast.sources.synthetic.geography import _Layout
from fleetcast.sources.synthetic.geometry import _COORD_DECIMALS, _largest_polygon

_PARKING_RADIUS_M: Final = 30.0
_STREETS: Final = (
    "Clark", "State", "Wells", "Wabash", "Halsted", "Racine", "Ashland", "Western", "Damen",
    "Archer", "Ogden", "Milwaukee", "Armitage", "Belmont", "Diversey", "Fullerton", "Irving",
    "Montrose", "Lawrence", "Foster", "Pershing", "Cermak", "Roosevelt", "Taylor", "Polk",
    "Jackson", "Adams", "Monroe", "Madison", "Randolph", "Kinzie", "Grand", "Erie", "Ohio",
    "Division", "Superior", "Huron", "Harrison", "Fulton", "Lake", "Wolcott", "Paulina",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Sites:
    """Parkings (frame and metric coordinates) and per-zone hotspots for trip points."""

    frame: pl.DataFrame
    x: FloatArray
    y: FloatArray
    zone: IntArray
    hotspots: list[FloatArray]  # per zone, (k, 2) lon/lat: parkings and unserved spots


def _spread_points(
    polygon: Any, *, count: int, min_gap: float, rng: np.random.Generator
) -> FloatArray:
    """Up to ``count`` metric points inside ``polygon`` at least ``min_gap`` apart."""
    points: list[tuple[float, float]] = []
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(200):
        if len(points) == count:
            break
        px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(polygon, px, py):
            continue
        if all(math.hypot(px - qx, py - qy) >= min_gap for qx, qy in points):
            points.append((px, py))
    if not points:
        point = polygon.representative_point()
        points.append((float(point.x), float(point.y)))
    return np.asarray(points, dtype=np.float64)


def _build_parkings(*, layout: _Layout, counts: IntArray, rng: np.random.Generator) -> _Sites:
    """2-4 parkings in busy zones, 1 in quiet ones, sized by recent demand per parking."""
    recent = counts[-28:].mean(axis=0)
    rank = np.argsort(np.argsort(-recent, kind="stable"), kind="stable") / layout.n
    n_parkings = np.where(rank < 0.3, rng.integers(3, 5, layout.n), np.where(rank < 0.7, 2, 1))
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    zones: list[IntArray] = []
    hotspots: list[FloatArray] = []
    proj = layout.projection
    for z, polygon in enumerate(layout.metric):
        inner = shapely.buffer(polygon, -(_PARKING_RADIUS_M + 15.0))
        inner = polygon if inner.is_empty else _largest_polygon(inner)
        points = _spread_points(inner, count=int(n_parkings[z]) + 1, min_gap=150.0, rng=rng)
        # the last spread point is a hotspot without a parking (in busy zones only)
        parking_points = points[: int(n_parkings[z])] if len(points) > 1 else points
        xs.append(parking_points[:, 0])
        ys.append(parking_points[:, 1])
        zones.append(np.full(len(parking_points), z, dtype=np.int64))
        hot = points if rank[z] < 0.4 else parking_points
        hot_lon, hot_lat = proj.to_lonlat(hot[:, 0], hot[:, 1])
        hotspots.append(np.column_stack([hot_lon, hot_lat]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    zone = np.concatenate(zones)
    lon, lat = proj.to_lonlat(x, y)
    per_parking = recent[zone] / np.bincount(zone, minlength=layout.n)[zone]
    min_vehicles = np.clip(2 + np.round(per_parking / 12), 2, 6).astype(np.int64)
    max_vehicles = np.clip(min_vehicles + 4 + np.round(per_parking / 15), 6, 12).astype(np.int64)
    streets = rng.choice(len(_STREETS), size=(len(x), 2), replace=True)
    names = [
        f"{_STREETS[a]} & {_STREETS[b if b != a else (b + 1) % len(_STREETS)]}" for a, b in streets
    ]
    ids = layout.ids
    frame = pl.DataFrame(
        {
            "parking_id": [f"P{i + 1:04d}" for i in range(len(x))],
            "zone_id": [ids[z] for z in zone],
            "name": names,
            "lat": lat.round(_COORD_DECIMALS),
            "lon": lon.round(_COORD_DECIMALS),
            "radius_m": np.full(len(x), _PARKING_RADIUS_M),
            "min_vehicles": min_vehicles,
            "max_vehicles": max_vehicles,
        }
    )
    return _Sites(frame=frame, x=x, y=y, zone=zone, hotspots=hotspots)


def _depots_frame(layout: _Layout, *, n_depots: int) -> pl.DataFrame:
    """Depots west of the dense core, snapped into the service area."""
    spots = [("West Depot", 4500.0, 190.0), ("Northwest Depot", 5000.0, 140.0)][:n_depots]
    lons: list[float] = []
    lats: list[float] = []
    for _, radius, angle in spots:
        point = shapely.Point(
            radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
        )
        if not layout.service_metric.contains(point):
            point = nearest_points(layout.service_metric.buffer(-200.0), point)[0]
        lon, lat = layout.projection.to_lonlat(np.array([point.x]), np.array([point.y]))
        lons.append(round(float(lon[0]), _COORD_DECIMALS))
        lats.append(round(float(lat[0]), _COORD_DECIMALS))
    return pl.DataFrame(
        {
            "depot_id": [f"D{i + 1}" for i in range(len(spots))],
            "name": [name for name, _, _ in spots],
            "lat": lats,
            "lon": lons,
        }
    )


_WORKER_NAMES: Final = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "Jun")


def _workers_frame(parkings: pl.DataFrame, depots: pl.DataFrame, *, n_workers: int) -> pl.DataFrame:
    """Field workers: one van per depot, the rest on foot from the busiest parkings."""
    rows: list[dict[str, Any]] = []
    for depot in depots.iter_rows(named=True):
        if len(rows) == n_workers:
            break
        rows.append({"lat": depot["lat"], "lon": depot["lon"], "mode": "van", "shift_minutes": 480})
    busiest = parkings.sort(["max_vehicles", "parking_id"], descending=[True, False])
    for parking in busiest.head(max(n_workers - len(rows), 0)).iter_rows(named=True):
        rows.append(
            {"lat": parking["lat"], "lon": parking["lon"], "mode": "walk", "shift_minutes": 360}
        )
    return pl.DataFrame(
        [
            {
                "worker_id": f"W{i + 1}",
                "name": _WORKER_NAMES[i % len(_WORKER_NAMES)],
                **row,
            }
            for i, row in enumerate(rows)
        ],
        schema={
            "worker_id": pl.String,
            "name": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "mode": pl.String,
            "shift_minutes": pl.Int64,
        },
    )
