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

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol, Self

import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.errors import InsufficientHistoryError, UnknownZoneError
from fleetcast.forecasting import features as ft
from fleetcast.forecasting.base import QUANTILES, Forecaster, TrainingSet

if TYPE_CHECKING:
    import pandas as pd
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast

FloatArray = npt.NDArray[np.float64]

DEFAULT_MODEL: Final = "global_gbm"
"""The model a system forecasts with unless told otherwise."""

_INTERVAL_LEVEL: Final = round(100 * (QUANTILES[2] - QUANTILES[0]))
"""80: the central interval q10..q90 in the percent statsforecast / mlforecast expect."""


# --------------------------------------------------------------------------- validation


class _Problems:
    """Collects every problem with a parameter set, then raises them together."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.messages: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        """Record ``message`` unless ``ok``."""
        if not ok:
            self.messages.append(message)

    def integer(self, name: str, value: object, low: int, high: int | None = None) -> None:
        """``value`` must be an int (not a bool) in ``low..high``."""
        top = "" if high is None else f"..{high}"
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and value >= low and (high is None or value <= high)  # type: ignore[operator]
        self.check(ok, f"{name}={value!r} not understood: use an integer in {low}{top}")

    def number(
        self, name: str, value: object, low: float, high: float, *, open_low: bool = False
    ) -> None:
        """``value`` must be a finite real number in ``low..high`` (``low`` excluded if open)."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            v = float(value)  # type: ignore[arg-type]
            ok = math.isfinite(v) and (v > low if open_low else v >= low) and v <= high
        side = "(" if open_low else "["
        self.check(ok, f"{name}={value!r} not understood: use a number in {side}{low}, {high}]")

    def raise_if_any(self) -> None:
        """Raise ValueError listing every recorded problem."""
        if self.messages:
            raise ValueError(f"{self.model} parameters: " + "; ".join(self.messages))


