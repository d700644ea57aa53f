"""route_moves: constraints, brute-force optimum, errors, partial plans, depots."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcast.errors import InfeasiblePlanError
from fleetcast.planning.matrix import TravelMatrix
from fleetcast.planning.routing import (
    RoutePlan,
    RoutingParams,
    Truck,
    UnreachableError,
    route_moves,
    validate_plan,
)
from fleetcast.planning.vrp import int_matrix

FAST = RoutingParams(time_limit_s=0.3, prize_m_per_ride=3000.0)


@pytest.fixture
def city() -> tuple[pl.DataFrame, TravelMatrix]:
    """Two depots and five zones around a square kilometre."""
    nodes = pl.DataFrame(
        {
            "node_id": ["D1", "D2", "A", "B", "C", "E", "F"],
            "kind": ["depot", "depot", "zone", "zone", "zone", "zone", "zone"],
            "lat": [45.460, 45.470, 45.462, 45.468, 45.465, 45.461, 45.469],
            "lon": [9.190, 9.200, 9.195, 9.191, 9.199, 9.201, 9.196],
        }
    )
    matrix = TravelMatrix.from_coordinates(nodes["node_id"].to_list(), nodes["lat"], nodes["lon"])
    return nodes, matrix


def moves_frame(rows: list[tuple[str, str, str, int, float]]) -> pl.DataFrame:
    """Moves from (move_id, from_id, to_id, vehicles, rides_gained) tuples."""
    return pl.DataFrame(
        rows, schema=["move_id", "from_id", "to_id", "vehicles", "rides_gained"], orient="row"
    )


def assert_valid(
    plan: RoutePlan, moves: pl.DataFrame, trucks: list[Truck], m: TravelMatrix
) -> None:
    """The independent checker finds nothing wrong."""
    assert validate_plan(plan, moves, trucks, m) == []


def test_required_moves_all_served(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Required zone-to-zone moves bigger than a truck are split and all served, validly."""
    nodes, m = city
    moves = moves_frame(
        [("m1", "A", "B", 30, 5.0), ("m2", "C", "E", 4, 1.0), ("m3", "F", "A", 3, 0.0)]
    )
    trucks = [Truck("t1", capacity=20, depot_id="D1"), Truck("t2", capacity=25, depot_id="D1")]
    params = RoutingParams(time_limit_s=0.5, required=True)
    plan = route_moves(nodes, moves, matrix=m, trucks=trucks, params=params)
    assert plan.unserved.height == 0
    assert plan.served.group_by("move_id").agg(pl.col("vehicles").sum()).sort("move_id")[
        "vehicles"
    ].to_list() == [30, 4, 3]
    assert plan.is_feasible
    assert_valid(plan, moves, trucks, m)
    for route in plan.routes:
        assert route.stops[0].kind == route.stops[-1].kind == "depot"
        assert all(0 <= s.load_after <= route.capacity for s in route.stops)


