"""Moves: least-distance transport of surplus to deficits, checked against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.planning.moves import (
    MOVE_SCHEMA,
    MoveParams,
    assign_vehicles,
    plan_moves,
    solve_moves,
)
from fleetcast.planning.targets import TargetParams, expected_rides, stock_targets

INF = math.inf
KEEP_ALL = MoveParams(drop_unprofitable=False)


def targets_frame(
    supply: list[int], target: list[int], q50: list[float] | None = None
) -> pl.DataFrame:
    """Zones z0, z1, ... with the given supply and target; demand q10/q50/q90 around q50
    (default 5 trips) and 1 ride per vehicle."""
    q = np.asarray(q50 if q50 is not None else [5.0] * len(supply), dtype=float)
    return pl.DataFrame(
        {
            "zone_id": [f"z{i}" for i in range(len(supply))],
            "supply": supply,
            "target": target,
            "mean": q,
            "q10": q * 0.5,
            "q50": q,
            "q90": q * 1.6,
            "rides_per_vehicle": [1.0] * len(supply),
        }
    )


def ok_small() -> tuple[pl.DataFrame, list[str], np.ndarray]:
    """Three zones on a line 0 m, 1000 m, 3000 m: z0 has 3 too many, z1 and z2 lack 2."""
    targets = targets_frame([5, 1, 0], [2, 3, 2])
    pos = np.array([0.0, 1000.0, 3000.0])
    return targets, ["z0", "z1", "z2"], np.abs(pos[:, None] - pos[None, :])


def brute_force(source_cap: list[int], sink_cap: list[int], cost: np.ndarray) -> tuple[int, float]:
    """(most vehicles movable, least total distance moving that many) by enumerating every
    integer flow over the finite pairs."""
    pairs = [(i, j) for i in range(len(source_cap)) for j in range(len(sink_cap))
             if np.isfinite(cost[i, j])]  # fmt: skip
    ranges = [range(min(source_cap[i], sink_cap[j]) + 1) for i, j in pairs]
    best = (0, 0.0)
    for flows in itertools.product(*ranges):
        out = [0] * len(source_cap)
        into = [0] * len(sink_cap)
        for (i, j), x in zip(pairs, flows, strict=True):
            out[i] += x
            into[j] += x
        if any(o > c for o, c in zip(out, source_cap, strict=True)):
            continue
        if any(o > c for o, c in zip(into, sink_cap, strict=True)):
            continue
        total = sum(flows)
        distance = sum(cost[i, j] * x for (i, j), x in zip(pairs, flows, strict=True))
        if total > best[0] or (total == best[0] and distance < best[1]):
            best = (total, distance)
    return best


def test_params_check_themselves_and_load_from_a_table() -> None:
    """Bad values are refused naming the field; unknown TOML keys are refused."""
    assert MoveParams.from_mapping({"max_move_distance_m": 2000}).max_move_distance_m == 2000
    with pytest.raises(ValueError, match="max_move_distance_m"):
        MoveParams(max_move_distance_m=-1.0)
    with pytest.raises(ValueError, match="min_vehicles_per_move"):
        MoveParams(min_vehicles_per_move=0)
    with pytest.raises(ValueError, match="unknown key"):
        MoveParams.from_mapping({"max_distance": 5})


def test_ok_small_moves_nearest_first() -> None:
    """z0's 3 spare vehicles: 2 to z1 at 1000 m and 1 to z2 at 3000 m (the only plan that
    moves 3); z2's second missing vehicle is reported as short of supply."""
    targets, nodes, dist = ok_small()
    plan = solve_moves(targets, node_ids=nodes, distance_m=dist, params=KEEP_ALL)
    moves = plan.moves.sort("to_id")
    assert moves.schema == pl.Schema(MOVE_SCHEMA)
    assert moves.select("from_id", "to_id", "vehicles", "distance_m").rows() == [
        ("z0", "z1", 2, 1000.0),
        ("z0", "z2", 1, 3000.0),
    ]
    assert sorted(plan.moves.get_column("move_id")) == ["M001", "M002"]
    assert plan.unmet.rows() == [("z2", 2, 1, 1, "no_supply")]
    assert plan.spare.select("from_id", "left").rows() == [("z0", 0)]


def test_rides_gained_add_up_to_the_change_in_expected_rides() -> None:
    """The moves' rides_gained sum to expected rides after the moves minus before."""
    targets, nodes, dist = ok_small()
    plan = solve_moves(targets, node_ids=nodes, distance_m=dist, params=KEEP_ALL)
    before = expected_rides(targets, targets.get_column("supply")).sum()
    after = expected_rides(targets, np.array([2, 3, 1])).sum()
    assert plan.rides_gained == pytest.approx(after - before)
    assert (plan.moves.get_column("rides_gained") > 0).all()


