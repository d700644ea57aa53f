"""The four demand models: valid forecasts, no leakage, errors, weather gaps, parameters."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fleetcast.errors import InsufficientHistoryError, UnknownZoneError
from fleetcast.forecasting import features as ft
from fleetcast.forecasting.backtest import Window, run_backtest
from fleetcast.forecasting.base import Forecaster, TrainingSet, check_forecast
from fleetcast.forecasting.models import (
    DEFAULT_MODEL,
    MODELS,
    GlobalGBM,
    GlobalGBMParams,
    SeasonalNaive,
    SeasonalNaiveParams,
    StatsBaseline,
    make_model,
)

FAST: dict[str, dict[str, Any]] = {
    "seasonal_naive": {},
    "ets": {},
    "calendar_gbm": {"n_estimators": 60},
    "global_gbm": {"n_estimators": 60},
}
"""Lighter settings for the tests that fit a model several times (same code paths)."""


def fast_model(name: str) -> Forecaster:
    """The model ``name`` with few trees, so repeated fits stay quick."""
    return make_model(name, **FAST[name])


@pytest.fixture(scope="module")
def global_gbm(small_city: TrainingSet, cutoff: date) -> GlobalGBM:
    """The default model with default parameters, fitted once on the small city up to the
    cutoff (shared by the tests that only forecast)."""
    model = make_model(DEFAULT_MODEL)
    assert isinstance(model, GlobalGBM)
    return model.fit(small_city.until(cutoff))


def with_extra_zone(data: TrainingSet, zone: str = "ZNEW") -> TrainingSet:
    """``data`` plus a zone the models never saw: a copy of the first zone's demand."""
    first = data.zone_ids[0]
    demand = pl.concat(
        [
            data.demand,
            data.demand.filter(pl.col("zone_id") == first).with_columns(zone_id=pl.lit(zone)),
        ]
    )
    zones = pl.concat(
        [
            data.zones,
            data.zones.filter(pl.col("zone_id") == first).with_columns(zone_id=pl.lit(zone)),
        ]
    )
    return replace(data, demand=demand, zones=zones)


# ---------------------------------------------------------------------------- valid output


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_forecasts_three_days_in_the_contract_shape(
    name: str, small_city: TrainingSet, cutoff: date, request: pytest.FixtureRequest
) -> None:
    """Each model (default parameters) fitted up to the cutoff forecasts horizons 1-3 for
    every zone: one row per zone and day, target dates issue+0..2, ordered quantiles,
    non-negative means."""
    context = small_city.until(cutoff)
    if name == DEFAULT_MODEL:  # fitted once for the module, with default parameters
        model: Forecaster = request.getfixturevalue("global_gbm")
    else:
        model = make_model(name).fit(context)
    forecast = check_forecast(model.predict(context, horizon=3), context, 3)
    assert forecast.height == len(context.zone_ids) * 3
    assert sorted(forecast["zone_id"].unique()) == context.zone_ids
    issue = cutoff + timedelta(days=1)
    expected = {(issue + timedelta(days=h - 1), h) for h in (1, 2, 3)}
    assert set(forecast.select("target_date", "horizon").iter_rows()) == expected
    assert (forecast["mean"] >= 0).all()
    assert (forecast["q10"] <= forecast["q50"]).all()
    assert (forecast["q50"] <= forecast["q90"]).all()
    assert (forecast["q10"] >= 0).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_a_model_forecasts_from_a_newer_context_than_it_was_fitted_on(
    name: str, small_city: TrainingSet, cutoff: date
) -> None:
    """Fitted a week earlier, a model still forecasts the days after the newest context."""
    model = fast_model(name).fit(small_city.until(cutoff - timedelta(days=7)))
    context = small_city.until(cutoff)
    forecast = check_forecast(model.predict(context, horizon=3), context, 3)
    assert forecast["target_date"].min() == cutoff + timedelta(days=1)


def test_seasonal_naive_repeats_the_same_weekday_of_last_week(
    small_city: TrainingSet, cutoff: date
) -> None:
    """Its mean is the zone's demand exactly 7 days before each target (oracle: a lookup)."""
    context = small_city.until(cutoff)
    forecast = SeasonalNaive().fit(context).predict(context, horizon=7)
    trips = {(z, d): t for z, d, t in context.demand.select("zone_id", "date", "trips").iter_rows()}
    for zone, target, mean in forecast.select("zone_id", "target_date", "mean").iter_rows():
        assert mean == trips[zone, target - timedelta(days=7)]


@pytest.mark.parametrize("name", list(MODELS))
def test_a_fitted_model_pickles_and_forecasts_the_same(
    name: str, small_city: TrainingSet, cutoff: date
) -> None:
    """The registry stores fitted models by pickling them: a round trip changes nothing."""
    context = small_city.until(cutoff)
    model = fast_model(name).fit(context)
    again = pickle.loads(pickle.dumps(model))
    assert_frame_equal(again.predict(context, horizon=3), model.predict(context, horizon=3))


