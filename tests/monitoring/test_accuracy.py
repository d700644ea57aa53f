"""Forecast accuracy against hand-computed cases, the 3-day alert rule, and properties."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.monitoring.accuracy import (
    ALL_ZONES,
    AlertRule,
    accuracy,
    beside_baseline,
    find_alerts,
)

D0 = date(2026, 10, 1)


def forecasts(rows: list[tuple[str, date, int, float, float, float]]) -> pl.DataFrame:
    """Forecast rows (zone, target day, horizon, mean, q10, q90) of model ``m@v1``."""
    return pl.DataFrame(
        {
            "zone_id": [r[0] for r in rows],
            "target_date": [r[1] for r in rows],
            "issued_on": [r[1] - timedelta(days=r[2] - 1) for r in rows],
            "horizon": [r[2] for r in rows],
            "model_version": ["m@v1"] * len(rows),
            "mean": [r[3] for r in rows],
            "q10": [r[4] for r in rows],
            "q90": [r[5] for r in rows],
        },
        schema_overrides={"horizon": pl.Int32},
    )


def actuals(rows: list[tuple[str, date, int]]) -> pl.DataFrame:
    """Daily demand rows (zone, day, trips)."""
    return pl.DataFrame(
        {
            "zone_id": [r[0] for r in rows],
            "date": [r[1] for r in rows],
            "trips": [r[2] for r in rows],
        }
    )


def two_zones() -> pl.DataFrame:
    """Two zones, one day: Z1 forecast 10 (8..12) for 12 trips, Z2 4 (0..5) for 6 trips."""
    return accuracy(
        forecasts([("Z1", D0, 1, 10.0, 8.0, 12.0), ("Z2", D0, 1, 4.0, 0.0, 5.0)]),
        actuals([("Z1", D0, 12), ("Z2", D0, 6)]),
    )


def test_zone_rows_match_hand_computed_values() -> None:
    """Z1: MAE 2, WAPE 2/12, bias -2/12, inside its interval; Z2: 2, 2/6, -2/6, outside."""
    frame = two_zones()
    z1 = frame.filter(pl.col("zone_id") == "Z1").row(0, named=True)
    z2 = frame.filter(pl.col("zone_id") == "Z2").row(0, named=True)
    assert z1["mae"] == pytest.approx(2.0) and z2["mae"] == pytest.approx(2.0)
    assert z1["wape"] == pytest.approx(2 / 12) and z2["wape"] == pytest.approx(2 / 6)
    assert z1["bias"] == pytest.approx(-2 / 12) and z2["bias"] == pytest.approx(-2 / 6)
    assert z1["coverage"] == 1.0 and z2["coverage"] == 0.0
    assert z1["n"] == 1 and z1["actual"] == 12.0 and z1["forecast"] == 10.0


def test_all_zone_row_aggregates_errors_over_actuals() -> None:
    """Over both zones: MAE 2, WAPE 4/18, bias -4/18, coverage 1 of 2."""
    row = two_zones().filter(pl.col("zone_id") == ALL_ZONES).row(0, named=True)
    assert row["n"] == 2
    assert row["mae"] == pytest.approx(2.0)
    assert row["wape"] == pytest.approx(4 / 18)
    assert row["bias"] == pytest.approx(-4 / 18)
    assert row["coverage"] == pytest.approx(0.5)
    assert row["issued_on"] == D0 and row["horizon"] == 1


def test_no_trips_leaves_wape_and_bias_null_and_unknown_days_out() -> None:
    """A day with no trips has no WAPE or bias (not infinity); days without actuals drop."""
    frame = accuracy(
        forecasts([("Z1", D0, 1, 1.0, 0.0, 2.0), ("Z1", D0 + timedelta(days=1), 2, 1.0, 0, 2)]),
        actuals([("Z1", D0, 0)]),
    )
    assert frame["target_date"].unique().to_list() == [D0]
    row = frame.filter(pl.col("zone_id") == "Z1").row(0, named=True)
    assert row["wape"] is None and row["bias"] is None and row["mae"] == 1.0


def daily(wapes: dict[date, float], *, horizon: int = 1, version: str = "m@v1") -> pl.DataFrame:
    """All-zone accuracy rows with the given WAPE per day."""
    days = sorted(wapes)
    return pl.DataFrame(
        {
            "target_date": days,
            "horizon": [horizon] * len(days),
            "zone_id": [ALL_ZONES] * len(days),
            "model_version": [version] * len(days),
            "wape": [wapes[d] for d in days],
        },
        schema_overrides={"horizon": pl.Int32},
    )


BASELINE = pl.DataFrame({"model": ["m"], "horizon": [1], "wape": [0.25]})
"""The backtest's WAPE of model ``m`` at horizon 1: 25%, so the limit is 32.5%."""


