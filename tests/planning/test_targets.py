"""Stock targets: the demand distribution, the newsvendor, bounds and a short fleet."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.errors import SchemaError
from fleetcast.planning.targets import (
    TARGET_COLUMNS,
    TargetParams,
    demand_distribution,
    expected_rides,
    marginal_rides,
    stock_targets,
)


def zones_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Zones with defaults for what a row leaves out."""
    base = {
        "supply": 0,
        "mean": None,
        "rides_per_vehicle": 1.0,
        "min_vehicles": 0,
        "max_vehicles": None,
    }
    return pl.DataFrame(
        [{**base, **row} for row in rows],
        schema={
            "zone_id": pl.String,
            "supply": pl.Int64,
            "mean": pl.Float64,
            "q10": pl.Float64,
            "q50": pl.Float64,
            "q90": pl.Float64,
            "rides_per_vehicle": pl.Float64,
            "min_vehicles": pl.Int64,
            "max_vehicles": pl.Int64,
        },
    )


def one_zone() -> pl.DataFrame:
    """A zone with q10=2, q50=5, q90=10, mean 6 and 2 rides per vehicle, holding 3."""
    return zones_frame(
        [{"zone_id": "a", "supply": 3, "mean": 6.0, "q10": 2.0, "q50": 5.0, "q90": 10.0,
          "rides_per_vehicle": 2.0}]
    )  # fmt: skip


def numeric_expected_min(zones: pl.DataFrame, capacity: np.ndarray) -> np.ndarray:
    """E[min(D, c)] by averaging min(Q(p), c) over a fine grid of p (an oracle)."""
    dist = demand_distribution(zones)
    p = (np.arange(200_000) + 0.5) / 200_000
    knots = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    return np.array(
        [
            np.minimum(np.interp(p, knots, dist.values[i]), capacity[i]).mean()
            for i in range(len(dist))
        ]
    )


def test_params_check_themselves_and_load_from_a_table() -> None:
    """Costs must be > 0; the critical ratio is shortage / (shortage + idle); unknown keys
    of a TOML table are refused by name."""
    assert TargetParams().critical_ratio == 0.75
    assert TargetParams.from_mapping({"shortage_cost": 1, "idle_cost": 1}).critical_ratio == 0.5
    with pytest.raises(ValueError, match="idle_cost"):
        TargetParams(idle_cost=0.0)
    with pytest.raises(ValueError, match="shortage_cost"):
        TargetParams(shortage_cost=float("nan"))
    with pytest.raises(ValueError, match=r"unknown key.*overage"):
        TargetParams.from_mapping({"overage": 1.0})


def test_hand_computed_newsvendor() -> None:
    """q10=2, q50=5, q90=10, mean 6, costs 3:1 -> critical ratio 0.75. 0.75 lies between
    the knots 0.5 and 0.9, so Q(0.75) = 5 + (0.75 - 0.5) / 0.4 * (10 - 5) = 8.125 trips;
    / 2 rides per vehicle = 4.0625 -> ceil -> 5 vehicles.

    The quantile function's knots: Q0 = 2 - (5 - 2) / 4 = 1.25; below q90 the area is
    0.1 * (1.25 + 2) / 2 + 0.4 * (2 + 5) / 2 + 0.4 * (5 + 10) / 2 = 4.5625, so the tail
    top Q1 = 20 * (6 - 4.5625) - 10 = 18.75 makes the mean 6.

    Expected rides at the current 3 vehicles (capacity 6): the segments below 5 count in
    full (0.1625 + 1.4), the segment 5..10 is split at 6 (share 0.2: 0.4 * (0.2 * 5.5 +
    0.8 * 6) = 2.36) and the tail counts 6 (0.6): 4.5225.
    """
    out = stock_targets(one_zone(), fleet=100, params=TargetParams())
    row = out.row(0, named=True)
    assert list(out.columns) == list(TARGET_COLUMNS)
    assert row["demand_at_ratio"] == pytest.approx(8.125)
    assert row["newsvendor_target"] == 5
    assert row["target"] == 5
    assert row["cut"] == 0
    assert row["below_min"] == 0
    assert row["expected_rides_supply"] == pytest.approx(4.5225)
    np.testing.assert_allclose(demand_distribution(one_zone()).values[0], [1.25, 2, 5, 10, 18.75])
    assert row["expected_rides_target"] == pytest.approx(
        numeric_expected_min(one_zone(), np.array([10.0]))[0], abs=1e-6
    )


