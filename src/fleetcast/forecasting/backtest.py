"""Rolling-origin backtests: the model sees only what was known on each issue date.

For every issue date in the evaluation window the model forecasts horizons 1..H from the
demand up to the day before; it is refitted every ``refit_every`` days on the data known at
the refit date. Folds are never shuffled: time only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from time import perf_counter

import polars as pl

from fleetcast.forecasting.base import Forecaster, TrainingSet, check_forecast

Progress = Callable[[str, int, int], None]
"""progress(model_name, issue dates done, issue dates in all)."""


@dataclass(frozen=True, slots=True)
class Window:
    """The evaluation window: issue dates ``first_issue`` .. ``last_issue``, horizons 1..H."""

    first_issue: date
    last_issue: date
    horizon: int = 3
    refit_every: int = 7

    def __post_init__(self) -> None:
        if self.last_issue < self.first_issue:
            raise ValueError("the window ends before it starts")
        if not 1 <= self.horizon <= 28:
            raise ValueError(f"horizon {self.horizon} not understood: use 1..28 days")
        if self.refit_every < 1:
            raise ValueError("refit_every must be at least 1 day")

    @classmethod
    def last_weeks(
        cls, last_day: date, *, weeks: int = 8, horizon: int = 3, refit_every: int = 7
    ) -> Window:
        """The last ``weeks`` weeks of history as issue dates (targets never pass last_day)."""
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        return cls(last_day - timedelta(days=7 * weeks - 1), last_day, horizon, refit_every)

    def issue_dates(self) -> list[date]:
        """Every issue date in the window."""
        n = (self.last_issue - self.first_issue).days + 1
        return [self.first_issue + timedelta(days=i) for i in range(n)]

    def schedule(self) -> list[tuple[date, list[date]]]:
        """(refit date, issue dates forecast with that fit): a refit on each period's first day."""
        days = self.issue_dates()
        return [
            (days[i], days[i : i + self.refit_every]) for i in range(0, len(days), self.refit_every)
        ]


@dataclass(frozen=True)
class BacktestResult:
    """Forecasts next to actuals, and the metrics per model and horizon (overall, per zone)."""

    window: Window
    predictions: pl.DataFrame
    metrics: pl.DataFrame
    zone_metrics: pl.DataFrame
    seconds: dict[str, float]

    def wape(self, model: str) -> float:
        """The model's WAPE over all horizons of the window (sum |error| / sum actuals)."""
        rows = self.predictions.filter(pl.col("model") == model)
        if rows.is_empty():
            raise KeyError(f"no backtest of model {model!r}")
        return _wape(rows)


def _wape(rows: pl.DataFrame) -> float:
    total = float(rows["actual"].sum())
    error = float((rows["actual"] - rows["mean"]).abs().sum())
    return error / total if total > 0 else float("nan")


def run_backtest(
    data: TrainingSet,
    models: Sequence[Forecaster],
    *,
    window: Window,
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest each model over ``window`` on ``data`` (which must cover the window's days)."""
    if window.first_issue <= data.first_day:
        raise ValueError(
            f"the window starts {window.first_issue}, but history starts {data.first_day}: "
            "nothing to learn from"
        )
    if window.last_issue > data.last_day:
        raise ValueError(
            f"the window ends {window.last_issue}, after the last actual {data.last_day}"
        )
    actuals = data.demand.select(
        "zone_id", pl.col("date").alias("target_date"), pl.col("trips").alias("actual")
    )
    frames: list[pl.DataFrame] = []
    seconds: dict[str, float] = {}
    total = len(window.issue_dates())
    for model in models:
        began = perf_counter()
        done = 0
        for refit, issues in window.schedule():
            model.fit(data.until(refit - timedelta(days=1)))
            for issue in issues:
                context = data.until(issue - timedelta(days=1))
                forecast = check_forecast(
                    model.predict(context, horizon=window.horizon), context, window.horizon
                )
                frames.append(
                    forecast.filter(pl.col("target_date") <= window.last_issue).with_columns(
                        pl.lit(model.name).alias("model"),
                        pl.lit(refit).alias("refit_date"),
                        pl.lit(issue).alias("issued_on"),
                    )
                )
                done += 1
                if progress is not None:
                    progress(model.name, done, total)
        seconds[model.name] = perf_counter() - began
    predictions = pl.concat(frames).join(actuals, on=["zone_id", "target_date"], how="left")
    missing = predictions["actual"].null_count()
    if missing:
        raise ValueError(f"{missing} forecast rows have no actual in the data")
    return BacktestResult(
        window=window,
        predictions=predictions,
        metrics=metrics(predictions, by=["model", "horizon"]),
        zone_metrics=metrics(predictions, by=["model", "horizon", "zone_id"]),
        seconds=seconds,
    )


def pinball(actual: pl.Expr, quantile: pl.Expr, q: float) -> pl.Expr:
    """Pinball (quantile) loss of one quantile forecast."""
    diff = actual - quantile
    return pl.max_horizontal(q * diff, (q - 1) * diff)


def metrics(predictions: pl.DataFrame, *, by: list[str]) -> pl.DataFrame:
    """MAE, RMSE, WAPE, bias, mean pinball loss (q10/q50/q90) and 80% coverage per group.

    ``bias`` is sum(forecast - actual) / sum(actual): positive means over-forecasting.
    """
    y, f = pl.col("actual").cast(pl.Float64), pl.col("mean")
    error = f - y
    return (
        predictions.group_by(by)
        .agg(
            pl.len().alias("n"),
            error.abs().mean().alias("mae"),
            error.pow(2).mean().sqrt().alias("rmse"),
            (error.abs().sum() / y.sum()).alias("wape"),
            (error.sum() / y.sum()).alias("bias"),
            (
                (
                    pinball(y, pl.col("q10"), 0.1)
                    + pinball(y, pl.col("q50"), 0.5)
                    + pinball(y, pl.col("q90"), 0.9)
                )
                / 3
            )
            .mean()
            .alias("pinball"),
            ((y >= pl.col("q10")) & (y <= pl.col("q90"))).mean().alias("coverage_80"),
        )
        .with_columns(pl.col("wape", "bias").fill_nan(None))
        .sort(by)
    )
