"""The seasonal naive baseline ("seasonal_naive")."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Final, Self

import numpy as np
import polars as pl

from fleetcast.errors import InsufficientHistoryError
from fleetcast.forecasting.base import QUANTILES, TrainingSet
from fleetcast.forecasting.models._common import FloatArray, _Problems
from fleetcast.forecasting.models._frames import (
    _dense_history,
    _forecast_frame,
    _require_history,
    _require_horizon,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class SeasonalNaiveParams:
    """``error_weeks``: weeks of recent errors y(t) - y(t-7) the quantiles come from;
    ``min_errors``: a zone with fewer errors than this uses the errors of all zones, scaled
    by each zone's mean demand."""

    error_weeks: int = 8
    min_errors: int = 28

    def __post_init__(self) -> None:
        problems = _Problems("seasonal_naive")
        problems.integer("error_weeks", self.error_weeks, 1, 520)
        problems.integer("min_errors", self.min_errors, 1, 10_000)
        problems.raise_if_any()


class SeasonalNaive:
    """The same weekday one week before the target: ``y(t - 7)``, known at issue time for
    horizons up to 7 (longer horizons step back whole weeks). Quantiles add the empirical
    quantiles of the zone's own past errors ``y(t) - y(t - 7)`` over the last few weeks.

    Nothing is learnt: ``fit`` only checks the history is long enough, and ``predict`` reads
    the newest demand from its context, so it forecasts any zone with a week of history.
    """

    name: str = "seasonal_naive"
    MIN_HISTORY_DAYS: Final = 14

    def __init__(self, params: SeasonalNaiveParams | None = None) -> None:
        """A seasonal naive model with ``params`` (defaults if None)."""
        self.config = params or SeasonalNaiveParams()

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """Build from keyword parameters (as :meth:`params` returns them)."""
        return cls(SeasonalNaiveParams(**params))

    def params(self) -> dict[str, object]:
        """The hyper-parameters, enough to rebuild this model with :func:`make_model`."""
        return asdict(self.config)

    def fit(self, train: TrainingSet) -> Self:
        """Check ``train`` has the two weeks of history the model and its errors need."""
        _require_history(self.name, train, self.MIN_HISTORY_DAYS)
        return self

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """``y(t - 7k)`` for every zone of ``context``, with error quantiles, clipped at 0."""
        _require_horizon(horizon)
        _require_history(self.name, context, self.MIN_HISTORY_DAYS)
        zones = context.zone_ids
        weeks_back = math.ceil(horizon / 7)
        span = max(7 * weeks_back, 7 * self.config.error_weeks + 7)
        first = max(context.first_day, context.last_day - timedelta(days=span - 1))
        y = _dense_history(context.demand, zones, first, context.last_day)
        n_days = y.shape[1]
        base_idx = [n_days - 1 - (7 * math.ceil((k + 1) / 7) - (k + 1)) for k in range(horizon)]
        point = y[:, base_idx]  # y(t - 7k): index of the last same weekday in history
        missing = [z for z, row in zip(zones, point, strict=True) if np.isnan(row).any()]
        if missing:
            raise InsufficientHistoryError(
                f"{self.name} needs each zone's demand on the same weekday last week; missing "
                f"for {', '.join(missing[:20])}"
            )
        window = min(7 * self.config.error_weeks, n_days - 7)
        errors = y[:, n_days - window :] - y[:, n_days - window - 7 : n_days - 7]
        q = self._error_quantiles(errors, y[:, n_days - window :])
        lo, mid, hi = (point + q[:, i : i + 1] for i in range(3))
        return _forecast_frame(zones, context.target_dates(horizon), point, lo, mid, hi)

    def _error_quantiles(self, errors: FloatArray, recent: FloatArray) -> FloatArray:
        """Per zone q10/q50/q90 of its errors; pooled scaled errors for zones with too few."""
        counts = np.sum(~np.isnan(errors), axis=1)
        out = np.zeros((errors.shape[0], 3))
        own = counts >= self.config.min_errors
        if own.any():
            out[own] = np.nanquantile(errors[own], QUANTILES, axis=1).T
        if (~own).any():
            level = np.nan_to_num(np.nanmean(recent, axis=1), nan=0.0) + 1.0
            relative = errors / level[:, None]
            pooled = relative[~np.isnan(relative)]
            if pooled.size:
                rel_q = np.quantile(pooled, QUANTILES)
                out[~own] = level[~own, None] * rel_q[None, :]
        return out
