"""Trips started per zone and day: seasonality, weather, holidays, growth, over-dispersion."""

from __future__ import annotations

from typing import Final

import numpy as np

from fleetcast.sources.synthetic.arrays import FloatArray, IntArray
from fleetcast.sources.synthetic.geography import _Layout
from fleetcast.sources.synthetic.params import DemoParams
from fleetcast.sources.synthetic.period import _Calendar
from fleetcast.sources.synthetic.weather import _climate_temp_max, _Weather

_BASE_TRIPS_PER_DAY: Final = 1560.0
"""Trips on a climatologically average day at the start of the period (trips_scale=1)."""
_DOW_FACTORS: Final = np.array([0.93, 0.96, 0.98, 1.0, 1.08, 1.12, 0.95])
"""Monday..Sunday multipliers of demand (Friday and Saturday busiest)."""


def _temperature_effect(temp_max_c: FloatArray) -> FloatArray:
    """Cold days lose most riders, mild and warm days keep them, heat costs a little."""
    comfort = 0.2 + 0.8 / (1 + np.exp(-(temp_max_c - 10.0) / 4.5))
    return comfort * np.where(temp_max_c > 32.0, 0.9, 1.0)


def _season_effect(doy: FloatArray) -> FloatArray:
    return np.exp(0.3 * np.cos(2 * np.pi * (doy - 200) / 365.25))


def _weather_effect(weather: _Weather) -> FloatArray:
    """Rain (and a wet day at all) and strong wind suppress rides."""
    rain = np.maximum(np.exp(-0.06 * weather.precip_mm), 0.2)
    rain = rain * np.where(weather.precip_mm >= 1.0, 0.85, 1.0)
    wind = np.exp(-0.012 * np.maximum(weather.wind_max_kmh - 30.0, 0.0))
    return _temperature_effect(weather.temp_max_c) * rain * wind


def _climate_norm() -> float:
    """Mean of season x temperature effects over a climatological year (demand divisor)."""
    doy = np.arange(1, 366, dtype=np.float64)
    return float(np.mean(_season_effect(doy) * _temperature_effect(_climate_temp_max(doy))))


def _zone_activity(layout: _Layout, rng: np.random.Generator) -> FloatArray:
    """Share of trips each zone starts: lognormal spread, distance decay, lakefront pull."""
    spread = rng.lognormal(0.0, 1.1, layout.n)
    decay = np.exp(-layout.radius / 2500.0) + 0.015
    activity = spread * decay * (1 + 0.8 * layout.leisure) * layout.area_km2**0.3
    share: FloatArray = activity / activity.sum()
    return share


def _centrality(layout: _Layout) -> FloatArray:
    return np.exp(-layout.radius / 3000.0)


def _weekend_affinity(layout: _Layout, share: FloatArray) -> FloatArray:
    """Weekend demand relative to weekday per zone: leisure zones up, downtown down."""
    affinity = np.exp(0.6 * layout.leisure - 0.5 * _centrality(layout))
    normalised: FloatArray = affinity / float(np.sum(share * affinity))
    return normalised


def _zone_day_counts(
    params: DemoParams,
    *,
    layout: _Layout,
    share: FloatArray,
    calendar: _Calendar,
    weather: _Weather,
    rng: np.random.Generator,
) -> IntArray:
    """Trips started per (day, zone): negative binomial around the modelled mean."""
    affinity = _weekend_affinity(layout, share)
    daily = (
        _BASE_TRIPS_PER_DAY
        * params.trips_scale
        / _climate_norm()
        * _DOW_FACTORS[calendar.dow]
        * _season_effect(calendar.doy)
        * _weather_effect(weather)
        * calendar.holiday_factor
        * calendar.growth
        * rng.lognormal(-0.5 * 0.08**2, 0.08, calendar.n)  # citywide day shock
    )
    zone_factor = np.where(calendar.day_off[:, None], affinity[None, :], 1.0)
    mean = daily[:, None] * share[None, :] * zone_factor
    k = params.dispersion
    counts: IntArray = rng.negative_binomial(k, k / (k + mean)).astype(np.int64)
    return counts
