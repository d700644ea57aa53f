"""The fleet: vehicle ids and the snapshot of every vehicle at the end of the last day."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import shapely

from fleetcast import domain
from fleetcast.domain import VehicleKind
from fleetcast.sources.synthetic.arrays import FloatArray
from fleetcast.sources.synthetic.geography import _SHORE_X, _SHORE_Y, _Layout
from fleetcast.sources.synthetic.geometry import (
    _COORD_DECIMALS,
    _sample_in_polygon,
    _uniform_metric,
)
from fleetcast.sources.synthetic.params import SYSTEM_ID, DemoParams
from fleetcast.sources.synthetic.period import _local_to_utc
from fleetcast.sources.synthetic.sites import _PARKING_RADIUS_M, _Sites


def _vehicle_ids(fleet_size: int) -> list[str]:
    return [f"{SYSTEM_ID}-v{i + 1:05d}" for i in range(fleet_size)]


def _drift(trips: pl.DataFrame | None, layout: _Layout, *, days: int = 7) -> FloatArray:
    """Per zone, how much vehicles pile up by the end of a day: trip ends over trip starts
    in the last ``days`` days (riders end downhill and away from the centre in the evening,
    so a real morning fleet is out of balance). Ones when there are no trips."""
    if trips is None or trips.is_empty():
        return np.ones(layout.n)
    last = trips["date"].max()
    recent = trips.filter(pl.col("date") > pl.lit(last) - pl.duration(days=days))
    index = {zone: i for i, zone in enumerate(layout.ids)}
    starts = np.zeros(layout.n)
    ends = np.zeros(layout.n)
    for zone, n in recent.group_by("start_zone").len().iter_rows():
        if zone in index:
            starts[index[zone]] = n
    for zone, n in recent.group_by("end_zone").len().iter_rows():
        if zone in index:
            ends[index[zone]] = n
    return np.clip((ends + 5.0) / (starts + 5.0), 0.2, 5.0)


def _build_vehicles(
    params: DemoParams,
    *,
    layout: _Layout,
    sites: _Sites,
    rng: np.random.Generator,
    trips: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The fleet at the end of the last day: mostly at parkings (more of them where trips
    have been ending than starting), some astray, a few outside the service area."""
    fleet = params.fleet_size
    n_astray, n_outside = round(0.045 * fleet), round(0.02 * fleet)
    kind = rng.permutation(  # 0 at a parking, 1 astray in a zone, 2 outside the service area
        np.repeat([0, 1, 2], [fleet - n_astray - n_outside, n_astray, n_outside])
    )
    lon = np.empty(fleet)
    lat = np.empty(fleet)
    proj = layout.projection

    at_parking = np.flatnonzero(kind == 0)
    capacity = sites.frame["max_vehicles"].to_numpy().astype(np.float64)
    weight = capacity * _drift(trips, layout)[sites.zone] ** 2
    parking = rng.choice(len(capacity), size=len(at_parking), p=weight / weight.sum())
    radius = 0.8 * _PARKING_RADIUS_M * np.sqrt(rng.random(len(at_parking)))
    angle = rng.uniform(0.0, 2 * np.pi, len(at_parking))
    lon[at_parking], lat[at_parking] = proj.to_lonlat(
        sites.x[parking] + radius * np.cos(angle), sites.y[parking] + radius * np.sin(angle)
    )

    astray = np.flatnonzero(kind == 1)
    zone_of = rng.choice(layout.n, size=len(astray))
    for i, z in zip(astray, zone_of, strict=True):
        lon[i], lat[i] = _point_away_from_parkings(layout, sites, zone=int(z), rng=rng)

    outside = np.flatnonzero(kind == 2)
    ring = shapely.difference(
        shapely.buffer(layout.service_metric, 1500.0), shapely.buffer(layout.service_metric, 150.0)
    )
    land = shapely.Polygon(
        [*zip(_SHORE_X, _SHORE_Y, strict=True), (-40000.0, 17500.0), (-40000.0, -17000.0)]
    )
    ring = shapely.intersection(ring, land)
    ox, oy = _uniform_metric(ring, size=len(outside), rng=rng)
    lon[outside], lat[outside] = proj.to_lonlat(ox, oy)

    lon, lat = lon.round(_COORD_DECIMALS), lat.round(_COORD_DECIMALS)
    zone_index = np.full(fleet, -1, dtype=np.int64)
    for z, polygon in enumerate(layout.polygons):
        zone_index[(zone_index < 0) & shapely.contains_xy(polygon, lon, lat)] = z
    ids = layout.ids
    battery = np.where(
        rng.random(fleet) < 0.12, rng.uniform(0.0, 20.0, fleet), 100 * rng.beta(3.0, 1.5, fleet)
    ).round(0)
    disabled = (rng.random(fleet) < 0.025) | (battery < 2)
    reserved = (rng.random(fleet) < 0.01) & ~disabled
    observed_local = datetime.combine(params.end, datetime.min.time()).replace(hour=23, minute=59)
    frame = pl.DataFrame(
        {
            "system_id": SYSTEM_ID,
            "vehicle_id": _vehicle_ids(fleet),
            "observed_local": [observed_local] * fleet,
            "lat": lat,
            "lon": lon,
            "zone_id": [ids[z] if z >= 0 else None for z in zone_index],
            "battery_pct": battery,
            "is_reserved": reserved,
            "is_disabled": disabled,
            "vehicle_type": VehicleKind.SCOOTER.value,
            "date": [params.end] * fleet,
        }
    ).with_columns(observed_at=_local_to_utc(pl.col("observed_local").cast(pl.Datetime("us"))))
    return domain.conform(frame, domain.VEHICLE_STATUS)


def _point_away_from_parkings(
    layout: _Layout, sites: _Sites, *, zone: int, rng: np.random.Generator
) -> tuple[float, float]:
    """A lon/lat point in ``zone`` more than three parking radii from every parking."""
    for _ in range(50):
        lon, lat = _sample_in_polygon(layout.polygons[zone], size=8, rng=rng)
        x, y = layout.projection.to_metric(lon, lat)
        gap = np.hypot(x[:, None] - sites.x[None, :], y[:, None] - sites.y[None, :]).min(axis=1)
        far = np.flatnonzero(gap > 3 * _PARKING_RADIUS_M)
        if len(far):
            return float(lon[far[0]]), float(lat[far[0]])
    return float(lon[0]), float(lat[0])  # pragma: no cover - a zone made only of parkings
