"""The ETS baseline ("ets"): statsforecast's ``AutoETS`` per zone."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Final, Self

import numpy as np
import polars as pl

from fleetcast.forecasting.base import QUANTILES, TrainingSet
from fleetcast.forecasting.models._common import FloatArray, _Problems
from fleetcast.forecasting.models._frames import (
    _dense_history,
    _forecast_frame,
    _require_history,
    _require_horizon,
)

_INTERVAL_LEVEL: Final = round(100 * (QUANTILES[2] - QUANTILES[0]))
"""80: the central interval q10..q90 in the percent statsforecast / mlforecast expect."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StatsBaselineParams:
    """``model``: statsforecast ETS code (error, trend, season; additive ``A``, none ``N`` or
    automatic ``Z``; multiplicative terms fail on zero counts); ``season_length`` in days;
    ``history_days``: the most recent days each zone's model is fitted on and filtered
    over (older days change little and cost time)."""

    model: str = "ANA"
    season_length: int = 7
    history_days: int = 365

    def __post_init__(self) -> None:
        problems = _Problems("ets")
        ok = (
            isinstance(self.model, str)
            and len(self.model) == 3
            and self.model[0] in "AZ"
            and all(c in "ANZ" for c in self.model[1:])
        )
        problems.check(
            ok, f"model={self.model!r} not understood: use an additive ETS code such as 'ANA'"
        )
        problems.integer("season_length", self.season_length, 1, 366)
        problems.integer("history_days", self.history_days, 28, 10_000)
        problems.raise_if_any()


class StatsBaseline:
    """Exponential smoothing per zone with statsforecast's ``AutoETS`` (default ``ANA``:
    additive error and weekly season, no trend), point forecast as q50 and mean, its
    analytic 80% interval as q10..q90, all clipped at 0.

    ``fit`` estimates each zone's parameters; ``predict`` runs the fitted model's filter over
    the newest history of the context (``forward``: no re-estimation), and fits zones it has
    not seen on the fly, so any zone with four weeks of history can be forecast.
    """

    name: str = "ets"

    def __init__(self, params: StatsBaselineParams | None = None) -> None:
        """An ETS baseline with ``params`` (defaults if None)."""
        self.config = params or StatsBaselineParams()
        self._fitted: dict[str, Any] = {}

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """Build from keyword parameters (as :meth:`params` returns them)."""
        return cls(StatsBaselineParams(**params))

    def params(self) -> dict[str, object]:
        """The hyper-parameters, enough to rebuild this model with :func:`make_model`."""
        return asdict(self.config)

    @property
    def min_history_days(self) -> int:
        """Four seasons (at least 28 days): fewer leave ETS more parameters than data."""
        return max(4 * self.config.season_length, 28)

    def _spec(self) -> Any:
        from statsforecast.models import AutoETS

        return AutoETS(season_length=self.config.season_length, model=self.config.model)

    def _series(self, data: TrainingSet) -> dict[str, FloatArray]:
        first = max(data.first_day, data.last_day - timedelta(days=self.config.history_days - 1))
        zones = data.zone_ids
        y = _dense_history(data.demand, zones, first, data.last_day)
        return {z: row[~np.isnan(row)] for z, row in zip(zones, y, strict=True)}

    def fit(self, train: TrainingSet) -> Self:
        """Estimate one ETS model per zone on its last ``history_days`` days."""
        _require_history(self.name, train, self.min_history_days)
        self._fitted = {zone: self._spec().fit(y) for zone, y in self._series(train).items()}
        return self

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """Forecast every zone of ``context`` from its newest history with the fitted ETS."""
        _require_horizon(horizon)
        _require_history(self.name, context, self.min_history_days)
        zones = context.zone_ids
        mean = np.zeros((len(zones), horizon))
        lo, hi = np.zeros_like(mean), np.zeros_like(mean)
        level = [_INTERVAL_LEVEL]
        for i, (zone, y) in enumerate(self._series(context).items()):
            fitted = self._fitted.get(zone)
            if fitted is not None:
                res = fitted.forward(y=y, h=horizon, level=level)
            else:
                res = self._spec().forecast(y=y, h=horizon, level=level)
            mean[i] = res["mean"]
            lo[i] = res[f"lo-{_INTERVAL_LEVEL}"]
            hi[i] = res[f"hi-{_INTERVAL_LEVEL}"]
        return _forecast_frame(zones, context.target_dates(horizon), mean, lo, mean, hi)