def test_depot_stock_is_a_source() -> None:
    """A depot next to the deficits supplies what the zones cannot; its moves are marked
    depot moves."""
    targets = targets_frame([4, 0, 0], [3, 2, 2])
    nodes = ["z0", "z1", "z2", "D"]
    dist = np.array(
        [[0, 5000, 5000, 9000], [5000, 0, 100, 50], [5000, 100, 0, 60], [9000, 50, 60, 0]],
        dtype=float,
    )
    plan = solve_moves(
        targets, node_ids=nodes, distance_m=dist, depot_stock={"D": 3}, params=KEEP_ALL
    )
    assert plan.vehicles_moved == 4  # min(1 + 3, 4)
    depot = plan.moves.filter(pl.col("from_id") == "D")
    assert depot.get_column("vehicles").sum() == 3
    assert set(depot.get_column("from_kind")) == {"depot"}
    assert plan.unmet.height == 0
    with pytest.raises(ValueError, match="node_ids"):
        solve_moves(targets, node_ids=nodes, distance_m=dist, depot_stock={"X": 1})


def test_unreachable_pairs_are_never_used() -> None:
    """An infinite distance (or one beyond max_move_distance_m) is never used; a deficit
    no source can reach is left and reported as unreachable."""
    targets = targets_frame([3, 0, 0], [0, 2, 2])
    dist = np.array([[0, 800, INF], [800, 0, 100], [INF, 100, 0]], dtype=float)
    plan = solve_moves(targets, node_ids=["z0", "z1", "z2"], distance_m=dist, params=KEEP_ALL)
    assert plan.moves.select("from_id", "to_id", "vehicles").rows() == [("z0", "z1", 2)]
    assert plan.unmet.rows() == [("z2", 2, 0, 2, "unreachable")]
    near = MoveParams(max_move_distance_m=500.0, drop_unprofitable=False)
    plan = solve_moves(targets, node_ids=["z0", "z1", "z2"], distance_m=dist, params=near)
    assert plan.moves.height == 0
    assert plan.unmet.get_column("reason").to_list() == ["unreachable", "unreachable"]


def test_moves_that_gain_nothing_are_dropped_when_asked() -> None:
    """A zone whose minimum asks for vehicles nobody will ride gains nothing from them,
    while the busy source loses rides: the move is dropped (reported as dropped) unless
    drop_unprofitable is off."""
    targets = targets_frame([6, 0], [4, 2], q50=[10.0, 0.0]).with_columns(
        mean=pl.Series([10.0, 0.0])
    )
    dist = np.array([[0.0, 300.0], [300.0, 0.0]])
    kept, _ = plan_moves(targets, node_ids=["z0", "z1"], distance_m=dist, params=KEEP_ALL)
    assert kept.get_column("vehicles").to_list() == [2]
    assert kept.get_column("rides_gained")[0] < 0
    plan = solve_moves(targets, node_ids=["z0", "z1"], distance_m=dist, params=MoveParams())
    assert plan.moves.height == 0
    assert plan.unmet.rows() == [("z1", 2, 0, 2, "dropped")]


def test_nothing_to_move() -> None:
    """Balanced zones, or no zones at all, give no moves and nothing unmet."""
    targets, nodes, dist = ok_small()
    balanced = targets.with_columns(target=pl.col("supply"))
    moves, unmet = plan_moves(balanced, node_ids=nodes, distance_m=dist)
    assert (moves.height, unmet.height) == (0, 0)
    assert moves.schema == pl.Schema(MOVE_SCHEMA)
    plan = solve_moves(targets.head(0), node_ids=[], distance_m=np.zeros((0, 0)))
    assert plan.vehicles_moved == 0
    assert plan.rides_gained == 0.0


def test_small_moves_are_dropped() -> None:
    """Moves of fewer vehicles than min_vehicles_per_move are dropped."""
    targets, nodes, dist = ok_small()
    params = MoveParams(min_vehicles_per_move=2, drop_unprofitable=False)
    plan = solve_moves(targets, node_ids=nodes, distance_m=dist, params=params)
    assert plan.moves.select("to_id", "vehicles").rows() == [("z1", 2)]