def run(*values: float) -> dict[date, float]:
    """Consecutive days from D0 with these WAPEs."""
    return {D0 + timedelta(days=i): v for i, v in enumerate(values)}


def test_three_days_over_the_limit_raise_an_alert_saying_which_and_by_how_much() -> None:
    """30%, 40%, 50%, 60% against 25%: the last three break the rule, 60-140% over."""
    alerts = find_alerts(daily(run(0.30, 0.40, 0.50, 0.60)), BASELINE)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.horizon == 1 and alert.model_version == "m@v1"
    assert alert.days == (D0 + timedelta(days=1), D0 + timedelta(days=2), D0 + timedelta(days=3))
    assert alert.excess == pytest.approx((0.6, 1.0, 1.4))
    assert "h1" in alert.message() and "25.0%" in alert.message()


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ((0.5, 0.5), "two days only"),
        ((0.5, 0.5, 0.5, 0.2), "the newest day is fine again"),
        ((0.5, 0.5, 0.325), "exactly 30% over is not more than 30%"),
        ((0.5, 0.5, None), "the newest day had no trips"),
    ],
)
def test_no_alert_without_three_bad_days_up_to_the_newest(
    values: tuple[float | None, ...], why: str
) -> None:
    """The streak must reach the newest day and be three days long."""
    assert find_alerts(daily(run(*values)), BASELINE) == [], why  # type: ignore[arg-type]


def test_a_missing_day_breaks_the_streak() -> None:
    """Days 0, 1 and 3 bad with day 2 missing: not three consecutive days."""
    wapes = {D0: 0.5, D0 + timedelta(days=1): 0.5, D0 + timedelta(days=3): 0.5}
    assert find_alerts(daily(wapes), BASELINE) == []


def test_rule_is_configurable_and_needs_a_baseline() -> None:
    """Two days suffice with consecutive_days=2; a model the backtest lacks never alerts."""
    rule = AlertRule(consecutive_days=2)
    assert len(find_alerts(daily(run(0.5, 0.5)), BASELINE, rule)) == 1
    assert find_alerts(daily(run(0.5, 0.5, 0.5), version="other@v2"), BASELINE) == []
    beside = beside_baseline(daily(run(0.5)), BASELINE).row(0, named=True)
    assert beside["baseline_wape"] == 0.25 and beside["ratio"] == pytest.approx(2.0)


def test_a_replaced_models_old_streak_is_history() -> None:
    """Old version bad for 3 days, then a new version takes over: no alert for the old."""
    old = daily(run(0.5, 0.5, 0.5), version="m@v1")
    new = daily({D0 + timedelta(days=3): 0.2}, version="m@v2")
    assert find_alerts(pl.concat([old, new]), BASELINE) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"wape_ratio": 0.9}, {"consecutive_days": 0}, {"window_days": 2, "consecutive_days": 3}],
)
def test_alert_rule_refuses_nonsense(kwargs: dict[str, float]) -> None:
    """Ratios under 1, zero days or a window shorter than the streak are refused."""
    with pytest.raises(ValueError, match="not understood"):
        AlertRule(**kwargs)  # type: ignore[arg-type]


cells = st.tuples(
    st.integers(0, 50),
    st.floats(0, 60, allow_nan=False),
    st.floats(0, 30, allow_nan=False),
    st.floats(0, 30, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(cells, min_size=1, max_size=12))
def test_wape_is_never_negative_and_coverage_is_a_share(values: list[tuple[int, ...]]) -> None:
    """Whatever the forecasts: WAPE >= 0 (or null), MAE >= 0, coverage within [0, 1]."""
    rows = [
        (f"Z{i}", D0, 1, float(mean), float(lo), float(lo + width))
        for i, (_, mean, lo, width) in enumerate(values)
    ]
    frame = accuracy(
        forecasts(rows),  # type: ignore[arg-type]
        actuals([(f"Z{i}", D0, trips) for i, (trips, *_) in enumerate(values)]),
    )
    assert (frame["wape"].drop_nulls() >= 0).all()
    assert (frame["mae"] >= 0).all()
    assert frame["coverage"].is_between(0, 1).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=10))
def test_a_perfect_forecast_has_no_error(trips: list[int]) -> None:
    """Forecast = actual (interval collapsed on it): MAE 0, WAPE and bias 0, full coverage."""
    rows = [(f"Z{i}", D0, 2, float(t), float(t), float(t)) for i, t in enumerate(trips)]
    frame = accuracy(forecasts(rows), actuals([(f"Z{i}", D0, t) for i, t in enumerate(trips)]))
    assert (frame["mae"] == 0).all()
    assert (frame["wape"].drop_nulls() == 0).all() and (frame["bias"].drop_nulls() == 0).all()
    assert (frame["coverage"] == 1).all()
    assert frame.filter(pl.col("zone_id") == ALL_ZONES)["n"].to_list() == [len(trips)]
