"""Shape helpers: the local metric projection, GeoJSON text and point sampling in polygons."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyproj
import shapely

from fleetcast.sources.synthetic.arrays import FloatArray
from fleetcast.sources.synthetic.params import CENTER_LAT, CENTER_LON

_COORD_DECIMALS: Final = 7
"""Decimals of zone vertices (about 1 cm); sampling uses the rounded polygons."""
_HOTSPOT_SIGMA_M: Final = 60.0
_METRES_PER_DEG_LAT: Final = 111_132.0


@dataclass(frozen=True, slots=True)
class _Projection:
    """Local azimuthal equidistant projection around the centre, in metres."""

    forward: pyproj.Transformer
    inverse: pyproj.Transformer

    def to_metric(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = self.forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon, lat = self.inverse.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_metric(self, geometry: Any) -> Any:
        def project(coords: FloatArray) -> FloatArray:
            x, y = self.to_metric(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geometry, project)

    def geometry_to_lonlat(self, geometry: Any) -> Any:
        def project(coords: FloatArray) -> FloatArray:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat]).round(_COORD_DECIMALS)

        return shapely.transform(geometry, project)


def _projection() -> _Projection:
    crs = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={CENTER_LAT} +lon_0={CENTER_LON} +datum=WGS84 +units=m +no_defs"
    )
    return _Projection(
        forward=pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        inverse=pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


def _largest_polygon(geometry: Any) -> Any:
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def _geojson(polygon: Any) -> str:
    """GeoJSON Polygon text; coordinates are already rounded, so parsing gives them back."""
    rings = [polygon.exterior, *polygon.interiors]
    coordinates = [[[float(lon), float(lat)] for lon, lat in ring.coords] for ring in rings]
    return json.dumps({"type": "Polygon", "coordinates": coordinates}, separators=(",", ":"))


def _sample_in_polygon(
    polygon: Any, *, size: int, rng: np.random.Generator, centers: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """``size`` lon/lat points inside ``polygon``: uniform, or Gaussian around ``centers``.

    Vectorized rejection sampling in batches; ``centers`` is an (k, 2) lon/lat array.
    """
    lon_out = np.empty(size)
    lat_out = np.empty(size)
    filled = 0
    minx, miny, maxx, maxy = polygon.bounds
    if centers is None:
        bbox_area = (maxx - minx) * (maxy - miny)
        acceptance = max(float(polygon.area) / bbox_area, 0.05) if bbox_area > 0 else 0.05
    else:
        acceptance = 0.6
        lat0 = float(centers[0, 1])
        sigma_lat = _HOTSPOT_SIGMA_M / _METRES_PER_DEG_LAT
        sigma_lon = sigma_lat / math.cos(math.radians(lat0))
    while filled < size:
        batch = int((size - filled) / acceptance * 1.2) + 16
        if centers is None:
            lon = rng.uniform(minx, maxx, batch)
            lat = rng.uniform(miny, maxy, batch)
        else:
            which = rng.integers(0, len(centers), batch)
            lon = centers[which, 0] + rng.normal(0.0, sigma_lon, batch)
            lat = centers[which, 1] + rng.normal(0.0, sigma_lat, batch)
        inside = shapely.contains_xy(polygon, lon, lat)
        take = min(int(inside.sum()), size - filled)
        lon_out[filled : filled + take] = lon[inside][:take]
        lat_out[filled : filled + take] = lat[inside][:take]
        filled += take
    return lon_out, lat_out


def _uniform_metric(
    polygon: Any, *, size: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """``size`` uniform points inside a metric polygon (rejection sampling in batches)."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    got = 0
    minx, miny, maxx, maxy = polygon.bounds
    while got < size:
        x = rng.uniform(minx, maxx, 4 * size + 16)
        y = rng.uniform(miny, maxy, 4 * size + 16)
        inside = shapely.contains_xy(polygon, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(xs)[:size], np.concatenate(ys)[:size]