def test_bad_input_is_refused() -> None:
    """A distance matrix of the wrong shape, a NaN distance or a zone missing from
    node_ids is an error."""
    targets, nodes, dist = ok_small()
    with pytest.raises(ValueError, match="shape"):
        plan_moves(targets, node_ids=nodes, distance_m=dist[:2])
    with pytest.raises(ValueError, match="NaN"):
        plan_moves(targets, node_ids=nodes, distance_m=np.where(dist > 2000, np.nan, dist))
    with pytest.raises(ValueError, match="z2"):
        plan_moves(targets, node_ids=["z0", "z1", "x"], distance_m=dist)


@st.composite
def instances(draw: st.DrawFn) -> tuple[pl.DataFrame, list[str], np.ndarray, dict[str, int]]:
    """Up to 5 zones and a depot with random supply, targets and some unreachable pairs."""
    n = draw(st.integers(1, 5))
    supply = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    target = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    size = n + 1
    values = draw(
        st.lists(
            st.one_of(st.just(INF), st.integers(0, 5000).map(float)),
            min_size=size * size,
            max_size=size * size,
        )
    )
    dist = np.array(values).reshape(size, size)
    np.fill_diagonal(dist, 0.0)
    stock = draw(st.integers(0, 2))
    nodes = [f"z{i}" for i in range(n)] + ["D"]
    return targets_frame(supply, target), nodes, dist, {"D": stock}


@settings(max_examples=80, deadline=None)
@given(instance=instances())
def test_least_distance_against_brute_force(
    instance: tuple[pl.DataFrame, list[str], np.ndarray, dict[str, int]],
) -> None:
    """On tiny instances the plan moves the most vehicles any integer flow can, at the
    least total distance; flows stay within surpluses and deficits, and only finite pairs
    are used."""
    targets, nodes, dist, stock = instance
    plan = solve_moves(targets, node_ids=nodes, distance_m=dist, depot_stock=stock,
                       params=KEEP_ALL)  # fmt: skip
    supply = targets.get_column("supply").to_numpy()
    target = targets.get_column("target").to_numpy()
    surplus = dict(zip(nodes, [*np.maximum(supply - target, 0).tolist(), stock["D"]], strict=True))
    deficit = dict(zip(nodes, np.maximum(target - supply, 0).tolist(), strict=False))
    sources = [k for k in nodes if surplus[k] > 0]
    sinks = [k for k in nodes[:-1] if deficit[k] > 0]
    index = {k: i for i, k in enumerate(nodes)}
    cost = dist[np.ix_([index[k] for k in sources], [index[k] for k in sinks])]
    best_total, best_cost = brute_force(
        [surplus[k] for k in sources], [deficit[k] for k in sinks], cost
    )
    moves = plan.moves
    assert plan.vehicles_moved == best_total
    total_cost = float((moves["vehicles"] * moves["distance_m"]).sum())
    assert total_cost == pytest.approx(best_cost)
    if np.isfinite(cost).all():
        assert best_total == min(sum(surplus.values()), sum(deficit.values()))
    for from_id, out in moves.group_by("from_id").agg(pl.col("vehicles").sum()).iter_rows():
        assert out <= surplus[from_id]
    for to_id, into in moves.group_by("to_id").agg(pl.col("vehicles").sum()).iter_rows():
        assert into <= deficit[to_id]
    for from_id, to_id, d in moves.select("from_id", "to_id", "distance_m").iter_rows():
        assert math.isfinite(d)
        assert d == dist[index[from_id], index[to_id]]
    assert (moves["vehicles"] >= 1).all()
    assert moves["move_id"].to_list() == [f"M{k:03d}" for k in range(1, moves.height + 1)]
    unmet = dict(plan.unmet.select("zone_id", "vehicles").iter_rows())
    moved_in = dict(moves.group_by("to_id").agg(pl.col("vehicles").sum()).iter_rows())
    for zone in sinks:
        assert unmet.get(zone, 0) == deficit[zone] - moved_in.get(zone, 0)


def test_five_hundred_zones() -> None:
    """A 500-zone city with a depot (about 250 x 250 pairs) is planned in one go; every
    deficit is met when the spare vehicles suffice (timed in the report, not asserted)."""
    rng = np.random.default_rng(7)
    n = 500
    q50 = rng.gamma(2.0, 5.0, n)
    zones = pl.DataFrame(
        {
            "zone_id": [f"z{i:03d}" for i in range(n)],
            "supply": rng.poisson(6, n),
            "mean": q50 * 1.1,
            "q10": q50 * 0.5,
            "q50": q50,
            "q90": q50 * 1.8,
            "rides_per_vehicle": rng.uniform(1, 4, n),
            "min_vehicles": np.zeros(n, dtype=np.int64),
            "max_vehicles": pl.Series([None] * n, dtype=pl.Int64),
        }
    )
    targets = stock_targets(zones, fleet=int(zones["supply"].sum()), params=TargetParams())
    xy = rng.uniform(0, 10_000, (n + 1, 2))
    dist = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=-1)
    nodes = [*zones["zone_id"].to_list(), "D"]
    plan = solve_moves(targets, node_ids=nodes, distance_m=dist, depot_stock={"D": 30},
                       params=KEEP_ALL)  # fmt: skip
    deficit = int((targets["target"] - targets["supply"]).clip(lower_bound=0).sum())
    surplus = int((targets["supply"] - targets["target"]).clip(lower_bound=0).sum()) + 30
    assert plan.vehicles_moved == min(deficit, surplus)


