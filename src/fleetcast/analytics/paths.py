"""Ride paths: the distance a rider actually travelled against the straight line (detour
ratio), and the street segments most ridden as a heat map of H3 cells.

A trip's ``route`` is a list of ``[lon, lat]`` points (GeoJSON order) or an encoded
polyline string (Google's format, ``precision`` 5; OSRM / Valhalla ``polyline6`` use 6).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

import h3
import numpy as np
import polars as pl
import polyline

from fleetcast.errors import SchemaError
from fleetcast.geo import haversine_m

Point = tuple[float, float]
"""(lon, lat) in degrees."""

MIN_STRAIGHT_M: Final = 50.0
MAX_FILL_M: Final = 20_000.0
"""Segments longer than this (a GPS jump) that H3 cannot trace are not filled in."""


def decode_route(
    route: str | Sequence[Sequence[float]] | None, *, precision: int = 5
) -> list[Point]:
    """A route as (lon, lat) points: an encoded polyline is decoded, a list of [lon, lat]
    pairs is checked; a missing route is no points. Raises SchemaError on a bad route."""
    if route is None:
        return []
    if isinstance(route, str):
        try:
            return [(lon, lat) for lat, lon in polyline.decode(route, precision)]
        except (IndexError, ValueError, TypeError) as exc:
            raise SchemaError(f"route {route[:40]!r} is not an encoded polyline") from exc
    points: list[Point] = []
    for pair in route:
        if pair is None or len(pair) < 2 or pair[0] is None or pair[1] is None:
            raise SchemaError(f"route point {pair!r} is not a [lon, lat] pair")
        lon, lat = float(pair[0]), float(pair[1])
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise SchemaError(f"route point {pair!r} is not a [lon, lat] pair in degrees")
        points.append((lon, lat))
    return points


def _routes(trips: pl.DataFrame, route: str, precision: int) -> Iterable[list[Point]]:
    if route not in trips.columns:
        raise SchemaError(f"trips lack the route column {route!r}")
    for value in trips[route].to_list():
        yield decode_route(value, precision=precision)


def path_metrics(
    trips: pl.DataFrame,
    *,
    route: str = "route",
    precision: int = 5,
    min_straight_m: float = MIN_STRAIGHT_M,
) -> pl.DataFrame:
    """Per trip: route ``points``, ``path_m`` (great-circle metres along the route),
    ``straight_m`` (between its first and last point) and ``detour_ratio`` = path / straight
    (null when the ends are closer than ``min_straight_m``: a round trip has no detour)."""
    if "trip_id" not in trips.columns:
        raise SchemaError("trips lack column 'trip_id'")
    n_points: list[int] = []
    path: list[float] = []
    straight: list[float] = []
    for points in _routes(trips, route, precision):
        n_points.append(len(points))
        if len(points) < 2:
            path.append(0.0)
            straight.append(0.0)
            continue
        lon, lat = np.asarray(points).T
        path.append(float(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum()))
        straight.append(float(haversine_m(lat[0], lon[0], lat[-1], lon[-1])))
    frame = pl.DataFrame(
        {
            "trip_id": trips["trip_id"].cast(pl.String),
            "points": pl.Series(n_points, dtype=pl.Int64),
            "path_m": pl.Series(path, dtype=pl.Float64),
            "straight_m": pl.Series(straight, dtype=pl.Float64),
        }
    )
    return frame.with_columns(
        pl.when(pl.col("straight_m") >= min_straight_m)
        .then(pl.col("path_m") / pl.col("straight_m"))
        .alias("detour_ratio")
    )


def _fill(a: str, b: str) -> list[str]:
    """Cells after ``a`` up to ``b`` along the grid (just ``b`` when H3 cannot trace it)."""
    if h3.are_neighbor_cells(a, b):
        return [b]
    try:
        cells: list[str] = h3.grid_path_cells(a, b)
    except h3.H3BaseException:
        return [b]
    return cells[1:]


def path_cells(points: Sequence[Point], resolution: int) -> list[str]:
    """The H3 cells a path crosses in order, consecutive repeats removed.

    Each segment is sampled every quarter of a cell's edge, so the cells it clips at a
    corner count too; cells still not side by side (a clip thinner than the sampling, or a
    segment over ``MAX_FILL_M``, which is not sampled) are joined by ``h3.grid_path_cells``.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"resolution={resolution} not understood: use 0..15")
    if not points:
        return []
    lon, lat = (np.asarray(c, dtype=np.float64) for c in zip(*points, strict=True))
    step = h3.average_hexagon_edge_length(resolution, unit="m") / 4.0
    length = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    parts = np.where(length > MAX_FILL_M, 1, np.maximum(np.ceil(length / step), 1)).astype(int)
    seg = np.repeat(np.arange(len(parts)), parts)
    frac = (np.arange(len(seg)) - np.repeat(np.cumsum(parts) - parts, parts) + 1) / parts[seg]
    lons = np.concatenate([lon[:1], lon[seg] + (lon[seg + 1] - lon[seg]) * frac])
    lats = np.concatenate([lat[:1], lat[seg] + (lat[seg + 1] - lat[seg]) * frac])
    cells: list[str] = []
    for la, lo in zip(lats.tolist(), lons.tolist(), strict=True):
        cell = h3.latlng_to_cell(la, lo, resolution)
        if not cells:
            cells.append(cell)
        elif cell != cells[-1]:
            cells.extend(_fill(cells[-1], cell))
    return cells


def path_heatmap(
    trips: pl.DataFrame, *, resolution: int = 10, route: str = "route", precision: int = 5
) -> pl.DataFrame:
    """How many trips' paths cross each H3 cell (a path counts once per cell), with the
    cell's centre, most ridden first: the most used street segments as a heat map."""
    counts: Counter[str] = Counter()
    for points in _routes(trips, route, precision):
        if points:
            counts.update(set(path_cells(points, resolution)))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    centres = [h3.cell_to_latlng(c) for c, _ in ranked]
    return pl.DataFrame(
        {
            "cell": [c for c, _ in ranked],
            "paths": [n for _, n in ranked],
            "lat": [lat for lat, _ in centres],
            "lon": [lon for _, lon in centres],
        },
        schema={"cell": pl.String, "paths": pl.Int64, "lat": pl.Float64, "lon": pl.Float64},
    )
