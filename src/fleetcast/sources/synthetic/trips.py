"""Trip rows from zone-day counts: start times, destinations, points, distances, vehicles."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import polars as pl

from fleetcast import domain
from fleetcast.domain import VehicleKind
from fleetcast.sources.synthetic.arrays import FloatArray, IntArray
from fleetcast.sources.synthetic.demand import _centrality
from fleetcast.sources.synthetic.fleet import _vehicle_ids
from fleetcast.sources.synthetic.geography import _Layout
from fleetcast.sources.synthetic.geometry import _sample_in_polygon
from fleetcast.sources.synthetic.params import PROVIDER, SYSTEM_ID, DemoParams
from fleetcast.sources.synthetic.period import _Calendar, _local_to_utc
from fleetcast.sources.synthetic.sites import _Sites

_HOTSPOT_SHARE: Final = 0.5
"""Share of trip points drawn around a zone's hotspots instead of uniformly in it."""
_DETOUR: Final = 1.3
_MIN_DISTANCE_M: Final = 100.0
_EARTH_RADIUS_M: Final = 6_371_008.8


def _bump(hours: FloatArray, mean: float, sd: float) -> FloatArray:
    bump: FloatArray = np.exp(-0.5 * ((hours - mean) / sd) ** 2)
    return bump


def _hour_profiles() -> FloatArray:
    """Start-hour weights: rows weekday-residential, weekday-central, day-off x2."""
    h = np.arange(24, dtype=np.float64) + 0.5
    night = np.where((h > 1) & (h < 5.5), 0.3, 1.0)
    residential = 0.05 + 1.3 * _bump(h, 8.0, 1.0) + 0.7 * _bump(h, 17.5, 1.4)
    residential += 0.45 * _bump(h, 12.5, 2.5) + 0.3 * _bump(h, 20.5, 1.8)
    central = 0.05 + 0.45 * _bump(h, 8.3, 1.0) + 1.4 * _bump(h, 17.5, 1.4)
    central += 0.55 * _bump(h, 12.5, 2.2) + 0.35 * _bump(h, 20.5, 1.8)
    day_off = 0.05 + 1.0 * _bump(h, 15.0, 3.2) + 0.25 * _bump(h, 21.5, 2.0)
    day_off_central = day_off + 0.15 * _bump(h, 23.5, 1.5)
    return np.vstack([residential, central, day_off, day_off_central]) * night


def _sample_grouped(weights: FloatArray, group: IntArray, rng: np.random.Generator) -> IntArray:
    """One category per item from the row ``weights[group]`` (inverse CDF, vectorized)."""
    n_groups, n_categories = weights.shape
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(n_groups)[:, None]).ravel()
    index = np.searchsorted(flat, group + rng.random(len(group)), side="right")
    chosen: IntArray = np.clip(index - group * n_categories, 0, n_categories - 1)
    return chosen


def _destination_weights(layout: _Layout, share: FloatArray) -> FloatArray:
    """Gravity weights (4 x n origins, n destinations) by class AM, PM, other, day off."""
    dx = layout.x[:, None] - layout.x[None, :]
    dy = layout.y[:, None] - layout.y[None, :]
    distance = np.hypot(dx, dy)
    np.fill_diagonal(distance, 0.5 * np.sqrt(layout.area_km2 * 1e6))
    climb = layout.elevation_m[None, :] - layout.elevation_m[:, None]
    base = (share[None, :] ** 0.9) * np.exp(-distance / 1200.0) * np.exp(-0.04 * climb)
    radius_km = layout.radius / 1000.0
    toward_centre = np.exp(-0.35 * radius_km)[None, :]
    away_from_centre = np.exp(0.4 * radius_km)[None, :]
    leisure = (1 + 1.5 * layout.leisure)[None, :]
    stacked = np.stack([base * toward_centre, base * away_from_centre, base, base * leisure])
    weights: FloatArray = stacked.reshape(4 * layout.n, layout.n) + 1e-12
    return weights


def _haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    distance: FloatArray = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return distance


def _points_for_zones(
    zone: IntArray, *, layout: _Layout, sites: _Sites, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """A lon/lat point inside its zone for every item of ``zone`` (mixed hotspot/uniform)."""
    lon = np.empty(len(zone))
    lat = np.empty(len(zone))
    order = np.argsort(zone, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(zone, minlength=layout.n))])
    for z in range(layout.n):
        size = int(bounds[z + 1] - bounds[z])
        if size == 0:
            continue
        centers = sites.hotspots[z]
        n_hot = int(rng.binomial(size, _HOTSPOT_SHARE))
        polygon = layout.polygons[z]
        u_lon, u_lat = _sample_in_polygon(polygon, size=size - n_hot, rng=rng)
        h_lon, h_lat = _sample_in_polygon(polygon, size=n_hot, rng=rng, centers=centers)
        mix = rng.permutation(size)
        target = order[bounds[z] : bounds[z + 1]]
        lon[target] = np.concatenate([u_lon, h_lon])[mix]
        lat[target] = np.concatenate([u_lat, h_lat])[mix]
    return lon, lat


