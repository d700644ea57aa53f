"""Airport arrivals and city facts as features: used when present, no change when absent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fleetcast.forecasting import features as ft
from fleetcast.forecasting.base import TrainingSet, check_forecast
from fleetcast.forecasting.models import GlobalGBM, GlobalGBMParams

FAST = GlobalGBMParams(n_estimators=30)


def arrivals_for(data: TrainingSet, *, ahead: int = 3) -> pl.DataFrame:
    """A made-up daily arrivals series over the set's days and ``ahead`` more: a weekly
    schedule (busier on Fridays) with a spike every 10th day."""
    days = pl.date_range(data.first_day, data.last_day + timedelta(days=ahead), eager=True)
    return pl.DataFrame({"date": days}).with_columns(
        arrivals=(
            1000
            + 150 * (pl.col("date").dt.weekday() == 5).cast(pl.Int64)
            + 300 * (pl.col("date").dt.ordinal_day() % 10 == 0).cast(pl.Int64)
        )
    )


@pytest.fixture(scope="module")
def context(small_city: TrainingSet, cutoff: date) -> TrainingSet:
    """The small city as known at the cutoff, without arrivals."""
    return small_city.until(cutoff)


def test_with_arrivals_the_feature_frame_carries_them(context: TrainingSet) -> None:
    """With arrivals in the set, every history row and every future row of the model's
    frames has the day's arrivals, and the fitted model uses them as a feature."""
    arrivals = arrivals_for(context)
    data = replace(context, arrivals=arrivals)
    model = GlobalGBM(FAST).fit(data)
    assert "arrivals" in model.mlforecast.ts.features_order_
    history, future = model._frames(data, first=data.first_day, targets=data.target_dates(3))
    assert future is not None
    by_day = dict(arrivals.iter_rows())
    for frame in (history, future):
        got = pl.from_pandas(frame[["ds", "arrivals"]]).with_columns(pl.col("ds").dt.date())
        expected = [float(by_day[d]) for d in got["ds"].to_list()]
        assert got["arrivals"].to_list() == expected
    check_forecast(model.predict(data, horizon=3), data, 3)
    assert model.last_arrivals_note is None


def test_without_arrivals_nothing_changes(context: TrainingSet) -> None:
    """No arrivals: no arrivals column in the frames, and the forecast is exactly the one
    of a model with arrivals switched off on a set that has them (same code path as before
    arrivals existed)."""
    plain = GlobalGBM(FAST).fit(context)
    assert "arrivals" not in plain.mlforecast.ts.features_order_
    history, future = plain._frames(context, first=context.first_day, targets=[context.issue_date])
    assert future is not None
    assert "arrivals" not in history.columns and "arrivals" not in future.columns
    with_data = replace(context, arrivals=arrivals_for(context))
    off = GlobalGBM(replace(FAST, use_arrivals=False)).fit(with_data)
    assert_frame_equal(plain.predict(context, horizon=3), off.predict(with_data, horizon=3))
    assert plain.last_arrivals_note is None


def test_arrivals_only_after_the_cutoff_are_not_used(context: TrainingSet) -> None:
    """Arrivals stored only for the days ahead (nothing to learn from) leave the feature off."""
    ahead = arrivals_for(context).filter(pl.col("date") > context.last_day)
    model = GlobalGBM(FAST).fit(replace(context, arrivals=ahead))
    assert "arrivals" not in model.mlforecast.ts.features_order_


def test_missing_arrival_days_get_the_same_weekday_mean_and_a_note() -> None:
    """Days without a row are filled with the mean of their weekday over the history, and
    the note names them; without any row the values stay null."""
    monday = date(2026, 11, 2)
    history = pl.DataFrame(
        {
            "date": [monday - timedelta(days=7 * k) for k in (1, 2)] + [monday + timedelta(1)],
            "arrivals": [100, 200, 999],
        }
    )
    done = ft.complete_arrivals(history, [monday, monday + timedelta(1)], history_until=monday)
    assert done.frame["arrivals"].to_list() == [150.0, 999.0]
    assert done.filled == (monday,)
    assert done.note is not None and "2026-11-02" in done.note
    empty = ft.complete_arrivals(history.clear(), [monday], history_until=monday)
    assert empty.frame["arrivals"].to_list() == [None]


def test_city_features_are_static_columns_null_when_unknown() -> None:
    """City facts become the same value on every row; a fact not known is null."""
    rows = pl.DataFrame({"date": [date(2026, 1, 1), date(2026, 1, 2)]})
    out = ft.add_city_features(rows, {"population": 2_746_388.0, "area_km2": 606.1})
    assert out["city_population"].to_list() == [2_746_388.0] * 2
    assert out["city_area_km2"].to_list() == [606.1] * 2
    assert out["city_density_per_km2"].to_list() == [None, None]


def test_a_training_set_refuses_arrivals_without_their_columns(context: TrainingSet) -> None:
    """Arrivals without a ``date`` / ``arrivals`` column are a ValueError naming them."""
    with pytest.raises(ValueError, match="arrivals lacks"):
        replace(context, arrivals=pl.DataFrame({"day": [context.last_day]}))