def test_brute_force_optimum(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Two required moves on one truck: distance equals the best of all valid orders."""
    nodes, m = city
    moves = moves_frame([("m1", "A", "B", 3, 1.0), ("m2", "C", "F", 3, 1.0)])
    trucks = [Truck("t1", capacity=5, depot_id="D1")]
    plan = route_moves(
        nodes, moves, matrix=m, trucks=trucks, params=RoutingParams(time_limit_s=0.5, required=True)
    )
    used = sorted({"D1", "A", "B", "C", "F"})
    dist = int_matrix(m.subset(used).distance_m)
    ix = {n: i for i, n in enumerate(used)}
    events = [("A", 3), ("B", -3), ("C", 3), ("F", -3)]
    best = None
    for order in itertools.permutations(range(4)):
        pos = {e: k for k, e in enumerate(order)}
        if pos[0] > pos[1] or pos[2] > pos[3]:
            continue
        loads = np.cumsum([events[e][1] for e in order])
        if loads.max() > 5:
            continue
        path = ["D1", *(events[e][0] for e in order), "D1"]
        cost = sum(int(dist[ix[a], ix[b]]) for a, b in itertools.pairwise(path))
        best = cost if best is None else min(best, cost)
    assert plan.distance_m == best
    assert_valid(plan, moves, trucks, m)


def test_start_load_and_depot_moves(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Depot moves use the truck's start_load; returns go to the truck's end depot."""
    nodes, m = city
    moves = moves_frame([("out", "D1", "C", 6, 4.0), ("back", "E", "D2", 2, 1.0)])
    trucks = [Truck("t1", capacity=10, depot_id="D1", end_depot_id="D2", start_load=6)]
    plan = route_moves(
        nodes, moves, matrix=m, trucks=trucks, params=RoutingParams(time_limit_s=0.3, required=True)
    )
    (route,) = plan.routes
    assert route.stops[0].node_id == "D1" and route.stops[0].load_after == 6
    assert route.stops[-1].node_id == "D2" and route.stops[-1].load_after == 2
    assert_valid(plan, moves, trucks, m)


def test_depot_moves_need_start_load(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """More vehicles leaving a depot than its trucks carry is infeasible when required."""
    nodes, m = city
    moves = moves_frame([("out", "D1", "C", 8, 4.0)])
    trucks = [Truck("t1", capacity=10, depot_id="D1", start_load=5)]
    with pytest.raises(InfeasiblePlanError, match="start_load"):
        route_moves(
            nodes,
            moves,
            matrix=m,
            trucks=trucks,
            params=RoutingParams(time_limit_s=0.2, required=True),
        )


def test_several_depots(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Trucks from two depots each start and end at their own depot; returns go to the right one."""
    nodes, m = city
    moves = moves_frame(
        [
            ("a", "A", "B", 5, 3.0),
            ("b", "F", "E", 4, 3.0),
            ("r1", "C", "D1", 2, 2.0),
            ("r2", "E", "D2", 3, 2.0),
        ]
    )
    trucks = [Truck("t1", capacity=20, depot_id="D1"), Truck("t2", capacity=20, depot_id="D2")]
    plan = route_moves(
        nodes, moves, matrix=m, trucks=trucks, params=RoutingParams(time_limit_s=0.5, required=True)
    )
    assert plan.unserved.height == 0
    assert_valid(plan, moves, trucks, m)
    served = dict(zip(plan.served["move_id"], plan.served["truck_id"], strict=True))
    assert served["r1"] == "t1" and served["r2"] == "t2"


def test_no_trucks(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """No trucks is an InfeasiblePlanError."""
    nodes, m = city
    with pytest.raises(InfeasiblePlanError, match="no trucks"):
        route_moves(nodes, moves_frame([("m", "A", "B", 1, 1.0)]), matrix=m, trucks=[], params=FAST)


def test_unknown_node(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """A move to a node missing from nodes / matrix is an InfeasiblePlanError naming it."""
    nodes, m = city
    with pytest.raises(InfeasiblePlanError, match="ZZ"):
        route_moves(
            nodes,
            moves_frame([("m", "A", "ZZ", 1, 1.0)]),
            matrix=m,
            trucks=[Truck("t", 10, "D1")],
            params=FAST,
        )


def test_unreachable_node(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """An infinite matrix entry between needed nodes raises UnreachableError."""
    nodes, m = city
    d = np.array(m.distance_m)
    d[m.index("A"), m.index("B")] = np.inf
    broken = TravelMatrix(m.node_ids, d, np.array(m.duration_s))
    with pytest.raises(UnreachableError, match="A->B"):
        route_moves(
            nodes,
            moves_frame([("m", "A", "B", 1, 1.0)]),
            matrix=broken,
            trucks=[Truck("t", 10, "D1")],
            params=FAST,
        )


def test_required_beyond_shift(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Required moves that need more loading time than the shift allows are infeasible."""
    nodes, m = city
    moves = moves_frame([(f"m{i}", "A", "B", 10, 1.0) for i in range(10)])
    trucks = [Truck("t", capacity=10, depot_id="D1", shift_minutes=60)]
    with pytest.raises(InfeasiblePlanError, match=r"shift|serving"):
        route_moves(
            nodes,
            moves,
            matrix=m,
            trucks=trucks,
            params=RoutingParams(time_limit_s=0.3, required=True),
        )


def test_partial_plan_reasons(city: tuple[pl.DataFrame, TravelMatrix]) -> None:
    """Optional moves: worthless ones are 'not worth the detour', the rest hit the shift."""
    nodes, m = city
    moves = moves_frame(
        [("cheap", "A", "F", 1, 0.001)] + [(f"m{i}", "B", "C", 10, 50.0) for i in range(8)]
    )
    trucks = [Truck("t", capacity=10, depot_id="D1", shift_minutes=60)]
    plan = route_moves(nodes, moves, matrix=m, trucks=trucks, params=FAST)
    assert_valid(plan, moves, trucks, m)
    reasons = dict(zip(plan.unserved["move_id"], plan.unserved["reason"], strict=False))
    assert reasons["cheap"].startswith("not worth the detour")
    assert "no truck time left" in reasons.values()
    assert plan.routes[0].duration_s <= 3600


def test_params_from_mapping() -> None:
    """Parameters load from a TOML-like mapping and reject unknown keys and bad values."""
    assert RoutingParams.from_mapping({"time_limit_s": 5}).time_limit_s == 5
    with pytest.raises(ValueError, match="unknown key"):
        RoutingParams.from_mapping({"time_limt_s": 5})
    with pytest.raises(ValueError, match="capacity"):
        Truck.from_mapping({"truck_id": "t", "capacity": 0, "depot_id": "D"})
    with pytest.raises(ValueError, match="start_load"):
        Truck("t", capacity=5, depot_id="D", start_load=6)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "E", "F", "D1"]),
            st.sampled_from(["A", "B", "C", "E", "F", "D1"]),
            st.integers(1, 30),
            st.floats(0, 20),
        ),
        min_size=1,
        max_size=6,
    ),
    capacity=st.integers(5, 25),
    start_load=st.integers(0, 5),
)
def test_any_plan_is_valid(
    city: tuple[pl.DataFrame, TravelMatrix],
    moves: list[tuple[str, str, int, float]],
    capacity: int,
    start_load: int,
) -> None:
    """Random optional moves: whatever is planned passes every constraint check."""
    nodes, m = city
    rows = [(f"m{i}", a, b, v, r) for i, (a, b, v, r) in enumerate(moves) if a != b]
    if not rows:
        return
    frame = moves_frame(rows)
    trucks = [
        Truck("t1", capacity=capacity, depot_id="D1", start_load=min(start_load, capacity)),
        Truck("t2", capacity=20, depot_id="D2", end_depot_id="D1", shift_minutes=30),
    ]
    plan = route_moves(
        nodes, frame, matrix=m, trucks=trucks, params=RoutingParams(time_limit_s=0.2)
    )
    assert_valid(plan, frame, trucks, m)
