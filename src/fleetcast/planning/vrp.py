"""A small generic PyVRP layer: ``VrpProblem`` -> ``solve_vrp`` -> ``VrpResult``.

Depots, clients with delivery / pickup, paired shipments, vehicle types and an integer
matrix, in plain frozen dataclasses; PyVRP is imported only when a problem is solved. The
fleet layer (``routing.route_moves``), ``one_commodity`` and ``benchmarks/routing.py`` build
on it, so the benchmark measures the code path the product uses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "UNBOUNDED",
    "UNREACHABLE_INT",
    "VrpClient",
    "VrpProblem",
    "VrpResult",
    "VrpRoute",
    "VrpShipment",
    "VrpVehicleType",
    "VrpVisit",
    "int_matrix",
    "solve_vrp",
]

UNBOUNDED = 2**62
UNREACHABLE_INT = 10**12


@dataclass(frozen=True)
class VrpClient:
    """A stop at ``location`` delivering goods loaded at the start depot and/or picking up."""

    location: int
    delivery: tuple[int, ...] = ()
    pickup: tuple[int, ...] = ()
    service_s: int = 0
    prize: int = 0
    required: bool = True
    name: str = ""


@dataclass(frozen=True)
class VrpShipment:
    """Goods picked up at one location and delivered at another by the same vehicle."""

    pickup_location: int
    delivery_location: int
    amount: tuple[int, ...]
    pickup_service_s: int = 0
    delivery_service_s: int = 0
    prize: int = 0
    required: bool = True
    name: str = ""


@dataclass(frozen=True)
class VrpVehicleType:
    """Vehicles sharing capacity (per load dimension), depots (indices into depots), shift."""

    capacity: tuple[int, ...]
    start_depot: int = 0
    end_depot: int = 0
    num_available: int = 1
    shift_duration_s: int = UNBOUNDED
    name: str = ""


@dataclass(frozen=True)
class VrpProblem:
    """An integer routing problem: ``distance`` / ``duration`` over locations 0..n-1."""

    distance: npt.NDArray[np.int64]
    depots: tuple[int, ...]
    vehicle_types: tuple[VrpVehicleType, ...]
    clients: tuple[VrpClient, ...] = ()
    shipments: tuple[VrpShipment, ...] = ()
    duration: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = self.distance.shape[0]
        if self.distance.shape != (n, n):
            raise ValueError("distance must be a square matrix")
        if self.duration is not None and self.duration.shape != (n, n):
            raise ValueError("duration must have the shape of distance")
        if not self.depots:
            raise ValueError("depots must hold at least one location")
        if not self.vehicle_types:
            raise ValueError("vehicle_types must hold at least one vehicle type")
        dims = {len(v.capacity) for v in self.vehicle_types}
        dims |= {len(c.delivery) for c in self.clients if c.delivery}
        dims |= {len(c.pickup) for c in self.clients if c.pickup}
        dims |= {len(s.amount) for s in self.shipments}
        if len(dims) > 1:
            raise ValueError(f"every load vector must have the same length, got {sorted(dims)}")


@dataclass(frozen=True)
class VrpVisit:
    """One activity of a solved route: a client (``index`` into clients) or a shipment step."""

    kind: Literal["client", "pickup", "delivery"]
    index: int
    location: int
    start_s: int


@dataclass(frozen=True)
class VrpRoute:
    """A solved route: the vehicle type, its visits in order, distance and duration."""

    vehicle_type: int
    visits: tuple[VrpVisit, ...]
    distance: int
    duration: int
    is_feasible: bool


@dataclass(frozen=True)
class VrpResult:
    """PyVRP's best solution in plain objects."""

    routes: tuple[VrpRoute, ...]
    cost: float
    distance: int
    is_feasible: bool
    unplanned_clients: frozenset[int]
    unplanned_shipments: frozenset[int]
    solve_seconds: float
    iterations: int


def int_matrix(
    values: npt.ArrayLike, *, unreachable: int = UNREACHABLE_INT
) -> npt.NDArray[np.int64]:
    """Round a float matrix to integers (PyVRP needs ints); ``inf`` becomes ``unreachable``."""
    arr = np.asarray(values, dtype=float)
    out = np.where(np.isfinite(arr), np.floor(arr + 0.5), float(unreachable))
    result = np.minimum(out, float(unreachable)).astype(np.int64)
    np.fill_diagonal(result, 0)
    return result


