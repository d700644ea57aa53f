"""The demand models: two baselines, a calendar-only GBM and the default global GBM.

Every model implements :class:`~fleetcast.forecasting.base.Forecaster`: ``fit`` on a
:class:`~fleetcast.forecasting.base.TrainingSet`, ``predict`` horizons 1..H from a (possibly
newer) set, ``params`` to log and rebuild it. Hyper-parameters live in a frozen, keyword-only
dataclass per model that checks itself, so ``make_model(name, **params)`` (for example from
``fleetcast.toml``) rejects nonsense with a ValueError naming every bad field.

- :class:`SeasonalNaive` ("seasonal_naive"): the same weekday a week before the target;
  quantiles from its own recent errors.
- :class:`StatsBaseline` ("ets"): statsforecast's ``AutoETS`` per zone (additive, weekly
  season) with its 80% prediction interval.
- :class:`CalendarGBM` ("calendar_gbm"): LightGBM (Poisson) on calendar and zone features
  only — the reference approach of public Chicago e-scooter demand studies.
- :class:`GlobalGBM` ("global_gbm", the default): one LightGBM model across all zones built
  with mlforecast: lags and rolling means of demand, calendar, holidays, weather and zone
  features; recursive multi-step forecasts; conformal quantiles.

Quantiles of both GBMs are *scaled residual quantiles*: signed errors on days the model did
not train on, divided by the count-data scale ``sqrt(mu + phi * mu**2)`` of the forecast
``mu`` (Poisson noise plus over-dispersion ``phi`` estimated from the same errors), pooled
over zones; the forecast quantile is ``mu + q * sqrt(mu + phi * mu**2)``, clipped at 0.
Pooling over zones gives hundreds of errors per horizon where a per-zone quantile would
have a handful, and the scale lets one distribution serve zones of 0.1 and 200 trips a day.
"""

from fleetcast.forecasting.models._common import FloatArray
from fleetcast.forecasting.models._quantiles import ScaledResidualQuantiles
from fleetcast.forecasting.models._registry import DEFAULT_MODEL, MODELS, make_model
from fleetcast.forecasting.models.calendar_gbm import (
    CALENDAR_GBM_FEATURES,
    CalendarGBM,
    CalendarGBMParams,
)
from fleetcast.forecasting.models.ets import StatsBaseline, StatsBaselineParams
from fleetcast.forecasting.models.global_gbm import GlobalGBM, GlobalGBMParams
from fleetcast.forecasting.models.seasonal_naive import SeasonalNaive, SeasonalNaiveParams

__all__ = [
    "CALENDAR_GBM_FEATURES",
    "DEFAULT_MODEL",
    "MODELS",
    "CalendarGBM",
    "CalendarGBMParams",
    "FloatArray",
    "GlobalGBM",
    "GlobalGBMParams",
    "ScaledResidualQuantiles",
    "SeasonalNaive",
    "SeasonalNaiveParams",
    "StatsBaseline",
    "StatsBaselineParams",
    "make_model",
]
