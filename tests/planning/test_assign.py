"""Assignment of tasks to workers: shifts hold, fixed tasks stay put, priority wins."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pyproj
import pytest

from fleetcast.errors import InfeasiblePlanError
from fleetcast.geo import haversine_m
from fleetcast.planning.assign import (
    ASSIGNMENT,
    NO_LOCATION,
    NO_PRIORITY,
    NO_TIME_LEFT,
    OUT_OF_REACH,
    AssignParams,
    Worker,
    assign_tasks,
    worker_routes,
)
from fleetcast.planning.tasks import generate_tasks

CENTRE = (45.4642, 9.1900)
GEOD = pyproj.Geod(ellps="WGS84")
FAST = AssignParams(time_limit_s=0.3, detour_factor=1.0, seed=1)
"""Quick solves on straight lines, so the numbers in the tests are easy to follow."""


def at(east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    """(lat, lon) of a point ``east_m`` / ``north_m`` metres from CENTRE (geodesic)."""
    lat, lon = CENTRE
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if north_m > 0 else 180.0, abs(north_m))
    if east_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if east_m > 0 else 270.0, abs(east_m))
    return lat, lon


def task_frame(*rows: tuple[str, tuple[float, float] | None, float, float]) -> pl.DataFrame:
    """Tasks from (task_id, (east_m, north_m) or None, priority, service_minutes)."""
    data = []
    for task_id, offset, priority, service in rows:
        lat, lon = at(*offset) if offset is not None else (None, None)
        data.append(
            {
                "task_id": task_id,
                "kind": "swap_battery",
                "lat": lat,
                "lon": lon,
                "priority": priority,
                "service_minutes": service,
            }
        )
    return pl.DataFrame(data, schema_overrides={"lat": pl.Float64, "lon": pl.Float64})


def worker(worker_id: str, offset: tuple[float, float] = (0, 0), **kwargs: Any) -> Worker:
    lat, lon = at(*offset)
    kwargs.setdefault("shift_minutes", 60)
    return Worker(worker_id, worker_id.upper(), lat, lon, **kwargs)


def assigned_ids(result: pl.DataFrame, worker_id: str) -> list[str]:
    return result.filter(pl.col("assignee") == worker_id).sort("route_seq")["task_id"].to_list()


def test_no_workers_is_an_infeasible_plan() -> None:
    """Tasks with nobody on shift cannot be planned; the message says what to do."""
    with pytest.raises(InfeasiblePlanError, match="no workers"):
        assign_tasks(task_frame(("t1", (0, 0), 1.0, 5)), [], params=FAST)


def test_fixed_naming_unknown_workers_or_tasks_is_rejected() -> None:
    """Every bad entry of ``fixed`` is named in one ValueError."""
    tasks = task_frame(("t1", (0, 0), 1.0, 5))
    with pytest.raises(ValueError, match=r"unknown worker\(s\) \['ghost'\].*\['t9'\]"):
        assign_tasks(tasks, [worker("w1")], fixed={"t1": "ghost", "t9": "w1"}, params=FAST)
    with pytest.raises(ValueError, match="more than once"):
        assign_tasks(tasks, [worker("w1"), worker("w1")], params=FAST)


def route_minutes(result: pl.DataFrame, w: Worker, params: AssignParams) -> float:
    """A worker's shift time from the plan: each leg's travel and service, plus the way
    back to the start when the worker returns (recomputed here on the sphere)."""
    rows = result.filter(pl.col("assignee") == w.worker_id).sort("route_seq")
    total = float((rows["travel_minutes"] + rows["service_minutes"]).sum())
    if w.return_to_start and rows.height:
        back_m = haversine_m(rows["lat"][-1], rows["lon"][-1], w.lat, w.lon) * params.detour_factor
        total += float(back_m) / (params.speed_kmh(w) / 0.06)
    return total


def test_routes_fit_in_the_shifts_and_times_add_up() -> None:
    """30 tasks, three workers with too little time for all: every route's travel +
    service (+ way back) fits its shift, ETAs chain leg by leg, legs match the speed,
    and what is left over says there was no time."""
    rng = np.random.default_rng(7)
    rows = [
        (f"t{i:02}", (float(rng.uniform(-1500, 1500)), float(rng.uniform(-1500, 1500))), 1.0, 5)
        for i in range(30)
    ]
    tasks = task_frame(*rows)
    workers = [
        worker("walker", (0, 0), shift_minutes=45),
        worker("van", (800, 800), shift_minutes=40, mode="van"),
        worker("home", (-800, 0), shift_minutes=50, return_to_start=True),
    ]
    params = AssignParams(time_limit_s=0.5, seed=3)
    result = assign_tasks(tasks, workers, params=params)
    assert result.height == 30
    assert set(ASSIGNMENT) <= set(result.columns)
    for w in workers:
        rows_w = result.filter(pl.col("assignee") == w.worker_id).sort("route_seq")
        assert rows_w.height > 0
        assert rows_w["route_seq"].to_list() == list(range(1, rows_w.height + 1))
        assert route_minutes(result, w, params) <= w.shift_minutes + 0.05
        finish = 0.0
        speed_m_per_min = params.speed_kmh(w) / 0.06
        for row in rows_w.iter_rows(named=True):
            assert row["eta_minutes"] == pytest.approx(finish + row["travel_minutes"])
            assert row["travel_minutes"] == pytest.approx(
                row["travel_m"] / speed_m_per_min, abs=1 / 60
            )
            finish = row["eta_minutes"] + row["service_minutes"]
    left = result.filter(pl.col("assignee").is_null())
    assert left.height > 0
    assert set(left["unassigned_reason"].to_list()) == {NO_TIME_LEFT}
    assert result.filter(pl.col("assignee").is_not_null())["unassigned_reason"].null_count() == (
        30 - left.height
    )


def test_fixed_tasks_stay_with_their_worker_and_come_first() -> None:
    """Two far tasks in progress stay with w1 in the order given, although w2 stands next
    to them; w1's other work comes after them."""
    tasks = task_frame(
        ("far_b", (1000, 0), 1.0, 5),
        ("far_a", (1100, 0), 1.0, 5),
        ("near", (-100, 0), 5.0, 5),
    )
    workers = [worker("w1", (0, 0), shift_minutes=120), worker("w2", (1050, 0))]
    result = assign_tasks(tasks, workers, fixed={"far_a": "w1", "far_b": "w1"}, params=FAST)
    route = assigned_ids(result, "w1")
    assert route[:2] == ["far_a", "far_b"]
    assert "far_a" not in assigned_ids(result, "w2")
    assert "far_b" not in assigned_ids(result, "w2")
    first = result.filter(pl.col("task_id") == "far_a").row(0, named=True)
    assert first["travel_m"] == pytest.approx(1100, abs=2)
    assert first["eta_minutes"] == pytest.approx(1100 / 75, abs=0.05)


