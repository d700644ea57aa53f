"""The calendar GBM ("calendar_gbm"): LightGBM on calendar and zone features only."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, Self

import numpy as np
import polars as pl

from fleetcast.forecasting import features as ft
from fleetcast.forecasting.base import TrainingSet
from fleetcast.forecasting.models._common import FloatArray, _Problems
from fleetcast.forecasting.models._frames import (
    _forecast_frame,
    _reject_unknown_zones,
    _require_history,
    _require_horizon,
)
from fleetcast.forecasting.models._lightgbm import _LightGBMParams
from fleetcast.forecasting.models._quantiles import ScaledResidualQuantiles

if TYPE_CHECKING:
    from lightgbm import LGBMRegressor


@dataclass(frozen=True, kw_only=True, slots=True)
class CalendarGBMParams(_LightGBMParams):
    """LightGBM settings, and ``holdout_days``: the newest days held out once per fit to
    calibrate the residual quantiles before the final model is trained on everything."""

    n_estimators: int = 200
    learning_rate: float = 0.08
    holdout_days: int = 28

    def __post_init__(self) -> None:
        problems = _Problems("calendar_gbm")
        self._check_lightgbm(problems)
        problems.integer("holdout_days", self.holdout_days, 7, 366)
        problems.raise_if_any()


CALENDAR_GBM_FEATURES: Final = (*ft.CALENDAR_FEATURES, *ft.ZONE_FEATURES)
"""The only inputs of :class:`CalendarGBM`: calendar and zone, no demand, no weather."""


class CalendarGBM:
    """LightGBM (Poisson) on calendar and zone features only: day of year, weekday, weekend,
    ISO week, month, the zone as a categorical, its area and distance to the centre.

    No lags and no weather: what a model learns from the calendar alone. Quantiles are
    scaled residual quantiles (see the module doc) from a hold-out of the newest
    ``holdout_days`` days, fitted once per ``fit`` before the final model.
    """

    name: str = "calendar_gbm"

    def __init__(self, params: CalendarGBMParams | None = None) -> None:
        """A calendar GBM with ``params`` (defaults if None)."""
        self.config = params or CalendarGBMParams()
        self._model: LGBMRegressor | None = None
        self._codes: dict[str, int] = {}
        self._residuals: ScaledResidualQuantiles | None = None

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """Build from keyword parameters (as :meth:`params` returns them)."""
        return cls(CalendarGBMParams(**params))

    def params(self) -> dict[str, object]:
        """The hyper-parameters, enough to rebuild this model with :func:`make_model`."""
        return asdict(self.config)

    @property
    def min_history_days(self) -> int:
        """The hold-out plus four weeks to learn from."""
        return self.config.holdout_days + 28

    def _features(self, rows: pl.DataFrame, zones: pl.DataFrame) -> FloatArray:
        frame = ft.add_zone_features(ft.add_calendar_features(rows), zones, self._codes)
        return frame.select(CALENDAR_GBM_FEATURES).cast(pl.Float64).to_numpy()

    def _train(self, x: FloatArray, y: FloatArray) -> LGBMRegressor:
        model = self.config.regressor()
        model.fit(x, y, categorical_feature=[CALENDAR_GBM_FEATURES.index("zone_code")])
        return model

    def fit(self, train: TrainingSet) -> Self:
        """Calibrate residual quantiles on the hold-out, then train on all of ``train``."""
        _require_history(self.name, train, self.min_history_days)
        self._codes = ft.zone_codes(train.zone_ids)
        rows = train.demand.select("zone_id", "date", pl.col("trips").cast(pl.Float64))
        rows = rows.sort("zone_id", "date")
        x = self._features(rows, train.zones)
        y = rows["trips"].to_numpy()
        cut = train.last_day - timedelta(days=self.config.holdout_days)
        held = (rows["date"] > cut).to_numpy()
        early = self._train(x[~held], y[~held])
        self._residuals = ScaledResidualQuantiles.from_errors(
            y[held][:, None], np.asarray(early.predict(x[held]), dtype=np.float64)[:, None]
        )
        self._model = self._train(x, y)
        return self

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """Mean and quantiles for every zone of ``context`` over its next ``horizon`` days."""
        _require_horizon(horizon)
        if self._model is None or self._residuals is None:
            raise RuntimeError(f"{self.name}: call fit before predict")
        _reject_unknown_zones(self.name, set(self._codes), context)
        zones, days = context.zone_ids, context.target_dates(horizon)
        rows = pl.DataFrame({"zone_id": zones}).join(pl.DataFrame({"date": days}), how="cross")
        rows = rows.sort("zone_id", "date")
        mean = np.asarray(
            self._model.predict(self._features(rows, context.zones)), dtype=np.float64
        )
        mean = mean.reshape(len(zones), horizon)
        lo, mid, hi = self._residuals.apply(mean)
        return _forecast_frame(zones, days, mean, lo, mid, hi)