def _int_tuple(value: object) -> tuple[int, ...] | object:
    """A list or tuple of ints as a tuple (TOML gives lists); anything else unchanged."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _positive_ints(problems: _Problems, name: str, value: object, high: int) -> None:
    """``value`` must be a tuple of distinct ints in ``1..high``."""
    ok = (
        isinstance(value, tuple)
        and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= high for v in value)
        and len(set(value)) == len(value)
    )
    problems.check(ok, f"{name}={value!r} not understood: use distinct integers in 1..{high}")


# --------------------------------------------------------------------------- shared helpers


def _history_days(train: TrainingSet) -> int:
    return (train.last_day - train.first_day).days + 1


def _require_history(model: str, train: TrainingSet, needed: int) -> None:
    """Raise InsufficientHistoryError unless ``train`` spans at least ``needed`` days."""
    available = _history_days(train)
    if available < needed:
        raise InsufficientHistoryError(
            f"{model} needs at least {needed} days of demand history; the training set has "
            f"{available} ({train.first_day} .. {train.last_day})"
        )


def _require_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon={horizon!r} not understood: use a whole number of days ≥ 1")


def _reject_unknown_zones(model: str, known: set[str], context: TrainingSet) -> None:
    unknown = sorted(set(context.zone_ids) - known)
    if unknown:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        raise UnknownZoneError(
            f"{model} was fitted without zone(s) {shown}: refit it on a training set that has them"
        )


def _dense_history(
    demand: pl.DataFrame, zone_ids: Sequence[str], first: date, last: date
) -> FloatArray:
    """Trips as a zones × days matrix over ``first..last``; days without a row are NaN."""
    days = pl.date_range(first, last, "1d", eager=True)
    grid = pl.DataFrame({"zone_id": list(zone_ids)}, schema={"zone_id": pl.String}).join(
        pl.DataFrame({"date": days}), how="cross"
    )
    values = (
        grid.join(
            demand.select("zone_id", "date", pl.col("trips").cast(pl.Float64)),
            on=["zone_id", "date"],
            how="left",
        )
        .sort("zone_id", "date")["trips"]
        .fill_null(float("nan"))
        .to_numpy()
    )
    order = sorted(zone_ids)
    matrix = values.reshape(len(order), len(days))
    # rows come sorted by zone id; put them back in the caller's order
    index = {z: i for i, z in enumerate(order)}
    return matrix[[index[z] for z in zone_ids]].astype(np.float64)


def _forecast_frame(
    zone_ids: Sequence[str],
    target_dates: Sequence[date],
    mean: FloatArray,
    q10: FloatArray,
    q50: FloatArray,
    q90: FloatArray,
) -> pl.DataFrame:
    """FORECAST_SCHEMA rows from zones × horizons arrays: clipped at 0 and put in order.

    Quantiles are sorted per row (a no-op for monotone inputs) so q10 ≤ q50 ≤ q90 holds
    after clipping; every value is clipped at 0 because demand cannot be negative.
    """
    n_zones, horizon = len(zone_ids), len(target_dates)
    stacked = np.sort(np.stack([q10, q50, q90]), axis=0).clip(min=0.0)
    return pl.DataFrame(
        {
            "zone_id": np.repeat(np.asarray(zone_ids, dtype=object), horizon).tolist(),
            "target_date": list(target_dates) * n_zones,
            "horizon": np.tile(np.arange(1, horizon + 1, dtype=np.int32), n_zones),
            "mean": mean.clip(min=0.0).ravel(),
            "q10": stacked[0].ravel(),
            "q50": stacked[1].ravel(),
            "q90": stacked[2].ravel(),
        },
        schema={
            "zone_id": pl.String,
            "target_date": pl.Date,
            "horizon": pl.Int32,
            "mean": pl.Float64,
            "q10": pl.Float64,
            "q50": pl.Float64,
            "q90": pl.Float64,
        },
    )


@dataclass(frozen=True, slots=True)
class ScaledResidualQuantiles:
    """Quantiles of signed forecast errors in count-data units, one row per horizon.

    ``quantiles[h - 1]`` holds the q10/q50/q90 of ``(y - mu) / sqrt(mu + phi * mu**2)`` at
    horizon h (the last row serves longer horizons); ``phi`` is the over-dispersion the
    errors show beyond Poisson noise, estimated by moments and never negative.
    """

    quantiles: FloatArray
    phi: float
    n_errors: int

    @classmethod
    def from_errors(cls, actual: FloatArray, forecast: FloatArray) -> Self:
        """Estimate from matching ``(n, H)`` arrays of actuals and out-of-sample forecasts."""
        mu = np.clip(forecast, 1e-9, None)
        excess = float(np.sum((actual - mu) ** 2 - mu))
        phi = max(excess / float(np.sum(mu**2)), 0.0)
        scaled = (actual - mu) / np.sqrt(mu + phi * mu**2)
        quantiles = np.quantile(scaled, QUANTILES, axis=0).T.astype(np.float64)
        return cls(quantiles=quantiles, phi=phi, n_errors=int(actual.size))

    def apply(self, mean: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """q10, q50, q90 for a zones × horizons array of forecasts (unclipped)."""
        horizon = mean.shape[1]
        rows = np.minimum(np.arange(horizon), len(self.quantiles) - 1)
        q = self.quantiles[rows]  # (H, 3)
        mu = np.clip(mean, 0.0, None)
        scale = np.sqrt(mu + self.phi * mu**2)
        lo, mid, hi = (mean + q[None, :, i] * scale for i in range(3))
        return lo, mid, hi


# --------------------------------------------------------------------------- seasonal naive


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


# --------------------------------------------------------------------------- ETS


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


# --------------------------------------------------------------------------- calendar GBM


@dataclass(frozen=True, kw_only=True, slots=True)
class _LightGBMParams:
    """LightGBM settings shared by both GBMs (see LightGBM's parameter docs).

    ``num_threads`` defaults to 1: LightGBM's OpenMP threads spin at every barrier, and on a
    2-core machine with one other busy process a 2-thread fit was measured 20x slower than
    a 1-thread one (66 s against 3 s). Raise it on an idle multi-core machine.
    """

    objective: str = "poisson"
    tweedie_variance_power: float = 1.2
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.9
    reg_lambda: float = 1.0
    max_bin: int = 255
    num_threads: int = 1
    seed: int = 0

    def _check_lightgbm(self, problems: _Problems) -> None:
        problems.check(
            self.objective in ("poisson", "tweedie"),
            f"objective={self.objective!r} not understood: use 'poisson' or 'tweedie'",
        )
        problems.number(
            "tweedie_variance_power", self.tweedie_variance_power, 1.0, 2.0, open_low=True
        )
        problems.integer("n_estimators", self.n_estimators, 1, 20_000)
        problems.number("learning_rate", self.learning_rate, 0.0, 1.0, open_low=True)
        problems.integer("num_leaves", self.num_leaves, 2, 131_072)
        problems.integer("min_child_samples", self.min_child_samples, 1, 1_000_000)
        problems.number("feature_fraction", self.feature_fraction, 0.0, 1.0, open_low=True)
        problems.number("bagging_fraction", self.bagging_fraction, 0.0, 1.0, open_low=True)
        problems.number("reg_lambda", self.reg_lambda, 0.0, 1e6)
        problems.integer("max_bin", self.max_bin, 3, 65_535)
        problems.integer("num_threads", self.num_threads, 1, 1024)
        problems.integer("seed", self.seed, 0, 2**31 - 1)

    def regressor(self) -> LGBMRegressor:
        """A fresh, deterministic LightGBM regressor with these settings."""
        from lightgbm import LGBMRegressor

        extra: dict[str, Any] = {}
        if self.objective == "tweedie":
            extra["tweedie_variance_power"] = self.tweedie_variance_power
        return LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            colsample_bytree=self.feature_fraction,
            subsample=self.bagging_fraction,
            subsample_freq=1 if self.bagging_fraction < 1.0 else 0,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            n_jobs=self.num_threads,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            verbosity=-1,
            **extra,
        )


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


# --------------------------------------------------------------------------- global GBM


@dataclass(frozen=True, kw_only=True, slots=True)
class GlobalGBMParams(_LightGBMParams):
    """mlforecast features and LightGBM settings of :class:`GlobalGBM`.

    ``lags``: days back of demand used as features; ``rolling_means``: (lag, window) pairs,
    each the mean of demand over ``window`` days ending ``lag`` days back;
    ``same_weekday_weeks``: mean of the same weekday over this many weeks ending a week back
    (0: off); ``use_weather`` / ``use_holidays``: exogenous features on or off;
    ``conformal_windows`` × ``conformal_horizon``: the newest days whose recursive forecasts
    (from a model fitted before them) calibrate the quantiles.
    """

    n_estimators: int = 200
    learning_rate: float = 0.1
    max_bin: int = 63
    lags: tuple[int, ...] = (1, 2, 7, 14, 21, 28)
    rolling_means: tuple[tuple[int, int], ...] = ((1, 7), (1, 28), (7, 7), (7, 28))
    same_weekday_weeks: int = 4
    use_weather: bool = True
    use_holidays: bool = True
    conformal_windows: int = 8
    conformal_horizon: int = 7
    min_train_days: int = 28

    def __post_init__(self) -> None:
        object.__setattr__(self, "lags", _int_tuple(self.lags))
        pairs = self.rolling_means
        if isinstance(pairs, list | tuple):
            object.__setattr__(self, "rolling_means", tuple(_int_tuple(p) for p in pairs))
        problems = _Problems("global_gbm")
        self._check_lightgbm(problems)
        _positive_ints(problems, "lags", self.lags, 366)
        problems.check(
            isinstance(self.lags, tuple) and len(self.lags) > 0,
            "lags=() not understood: a global model needs at least one lag",
        )
        ok = isinstance(self.rolling_means, tuple) and all(
            isinstance(p, tuple)
            and len(p) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
            and 1 <= p[0] <= 366
            and 2 <= p[1] <= 366
            for p in self.rolling_means
        )
        problems.check(
            ok,
            f"rolling_means={self.rolling_means!r} not understood: use (lag, window) pairs "
            "with lag 1..366 and window 2..366",
        )
        problems.integer("same_weekday_weeks", self.same_weekday_weeks, 0, 52)
        problems.check(isinstance(self.use_weather, bool), "use_weather must be true or false")
        problems.check(isinstance(self.use_holidays, bool), "use_holidays must be true or false")
        problems.integer("conformal_windows", self.conformal_windows, 2, 100)
        problems.integer("conformal_horizon", self.conformal_horizon, 1, 28)
        problems.integer("min_train_days", self.min_train_days, 7, 3650)
        problems.raise_if_any()

    @property
    def lookback_days(self) -> int:
        """The oldest day back any feature reads: what one forecast needs as history."""
        spans = [*self.lags, *(lag + window - 1 for lag, window in self.rolling_means)]
        if self.same_weekday_weeks:
            spans.append(7 * self.same_weekday_weeks + 6)
        return max(spans)


_ID, _TIME, _TARGET = "unique_id", "ds", "y"
_MODEL_KEY: Final = "lgbm"


class GlobalGBM:
    """One LightGBM model across all zones, with mlforecast features (the default model).

    Features: lags and rolling means of demand, the same-weekday mean, calendar and holiday
    flags (:mod:`fleetcast.forecasting.features`), the day's weather and yesterday's, and
    the zone (categorical code, area, distance to the centre, as static features).

    **Recursive strategy**: one model for every horizon; day 2 and later read the model's
    own forecasts in place of unknown demand, so no feature ever uses demand after the
    issue date − 1. (mlforecast's direct strategy scores every horizon's model with the first
    future day's exogenous values, which would give day 3 the weather of day 1.)

    **Quantiles**: split-conformal on :meth:`MLForecast.cross_validation` (``refit=False``:
    one model fitted before the newest ``conformal_windows × conformal_horizon`` days
    forecasts each window recursively), as scaled residual quantiles per horizon (module
    doc). mlforecast's own ``predict(level=...)`` cannot be used with a new history: it
    then recalibrates by re-forecasting windows of ``new_df`` without ``X_df``.

    **Weather ahead**: the target days' rows of ``context.weather``; days without a row get
    climatology and :attr:`last_weather_note` says which.
    """

    name: str = "global_gbm"

    def __init__(self, params: GlobalGBMParams | None = None) -> None:
        """A global GBM with ``params`` (defaults if None)."""
        self.config = params or GlobalGBMParams()
        self._fcst: MLForecast | None = None
        self._codes: dict[str, int] = {}
        self._residuals: ScaledResidualQuantiles | None = None
        self._uses_weather = self.config.use_weather
        self.last_weather_note: str | None = None
        """Set by each fit/predict: which days' weather came from climatology, or None."""

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """Build from keyword parameters (as :meth:`params` returns them)."""
        return cls(GlobalGBMParams(**params))

    def params(self) -> dict[str, object]:
        """The hyper-parameters, enough to rebuild this model with :func:`make_model`."""
        return asdict(self.config)

    @property
    def mlforecast(self) -> MLForecast:
        """The fitted mlforecast pipeline (for inspection: features, booster)."""
        if self._fcst is None:
            raise RuntimeError(f"{self.name}: call fit before using the fitted pipeline")
        return self._fcst

    @property
    def min_history_days(self) -> int:
        """Feature lookback + ``min_train_days`` to learn from + the conformal windows."""
        c = self.config
        return c.lookback_days + c.min_train_days + c.conformal_windows * c.conformal_horizon

    # -- frames -------------------------------------------------------------------------

    def _weather(self, data: TrainingSet, days: Sequence[date]) -> pl.DataFrame | None:
        """Weather rows for ``days`` and the day before each (climatology where missing);
        records the days filled in :attr:`last_weather_note`. None when weather is off."""
        if not self._uses_weather:
            self.last_weather_note = (
                "no weather was observed before the fit: the model forecasts without weather"
                if self.config.use_weather
                else None
            )
            return None
        completed = ft.complete_weather(data.weather, days, history_until=data.last_day)
        self.last_weather_note = completed.note
        return completed.frame

    def _exogenous(
        self, rows: pl.DataFrame, data: TrainingSet, weather: pl.DataFrame | None
    ) -> pl.DataFrame:
        """Calendar, holiday, weather and zone features of (zone_id, date) ``rows``."""
        out = ft.add_calendar_features(rows)
        if self.config.use_holidays:
            out = ft.add_holiday_features(out, data.holidays)
        if weather is not None:
            out = ft.add_weather_features(out, weather)
        return ft.add_zone_features(out, data.zones, self._codes)

    def _to_pandas(self, frame: pl.DataFrame) -> pd.DataFrame:
        """mlforecast's column names and a pandas categorical zone code LightGBM detects."""
        import pandas as pd

        out = frame.rename({"zone_id": _ID, "date": _TIME}).to_pandas()
        out[_TIME] = out[_TIME].astype("datetime64[ns]")
        if "zone_code" in out.columns:
            out["zone_code"] = pd.Categorical(
                out["zone_code"], categories=list(range(len(self._codes)))
            )
        return out

    def _frames(
        self, data: TrainingSet, *, first: date, targets: Sequence[date] = ()
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """mlforecast's history frame from ``first`` on and the exogenous rows of ``targets``
        (None without targets), built by one set of feature functions."""
        demand = data.demand.filter(pl.col("date") >= first).select(
            "zone_id", "date", pl.col("trips").cast(pl.Float64).alias(_TARGET)
        )
        days = sorted({*demand["date"].unique().to_list(), *targets})
        weather = self._weather(data, days)
        history = self._to_pandas(self._exogenous(demand, data, weather).sort("zone_id", "date"))
        if not targets:
            return history, None
        future = pl.DataFrame({"zone_id": data.zone_ids}).join(
            pl.DataFrame({"date": list(targets)}), how="cross"
        )
        future = self._exogenous(future, data, weather).drop(ft.ZONE_FEATURES)
        return history, self._to_pandas(future.sort("zone_id", "date"))

    def _pipeline(self) -> MLForecast:
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

        c = self.config
        transforms: dict[int, list[Any]] = {}
        for lag, window in c.rolling_means:
            transforms.setdefault(lag, []).append(RollingMean(window_size=window))
        if c.same_weekday_weeks:
            transforms.setdefault(7, []).append(
                SeasonalRollingMean(season_length=7, window_size=c.same_weekday_weeks)
            )
        return MLForecast(
            models={_MODEL_KEY: c.regressor()},
            freq="D",
            lags=list(c.lags),
            lag_transforms=transforms,
            num_threads=1,
        )

    # -- fit / predict --------------------------------------------------------------------

    def fit(self, train: TrainingSet) -> Self:
        """Calibrate the conformal quantiles, then fit the model on all of ``train``."""
        _require_history(self.name, train, self.min_history_days)
        self._codes = ft.zone_codes(train.zone_ids)
        observed = train.weather.filter(pl.col("date") <= train.last_day)
        self._uses_weather = self.config.use_weather and not observed.is_empty()
        df, _ = self._frames(train, first=train.first_day)
        c = self.config
        static = list(ft.ZONE_FEATURES)
        cv = self._pipeline().cross_validation(
            df,
            n_windows=c.conformal_windows,
            h=c.conformal_horizon,
            refit=False,
            static_features=static,
        )
        self._residuals = self._conformal(cv)
        fcst = self._pipeline()
        fcst.fit(df, static_features=static)
        self._fcst = fcst
        return self

    def _conformal(self, cv: pd.DataFrame) -> ScaledResidualQuantiles:
        """Scaled residual quantiles per horizon from cross-validation forecasts."""
        cv = cv.sort_values(["cutoff", _ID, _TIME])
        step = (cv[_TIME] - cv["cutoff"]).dt.days.to_numpy() - 1
        horizon = self.config.conformal_horizon
        actual = cv[_TARGET].to_numpy(dtype=np.float64).reshape(-1, horizon)
        forecast = cv[_MODEL_KEY].to_numpy(dtype=np.float64).reshape(-1, horizon)
        assert (step.reshape(-1, horizon) == np.arange(horizon)).all()
        return ScaledResidualQuantiles.from_errors(actual, forecast)

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """Recursive forecasts from ``context``'s newest history, with conformal quantiles."""
        _require_horizon(horizon)
        if self._fcst is None or self._residuals is None:
            raise RuntimeError(f"{self.name}: call fit before predict")
        _reject_unknown_zones(self.name, set(self._codes), context)
        needed = self.config.lookback_days + 1
        _require_history(self.name + " (forecast)", context, needed)
        zones, days = context.zone_ids, context.target_dates(horizon)
        first = context.last_day - timedelta(days=needed + 6)
        history, future = self._frames(context, first=first, targets=days)
        preds = self._fcst.predict(h=horizon, new_df=history, X_df=future)
        preds = preds.sort_values([_ID, _TIME])
        mean = preds[_MODEL_KEY].to_numpy(dtype=np.float64).reshape(len(zones), horizon)
        lo, mid, hi = self._residuals.apply(mean)
        return _forecast_frame(zones, days, mean, lo, mid, hi)


# --------------------------------------------------------------------------- registry


class _Buildable(Forecaster, Protocol):
    @classmethod
    def from_params(cls, **params: Any) -> Self: ...


MODELS: Final[dict[str, type[_Buildable]]] = {
    SeasonalNaive.name: SeasonalNaive,
    StatsBaseline.name: StatsBaseline,
    CalendarGBM.name: CalendarGBM,
    GlobalGBM.name: GlobalGBM,
}
"""Every model by name, as ``make_model`` and ``fleetcast.toml`` know them."""


def make_model(name: str, **params: Any) -> Forecaster:
    """The model called ``name`` with ``params`` (defaults for the rest).

    Raises ValueError for an unknown name (listing the known ones) or bad parameters.
    """
    cls = MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}: use one of {', '.join(MODELS)}")
    return cls.from_params(**params)
