"""Daily weather: a Chicago-like climate with persistent anomalies and wet spells."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcast import domain
from fleetcast.sources.synthetic.arrays import FloatArray
from fleetcast.sources.synthetic.params import SYSTEM_ID
from fleetcast.sources.synthetic.period import _Calendar


@dataclass(frozen=True, slots=True)
class _Weather:
    temp_max_c: FloatArray
    temp_min_c: FloatArray
    precip_mm: FloatArray
    wind_max_kmh: FloatArray


def _climate_temp_max(doy: FloatArray) -> FloatArray:
    """Chicago-like mean daily maximum: about -1 °C late January, 29 °C late July."""
    return 14.0 - 14.8 * np.cos(2 * np.pi * (doy - 20) / 365.25)


def _simulate_weather(calendar: _Calendar, *, rng: np.random.Generator) -> _Weather:
    """Daily weather: AR(1) temperature anomalies around a yearly cycle, Markov wet days."""
    n = calendar.n
    phase = -np.cos(2 * np.pi * (calendar.doy - 20) / 365.25)  # -1 in winter, +1 in summer
    tmax_clim = _climate_temp_max(calendar.doy)
    tmin_clim = 5.8 - 13.8 * np.cos(2 * np.pi * (calendar.doy - 20) / 365.25)
    anomaly_sd = 4.5 - 1.5 * phase
    innovations = rng.normal(0.0, 1.0, n)
    uniforms = rng.random(n)
    anomaly = np.empty(n)
    wet = np.empty(n, dtype=bool)
    phi = 0.75
    previous_anomaly = innovations[0]
    previous_wet = bool(uniforms[0] < 0.33)
    for i in range(n):
        previous_anomaly = phi * previous_anomaly + math.sqrt(1 - phi**2) * innovations[i]
        anomaly[i] = previous_anomaly
        p_wet = 0.5 if previous_wet else 0.24 + 0.04 * phase[i]
        previous_wet = bool(uniforms[i] < p_wet)
        wet[i] = previous_wet
    amount = rng.gamma(0.75, 8.0 + 3.0 * (phase + 1) / 2)
    precip = np.where(wet, np.maximum(np.round(amount, 1), 0.1), 0.0)
    tmax = tmax_clim + anomaly * anomaly_sd - 1.5 * wet + rng.normal(0.0, 1.0, n)
    tmin = tmin_clim + anomaly * anomaly_sd + 1.0 * wet + rng.normal(0.0, 1.0, n)
    tmin = np.minimum(tmin, tmax - 1.0)
    wind_mean = 20.0 - 4.0 * phase + 6.0 * wet
    wind = rng.gamma(8.0, wind_mean / 8.0)
    return _Weather(
        temp_max_c=np.round(tmax, 1),
        temp_min_c=np.round(tmin, 1),
        precip_mm=precip,
        wind_max_kmh=np.round(wind, 1),
    )


def _weather_frame(calendar: _Calendar, weather: _Weather) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "system_id": SYSTEM_ID,
            "date": pl.Series(calendar.dates).cast(pl.Date),
            "temp_max_c": weather.temp_max_c,
            "temp_min_c": weather.temp_min_c,
            "precip_mm": weather.precip_mm,
            "wind_max_kmh": weather.wind_max_kmh,
            "kind": "observed",
        }
    )
    return domain.conform(frame, domain.WEATHER_DAILY)