# ---------------------------------------------------------------------------- leakage


def with_garbage_after(data: TrainingSet, day: date) -> TrainingSet:
    """``data`` whose demand after ``day`` is replaced by huge random counts."""
    rng = np.random.default_rng(1)
    garbage = pl.Series(rng.integers(10_000, 1_000_000, data.demand.height), dtype=pl.Float64)
    demand = data.demand.with_columns(
        pl.when(pl.col("date") > day)
        .then(garbage)
        .otherwise(pl.col("trips").cast(pl.Float64))
        .alias("trips")
    )
    return replace(data, demand=demand)


def with_garbage_weather_after(data: TrainingSet, day: date) -> TrainingSet:
    """``data`` whose weather after ``day`` is replaced by absurd values."""
    rng = np.random.default_rng(2)
    late = pl.col("date") > day
    weather = data.weather.with_columns(
        [
            pl.when(late)
            .then(pl.Series(rng.uniform(-500, 500, data.weather.height)))
            .otherwise(pl.col(c).cast(pl.Float64))
            .alias(c)
            for c in ("temp_max_c", "temp_min_c", "precip_mm", "wind_max_kmh")
        ]
    )
    return replace(data, weather=weather)


@pytest.mark.parametrize("name", list(MODELS))
def test_no_model_reads_weather_beyond_the_days_it_forecasts(
    name: str, small_city: TrainingSet, cutoff: date
) -> None:
    """Leakage oracle: weather after the last forecast day replaced by garbage changes
    nothing — a model may read the weather of the days it forecasts, never later days."""
    clean = small_city.until(cutoff)
    dirty = with_garbage_weather_after(small_city, cutoff + timedelta(days=3)).until(cutoff)
    assert not dirty.weather.equals(clean.weather)
    expected = fast_model(name).fit(clean).predict(clean, horizon=3)
    actual = fast_model(name).fit(dirty).predict(dirty, horizon=3)
    assert_frame_equal(actual, expected)


def test_backtest_predictions_ignore_demand_after_each_issue(
    small_city: TrainingSet, cutoff: date
) -> None:
    """Leakage oracle for the harness: the backtest gets the whole set, with garbage demand
    after the window; every forecast it makes inside the window is the same as on clean
    data, so no fit or forecast saw demand beyond its issue date."""
    window = Window(cutoff - timedelta(days=13), cutoff, horizon=3)
    models = [fast_model(n) for n in ("seasonal_naive", "global_gbm")]
    clean = run_backtest(small_city, models, window=window)
    dirty = run_backtest(with_garbage_after(small_city, cutoff), models, window=window)
    keys = ["model", "zone_id", "issued_on", "target_date"]
    columns = [*keys, "mean", "q10", "q90"]
    assert_frame_equal(
        dirty.predictions.select(columns).sort(keys), clean.predictions.select(columns).sort(keys)
    )
    assert clean.predictions["target_date"].max() == cutoff


