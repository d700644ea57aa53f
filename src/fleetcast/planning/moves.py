"""Moves: which vehicles go from surplus zones (and depots) to deficit zones, at least travel.

A zone with more vehicles than its target has a surplus ``supply - target``; one with fewer
has a deficit ``target - supply``; a depot's stock is a further source. Moving vehicles is a
transportation problem: move as many vehicles as can reach a deficit — ``min(surplus +
depot stock, deficit)`` when every deficit is reachable — and, among the ways to move that
many, the one with the least ``sum(distance * vehicles)``. It is solved as two linear
programs with HiGHS (``scipy.optimize.linprog``): the most vehicles that can be moved over
reachable pairs, then the cheapest way to move exactly that many. The constraint matrix is
a network matrix (totally unimodular), so the simplex vertex is integral; it is rounded and
checked.

Each move is then valued in expected rides (``fleetcast.planning.targets``): what its
vehicles add at the destination minus what they would have served at the source. A zone's
gain (or loss) over all its moves is shared among them in proportion to vehicles, so the
``rides_gained`` of all moves add up to the plan's total change in expected rides. Moves
that gain nothing can be dropped (``MoveParams.drop_unprofitable``), as can moves of fewer
vehicles than ``MoveParams.min_vehicles_per_move``; deficits no source can reach, or that
are left after dropping, are reported in ``MovePlan.unmet`` rather than hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import maximum_flow

from fleetcast.errors import SchemaError
from fleetcast.planning.targets import DEMAND_COLUMNS, expected_rides

MOVE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "move_id": pl.String(),
    "from_id": pl.String(),
    "from_kind": pl.String(),
    "to_id": pl.String(),
    "vehicles": pl.Int64(),
    "distance_m": pl.Float64(),
    "rides_gained": pl.Float64(),
}
"""Columns of a moves frame: one row per (source, destination) pair; ``from_kind`` is
``zone`` or ``depot``; ``distance_m`` is per trip (one vehicle)."""
UNMET_SCHEMA: Final[dict[str, pl.DataType]] = {
    "zone_id": pl.String(),
    "deficit": pl.Int64(),
    "moved_in": pl.Int64(),
    "vehicles": pl.Int64(),
    "reason": pl.String(),
}
"""Deficits left (in part): ``vehicles`` still missing (``deficit - moved_in``) and why:
``unreachable`` (no source within reach), ``no_supply`` (the reachable sources ran out) or
``dropped`` (moves planned here were dropped as too small or gaining nothing)."""
SPARE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "from_id": pl.String(),
    "from_kind": pl.String(),
    "available": pl.Int64(),
    "moved_out": pl.Int64(),
    "left": pl.Int64(),
}
"""Sources (surplus zones and depots) and how many of their vehicles stay."""
TARGET_NEEDS: Final = ("zone_id", "supply", "target", *DEMAND_COLUMNS, "rides_per_vehicle")
"""Columns ``plan_moves`` needs from the targets frame (``stock_targets`` gives them)."""
VEHICLE_NEEDS: Final = ("vehicle_id", "zone_id", "battery_pct", "is_disabled", "is_reserved")
_TOL: Final = 1e-6


@dataclass(frozen=True, slots=True)
class MoveParams:
    """How moves are chosen; checks itself so a bad setting fails early, naming it.

    ``max_move_distance_m``: pairs farther apart are treated as unreachable (None: any).
    ``min_vehicles_per_move``: moves of fewer vehicles are dropped (not worth a stop).
    ``drop_unprofitable``: drop moves whose ``rides_gained`` is not positive (a vehicle
    worth as much where it stands as at the destination).
    """

    max_move_distance_m: float | None = None
    min_vehicles_per_move: int = 1
    drop_unprofitable: bool = True

    def __post_init__(self) -> None:
        problems: list[str] = []
        d = self.max_move_distance_m
        if d is not None and not (
            isinstance(d, int | float) and not isinstance(d, bool) and math.isfinite(d) and d > 0
        ):
            problems.append(f"max_move_distance_m={d!r} (use a distance > 0 in metres, or None)")
        m = self.min_vehicles_per_move
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            problems.append(f"min_vehicles_per_move={m!r} (use a whole number >= 1)")
        if not isinstance(self.drop_unprofitable, bool):
            problems.append(f"drop_unprofitable={self.drop_unprofitable!r} (use true or false)")
        if problems:
            raise ValueError("MoveParams not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MoveParams:
        """Params from a TOML table; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"MoveParams not understood: unknown key(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**dict(data))


