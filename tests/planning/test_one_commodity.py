"""The unpaired one-commodity pickup-and-delivery solver against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcast.planning.one_commodity import (
    OneCommodityRoute,
    _RoutePool,
    best_order,
    check_one_commodity,
    load_range,
    local_search,
    route_cost,
    solve_one_commodity,
    split_tour,
    window_order,
)


def brute_force(requests: list[int], dist: np.ndarray, capacity: int) -> int | None:
    """Cheapest single route through every station whose load range fits the capacity."""
    best = None
    for perm in itertools.permutations(range(1, len(requests))):
        low, high = load_range([requests[s] for s in perm])
        if high - low <= capacity:
            cost = route_cost(perm, dist)
            best = cost if best is None else min(best, cost)
    return best


@pytest.fixture
def four_stations() -> tuple[list[int], np.ndarray]:
    """Depot + 4 stations on a line, asymmetric (uphill costs more)."""
    x = np.array([0, 1, 2, 3, 4])
    d = np.abs(x[:, None] - x[None, :]) * 100 + (x[None, :] > x[:, None]) * 10
    return [0, 3, -3, 2, -2], d.astype(np.int64)


def _make(stations: list[int], q: list[int], d: np.ndarray) -> OneCommodityRoute:
    """A route record (loads from the smallest start load) for the pool."""
    return OneCommodityRoute(tuple(stations), 0, (), route_cost(stations, d))


def test_load_range_rule() -> None:
    """The load range includes the empty prefix: [2, -5] spans 7."""
    assert load_range([2, -5]) == (-3, 2)
    assert load_range([]) == (0, 0)


def test_solver_matches_brute_force(four_stations: tuple[list[int], np.ndarray]) -> None:
    """With one vehicle the solver finds the brute-force optimum and passes the checker."""
    q, d = four_stations
    sol = solve_one_commodity(q, d, capacity=3, max_vehicles=1, time_limit_s=0.5)
    assert sol.is_feasible
    assert check_one_commodity(sol, q, d, capacity=3, max_vehicles=1) == []
    assert sol.cost == brute_force(q, d, 3)


def test_start_load_is_used() -> None:
    """A delivery station first needs bikes from the depot: start load 4."""
    d = np.array([[0, 1, 50], [50, 0, 1], [1, 50, 0]], dtype=np.int64)
    sol = solve_one_commodity([0, -4, 4], d, capacity=4, max_vehicles=1, time_limit_s=0.3)
    assert [r.stations for r in sol.routes] == [(1, 2)]
    assert sol.routes[0].start_load == 4
    assert sol.routes[0].loads == (0, 4)


def test_split_tour_respects_capacity(four_stations: tuple[list[int], np.ndarray]) -> None:
    """Split cuts a tour whose load range is too large into feasible routes."""
    q, d = four_stations
    routes = split_tour([1, 3, 2, 4], q, d, capacity=3)
    assert [s for r in routes for s in r] == [1, 3, 2, 4]
    assert all(
        load_range([q[s] for s in r])[1] - load_range([q[s] for s in r])[0] <= 3 for r in routes
    )


def test_bad_input_rejected() -> None:
    """A request above the capacity or a non-zero depot request is a ValueError."""
    d = np.zeros((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="capacity"):
        solve_one_commodity([0, 5], d, capacity=4, time_limit_s=0.1)
    with pytest.raises(ValueError, match="depot"):
        solve_one_commodity([1, 0], d, capacity=4, time_limit_s=0.1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=6),
    data=st.data(),
    capacity=st.integers(min_value=3, max_value=8),
)
def test_random_instances_optimal_and_feasible(n: int, data: st.DataObject, capacity: int) -> None:
    """Random small asymmetric instances: one vehicle, cost equals brute force, checker passes."""
    q = [0, *data.draw(st.lists(st.integers(-capacity, capacity), min_size=n, max_size=n))]
    d = np.array(
        data.draw(st.lists(st.integers(1, 100), min_size=(n + 1) ** 2, max_size=(n + 1) ** 2)),
        dtype=np.int64,
    ).reshape(n + 1, n + 1)
    np.fill_diagonal(d, 0)
    best = brute_force(q, d, capacity)
    if best is None:
        return  # no single route fits (e.g. two full pickups in a row always exceed)
    sol = solve_one_commodity(q, d, capacity=capacity, max_vehicles=1, time_limit_s=0.3, seed=1)
    assert sol.is_feasible, check_one_commodity(sol, q, d, capacity=capacity, max_vehicles=1)
    assert sol.cost == best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=6),
    data=st.data(),
    capacity=st.integers(min_value=3, max_value=8),
)
def test_best_order_is_brute_force(n: int, data: st.DataObject, capacity: int) -> None:
    """The exact reordering (Held-Karp over load-feasible subsets) equals brute force."""
    q = [0, *data.draw(st.lists(st.integers(-capacity, capacity), min_size=n, max_size=n))]
    d = np.array(
        data.draw(st.lists(st.integers(1, 100), min_size=(n + 1) ** 2, max_size=(n + 1) ** 2)),
        dtype=np.int64,
    ).reshape(n + 1, n + 1)
    np.fill_diagonal(d, 0)
    best = brute_force(q, d, capacity)
    order = best_order(range(1, n + 1), q, d, capacity=capacity)
    if best is None:
        assert order is None
        return
    assert order is not None and sorted(order) == list(range(1, n + 1))
    low, high = load_range([q[s] for s in order])
    assert high - low <= capacity
    assert route_cost(order, d) == best


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=9),
    width=st.integers(min_value=2, max_value=5),
    data=st.data(),
    capacity=st.integers(min_value=3, max_value=8),
)
def test_window_order_keeps_feasibility_and_beats_every_window_reordering(
    n: int, width: int, data: st.DataObject, capacity: int
) -> None:
    """Re-ordering windows exactly never costs more, keeps the route feasible, and leaves
    no single window that a brute-force reordering could still improve."""
    q = [0, *data.draw(st.lists(st.integers(-capacity, capacity), min_size=n, max_size=n))]
    d = np.array(
        data.draw(st.lists(st.integers(1, 100), min_size=(n + 1) ** 2, max_size=(n + 1) ** 2)),
        dtype=np.int64,
    ).reshape(n + 1, n + 1)
    np.fill_diagonal(d, 0)
    route = best_order(range(1, n + 1), q, d, capacity=10 * capacity * n)  # any order
    assert route is not None
    route = data.draw(st.permutations(route))
    low, high = load_range([q[s] for s in route])
    tight = max(high - low, capacity)  # a capacity the start route fits
    out = window_order(route, q, d, capacity=tight, width=width)
    assert sorted(out) == sorted(route)
    low, high = load_range([q[s] for s in out])
    assert high - low <= tight
    assert route_cost(out, d) <= route_cost(route, d)
    w = min(width, len(out))
    for i in range(len(out) - w + 1):
        for perm in itertools.permutations(out[i : i + w]):
            other = out[:i] + list(perm) + out[i + w :]
            lo, hi = load_range([q[s] for s in other])
            if hi - lo <= tight:
                assert route_cost(other, d) >= route_cost(out, d)


def test_window_order_over_the_whole_route_is_the_exact_order() -> None:
    """A window as wide as the route finds what ``best_order`` finds on a zig-zag route."""
    x = np.arange(8)
    d = (np.abs(x[:, None] - x[None, :]) * 10).astype(np.int64)
    q = [0, 1, 1, -1, -1, 1, -1, 0]
    route = [1, 3, 2, 4, 5, 6, 7]
    out = window_order(route, q, d, capacity=2, width=7)
    assert out == best_order(route, q, d, capacity=2)
    assert route_cost(out, d) < route_cost(route, d)


def test_best_order_declines_big_routes() -> None:
    """Beyond the work budget the exact reordering answers None instead of running long."""
    d = np.ones((13, 13), dtype=np.int64)
    assert best_order(range(1, 13), [0] * 13, d, capacity=5, max_work=1000) is None


def test_tight_route_needs_exact_order() -> None:
    """Start empty, end full: the route must fetch bikes at 2 before serving 1.

    Stations on a line: 1 (-2), 2 (+2), 3 (+3) with capacity 3 and one vehicle; the net load
    equals the capacity, so the vehicle starts empty and every feasible order visits 2
    before 1 and 3 after 1.
    """
    x = np.array([0, 1, 2, 3])
    d = (np.abs(x[:, None] - x[None, :]) * 10).astype(np.int64)
    q = [0, -2, 2, 3]
    sol = solve_one_commodity(q, d, capacity=3, max_vehicles=1, time_limit_s=0.3)
    assert sol.is_feasible
    assert sol.cost == brute_force(q, d, 3)


def test_pool_recombines_cheapest_partition(
    four_stations: tuple[list[int], np.ndarray],
) -> None:
    """Set partitioning picks the cheapest cover from routes of different solutions."""
    q, d = four_stations
    pool = _RoutePool()
    for stations in ([1, 2], [3, 4], [1, 2, 3, 4], [1], [2, 3, 4]):
        pool.add([_make(stations, q, d)])
    chosen = pool.best_partition(5, vehicles=2, time_limit_s=1.0)
    assert chosen is not None
    options = {
        (1, 2, 3, 4): route_cost([1, 2, 3, 4], d),
        (1, 2): route_cost([1, 2], d) + route_cost([3, 4], d),
        (1,): route_cost([1], d) + route_cost([2, 3, 4], d),
    }
    assert sum(r.cost for r in chosen) == min(options.values())
    assert sorted(s for r in chosen for s in r.stations) == [1, 2, 3, 4]
    one = pool.best_partition(5, vehicles=1, time_limit_s=1.0)
    assert one is not None and [r.stations for r in one] == [(1, 2, 3, 4)]


def _random_instance(data: st.DataObject, n: int, capacity: int) -> tuple[list[int], np.ndarray]:
    """Requests within +-capacity and an asymmetric integer matrix with a zero diagonal."""
    q = [0, *data.draw(st.lists(st.integers(-capacity, capacity), min_size=n, max_size=n))]
    d = np.array(
        data.draw(st.lists(st.integers(1, 100), min_size=(n + 1) ** 2, max_size=(n + 1) ** 2)),
        dtype=np.int64,
    ).reshape(n + 1, n + 1)
    np.fill_diagonal(d, 0)
    return q, d


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=9),
    data=st.data(),
    capacity=st.integers(min_value=3, max_value=8),
)
def test_strict_local_search_keeps_feasibility(n: int, data: st.DataObject, capacity: int) -> None:
    """From feasible routes the strict local search (or-opt with reversed chains, 2-opt with
    asymmetric reversal, 2-opt*, swaps, CROSS) returns feasible routes, never dearer."""
    q, d = _random_instance(data, n, capacity)
    stations = data.draw(st.permutations(list(range(1, n + 1))))
    start = split_tour(stations, q, d, capacity=capacity)
    routes = local_search(start, q, d, capacity=capacity, max_routes=n)
    assert sorted(s for r in routes for s in r) == list(range(1, n + 1))
    for r in routes:
        low, high = load_range([q[s] for s in r])
        assert high - low <= capacity
    assert sum(route_cost(r, d) for r in routes) <= sum(route_cost(r, d) for r in start)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=10),
    data=st.data(),
    capacity=st.integers(min_value=3, max_value=8),
    vehicles=st.one_of(st.none(), st.integers(min_value=2, max_value=4)),
)
def test_solutions_pass_the_checker(
    n: int, data: st.DataObject, capacity: int, vehicles: int | None
) -> None:
    """Several vehicles, restarts from the shaken best: every solution passes the checker."""
    q, d = _random_instance(data, n, capacity)
    sol = solve_one_commodity(
        q, d, capacity=capacity, max_vehicles=vehicles, time_limit_s=0.3, seed=2
    )
    errors = check_one_commodity(sol, q, d, capacity=capacity, max_vehicles=vehicles)
    assert sol.is_feasible == (errors == [])
    if vehicles is None:
        assert sol.is_feasible, errors


def test_local_search_counts_flipped_edges() -> None:
    """Reversing 2 3 4 pays off only through its inner edges, which the matrix prices apart.

    One vehicle, zero requests; the tour 1 2 3 4 has one dear edge 2 -> 3 whose reverse is
    cheap, and 1 4 3 2 costs 50: the move's delta must count the flipped inner edges (a
    symmetric 2-opt delta would see no gain in the two end edges alone).
    """
    d = np.full((5, 5), 100, dtype=np.int64)
    np.fill_diagonal(d, 0)
    d[0, 1] = d[1, 2] = d[3, 4] = d[4, 0] = 10  # the starting tour 0 1 2 3 4 0 ...
    d[2, 3] = 60  # ... has one dear edge
    d[1, 4] = d[4, 3] = d[3, 2] = d[2, 0] = 10  # 0 1 4 3 2 0 costs 50
    routes = local_search([[1, 2, 3, 4]], [0, 0, 0, 0, 0], d, capacity=3, max_routes=1)
    assert routes == [[1, 4, 3, 2]]
    assert route_cost(routes[0], d) == 50