def test_fixed_tasks_are_kept_even_past_the_shift() -> None:
    """Work already started stays assigned when it overruns; nothing else is added."""
    tasks = task_frame(("started", (2000, 0), 1.0, 30), ("other", (10, 0), 9.0, 5))
    result = assign_tasks(
        tasks, [worker("w1", shift_minutes=20)], fixed={"started": "w1"}, params=FAST
    )
    assert assigned_ids(result, "w1") == ["started"]
    other = result.filter(pl.col("task_id") == "other").row(0, named=True)
    assert other["assignee"] is None
    assert other["unassigned_reason"] == OUT_OF_REACH


def test_higher_priority_wins_when_time_is_short() -> None:
    """Two tasks 600 m east and west, time for one round: the more urgent one is done."""
    tasks = task_frame(("east", (600, 0), 2.0, 5), ("west", (-600, 0), 3.0, 5))
    result = assign_tasks(tasks, [worker("w1", shift_minutes=15)], params=FAST)
    assert assigned_ids(result, "w1") == ["west"]
    east = result.filter(pl.col("task_id") == "east").row(0, named=True)
    assert east["unassigned_reason"] == NO_TIME_LEFT


BRUTE_TASKS = (
    ("a", (400, 0), 1.0, 6),
    ("b", (800, 300), 2.5, 10),
    ("c", (-300, 600), 1.7, 4),
    ("d", (-900, -200), 3.1, 12),
    ("e", (100, -700), 1.2, 5),
    ("f", (600, -500), 2.2, 8),
)
"""Six tasks around a walker: (id, (east, north) m, priority, service minutes)."""


def brute_force(
    tasks: pl.DataFrame, w: Worker, params: AssignParams
) -> tuple[float, dict[frozenset[str], float]]:
    """Best total priority of any task set a worker can do within the shift (every order
    tried, legs on the sphere in whole seconds), and each set's shortest route minutes."""
    ids = tasks["task_id"].to_list()
    lat = np.array([w.lat, *tasks["lat"].to_list()])
    lon = np.array([w.lon, *tasks["lon"].to_list()])
    metres = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    secs = np.ceil(metres * params.detour_factor * 3.6 / params.speed_kmh(w))
    service = [m * 60 for m in tasks["service_minutes"].to_list()]
    priority = dict(zip(ids, tasks["priority"].to_list(), strict=True))
    best = 0.0
    shortest: dict[frozenset[str], float] = {}
    for size in range(1, len(ids) + 1):
        for chosen in itertools.combinations(range(len(ids)), size):
            fastest = math.inf
            for order in itertools.permutations(chosen):
                stops = [0, *(i + 1 for i in order)]
                travel = sum(secs[a, b] for a, b in itertools.pairwise(stops))
                fastest = min(fastest, travel + sum(service[i] for i in order))
            key = frozenset(ids[i] for i in chosen)
            shortest[key] = fastest / 60
            if fastest <= w.shift_minutes * 60:
                best = max(best, sum(priority[k] for k in key))
    return best, shortest


