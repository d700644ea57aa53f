"""Building training sets: from the demo city (tests, benchmarks) and from plain frames."""

from __future__ import annotations

from datetime import date

import polars as pl

from fleetcast.analytics.demand import daily_demand
from fleetcast.forecasting.base import WEATHER_COLUMNS, TrainingSet
from fleetcast.geo import haversine_m
from fleetcast.sources.calendar import holiday_dates
from fleetcast.sources.synthetic import DemoCity


def zone_features(zones: pl.DataFrame, *, center_lat: float, center_lon: float) -> pl.DataFrame:
    """zone_id, area_km2, centroid and ``centre_km`` (distance to the system's centre)."""
    centre = haversine_m(zones["centroid_lat"], zones["centroid_lon"], center_lat, center_lon)
    return zones.select(
        "zone_id",
        pl.col("area_km2").cast(pl.Float64),
        pl.col("centroid_lat").cast(pl.Float64),
        pl.col("centroid_lon").cast(pl.Float64),
    ).with_columns(pl.Series("centre_km", centre / 1000.0))


def from_demo_city(city: DemoCity, *, last_day: date | None = None) -> TrainingSet:
    """The demo city's daily demand, zones, observed weather and US-IL holidays."""
    first = city.trips["date"].min()
    last = city.trips["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    zones = city.zones
    demand = daily_demand(
        city.trips,
        system_id=city.system.system_id,
        zone_ids=zones["zone_id"].to_list(),
        start=first,
        end=last_day or last,
    ).select("zone_id", "date", "trips")
    assert city.system.center_lat is not None and city.system.center_lon is not None
    return TrainingSet(
        system_id=city.system.system_id,
        demand=demand,
        zones=zone_features(
            zones, center_lat=city.system.center_lat, center_lon=city.system.center_lon
        ),
        weather=city.weather.select(WEATHER_COLUMNS).sort("date"),
        holidays=holiday_dates(city.system.country, city.system.subdivision, first, last),
    )