def test_other_columns_pass_through_and_no_zones_is_fine() -> None:
    """Columns of ``zones`` the planner does not use follow the target columns unchanged;
    a city without zones has no targets."""
    zones = one_zone().with_columns(anchor_lat=pl.lit(41.9))
    out = stock_targets(zones, fleet=3, params=TargetParams())
    assert out.columns == [*TARGET_COLUMNS, "anchor_lat"]
    assert out.get_column("target").to_list() == [3]
    assert out.get_column("cut").to_list() == [2]
    empty = stock_targets(one_zone().head(0), fleet=3, params=TargetParams())
    assert empty.height == 0
    assert empty.columns == list(TARGET_COLUMNS)


def test_distribution_honours_quantiles_and_mean() -> None:
    """The quantile function passes through q10, q50, q90; its mean is the forecast mean;
    an all-zero zone is a point mass at zero; a missing mean continues the q50..q90 slope;
    crossing quantiles are sorted."""
    zones = zones_frame(
        [
            {"zone_id": "a", "mean": 6.0, "q10": 2.0, "q50": 5.0, "q90": 10.0},
            {"zone_id": "zero", "mean": 0.0, "q10": 0.0, "q50": 0.0, "q90": 0.0},
            {"zone_id": "sparse", "mean": 0.3, "q10": 0.0, "q50": 0.0, "q90": 0.0},
            {"zone_id": "no_mean", "mean": None, "q10": 1.0, "q50": 3.0, "q90": 7.0},
            {"zone_id": "crossed", "mean": 4.0, "q10": 4.0, "q50": 2.0, "q90": 6.0},
        ]
    )
    dist = demand_distribution(zones)
    np.testing.assert_allclose(dist.quantile(0.1), [2, 0, 0, 1, 2])
    np.testing.assert_allclose(dist.quantile(0.5), [5, 0, 0, 3, 4])
    np.testing.assert_allclose(dist.quantile(0.9), [10, 0, 0, 7, 6])
    np.testing.assert_allclose(dist.mean()[[0, 1, 2, 4]], [6.0, 0.0, 0.3, 4.0])
    assert dist.values[3, 4] == pytest.approx(7 + (7 - 3) / 4)
    assert (np.diff(dist.values, axis=1) >= 0).all()
    assert (dist.values >= 0).all()


def test_bad_forecasts_are_refused() -> None:
    """Negative or missing quantiles and non-positive rides per vehicle are errors naming
    the zone, not silently clamped."""
    bad_quantile = zones_frame([{"zone_id": "x", "q10": -1.0, "q50": 1.0, "q90": 2.0}])
    with pytest.raises(SchemaError, match="x"):
        stock_targets(bad_quantile, fleet=5, params=TargetParams())
    bad_rides = zones_frame(
        [{"zone_id": "y", "q10": 1.0, "q50": 1.0, "q90": 2.0, "rides_per_vehicle": 0.0}]
    )
    with pytest.raises(SchemaError, match="y"):
        stock_targets(bad_rides, fleet=5, params=TargetParams())
    bad_bounds = zones_frame(
        [{"zone_id": "z", "q10": 1.0, "q50": 1.0, "q90": 2.0, "min_vehicles": 4,
          "max_vehicles": 2}]
    )  # fmt: skip
    with pytest.raises(SchemaError, match="z"):
        stock_targets(bad_bounds, fleet=5, params=TargetParams())
    with pytest.raises(ValueError, match="fleet"):
        stock_targets(one_zone(), fleet=-1, params=TargetParams())


