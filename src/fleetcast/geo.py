"""Zoning and distances: polygons or H3 cells, point-in-zone, metric areas and distances.

Areas and buffers are computed in a local azimuthal-equidistant projection (metres) around
the zones, never in degrees.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from fleetcast.errors import SchemaError

EARTH_RADIUS_M = 6_371_008.8
ZONE_ID_FIELDS = ("zone_id", "id", "area_numbe", "area_num_1", "zone", "name")
ZONE_NAME_FIELDS = ("name", "zone_name", "community", "label")


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres, element-wise."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def local_crs(lat: float, lon: float) -> pyproj.CRS:
    """A metric projection centred on (lat, lon): distances near it are true to < 0.1%."""
    return pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"
    )


def to_metric(geom: BaseGeometry, crs: pyproj.CRS) -> BaseGeometry:
    """Project a lon/lat geometry into ``crs``."""
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    projected: BaseGeometry = shapely.transform(geom, forward, interleaved=False)
    return projected


def area_km2(geom: BaseGeometry, crs: pyproj.CRS | None = None) -> float:
    """Area of a lon/lat geometry in km², in a local metric projection."""
    if crs is None:
        c = geom.centroid
        crs = local_crs(c.y, c.x)
    return float(to_metric(geom, crs).area / 1e6)


@dataclass(frozen=True)
class Zoning:
    """A system's zones as polygons, with a spatial index for point-in-zone look-ups."""

    zone_ids: tuple[str, ...]
    names: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    h3_resolution: int | None = None
    """Set when the zones are H3 cells: points are then located by H3 itself, exactly
    (a cell's planar polygon differs from its true edges by a few metres)."""

    def __post_init__(self) -> None:
        if not (len(self.zone_ids) == len(self.names) == len(self.geometries)):
            raise ValueError("zone_ids, names and geometries differ in length")
        if len(set(self.zone_ids)) != len(self.zone_ids):
            raise SchemaError("zone ids are not unique")

    @cached_property
    def _tree(self) -> shapely.STRtree:
        geoms = np.array(self.geometries, dtype=object)
        shapely.prepare(geoms)
        return shapely.STRtree(geoms)

    @cached_property
    def crs(self) -> pyproj.CRS:
        """The local metric projection of these zones."""
        c = shapely.union_all(np.array(self.geometries, dtype=object)).centroid
        return local_crs(c.y, c.x)

    def __len__(self) -> int:
        return len(self.zone_ids)

    def locate(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Zone id containing each point (None outside every zone; first zone on a border)."""
        lat_a, lon_a = np.asarray(lat, float), np.asarray(lon, float)
        out = np.full(lat_a.shape, None, dtype=object)
        ok = np.isfinite(lat_a) & np.isfinite(lon_a)
        if not ok.any():
            return out
        if self.h3_resolution is not None:
            known = set(self.zone_ids)
            cells = h3_cells(lat_a[ok], lon_a[ok], self.h3_resolution)
            out[ok] = [c if c in known else None for c in cells]
            return out
        points = shapely.points(lon_a[ok], lat_a[ok])
        point_idx, zone_idx = self._tree.query(points, predicate="intersects")
        order = np.lexsort((zone_idx, point_idx))
        point_idx, zone_idx = point_idx[order], zone_idx[order]
        first = np.ones(point_idx.shape, bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        ids = np.array(self.zone_ids, dtype=object)
        located = np.full(points.shape, None, dtype=object)
        located[point_idx[first]] = ids[zone_idx[first]]
        out[ok] = located
        return out

    def assign(self, frame: pl.DataFrame, *, lat: str, lon: str, out: str) -> pl.DataFrame:
        """Add column ``out`` with the zone of each (lat, lon), looking up each place once."""
        places = frame.select(pl.col(lat), pl.col(lon)).unique().drop_nulls()
        zone = self.locate(places[lat].to_numpy(), places[lon].to_numpy())
        places = places.with_columns(pl.Series(out, zone.tolist(), dtype=pl.String))
        return frame.join(
            places, on=[lat, lon], how="left", nulls_equal=False, maintain_order="left"
        )

    def to_frame(self) -> pl.DataFrame:
        """Zones as rows of the zones table (GeoJSON geometry, centroid, km²)."""
        crs = self.crs
        centroids = [g.centroid for g in self.geometries]
        return pl.DataFrame(
            {
                "zone_id": list(self.zone_ids),
                "name": list(self.names),
                "geometry": [json.dumps(mapping(g)) for g in self.geometries],
                "centroid_lat": [c.y for c in centroids],
                "centroid_lon": [c.x for c in centroids],
                "area_km2": [area_km2(g, crs) for g in self.geometries],
            },
            schema={
                "zone_id": pl.String,
                "name": pl.String,
                "geometry": pl.String,
                "centroid_lat": pl.Float64,
                "centroid_lon": pl.Float64,
                "area_km2": pl.Float64,
            },
        )

    @classmethod
    def from_frame(cls, zones: pl.DataFrame) -> Zoning:
        """Zoning from rows of the zones table (zones without geometry are left out)."""
        with_geom = zones.filter(pl.col("geometry").is_not_null())
        return cls(
            zone_ids=tuple(with_geom["zone_id"].to_list()),
            names=tuple(with_geom["name"].to_list()),
            geometries=tuple(shape(json.loads(g)) for g in with_geom["geometry"]),
        )

    @classmethod
    def from_geojson(
        cls,
        source: Path | str | Mapping[str, Any],
        *,
        id_field: str | None = None,
        name_field: str | None = None,
    ) -> Zoning:
        """Zoning from a GeoJSON FeatureCollection (a path or a parsed dict).

        The id and name properties are guessed from common names when not given.
        """
        doc = _load_geojson(source)
        features = doc.get("features")
        if doc.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise SchemaError("zones file is not a GeoJSON FeatureCollection")
        if not features:
            raise SchemaError("zones file has no features")
        props = [f.get("properties") or {} for f in features]
        id_key = id_field or _guess(props, ZONE_ID_FIELDS, "id")
        name_key = name_field or _guess(props, ZONE_NAME_FIELDS, "name", default=id_key)
        ids, names, geoms = [], [], []
        for n, (feature, p) in enumerate(zip(features, props, strict=True)):
            if p.get(id_key) in (None, ""):
                raise SchemaError(f"feature {n} has no {id_key!r} property")
            try:
                geom = shape(feature["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise SchemaError(f"feature {n} has no valid geometry: {exc}") from exc
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            ids.append(_zone_id(p[id_key]))
            name = p.get(name_key) if name_key != id_key else None
            names.append(str(name).strip().title() if name not in (None, "") else ids[-1])
            geoms.append(geom)
        return cls(tuple(ids), tuple(names), tuple(geoms))


def _zone_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _load_geojson(source: Path | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaError(f"zones file {path} does not exist") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"zones file {path} is not GeoJSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise SchemaError(f"zones file {path} is not a GeoJSON object")
    return doc


def _guess(
    props: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    what: str,
    default: str | None = None,
) -> str:
    keys = set(props[0])
    for name in candidates:
        if name in keys and all(p.get(name) not in (None, "") for p in props):
            return name
    if default is not None:
        return default
    raise SchemaError(
        f"cannot tell which property is the zone {what}: tried {list(candidates)}, "
        f"found {sorted(keys)}; name it with --zone-{what}-field"
    )


def h3_cells(lat: npt.ArrayLike, lon: npt.ArrayLike, resolution: int) -> list[str | None]:
    """The H3 cell of each point at ``resolution`` (None for missing coordinates)."""
    lat_a, lon_a = np.asarray(lat, float), np.asarray(lon, float)
    return [
        h3.latlng_to_cell(a, o, resolution) if np.isfinite(a) and np.isfinite(o) else None
        for a, o in zip(lat_a, lon_a, strict=True)
    ]


def h3_zoning(cells: Sequence[str]) -> Zoning:
    """Zoning whose zones are the given H3 cells (named by cell id)."""
    unique = sorted(set(cells))
    geoms = tuple(
        shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in unique
    )
    resolution = h3.get_resolution(unique[0]) if unique else None
    return Zoning(tuple(unique), tuple(unique), geoms, h3_resolution=resolution)
