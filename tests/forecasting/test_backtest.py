"""The rolling-origin backtest: calendars, what each fit and forecast may see, the metrics."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Self

import polars as pl
import pytest

from fleetcast.forecasting.backtest import Window, metrics, run_backtest
from fleetcast.forecasting.base import TrainingSet


def tiny_set(days: int = 40, zones: tuple[str, ...] = ("a", "b")) -> TrainingSet:
    """Two zones, ``days`` days from 2024-01-01, trips = day number (zone b doubled)."""
    start = date(2024, 1, 1)
    rows = [
        {"zone_id": z, "date": start + timedelta(days=i), "trips": (i + 1) * (2 if z == "b" else 1)}
        for z in zones
        for i in range(days)
    ]
    weather = pl.DataFrame(
        {
            "date": [start + timedelta(days=i) for i in range(days + 10)],
            "temp_max_c": 10.0,
            "temp_min_c": 0.0,
            "precip_mm": 0.0,
            "wind_max_kmh": 5.0,
        }
    )
    zone_frame = pl.DataFrame(
        {
            "zone_id": list(zones),
            "area_km2": 1.0,
            "centroid_lat": 41.9,
            "centroid_lon": -87.6,
            "centre_km": 1.0,
        }
    )
    return TrainingSet("t", pl.DataFrame(rows), zone_frame, weather)


class Spy:
    """Forecasts yesterday's value for every horizon and records what it was shown."""

    name = "spy"

    def __init__(self) -> None:
        self.fits: list[date] = []
        self.predicts: list[date] = []

    def fit(self, train: TrainingSet) -> Self:
        """Remember the last day of the training data."""
        self.fits.append(train.last_day)
        return self

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """Yesterday's trips for each target day, with a +-1 interval."""
        self.predicts.append(context.last_day)
        last = context.demand.filter(pl.col("date") == context.last_day)
        return pl.concat(
            last.select(
                "zone_id",
                pl.lit(day).alias("target_date"),
                pl.lit(h + 1).alias("horizon"),
                pl.col("trips").cast(pl.Float64).alias("mean"),
                (pl.col("trips") - 1.0).alias("q10"),
                pl.col("trips").cast(pl.Float64).alias("q50"),
                (pl.col("trips") + 1.0).alias("q90"),
            )
            for h, day in enumerate(context.target_dates(horizon))
        )

    def params(self) -> dict[str, object]:
        """No parameters."""
        return {}


def test_window_of_the_last_weeks_has_a_weekly_refit_calendar() -> None:
    """8 weeks back from 2024-03-31: 56 issue dates, a refit every 7 days, in order."""
    window = Window.last_weeks(date(2024, 3, 31), weeks=8)
    issues = window.issue_dates()
    assert issues[0] == date(2024, 2, 5) and issues[-1] == date(2024, 3, 31)
    assert len(issues) == 56
    schedule = window.schedule()
    assert [refit for refit, _ in schedule] == [
        date(2024, 2, 5) + timedelta(weeks=w) for w in range(8)
    ]
    assert all(len(days) == 7 and days[0] == refit for refit, days in schedule)
    assert [d for _, days in schedule for d in days] == issues


def test_a_short_last_period_is_kept() -> None:
    """A window that is not a whole number of refit periods ends with a shorter period."""
    window = Window(date(2024, 1, 10), date(2024, 1, 19), refit_every=7)
    assert [len(days) for _, days in window.schedule()] == [7, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_issue": date(2024, 2, 1), "last_issue": date(2024, 1, 1)}, "ends before"),
        (
            {"first_issue": date(2024, 1, 1), "last_issue": date(2024, 1, 2), "horizon": 0},
            "horizon",
        ),
        (
            {"first_issue": date(2024, 1, 1), "last_issue": date(2024, 1, 2), "refit_every": 0},
            "refit",
        ),
    ],
)
def test_nonsense_windows_are_refused(kwargs: dict[str, object], message: str) -> None:
    """A window that ends before it starts, horizon 0 or no refit is a ValueError."""
    with pytest.raises(ValueError, match=message):
        Window(**kwargs)  # type: ignore[arg-type]


def test_each_fit_and_forecast_sees_only_the_past() -> None:
    """Fits see data up to the day before their refit date; forecasts up to the day before issue."""
    data = tiny_set(days=40)
    window = Window.last_weeks(data.last_day, weeks=2)
    spy = Spy()
    result = run_backtest(data, [spy], window=window)
    assert spy.fits == [refit - timedelta(days=1) for refit, _ in window.schedule()]
    assert spy.predicts == [d - timedelta(days=1) for d in window.issue_dates()]
    rows = result.predictions
    assert (rows["issued_on"] <= rows["target_date"]).all()
    assert (rows["target_date"] - rows["issued_on"]).dt.total_days().max() == 2
    assert rows["target_date"].max() == data.last_day


def test_predictions_line_up_with_actuals() -> None:
    """Each forecast row carries the actual of its zone and day; horizon h is h-1 days out."""
    data = tiny_set(days=30)
    result = run_backtest(data, [Spy()], window=Window.last_weeks(data.last_day, weeks=1))
    row = result.predictions.filter(
        (pl.col("zone_id") == "b")
        & (pl.col("issued_on") == date(2024, 1, 25))
        & (pl.col("horizon") == 3)
    ).row(0, named=True)
    assert row["target_date"] == date(2024, 1, 27)
    assert row["mean"] == 48.0
    assert row["actual"] == 54


def test_metrics_match_a_hand_computation() -> None:
    """MAE, RMSE, WAPE, bias, pinball and coverage on four numbers worked out by hand."""
    rows = pl.DataFrame(
        {
            "model": ["m"] * 4,
            "horizon": [1] * 4,
            "actual": [10, 0, 5, 5],
            "mean": [8.0, 1.0, 5.0, 9.0],
            "q10": [7.0, 0.0, 4.0, 8.0],
            "q50": [8.0, 1.0, 5.0, 9.0],
            "q90": [11.0, 2.0, 6.0, 10.0],
        }
    )
    got = metrics(rows, by=["model", "horizon"]).row(0, named=True)
    assert got["mae"] == pytest.approx((2 + 1 + 0 + 4) / 4)
    assert got["rmse"] == pytest.approx(math.sqrt((4 + 1 + 0 + 16) / 4))
    assert got["wape"] == pytest.approx(7 / 20)
    assert got["bias"] == pytest.approx((-2 + 1 + 0 + 4) / 20)
    assert got["coverage_80"] == pytest.approx(3 / 4)
    q10 = [0.1 * 3, 0.0, 0.1 * 1, 0.9 * 3]
    q50 = [0.5 * 2, 0.5 * 1, 0.0, 0.5 * 4]
    q90 = [0.1 * 1, 0.1 * 2, 0.1 * 1, 0.1 * 5]
    expected = sum(a + b + c for a, b, c in zip(q10, q50, q90, strict=True)) / 3 / 4
    assert got["pinball"] == pytest.approx(expected)


def test_a_window_without_history_before_it_is_refused() -> None:
    """Backtesting from the first day of data leaves nothing to learn from."""
    data = tiny_set(days=10)
    with pytest.raises(ValueError, match="nothing to learn"):
        run_backtest(data, [Spy()], window=Window(data.first_day, data.last_day))
