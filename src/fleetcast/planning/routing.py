"""Truck routes that carry the rebalancing moves, solved by PyVRP within a time budget.

The fleet layer: moves (zone -> zone, depot -> zone, zone -> depot) and trucks become a
problem of the generic PyVRP layer (``fleetcast.planning.vrp``), the solution becomes a
``RoutePlan`` of stops, and ``validate_plan`` re-checks any plan against the constraints
independently.

Modelling (see ``route_moves``): a zone -> zone move is a shipment (pickup then delivery on
the same truck); a depot -> zone move is a client delivery loaded at the truck's start depot,
with one extra load dimension per source depot whose capacity is the truck's ``start_load``
(0 for trucks starting elsewhere); a zone -> depot move is a client pickup with one extra
load dimension per target depot whose capacity is non-zero only for trucks ending there.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.errors import InfeasiblePlanError
from fleetcast.planning.matrix import TravelMatrix, UnreachableError
from fleetcast.planning.vrp import (
    VrpClient,
    VrpProblem,
    VrpRoute,
    VrpShipment,
    VrpVehicleType,
    int_matrix,
    solve_vrp,
)

__all__ = [
    "InfeasiblePlanError",
    "RoutePlan",
    "RouteStop",
    "RoutingParams",
    "Truck",
    "TruckRoute",
    "UnreachableError",
    "route_moves",
    "validate_plan",
]

UNSERVED_SCHEMA = {
    "move_id": pl.Utf8,
    "from_id": pl.Utf8,
    "to_id": pl.Utf8,
    "vehicles": pl.Int64,
    "reason": pl.Utf8,
}
SERVED_SCHEMA = {"move_id": pl.Utf8, "truck_id": pl.Utf8, "vehicles": pl.Int64}


def _from_mapping_check(cls: type, data: Mapping[str, Any]) -> None:
    """Reject keys that are not fields of the dataclass ``cls`` (typos in fleetcast.toml)."""
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(known))}"
        )


@dataclass(frozen=True)
class Truck:
    """A rebalancing truck: capacity in vehicles, depots, vehicles on board, shift length.

    ``start_load`` is how many vehicles are loaded at ``depot_id`` before the shift and
    available for the depot -> zone moves; the truck carries out only those its moves
    deliver (the first stop's ``load_after`` is that number, at most ``start_load``).
    ``end_depot_id`` None means it returns to ``depot_id``.
    """

    truck_id: str
    capacity: int
    depot_id: str
    end_depot_id: str | None = None
    start_load: int = 0
    shift_minutes: int = 480

    def __post_init__(self) -> None:
        if not self.truck_id:
            raise ValueError("truck_id must be a non-empty string")
        if not (isinstance(self.capacity, int) and 1 <= self.capacity <= 1000):
            raise ValueError(f"capacity must be an integer in 1..1000, got {self.capacity!r}")
        if not (isinstance(self.start_load, int) and 0 <= self.start_load <= self.capacity):
            raise ValueError(
                f"start_load must be an integer in 0..capacity ({self.capacity}), "
                f"got {self.start_load!r}"
            )
        if not (isinstance(self.shift_minutes, int) and 1 <= self.shift_minutes <= 24 * 60):
            raise ValueError(
                f"shift_minutes must be an integer in 1..1440, got {self.shift_minutes!r}"
            )

    @property
    def end_depot(self) -> str:
        """The depot the truck ends at."""
        return self.end_depot_id if self.end_depot_id is not None else self.depot_id

    @property
    def shift_s(self) -> int:
        """Shift length in seconds."""
        return self.shift_minutes * 60

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Truck:
        """A truck from a ``fleetcast.toml`` table; unknown keys are rejected."""
        _from_mapping_check(cls, data)
        return cls(**dict(data))


@dataclass(frozen=True)
class RoutingParams:
    """How routes are searched and what a served move is worth.

    ``prize_m_per_ride``: metres of driving one expected ride gained is worth (a move is
    served only if its rides pay for the detour, unless ``required``). The default, 8 km,
    weighs a ride's revenue (about 3 EUR) against a van's running cost (about 0.35 EUR/km;
    the driver's shift is paid either way); set your own ratio in [planning.routing].
    """

    time_limit_s: float = 30.0
    seed: int = 0
    service_s_per_vehicle: int = 45
    stop_s: int = 120
    prize_m_per_ride: float = 8000.0
    required: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit_s) and 0 < self.time_limit_s <= 3600):
            raise ValueError(f"time_limit_s must be in (0, 3600], got {self.time_limit_s!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("service_s_per_vehicle", "stop_s"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 3600:
                raise ValueError(f"{name} must be an integer in 0..3600 seconds, got {value!r}")
        if not (math.isfinite(self.prize_m_per_ride) and self.prize_m_per_ride >= 0):
            raise ValueError(
                f"prize_m_per_ride must be a non-negative number, got {self.prize_m_per_ride!r}"
            )
        if not isinstance(self.required, bool):
            raise ValueError(f"required must be true or false, got {self.required!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RoutingParams:
        """Parameters from a ``fleetcast.toml`` table; unknown keys are rejected."""
        _from_mapping_check(cls, data)
        return cls(**dict(data))


@dataclass(frozen=True)
class RouteStop:
    """One stop of a truck: what is loaded / unloaded there and the load after it.

    ``arrival_s`` counts seconds from the start of the shift (service starts on arrival).
    """

    seq: int
    node_id: str
    kind: str
    lat: float
    lon: float
    pickup: int
    dropoff: int
    load_after: int
    arrival_s: int
    move_ids: tuple[str, ...]


@dataclass(frozen=True)
class TruckRoute:
    """A truck's route: depot, stops in order, depot; distance in metres, duration in s."""

    truck_id: str
    capacity: int
    start_load: int
    depot_id: str
    end_depot_id: str
    distance_m: int
    duration_s: int
    stops: list[RouteStop]


@dataclass(frozen=True)
class RoutePlan:
    """The routes for the moves, and what was served and left undone.

    ``routes`` holds only trucks that serve at least one move. ``served`` has one row per
    (move_id, truck_id) with the vehicles that truck carries for the move; ``unserved``
    one row per (move, reason) with the vehicles left undone.
    """

    routes: list[TruckRoute]
    served: pl.DataFrame
    unserved: pl.DataFrame
    distance_m: int
    solve_seconds: float
    is_feasible: bool


@dataclass(frozen=True)
class _Chunk:
    """A piece of a move small enough for any truck that may carry it."""

    move_id: str
    from_id: str
    to_id: str
    vehicles: int
    prize: int
    kind: Literal["shipment", "from_depot", "to_depot"]


@dataclass
class _Model:
    """What ``route_moves`` needs to read PyVRP's answer back."""

    problem: VrpProblem
    node_of_location: list[str]
    client_chunks: list[_Chunk] = field(default_factory=list)
    shipment_chunks: list[_Chunk] = field(default_factory=list)


NODE_COLUMNS = ("node_id", "kind", "lat", "lon")
MOVE_COLUMNS = ("move_id", "from_id", "to_id", "vehicles", "rides_gained")


def _check_frames(nodes: pl.DataFrame, moves: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Columns, kinds and values of the inputs; ``ValueError`` naming what is wrong."""
    for name, frame, cols in (("nodes", nodes, NODE_COLUMNS), ("moves", moves, MOVE_COLUMNS)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{name} needs columns {', '.join(cols)}; missing {', '.join(missing)}"
            )
    nodes = nodes.select(
        pl.col("node_id").cast(pl.Utf8),
        pl.col("kind").cast(pl.Utf8),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
    )
    moves = moves.select(
        pl.col("move_id").cast(pl.Utf8),
        pl.col("from_id").cast(pl.Utf8),
        pl.col("to_id").cast(pl.Utf8),
        pl.col("vehicles").cast(pl.Int64),
        pl.col("rides_gained").cast(pl.Float64),
    )
    bad_kind = nodes.filter(~pl.col("kind").is_in(["zone", "depot"]))
    if bad_kind.height:
        raise ValueError(
            f"nodes.kind must be 'zone' or 'depot', got {bad_kind['kind'].to_list()[:5]}"
        )
    if nodes["node_id"].is_duplicated().any():
        raise ValueError("nodes.node_id must be unique")
    if moves["move_id"].is_duplicated().any():
        raise ValueError("moves.move_id must be unique")
    if moves.filter(pl.col("vehicles").is_null() | (pl.col("vehicles") <= 0)).height:
        raise ValueError("moves.vehicles must be a positive integer")
    if moves.filter(
        pl.col("rides_gained").is_null()
        | pl.col("rides_gained").is_nan()
        | (pl.col("rides_gained") < 0)
    ).height:
        raise ValueError("moves.rides_gained must be a non-negative number")
    if moves.filter(pl.col("from_id") == pl.col("to_id")).height:
        raise ValueError("moves must have from_id != to_id")
    return nodes, moves


def _chunk_moves(
    moves: pl.DataFrame,
    kinds: Mapping[str, str],
    trucks: Sequence[Truck],
    params: RoutingParams,
) -> tuple[list[_Chunk], list[tuple[str, str, str, int, str]]]:
    """Split moves into chunks that fit the smallest truck able to carry them.

    Returns the chunks and the (move_id, from, to, vehicles, reason) no truck can carry.
    """
    chunks: list[_Chunk] = []
    ineligible: list[tuple[str, str, str, int, str]] = []
    for row in moves.iter_rows(named=True):
        move_id, src, dst, vehicles = row["move_id"], row["from_id"], row["to_id"], row["vehicles"]
        from_depot, to_depot = kinds[src] == "depot", kinds[dst] == "depot"
        if from_depot and to_depot:
            ineligible.append((move_id, src, dst, vehicles, "depot to depot moves are not routed"))
            continue
        if from_depot:
            sizes = [min(t.capacity, t.start_load) for t in trucks if t.depot_id == src]
            sizes = [s for s in sizes if s > 0]
            kind: Literal["shipment", "from_depot", "to_depot"] = "from_depot"
            why = f"no truck starts at depot {src} with vehicles on board (start_load)"
        elif to_depot:
            sizes = [t.capacity for t in trucks if t.end_depot == dst]
            kind = "to_depot"
            why = f"no truck ends its shift at depot {dst}"
        else:
            sizes = [t.capacity for t in trucks]
            kind = "shipment"
            why = "no truck"
        if not sizes:
            ineligible.append((move_id, src, dst, vehicles, why))
            continue
        size = min(sizes)
        prize_per_vehicle = row["rides_gained"] * params.prize_m_per_ride / vehicles
        left = vehicles
        while left > 0:
            take = min(size, left)
            chunks.append(_Chunk(move_id, src, dst, take, round(prize_per_vehicle * take), kind))
            left -= take
    return chunks, ineligible


def _service_s(vehicles: int, params: RoutingParams) -> int:
    return params.stop_s + params.service_s_per_vehicle * vehicles


def _chunk_min_duration(
    chunk: _Chunk,
    truck: Truck,
    dur: npt.NDArray[np.int64],
    idx: Mapping[str, int],
    params: RoutingParams,
) -> int:
    """Shortest time a truck alone needs to serve ``chunk`` (depot, stops, end depot)."""
    service = _service_s(chunk.vehicles, params)
    start, end = idx[truck.depot_id], idx[truck.end_depot]
    a, b = idx[chunk.from_id], idx[chunk.to_id]
    if chunk.kind == "shipment":
        return int(dur[start, a] + dur[a, b] + dur[b, end]) + 2 * service
    if chunk.kind == "from_depot":
        return int(dur[start, b] + dur[b, end]) + service
    return int(dur[start, a] + dur[a, end]) + service


def _eligible(chunk: _Chunk, truck: Truck) -> bool:
    if chunk.kind == "from_depot":
        return truck.depot_id == chunk.from_id and truck.start_load > 0
    if chunk.kind == "to_depot":
        return truck.end_depot == chunk.to_id
    return True


def _build_model(
    chunks: Sequence[_Chunk],
    trucks: Sequence[Truck],
    matrix: TravelMatrix,
    node_ids: Sequence[str],
    params: RoutingParams,
) -> _Model:
    """The PyVRP problem: one location per node, one vehicle type per truck."""
    sub = matrix.subset(node_ids)
    loc = {node: i for i, node in enumerate(node_ids)}
    depot_nodes = sorted({t.depot_id for t in trucks} | {t.end_depot for t in trucks})
    depot_index = {node: i for i, node in enumerate(depot_nodes)}
    sources = sorted({c.from_id for c in chunks if c.kind == "from_depot"})
    sinks = sorted({c.to_id for c in chunks if c.kind == "to_depot"})
    dims = 1 + len(sources) + len(sinks)
    vehicle_types = []
    for t in trucks:
        cap = [t.capacity]
        cap += [t.start_load if t.depot_id == d else 0 for d in sources]
        cap += [t.capacity if t.end_depot == d else 0 for d in sinks]
        vehicle_types.append(
            VrpVehicleType(
                capacity=tuple(cap),
                start_depot=depot_index[t.depot_id],
                end_depot=depot_index[t.end_depot],
                shift_duration_s=t.shift_s,
                name=t.truck_id,
            )
        )
    model = _Model(
        problem=VrpProblem(
            distance=int_matrix(sub.distance_m),
            duration=int_matrix(sub.duration_s),
            depots=tuple(loc[d] for d in depot_nodes),
            vehicle_types=tuple(vehicle_types),
        ),
        node_of_location=list(node_ids),
    )
    clients: list[VrpClient] = []
    shipments: list[VrpShipment] = []
    for c in chunks:
        service = _service_s(c.vehicles, params)
        load = [0] * dims
        load[0] = c.vehicles
        if c.kind == "shipment":
            shipments.append(
                VrpShipment(
                    loc[c.from_id],
                    loc[c.to_id],
                    amount=tuple(load),
                    pickup_service_s=service,
                    delivery_service_s=service,
                    prize=c.prize,
                    required=params.required,
                    name=c.move_id,
                )
            )
            model.shipment_chunks.append(c)
            continue
        if c.kind == "from_depot":
            load[1 + sources.index(c.from_id)] = c.vehicles
            client = VrpClient(loc[c.to_id], delivery=tuple(load), pickup=(0,) * dims)
        else:
            load[1 + len(sources) + sinks.index(c.to_id)] = c.vehicles
            client = VrpClient(loc[c.from_id], delivery=(0,) * dims, pickup=tuple(load))
        clients.append(
            VrpClient(
                client.location,
                delivery=client.delivery,
                pickup=client.pickup,
                service_s=service,
                prize=c.prize,
                required=params.required,
                name=c.move_id,
            )
        )
        model.client_chunks.append(c)
    model.problem = VrpProblem(
        distance=model.problem.distance,
        duration=model.problem.duration,
        depots=model.problem.depots,
        vehicle_types=model.problem.vehicle_types,
        clients=tuple(clients),
        shipments=tuple(shipments),
    )
    return model


def _check_up_front(
    chunks: Sequence[_Chunk],
    ineligible: Sequence[tuple[str, str, str, int, str]],
    trucks: Sequence[Truck],
    dur: npt.NDArray[np.int64],
    idx: Mapping[str, int],
    params: RoutingParams,
) -> dict[int, str]:
    """Obvious infeasibility; with ``required`` it raises, else returns reasons per chunk."""
    problems: list[str] = []
    reasons: dict[int, str] = {}
    for move_id, *_rest, why in ineligible:
        problems.append(f"move {move_id}: {why}")
    for i, c in enumerate(chunks):
        fits = [
            t
            for t in trucks
            if _eligible(c, t) and _chunk_min_duration(c, t, dur, idx, params) <= t.shift_s
        ]
        if not fits:
            reasons[i] = "too far for any truck's shift, even alone"
            problems.append(f"move {c.move_id}: {reasons[i]}")
    for depot in sorted({c.from_id for c in chunks if c.kind == "from_depot"}):
        need = sum(c.vehicles for c in chunks if c.kind == "from_depot" and c.from_id == depot)
        have = sum(t.start_load for t in trucks if t.depot_id == depot)
        if need > have:
            problems.append(
                f"moves from depot {depot} need {need} vehicles but trucks starting there carry "
                f"{have} (start_load)"
            )
    service = sum(
        _service_s(c.vehicles, params) * (2 if c.kind == "shipment" else 1) for c in chunks
    )
    shift = sum(t.shift_s for t in trucks)
    if service > shift:
        problems.append(
            f"loading and unloading alone take {service} s, "
            f"more than all shifts together ({shift} s)"
        )
    if params.required and problems:
        raise InfeasiblePlanError(
            "required moves cannot all be served: "
            + "; ".join(problems[:10])
            + ". Add trucks, lengthen shifts, raise start_load or drop moves."
        )
    return reasons


def route_moves(
    nodes: pl.DataFrame,
    moves: pl.DataFrame,
    *,
    matrix: TravelMatrix,
    trucks: Sequence[Truck],
    params: RoutingParams | None = None,
) -> RoutePlan:
    """Truck routes serving ``moves`` (all of them when ``params.required``, else the ones
    whose rides pay for the detour), from and back to depots, within each truck's shift.

    Raises ``InfeasiblePlanError`` when there are no trucks, a move or depot names an unknown
    node, some needed node is unreachable, or required moves cannot all be served.
    """
    params = params or RoutingParams()
    started = time.perf_counter()
    if not trucks:
        raise InfeasiblePlanError("no trucks: give at least one truck to route the moves")
    if len({t.truck_id for t in trucks}) != len(trucks):
        raise ValueError("truck_id must be unique")
    nodes, moves = _check_frames(nodes, moves)
    kinds = dict(zip(nodes["node_id"], nodes["kind"], strict=True))
    coords = {r["node_id"]: (r["lat"], r["lon"]) for r in nodes.iter_rows(named=True)}
    used = set(moves["from_id"]) | set(moves["to_id"])
    for t in trucks:
        for depot in (t.depot_id, t.end_depot):
            if kinds.get(depot) != "depot":
                raise InfeasiblePlanError(
                    f"truck {t.truck_id}: {depot!r} is not a depot in nodes; "
                    "add it with kind 'depot'"
                )
        used |= {t.depot_id, t.end_depot}
    unknown = sorted(n for n in used if n not in kinds or n not in matrix)
    if unknown:
        raise InfeasiblePlanError(
            "moves reference node(s) missing from nodes or the travel matrix: "
            + ", ".join(unknown[:10])
        )
    node_ids = sorted(used)
    unreachable = matrix.unreachable_pairs(node_ids)
    if unreachable:
        shown = ", ".join(f"{a}->{b}" for a, b in unreachable[:10])
        raise UnreachableError(
            f"{len(unreachable)} pair(s) of nodes cannot be travelled: {shown}; fix the travel "
            "matrix or drop the moves touching them",
            unreachable,
        )
    chunks, ineligible = _chunk_moves(moves, kinds, trucks, params)
    loc = {node: i for i, node in enumerate(node_ids)}
    dur = int_matrix(matrix.subset(node_ids).duration_s)
    reasons = _check_up_front(chunks, ineligible, trucks, dur, loc, params)
    unserved_rows = [(m, s, d, v, why) for m, s, d, v, why in ineligible]
    routable = [c for i, c in enumerate(chunks) if i not in reasons]
    unserved_rows += [
        (c.move_id, c.from_id, c.to_id, c.vehicles, reasons[i])
        for i, c in enumerate(chunks)
        if i in reasons
    ]
    routes: list[TruckRoute] = []
    served: dict[tuple[str, str], int] = defaultdict(int)
    is_feasible = True
    if routable:
        model = _build_model(routable, trucks, matrix, node_ids, params)
        result = solve_vrp(model.problem, time_limit_s=params.time_limit_s, seed=params.seed)
        if params.required and (
            not result.is_feasible or result.unplanned_clients or result.unplanned_shipments
        ):
            raise InfeasiblePlanError(
                "PyVRP found no plan serving every required move within "
                f"{params.time_limit_s} s (best: "
                f"{'feasible' if result.is_feasible else 'infeasible'}, "
                f"{len(result.unplanned_clients) + len(result.unplanned_shipments)} move piece(s) "
                "left): add trucks, lengthen shifts or raise the time limit"
            )
        done: set[tuple[str, int]] = set()
        for vroute in result.routes:
            truck = trucks[vroute.vehicle_type]
            if not vroute.is_feasible:
                continue  # dropped: its moves are reported unserved below
            route = _truck_route(vroute, truck, model, coords, kinds)
            routes.append(route)
            for v in vroute.visits:
                if v.kind == "client":
                    chunk = model.client_chunks[v.index]
                    done.add(("c", v.index))
                elif v.kind == "pickup":
                    chunk = model.shipment_chunks[v.index]
                    done.add(("s", v.index))
                else:
                    continue
                served[(chunk.move_id, truck.truck_id)] += chunk.vehicles
        left = [("c", i, c) for i, c in enumerate(model.client_chunks)]
        left += [("s", i, c) for i, c in enumerate(model.shipment_chunks)]
        for tag, i, c in left:
            if (tag, i) in done:
                continue
            unserved_rows.append(
                (
                    c.move_id,
                    c.from_id,
                    c.to_id,
                    c.vehicles,
                    _unserved_reason(c, routes, trucks, dur, loc, params),
                )
            )
        is_feasible = result.is_feasible
    routes.sort(key=lambda r: r.truck_id)
    unserved = (
        pl.DataFrame(unserved_rows, schema=UNSERVED_SCHEMA, orient="row")
        .group_by(["move_id", "from_id", "to_id", "reason"], maintain_order=True)
        .agg(pl.col("vehicles").sum())
        .select(list(UNSERVED_SCHEMA))
        .sort("move_id")
    )
    served_frame = pl.DataFrame(
        [(m, t, v) for (m, t), v in served.items()], schema=SERVED_SCHEMA, orient="row"
    ).sort(["move_id", "truck_id"])
    return RoutePlan(
        routes=routes,
        served=served_frame,
        unserved=unserved,
        distance_m=sum(r.distance_m for r in routes),
        solve_seconds=time.perf_counter() - started,
        is_feasible=is_feasible,
    )


def _unserved_reason(
    chunk: _Chunk,
    routes: Sequence[TruckRoute],
    trucks: Sequence[Truck],
    dur: npt.NDArray[np.int64],
    idx: Mapping[str, int],
    params: RoutingParams,
) -> str:
    """Why PyVRP left ``chunk`` out: no start load / time left on any eligible truck, or
    not worth it."""
    by_truck = {r.truck_id: r for r in routes}
    room = False
    for t in trucks:
        if not _eligible(chunk, t):
            continue
        if chunk.kind == "from_depot":
            loaded = by_truck[t.truck_id].stops[0].load_after if t.truck_id in by_truck else 0
            if loaded + chunk.vehicles > t.start_load:
                continue
        room = True
        used = by_truck[t.truck_id].duration_s if t.truck_id in by_truck else 0
        need = _service_s(chunk.vehicles, params) * (2 if chunk.kind == "shipment" else 1)
        if chunk.kind == "shipment":
            need += int(dur[idx[chunk.from_id], idx[chunk.to_id]])
        if used + need <= t.shift_s:
            return f"not worth the detour (prize {chunk.prize} m of driving)"
    if not room:
        return f"no start_load left on the trucks leaving depot {chunk.from_id}"
    return "no truck time left"


def _truck_route(
    vroute: VrpRoute,
    truck: Truck,
    model: _Model,
    coords: Mapping[str, tuple[float, float]],
    kinds: Mapping[str, str],
) -> TruckRoute:
    """Stops of one solved route; consecutive activities at one node merge into one stop."""
    loaded_ids: list[str] = []
    loaded = 0
    for v in vroute.visits:
        if v.kind == "client" and model.client_chunks[v.index].kind == "from_depot":
            loaded += model.client_chunks[v.index].vehicles
            loaded_ids.append(model.client_chunks[v.index].move_id)
    lat, lon = coords[truck.depot_id]
    stops = [
        RouteStop(
            0, truck.depot_id, "depot", lat, lon, 0, 0, loaded, 0, tuple(dict.fromkeys(loaded_ids))
        )
    ]
    load = loaded
    for v in vroute.visits:
        node = model.node_of_location[v.location]
        if v.kind == "pickup":
            chunk = model.shipment_chunks[v.index]
            up, down = chunk.vehicles, 0
        elif v.kind == "delivery":
            chunk = model.shipment_chunks[v.index]
            up, down = 0, chunk.vehicles
        else:
            chunk = model.client_chunks[v.index]
            up, down = (0, chunk.vehicles) if chunk.kind == "from_depot" else (chunk.vehicles, 0)
        load += up - down
        last = stops[-1]
        if last.node_id == node and len(stops) > 1:
            ids = tuple(dict.fromkeys((*last.move_ids, chunk.move_id)))
            stops[-1] = RouteStop(
                last.seq,
                node,
                last.kind,
                last.lat,
                last.lon,
                last.pickup + up,
                last.dropoff + down,
                load,
                last.arrival_s,
                ids,
            )
        else:
            lat, lon = coords[node]
            stops.append(
                RouteStop(
                    len(stops),
                    node,
                    kinds[node],
                    lat,
                    lon,
                    up,
                    down,
                    load,
                    v.start_s,
                    (chunk.move_id,),
                )
            )
    returned = [
        model.client_chunks[v.index].move_id
        for v in vroute.visits
        if v.kind == "client" and model.client_chunks[v.index].kind == "to_depot"
    ]
    lat, lon = coords[truck.end_depot]
    stops.append(
        RouteStop(
            len(stops),
            truck.end_depot,
            "depot",
            lat,
            lon,
            0,
            0,
            load,
            vroute.duration,
            tuple(dict.fromkeys(returned)),
        )
    )
    return TruckRoute(
        truck_id=truck.truck_id,
        capacity=truck.capacity,
        start_load=truck.start_load,
        depot_id=truck.depot_id,
        end_depot_id=truck.end_depot,
        distance_m=vroute.distance,
        duration_s=vroute.duration,
        stops=stops,
    )


def validate_plan(
    plan: RoutePlan,
    moves: pl.DataFrame,
    trucks: Sequence[Truck],
    matrix: TravelMatrix | None = None,
) -> list[str]:
    """Every constraint a plan breaks, as messages (empty = valid); independent of PyVRP.

    Checks: known trucks, depots at both ends, load within 0..capacity and consistent with
    pickups / drop-offs, at most ``start_load`` loaded at the start, shift length (and, with
    ``matrix``, that arrival times and distances are not shorter than the travel allows),
    each move carried once in total (not more than its vehicles, served + unserved = all),
    pickup before drop-off on the same truck, depot moves on trucks from / to that depot.
    """
    errors: list[str] = []
    by_id = {t.truck_id: t for t in trucks}
    move_rows = {r["move_id"]: r for r in moves.iter_rows(named=True)}
    seen_trucks: set[str] = set()
    for route in plan.routes:
        truck = by_id.get(route.truck_id)
        if truck is None:
            errors.append(f"route of unknown truck {route.truck_id}")
            continue
        if route.truck_id in seen_trucks:
            errors.append(f"truck {route.truck_id} has two routes")
        seen_trucks.add(route.truck_id)
        stops = route.stops
        if len(stops) < 2:
            errors.append(f"{route.truck_id}: a route needs a start and an end depot")
            continue
        first, last = stops[0], stops[-1]
        if first.node_id != truck.depot_id or first.kind != "depot":
            errors.append(f"{route.truck_id}: does not start at its depot {truck.depot_id}")
        if last.node_id != truck.end_depot or last.kind != "depot":
            errors.append(f"{route.truck_id}: does not end at its depot {truck.end_depot}")
        if first.pickup or first.dropoff or last.pickup or last.dropoff:
            errors.append(f"{route.truck_id}: depot stops must not pick up or drop off")
        if not 0 <= first.load_after <= truck.start_load:
            errors.append(
                f"{route.truck_id}: loads {first.load_after} at the depot, start_load is "
                f"{truck.start_load}"
            )
        load = first.load_after
        for stop in stops[1:-1]:
            if load - stop.dropoff < 0:
                errors.append(f"{route.truck_id} stop {stop.seq}: drops off more than on board")
            load += stop.pickup - stop.dropoff
            if load != stop.load_after:
                errors.append(
                    f"{route.truck_id} stop {stop.seq}: load_after {stop.load_after} != {load}"
                )
            if not 0 <= load <= truck.capacity:
                errors.append(
                    f"{route.truck_id} stop {stop.seq}: load {load} outside 0..{truck.capacity}"
                )
            if stop.kind == "depot" and (stop.pickup or stop.dropoff):
                errors.append(f"{route.truck_id} stop {stop.seq}: works at a depot mid-route")
        if last.load_after != load:
            errors.append(f"{route.truck_id}: end load {last.load_after} != {load}")
        arrivals = [s.arrival_s for s in stops]
        if arrivals != sorted(arrivals):
            errors.append(f"{route.truck_id}: arrival times go backwards")
        if route.duration_s > truck.shift_s or last.arrival_s > truck.shift_s:
            errors.append(
                f"{route.truck_id}: takes {route.duration_s} s, shift is {truck.shift_s} s"
            )
        if matrix is not None:
            idx = [matrix.index(s.node_id) for s in stops]
            dist = float(sum(matrix.distance_m[a, b] for a, b in itertools.pairwise(idx)))
            if abs(dist - route.distance_m) > len(stops):
                errors.append(
                    f"{route.truck_id}: distance {route.distance_m} m, matrix says {dist:.0f}"
                )
            travel = float(sum(matrix.duration_s[a, b] for a, b in itertools.pairwise(idx)))
            if last.arrival_s + len(stops) < travel:
                errors.append(f"{route.truck_id}: arrives before the travel time allows")
        for move_id in {m for s in stops for m in s.move_ids}:
            row = move_rows.get(move_id)
            if row is None:
                errors.append(f"{route.truck_id}: unknown move {move_id}")
                continue
            at = [i for i, s in enumerate(stops) if move_id in s.move_ids]
            src = [i for i in at if stops[i].node_id == row["from_id"]]
            dst = [i for i in at if stops[i].node_id == row["to_id"]]
            if not src or not dst:
                errors.append(f"{route.truck_id}: move {move_id} lacks its pickup or drop-off")
            elif min(src) > max(dst):
                errors.append(f"{route.truck_id}: move {move_id} dropped off before picked up")
    served = plan.served.group_by("move_id").agg(
        pl.col("vehicles").sum(), pl.col("truck_id").n_unique()
    )
    unserved = plan.unserved.group_by("move_id").agg(pl.col("vehicles").sum())
    served_v = dict(zip(served["move_id"], served["vehicles"], strict=True))
    unserved_v = dict(zip(unserved["move_id"], unserved["vehicles"], strict=True))
    for move_id, row in move_rows.items():
        total = served_v.get(move_id, 0) + unserved_v.get(move_id, 0)
        if total != row["vehicles"]:
            errors.append(
                f"move {move_id}: served {served_v.get(move_id, 0)} + unserved "
                f"{unserved_v.get(move_id, 0)} != {row['vehicles']} vehicles"
            )
    for move_id in set(served_v) | set(unserved_v):
        if move_id not in move_rows:
            errors.append(f"plan mentions unknown move {move_id}")
    route_ids = {r.truck_id for r in plan.routes}
    for row in plan.served.iter_rows(named=True):
        if row["truck_id"] not in route_ids:
            errors.append(f"move {row['move_id']} served by {row['truck_id']}, which has no route")
    return errors
