"""The global GBM ("global_gbm", the default): one LightGBM model across all zones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final, Self

import numpy as np
import polars as pl

from fleetcast.forecasting import features as ft
from fleetcast.forecasting.base import TrainingSet
from fleetcast.forecasting.models._common import _int_tuple, _positive_ints, _Problems
from fleetcast.forecasting.models._frames import (
    _forecast_frame,
    _reject_unknown_zones,
    _require_history,
    _require_horizon,
)
from fleetcast.forecasting.models._lightgbm import _LightGBMParams
from fleetcast.forecasting.models._quantiles import ScaledResidualQuantiles

if TYPE_CHECKING:
    import pandas as pd
    from mlforecast import MLForecast


@dataclass(frozen=True, kw_only=True, slots=True)
class GlobalGBMParams(_LightGBMParams):
    """mlforecast features and LightGBM settings of :class:`GlobalGBM`.

    ``lags``: days back of demand used as features; ``rolling_means``: (lag, window) pairs,
    each the mean of demand over ``window`` days ending ``lag`` days back;
    ``same_weekday_weeks``: mean of the same weekday over this many weeks ending a week back
    (0: off); ``use_weather`` / ``use_holidays`` / ``use_arrivals``: exogenous features on or
    off (arrivals are used only when the training set has some before its last day);
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
    use_arrivals: bool = True
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
        problems.check(isinstance(self.use_arrivals, bool), "use_arrivals must be true or false")
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

    **Airport arrivals** (when the training set has them): the day's flights landed at the
    system's airports, the published schedule for the days ahead; days without a row get the
    same weekday's mean. Without arrivals the model and its forecasts are as before.
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
        self._uses_arrivals = False
        self.last_arrivals_note: str | None = None
        """Set by each fit/predict: which days' arrivals were filled, or None."""

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

    def _arrivals(self, data: TrainingSet, days: Sequence[date]) -> pl.DataFrame | None:
        """Arrivals for ``days`` (weekday means where missing), or None when not used.

        ``getattr``: models pickled before arrivals existed load without the attribute."""
        self.last_arrivals_note = None
        if not getattr(self, "_uses_arrivals", False):
            return None
        stored = data.arrivals
        if stored is None:
            stored = pl.DataFrame(schema={"date": pl.Date, "arrivals": pl.Float64})
        completed = ft.complete_arrivals(stored, days, history_until=data.last_day)
        self.last_arrivals_note = completed.note
        return completed.frame

    def _exogenous(
        self,
        rows: pl.DataFrame,
        data: TrainingSet,
        weather: pl.DataFrame | None,
        arrivals: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Calendar, holiday, weather, arrival and zone features of (zone_id, date) ``rows``."""
        out = ft.add_calendar_features(rows)
        if self.config.use_holidays:
            out = ft.add_holiday_features(out, data.holidays)
        if weather is not None:
            out = ft.add_weather_features(out, weather)
        if arrivals is not None:
            out = ft.add_arrival_features(out, arrivals)
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
        arrivals = self._arrivals(data, days)
        history = self._to_pandas(
            self._exogenous(demand, data, weather, arrivals).sort("zone_id", "date")
        )
        if not targets:
            return history, None
        future = pl.DataFrame({"zone_id": data.zone_ids}).join(
            pl.DataFrame({"date": list(targets)}), how="cross"
        )
        future = self._exogenous(future, data, weather, arrivals).drop(ft.ZONE_FEATURES)
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
        self._uses_arrivals = (
            self.config.use_arrivals
            and train.arrivals is not None
            and not train.arrivals.filter(pl.col("date") <= train.last_day).is_empty()
        )
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
