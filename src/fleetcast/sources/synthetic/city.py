"""``DemoCity`` and the functions that generate it, each part from its own child seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from fleetcast.domain import SystemInfo
from fleetcast.sources.synthetic.demand import _zone_activity, _zone_day_counts
from fleetcast.sources.synthetic.fleet import _build_vehicles
from fleetcast.sources.synthetic.geography import _build_layout, _zones_frame
from fleetcast.sources.synthetic.geometry import _geojson
from fleetcast.sources.synthetic.params import DEFAULT_END, SYSTEM, DemoParams
from fleetcast.sources.synthetic.period import _build_calendar
from fleetcast.sources.synthetic.sites import _build_parkings, _depots_frame, _workers_frame
from fleetcast.sources.synthetic.trips import _build_trips
from fleetcast.sources.synthetic.weather import _simulate_weather, _weather_frame


@dataclass(frozen=True, slots=True)
class DemoCity:
    """A generated operator: its system, zones, two years of trips, weather, fleet and sites.

    Frames use the store's schemas (``domain.TRIPS``, ``domain.WEATHER_DAILY``,
    ``domain.VEHICLE_STATUS``); ``workers`` are the field workers (one van per depot, the
    rest on foot from the busiest parkings); ``zones`` carries GeoJSON polygons (lon/lat),
    centroids, areas in km² and the ``elevation_m`` that makes riders prefer going downhill;
    ``service_area`` is the GeoJSON polygon riders may park in (the union of the zones is
    inside it).
    """

    system: SystemInfo
    zones: pl.DataFrame
    trips: pl.DataFrame
    weather: pl.DataFrame
    vehicles: pl.DataFrame
    parkings: pl.DataFrame
    depots: pl.DataFrame
    workers: pl.DataFrame
    service_area: str
    params: DemoParams


def generate_city(
    *,
    seed: int = 7,
    days: int = 730,
    end: date | None = None,
    n_zones: int = 90,
    trips_scale: float = 1.0,
) -> DemoCity:
    """Generate the demo city: same arguments, same frames (``end`` defaults to a fixed day).

    Raises ``ValueError`` naming every argument that is out of range.
    """
    params = DemoParams(
        seed=seed,
        days=days,
        end=DEFAULT_END if end is None else end,
        n_zones=n_zones,
        trips_scale=trips_scale,
    )
    return generate_city_from_params(params)


def generate_city_from_params(params: DemoParams) -> DemoCity:
    """Generate the demo city described by ``params`` (deterministic for its seed).

    Each part draws from its own child of the seed, so the zones of a seed do not change
    with ``days`` or ``trips_scale``.
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(6)]
    layout = _build_layout(n_zones=params.n_zones, rng=rngs[0])
    calendar = _build_calendar(params)
    weather = _simulate_weather(calendar, rng=rngs[1])
    share = _zone_activity(layout, rngs[2])
    counts = _zone_day_counts(
        params, layout=layout, share=share, calendar=calendar, weather=weather, rng=rngs[2]
    )
    sites = _build_parkings(layout=layout, counts=counts, rng=rngs[3])
    trips = _build_trips(
        params,
        layout=layout,
        share=share,
        calendar=calendar,
        counts=counts,
        sites=sites,
        rng=rngs[4],
    )
    vehicles = _build_vehicles(params, layout=layout, sites=sites, rng=rngs[5], trips=trips)
    depots = _depots_frame(layout, n_depots=params.n_depots)
    return DemoCity(
        system=SYSTEM,
        zones=_zones_frame(layout),
        trips=trips,
        weather=_weather_frame(calendar, weather),
        vehicles=vehicles,
        parkings=sites.frame,
        depots=depots,
        workers=_workers_frame(sites.frame, depots, n_workers=params.n_workers),
        service_area=_geojson(layout.service_area),
        params=params,
    )
