"""`fleetcast plan`, `tasks`, `workers` and `parkings suggest` on a copy of the served demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleetcast.cli import app
from fleetcast.cli.plan import parse_duration

runner = CliRunner()


@pytest.fixture
def demo_home(served_home: Path, tmp_path: Path) -> Path:
    """A private copy of the served demo home (forecasts, live fleet, depots, workers)."""
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    return home


def _cli(home: Path, *args: str) -> object:
    return runner.invoke(app, ["--home", str(home), *args])


def test_plan_json_has_the_documented_shape(demo_home: Path) -> None:
    """The JSON holds plan_id, targets, moves, routes with ordered stops, tasks and summary,
    and every route starts and ends at a depot with loads within the capacity."""
    result = _cli(demo_home, "plan", "--system", "demo", "--time-limit", "2s", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert {"plan_id", "targets", "moves", "routes", "tasks", "summary"} <= set(plan)
    assert {"zone_id", "supply", "target"} <= set(plan["targets"][0])
    assert plan["routes"], "the demo city always has vehicles to move"
    for route in plan["routes"]:
        assert {"truck_id", "capacity", "start_load", "stops"} <= set(route)
        stops = route["stops"]
        assert stops[0]["depot_id"] and stops[-1]["depot_id"]
        for stop in stops:
            assert {"zone_id", "lat", "lon", "pickup", "dropoff", "load_after"} <= set(stop)
            assert 0 <= stop["load_after"] <= route["capacity"]
    summary = plan["summary"]
    assert summary["vehicles_moved"] > 0
    assert summary["expected_rides_gained"] >= 0
    assert summary["trucks"] == 2


def test_plan_table_then_tasks_through_their_life_cycle(demo_home: Path) -> None:
    """The summary table prints; a listed task can be started and completed by id."""
    result = _cli(demo_home, "plan", "--system", "demo", "--trucks", "1", "--time-limit", "1")
    assert result.exit_code == 0, result.output
    assert "expected rides gained" in result.stdout and "Truck routes" in result.stdout
    listed = _cli(demo_home, "tasks", "list", "--system", "demo", "--format", "json")
    tasks = json.loads(listed.stdout)
    assert tasks, "the demo fleet has low batteries and idle vehicles"
    task_id = tasks[0]["task_id"]
    assert _cli(demo_home, "tasks", "start", task_id).exit_code == 0
    done = _cli(demo_home, "tasks", "complete", task_id)
    assert done.exit_code == 0 and "done" in done.stdout
    again = _cli(demo_home, "tasks", "complete", task_id)
    assert again.exit_code == 1 and "is done" in again.stderr
    unknown = _cli(demo_home, "tasks", "skip", "nope", "--reason", "gone")
    assert unknown.exit_code == 1 and "no task" in unknown.stderr


def test_workers_add_list_remove(demo_home: Path) -> None:
    """A worker is added, listed and taken out of planning; bad input is a clear error."""
    added = _cli(
        demo_home, "workers", "add", "--system", "demo", "--id", "W99", "--lat", "41.88",
        "--lon", "-87.63", "--name", "Zoe", "--mode", "van",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "W99" in _cli(demo_home, "workers", "list", "--system", "demo").stdout
    assert _cli(demo_home, "workers", "remove", "--system", "demo", "--id", "W99").exit_code == 0
    missing = _cli(demo_home, "workers", "remove", "--system", "demo", "--id", "W99x")
    assert missing.exit_code == 1
    bad = _cli(
        demo_home, "workers", "add", "--system", "demo", "--id", "W1", "--lat", "41.9",
        "--lon", "-87.6", "--mode", "bike",
    )  # fmt: skip
    assert bad.exit_code == 1 and "mode" in bad.stderr


def test_parkings_suggest_lists_spots(demo_home: Path) -> None:
    """Suggestions come ranked with their demand and distance to the nearest parking."""
    result = _cli(demo_home, "parkings", "suggest", "--system", "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and rows[0]["rank"] == 1
    assert rows[0]["distance_to_parking_m"] >= 200


def test_plan_errors_say_what_to_do(tmp_path: Path) -> None:
    """Without forecasts the plan names the commands to run; a bad time limit exits 2."""
    home = tmp_path / "empty"
    built = _cli(home, "demo", "--days", "60", "--no-forecast")
    assert built.exit_code == 0, built.output
    result = _cli(home, "plan", "--system", "demo")
    assert result.exit_code == 1 and "fleetcast forecast" in result.stderr
    bad = _cli(home, "plan", "--system", "demo", "--time-limit", "soon")
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("text", "seconds"), [("30", 30.0), ("30s", 30.0), ("2m", 120.0), ("1.5min", 90.0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Time limits read as seconds or minutes."""
    assert parse_duration(text) == seconds
