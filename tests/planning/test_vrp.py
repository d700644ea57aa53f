"""The generic PyVRP layer: integer matrices, problem checks, solving against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fleetcast.planning.vrp import (
    UNREACHABLE_INT,
    VrpClient,
    VrpProblem,
    VrpShipment,
    VrpVehicleType,
    VrpVisit,
    int_matrix,
    solve_vrp,
)


@pytest.fixture
def square() -> np.ndarray:
    """Depot 0 and four clients on the corners of a 10 x 10 square, rounded Euclidean."""
    xy = np.array([[5, 5], [0, 0], [0, 10], [10, 10], [10, 0]], dtype=float)
    return int_matrix(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))


def tour_length(dist: np.ndarray, clients: tuple[int, ...]) -> int:
    """Distance depot -> clients -> depot."""
    path = [0, *clients, 0]
    return int(sum(dist[a, b] for a, b in itertools.pairwise(path)))


def test_int_matrix_rounds_and_caps() -> None:
    """Half rounds up, inf becomes the unreachable constant, the diagonal is zero."""
    out = int_matrix([[3.0, 1.5], [np.inf, 2.0]])
    assert out.tolist() == [[0, 2], [UNREACHABLE_INT, 0]]
    assert out.dtype == np.int64


def test_problem_rejects_mixed_load_dimensions(square: np.ndarray) -> None:
    """A two-dimensional shipment with one-dimensional vehicles is a ValueError."""
    with pytest.raises(ValueError, match="same length"):
        VrpProblem(
            distance=square,
            depots=(0,),
            vehicle_types=(VrpVehicleType(capacity=(5,)),),
            shipments=(VrpShipment(1, 2, amount=(1, 1)),),
        )


def test_single_vehicle_matches_brute_force(square: np.ndarray) -> None:
    """One vehicle with room for all: the route is the shortest tour through the clients."""
    problem = VrpProblem(
        distance=square,
        depots=(0,),
        vehicle_types=(VrpVehicleType(capacity=(10,)),),
        clients=tuple(VrpClient(i, delivery=(1,)) for i in range(1, 5)),
    )
    result = solve_vrp(problem, time_limit_s=0.3, seed=1)
    best = min(tour_length(square, p) for p in itertools.permutations(range(1, 5)))
    assert result.is_feasible
    assert result.distance == best
    assert not result.unplanned_clients


def test_shipment_pickup_before_delivery(square: np.ndarray) -> None:
    """A shipment is picked up before it is delivered, on a warm-started route."""
    problem = VrpProblem(
        distance=square,
        depots=(0,),
        vehicle_types=(VrpVehicleType(capacity=(3,)),),
        shipments=(VrpShipment(3, 1, amount=(3,)),),
    )
    start = [[VrpVisit("pickup", 0, 3, 0), VrpVisit("delivery", 0, 1, 0)]]
    result = solve_vrp(problem, time_limit_s=0.2, initial_routes=start)
    assert result.is_feasible
    kinds = [(v.kind, v.location) for r in result.routes for v in r.visits]
    assert kinds == [("pickup", 3), ("delivery", 1)]


def test_time_limit_must_be_positive(square: np.ndarray) -> None:
    """A zero time limit is a ValueError before PyVRP is called."""
    problem = VrpProblem(
        distance=square, depots=(0,), vehicle_types=(VrpVehicleType(capacity=(1,)),)
    )
    with pytest.raises(ValueError, match="time_limit_s"):
        solve_vrp(problem, time_limit_s=0)
