"""Unpaired one-commodity pickup-and-delivery routing (the bike-rebalancing problem).

Dell'Amico, Hadjicostantinou, Iori & Novellani (2014), "The bike sharing rebalancing
problem", Omega 45. Node 0 is the depot; station ``i`` has a request ``q_i``: ``q_i > 0``
bikes must be removed (a pickup station), ``q_i < 0`` bikes must be brought (a delivery
station), ``q_i = 0`` must still be visited. Every station is visited exactly once by one
vehicle of capacity ``Q``; bikes picked up may serve later deliveries or go to the depot,
and a vehicle may leave the depot loaded. Cost = total distance (asymmetric matrix).

Feasibility of one route: with start load ``L`` and prefix sums ``P_0 = 0, P_k = q_1 + ... +
q_k`` the load after the k-th station is ``L + P_k``; we need ``0 <= L + P_k <= Q`` for every
k = 0..n. Such an ``L`` exists iff ``max P - min P <= Q`` (take ``L = -min P``; since ``P_0 = 0``
is included, ``0 <= L <= Q`` follows).

PyVRP has no unpaired one-commodity model, so ``solve_one_commodity`` reaches it through
pairing: along a feasible route, a FIFO queue of bikes on board (depot bikes first) pairs
each delivery with the earliest bikes loaded, giving shipments (station -> station), depot
deliveries (client deliveries loaded at the depot) and depot pickups (client pickups). On
that route PyVRP's load equals the physical load, so the route is PyVRP-feasible exactly
when its 1-PD load range fits ``Q``; any 1-PD solution is reachable. The loop re-solves
with PyVRP warm-started from the current routes, reads the station order back, repairs
(splits) routes whose range exceeds ``Q``, re-pairs and repeats within the time budget,
keeping the best solution the plain checker accepts.

Three intensifications work directly on the 1-PD, because on tight instances (routes that
must start empty and end full) the pairing and the move-based local search stall:

- ``best_order``: each route of a new best solution is reordered exactly (Held-Karp over
  the subsets whose load fits, for every admissible start load) when that is affordable,
  about 17 stations for one start load; a longer route is reordered window by window
  (``window_order``: 10 consecutive stations at a time, the rest fixed), which moves a
  block and reverses another in one step where single moves would cross infeasible loads;
- ``_RoutePool``: every feasible route met is pooled; a run that stops improving ends
  with a set-partitioning MIP over the pool (HiGHS through SciPy) that recombines routes
  of different local optima (Subramanian, Uchoa & Ochi's ILS-SP);
- a run that stops improving restarts from the best solution shaken hard (several random
  relocations in a row) rather than from scratch: on these instances the best solutions
  share most of their structure, and random giant tours spent the budget rediscovering it.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from fleetcast.planning.matrix import TravelMatrix
from fleetcast.planning.vrp import (
    VrpClient,
    VrpProblem,
    VrpResult,
    VrpShipment,
    VrpVehicleType,
    VrpVisit,
    int_matrix,
    solve_vrp,
)

__all__ = [
    "OneCommodityRoute",
    "OneCommoditySolution",
    "check_one_commodity",
    "load_range",
    "route_cost",
    "route_loads",
    "solve_one_commodity",
    "split_tour",
    "window_order",
]


@dataclass(frozen=True)
class OneCommodityRoute:
    """Stations in visiting order (depot 0 excluded), the start load, load after each."""

    stations: tuple[int, ...]
    start_load: int
    loads: tuple[int, ...]
    cost: int


@dataclass(frozen=True)
class OneCommoditySolution:
    """Routes, total cost (distance), whether the plain checker accepts it, effort spent."""

    routes: tuple[OneCommodityRoute, ...]
    cost: int
    is_feasible: bool
    solve_seconds: float
    iterations: int


def load_range(requests: Sequence[int]) -> tuple[int, int]:
    """(min, max) of the prefix sums of ``requests``, including the empty prefix 0."""
    low = high = total = 0
    for q in requests:
        total += q
        low, high = min(low, total), max(high, total)
    return low, high


def route_loads(stations: Sequence[int], requests: Sequence[int]) -> tuple[int, list[int]]:
    """The smallest feasible start load and the load after each station."""
    low, _ = load_range([requests[s] for s in stations])
    load, loads = -low, []
    for s in stations:
        load += requests[s]
        loads.append(load)
    return -low, loads


def route_cost(stations: Sequence[int], dist: npt.NDArray[np.int64]) -> int:
    """Distance depot -> stations -> depot."""
    path = [0, *stations, 0]
    return int(sum(int(dist[a, b]) for a, b in itertools.pairwise(path)))


def _make_route(
    stations: Sequence[int], requests: Sequence[int], dist: npt.NDArray[np.int64]
) -> OneCommodityRoute:
    start, loads = route_loads(stations, requests)
    return OneCommodityRoute(tuple(stations), start, tuple(loads), route_cost(stations, dist))


def check_one_commodity(
    solution: OneCommoditySolution,
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    max_vehicles: int | None = None,
) -> list[str]:
    """Every violated constraint of ``solution`` (empty = feasible), independent of PyVRP."""
    errors: list[str] = []
    n = len(requests)
    seen: list[int] = [s for r in solution.routes for s in r.stations]
    if sorted(seen) != list(range(1, n)):
        missing = sorted(set(range(1, n)) - set(seen))
        twice = sorted({s for s in seen if seen.count(s) > 1})
        errors.append(
            f"stations must be visited once: missing {missing}, repeated {twice}, all {seen}"
        )
    if max_vehicles is not None and len(solution.routes) > max_vehicles:
        errors.append(f"{len(solution.routes)} routes, only {max_vehicles} vehicles")
    total = 0
    for k, r in enumerate(solution.routes):
        if not r.stations:
            errors.append(f"route {k} is empty")
        load = r.start_load
        if not 0 <= load <= capacity:
            errors.append(f"route {k}: start load {load} outside 0..{capacity}")
        for s, after in zip(r.stations, r.loads, strict=True):
            load += requests[s]
            if load != after or not 0 <= load <= capacity:
                errors.append(
                    f"route {k}: load {load} (stated {after}) at station {s} outside 0..{capacity}"
                )
        cost = route_cost(r.stations, dist)
        if cost != r.cost:
            errors.append(f"route {k}: cost {r.cost} but the matrix gives {cost}")
        total += cost
    if total != solution.cost:
        errors.append(f"total cost {solution.cost} but routes sum to {total}")
    return errors


def split_tour(
    tour: Sequence[int], requests: Sequence[int], dist: npt.NDArray[np.int64], *, capacity: int
) -> list[list[int]]:
    """Cut a giant tour into consecutive routes that each fit ``capacity``, at least cost.

    A shortest path over cut points (Prins' split); a single station always fits when
    ``|q_i| <= capacity``.
    """
    n = len(tour)
    best = [0] + [2**62] * n
    prev = [0] * (n + 1)
    for i in range(n):
        if best[i] >= 2**62:
            continue
        low = high = total = 0
        cost = int(dist[0, tour[i]])
        for j in range(i, n):
            total += requests[tour[j]]
            low, high = min(low, total), max(high, total)
            if high - low > capacity:
                break
            if j > i:
                cost += int(dist[tour[j - 1], tour[j]])
            value = best[i] + cost + int(dist[tour[j], 0])
            if value < best[j + 1]:
                best[j + 1], prev[j + 1] = value, i
    routes: list[list[int]] = []
    j = n
    while j > 0:
        i = prev[j]
        routes.append(list(tour[i:j]))
        j = i
    return routes[::-1]


@dataclass(frozen=True)
class _Pairing:
    """What a set of routes becomes for PyVRP: its problem and the warm-start visits."""

    problem: VrpProblem
    routes: list[list[VrpVisit]]


def _pair(
    routes: Sequence[Sequence[int]],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    num_vehicles: int,
    rng: random.Random | None,
) -> _Pairing:
    """FIFO pairing along ``routes`` (start load minimal, or random within range with ``rng``)."""
    clients: list[VrpClient] = []
    shipments: list[VrpShipment] = []
    visits: list[list[VrpVisit]] = []
    for stations in routes:
        low, high = load_range([requests[s] for s in stations])
        start = -low if rng is None else rng.randint(-low, capacity - high)
        queue: deque[list[int]] = deque([[0, start]] if start else [])  # [source, amount]
        route_visits: list[VrpVisit] = []
        pending_pickups: dict[int, list[int]] = {}  # shipment ids by pickup station
        for s in stations:
            q = requests[s]
            if q > 0:
                queue.append([s, q])
                continue
            need = -q
            to_depot_client = None
            while need:
                src = queue[0]
                take = min(need, src[1])
                if src[0] == 0:
                    if to_depot_client is None:
                        to_depot_client = 0
                    to_depot_client += take
                else:
                    pending_pickups.setdefault(src[0], []).append(len(shipments))
                    shipments.append(VrpShipment(src[0], s, amount=(take,)))
                src[1] -= take
                need -= take
                if src[1] == 0:
                    queue.popleft()
            if to_depot_client:
                clients.append(VrpClient(s, delivery=(to_depot_client,), pickup=(0,)))
        # bikes left on board from stations go to the depot
        to_depot = {src: amount for src, amount in queue if src != 0 and amount}
        # now emit visits in route order
        for s in stations:
            for ship in pending_pickups.get(s, []):
                route_visits.append(VrpVisit("pickup", ship, s, 0))
            if s in to_depot:
                clients.append(VrpClient(s, delivery=(0,), pickup=(to_depot[s],)))
                route_visits.append(VrpVisit("client", len(clients) - 1, s, 0))
            if requests[s] == 0:
                clients.append(VrpClient(s, delivery=(0,), pickup=(0,)))
                route_visits.append(VrpVisit("client", len(clients) - 1, s, 0))
            for k, shipment in enumerate(shipments):
                if shipment.delivery_location == s:
                    route_visits.append(VrpVisit("delivery", k, s, 0))
            for k, client in enumerate(clients):
                if client.location == s and client.delivery[0] > 0:
                    route_visits.append(VrpVisit("client", k, s, 0))
        visits.append(route_visits)
    problem = VrpProblem(
        distance=dist,
        depots=(0,),
        vehicle_types=(VrpVehicleType(capacity=(capacity,), num_available=num_vehicles),),
        clients=tuple(clients),
        shipments=tuple(shipments),
    )
    return _Pairing(problem, visits)


def _read_routes(result: VrpResult, n: int) -> list[list[int]]:
    """Station order per PyVRP route; a station split over routes stays where first met."""
    placed: set[int] = set()
    routes: list[list[int]] = []
    for r in result.routes:
        stations = []
        for v in r.visits:
            if v.location not in placed:
                placed.add(v.location)
                stations.append(v.location)
        if stations:
            routes.append(stations)
    routes += [[s] for s in range(1, n) if s not in placed]
    return routes


def _solution(
    routes: Sequence[Sequence[int]],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
) -> list[OneCommodityRoute]:
    """Routes made feasible: a route whose load range exceeds ``capacity`` is split."""
    out: list[OneCommodityRoute] = []
    for stations in routes:
        low, high = load_range([requests[s] for s in stations])
        parts = (
            [list(stations)]
            if high - low <= capacity
            else split_tour(stations, requests, dist, capacity=capacity)
        )
        out += [_make_route(p, requests, dist) for p in parts if p]
    return out


def _excess(stations: Sequence[int], requests: Sequence[int], capacity: int) -> int:
    """How far a route's load range exceeds ``capacity`` (0 = feasible)."""
    if not stations:
        return 0
    prefix = list(itertools.accumulate(requests[s] for s in stations))
    return max(0, max(0, *prefix) - min(0, *prefix) - capacity)


def local_search(
    routes: Sequence[Sequence[int]],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    max_routes: int,
    penalty: float | None = None,
) -> list[list[int]]:
    """Polish routes directly on the 1-PD (first improvement until none is left).

    Moves: relocate a chain of 1-3 stations as it is or reversed (or-opt; within or between
    routes, or to a new route while under ``max_routes``), swap two stations, exchange
    route tails (2-opt*), exchange segments (CROSS), reverse a segment (2-opt). Distance
    changes are computed from the few edges a move touches (a reversal also flips the inner
    edges, which the asymmetric matrix prices apart, so it is bounded with prefix sums both
    ways); the load range is checked only for moves that could improve. With ``penalty``
    None every route must fit ``capacity`` exactly (the result stays feasible if the input
    was); with a number, load in excess of the capacity costs ``penalty`` per bike, which
    lets the search cross infeasible ground (merge routes, reorder) like PyVRP's penalised search.
    """
    d: list[list[int]] = dist.tolist()

    def cost(r: Sequence[int]) -> int:
        if not r:
            return 0
        total = d[0][r[0]] + d[r[-1]][0]
        for a, b in itertools.pairwise(r):
            total += d[a][b]
        return total

    def value(r: Sequence[int], known_cost: int | None = None) -> float:
        if not r:
            return 0.0
        excess = _excess(r, requests, capacity)
        if excess and penalty is None:
            return float("inf")
        c = cost(r) if known_cost is None else known_cost
        return c + (penalty or 0.0) * excess

    cur = [list(r) for r in routes if r]
    costs = [cost(r) for r in cur]
    vals = [value(r, c) for r, c in zip(cur, costs, strict=True)]
    eps = 1e-9

    def accept(changes: dict[int, list[int]]) -> bool:
        """Apply route replacements if their exact value is lower; report success."""
        old = sum(vals[k] if k < len(cur) else 0.0 for k in changes)
        new_costs = {k: cost(r) for k, r in changes.items()}
        if sum(new_costs.values()) >= old - eps:
            return False
        new_vals = {k: value(r, new_costs[k]) for k, r in changes.items()}
        if sum(new_vals.values()) >= old - eps:
            return False
        for k, r in changes.items():
            if k == len(cur):
                cur.append(r)
                costs.append(new_costs[k])
                vals.append(new_vals[k])
            else:
                cur[k], costs[k], vals[k] = r, new_costs[k], new_vals[k]
        return True

    def step() -> bool:
        n_routes = len(cur)
        # relocate chains of 1-3 stations, as they are or reversed (or-opt)
        for a in range(n_routes):
            ra = cur[a]
            for length in (1, 2, 3):
                for i in range(len(ra) - length + 1):
                    chain = ra[i : i + length]
                    p = ra[i - 1] if i else 0
                    q = ra[i + length] if i + length < len(ra) else 0
                    removed = d[p][q] - d[p][chain[0]] - d[chain[-1]][q]
                    rest = ra[:i] + ra[i + length :]
                    inner = sum(d[x][y] for x, y in itertools.pairwise(chain))
                    flipped = chain[::-1]
                    inner_flipped = sum(d[x][y] for x, y in itertools.pairwise(flipped))
                    options = [(chain, 0)]
                    if length > 1:
                        options.append((flipped, inner_flipped - inner))
                    targets = list(range(n_routes)) + ([n_routes] if n_routes < max_routes else [])
                    for b in targets:
                        rb = rest if b == a else (cur[b] if b < n_routes else [])
                        base = costs[a] + removed if rest else 0
                        for seg, turn in options:
                            for k in range(len(rb) + 1):
                                if b == a and k == i and turn == 0:
                                    continue
                                u = rb[k - 1] if k else 0
                                v = rb[k] if k < len(rb) else 0
                                added = d[u][seg[0]] + d[seg[-1]][v] - d[u][v] + turn
                                if b == a:
                                    if base + added >= vals[a] - eps:
                                        continue
                                    if accept({a: rb[:k] + seg + rb[k:]}):
                                        return True
                                else:
                                    cb = costs[b] if b < n_routes else 0
                                    old = vals[a] + (vals[b] if b < n_routes else 0.0)
                                    if base + cb + added >= old - eps:
                                        continue
                                    if accept({a: rest, b: rb[:k] + seg + rb[k:]}):
                                        return True
        # exchange tails between two routes (2-opt*)
        for a in range(n_routes):
            for b in range(a + 1, n_routes):
                ra, rb = cur[a], cur[b]
                for i in range(len(ra) + 1):
                    pa = ra[i - 1] if i else 0
                    na = ra[i] if i < len(ra) else 0
                    for j in range(len(rb) + 1):
                        pb = rb[j - 1] if j else 0
                        nb = rb[j] if j < len(rb) else 0
                        delta = d[pa][nb] + d[pb][na] - d[pa][na] - d[pb][nb]
                        if costs[a] + costs[b] + delta >= vals[a] + vals[b] - eps:
                            continue
                        if accept({a: ra[:i] + rb[j:], b: rb[:j] + ra[i:]}):
                            return True
        # swap two stations
        for a in range(n_routes):
            for b in range(a, n_routes):
                for i in range(len(cur[a])):
                    for j in range(len(cur[b])):
                        if b == a and j <= i:
                            continue
                        ra, rb = list(cur[a]), list(cur[b])
                        if a == b:
                            ra[i], ra[j] = ra[j], ra[i]
                            if accept({a: ra}):
                                return True
                            continue
                        u, v = ra[i], rb[j]
                        pa, na = (ra[i - 1] if i else 0), (ra[i + 1] if i + 1 < len(ra) else 0)
                        pb, nb = (rb[j - 1] if j else 0), (rb[j + 1] if j + 1 < len(rb) else 0)
                        delta = (
                            d[pa][v]
                            + d[v][na]
                            - d[pa][u]
                            - d[u][na]
                            + d[pb][u]
                            + d[u][nb]
                            - d[pb][v]
                            - d[v][nb]
                        )
                        if costs[a] + costs[b] + delta >= vals[a] + vals[b] - eps:
                            continue
                        ra[i], rb[j] = v, u
                        if accept({a: ra, b: rb}):
                            return True
        # exchange two segments of 1-3 stations between routes (CROSS; 1-1 is the swap)
        for a in range(n_routes):
            for b in range(a + 1, n_routes):
                ra, rb = cur[a], cur[b]
                for la in (1, 2, 3):
                    for i in range(len(ra) - la + 1):
                        sa = ra[i : i + la]
                        pa = ra[i - 1] if i else 0
                        na = ra[i + la] if i + la < len(ra) else 0
                        for lb in (1, 2, 3):
                            if la == lb == 1:
                                continue
                            for j in range(len(rb) - lb + 1):
                                sb = rb[j : j + lb]
                                pb = rb[j - 1] if j else 0
                                nb = rb[j + lb] if j + lb < len(rb) else 0
                                delta = (
                                    d[pa][sb[0]]
                                    + d[sb[-1]][na]
                                    - d[pa][sa[0]]
                                    - d[sa[-1]][na]
                                    + d[pb][sa[0]]
                                    + d[sa[-1]][nb]
                                    - d[pb][sb[0]]
                                    - d[sb[-1]][nb]
                                )
                                if costs[a] + costs[b] + delta >= vals[a] + vals[b] - eps:
                                    continue
                                changes = {
                                    a: ra[:i] + sb + ra[i + la :],
                                    b: rb[:j] + sa + rb[j + lb :],
                                }
                                if accept(changes):
                                    return True
        # reverse a segment (2-opt; the matrix is asymmetric, so the inner edges change too)
        for a in range(n_routes):
            ra = cur[a]
            path = [0, *ra, 0]
            ahead = [0, *itertools.accumulate(d[x][y] for x, y in itertools.pairwise(path))]
            behind = [0, *itertools.accumulate(d[y][x] for x, y in itertools.pairwise(path))]
            for i in range(1, len(path) - 1):
                for j in range(i + 1, len(path) - 1):
                    # path[i..j] reversed: edges i-1 -> j and i -> j+1, inner edges flipped
                    delta = (
                        d[path[i - 1]][path[j]]
                        + d[path[i]][path[j + 1]]
                        - d[path[i - 1]][path[i]]
                        - d[path[j]][path[j + 1]]
                        + (behind[j] - behind[i])
                        - (ahead[j] - ahead[i])
                    )
                    if costs[a] + delta >= vals[a] - eps:
                        continue
                    if accept({a: ra[: i - 1] + ra[i - 1 : j][::-1] + ra[j:]}):
                        return True
        return False

    while step():
        keep = [k for k, r in enumerate(cur) if r]
        cur[:] = [cur[k] for k in keep]
        costs[:] = [costs[k] for k in keep]
        vals[:] = [vals[k] for k in keep]
    return cur


_EXACT_WORK = 60_000_000  # start loads x subsets x stations^2 an exact reordering may cost
_WINDOW = 10  # stations re-ordered exactly at a time (about 50 ms per 20-station route)


def best_order(
    stations: Sequence[int],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    max_work: int = _EXACT_WORK,
) -> list[int] | None:
    """The cheapest feasible order of one route's stations (Held-Karp), None if too big.

    For a fixed start load ``L`` the load after a prefix is ``L`` plus the sum of the
    stations visited, whatever their order, so feasibility is a property of the visited
    subset and the classic subset DP applies; the start loads ``L`` that can end within
    ``0..capacity`` are tried in turn. Layers of equal subset size are vectorised. None
    when ``len(L) * 2^m * m^2`` exceeds ``max_work`` or no order fits.
    """
    s = list(stations)
    if len(s) < 2:
        return s if s and abs(requests[s[0]]) <= capacity else None
    total = sum(requests[x] for x in s)
    loads = range(max(0, -total), min(capacity, capacity - total) + 1)
    return _order_dp(s, requests, dist, capacity, 0, 0, 0, loads, max_work)


def _order_dp(
    s: list[int],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    capacity: int,
    head: int,
    tail: int,
    offset: int,
    loads: range,
    max_work: int,
) -> list[int] | None:
    """Held-Karp over the order of ``s`` between the fixed nodes ``head`` and ``tail``: for
    each start load ``L`` in ``loads`` the load after visiting a subset is ``L + offset``
    plus the subset's requests and must stay within ``0..capacity``. None if too big or
    nothing fits."""
    m = len(s)
    if not loads or len(loads) * (1 << m) * m * m > max_work:
        return None
    full = (1 << m) - 1
    sums = np.zeros(1 << m, dtype=np.int64)
    sizes = np.zeros(1 << m, dtype=np.int64)
    for k in range(m):
        sums[1 << k : 1 << (k + 1)] = sums[: 1 << k] + requests[s[k]]
        sizes[1 << k : 1 << (k + 1)] = sizes[: 1 << k] + 1
    layers = [np.flatnonzero(sizes == k) for k in range(m + 1)]
    sub = dist[np.ix_(s, s)].astype(np.int64)
    out = dist[head, s].astype(np.int64)
    back = dist[s, tail].astype(np.int64)
    inf = np.int64(2**50)
    best_cost, best_f = inf, None
    for start in loads:
        level = start + offset + sums
        ok = (level >= 0) & (level <= capacity)
        f = np.full((1 << m, m), inf, dtype=np.int64)
        for k in range(m):
            if ok[1 << k]:
                f[1 << k, k] = out[k]
        for size in range(1, m):
            masks = layers[size][ok[layers[size]]]
            for chunk in range(0, len(masks), 4096):
                part = masks[chunk : chunk + 4096]
                reach = (f[part][:, :, None] + sub[None, :, :]).min(axis=1)
                for j in range(m):
                    free = (part >> j) & 1 == 0
                    nxt = part[free] | (1 << j)
                    fits = ok[nxt]
                    nxt = nxt[fits]
                    f[nxt, j] = np.minimum(f[nxt, j], reach[free, j][fits])
        cost = (f[full] + back).min()
        if cost < best_cost:
            best_cost, best_f = cost, f
    if best_f is None or best_cost >= inf:
        return None
    order: list[int] = []
    mask = full
    j = int(np.argmin(best_f[full] + back))
    while True:
        order.append(j)
        rest = mask ^ (1 << j)
        if not rest:
            break
        target = best_f[mask, j]
        j = next(i for i in range(m) if rest >> i & 1 and best_f[rest, i] + sub[i, j] == target)
        mask = rest
    return [s[k] for k in reversed(order)]


def window_order(
    stations: Sequence[int],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    width: int = _WINDOW,
) -> list[int]:
    """A route improved by re-ordering each run of ``width`` consecutive stations exactly
    (the rest of the route fixed), for routes too long for ``best_order``; the result is
    feasible whenever the input was, and never costlier.

    The stations outside the window keep their loads relative to the start, so the start
    loads that suit them bound the window's Held-Karp (``_order_dp``)."""
    route = list(stations)
    if len(route) < 2:
        return route
    width = min(width, len(route))
    improved = True
    while improved:
        improved = False
        prefix = [0, *itertools.accumulate(requests[x] for x in route)]
        for i in range(len(route) - width + 1):
            j = i + width
            outside = prefix[: i + 1] + prefix[j:]
            low, high = min(outside), max(outside)
            loads = range(max(0, -low), min(capacity, capacity - high) + 1)
            head = route[i - 1] if i else 0
            tail = route[j] if j < len(route) else 0
            window = route[i:j]
            order = _order_dp(
                window, requests, dist, capacity, head, tail, prefix[i], loads, _EXACT_WORK
            )
            if order is None or order == window:
                continue
            old = [head, *window, tail]
            new = [head, *order, tail]
            gain = sum(dist[a, b] for a, b in itertools.pairwise(old)) - sum(
                dist[a, b] for a, b in itertools.pairwise(new)
            )
            if gain > 0:
                route[i:j] = order
                prefix = [0, *itertools.accumulate(requests[x] for x in route)]
                improved = True
    return route


def _perturb(routes: list[list[int]], rng: random.Random, *, vehicles: int) -> list[list[int]]:
    """Move a few random stations (about a fifth, at least two) to random positions."""
    routes = [list(r) for r in routes]
    stations = [s for r in routes for s in r]
    k = min(len(stations), rng.randint(2, max(2, len(stations) // 4)))
    for station in rng.sample(stations, k):
        for r in routes:
            if station in r:
                r.remove(station)
        routes = [r for r in routes if r]
        if len(routes) < vehicles and rng.random() < 0.2:
            routes.append([station])
        else:
            target = rng.choice(routes) if routes else None
            if target is None:
                routes.append([station])
            else:
                target.insert(rng.randint(0, len(target)), station)
    return routes


def _polish(
    routes: Sequence[Sequence[int]],
    requests: Sequence[int],
    dist: npt.NDArray[np.int64],
    *,
    capacity: int,
    vehicles: int,
    penalty: float,
) -> list[OneCommodityRoute]:
    """Penalised local search, repaired under a growing penalty, split, strict local search.

    While some route exceeds the capacity the penalised search is repeated with ten times
    the penalty (at most three times, as PyVRP's repair booster does): reordering and
    exchanging stations usually restores feasibility far cheaper than cutting the route.
    """
    loose = local_search(
        routes, requests, dist, capacity=capacity, max_routes=vehicles, penalty=penalty
    )
    weight = penalty
    for _ in range(3):
        if not any(_excess(r, requests, capacity) for r in loose):
            break
        weight *= 10
        loose = local_search(
            loose, requests, dist, capacity=capacity, max_routes=vehicles, penalty=weight
        )
    split = _solution(loose, requests, dist, capacity=capacity)
    strict = local_search(
        [list(r.stations) for r in split],
        requests,
        dist,
        capacity=capacity,
        max_routes=max(vehicles, len(split)),
    )
    return [_make_route(r, requests, dist) for r in strict]


class _RoutePool:
    """Every feasible route met during the search, cheapest order per station set."""

    def __init__(self) -> None:
        self.routes: dict[frozenset[int], OneCommodityRoute] = {}

    def add(self, routes: Sequence[OneCommodityRoute]) -> None:
        for r in routes:
            key = frozenset(r.stations)
            known = self.routes.get(key)
            if known is None or r.cost < known.cost:
                self.routes[key] = r

    def best_partition(
        self, n: int, *, vehicles: int, time_limit_s: float
    ) -> list[OneCommodityRoute] | None:
        """The cheapest choice of pooled routes covering stations 1..n-1 once (a MIP).

        Set partitioning over the pool (HiGHS through ``scipy.optimize.milp``): routes found
        in different local optima are recombined, as in Subramanian et al.'s ILS-SP. None
        when HiGHS finds no partition within ``time_limit_s``.
        """
        routes = list(self.routes.values())
        if not routes:
            return None
        rows = [s - 1 for r in routes for s in r.stations]
        cols = [k for k, r in enumerate(routes) for _ in r.stations]
        cover = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n - 1, len(routes)))
        count = sp.csr_array(np.ones((1, len(routes))))
        result = milp(
            c=np.array([r.cost for r in routes], dtype=float),
            constraints=[
                LinearConstraint(cover, lb=1.0, ub=1.0),
                LinearConstraint(count, lb=0.0, ub=float(vehicles)),
            ],
            integrality=np.ones(len(routes)),
            bounds=Bounds(0.0, 1.0),
            options={"time_limit": max(0.01, time_limit_s)},
        )
        if result.x is None:
            return None
        return [routes[k] for k in np.flatnonzero(result.x > 0.5)]


def solve_one_commodity(
    requests: Sequence[int],
    matrix: npt.ArrayLike | TravelMatrix,
    *,
    capacity: int,
    max_vehicles: int | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
) -> OneCommoditySolution:
    """Routes visiting every station once at least distance, loads within ``0..capacity``.

    ``requests[0]`` is the depot (must be 0); ``matrix`` is integer distances (or a
    ``TravelMatrix`` whose ``distance_m`` is rounded), node 0 = depot. ``max_vehicles``
    None = as many as stations. The result's ``is_feasible`` comes from
    ``check_one_commodity``, not from PyVRP.
    """
    started = time.perf_counter()
    q = [int(x) for x in requests]
    n = len(q)
    if n < 2:
        raise ValueError("requests must hold the depot (index 0) and at least one station")
    if q[0] != 0:
        raise ValueError(f"requests[0] is the depot and must be 0, got {q[0]}")
    if capacity < 1:
        raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
    too_big = [i for i in range(1, n) if abs(q[i]) > capacity]
    if too_big:
        raise ValueError(f"stations {too_big[:10]} request more than the capacity {capacity}")
    if max_vehicles is not None and max_vehicles < 1:
        raise ValueError(f"max_vehicles must be positive or None, got {max_vehicles!r}")
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s!r}")
    raw = matrix.distance_m if isinstance(matrix, TravelMatrix) else np.asarray(matrix)
    if raw.shape != (n, n):
        raise ValueError(f"matrix must be {n} x {n}, one row per request, got {raw.shape}")
    dist = int_matrix(raw)
    vehicles = max_vehicles if max_vehicles is not None else n - 1
    deadline = started + time_limit_s
    rng = random.Random(seed)

    def remaining() -> float:
        return deadline - time.perf_counter()

    # a penalty per bike of excess load: about the mean edge, so merging routes is tried.
    penalty = float(np.mean(dist)) if n > 1 else 1.0
    pool = _RoutePool()
    exact: dict[frozenset[int], list[int] | None] = {}

    def polish(routes: Sequence[Sequence[int]], weight: float) -> list[OneCommodityRoute]:
        """Local search on the 1-PD; every route met is pooled."""
        out = _polish(routes, q, dist, capacity=capacity, vehicles=vehicles, penalty=weight)
        pool.add(out)
        return out

    def reorder(routes: Sequence[OneCommodityRoute]) -> list[OneCommodityRoute]:
        """Each route in its exact best order where that is affordable (cached per set)."""
        out = []
        for r in routes:
            key = frozenset(r.stations)
            if key not in exact:
                # about 5e7 units of work per second; what does not fit is retried later
                budget = int(min(_EXACT_WORK, 5e7 * remaining()))
                order = best_order(r.stations, q, dist, capacity=capacity, max_work=budget)
                if order is not None or budget == _EXACT_WORK:
                    exact[key] = order
            order = exact.get(key)
            if order is None and key in exact:
                order = window_order(r.stations, q, dist, capacity=capacity)
            better = order is not None and route_cost(order, dist) < r.cost
            out.append(_make_route(order, q, dist) if order is not None and better else r)
        pool.add(out)
        return out

    # 1. a tour without capacity (a TSP through PyVRP), cut into feasible routes.
    tsp = VrpProblem(
        distance=dist,
        depots=(0,),
        vehicle_types=(VrpVehicleType(capacity=(0,), num_available=1),),
        clients=tuple(VrpClient(s, delivery=(0,), pickup=(0,)) for s in range(1, n)),
    )
    tsp_result = solve_vrp(
        tsp,
        time_limit_s=max(0.05, min(time_limit_s * 0.1, remaining())),
        seed=seed,
        no_improvement=2000,
    )
    tour = [s for r in _read_routes(tsp_result, n) for s in r]
    current = reorder(polish([tour], penalty))
    best = run_best = current
    best_cost = run_best_cost = sum(r.cost for r in best)
    iterations = 0
    stale = 0
    # 2. iterated local search in runs: a run that has not improved its own best for
    # ``patience`` iterations ends with a set-partitioning recombination of every route
    # pooled so far, and the next run starts from the best solution shaken hard.
    patience = max(20, 2 * n)
    slice_s = max(0.02, time_limit_s / 100)
    while remaining() > 0.02:
        iterations += 1
        if stale > patience:
            recombined = pool.best_partition(
                n, vehicles=vehicles, time_limit_s=min(1.0, remaining() / 2)
            )
            if recombined is not None and sum(r.cost for r in recombined) < best_cost:
                recombined = reorder(recombined)
                polished = reorder(polish([list(r.stations) for r in recombined], penalty))
                for option in (recombined, polished):
                    cost = sum(r.cost for r in option)
                    if cost < best_cost and len(option) <= vehicles:
                        best, best_cost = option, cost
            # the next run starts from the best solution shaken hard (several perturbations
            # in a row), which keeps the good structure that random giant tours throw away
            shaken = [list(r.stations) for r in best]
            for _ in range(rng.randint(2, 4)):
                shaken = _perturb(shaken, rng, vehicles=vehicles)
            current = polish(shaken, penalty * rng.choice((0.1, 1.0)))
            run_best, run_best_cost, stale = current, sum(r.cost for r in current), 0
        elif stale:
            # shake the current solution when it is within 1% of the run's best (a random
            # walk among near-optimal solutions), else the run's best, and polish under a
            # random penalty.
            current_cost = sum(r.cost for r in current)
            base = current if current_cost <= run_best_cost * 1.01 else run_best
            shaken = _perturb([list(r.stations) for r in base], rng, vehicles=vehicles)
            current = polish(shaken, penalty * rng.choice((0.01, 0.1, 1.0)))
        pairing = _pair(
            [list(r.stations) for r in current],
            q,
            dist,
            capacity=capacity,
            num_vehicles=max(vehicles, len(current)),
            rng=rng if stale and iterations % 2 == 0 else None,
        )
        result = solve_vrp(
            pairing.problem,
            time_limit_s=max(0.01, min(slice_s, remaining())),
            seed=seed + iterations,
            no_improvement=500,
            initial_routes=pairing.routes,
        )
        candidate = polish(_read_routes(result, n), penalty)
        stale += 1
        for k, option in enumerate((current, candidate)):
            if len(option) > vehicles or sum(r.cost for r in option) >= run_best_cost:
                continue
            # a new best of the run: intensify with the exact order of each route
            option = reorder(option)
            cost = sum(r.cost for r in option)
            if k == 1:
                candidate = option
            run_best, run_best_cost, stale = option, cost, 0
            if cost < best_cost:
                best, best_cost = option, cost
        current = candidate
    recombined = pool.best_partition(
        n, vehicles=vehicles, time_limit_s=max(0.05, min(1.0, remaining()))
    )
    if recombined is not None and sum(r.cost for r in recombined) < best_cost:
        best, best_cost = recombined, sum(r.cost for r in recombined)
    solution = OneCommoditySolution(
        routes=tuple(best),
        cost=best_cost,
        is_feasible=False,
        solve_seconds=time.perf_counter() - started,
        iterations=iterations,
    )
    ok = not check_one_commodity(solution, q, dist, capacity=capacity, max_vehicles=max_vehicles)
    return OneCommoditySolution(
        solution.routes, solution.cost, ok, solution.solve_seconds, iterations
    )
