"""Routing benchmark: fleetcast's PyVRP layer against Google OR-Tools on public instances.

Two formats, detected from the folder contents:

- VRPLIB CVRP (``.vrp`` + ``.sol`` with ``Cost N`` = best known), e.g. CVRPLIB set X:
  EUC_2D distances rounded to the nearest integer, as CVRPLIB does. fleetcast solves them
  through ``fleetcast.planning.vrp.solve_vrp`` (the layer ``route_moves`` uses);
- Dell'Amico et al. (2014) bike-rebalancing JSON (``num_vertices``, ``demands`` with node 0
  the depot and positive = pickup, ``vehicle_capacity``, ``distance_matrix``): the unpaired
  one-commodity pickup-and-delivery problem, solved by ``solve_one_commodity``.

Both solutions are re-checked here (capacity / 1-PD load range, every client once) and their
cost recomputed from the matrix.

    python benchmarks/routing.py --instances DIR [--time-limit 30] [--json] [--limit N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from fleetcast.planning.one_commodity import load_range, solve_one_commodity
from fleetcast.planning.vrp import (
    VrpClient,
    VrpProblem,
    VrpVehicleType,
    int_matrix,
    solve_vrp,
)

Routes = list[list[int]]


@dataclass(frozen=True)
class Instance:
    """One benchmark instance: node 0 is the depot."""

    name: str
    kind: str  # "cvrp" | "1pd"
    dist: npt.NDArray[np.int64]
    demand: list[int]
    capacity: int
    bks: float | None


def read_cvrp(path: Path) -> Instance:
    """A VRPLIB CVRP instance with rounded EUC_2D distances and its ``.sol`` cost."""
    import vrplib

    data = vrplib.read_instance(str(path))
    depot = int(np.asarray(data["depot"]).ravel()[0])
    if depot != 0:
        raise ValueError(f"{path.name}: depot must be node 0")
    dist = int_matrix(np.floor(np.asarray(data["edge_weight"], dtype=float) + 0.5))
    sol = path.with_suffix(".sol")
    bks = float(vrplib.read_solution(str(sol))["cost"]) if sol.exists() else None
    return Instance(
        path.stem, "cvrp", dist, [int(d) for d in data["demand"]], int(data["capacity"]), bks
    )


def read_dellamico(path: Path) -> Instance:
    """A Dell'Amico bike-rebalancing instance (1e9 on the diagonal becomes 0)."""
    data = json.loads(path.read_text())
    dist = np.asarray(data["distance_matrix"], dtype=float)
    np.fill_diagonal(dist, 0.0)
    demands = [int(d) for d in data["demands"]]
    if len(demands) != int(data["num_vertices"]) or demands[0] != 0:
        raise ValueError(f"{path.name}: demands must have num_vertices entries, depot 0 first")
    return Instance(
        path.stem, "1pd", int_matrix(dist), demands, int(data["vehicle_capacity"]), None
    )


def find_instances(folder: Path) -> list[Instance]:
    """Every instance in ``folder``: VRPLIB if it holds ``.vrp`` files, else Dell'Amico JSON."""
    vrps = sorted(folder.glob("*.vrp"))
    if vrps:
        return [read_cvrp(p) for p in vrps]
    jsons = sorted(folder.glob("*.json"), key=lambda p: (len(p.stem), p.stem))
    if jsons:
        return [read_dellamico(p) for p in jsons]
    raise SystemExit(f"{folder}: no .vrp or .json instances")


def route_cost(routes: Routes, dist: npt.NDArray[np.int64]) -> int:
    """Distance of routes depot -> clients -> depot, from the matrix."""
    total = 0
    for r in routes:
        path = [0, *r, 0]
        total += sum(int(dist[a, b]) for a, b in itertools.pairwise(path))
    return total


def check(inst: Instance, routes: Routes) -> list[str]:
    """Violations of ``routes``: each client once; CVRP capacity or 1-PD load range."""
    errors = []
    seen = sorted(s for r in routes for s in r)
    if seen != list(range(1, len(inst.demand))):
        errors.append("clients not visited exactly once")
    for k, r in enumerate(routes):
        if inst.kind == "cvrp":
            load = sum(inst.demand[s] for s in r)
            if load > inst.capacity:
                errors.append(f"route {k}: load {load} > {inst.capacity}")
        else:
            low, high = load_range([inst.demand[s] for s in r])
            if high - low > inst.capacity:
                errors.append(f"route {k}: load range {high - low} > {inst.capacity}")
    return errors


def solve_fleetcast(inst: Instance, time_limit: float, seed: int) -> Routes:
    """fleetcast: the generic PyVRP layer (CVRP) or ``solve_one_commodity`` (1-PD)."""
    if inst.kind == "1pd":
        sol = solve_one_commodity(
            inst.demand, inst.dist, capacity=inst.capacity, time_limit_s=time_limit, seed=seed
        )
        return [list(r.stations) for r in sol.routes]
    n = len(inst.demand)
    problem = VrpProblem(
        distance=inst.dist,
        depots=(0,),
        vehicle_types=(VrpVehicleType(capacity=(inst.capacity,), num_available=n - 1),),
        clients=tuple(VrpClient(i, delivery=(inst.demand[i],), pickup=(0,)) for i in range(1, n)),
    )
    result = solve_vrp(problem, time_limit_s=time_limit, seed=seed)
    return [[v.location for v in r.visits] for r in result.routes]