def capture_model_inputs(model: GlobalGBM) -> Iterator[list[Any]]:
    """Wrap the fitted LightGBM regressor's predict to record every feature frame it gets."""
    regressor: Any = model.mlforecast.models_["lgbm"]
    original = regressor.predict
    seen: list[Any] = []

    def spy(x: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(x.copy())
        return original(x, *args, **kwargs)

    regressor.predict = spy
    try:
        yield seen
    finally:
        del regressor.predict


def test_global_gbm_first_day_features_are_the_hand_computed_lags_up_to_the_cutoff(
    global_gbm: GlobalGBM, small_city: TrainingSet, cutoff: date
) -> None:
    """Feature oracle: the lags and rolling means LightGBM gets for the first forecast day
    equal plain-Python sums over demand dated ≤ cutoff (and the day's weather is the target
    day's row); days 2 and 3 read the model's own forecasts (recursive strategy)."""
    context = small_city.until(cutoff)
    spy = capture_model_inputs(global_gbm)
    seen = next(spy)
    forecast = global_gbm.predict(context, horizon=3)
    next(spy, None)
    assert len(seen) == 3  # one call per recursive step
    first = seen[0]
    y = {(z, d): float(t) for z, d, t in context.demand.iter_rows() if d <= cutoff}

    def back(zone: str, k: int) -> float:
        return y[zone, cutoff + timedelta(days=1 - k)]

    target = cutoff + timedelta(days=1)
    weather = context.weather.filter(pl.col("date") == target).row(0, named=True)
    for row, zone in enumerate(context.zone_ids):
        got = first.iloc[row]
        for lag in (1, 2, 7, 14, 21, 28):
            assert got[f"lag{lag}"] == back(zone, lag)
        for lag, window in ((1, 7), (1, 28), (7, 7), (7, 28)):
            hand = sum(back(zone, lag + i) for i in range(window)) / window
            assert got[f"rolling_mean_lag{lag}_window_size{window}"] == pytest.approx(hand)
        same_weekday = sum(back(zone, 7 * w) for w in (1, 2, 3, 4)) / 4
        col = "seasonal_rolling_mean_lag7_season_length7_window_size4"
        assert got[col] == pytest.approx(same_weekday)
        assert got["temp_max_c"] == weather["temp_max_c"]
        assert got["day_of_year"] == target.timetuple().tm_yday
    day1 = forecast.filter(pl.col("horizon") == 1).sort("zone_id")["mean"].to_numpy()
    np.testing.assert_allclose(seen[1]["lag1"].to_numpy(), day1)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", list(MODELS))
def test_too_little_history_is_an_insufficient_history_error(
    name: str, small_city: TrainingSet
) -> None:
    """Ten days of demand are too few for every model; the message gives needed vs had."""
    short = small_city.until(small_city.first_day + timedelta(days=9))
    with pytest.raises(InsufficientHistoryError, match=r"needs at least \d+ days.* has 10"):
        make_model(name).fit(short)


def test_insufficient_history_error_is_a_value_error() -> None:
    """Callers that catch ValueError for bad input also catch it."""
    assert issubclass(InsufficientHistoryError, ValueError)
    assert issubclass(UnknownZoneError, LookupError)


@pytest.mark.parametrize("name", ["calendar_gbm", "global_gbm"])
def test_a_zone_unknown_to_a_fitted_gbm_is_an_unknown_zone_error(
    name: str, small_city: TrainingSet, cutoff: date
) -> None:
    """Both GBMs learnt their zones at fit time: a new zone is named in an UnknownZoneError."""
    model = fast_model(name).fit(small_city.until(cutoff))
    with pytest.raises(UnknownZoneError, match="ZNEW"):
        model.predict(with_extra_zone(small_city).until(cutoff), horizon=3)


@pytest.mark.parametrize("model", [SeasonalNaive(), StatsBaseline()], ids=["naive", "ets"])
def test_local_baselines_forecast_a_zone_they_were_not_fitted_on(
    model: Forecaster, small_city: TrainingSet, cutoff: date
) -> None:
    """Seasonal naive and ETS learn per zone from the context: a new zone just works."""
    model.fit(small_city.until(cutoff))
    context = with_extra_zone(small_city).until(cutoff)
    forecast = check_forecast(model.predict(context, horizon=3), context, 3)
    assert forecast.filter(pl.col("zone_id") == "ZNEW").height == 3


def test_an_unknown_model_name_lists_the_known_ones() -> None:
    """make_model refuses a name it does not know and says which names exist."""
    with pytest.raises(ValueError, match="global_gbm") as info:
        make_model("prophet")
    for name in MODELS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", ["calendar_gbm", "global_gbm"])
def test_predict_before_fit_says_so(name: str, small_city: TrainingSet) -> None:
    """A GBM asked to forecast before it was fitted raises a clear error, not a crash."""
    with pytest.raises(RuntimeError, match="call fit before"):
        make_model(name).predict(small_city, horizon=3)


# ---------------------------------------------------------------------------- weather gaps


def test_missing_future_weather_uses_climatology_and_says_so(
    global_gbm: GlobalGBM, small_city: TrainingSet, cutoff: date
) -> None:
    """Without weather rows for the target days the default model still forecasts, from the
    climatology of those days, and its ``last_weather_note`` names the days filled."""
    context = small_city.until(cutoff)
    targets = context.target_dates(3)
    gap = replace(context, weather=context.weather.filter(pl.col("date") <= cutoff))
    forecast = check_forecast(global_gbm.predict(gap, horizon=3), gap, 3)
    note = global_gbm.last_weather_note
    assert note is not None and "climatology" in note
    assert all(day.isoformat() in note for day in targets)
    # the same forecast as with the climatology rows given explicitly
    filled = pl.concat([gap.weather, ft.climatology(gap.weather, targets)], how="vertical_relaxed")
    explicit = global_gbm.predict(replace(gap, weather=filled), horizon=3)
    assert global_gbm.last_weather_note is None
    assert_frame_equal(forecast, check_forecast(explicit, gap, 3))


def test_full_weather_leaves_no_note(
    global_gbm: GlobalGBM, small_city: TrainingSet, cutoff: date
) -> None:
    """With observed weather for every day the note is None (nothing to report)."""
    global_gbm.predict(small_city.until(cutoff), horizon=3)
    assert global_gbm.last_weather_note is None


def test_no_weather_at_all_fits_and_forecasts_without_it(
    small_city: TrainingSet, cutoff: date
) -> None:
    """A system with no stored weather: the model learns and forecasts without weather
    features, and the note says so."""
    empty = replace(small_city, weather=small_city.weather.clear()).until(cutoff)
    model = GlobalGBM(GlobalGBMParams(n_estimators=30)).fit(empty)
    check_forecast(model.predict(empty, horizon=3), empty, 3)
    assert "weather" not in " ".join(model.mlforecast.ts.features_order_)
    assert model.last_weather_note is not None and "without weather" in model.last_weather_note


@pytest.mark.filterwarnings("ignore:Found null values")
def test_weather_lost_after_the_fit_leaves_the_features_missing(
    global_gbm: GlobalGBM, small_city: TrainingSet, cutoff: date
) -> None:
    """Fitted with weather, forecasting from a context with none: still a valid forecast
    (LightGBM takes the missing-value branches), and the note says the features are missing."""
    empty = replace(small_city, weather=small_city.weather.clear()).until(cutoff)
    check_forecast(global_gbm.predict(empty, horizon=3), empty, 3)
    note = global_gbm.last_weather_note
    assert note is not None and "missing" in note


# ---------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", list(MODELS))
def test_params_round_trip_through_make_model(name: str) -> None:
    """``params()`` rebuilds an equal model through ``make_model(name, **params)``."""
    model = make_model(name, **FAST[name])
    again = make_model(name, **model.params())
    assert again.params() == model.params()
    assert again.name == name == model.name


def test_params_from_toml_lists_become_tuples() -> None:
    """TOML gives lists: lags and rolling means given as lists equal the tuple form."""
    model = make_model("global_gbm", lags=[1, 7], rolling_means=[[1, 7]])
    assert model.params()["lags"] == (1, 7)
    assert model.params()["rolling_means"] == ((1, 7),)


def test_bad_params_are_all_named_in_one_value_error() -> None:
    """Several bad fields give one ValueError that names each of them."""
    with pytest.raises(ValueError) as info:
        make_model("global_gbm", lags=[0, 7], learning_rate=-1.0, objective="l2")
    message = str(info.value)
    for field in ("lags", "learning_rate", "objective"):
        assert field in message


def test_an_unknown_parameter_is_a_type_error() -> None:
    """A misspelt parameter is refused rather than ignored."""
    with pytest.raises(TypeError):
        make_model("ets", seasonlength=7)


@settings(max_examples=40, deadline=None)
@given(
    weeks=st.one_of(st.integers(-5, 600), st.floats(allow_nan=True), st.booleans(), st.text()),
    min_errors=st.integers(-5, 50),
)
def test_seasonal_naive_params_accept_exactly_the_documented_ranges(
    weeks: object, min_errors: int
) -> None:
    """error_weeks must be an int in 1..520 and min_errors ≥ 1; anything else is refused."""
    valid = (
        isinstance(weeks, int)
        and not isinstance(weeks, bool)
        and 1 <= weeks <= 520
        and min_errors >= 1
    )
    if valid:
        params = SeasonalNaiveParams(error_weeks=weeks, min_errors=min_errors)  # type: ignore[arg-type]
        assert make_model("seasonal_naive", **SeasonalNaive(params).params()).params() == {
            "error_weeks": weeks,
            "min_errors": min_errors,
        }
    else:
        with pytest.raises(ValueError):
            SeasonalNaiveParams(error_weeks=weeks, min_errors=min_errors)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(allow_nan=True, allow_infinity=True),
    leaves=st.integers(-3, 200_000),
    power=st.floats(0.5, 2.5),
)
def test_global_gbm_numeric_params_are_checked(rate: float, leaves: int, power: float) -> None:
    """learning_rate in (0, 1], num_leaves in 2..131072, tweedie power in (1, 2]: otherwise
    a ValueError; when valid the parameters round-trip through make_model."""
    valid = 0 < rate <= 1 and 2 <= leaves <= 131_072 and 1 < power <= 2
    kwargs = {"learning_rate": rate, "num_leaves": leaves, "tweedie_variance_power": power}
    if valid:
        model = make_model("global_gbm", **kwargs)
        assert make_model("global_gbm", **model.params()).params() == model.params()
    else:
        with pytest.raises(ValueError):
            make_model("global_gbm", **kwargs)


def test_global_gbm_history_needs_follow_its_lags() -> None:
    """The history a fit needs grows with the longest lag/window and the conformal span."""
    base = GlobalGBM(GlobalGBMParams())
    longer = GlobalGBM(GlobalGBMParams(lags=(1, 7, 56)))
    assert base.config.lookback_days == 34  # lag 7 + a 28-day window - 1
    assert longer.min_history_days == base.min_history_days + (56 - 34)
