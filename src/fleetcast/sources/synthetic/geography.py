"""The city's land: service area along the lake shore, Voronoi zones, elevation and names."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
import shapely
from shapely.geometry.polygon import orient

from fleetcast.sources.synthetic.arrays import FloatArray
from fleetcast.sources.synthetic.geometry import (
    _COORD_DECIMALS,
    _geojson,
    _largest_polygon,
    _Projection,
    _projection,
)

# Lake Michigan shoreline in local metres (x east, y north of the Loop), south to north.
_SHORE_X: Final = np.array([8000.0, 4100.0, 1250.0, -400.0, -2100.0, -3200.0])
_SHORE_Y: Final = np.array([-17000.0, -8900.0, 0.0, 7800.0, 13300.0, 17500.0])

_PLACE_WORDS: Final = (
    "Oak", "Maple", "Cedar", "Willow", "Birch", "Elm", "Ash", "Linden", "Hawthorne",
    "Juniper", "Laurel", "Aspen", "Chestnut", "Hickory", "Sycamore", "Magnolia", "Poplar",
    "Spruce", "Walnut", "Alder", "Harbor", "Lake", "River", "Prairie", "Meadow", "Orchard",
    "Garfield", "Lincoln", "Grant", "Douglas", "Jefferson", "Hamilton", "Fulton", "Union",
    "Pilsen", "Bridgeport", "Kenwood", "Avondale", "Ravenswood", "Edgewater", "Canal",
    "Market", "Mill", "Stone", "Iron", "Rail", "Beacon", "Foundry",
)  # fmt: skip
_PLACE_SUFFIXES: Final = (
    "Park", "Heights", "Square", "Village", "Yards", "Gardens", "Point", "Grove", "Commons",
    "Terrace", "Crossing", "Hill", "Landing", "Row", "Court",
)  # fmt: skip
_DIRECTIONS: Final = (
    "East", "Northeast", "North", "Northwest", "West", "Southwest", "South", "Southeast",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Layout:
    """Zones in zone order (Z001 is the Loop) with everything demand needs about them."""

    projection: _Projection
    polygons: list[Any]  # lon/lat, rounded; the published geometry
    metric: list[Any]  # the same polygons in local metres
    x: FloatArray  # metric centroid
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    area_km2: FloatArray
    elevation_m: FloatArray
    leisure: FloatArray  # 1 on the lakefront, decaying inland
    names: list[str]
    service_area: Any  # lon/lat
    service_metric: Any

    @property
    def n(self) -> int:
        return len(self.polygons)

    @property
    def ids(self) -> list[str]:
        return [f"Z{i + 1:03d}" for i in range(self.n)]

    @property
    def radius(self) -> FloatArray:
        """Distance of each zone centroid from the Loop, in metres."""
        return np.hypot(self.x, self.y)


def _shore_x(y: FloatArray) -> FloatArray:
    """Easting of the lake shore at northing ``y`` (metres)."""
    shore: FloatArray = np.interp(y, _SHORE_Y, _SHORE_X)
    return shore


def _service_area_metric() -> Any:
    """A slightly irregular oval west of the lake shore (fixed: the city does not move)."""
    theta = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
    wobble = 1 + 0.05 * np.sin(3 * theta + 0.4) + 0.03 * np.cos(5 * theta + 1.1)
    oval = shapely.Polygon(
        np.column_stack(
            [-3500 + 8500 * wobble * np.cos(theta), -500 + 14500 * wobble * np.sin(theta)]
        )
    )
    land = shapely.Polygon(
        [*zip(_SHORE_X, _SHORE_Y, strict=True), (-40000.0, 17500.0), (-40000.0, -17000.0)]
    )
    return _largest_polygon(shapely.intersection(oval, land))


def _seed_density(r: FloatArray) -> FloatArray:
    return np.exp(-r / 3500.0) + 0.06


def _zone_seeds(service: Any, *, n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` points, denser near the Loop, kept apart by a density-scaled minimum spacing."""
    minx, miny, maxx, maxy = service.bounds
    grid_x, grid_y = np.meshgrid(np.linspace(minx, maxx, 60), np.linspace(miny, maxy, 60))
    inside = shapely.contains_xy(service, grid_x, grid_y)
    mean_density = float(_seed_density(np.hypot(grid_x[inside], grid_y[inside])).mean())
    spacing = 0.55 * math.sqrt(service.area / n) * math.sqrt(mean_density)
    shapely.prepare(service)
    seeds = np.empty((0, 2))
    while len(seeds) < n:
        for _ in range(40):
            cx = rng.uniform(minx, maxx, 4 * n)
            cy = rng.uniform(miny, maxy, 4 * n)
            r = np.hypot(cx, cy)
            dens = _seed_density(r)
            keep = (rng.random(4 * n) < dens / 1.06) & shapely.contains_xy(service, cx, cy)
            for px, py, d in zip(cx[keep], cy[keep], dens[keep], strict=True):
                min_gap = spacing / math.sqrt(d)
                if len(seeds) == 0 or np.min(np.hypot(seeds[:, 0] - px, seeds[:, 1] - py)) > (
                    min_gap
                ):
                    seeds = np.vstack([seeds, [px, py]])
                    if len(seeds) == n:
                        return seeds
        spacing *= 0.85  # crowded: relax the spacing and keep what was accepted
    return seeds