def solve_ortools(inst: Instance, time_limit: float) -> Routes:
    """OR-Tools routing: guided local search from PATH_CHEAPEST_ARC within the time limit."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(inst.demand)
    if inst.kind == "cvrp":
        vehicles = max(1, math.ceil(sum(inst.demand) / inst.capacity) + 5)
    else:
        vehicles = n - 1  # one station per vehicle is always feasible
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist = inst.dist.tolist()

    def transit(i: int, j: int) -> int:
        return int(dist[manager.IndexToNode(i)][manager.IndexToNode(j)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(transit))
    demand = inst.demand

    def load(i: int) -> int:
        return int(demand[manager.IndexToNode(i)])

    cb = routing.RegisterUnaryTransitCallback(load)
    if inst.kind == "cvrp":
        routing.AddDimension(cb, 0, inst.capacity, True, "load")
    else:
        routing.AddDimension(cb, 0, inst.capacity, False, "load")  # free starting load
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []
    routes: Routes = []
    for v in range(vehicles):
        index = routing.Start(v)
        route = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes


def gap(cost: float | None, bks: float | None) -> float | None:
    """Percentage above the best known solution."""
    if cost is None or bks is None:
        return None
    return 100.0 * (cost - bks) / bks


def run(instances: Sequence[Instance], time_limit: float, seed: int) -> dict[str, Any]:
    """Solve every instance with both solvers; rows and means."""
    rows: list[dict[str, Any]] = []
    for inst in instances:
        started = time.perf_counter()
        ours = solve_fleetcast(inst, time_limit, seed)
        ours_s = time.perf_counter() - started
        started = time.perf_counter()
        theirs = solve_ortools(inst, time_limit)
        theirs_s = time.perf_counter() - started
        ours_err, theirs_err = check(inst, ours), check(inst, theirs)
        cost = route_cost(ours, inst.dist) if not ours_err else None
        ocost = route_cost(theirs, inst.dist) if not theirs_err else None
        rows.append(
            {
                "name": inst.name,
                "kind": inst.kind,
                "clients": len(inst.demand) - 1,
                "capacity": inst.capacity,
                "bks": inst.bks,
                "cost": cost,
                "gap_pct": gap(cost, inst.bks),
                "routes": len(ours),
                "feasible": not ours_err,
                "violations": ours_err[:5],
                "seconds": round(ours_s, 2),
                "ortools_cost": ocost,
                "ortools_gap_pct": gap(ocost, inst.bks),
                "ortools_routes": len(theirs),
                "ortools_feasible": not theirs_err,
                "ortools_seconds": round(theirs_s, 2),
                "ortools_minus_fleetcast": (
                    ocost - cost if cost is not None and ocost is not None else None
                ),
                "no_worse_than_ortools": (cost is not None and (ocost is None or cost <= ocost)),
            }
        )

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return sum(values) / len(values) if values and len(values) == len(rows) else None

    return {
        "time_limit_s": time_limit,
        "instances": rows,
        "mean_gap_pct": mean("gap_pct"),
        "ortools_mean_gap_pct": mean("ortools_gap_pct"),
        "mean_cost": mean("cost"),
        "ortools_mean_cost": mean("ortools_cost"),
        "all_feasible": all(r["feasible"] for r in rows),
        "no_worse_than_ortools_count": sum(r["no_worse_than_ortools"] for r in rows),
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(report: dict[str, Any], console: Console) -> None:
    """One row per instance, means in the caption."""
    table = Table(title=f"routing benchmark, {report['time_limit_s']:g} s per solver per instance")
    for col in (
        "instance",
        "n",
        "Q",
        "bks",
        "fleetcast",
        "gap %",
        "OR-Tools",
        "OR gap %",
        "feasible (fc/or)",
        "routes (fc/or)",
        "OR - fc",
    ):
        table.add_column(col, justify="left" if col == "instance" else "right")
    for r in report["instances"]:
        table.add_row(
            r["name"],
            str(r["clients"]),
            str(r["capacity"]),
            _fmt(r["bks"]),
            _fmt(r["cost"]),
            _fmt(r["gap_pct"], 2),
            _fmt(r["ortools_cost"]),
            _fmt(r["ortools_gap_pct"], 2),
            f"{'yes' if r['feasible'] else 'NO'}/{'yes' if r['ortools_feasible'] else 'NO'}",
            f"{r['routes']}/{r['ortools_routes']}",
            _fmt(r["ortools_minus_fleetcast"]),
        )
    console.print(table)
    console.print(
        f"mean gap: fleetcast {_fmt(report['mean_gap_pct'], 2)} %, OR-Tools "
        f"{_fmt(report['ortools_mean_gap_pct'], 2)} %; mean cost fleetcast "
        f"{_fmt(report['mean_cost'])}, OR-Tools {_fmt(report['ortools_mean_cost'])}; "
        f"fleetcast no worse than OR-Tools on {report['no_worse_than_ortools_count']}/"
        f"{len(report['instances'])}; all fleetcast feasible: {report['all_feasible']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--instances", type=Path, required=True, help="folder of instances")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solver")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    instances = find_instances(args.instances)[: args.limit]
    report = run(instances, args.time_limit, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report, Console(width=160))
    return 0


if __name__ == "__main__":
    sys.exit(main())
