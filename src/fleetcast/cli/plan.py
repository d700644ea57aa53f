"""`fleetcast plan`, `tasks`, `workers` and `parkings`: today's plan and the field work."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetcast.cli._common import (
    OutputFormat,
    console,
    fail,
    open_store,
    parse_day,
    prog,
    run_with_progress,
    settings,
    write_frame,
)
from fleetcast.errors import FleetcastError

tasks_app = typer.Typer(
    help="Field tasks: list them, and start, complete or skip one.", no_args_is_help=True
)
workers_app = typer.Typer(help="Field workers the plan assigns tasks to.", no_args_is_help=True)
parkings_app = typer.Typer(help="Parking spots: suggestions for new ones.", no_args_is_help=True)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min)?\s*$")


def parse_duration(value: str) -> float:
    """Seconds from '30', '30s', '2m' or '1.5min'."""
    match = _DURATION.match(value)
    if not match:
        raise typer.BadParameter(f"{value!r} is not a duration: use e.g. 30s or 2m")
    number = float(match.group(1))
    seconds = number * 60 if match.group(2) in ("m", "min") else number
    if not 0.1 <= seconds <= 3600:
        raise typer.BadParameter("the time limit must be between 0.1 s and 1 hour")
    return seconds


def plan(
    system: Annotated[str, typer.Option(help="System id.")],
    trucks: Annotated[
        int | None,
        typer.Option(min=1, max=200, help="Trucks to route (default from fleetcast.toml, or 2)."),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Vehicles each truck carries (default 30)."),
    ] = None,
    time_limit: Annotated[
        str | None,
        typer.Option(
            "--time-limit", help="Routing time budget, e.g. 30s or 2m (default 30s).", metavar="T"
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="Day to plan (YYYY-MM-DD; default today, or the next forecast day)."
        ),
    ] = None,
    matrix: Annotated[
        Path | None,
        typer.Option(
            help="Travel matrix file (CSV/Parquet: from_id,to_id,distance_m[,duration_s]) "
            "instead of straight lines times a detour factor.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole plan as JSON.")] = False,
) -> None:
    """Plan today for a system: stock targets per zone, the moves from surplus to deficit, the
    trucks' routes that carry them, and field tasks assigned to the workers.

    Targets are the newsvendor quantile of each zone's forecast demand (shortage vs idle cost,
    set in fleetcast.toml under [planning.targets]) in vehicles, within the parkings' min and
    max and the fleet available. The plan is stored with an id; `fleetcast serve` shows it.
    """
    from fleetcast.jobs.plan import config_for, make_plan

    seconds = parse_duration(time_limit) if time_limit is not None else None
    plan_day = parse_day(day, "--date") if day is not None else None
    store = open_store()
    try:
        config = config_for(settings(), system).with_overrides(
            trucks=trucks, capacity=capacity, time_limit_s=seconds, matrix_file=matrix
        )
    except (FleetcastError, ValueError, TypeError) as exc:
        raise fail(f"planning settings: {exc}", code=2) from exc
    result = run_with_progress(
        lambda stages: make_plan(store, system, plan_date=plan_day, config=config, progress=stages),
        errors=(FleetcastError, ValueError),
    )
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, default=str) + "\n")
        return
    _print_plan(result)


def _print_plan(result: Any) -> None:
    summary = result.summary
    table = Table(
        title=f"Plan {result.plan_id} for {result.system_id} on {result.plan_date} "
        f"({result.status})",
        show_header=False,
        title_justify="left",
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("zones below target now", f"{summary['zones_short']} of {summary['zones']}"),
        ("vehicles available / target", f"{summary['supply']:,} / {summary['target']:,}"),
        ("moves served / planned", f"{summary['moves_served']} / {summary['moves']}"),
        ("vehicles moved", f"{summary['vehicles_moved']:,}"),
        ("trucks used", f"{summary['trucks_used']} of {summary['trucks']}"),
        ("km driven", f"{summary['km_driven']:,.1f}"),
        ("expected rides, no rebalancing", f"{summary['expected_rides_before']:,.0f}"),
        ("expected rides with the plan", f"{summary['expected_rides_after']:,.0f}"),
        ("expected rides gained", f"{summary['expected_rides_gained']:+,.1f}"),
        ("tasks (assigned)", f"{summary['tasks']} ({summary['tasks_assigned']})"),
        ("seconds (routing)", f"{summary['seconds']:.1f} ({summary['solve_seconds']:.1f})"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    routes = Table(title="Truck routes", title_justify="left")
    for column in ("truck", "depot", "capacity", "start load", "stops", "vehicles", "km", "hours"):
        routes.add_column(column, justify="left" if column in ("truck", "depot") else "right")
    for route in result.routes.routes:
        inner = route.stops[1:-1]
        routes.add_row(
            route.truck_id,
            route.depot_id,
            str(route.capacity),
            str(route.start_load),
            str(len(inner)),
            str(sum(s.dropoff for s in inner)),
            f"{route.distance_m / 1000:.1f}",
            f"{route.duration_s / 3600:.1f}",
        )
    console.print(routes)
    if summary["tasks_by_kind"]:
        kinds = ", ".join(f"{k} {n}" for k, n in summary["tasks_by_kind"].items())
        console.print(f"Tasks: {kinds}")
    for warning in result.warnings:
        console.print(f"[yellow]note:[/] {warning}")
    if summary["moves_unserved"]:
        console.print(
            f"[yellow]note:[/] {summary['moves_unserved']} moves were left undone (see "
            "--json: moves with status 'unserved' and a reason); more trucks or a longer "
            "--time-limit may serve them"
        )
    me = prog()
    console.print(
        f"Next: [bold]{me} tasks list --system {result.system_id}[/]  ·  "
        f"[bold]{me} serve --with-dashboard[/] (plan and field-worker pages)"
    )


@tasks_app.command("list")
def tasks_list(
    system: Annotated[str | None, typer.Option(help="System id (default: all).")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only this worker's tasks.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(help="open, assigned, in_progress, done, skipped (repeatable)."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.table
    ),
) -> None:
    """List tasks, each worker's in route order."""
    from fleetcast.jobs.field import list_tasks

    try:
        frame = list_tasks(open_store(), system_id=system, assignee=assignee, status=status)
    except (FleetcastError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if frame.is_empty():
        console.print("no tasks match")
        return
    columns = [
        "task_id",
        "kind",
        "status",
        "assignee",
        "route_seq",
        "vehicle_id",
        "parking_id",
        "zone_id",
        "priority",
        "reason",
    ]
    if output is OutputFormat.table:
        frame = frame.select(columns).with_columns(frame["priority"].round(2))
    write_frame(frame, output)


def _act(task_id: str, action: str, *, assignee: str | None, reason: str | None) -> None:
    from fleetcast.jobs.field import task_action

    try:
        task = task_action(open_store(), task_id, action, assignee=assignee, reason=reason)
    except (FleetcastError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"task {task['task_id']} ({task['kind']}): [bold]{task['status']}[/]")


@tasks_app.command("start")
def tasks_start(
    task_id: Annotated[str, typer.Argument(help="Task id (from 'tasks list').")],
    assignee: Annotated[str | None, typer.Option(help="Worker who takes it.")] = None,
) -> None:
    """Mark a task in progress (re-planning keeps it with its worker)."""
    _act(task_id, "start", assignee=assignee, reason=None)


@tasks_app.command("complete")
def tasks_complete(task_id: Annotated[str, typer.Argument(help="Task id.")]) -> None:
    """Mark a task done."""
    _act(task_id, "complete", assignee=None, reason=None)


@tasks_app.command("skip")
def tasks_skip(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    reason: Annotated[str, typer.Option(help="Why (e.g. 'vehicle not found').")],
) -> None:
    """Skip a task, with the reason."""
    _act(task_id, "skip", assignee=None, reason=reason)


@workers_app.command("add")
def workers_add(
    system: Annotated[str, typer.Option(help="System id.")],
    worker_id: Annotated[str, typer.Option("--id", help="Worker id (e.g. W1).")],
    lat: Annotated[float, typer.Option(help="Latitude where the shift starts.")],
    lon: Annotated[float, typer.Option(help="Longitude where the shift starts.")],
    name: Annotated[str, typer.Option(help="Name shown on the phone page.")] = "",
    shift_minutes: Annotated[int, typer.Option(min=30, max=1440, help="Shift length.")] = 480,
    mode: Annotated[str, typer.Option(help="walk or van.")] = "walk",
) -> None:
    """Add (or update) a field worker."""
    from fleetcast.jobs.field import add_worker

    try:
        add_worker(
            open_store(),
            system,
            worker_id=worker_id,
            name=name,
            lat=lat,
            lon=lon,
            shift_minutes=shift_minutes,
            mode=mode,
        )
    except (FleetcastError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"worker {worker_id} saved")


@workers_app.command("list")
def workers_list(system: Annotated[str, typer.Option(help="System id.")]) -> None:
    """List a system's active workers."""
    from fleetcast.jobs.field import list_workers

    try:
        frame = list_workers(open_store(), system)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    write_frame(frame, OutputFormat.table)


@workers_app.command("remove")
def workers_remove(
    system: Annotated[str, typer.Option(help="System id.")],
    worker_id: Annotated[str, typer.Option("--id", help="Worker id.")],
) -> None:
    """Take a worker out of planning (their task history stays)."""
    from fleetcast.jobs.field import remove_worker

    if not remove_worker(open_store(), system, worker_id):
        raise fail(f"no worker {worker_id!r} in {system!r}")
    console.print(f"worker {worker_id} removed from planning")


@parkings_app.command("suggest")
def parkings_suggest(
    system: Annotated[str, typer.Option(help="System id.")],
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of trips to cluster.")] = 28,
    method: Annotated[str | None, typer.Option(help="h3 or meanshift.")] = None,
    top: Annotated[int | None, typer.Option(min=1, max=500, help="Suggestions to show.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.table
    ),
) -> None:
    """Suggest new parking spots: clusters of trip starts and ends far from every parking,
    ranked by the trips per day they would serve."""
    from fleetcast.jobs.parking_sites import suggest

    try:
        frame = suggest(open_store(), system, days=days, method=method, top=top)
    except (FleetcastError, ValueError) as exc:
        raise fail(str(exc)) from exc
    write_frame(frame, output)