def test_expected_and_marginal_rides_against_numeric_integration() -> None:
    """E[min(D, s r)] in closed form equals a fine numeric average; the s-th vehicle's
    marginal is the difference of consecutive expected rides and is 0 at s = 0."""
    zones = zones_frame(
        [
            {"zone_id": "a", "mean": 6.0, "q10": 2.0, "q50": 5.0, "q90": 10.0,
             "rides_per_vehicle": 2.0},
            {"zone_id": "b", "mean": 1.0, "q10": 0.0, "q50": 0.5, "q90": 2.5,
             "rides_per_vehicle": 0.7},
            {"zone_id": "c", "mean": 20.0, "q10": 12.0, "q50": 19.0, "q90": 29.0,
             "rides_per_vehicle": 3.5},
        ]
    )  # fmt: skip
    rides = zones.get_column("rides_per_vehicle").to_numpy()
    for s in (0, 1, 2, 3, 5, 9):
        count = np.full(3, s)
        np.testing.assert_allclose(
            expected_rides(zones, count), numeric_expected_min(zones, count * rides), atol=1e-5
        )
        step = expected_rides(zones, count) - expected_rides(zones, np.maximum(count - 1, 0))
        np.testing.assert_allclose(marginal_rides(zones, pl.Series(count)), step, atol=1e-12)
    assert (marginal_rides(zones, np.zeros(3)) == 0).all()


def test_bounds_respected() -> None:
    """The minimum lifts a small target, the maximum caps a large one, a null maximum
    leaves it alone. Q(0.75) is 1 + 0.625 * 1 = 1.625 trips (-> 2) and 30 + 0.625 * 10 =
    36.25 trips (-> 37)."""
    zones = zones_frame(
        [
            {"zone_id": "low", "mean": 1.0, "q10": 0.0, "q50": 1.0, "q90": 2.0,
             "min_vehicles": 4},
            {"zone_id": "high", "mean": 30.0, "q10": 20.0, "q50": 30.0, "q90": 40.0,
             "max_vehicles": 6},
            {"zone_id": "free", "mean": 30.0, "q10": 20.0, "q50": 30.0, "q90": 40.0},
        ]
    )  # fmt: skip
    out = stock_targets(zones, fleet=1000, params=TargetParams())
    assert out.get_column("newsvendor_target").to_list() == [2, 37, 37]
    assert out.get_column("target").to_list() == [4, 6, 37]
    assert out.get_column("cut").to_list() == [0, 0, 0]


def brute_force_best(zones: pl.DataFrame, fleet: int, params: TargetParams) -> float:
    """The most expected rides of any whole allocation within bounds and the fleet (all
    minimums kept when they fit, else each zone at most its minimum)."""
    free = stock_targets(zones, fleet=10**6, params=params)
    low = free.get_column("min_vehicles").to_numpy()
    top = free.get_column("target").to_numpy()
    if low.sum() > fleet:
        low, top = np.zeros_like(low), low
    best = -math.inf
    for alloc in itertools.product(*(range(lo, hi + 1) for lo, hi in zip(low, top, strict=True))):
        if sum(alloc) <= fleet:
            best = max(best, float(expected_rides(zones, np.array(alloc)).sum()))
    return best


def short_city() -> pl.DataFrame:
    """Three zones that want 3 + 4 + 2 vehicles; a fleet of 5 must choose."""
    return zones_frame(
        [
            {"zone_id": "busy", "mean": 9.0, "q10": 5.0, "q50": 8.0, "q90": 14.0,
             "rides_per_vehicle": 4.0},
            {"zone_id": "flat", "mean": 4.0, "q10": 1.0, "q50": 3.5, "q90": 7.0,
             "rides_per_vehicle": 1.5},
            {"zone_id": "quiet", "mean": 1.0, "q10": 0.0, "q50": 0.5, "q90": 2.0,
             "rides_per_vehicle": 1.0, "min_vehicles": 1},
        ]
    )  # fmt: skip


