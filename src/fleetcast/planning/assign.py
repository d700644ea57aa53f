"""Field tasks given to workers and ordered into routes: a prize-collecting routing problem.

Each worker is one vehicle of PyVRP with its own start (a depot at its position), its own
travel speed (a routing profile per distinct speed) and its shift as ``shift_duration``.
Tasks are optional clients: doing one earns ``priority x priority_to_seconds`` and every
second of route time (travel + service) costs 1, so the solver does the most valuable
set of tasks that fits into the shifts, in a short order, and leaves the rest unassigned.
With the default 3600 s per priority point route time is only a tie-breaker: the shifts
decide how much gets done, priority decides what.

Travel: straight-line distance in a local metric projection x ``detour_factor`` (streets
are not straight), at the worker's speed (walk 4.5 km/h, van 20 km/h unless the worker
says otherwise). A route ends at the last task (free end: the shift is over when the work
is) unless the worker has ``return_to_start``, in which case the way back counts inside
the shift (a van returning to the depot).

Tasks already in progress (``fixed``: task id -> worker id) stay with their worker and
come first in its route, in the order ``fixed`` lists them. PyVRP 0.14 cannot tie a client
to one vehicle type, so they are placed before solving: the worker's route starts with
them, and PyVRP plans the rest from the last fixed task with what is left of the shift.
They are kept even when they overrun the shift (the work has started).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, Literal, get_args

import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

from fleetcast.errors import InfeasiblePlanError, SchemaError
from fleetcast.geo import local_crs

WorkerMode = Literal["walk", "van"]
WORKER_MODES: Final[tuple[WorkerMode, ...]] = get_args(WorkerMode)

NO_TIME_LEFT: Final = "no worker time left"
OUT_OF_REACH: Final = "out of reach within any worker's shift"
NO_LOCATION: Final = "no location"
NO_PRIORITY: Final = "no priority"

ASSIGNMENT: Final[dict[str, pl.DataType]] = {
    "assignee": pl.String(),
    "route_seq": pl.Int64(),
    "eta_minutes": pl.Float64(),
    "travel_m": pl.Float64(),
    "travel_minutes": pl.Float64(),
    "unassigned_reason": pl.String(),
}
"""Columns :func:`assign_tasks` adds to the tasks."""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _from_mapping_values(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{cls.__name__} not understood: unknown key(s) {unknown}; known keys are "
            f"{sorted(known)}"
        )
    return dict(data)


@dataclass(frozen=True, slots=True)
class Worker:
    """A field worker on shift: where the shift starts, how long it lasts, how they move.

    ``speed_kmh`` None takes the mode's speed from :class:`AssignParams`. With
    ``return_to_start`` the route must come back to (lat, lon) within the shift; without
    it the route ends at its last task.
    """

    worker_id: str
    name: str
    lat: float
    lon: float
    shift_minutes: float
    mode: WorkerMode = "walk"
    speed_kmh: float | None = None
    return_to_start: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.worker_id, str) or not self.worker_id:
            problems.append(f"worker_id={self.worker_id!r} (use a non-empty text)")
        if not _finite(self.lat) or not -90 <= self.lat <= 90:
            problems.append(f"lat={self.lat!r} (use -90..90)")
        if not _finite(self.lon) or not -180 <= self.lon <= 180:
            problems.append(f"lon={self.lon!r} (use -180..180)")
        if not _finite(self.shift_minutes) or not 0 < self.shift_minutes <= 24 * 60:
            problems.append(f"shift_minutes={self.shift_minutes!r} (use 0 < minutes <= 1440)")
        if self.mode not in WORKER_MODES:
            problems.append(f"mode={self.mode!r} (use one of {list(WORKER_MODES)})")
        if self.speed_kmh is not None and (not _finite(self.speed_kmh) or self.speed_kmh <= 0):
            problems.append(f"speed_kmh={self.speed_kmh!r} (use km/h > 0, or None for the mode's)")
        if not isinstance(self.return_to_start, bool):
            problems.append(f"return_to_start={self.return_to_start!r} (use true or false)")
        if problems:
            raise ValueError(f"Worker {self.worker_id!r} not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Worker:
        """A worker from a table row or a TOML table; unknown keys are an error."""
        return cls(**_from_mapping_values(cls, data))


@dataclass(frozen=True, slots=True)
class AssignParams:
    """Solver and travel settings of the assignment (``[planning.assign]``).

    ``priority_to_seconds``: the route time one priority point is worth. The search stops
    after ``time_limit_s`` or ``no_improvement_iterations`` iterations without a better
    solution, whichever comes first (the latter makes small plans quick and repeatable).
    """

    time_limit_s: float = 5.0
    no_improvement_iterations: int = 20_000
    detour_factor: float = 1.3
    seed: int = 0
    priority_to_seconds: float = 3600.0
    walk_speed_kmh: float = 4.5
    van_speed_kmh: float = 20.0

    def __post_init__(self) -> None:
        problems = []
        if not _finite(self.time_limit_s) or not 0 < self.time_limit_s <= 3600:
            problems.append(f"time_limit_s={self.time_limit_s!r} (use 0 < seconds <= 3600)")
        iters = self.no_improvement_iterations
        if not isinstance(iters, int) or isinstance(iters, bool) or iters < 1:
            problems.append(f"no_improvement_iterations={iters!r} (use an integer >= 1)")
        if not _finite(self.detour_factor) or not 1 <= self.detour_factor <= 5:
            problems.append(f"detour_factor={self.detour_factor!r} (use 1..5)")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            problems.append(f"seed={self.seed!r} (use an integer >= 0)")
        if not _finite(self.priority_to_seconds) or self.priority_to_seconds <= 0:
            problems.append(f"priority_to_seconds={self.priority_to_seconds!r} (use > 0)")
        for name in ("walk_speed_kmh", "van_speed_kmh"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                problems.append(f"{name}={value!r} (use km/h > 0)")
        if problems:
            raise ValueError("AssignParams not understood: " + "; ".join(problems))

    def speed_kmh(self, worker: Worker) -> float:
        """The worker's own speed, else its mode's."""
        if worker.speed_kmh is not None:
            return worker.speed_kmh
        return self.walk_speed_kmh if worker.mode == "walk" else self.van_speed_kmh

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AssignParams:
        """Params from a TOML table; unknown keys are an error naming them."""
        return cls(**_from_mapping_values(cls, data))


def _check_inputs(tasks: pl.DataFrame, workers: Sequence[Worker], fixed: Mapping[str, str]) -> None:
    """Raise on bad input, naming every problem at once."""
    if not workers:
        raise InfeasiblePlanError(
            f"no workers to assign {tasks.height} task(s) to: put at least one worker on shift"
        )
    missing = [
        c
        for c in ("task_id", "lat", "lon", "priority", "service_minutes")
        if c not in tasks.columns
    ]
    if missing:
        raise SchemaError(f"tasks lack column(s) {missing}")
    if tasks["task_id"].null_count() or tasks["task_id"].n_unique() < tasks.height:
        raise SchemaError("task_id must be present and unique")
    problems = []
    ids = [w.worker_id for w in workers]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"worker id(s) {repeated} appear more than once")
    unknown_workers = sorted(set(fixed.values()) - set(ids))
    if unknown_workers:
        problems.append(f"fixed names unknown worker(s) {unknown_workers}")
    unknown_tasks = sorted(set(fixed) - set(tasks["task_id"].to_list()))
    if unknown_tasks:
        problems.append(f"fixed names task(s) {unknown_tasks} that are not in tasks")
    if problems:
        raise ValueError("assign_tasks: " + "; ".join(problems))


@dataclass(frozen=True)
class _Travel:
    """Integer metres between points (with the detour factor) and seconds per speed."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    detour: float

    def metres(self, i: npt.ArrayLike, j: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Distance between points i and j (broadcast), rounded to whole metres."""
        ii, jj = np.asarray(i), np.asarray(j)
        d = np.hypot(self.x[ii] - self.x[jj], self.y[ii] - self.y[jj]) * self.detour
        out: npt.NDArray[np.int64] = np.rint(d).astype(np.int64)
        return out

    @staticmethod
    def seconds(metres: npt.ArrayLike, speed_kmh: float) -> npt.NDArray[np.int64]:
        """Travel time in whole seconds (rounded up) at ``speed_kmh``."""
        return np.ceil(np.asarray(metres, dtype=np.float64) * 3.6 / speed_kmh).astype(np.int64)


@dataclass
class _Stop:
    task: int
    seq: int
    eta_s: float | None
    travel_m: float | None
    travel_s: float | None


@dataclass
class _Shift:
    """A worker's shift once the fixed tasks are done: where and when the rest starts."""

    worker: Worker
    speed: float
    point: int
    start_point: int
    used_s: int
    stops: list[_Stop]

    def left_s(self) -> int:
        return max(round(self.worker.shift_minutes * 60) - self.used_s, 0)


def _visit(shift: _Shift, task: int, point: int | None, service_s: int, travel: _Travel) -> None:
    """Append one task to a shift's route: the walk there, then the work."""
    seq = len(shift.stops) + 1
    if point is None:
        shift.stops.append(_Stop(task, seq, None, None, None))
        shift.used_s += service_s
        return
    metres = int(travel.metres(shift.point, point))
    secs = int(travel.seconds(metres, shift.speed))
    arrival = shift.used_s + secs
    shift.stops.append(_Stop(task, seq, float(arrival), float(metres), float(secs)))
    shift.used_s = arrival + service_s
    shift.point = point


def _service_seconds(tasks: pl.DataFrame) -> list[int]:
    minutes = tasks["service_minutes"].cast(pl.Float64).fill_null(0.0).fill_nan(0.0)
    return [round(max(m, 0.0) * 60) for m in minutes.to_list()]


def _points(
    tasks: pl.DataFrame, workers: Sequence[Worker], detour: float
) -> tuple[_Travel, list[int | None], list[int]]:
    """Project tasks then workers into one local metric frame: task i -> point index
    (None without a location), worker k -> point index."""
    lat = tasks["lat"].cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    lon = tasks["lon"].cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    located = np.isfinite(lat) & np.isfinite(lon)
    all_lat = np.concatenate([lat[located], [w.lat for w in workers]])
    all_lon = np.concatenate([lon[located], [w.lon for w in workers]])
    crs = local_crs(float(np.mean(all_lat)), float(np.mean(all_lon)))
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = forward.transform(all_lon, all_lat)
    index = np.cumsum(located) - 1
    task_point = [int(index[i]) if located[i] else None for i in range(tasks.height)]
    n_located = int(located.sum())
    worker_point = [n_located + k for k in range(len(workers))]
    travel = _Travel(np.asarray(x, np.float64), np.asarray(y, np.float64), detour)
    return travel, task_point, worker_point


def _problem(
    shifts: Sequence[_Shift],
    open_tasks: Sequence[int],
    task_point: Sequence[int | None],
    service_s: Sequence[int],
    prizes: Sequence[int],
    travel: _Travel,
) -> ProblemData:
    """The PyVRP problem: optional clients (open tasks), a start depot per shift, an end
    depot per returning worker and one "anywhere" end depot with free arrival."""
    n_open = len(open_tasks)
    points = [task_point[t] for t in open_tasks]
    depot_points = [s.point for s in shifts]
    ends = [s.start_point for s in shifts if s.worker.return_to_start]
    all_points = np.array([*points, *depot_points, *ends, 0], dtype=np.int64)
    locations = [Location(float(travel.x[p]), float(travel.y[p])) for p in all_points]
    metres = travel.metres(all_points[:, None], all_points[None, :])
    anywhere = len(all_points) - 1
    metres[:, anywhere] = 0
    clients = [
        Client(
            location=i,
            service_duration=service_s[t],
            prize=prizes[t],
            required=False,
            name=str(t),
        )
        for i, t in enumerate(open_tasks)
    ]
    depots = [Depot(location=n_open + k) for k in range(len(shifts) + len(ends) + 1)]
    speeds = sorted({s.speed for s in shifts})
    durations: list[Any] = []
    for speed in speeds:
        secs = travel.seconds(metres, speed)
        secs[:, anywhere] = 0
        durations.append(secs)
    vehicle_types = []
    end_index = len(shifts)
    for k, s in enumerate(shifts):
        if s.worker.return_to_start:
            end = end_index
            end_index += 1
        else:
            end = len(depots) - 1
        vehicle_types.append(
            VehicleType(
                num_available=1,
                start_depot=k,
                end_depot=end,
                shift_duration=s.left_s(),
                unit_distance_cost=0,
                unit_duration_cost=1,
                profile=speeds.index(s.speed),
                name=s.worker.worker_id,
            )
        )
    distances: list[Any] = [metres] * len(speeds)  # PyVRP's stubs type matrices loosely
    return ProblemData(locations, clients, depots, vehicle_types, distances, list(durations))


def _shifts(
    tasks: pl.DataFrame,
    workers: Sequence[Worker],
    fixed: Mapping[str, str],
    params: AssignParams,
    travel: _Travel,
    task_point: Sequence[int | None],
    worker_point: Sequence[int],
    service_s: Sequence[int],
) -> list[_Shift]:
    """Each worker's shift with its fixed tasks already walked through, in ``fixed`` order."""
    shifts = [
        _Shift(w, params.speed_kmh(w), worker_point[k], worker_point[k], 0, [])
        for k, w in enumerate(workers)
    ]
    by_id = {w.worker_id: s for w, s in zip(workers, shifts, strict=True)}
    row_of = {t: i for i, t in enumerate(tasks["task_id"].to_list())}
    for task_id, worker_id in fixed.items():
        i = row_of[task_id]
        _visit(by_id[worker_id], i, task_point[i], service_s[i], travel)
    return shifts


def _fits_alone(
    shift: _Shift, points: npt.NDArray[np.int64], service_s: npt.NDArray[np.int64], travel: _Travel
) -> npt.NDArray[np.bool_]:
    """Which tasks (at ``points``) fit one at a time into what is left of a shift."""
    there = travel.seconds(travel.metres(shift.point, points), shift.speed)
    back = (
        travel.seconds(travel.metres(points, shift.start_point), shift.speed)
        if shift.worker.return_to_start
        else np.zeros_like(there)
    )
    fits: npt.NDArray[np.bool_] = there + service_s + back <= shift.left_s()
    return fits


def assign_tasks(
    tasks: pl.DataFrame,
    workers: Sequence[Worker],
    *,
    fixed: Mapping[str, str] | None = None,
    params: AssignParams | None = None,
) -> pl.DataFrame:
    """The tasks with who does them, in which order and when (columns :data:`ASSIGNMENT`
    added; assigned tasks first, by worker and ``route_seq``, then the rest by priority).

    ``tasks`` needs ``task_id``, ``lat``, ``lon``, ``priority``, ``service_minutes`` (as
    :func:`fleetcast.planning.tasks.generate_tasks` makes them). Per assigned task:
    ``assignee`` (worker id), ``route_seq`` (1..n per worker), ``eta_minutes`` (arrival
    from the start of the shift; the work starts then), ``travel_m`` and ``travel_minutes``
    (the leg from the previous stop or the start). Unassigned tasks have null there and an
    ``unassigned_reason``: "no worker time left", "out of reach within any worker's shift",
    "no location" or "no priority" (null or <= 0: never worth the walk).

    Raises InfeasiblePlanError without workers, ValueError when ``fixed`` names an unknown
    worker or task.
    """
    p = params or AssignParams()
    pinned = dict(fixed or {})
    _check_inputs(tasks, workers, pinned)
    service_s = _service_seconds(tasks)
    travel, task_point, worker_point = _points(tasks, workers, p.detour_factor)
    shifts = _shifts(tasks, workers, pinned, p, travel, task_point, worker_point, service_s)
    ids = tasks["task_id"].to_list()
    reasons = {
        i: NO_LOCATION for i, pt in enumerate(task_point) if pt is None and ids[i] not in pinned
    }
    candidates = [i for i, pt in enumerate(task_point) if pt is not None and ids[i] not in pinned]
    points = np.array([task_point[i] for i in candidates], dtype=np.int64)
    needs = np.array([service_s[i] for i in candidates], dtype=np.int64)
    fits = np.zeros(len(candidates), dtype=bool)
    for shift in shifts:
        fits |= _fits_alone(shift, points, needs, travel)
    reasons |= {i: OUT_OF_REACH for i, ok in zip(candidates, fits, strict=True) if not ok}
    priority = tasks["priority"].cast(pl.Float64).fill_null(0.0).fill_nan(0.0).to_list()
    prizes = [max(round(v * p.priority_to_seconds), 0) for v in priority]
    reasons |= {
        i: NO_PRIORITY for i, ok in zip(candidates, fits, strict=True) if ok and not prizes[i]
    }
    open_tasks = [i for i, ok in zip(candidates, fits, strict=True) if ok and prizes[i]]
    if open_tasks:
        _route(shifts, open_tasks, task_point, service_s, prizes, travel, p)
    done = {stop.task for s in shifts for stop in s.stops}
    for i in open_tasks:
        if i not in done:
            reasons[i] = NO_TIME_LEFT
    return _frame(tasks, shifts, reasons)


def _route(
    shifts: list[_Shift],
    open_tasks: Sequence[int],
    task_point: Sequence[int | None],
    service_s: Sequence[int],
    prizes: Sequence[int],
    travel: _Travel,
    p: AssignParams,
) -> None:
    """Solve the prize-collecting problem and append each route's tasks to its shift."""
    active = [s for s in shifts if s.left_s() > 0]
    if not active:
        return
    data = _problem(active, open_tasks, task_point, service_s, prizes, travel)
    stop = MultipleCriteria(
        [MaxRuntime(p.time_limit_s), NoImprovement(p.no_improvement_iterations)]
    )
    result = solve(data, stop=stop, seed=p.seed, collect_stats=False, display=False)
    if not result.best.is_feasible():
        raise InfeasiblePlanError(
            "the task assignment found no plan within the shifts; raise time_limit_s"
        )
    for route in result.best.routes():
        shift = active[route.vehicle_type()]
        for activity in route.schedule():
            if activity.is_client():
                t = open_tasks[activity.idx]
                _visit(shift, t, task_point[t], service_s[t], travel)


def _frame(
    tasks: pl.DataFrame, shifts: Sequence[_Shift], reasons: Mapping[int, str]
) -> pl.DataFrame:
    n = tasks.height
    assignee: list[str | None] = [None] * n
    seq: list[int | None] = [None] * n
    eta: list[float | None] = [None] * n
    metres: list[float | None] = [None] * n
    minutes: list[float | None] = [None] * n
    for s in shifts:
        for stop in s.stops:
            i = stop.task
            assignee[i], seq[i], metres[i] = s.worker.worker_id, stop.seq, stop.travel_m
            eta[i] = None if stop.eta_s is None else stop.eta_s / 60.0
            minutes[i] = None if stop.travel_s is None else stop.travel_s / 60.0
    why = [reasons.get(i) for i in range(n)]
    order = {w.worker.worker_id: k for k, w in enumerate(shifts)}
    added = pl.DataFrame(
        [assignee, seq, eta, metres, minutes, why],
        schema=ASSIGNMENT,
        orient="col",
    )
    extra = pl.DataFrame(
        {"_w": [None if a is None else order[a] for a in assignee]},
        schema={"_w": pl.Int64},
    )
    sort_cols = ["_w", "route_seq"]
    by = [pl.col(c) for c in sort_cols]
    if "priority" in tasks.columns:
        by.append(-pl.col("priority"))
    by.append(pl.col("task_id"))
    return (
        pl.concat([tasks.drop(list(ASSIGNMENT), strict=False), added, extra], how="horizontal")
        .sort(by, nulls_last=True)
        .drop("_w")
    )


def worker_routes(
    assigned: pl.DataFrame, *, workers: Sequence[Worker] | None = None
) -> dict[str, pl.DataFrame]:
    """Each worker's tasks in route order (a frame per worker id, for display); with
    ``workers`` every worker is listed, those without tasks with an empty frame."""
    rows = assigned.filter(pl.col("assignee").is_not_null()).sort("assignee", "route_seq")
    routes = {
        str(key[0]): group.sort("route_seq")
        for key, group in rows.group_by("assignee", maintain_order=True)
    }
    if workers is None:
        return routes
    empty = assigned.clear()
    return {w.worker_id: routes.get(w.worker_id, empty) for w in workers}
