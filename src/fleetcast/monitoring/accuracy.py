"""Forecast accuracy as actuals arrive, and the rule that calls it degraded.

Pure functions over Polars frames: issued forecasts (the ``forecasts`` table's columns) are
joined with daily demand; MAE, WAPE, bias and 10-90% interval coverage are computed per
target day, horizon, zone and model version, and over all zones (``zone_id`` ``'*'``). The
:class:`AlertRule` compares the all-zone WAPE with the backtest's WAPE of the same model and
horizon: more than ``wape_ratio`` times it on ``consecutive_days`` days in a row, ending on the
newest day with actuals, marks the system degraded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import polars as pl

ALL_ZONES = "*"
"""``zone_id`` of the rows that aggregate every zone."""

KEYS = ("target_date", "horizon", "zone_id", "model_version")
"""The key of one accuracy row."""

ACCURACY_SCHEMA: dict[str, pl.DataType] = {
    "target_date": pl.Date(),
    "horizon": pl.Int32(),
    "zone_id": pl.String(),
    "model_version": pl.String(),
    "issued_on": pl.Date(),
    "n": pl.Int64(),
    "actual": pl.Float64(),
    "forecast": pl.Float64(),
    "mae": pl.Float64(),
    "wape": pl.Float64(),
    "bias": pl.Float64(),
    "coverage": pl.Float64(),
}
"""Columns of :func:`accuracy` (the ``monitor_accuracy`` table without system and run)."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """When accuracy marks a system degraded: all-zone WAPE above ``wape_ratio`` x the
    backtest's WAPE on ``consecutive_days`` consecutive days ending on the newest day."""

    wape_ratio: float = 1.3
    consecutive_days: int = 3
    window_days: int = 28

    def __post_init__(self) -> None:
        problems = []
        if not 1.0 <= self.wape_ratio <= 10.0:
            problems.append(f"wape_ratio={self.wape_ratio} (allowed 1.0..10.0)")
        if not 1 <= self.consecutive_days <= 60:
            problems.append(f"consecutive_days={self.consecutive_days} (allowed 1..60)")
        if not self.consecutive_days <= self.window_days <= 366:
            problems.append(f"window_days={self.window_days} (allowed consecutive_days..366)")
        if problems:
            raise ValueError("accuracy alert rule not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AlertRule:
        """Build from a ``[monitoring.accuracy]`` table; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"[monitoring.accuracy] key(s) {sorted(unknown)} not understood; "
                f"known keys are {sorted(known)}"
            )
        return cls(**dict(data))


@dataclass(frozen=True, slots=True)
class AccuracyAlert:
    """A model and horizon whose WAPE broke the rule: on which days and by how much."""

    model_version: str
    horizon: int
    days: tuple[date, ...]
    wape: tuple[float, ...]
    baseline_wape: float

    @property
    def excess(self) -> tuple[float, ...]:
        """How much each day's WAPE exceeds the baseline's, as a share (0.5 = 50% over)."""
        return tuple(w / self.baseline_wape - 1.0 for w in self.wape)

    def message(self) -> str:
        """One line for people: model, horizon, days, WAPE beside the backtest's."""
        wapes = ", ".join(f"{w:.1%}" for w in self.wape)
        excess = ", ".join(f"+{e:.0%}" for e in self.excess)
        span = f"{self.days[0]}..{self.days[-1]}"
        return (
            f"{self.model_version} h{self.horizon}: WAPE {wapes} on {span} "
            f"vs backtest {self.baseline_wape:.1%} ({excess})"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "model_version": self.model_version,
            "horizon": self.horizon,
            "days": [d.isoformat() for d in self.days],
            "wape": list(self.wape),
            "baseline_wape": self.baseline_wape,
            "excess": list(self.excess),
            "message": self.message(),
        }


def model_name(version: pl.Expr) -> pl.Expr:
    """The model's name from a ``global_gbm@v3`` label (the backtest's ``model`` column)."""
    return version.str.split("@").list.first()


def join_actuals(forecasts: pl.DataFrame, actuals: pl.DataFrame) -> pl.DataFrame:
    """Forecast rows that have an actual, with it as ``actual``.

    ``forecasts`` has zone_id, target_date, issued_on, horizon, model_version, mean, q10 and
    q90; ``actuals`` has zone_id, date and trips (daily demand, zero-filled).
    """
    known = actuals.select(
        pl.col("zone_id"),
        pl.col("date").alias("target_date"),
        pl.col("trips").cast(pl.Float64).alias("actual"),
    )
    return forecasts.select(
        "zone_id",
        "target_date",
        "issued_on",
        pl.col("horizon").cast(pl.Int32),
        "model_version",
        pl.col("mean").cast(pl.Float64),
        pl.col("q10").cast(pl.Float64),
        pl.col("q90").cast(pl.Float64),
    ).join(known, on=["zone_id", "target_date"], how="inner")


def _metrics(joined: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    error = pl.col("mean") - pl.col("actual")
    total = pl.col("actual").sum()
    return joined.group_by(by).agg(
        pl.col("issued_on").min(),
        pl.len().cast(pl.Int64).alias("n"),
        total.alias("actual"),
        pl.col("mean").sum().alias("forecast"),
        error.abs().mean().alias("mae"),
        pl.when(total > 0).then(error.abs().sum() / total).alias("wape"),
        pl.when(total > 0).then(error.sum() / total).alias("bias"),
        pl.col("actual")
        .is_between(pl.col("q10"), pl.col("q90"))
        .cast(pl.Float64)
        .mean()
        .alias("coverage"),
    )


def accuracy(forecasts: pl.DataFrame, actuals: pl.DataFrame) -> pl.DataFrame:
    """MAE, WAPE, bias and 10-90% coverage per target day, horizon, zone and model version,
    plus the all-zone rows (``zone_id`` ``'*'``); WAPE and bias are null when no trip was made.

    WAPE is sum |forecast - actual| / sum actual; bias is sum (forecast - actual) / sum actual,
    positive when over-forecasting; coverage is the share of actuals within [q10, q90].
    """
    joined = join_actuals(forecasts, actuals)
    per_zone = _metrics(joined, ["target_date", "horizon", "zone_id", "model_version"])
    overall = _metrics(joined, ["target_date", "horizon", "model_version"]).with_columns(
        pl.lit(ALL_ZONES).alias("zone_id")
    )
    columns = list(ACCURACY_SCHEMA)
    return (
        pl.concat([per_zone.select(columns), overall.select(columns)])
        .cast(ACCURACY_SCHEMA)  # type: ignore[arg-type]
        .sort(KEYS)
    )


def beside_baseline(daily: pl.DataFrame, baseline: pl.DataFrame) -> pl.DataFrame:
    """All-zone accuracy rows with the backtest's WAPE of the same model and horizon as
    ``baseline_wape`` (null when the backtest did not cover them) and ``ratio`` = WAPE / it.

    ``baseline`` has model, horizon and wape (the backtest's overall metrics).
    """
    base = baseline.select(
        pl.col("model").alias("_model"),
        pl.col("horizon").cast(pl.Int32),
        pl.col("wape").cast(pl.Float64).alias("baseline_wape"),
    ).unique(["_model", "horizon"], keep="first")
    return (
        daily.filter(pl.col("zone_id") == ALL_ZONES)
        .with_columns(model_name(pl.col("model_version")).alias("_model"))
        .join(base, on=["_model", "horizon"], how="left")
        .drop("_model")
        .with_columns(
            pl.when(pl.col("baseline_wape") > 0)
            .then(pl.col("wape") / pl.col("baseline_wape"))
            .alias("ratio")
        )
        .sort("target_date", "horizon", "model_version")
    )


def find_alerts(
    daily: pl.DataFrame, baseline: pl.DataFrame, rule: AlertRule | None = None
) -> list[AccuracyAlert]:
    """Every model and horizon whose all-zone WAPE exceeded ``rule.wape_ratio`` x the
    backtest's on ``rule.consecutive_days`` or more consecutive days up to its newest day.

    A day without actuals, or with a WAPE within the limit, ends a streak; so a streak that
    ended before the horizon's newest day (or a replaced model's) is history, not an alert.
    """
    rule = rule or AlertRule()
    rows = beside_baseline(daily, baseline).filter(pl.col("baseline_wape").is_not_null())
    newest = dict(rows.group_by("horizon").agg(pl.col("target_date").max()).rows())
    alerts = []
    for (version, horizon), group in rows.group_by(
        ["model_version", "horizon"], maintain_order=True
    ):
        streak: list[tuple[date, float]] = []
        expected: date | None = newest[horizon]
        for row in group.sort("target_date", descending=True).iter_rows(named=True):
            day, wape = row["target_date"], row["wape"]
            if expected is not None and day != expected:
                break
            if wape is None or wape <= rule.wape_ratio * row["baseline_wape"]:
                break
            streak.append((day, wape))
            expected = day - timedelta(days=1)
        if len(streak) >= rule.consecutive_days:
            streak.reverse()
            alerts.append(
                AccuracyAlert(
                    model_version=str(version),
                    horizon=int(horizon),
                    days=tuple(d for d, _ in streak),
                    wape=tuple(w for _, w in streak),
                    baseline_wape=float(group["baseline_wape"][0]),
                )
            )
    return sorted(alerts, key=lambda a: (a.horizon, a.model_version))


__all__ = [
    "ACCURACY_SCHEMA",
    "ALL_ZONES",
    "KEYS",
    "AccuracyAlert",
    "AlertRule",
    "accuracy",
    "beside_baseline",
    "find_alerts",
    "join_actuals",
    "model_name",
]