@pytest.mark.parametrize("shift", [23, 29, 47, 57])
def test_chosen_tasks_match_a_brute_force_over_subsets(shift: float) -> None:
    """With time for only some of six tasks, the plan collects as much priority as the
    best subset found by trying every subset in every order."""
    tasks = task_frame(*BRUTE_TASKS)
    w = worker("w1", shift_minutes=shift)
    params = AssignParams(time_limit_s=0.4, seed=2)
    best, shortest = brute_force(tasks, w, params)
    # no set needs within 30 s of the shift, so rounding cannot flip the answer
    assert all(abs(m - shift) > 30 / 60 for m in shortest.values())
    result = assign_tasks(tasks, [w], params=params)
    done = result.filter(pl.col("assignee") == "w1")
    assert float(done["priority"].sum()) == pytest.approx(best)
    assert route_minutes(result, w, params) <= shift


def test_tasks_without_location_or_out_of_reach_say_why() -> None:
    """No coordinates: "no location"; farther than any shift allows: out of reach;
    priority 0 is never worth the walk."""
    tasks = task_frame(
        ("ok", (100, 0), 1.0, 5),
        ("lost", None, 4.0, 5),
        ("far", (20_000, 0), 4.0, 5),
        ("pointless", (50, 0), 0.0, 5),
    )
    result = assign_tasks(tasks, [worker("w1")], params=FAST)
    why = dict(zip(result["task_id"].to_list(), result["unassigned_reason"].to_list(), strict=True))
    assert why == {"ok": None, "lost": NO_LOCATION, "far": OUT_OF_REACH, "pointless": NO_PRIORITY}
    assert result["task_id"].to_list()[0] == "ok"


def test_van_speed_and_return_to_start() -> None:
    """A van (20 km/h) covers 1 km in 3 minutes; a returning worker keeps time to go back."""
    tasks = task_frame(("t", (1000, 0), 1.0, 5))
    van = assign_tasks(tasks, [worker("v", mode="van")], params=FAST)
    assert van["travel_minutes"][0] == pytest.approx(3.0)
    walker = worker("w", shift_minutes=20, return_to_start=True)  # 13.3 + 5 + 13.3 > 20
    assert assign_tasks(tasks, [walker], params=FAST)["assignee"][0] is None
    one_way = worker("w", shift_minutes=20)
    assert assign_tasks(tasks, [one_way], params=FAST)["assignee"][0] == "w"


def test_worker_routes_lists_each_workers_tasks_in_order() -> None:
    """One frame per worker in route order; idle workers get an empty frame if listed."""
    tasks = task_frame(("t1", (100, 0), 1.0, 5), ("t2", (200, 0), 1.0, 5))
    workers = [worker("w1", shift_minutes=60), worker("w2", (50_000, 0), shift_minutes=30)]
    result = assign_tasks(tasks, workers, params=FAST)
    routes = worker_routes(result, workers=workers)
    assert list(routes) == ["w1", "w2"]
    assert routes["w1"]["task_id"].to_list() == ["t1", "t2"]
    assert routes["w2"].is_empty()
    assert list(worker_routes(result)) == ["w1"]


def test_workers_and_params_check_themselves() -> None:
    """Bad values name the field; the mode sets the speed unless the worker gives one."""
    with pytest.raises(ValueError, match="mode='bike'"):
        Worker("w", "W", 45.0, 9.0, 60, mode="bike")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shift_minutes=0"):
        Worker("w", "W", 45.0, 9.0, 0)
    with pytest.raises(ValueError, match=r"detour_factor=0\.5"):
        AssignParams(detour_factor=0.5)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['speed'\]"):
        AssignParams.from_mapping({"speed": 3})
    params = AssignParams.from_mapping({"walk_speed_kmh": 5.0, "time_limit_s": 1})
    assert params.speed_kmh(Worker("w", "W", 45.0, 9.0, 60)) == 5.0
    assert params.speed_kmh(Worker("w", "W", 45.0, 9.0, 60, mode="van")) == 20.0
    assert params.speed_kmh(Worker("w", "W", 45.0, 9.0, 60, speed_kmh=12.0)) == 12.0


def test_generated_tasks_can_be_assigned_end_to_end() -> None:
    """generate_tasks output goes straight into assign_tasks; columns are kept."""
    lat, lon = zip(*(at(e, n) for e, n in [(0, 0), (300, 0), (0, 400), (-500, 200)]), strict=True)
    vehicles = pl.DataFrame(
        {
            "vehicle_id": ["a", "b", "c", "d"],
            "lat": lat,
            "lon": lon,
            "zone_id": ["z"] * 4,
            "battery_pct": [5.0, 50.0, 15.0, 90.0],
            "is_disabled": [False, True, False, False],
            "is_reserved": [False] * 4,
        }
    )
    tasks = generate_tasks(vehicles, now=datetime(2024, 6, 10, tzinfo=UTC))
    result = assign_tasks(tasks, [worker("w1", shift_minutes=120)], params=FAST)
    assert set(tasks.columns) < set(result.columns)
    assert assigned_ids(result, "w1") and result["assignee"].null_count() == 0