def fleet_state() -> pl.DataFrame:
    """Vehicles of z0: two usable with battery 90 and 40, a disabled 99, a reserved 95, one
    without a battery reading, and a usable one in z1."""
    return pl.DataFrame(
        {
            "vehicle_id": ["v1", "v2", "v3", "v4", "v5", "v6"],
            "zone_id": ["z0", "z0", "z0", "z0", "z0", "z1"],
            "battery_pct": [40.0, 90.0, 99.0, 95.0, None, 80.0],
            "is_disabled": [False, False, True, False, False, False],
            "is_reserved": [False, False, False, True, False, False],
            "lat": [41.9] * 6,
            "lon": [-87.6] * 6,
        }
    )


def test_assign_vehicles_takes_usable_ones_highest_battery_first() -> None:
    """Two moves from z0 take v2 (90 %) then v1 (40 %) and v5 (unknown battery), never the
    disabled or reserved ones, never one twice; a depot move takes no zone vehicles."""
    moves = pl.DataFrame(
        {
            "move_id": ["M001", "M002", "M003"],
            "from_id": ["z0", "z0", "D"],
            "from_kind": ["zone", "zone", "depot"],
            "to_id": ["z2", "z3", "z2"],
            "vehicles": [1, 3, 2],
            "distance_m": [1.0, 2.0, 3.0],
            "rides_gained": [1.0, 1.0, 1.0],
        }
    )
    out = assign_vehicles(moves, fleet_state())
    assert out.get_column("vehicle_ids").to_list() == [["v2"], ["v1", "v5"], []]
    low_battery_out = assign_vehicles(moves, fleet_state(), min_battery_pct=50.0)
    assert low_battery_out.get_column("vehicle_ids").to_list() == [["v2"], ["v5"], []]


@settings(max_examples=50, deadline=None)
@given(
    batteries=st.lists(
        st.tuples(st.integers(0, 2), st.one_of(st.none(), st.floats(0, 100)), st.booleans(),
                  st.booleans()),
        min_size=0, max_size=12,
    ),
    counts=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4)), min_size=0, max_size=5),
)  # fmt: skip
def test_assign_vehicles_properties(
    batteries: list[tuple[int, float | None, bool, bool]], counts: list[tuple[int, int]]
) -> None:
    """Whatever the fleet and moves, no vehicle is taken twice, none is disabled or
    reserved, each comes from its move's zone and no move gets more than it asks."""
    vehicles = pl.DataFrame(
        {
            "vehicle_id": [f"v{i}" for i in range(len(batteries))],
            "zone_id": [f"z{z}" for z, _, _, _ in batteries],
            "battery_pct": [b for _, b, _, _ in batteries],
            "is_disabled": [d for _, _, d, _ in batteries],
            "is_reserved": [r for _, _, _, r in batteries],
            "lat": [0.0] * len(batteries),
            "lon": [0.0] * len(batteries),
        },
        schema_overrides={"battery_pct": pl.Float64, "zone_id": pl.String},
    )
    moves = pl.DataFrame(
        {
            "move_id": [f"M{k + 1:03d}" for k in range(len(counts))],
            "from_id": [f"z{z}" for z, _ in counts],
            "to_id": ["x"] * len(counts),
            "vehicles": [c for _, c in counts],
        },
        schema_overrides={"from_id": pl.String, "vehicles": pl.Int64},
    )
    out = assign_vehicles(moves, vehicles)
    by_id = {row["vehicle_id"]: row for row in vehicles.iter_rows(named=True)}
    taken: list[str] = []
    for from_id, count, ids in out.select("from_id", "vehicles", "vehicle_ids").iter_rows():
        assert len(ids) <= count
        for vid in ids:
            assert by_id[vid]["zone_id"] == from_id
            assert not by_id[vid]["is_disabled"]
            assert not by_id[vid]["is_reserved"]
        taken += ids
    assert len(taken) == len(set(taken))
