"""Trips in the City of Chicago portal's CSV layout, generated, for benchmarks and tests.

No real Chicago trip file ships with fleetcast, so this writes rows exactly as the portal's
'E-Scooter Trips' export lays them out (local times rounded to the hour, metres, seconds,
census-tract centroids) over the real community-area polygons.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import shapely

from fleetcast.geo import Zoning, haversine_m

COLUMNS = [
    "Trip ID",
    "Start Time",
    "End Time",
    "Trip Distance",
    "Trip Duration",
    "Accuracy",
    "Start Census Tract",
    "End Census Tract",
    "Start Community Area Number",
    "End Community Area Number",
    "Start Community Area Name",
    "End Community Area Name",
    "Start Centroid Latitude",
    "Start Centroid Longitude",
    "Start Centroid Location",
    "End Centroid Latitude",
    "End Centroid Longitude",
    "End Centroid Location",
    "Vendor",
]
VENDORS = ["Lime", "Bird", "Spin", "Veo", "Superpedestrian", "Link", "Lyft", "Wheels"]


def _tract_centroids(
    zoning: Zoning, rng: np.random.Generator, per_zone: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lats, lons, zone_index = [], [], []
    for i, geom in enumerate(zoning.geometries):
        minx, miny, maxx, maxy = geom.bounds
        found: list[tuple[float, float]] = []
        while len(found) < per_zone:
            xs = rng.uniform(minx, maxx, per_zone * 4)
            ys = rng.uniform(miny, maxy, per_zone * 4)
            inside = shapely.contains_xy(geom, xs, ys)
            found.extend(zip(ys[inside], xs[inside], strict=True))
        for lat, lon in found[:per_zone]:
            lats.append(lat)
            lons.append(lon)
            zone_index.append(i)
    return np.array(lats), np.array(lons), np.array(zone_index)


def sample_trips(
    zoning: Zoning,
    *,
    rows: int,
    seed: int = 0,
    start: date = date(2020, 8, 12),
    days: int = 123,
    missing_area_share: float = 0.08,
) -> pl.DataFrame:
    """``rows`` trips in the portal's columns (all text), busier near the Loop.

    A share of rows carry centroids but no community area number, as real rows near the city
    limits do, so loading them exercises point-in-polygon zone assignment.
    """
    rng = np.random.default_rng(seed)
    lat, lon, zone_idx = _tract_centroids(zoning, rng, per_zone=10)
    loop_lat, loop_lon = 41.8819, -87.6278
    weight = 1.0 / (1.0 + haversine_m(lat, lon, loop_lat, loop_lon) / 2500.0) ** 2
    weight /= weight.sum()
    start_tract = rng.choice(lat.size, rows, p=weight)
    end_tract = rng.choice(lat.size, rows, p=weight)
    distance = haversine_m(lat[start_tract], lon[start_tract], lat[end_tract], lon[end_tract])
    distance = np.maximum(distance * 1.3 + rng.gamma(2.0, 150.0, rows), 50.0)
    duration = distance / rng.uniform(2.5, 5.0, rows) + rng.gamma(2.0, 60.0, rows)
    day = rng.integers(0, days, rows)
    hour = rng.choice(24, rows, p=_hour_profile())
    base = datetime.combine(start, datetime.min.time())
    started = np.array([base], dtype="datetime64[us]") + (
        (day * 24 + hour).astype("timedelta64[h]")
    )
    ended = started + np.round(duration / 3600.0).astype("timedelta64[h]")
    ids = np.array(zoning.zone_ids, dtype=object)
    names = np.array([n.upper() for n in zoning.names], dtype=object)
    start_zone, end_zone = ids[zone_idx[start_tract]], ids[zone_idx[end_tract]]
    no_area = rng.random(rows) < missing_area_share
    fmt = "%m/%d/%Y %I:%M:%S %p"
    frame = pl.DataFrame(
        {
            "Trip ID": [f"{v:032x}" for v in rng.integers(0, 2**63, rows, dtype=np.int64)],
            "Start Time": pl.Series(started).dt.strftime(fmt),
            "End Time": pl.Series(ended).dt.strftime(fmt),
            "Trip Distance": np.round(distance).astype(np.int64).astype(str),
            "Trip Duration": np.round(duration).astype(np.int64).astype(str),
            "Accuracy": rng.integers(0, 50, rows).astype(str),
            "Start Census Tract": (17031000000 + start_tract).astype(str),
            "End Census Tract": (17031000000 + end_tract).astype(str),
            "Start Community Area Number": np.where(no_area, "", start_zone).astype(str),
            "End Community Area Number": end_zone.astype(str),
            "Start Community Area Name": np.where(no_area, "", names[zone_idx[start_tract]]).astype(
                str
            ),
            "End Community Area Name": names[zone_idx[end_tract]].astype(str),
            "Start Centroid Latitude": np.round(lat[start_tract], 9).astype(str),
            "Start Centroid Longitude": np.round(lon[start_tract], 9).astype(str),
            "Start Centroid Location": [
                f"POINT ({x:.9f} {y:.9f})"
                for x, y in zip(lon[start_tract], lat[start_tract], strict=True)
            ],
            "End Centroid Latitude": np.round(lat[end_tract], 9).astype(str),
            "End Centroid Longitude": np.round(lon[end_tract], 9).astype(str),
            "End Centroid Location": [
                f"POINT ({x:.9f} {y:.9f})"
                for x, y in zip(lon[end_tract], lat[end_tract], strict=True)
            ],
            "Vendor": np.array(VENDORS)[rng.integers(0, len(VENDORS), rows)],
        }
    )
    return frame.with_columns(pl.col(c).replace("", None) for c in COLUMNS).select(COLUMNS)


def _hour_profile() -> np.ndarray:
    hours = np.arange(24)
    profile = (
        0.15
        + np.exp(-0.5 * ((hours - 8.5) / 1.5) ** 2)
        + 1.6 * np.exp(-0.5 * ((hours - 17.5) / 2.5) ** 2)
    )
    profile[:6] *= 0.2
    return np.asarray(profile / profile.sum())


def write_sample_csv(path: Path, zoning: Zoning, *, rows: int, seed: int = 0) -> Path:
    """Write :func:`sample_trips` as the portal's CSV export would."""
    sample_trips(zoning, rows=rows, seed=seed).write_csv(path)
    return path