def _build_data(problem: VrpProblem) -> Any:
    """PyVRP ``ProblemData`` for ``problem`` (matrices set in one go, not edge by edge)."""
    from pyvrp import Model

    model = Model()
    n = problem.distance.shape[0]
    locations = [model.add_location(x=float(i), y=0.0) for i in range(n)]
    depots = [model.add_depot(locations[loc]) for loc in problem.depots]
    for vt in problem.vehicle_types:
        model.add_vehicle_type(
            num_available=vt.num_available,
            capacity=list(vt.capacity),
            start_depot=depots[vt.start_depot],
            end_depot=depots[vt.end_depot],
            shift_duration=vt.shift_duration_s,
            name=vt.name,
        )
    dims = len(problem.vehicle_types[0].capacity)
    zero = [0] * dims
    for c in problem.clients:
        model.add_client(
            locations[c.location],
            delivery=list(c.delivery) or zero,
            pickup=list(c.pickup) or zero,
            service_duration=c.service_s,
            prize=c.prize,
            required=c.required,
            name=c.name,
        )
    for s in problem.shipments:
        model.add_shipment(
            locations[s.pickup_location],
            locations[s.delivery_location],
            pickup_service_duration=s.pickup_service_s,
            delivery_service_duration=s.delivery_service_s,
            amount=list(s.amount),
            prize=s.prize,
            required=s.required,
            name=s.name,
        )
    duration = problem.duration if problem.duration is not None else np.zeros_like(problem.distance)
    distances: list[Any] = [np.asarray(problem.distance, dtype=np.int64)]
    durations: list[Any] = [np.asarray(duration, dtype=np.int64)]
    return model.data().replace(distance_matrices=distances, duration_matrices=durations)


def _visit_activity(visit: VrpVisit) -> Any:
    from pyvrp import Activity, ActivityType

    kind = {
        "client": ActivityType.CLIENT,
        "pickup": ActivityType.PICKUP,
        "delivery": ActivityType.DELIVERY,
    }[visit.kind]
    return Activity(kind, visit.index)


def solve_vrp(
    problem: VrpProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    no_improvement: int | None = None,
    initial_routes: Sequence[Sequence[VrpVisit]] | None = None,
    initial_vehicle_types: Sequence[int] | None = None,
) -> VrpResult:
    """Solve ``problem`` with PyVRP's iterated local search for at most ``time_limit_s``.

    ``no_improvement`` also stops after that many iterations without a better solution;
    ``initial_routes`` (visits per route, on ``initial_vehicle_types``, default type 0)
    warm-start the search.
    """
    from pyvrp import Route, Solution, solve
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s!r}")
    data = _build_data(problem)
    initial = None
    if initial_routes is not None:
        types = list(initial_vehicle_types or [0] * len(initial_routes))
        routes = [
            Route(data, [_visit_activity(v) for v in visits], vt)
            for visits, vt in zip(initial_routes, types, strict=True)
            if visits
        ]
        initial = Solution(data, routes)
    stop: Any = MaxRuntime(time_limit_s)
    if no_improvement is not None:
        stop = MultipleCriteria([stop, NoImprovement(no_improvement)])
    started = time.perf_counter()
    result = solve(
        data, stop=stop, seed=seed, collect_stats=False, display=False, initial_solution=initial
    )
    elapsed = time.perf_counter() - started
    best = result.best
    routes_out: list[VrpRoute] = []
    planned_clients: set[int] = set()
    planned_shipments: set[int] = set()
    for route in best.routes():
        visits: list[VrpVisit] = []
        for act in route.schedule():
            if act.is_depot():
                continue
            if act.is_client():
                kind: Literal["client", "pickup", "delivery"] = "client"
                loc = problem.clients[act.idx].location
                planned_clients.add(act.idx)
            elif act.is_pickup():
                kind = "pickup"
                loc = problem.shipments[act.idx].pickup_location
                planned_shipments.add(act.idx)
            else:
                kind = "delivery"
                loc = problem.shipments[act.idx].delivery_location
            visits.append(VrpVisit(kind, int(act.idx), loc, int(act.start_time)))
        routes_out.append(
            VrpRoute(
                vehicle_type=int(route.vehicle_type()),
                visits=tuple(visits),
                distance=int(route.distance()),
                duration=int(route.duration()),
                is_feasible=bool(route.is_feasible()),
            )
        )
    return VrpResult(
        routes=tuple(routes_out),
        cost=float(result.cost()),
        distance=int(best.distance()),
        is_feasible=bool(best.is_feasible()),
        unplanned_clients=frozenset(set(range(len(problem.clients))) - planned_clients),
        unplanned_shipments=frozenset(set(range(len(problem.shipments))) - planned_shipments),
        solve_seconds=elapsed,
        iterations=int(result.num_iterations),
    )