def _voronoi_zones(service: Any, seeds: FloatArray) -> list[Any]:
    """Voronoi cells of ``seeds`` (in seed order) clipped to ``service``, largest part each."""
    minx, miny, maxx, maxy = service.bounds
    frame = shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    ordered: list[Any] = [None] * len(seeds)
    for cell in cells:
        hit = np.flatnonzero(shapely.contains_xy(cell, seeds[:, 0], seeds[:, 1]))
        if len(hit) == 1:
            ordered[int(hit[0])] = cell
    if any(cell is None for cell in ordered):
        raise RuntimeError("Voronoi cells do not match their seeds")  # pragma: no cover
    return [_largest_polygon(shapely.intersection(cell, service)) for cell in ordered]


def _elevation(x: FloatArray, y: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Lake level at the shore, rising inland, with two low ridges and a little noise."""
    inland = np.maximum(_shore_x(y) - x, 0.0)
    ridge_nw = 16.0 * np.exp(-((x + 7500) ** 2 + (y - 8500) ** 2) / (2 * 3000.0**2))
    ridge_sw = 11.0 * np.exp(-((x + 5000) ** 2 + (y + 10000) ** 2) / (2 * 2500.0**2))
    noise = rng.normal(0.0, 2.0, len(x))
    return np.round(177.0 + 0.0011 * inland + ridge_nw + ridge_sw + noise, 1)


def _zone_names(x: FloatArray, y: FloatArray, rng: np.random.Generator) -> list[str]:
    """ "Cedar Park · Near West Side": a unique place name and the side of town it is on."""
    combos = rng.choice(len(_PLACE_WORDS) * len(_PLACE_SUFFIXES), size=len(x), replace=False)
    names: list[str] = []
    for xi, yi, combo in zip(x, y, combos, strict=True):
        word, suffix = divmod(int(combo), len(_PLACE_SUFFIXES))
        r = math.hypot(xi, yi)
        if r < 1500:
            side = "Loop"
        else:
            octant = round(math.atan2(yi, xi) / (math.pi / 4)) % 8
            ring = "Near " if r < 5000 else "Far " if r > 10000 else ""
            side = f"{ring}{_DIRECTIONS[octant]} Side"
        names.append(f"{_PLACE_WORDS[word]} {_PLACE_SUFFIXES[suffix]} · {side}")
    return names


def _build_layout(*, n_zones: int, rng: np.random.Generator) -> _Layout:
    """Zones as rounded lon/lat polygons, sorted by distance from the Loop."""
    projection = _projection()
    service_metric = _service_area_metric()
    seeds = _zone_seeds(service_metric, n=n_zones, rng=rng)
    seeds = seeds[np.argsort(np.hypot(seeds[:, 0], seeds[:, 1]), kind="stable")]
    polygons = []
    for cell in _voronoi_zones(service_metric, seeds):
        lonlat = _largest_polygon(shapely.make_valid(projection.geometry_to_lonlat(cell)))
        polygons.append(orient(lonlat, 1.0))
    metric = [projection.geometry_to_metric(p) for p in polygons]
    centroids = shapely.centroid(np.asarray(metric, dtype=object))
    x = np.asarray(shapely.get_x(centroids), dtype=np.float64)
    y = np.asarray(shapely.get_y(centroids), dtype=np.float64)
    lon, lat = projection.to_lonlat(x, y)
    # the published service area is the outline of the zones, so every zone lies inside it
    outline = _largest_polygon(shapely.union_all(polygons))
    service_lonlat = orient(shapely.Polygon(outline.exterior), 1.0)
    for polygon in polygons:
        shapely.prepare(polygon)
    return _Layout(
        projection=projection,
        polygons=polygons,
        metric=metric,
        x=x,
        y=y,
        lon=lon.round(_COORD_DECIMALS),
        lat=lat.round(_COORD_DECIMALS),
        area_km2=np.asarray(shapely.area(np.asarray(metric, dtype=object)), dtype=np.float64) / 1e6,
        elevation_m=_elevation(x, y, rng),
        leisure=np.exp(-np.maximum(_shore_x(y) - x, 0.0) / 1200.0),
        names=_zone_names(x, y, rng),
        service_area=service_lonlat,
        service_metric=service_metric,
    )


def _zones_frame(layout: _Layout) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "zone_id": layout.ids,
            "name": layout.names,
            "geometry": [_geojson(p) for p in layout.polygons],
            "centroid_lat": layout.lat,
            "centroid_lon": layout.lon,
            "area_km2": layout.area_km2.round(4),
            "elevation_m": layout.elevation_m,
        },
        schema={
            "zone_id": pl.String(),
            "name": pl.String(),
            "geometry": pl.String(),
            "centroid_lat": pl.Float64(),
            "centroid_lon": pl.Float64(),
            "area_km2": pl.Float64(),
            "elevation_m": pl.Float64(),
        },
    )
