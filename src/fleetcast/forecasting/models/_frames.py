"""Shared input checks and frames: history and horizon checks, the dense zones × days
demand matrix, and the forecast frame every model returns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from fleetcast.errors import InsufficientHistoryError, UnknownZoneError
from fleetcast.forecasting.base import TrainingSet
from fleetcast.forecasting.models._common import FloatArray


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