def _build_trips(
    params: DemoParams,
    *,
    layout: _Layout,
    share: FloatArray,
    calendar: _Calendar,
    counts: IntArray,
    sites: _Sites,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Expand zone-day counts into trip rows (hour, destination, points, times, vehicle)."""
    n_days, n_zones = counts.shape
    per_day = counts.sum(axis=1)
    day = np.repeat(np.arange(n_days), per_day)
    origin = np.repeat(np.tile(np.arange(n_zones), n_days), counts.ravel())
    n = len(day)
    day_off = calendar.day_off[day]

    central = rng.random(n) < _centrality(layout)[origin]
    hour = _sample_grouped(_hour_profiles(), day_off * 2 + central, rng)
    second = rng.integers(0, 3600, n)
    dest_class = np.where(
        day_off,
        3,
        np.where((hour >= 6) & (hour < 10), 0, np.where((hour >= 15) & (hour < 20), 1, 2)),
    )
    weights = _destination_weights(layout, share)
    destination = _sample_grouped(weights, dest_class * n_zones + origin, rng)

    start_lon, start_lat = _points_for_zones(origin, layout=layout, sites=sites, rng=rng)
    end_lon, end_lat = _points_for_zones(destination, layout=layout, sites=sites, rng=rng)
    distance = np.maximum(
        _DETOUR * _haversine_m(start_lat, start_lon, end_lat, end_lon), _MIN_DISTANCE_M
    ).round(1)
    speed_kmh = np.clip(rng.lognormal(math.log(12.0), 0.25, n), 5.0, 25.0)
    speed_kmh *= np.where(day_off, 0.9, 1.0)
    duration = np.round(distance / (speed_kmh / 3.6) + rng.uniform(20.0, 90.0, n))

    local_day = calendar.dates[day]
    naive = local_day.astype("datetime64[us]") + (hour * 3600 + second) * np.timedelta64(1, "s")
    ids = layout.ids
    zone_ids = pl.Series(ids, dtype=pl.String)
    frame = (
        pl.DataFrame(
            {
                "naive": naive,
                "date": local_day,
                "origin": origin.astype(np.int32),
                "destination": destination.astype(np.int32),
                "start_lat": start_lat,
                "start_lon": start_lon,
                "end_lat": end_lat,
                "end_lon": end_lon,
                "distance_m": distance,
                "duration_s": duration,
            }
        )
        .with_columns(
            started_at=_local_to_utc(pl.col("naive")),
            date=pl.col("date").cast(pl.Date),
        )
        .with_columns(
            ended_at=pl.col("started_at")
            + pl.duration(seconds=pl.col("duration_s").cast(pl.Int64)),
        )
        .sort(["started_at", "origin", "destination"], maintain_order=True)
    )
    vehicle = _assign_vehicles(
        params,
        day_of_trip=(frame["date"] - params.start).dt.total_days().to_numpy(),
        started_us=frame["started_at"].dt.epoch("us").to_numpy(),
        ended_us=frame["ended_at"].dt.epoch("us").to_numpy(),
        rng=rng,
    )
    frame = frame.with_columns(
        system_id=pl.lit(SYSTEM_ID),
        trip_id=pl.lit(f"{SYSTEM_ID}-") + pl.int_range(pl.len()).cast(pl.String).str.zfill(9),
        vehicle_id=pl.Series(_vehicle_ids(params.fleet_size)).gather(vehicle),
        vehicle_type=pl.lit(VehicleKind.SCOOTER.value),
        start_zone=zone_ids.gather(frame["origin"]),
        end_zone=zone_ids.gather(frame["destination"]),
        provider=pl.lit(PROVIDER),
    )
    return domain.conform(frame, domain.TRIPS)


def _assign_vehicles(
    params: DemoParams,
    *,
    day_of_trip: IntArray,
    started_us: IntArray,
    ended_us: IntArray,
    rng: np.random.Generator,
) -> IntArray:
    """Vehicle index per trip (trips sorted by start): a day cycles through its active fleet.

    The active fleet grows with demand up to ``fleet_size`` on the last day; cycling
    through a daily permutation keeps one vehicle's trips on a day many trips apart. The
    rare trip that would still start before its vehicle's previous trip ended (long trips
    on peak days) is handed to another active vehicle until no vehicle rides twice at once.
    """
    n_days, fleet = params.days, params.fleet_size
    years_before_end = (n_days - 1 - np.arange(n_days)) / 365.25
    active = np.round(fleet / (1 + params.annual_growth) ** years_before_end).astype(np.int64)
    active = np.clip(active, min(fleet, 50), fleet)
    permutations = rng.permuted(np.tile(np.arange(fleet), (n_days, 1)), axis=1)
    first = np.searchsorted(day_of_trip, np.arange(n_days))
    position = np.arange(len(day_of_trip)) - first[day_of_trip]
    vehicle: IntArray = permutations[day_of_trip, position % active[day_of_trip]]
    for _ in range(50):
        order = np.lexsort((started_us, vehicle))
        clash = (vehicle[order[1:]] == vehicle[order[:-1]]) & (
            started_us[order[1:]] < ended_us[order[:-1]]
        )
        if not clash.any():
            break
        moved = order[1:][clash]
        days = day_of_trip[moved]
        vehicle[moved] = permutations[days, rng.integers(0, active[days])]
    return vehicle
