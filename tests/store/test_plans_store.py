"""Plans, workers and tasks in the db: whole plans, the task life cycle and re-planning."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from fleetcast.domain import SystemInfo
from fleetcast.store import Store, plans, records
from fleetcast.store.plans import TaskStateError, TaskStatus, UnknownPlanError, UnknownTaskError

T0 = datetime(2026, 11, 2, 6, tzinfo=UTC)


@pytest.fixture
def city(store: Store) -> Store:
    """A store with one system, two zones and a worker."""
    zones = pl.DataFrame(
        {
            "zone_id": ["Z1", "Z2"],
            "name": ["One", "Two"],
            "geometry": [None, None],
            "centroid_lat": [41.88, 41.89],
            "centroid_lon": [-87.63, -87.64],
            "area_km2": [1.0, 1.0],
        }
    )
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("city", "City", "America/Chicago"))
        records.save_zones(conn, "city", zones)
        plans.save_workers(
            conn,
            "city",
            [
                {
                    "worker_id": "W1",
                    "name": "Ana",
                    "lat": 41.88,
                    "lon": -87.63,
                    "shift_minutes": 480,
                    "mode": "walk",
                }
            ],
        )
    return store


def _task(key: str, *, assignee: str | None = "W1", priority: float = 1.0) -> dict[str, object]:
    kind, _, vehicle = key.partition(":")
    return {
        "task_key": key,
        "kind": kind,
        "vehicle_id": vehicle,
        "parking_id": None,
        "zone_id": "Z1",
        "lat": 41.88,
        "lon": -87.63,
        "quantity": 1,
        "priority": priority,
        "score_parts": {"base": priority},
        "reason": "battery 12%",
        "service_minutes": 5.0,
        "assignee": assignee,
        "route_seq": 1 if assignee else None,
        "eta_minutes": 3.0 if assignee else None,
    }


def _plan_frames() -> dict[str, pl.DataFrame]:
    targets = pl.DataFrame(
        {
            "zone_id": ["Z1", "Z2"],
            "supply": [8, 1],
            "target": [4, 5],
            "after": [4, 5],
            "demand_at_ratio": [6.0, 9.5],
            "newsvendor_target": [4, 5],
            "min_vehicles": [2, 2],
            "max_vehicles": [10, None],
            "cut": [0, 0],
            "rides_per_vehicle": [2.0, 2.0],
            "expected_rides_supply": [6.0, 2.0],
            "expected_rides_after": [5.5, 8.0],
        }
    )
    moves = pl.DataFrame(
        {
            "move_id": ["M001"],
            "from_id": ["Z1"],
            "to_id": ["Z2"],
            "vehicles": [4],
            "vehicles_served": [4],
            "distance_m": [1500.0],
            "rides_gained": [5.5],
            "truck_id": ["T1"],
            "status": ["planned"],
            "reason": [None],
            "vehicle_ids": [["V1", "V2", "V3", "V4"]],
        }
    )
    routes = pl.DataFrame(
        {
            "truck_id": ["T1"],
            "capacity": [30],
            "start_load": [0],
            "depot_id": ["D1"],
            "end_depot_id": ["D1"],
            "distance_m": [4200.0],
            "duration_s": [1500.0],
        }
    )
    stops = pl.DataFrame(
        {
            "truck_id": ["T1"] * 4,
            "seq": [0, 1, 2, 3],
            "node_id": ["D1", "Z1", "Z2", "D1"],
            "kind": ["depot", "zone", "zone", "depot"],
            "lat": [41.87, 41.88, 41.89, 41.87],
            "lon": [-87.65, -87.63, -87.64, -87.65],
            "pickup": [0, 4, 0, 0],
            "dropoff": [0, 0, 4, 0],
            "load_after": [0, 4, 0, 0],
            "arrival_s": [0.0, 400.0, 900.0, 1500.0],
            "move_ids": [[], ["M001"], ["M001"], []],
        }
    )
    return {"targets": targets, "moves": moves, "routes": routes, "stops": stops}


def _save(store: Store, plan_id: str, *, created_at: datetime = T0) -> None:
    with store.begin() as conn:
        plans.save_plan(
            conn,
            plan_id=plan_id,
            system_id="city",
            plan_date=date(2026, 11, 2),
            status="ok",
            issued_on=date(2026, 11, 1),
            model_version="global_gbm:3",
            params={"fleet": {"trucks": 1}},
            summary={"vehicles_moved": 4},
            created_at=created_at,
            **_plan_frames(),
        )


def test_a_plan_round_trips_whole(city: Store) -> None:
    """A saved plan reads back with its header and all four frames, stops in order."""
    _save(city, "p1")
    with city.connect() as conn:
        assert plans.latest_plan_id(conn, "city") == "p1"
        plan = plans.load_plan(conn, "p1")
    assert plan.header["summary"] == {"vehicles_moved": 4}
    assert plan.targets["target"].to_list() == [4, 5]
    assert plan.targets["max_vehicles"].to_list() == [10, None]
    assert plan.moves["vehicle_ids"].to_list() == [["V1", "V2", "V3", "V4"]]
    assert plan.stops["seq"].to_list() == [0, 1, 2, 3]
    assert plan.stops["load_after"].to_list() == [0, 4, 0, 0]


def test_the_newest_plan_is_the_latest(city: Store) -> None:
    """latest_plan_id follows created_at, not the order of writing."""
    _save(city, "newer", created_at=datetime(2026, 11, 3, tzinfo=UTC))
    _save(city, "older", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    with city.connect() as conn:
        assert plans.latest_plan_id(conn, "city") == "newer"
        assert [p["plan_id"] for p in plans.list_plans(conn, "city")] == ["newer", "older"]


def test_a_failed_plan_write_leaves_nothing(city: Store) -> None:
    """A plan whose stops lack a column is refused inside the transaction: no header stays."""
    frames = _plan_frames()
    frames["stops"] = frames["stops"].drop("load_after")
    with pytest.raises(ValueError, match="load_after"), city.begin() as conn:
        plans.save_plan(
            conn,
            plan_id="broken",
            system_id="city",
            plan_date=date(2026, 11, 2),
            status="ok",
            issued_on=None,
            model_version=None,
            params={},
            summary={},
            **frames,
        )
    with city.connect() as conn:
        assert plans.latest_plan_id(conn, "city") is None
        with pytest.raises(UnknownPlanError):
            plans.load_plan(conn, "broken")


def test_task_life_cycle(city: Store) -> None:
    """assigned -> in_progress -> done; a second complete is refused with the reason."""
    with city.begin() as conn:
        plans.replace_tasks(conn, "city", pl.DataFrame([_task("swap_battery:V1")]), plan_id=None)
        task_id = plans.list_tasks(conn, system_id="city")["task_id"][0]
        assert plans.get_task(conn, task_id)["status"] == TaskStatus.ASSIGNED
        started = plans.transition_task(conn, task_id, "start", now=T0)
        assert started["status"] == TaskStatus.IN_PROGRESS
        assert started["started_at"] == T0
        done = plans.transition_task(conn, task_id, "complete", now=T0)
        assert done["status"] == TaskStatus.DONE
        with pytest.raises(TaskStateError, match="is done"):
            plans.transition_task(conn, task_id, "complete")


def test_skip_needs_a_reason_and_unknown_tasks_are_named(city: Store) -> None:
    """Skipping without a reason is refused; an unknown task id raises UnknownTaskError."""
    with city.begin() as conn:
        plans.replace_tasks(conn, "city", pl.DataFrame([_task("repair:V2")]), plan_id=None)
        task_id = plans.list_tasks(conn, system_id="city")["task_id"][0]
        with pytest.raises(TaskStateError, match="reason"):
            plans.transition_task(conn, task_id, "skip", reason="  ")
        skipped = plans.transition_task(conn, task_id, "skip", reason="vehicle not found")
        assert skipped["status"] == TaskStatus.SKIPPED
        assert skipped["skip_reason"] == "vehicle not found"
        with pytest.raises(UnknownTaskError):
            plans.transition_task(conn, "nope", "start")
        with pytest.raises(ValueError, match="not understood"):
            plans.transition_task(conn, task_id, "explode")


def test_replanning_keeps_tasks_in_progress_and_ids_of_open_ones(city: Store) -> None:
    """A re-plan updates an open task in place (same id), removes one no longer generated,
    leaves the one in progress alone (dropping its regenerated twin) and keeps history."""
    first = pl.DataFrame(
        [_task("swap_battery:V1"), _task("repair:V2"), _task("retrieve:V3"), _task("drop:P1")]
    )
    with city.begin() as conn:
        plans.replace_tasks(conn, "city", first, plan_id="p1")
        ids = dict(
            zip(
                *plans.list_tasks(conn, system_id="city").select("task_key", "task_id"),
                strict=True,
            )
        )
        plans.transition_task(conn, ids["repair:V2"], "start")
        plans.transition_task(conn, ids["drop:P1"], "complete")
        assert plans.in_progress_tasks(conn, "city") == {"repair:V2": "W1"}
        second = pl.DataFrame(
            [
                _task("swap_battery:V1", priority=9.0),
                _task("repair:V2", assignee="W9"),
                _task("reposition:V4"),
            ]
        )
        result = plans.replace_tasks(conn, "city", second, plan_id="p2")
        after = plans.list_tasks(conn, system_id="city")
    assert (result.created, result.updated, result.removed, result.kept_in_progress) == (
        1,
        1,
        1,
        1,
    )
    by_key = {r["task_key"]: r for r in after.iter_rows(named=True)}
    assert set(by_key) == {"swap_battery:V1", "repair:V2", "reposition:V4", "drop:P1"}
    assert by_key["swap_battery:V1"]["task_id"] == ids["swap_battery:V1"]
    assert by_key["swap_battery:V1"]["priority"] == 9.0
    assert by_key["swap_battery:V1"]["plan_id"] == "p2"
    assert by_key["repair:V2"]["status"] == TaskStatus.IN_PROGRESS
    assert by_key["repair:V2"]["assignee"] == "W1"
    assert by_key["drop:P1"]["status"] == TaskStatus.DONE


def test_list_tasks_filters_and_orders_by_route(city: Store) -> None:
    """Tasks of a worker come in route order; status filters apply."""
    rows = [
        {**_task("swap_battery:V1"), "route_seq": 2},
        {**_task("swap_battery:V2"), "route_seq": 1},
        _task("repair:V3", assignee=None),
    ]
    with city.begin() as conn:
        plans.replace_tasks(conn, "city", pl.DataFrame(rows), plan_id=None)
        mine = plans.list_tasks(conn, assignee="W1")
        open_ = plans.list_tasks(conn, system_id="city", status=["open"])
    assert mine["vehicle_id"].to_list() == ["V2", "V1"]
    assert open_["vehicle_id"].to_list() == ["V3"]


def test_workers_and_deleting_the_system(city: Store) -> None:
    """Workers can be deactivated; deleting the system removes plans, tasks and workers."""
    _save(city, "p1")
    with city.begin() as conn:
        plans.replace_tasks(conn, "city", pl.DataFrame([_task("repair:V1")]), plan_id="p1")
        assert plans.load_workers(conn, "city")["worker_id"].to_list() == ["W1"]
        assert plans.deactivate_worker(conn, "city", "W1")
        assert not plans.deactivate_worker(conn, "city", "W404")
        assert plans.load_workers(conn, "city").is_empty()
        assert plans.load_workers(conn, "city", active_only=False).height == 1
        records.delete_system(conn, "city")
    with city.connect() as conn:
        assert plans.latest_plan_id(conn, "city") is None
        assert plans.list_tasks(conn, system_id="city").is_empty()
        assert plans.load_workers(conn, "city", active_only=False).is_empty()