def test_short_fleet_cuts_where_vehicles_are_worth_least() -> None:
    """With fewer vehicles than targets, the cut is where the marginal expected rides are
    lowest: the plan reaches the brute-force optimum, keeps the minimum, and differs from
    a pro-rata cut."""
    params = TargetParams()
    zones = short_city()
    free = stock_targets(zones, fleet=100, params=params)
    wanted = free.get_column("target").to_numpy()
    assert wanted.tolist() == [3, 4, 2]
    for fleet in range(0, 10):
        out = stock_targets(zones, fleet=fleet, params=params)
        target = out.get_column("target").to_numpy()
        assert target.sum() == min(fleet, wanted.sum())
        assert float(out.get_column("expected_rides_target").sum()) == pytest.approx(
            brute_force_best(zones, fleet, params)
        )
        assert (out.get_column("cut").to_numpy() == wanted - target).all()
    out = stock_targets(zones, fleet=5, params=params)
    assert out.get_column("target").to_list() == [3, 1, 1]
    pro_rata = np.floor(wanted * 5 / wanted.sum())  # [1, 2, 1]
    assert out.get_column("target").to_list() != pro_rata.tolist()


def test_minimums_above_the_fleet_are_cut_and_reported() -> None:
    """When even the minimums exceed the fleet, minimums are cut by marginal value too and
    below_min says by how much."""
    zones = zones_frame(
        [
            {"zone_id": "a", "mean": 6.0, "q10": 3.0, "q50": 6.0, "q90": 9.0,
             "min_vehicles": 3},
            {"zone_id": "b", "mean": 0.2, "q10": 0.0, "q50": 0.0, "q90": 0.5,
             "min_vehicles": 3},
        ]
    )  # fmt: skip
    out = stock_targets(zones, fleet=4, params=TargetParams())
    assert out.get_column("target").to_list() == [3, 1]
    assert out.get_column("below_min").to_list() == [0, 2]
    assert float(out.get_column("expected_rides_target").sum()) == pytest.approx(
        brute_force_best(zones, 4, TargetParams())
    )


@st.composite
def cities(draw: st.DrawFn) -> pl.DataFrame:
    """Up to 4 zones with random quantiles, turnover and bounds."""
    n = draw(st.integers(1, 4))
    rows = []
    for i in range(n):
        q = sorted(draw(st.lists(st.floats(0, 15), min_size=3, max_size=3)))
        low = draw(st.integers(0, 3))
        high = draw(st.one_of(st.none(), st.integers(low, low + 5)))
        rows.append(
            {
                "zone_id": f"z{i}",
                "supply": draw(st.integers(0, 8)),
                "mean": draw(st.one_of(st.none(), st.floats(0, 20))),
                "q10": q[0],
                "q50": q[1],
                "q90": q[2],
                "rides_per_vehicle": draw(st.floats(0.5, 5)),
                "min_vehicles": low,
                "max_vehicles": high,
            }
        )
    return zones_frame(rows)


costs = st.floats(0.1, 10)


@settings(max_examples=60, deadline=None)
@given(zones=cities(), fleet=st.integers(0, 25), shortage=costs, idle=costs)
def test_properties(zones: pl.DataFrame, fleet: int, shortage: float, idle: float) -> None:
    """Targets never exceed the fleet, stay within bounds when the minimums fit, reach the
    brute-force optimum, and grow with the critical ratio (per zone when the fleet is
    ample; in total always)."""
    params = TargetParams(shortage_cost=shortage, idle_cost=idle)
    out = stock_targets(zones, fleet=fleet, params=params)
    target = out.get_column("target").to_numpy()
    low = out.get_column("min_vehicles").to_numpy()
    high = out.get_column("max_vehicles").fill_null(10**9).to_numpy()
    assert target.sum() <= fleet
    assert (target >= 0).all()
    assert (target <= np.maximum(high, 0)).all()
    if low.sum() <= fleet:
        assert (target >= low).all()
        assert (out.get_column("below_min") == 0).all()
    assert float(out.get_column("expected_rides_target").sum()) == pytest.approx(
        brute_force_best(zones, fleet, params), abs=1e-9
    )
    more = TargetParams(shortage_cost=shortage * 2, idle_cost=idle)
    out_more = stock_targets(zones, fleet=fleet, params=more)
    assert (out_more["newsvendor_target"] >= out["newsvendor_target"]).all()
    assert out_more["target"].sum() >= out["target"].sum()
    ample = 10**6
    assert (
        stock_targets(zones, fleet=ample, params=more)["target"]
        >= stock_targets(zones, fleet=ample, params=params)["target"]
    ).all()