@dataclass(frozen=True)
class MovePlan:
    """The moves (``MOVE_SCHEMA``), the deficits left (``UNMET_SCHEMA``, only zones still
    missing vehicles) and every source with what it keeps (``SPARE_SCHEMA``)."""

    moves: pl.DataFrame
    unmet: pl.DataFrame
    spare: pl.DataFrame

    @property
    def vehicles_moved(self) -> int:
        """Vehicles moved by all moves."""
        return int(self.moves.get_column("vehicles").sum())

    @property
    def rides_gained(self) -> float:
        """Expected rides the moves add over doing nothing."""
        return float(self.moves.get_column("rides_gained").sum())


def plan_moves(
    targets: pl.DataFrame,
    *,
    node_ids: Sequence[str],
    distance_m: npt.ArrayLike,
    depot_stock: Mapping[str, int] | None = None,
    params: MoveParams | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(moves, unmet)`` of ``solve_moves`` (``MOVE_SCHEMA``, ``UNMET_SCHEMA``); see there."""
    plan = solve_moves(
        targets, node_ids=node_ids, distance_m=distance_m, depot_stock=depot_stock, params=params
    )
    return plan.moves, plan.unmet


def solve_moves(
    targets: pl.DataFrame,
    *,
    node_ids: Sequence[str],
    distance_m: npt.ArrayLike,
    depot_stock: Mapping[str, int] | None = None,
    params: MoveParams | None = None,
) -> MovePlan:
    """Move surplus vehicles (and depot stock) to deficits at least total distance.

    ``targets`` has one row per zone with ``TARGET_NEEDS`` (the ``stock_targets`` frame).
    ``distance_m[i, j]`` is the travel distance from ``node_ids[i]`` to ``node_ids[j]``
    (may be asymmetric; ``inf`` = unreachable); every zone and depot is one of
    ``node_ids``. ``depot_stock`` maps depot ids to vehicles ready to go out.

    Moves ``min(total surplus + depot stock, total deficit)`` vehicles when reachability
    allows (else as many as can reach), at least ``sum(distance * vehicles)``; then drops
    small and (if asked) unprofitable moves. Moves are ordered by ``rides_gained``
    (highest first) and numbered ``M001``, ``M002``, ... in that order.
    """
    params = params or MoveParams()
    problem = _Problem.build(targets, node_ids, distance_m, depot_stock or {}, params)
    flow = _min_cost_flow(problem)
    i_idx, j_idx = np.nonzero(flow)
    vehicles = flow[i_idx, j_idx]
    planned_in = flow.sum(axis=0)
    keep = vehicles >= params.min_vehicles_per_move
    gained = _rides_gained(problem, i_idx, j_idx, np.where(keep, vehicles, 0))
    while params.drop_unprofitable and (keep & (gained <= _TOL)).any():
        keep &= gained > _TOL
        gained = _rides_gained(problem, i_idx, j_idx, np.where(keep, vehicles, 0))
    i_idx, j_idx, vehicles, gained = i_idx[keep], j_idx[keep], vehicles[keep], gained[keep]
    moves = _moves_frame(problem, i_idx, j_idx, vehicles, gained)
    moved_in = np.bincount(j_idx, weights=vehicles, minlength=len(problem.sink_ids)).astype(
        np.int64
    )
    moved_out = np.bincount(i_idx, weights=vehicles, minlength=len(problem.source_ids)).astype(
        np.int64
    )
    return MovePlan(
        moves=moves,
        unmet=_unmet_frame(problem, planned_in, moved_in),
        spare=pl.DataFrame(
            {
                "from_id": problem.source_ids,
                "from_kind": problem.source_kinds,
                "available": problem.source_cap,
                "moved_out": moved_out,
                "left": problem.source_cap - moved_out,
            },
            schema=SPARE_SCHEMA,
        ),
    )


@dataclass(frozen=True)
class _Problem:
    """Sources (surplus zones, then depots) and sinks (deficit zones) of one instance."""

    zones: pl.DataFrame  # the targets rows, for expected rides
    supply: npt.NDArray[np.int64]  # per zone row
    source_ids: list[str]
    source_kinds: list[str]
    source_zone_row: npt.NDArray[np.int64]  # row in zones, -1 for a depot
    source_cap: npt.NDArray[np.int64]
    sink_ids: list[str]
    sink_zone_row: npt.NDArray[np.int64]
    sink_cap: npt.NDArray[np.int64]
    cost: npt.NDArray[np.float64]  # sources x sinks, inf = not allowed

    @classmethod
    def build(
        cls,
        targets: pl.DataFrame,
        node_ids: Sequence[str],
        distance_m: npt.ArrayLike,
        depot_stock: Mapping[str, int],
        params: MoveParams,
    ) -> _Problem:
        missing = [c for c in TARGET_NEEDS if c not in targets.columns]
        if missing:
            raise SchemaError(f"targets lack column(s) {missing}")
        nodes = [str(n) for n in node_ids]
        index = {n: k for k, n in enumerate(nodes)}
        if len(index) != len(nodes):
            raise ValueError("node_ids must be unique")
        dist = np.asarray(distance_m, dtype=np.float64)
        if dist.shape != (len(nodes), len(nodes)):
            raise ValueError(f"distance_m has shape {dist.shape}; expected {len(nodes)} square")
        if np.isnan(dist).any() or (dist < 0).any():
            raise ValueError("distance_m must be >= 0 (inf for unreachable), never NaN")
        zone_ids = targets.get_column("zone_id").cast(pl.String).to_list()
        if len(set(zone_ids)) != len(zone_ids):
            raise SchemaError("targets: zone_id must be unique")
        unknown = [z for z in zone_ids if z not in index]
        if unknown:
            raise ValueError(f"zone(s) {unknown[:10]} of targets are not in node_ids")
        supply = _counts(targets, "supply")
        target = _counts(targets, "target")
        zone_set = set(zone_ids)
        for depot, stock in depot_stock.items():
            if depot not in index:
                raise ValueError(f"depot {depot!r} of depot_stock is not in node_ids")
            if depot in zone_set:
                raise ValueError(f"depot {depot!r} is also a zone of targets")
            if isinstance(stock, bool) or not isinstance(stock, int | np.integer) or stock < 0:
                raise ValueError(f"depot_stock[{depot!r}]={stock!r} (use a whole number >= 0)")
        depots = sorted(str(d) for d, n in depot_stock.items() if n > 0)
        surplus_rows = np.flatnonzero(supply > target)
        deficit_rows = np.flatnonzero(target > supply)
        source_ids = [zone_ids[r] for r in surplus_rows] + depots
        sink_ids = [zone_ids[r] for r in deficit_rows]
        src = np.array([index[s] for s in source_ids], dtype=np.int64)
        dst = np.array([index[s] for s in sink_ids], dtype=np.int64)
        cost = dist[np.ix_(src, dst)] if len(src) and len(dst) else np.zeros((len(src), len(dst)))
        if params.max_move_distance_m is not None:
            cost = np.where(cost > params.max_move_distance_m, np.inf, cost)
        return cls(
            zones=targets,
            supply=supply,
            source_ids=source_ids,
            source_kinds=["zone"] * len(surplus_rows) + ["depot"] * len(depots),
            source_zone_row=np.concatenate(
                [surplus_rows, np.full(len(depots), -1, dtype=np.int64)]
            ).astype(np.int64),
            source_cap=np.concatenate(
                [
                    (supply - target)[surplus_rows],
                    np.array([int(depot_stock[d]) for d in depots], dtype=np.int64),
                ]
            ).astype(np.int64),
            sink_ids=sink_ids,
            sink_zone_row=deficit_rows.astype(np.int64),
            sink_cap=(target - supply)[deficit_rows].astype(np.int64),
            cost=cost,
        )


def _min_cost_flow(problem: _Problem) -> npt.NDArray[np.int64]:
    """Integral flow (sources x sinks): the most vehicles over allowed pairs, cheapest.

    The most is found as a maximum flow (exact, integer). When it uses every source (or
    fills every sink) the cheapest flow is a transportation LP with those rows as
    equalities; otherwise a super-source variable per source carries the fixed total, which
    keeps the LP a network (no dense all-ones row).
    """
    n_src, n_dst = problem.cost.shape
    flow = np.zeros((n_src, n_dst), dtype=np.int64)
    allowed = np.isfinite(problem.cost)
    allowed &= (problem.source_cap > 0)[:, None] & (problem.sink_cap > 0)[None, :]
    rows, cols = np.nonzero(allowed)
    if len(rows) == 0:
        return flow
    n = len(rows)
    var = np.arange(n)
    out_rows = sp.csr_matrix((np.ones(n), (rows, var)), shape=(n_src, n))
    in_rows = sp.csr_matrix((np.ones(n), (cols, var)), shape=(n_dst, n))
    src_cap = problem.source_cap.astype(np.float64)
    dst_cap = problem.sink_cap.astype(np.float64)
    most = _max_flow(problem, rows, cols)
    cost = problem.cost[rows, cols]
    if most == int(problem.source_cap.sum()):
        lp: dict[str, Any] = {"A_eq": out_rows, "b_eq": src_cap, "A_ub": in_rows, "b_ub": dst_cap}
    elif most == int(problem.sink_cap.sum()):
        lp = {"A_eq": in_rows, "b_eq": dst_cap, "A_ub": out_rows, "b_ub": src_cap}
    else:  # x_ij and y_i: sum_j x_ij = y_i <= s_i, sum_i y_i = most
        lp = {
            "A_eq": sp.vstack(
                [
                    sp.hstack([out_rows, -sp.identity(n_src)]),
                    sp.hstack([sp.csr_matrix((1, n)), np.ones((1, n_src))]),
                ]
            ).tocsr(),
            "b_eq": np.concatenate([np.zeros(n_src), [float(most)]]),
            "A_ub": sp.hstack([in_rows, sp.csr_matrix((n_dst, n_src))]).tocsr(),
            "b_ub": dst_cap,
            "bounds": np.column_stack(
                [np.zeros(n + n_src), np.concatenate([np.full(n, np.inf), src_cap])]
            ),
        }
        cost = np.concatenate([cost, np.zeros(n_src)])
    lp.setdefault("bounds", (0, None))
    for method in ("highs", "highs-ds"):  # dual simplex if the first answer is not a vertex
        result = linprog(cost, method=method, **lp)
        _check(result, "least-distance moves")
        x = np.asarray(result.x, dtype=np.float64)[:n]
        rounded = np.rint(x)
        if np.abs(x - rounded).max(initial=0.0) <= _TOL:
            break
    else:
        raise RuntimeError("the transportation LP returned a fractional solution")
    flow[rows, cols] = rounded.astype(np.int64)
    if int(flow.sum()) != most:
        raise RuntimeError(f"the transportation LP moved {flow.sum()} vehicles, not {most}")
    return flow


def _max_flow(problem: _Problem, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> int:
    """The most vehicles that can move over the allowed pairs (Dinic's maximum flow)."""
    n_src, n_dst = problem.cost.shape
    if len(rows) == n_src * n_dst:  # every pair allowed: all of the smaller side
        return min(int(problem.source_cap.sum()), int(problem.sink_cap.sum()))
    sink_node = 1 + n_src + n_dst
    tails = np.concatenate(
        [np.zeros(n_src, dtype=np.int64), 1 + rows, 1 + n_src + np.arange(n_dst)]
    )
    heads = np.concatenate(
        [1 + np.arange(n_src), 1 + n_src + cols, np.full(n_dst, sink_node, dtype=np.int64)]
    )
    caps = np.concatenate(
        [
            problem.source_cap,
            np.minimum(problem.source_cap[rows], problem.sink_cap[cols]),
            problem.sink_cap,
        ]
    ).astype(np.int32)
    graph = sp.csr_matrix((caps, (tails, heads)), shape=(sink_node + 1, sink_node + 1))
    return int(maximum_flow(graph, 0, sink_node).flow_value)


def _check(result: Any, what: str) -> None:
    if result.status != 0:
        raise RuntimeError(f"HiGHS could not solve the {what}: {result.message}")


def _rides_gained(
    problem: _Problem,
    i_idx: npt.NDArray[np.int64],
    j_idx: npt.NDArray[np.int64],
    vehicles: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Expected rides each move adds: its share of the destination's gain minus its share
    of the source's loss (depots lose nothing), shared in proportion to vehicles."""
    n_zones = problem.zones.height
    change = np.zeros(n_zones, dtype=np.int64)
    src_rows = problem.source_zone_row[i_idx]
    from_zone = src_rows >= 0
    np.add.at(change, src_rows[from_zone], -vehicles[from_zone])
    np.add.at(change, problem.sink_zone_row[j_idx], vehicles)
    before = expected_rides(problem.zones, problem.supply)
    after = expected_rides(problem.zones, problem.supply + change)
    moved = np.abs(change)
    per_vehicle = np.divide(after - before, moved, out=np.zeros(n_zones), where=moved > 0)
    gain = per_vehicle[problem.sink_zone_row[j_idx]]
    loss = np.where(from_zone, -per_vehicle[np.maximum(src_rows, 0)], 0.0)
    out: npt.NDArray[np.float64] = vehicles * (gain - loss)
    return out


def _moves_frame(
    problem: _Problem,
    i_idx: npt.NDArray[np.int64],
    j_idx: npt.NDArray[np.int64],
    vehicles: npt.NDArray[np.int64],
    gained: npt.NDArray[np.float64],
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "from_id": [problem.source_ids[i] for i in i_idx],
            "from_kind": [problem.source_kinds[i] for i in i_idx],
            "to_id": [problem.sink_ids[j] for j in j_idx],
            "vehicles": vehicles.astype(np.int64),
            "distance_m": problem.cost[i_idx, j_idx].astype(np.float64),
            "rides_gained": gained.astype(np.float64),
        },
        schema={k: v for k, v in MOVE_SCHEMA.items() if k != "move_id"},
    ).sort(["rides_gained", "from_id", "to_id"], descending=[True, False, False])
    width = max(3, len(str(frame.height)))
    ids = [f"M{k:0{width}d}" for k in range(1, frame.height + 1)]
    return frame.with_columns(move_id=pl.Series(ids, dtype=pl.String)).select(list(MOVE_SCHEMA))


def _unmet_frame(
    problem: _Problem, planned_in: npt.NDArray[np.int64], moved_in: npt.NDArray[np.int64]
) -> pl.DataFrame:
    reachable = (np.isfinite(problem.cost) & (problem.source_cap > 0)[:, None]).any(axis=0)
    reason = np.where(
        moved_in < planned_in, "dropped", np.where(reachable, "no_supply", "unreachable")
    )
    frame = pl.DataFrame(
        {
            "zone_id": problem.sink_ids,
            "deficit": problem.sink_cap,
            "moved_in": moved_in,
            "vehicles": problem.sink_cap - moved_in,
            "reason": reason.tolist(),
        },
        schema=UNMET_SCHEMA,
    )
    return frame.filter(pl.col("vehicles") > 0).sort("zone_id")


def _counts(frame: pl.DataFrame, column: str) -> npt.NDArray[np.int64]:
    values = frame.get_column(column)
    if values.null_count():
        raise SchemaError(f"targets: {column} has nulls")
    floats = values.cast(pl.Float64).to_numpy().astype(np.float64)
    if not (np.isfinite(floats) & (floats >= 0) & (floats == np.rint(floats))).all():
        raise SchemaError(f"targets: {column} must hold whole numbers >= 0")
    return floats.astype(np.int64)


def assign_vehicles(
    moves: pl.DataFrame,
    vehicles: pl.DataFrame,
    *,
    min_battery_pct: float | None = None,
) -> pl.DataFrame:
    """``moves`` with ``vehicle_ids`` (list of str): the vehicles each move takes.

    Only available vehicles of the source zone are taken (not disabled, not reserved, and
    not below ``min_battery_pct`` when given — those are due a battery swap, not a ride
    across town), highest battery first (unknown battery last), then by ``vehicle_id``.
    Moves from the same zone take vehicles in ``move_id`` order, so no vehicle is taken
    twice. Depot moves (``from_kind == "depot"``) get an empty list; a move whose zone has
    fewer available vehicles than it needs gets the ones there are (a shorter list).
    """
    missing = [c for c in VEHICLE_NEEDS if c not in vehicles.columns]
    if missing:
        raise SchemaError(f"vehicles lack column(s) {missing}")
    missing = [c for c in ("move_id", "from_id", "vehicles") if c not in moves.columns]
    if missing:
        raise SchemaError(f"moves lack column(s) {missing}")
    if min_battery_pct is not None and not 0.0 <= min_battery_pct <= 100.0:
        raise ValueError(f"min_battery_pct={min_battery_pct} (use 0..100, or None)")
    if vehicles.get_column("vehicle_id").is_duplicated().any():
        raise SchemaError("vehicles: vehicle_id must be unique")
    usable = vehicles.filter(
        ~pl.col("is_disabled").fill_null(True),
        ~pl.col("is_reserved").fill_null(True),
        pl.col("zone_id").is_not_null(),
    )
    if min_battery_pct is not None:
        usable = usable.filter(pl.col("battery_pct").fill_null(100.0) >= min_battery_pct)
    ordered = usable.sort(
        ["zone_id", "battery_pct", "vehicle_id"],
        descending=[False, True, False],
        nulls_last=True,
    )
    pools: dict[str, list[str]] = {
        str(zone): list(ids)
        for zone, ids in ordered.group_by("zone_id", maintain_order=True)
        .agg(pl.col("vehicle_id").cast(pl.String))
        .iter_rows()
    }
    taken: dict[str, int] = {}
    lists: dict[str, list[str]] = {}
    is_depot = (
        moves.get_column("from_kind") == "depot"
        if "from_kind" in moves.columns
        else pl.Series([False] * moves.height)
    )
    for (move_id, from_id, count), depot in zip(
        moves.select("move_id", "from_id", "vehicles").sort("move_id").iter_rows(),
        moves.with_columns(_depot=is_depot).sort("move_id").get_column("_depot"),
        strict=True,
    ):
        if depot:
            lists[move_id] = []
            continue
        start = taken.get(from_id, 0)
        lists[move_id] = pools.get(from_id, [])[start : start + int(count)]
        taken[from_id] = start + len(lists[move_id])
    return moves.with_columns(
        vehicle_ids=pl.Series(
            [lists[m] for m in moves.get_column("move_id")], dtype=pl.List(pl.String)
        )
    )
