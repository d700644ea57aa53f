"""The plan job: today's stock targets, moves, truck routes and field tasks for one system.

It reads the store (forecasts, live vehicles, parkings, depots, workers, recent demand and
supply history), calls the planners in ``fleetcast.planning`` on frames, and writes the plan
and the re-planned tasks in one transaction, so a failure leaves the previous plan and tasks
in service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from time import perf_counter
from typing import Any, Final

import numpy as np
import polars as pl
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fleetcast.analytics.turnover import rides_per_vehicle, supply_history
from fleetcast.config import Settings
from fleetcast.domain import Dataset
from fleetcast.errors import ConfigError, InfeasiblePlanError, NotPlannableError
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.planning.assign import Worker, assign_tasks
from fleetcast.planning.config import PlanConfig
from fleetcast.planning.matrix import TravelMatrix
from fleetcast.planning.moves import assign_vehicles, plan_moves
from fleetcast.planning.routing import RoutePlan, Truck, route_moves, validate_plan
from fleetcast.planning.targets import expected_rides, stock_targets
from fleetcast.planning.tasks import generate_tasks
from fleetcast.store import Store, plans, records, state

TURNOVER_DAYS: Final = 28
"""Days of demand and supply history behind each zone's rides per vehicle."""


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A stored plan: its id, day, frames, routes and summary."""

    plan_id: str
    system_id: str
    plan_date: date
    status: str
    targets: pl.DataFrame
    moves: pl.DataFrame
    routes: RoutePlan
    tasks: pl.DataFrame
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The plan as the CLI's ``--json`` and the API give it."""
        return {
            "plan_id": self.plan_id,
            "system_id": self.system_id,
            "plan_date": self.plan_date.isoformat(),
            "status": self.status,
            "targets": self.targets.select("zone_id", "supply", "target", "after").to_dicts(),
            "moves": _jsonable(self.moves.to_dicts()),
            "routes": [_route_json(r) for r in self.routes.routes],
            "tasks": _jsonable(self.tasks.to_dicts()),
            "summary": self.summary,
            "warnings": self.warnings,
        }


def config_for(settings: Settings, system_id: str) -> PlanConfig:
    """The planning parameters of a system from fleetcast.toml (defaults when absent);
    ConfigError naming the file when a value is not understood."""
    try:
        return PlanConfig.from_mapping(settings.section("planning"), system_id=system_id)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"[planning] in {settings.config_file}: {exc}") from exc


def make_plan(
    store: Store,
    system_id: str,
    *,
    plan_date: date | None = None,
    config: PlanConfig | None = None,
    progress: Progress | None = None,
) -> PlanResult:
    """Plan one day for a system and store it; returns the stored plan.

    Raises NotPlannableError when forecasts, live vehicles or depots are missing, and
    InfeasiblePlanError when the trucks cannot be routed at all.
    """
    progress = progress or Silent()
    config = config or config_for(store.settings, system_id)
    began = perf_counter()
    progress.stage("reading forecasts, live vehicles and sites")
    inputs = _read_inputs(store, system_id, plan_date=plan_date)
    warnings: list[str] = []
    trucks = _trucks(config, inputs.depots)
    progress.stage("stock targets from the forecast quantiles")
    supply = _supply_by_zone(inputs.vehicles, min_battery_pct=config.fleet.min_battery_pct)
    zones = _zone_inputs(store, inputs, supply)
    depot_stock = _depot_stock(trucks)
    fleet = int(zones["supply"].sum()) + sum(depot_stock.values())
    targets = stock_targets(zones, fleet=fleet, params=config.targets)
    progress.stage("moves from surplus to deficit")
    nodes = _nodes(zones, inputs.depots)
    matrix = _matrix(nodes, config)
    moves, unmet = plan_moves(
        targets,
        node_ids=list(matrix.node_ids),
        distance_m=matrix.distance_m,
        depot_stock=depot_stock,
        params=config.moves,
    )
    moves = assign_vehicles(moves, _available(inputs.vehicles, config.fleet.min_battery_pct))
    progress.stage(f"routing {len(trucks)} trucks ({config.routing.time_limit_s:g} s budget)")
    routed = route_moves(nodes, moves, matrix=matrix, trucks=trucks, params=config.routing)
    violations = validate_plan(routed, moves, trucks, matrix)
    if violations:
        raise InfeasiblePlanError(
            "the router returned routes that break a constraint (a bug; the previous plan "
            "stays in service): " + "; ".join(violations[:5])
        )
    served = _served_by_move(moves, routed)
    targets = _with_after(targets, served)
    progress.stage("field tasks from the fleet state")
    tasks = _tasks(store, inputs, moves, served, config, warnings)
    moves_out = _moves_out(moves, served, routed)
    summary = _summary(targets, moves_out, routed, tasks, unmet, trucks, perf_counter() - began)
    summary["tasks_kept_in_progress"] = len(inputs.in_progress)
    status = "partial" if summary["moves_unserved"] else "ok"
    plan_id = str(uuid.uuid4())
    routes_out, stops_out = _routes_out(routed)
    progress.stage("saving the plan and the tasks")
    with store.begin() as conn:
        plans.save_plan(
            conn,
            plan_id=plan_id,
            system_id=system_id,
            plan_date=inputs.plan_date,
            status=status,
            issued_on=inputs.issued_on,
            model_version=inputs.model_version,
            params=_params_json(config, trucks),
            summary=summary,
            targets=targets,
            moves=moves_out,
            routes=routes_out,
            stops=stops_out,
        )
        plans.replace_tasks(conn, system_id, tasks.rename({"task_id": "task_key"}), plan_id=plan_id)
        stored_tasks = plans.list_tasks(conn, system_id=system_id, plan_id=plan_id)
    return PlanResult(
        plan_id=plan_id,
        system_id=system_id,
        plan_date=inputs.plan_date,
        status=status,
        targets=targets,
        moves=moves_out,
        routes=routed,
        tasks=stored_tasks,
        summary=summary,
        warnings=warnings,
    )


@dataclass(frozen=True, slots=True)
class _Inputs:
    system_id: str
    timezone: str
    plan_date: date
    issued_on: date
    model_version: str | None
    now: datetime
    forecast: pl.DataFrame
    zones: pl.DataFrame
    parkings: pl.DataFrame
    depots: pl.DataFrame
    vehicles: pl.DataFrame
    workers: pl.DataFrame
    demand: pl.DataFrame
    in_progress: dict[str, str]


def _read_inputs(store: Store, system_id: str, *, plan_date: date | None) -> _Inputs:
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        zones = records.load_zones(conn, system_id)
        parkings = records.load_parkings(conn, system_id)
        depots = records.load_depots(conn, system_id)
        vehicles = state.load_vehicle_status(conn, system_id)
        workers = plans.load_workers(conn, system_id)
        in_progress = plans.in_progress_tasks(conn, system_id)
        newest = records.latest_issue(conn, system_id)
        if newest is None:
            raise NotPlannableError(
                f"system {system_id!r} has no forecasts to plan from: run 'fleetcast train "
                f"--system {system_id}' once, then 'fleetcast forecast --system {system_id}'"
            )
        day = plan_date or _default_day(conn, system_id, system.timezone, newest)
        issued = records.newest_issue_covering(conn, system_id, day)
        if issued is None:
            raise NotPlannableError(
                f"no forecast of {system_id!r} covers {day}: run 'fleetcast forecast --system "
                f"{system_id}' (the newest forecasts were issued on {newest})"
            )
        forecast = records.load_forecasts(conn, system_id, issued_on=issued, target_date=day)
        last = records.demand_summary(conn, system_id)["last_day"]
        demand = (
            records.load_demand(
                conn, system_id, start=last - timedelta(days=TURNOVER_DAYS - 1), end=last
            )
            if last is not None
            else pl.DataFrame(schema={"zone_id": pl.String, "date": pl.Date, "trips": pl.Int64})
        )
    if vehicles.is_empty():
        raise NotPlannableError(
            f"system {system_id!r} has no live vehicles to plan with: load them with "
            f"'fleetcast ingest gbfs URL --system {system_id}' (or poll the feed)"
        )
    if depots.is_empty():
        raise NotPlannableError(
            f"system {system_id!r} has no depot for the trucks to start from: add one to the "
            "system's depots (the demo city has two)"
        )
    versions = forecast["model_version"].unique().to_list() if "model_version" in forecast else []
    observed = vehicles["observed_at"].max()
    now = observed if isinstance(observed, datetime) else datetime.now(UTC)
    return _Inputs(
        system_id=system_id,
        timezone=system.timezone,
        plan_date=day,
        issued_on=issued,
        model_version=str(versions[0]) if versions else None,
        now=now,
        forecast=forecast,
        zones=zones,
        parkings=parkings,
        depots=depots,
        vehicles=vehicles,
        workers=workers,
        demand=demand,
        in_progress=in_progress,
    )


def _default_day(conn: Any, system_id: str, timezone: str, newest: date) -> date:
    """Today in the system's timezone when a forecast covers it, else the first day of the
    newest issue (a demo or replayed store whose forecasts are in the past)."""
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(timezone)).date()
    if records.newest_issue_covering(conn, system_id, today) is not None:
        return today
    issued = records.load_forecasts(conn, system_id, issued_on=newest)
    first = issued["target_date"].min()
    if not isinstance(first, date):
        raise NotPlannableError(f"the newest forecasts of {system_id!r} are empty")
    return first


def _available(vehicles: pl.DataFrame, min_battery_pct: float) -> pl.DataFrame:
    """Vehicles a rider could take now: not disabled, not reserved, charged enough."""
    return vehicles.filter(
        ~pl.col("is_disabled").fill_null(False),
        ~pl.col("is_reserved").fill_null(False),
        pl.col("battery_pct").fill_null(100.0) >= min_battery_pct,
        pl.col("zone_id").is_not_null(),
    )


def _supply_by_zone(vehicles: pl.DataFrame, *, min_battery_pct: float) -> pl.DataFrame:
    return (
        _available(vehicles, min_battery_pct)
        .group_by("zone_id")
        .agg(pl.len().cast(pl.Int64).alias("supply"))
    )


def _zone_inputs(store: Store, inputs: _Inputs, supply: pl.DataFrame) -> pl.DataFrame:
    """One row per zone: supply, forecast quantiles, rides per vehicle and parking bounds."""
    fleet_size = int(inputs.vehicles.filter(~pl.col("is_disabled").fill_null(False)).height)
    snapshots = _snapshots(store, inputs)
    history = supply_history(snapshots) if snapshots is not None else None
    turnover = rides_per_vehicle(
        inputs.demand,
        history if history is not None and history.height else None,
        fleet_size=max(fleet_size, 1),
        window_days=TURNOVER_DAYS,
    )
    bounds = inputs.parkings.group_by("zone_id").agg(
        pl.col("min_vehicles").sum().cast(pl.Int64),
        pl.col("max_vehicles").sum().cast(pl.Int64),
    )
    forecast = inputs.forecast.select("zone_id", "mean", "q10", "q50", "q90")
    frame = (
        inputs.zones.select("zone_id")
        .join(forecast, on="zone_id", how="left")
        .join(supply, on="zone_id", how="left")
        .join(turnover.select("zone_id", "rides_per_vehicle"), on="zone_id", how="left")
        .join(bounds, on="zone_id", how="left")
        .join(_anchors(inputs.zones, inputs.parkings), on="zone_id", how="left")
        .with_columns(
            pl.col("supply").fill_null(0),
            pl.col("mean", "q10", "q50", "q90").fill_null(0.0),
            pl.col("min_vehicles").fill_null(0),
        )
    )
    median = turnover["rides_per_vehicle"].median() if turnover.height else None
    fallback = float(median) if isinstance(median, int | float) and median > 0 else 1.0
    return frame.with_columns(pl.col("rides_per_vehicle").fill_null(fallback)).sort("zone_id")


def _snapshots(store: Store, inputs: _Inputs) -> pl.DataFrame | None:
    """Vehicle snapshots of the turnover window from the lake (None when there are none)."""
    start = inputs.plan_date - timedelta(days=TURNOVER_DAYS)
    try:
        frame = store.lake.scan(
            Dataset.VEHICLE_STATUS, system_id=inputs.system_id, start=start, end=inputs.plan_date
        ).collect()
    except FileNotFoundError:
        return None
    return frame if frame.height else None


def _anchors(zones: pl.DataFrame, parkings: pl.DataFrame) -> pl.DataFrame:
    """Where a truck stops in each zone: its largest parking, else the zone's centroid."""
    biggest = (
        parkings.sort(["max_vehicles", "parking_id"], descending=[True, False])
        .group_by("zone_id", maintain_order=True)
        .first()
        .select("zone_id", pl.col("lat").alias("p_lat"), pl.col("lon").alias("p_lon"))
    )
    return (
        zones.select("zone_id", "centroid_lat", "centroid_lon")
        .join(biggest, on="zone_id", how="left")
        .select(
            "zone_id",
            pl.coalesce("p_lat", "centroid_lat").alias("anchor_lat"),
            pl.coalesce("p_lon", "centroid_lon").alias("anchor_lon"),
        )
    )


def _nodes(zones: pl.DataFrame, depots: pl.DataFrame) -> pl.DataFrame:
    """Zones (at their anchor point) and depots as routing nodes."""
    zone_nodes = zones.select(
        pl.col("zone_id").alias("node_id"),
        pl.lit("zone").alias("kind"),
        pl.col("anchor_lat").alias("lat"),
        pl.col("anchor_lon").alias("lon"),
    )
    depot_nodes = depots.select(
        pl.col("depot_id").alias("node_id"), pl.lit("depot").alias("kind"), "lat", "lon"
    )
    return pl.concat([zone_nodes, depot_nodes])


def _matrix(nodes: pl.DataFrame, config: PlanConfig) -> TravelMatrix:
    ids = nodes["node_id"].to_list()
    if config.fleet.matrix_file:
        return TravelMatrix.from_file(
            config.fleet.matrix_file, ids, speed_kmh=config.fleet.speed_kmh
        )
    return TravelMatrix.from_coordinates(
        ids,
        nodes["lat"].to_numpy(),
        nodes["lon"].to_numpy(),
        detour_factor=config.fleet.detour_factor,
        speed_kmh=config.fleet.speed_kmh,
    )


def _trucks(config: PlanConfig, depots: pl.DataFrame) -> list[Truck]:
    """The listed trucks (their depots checked) or N identical trucks spread over depots."""
    depot_ids = depots["depot_id"].to_list()
    if config.trucks:
        unknown = sorted({t.depot_id for t in config.trucks} - set(depot_ids))
        if unknown:
            raise NotPlannableError(
                f"[[planning.truck]] names depot(s) {unknown} that the system does not have; "
                f"its depots are {depot_ids}"
            )
        return list(config.trucks)
    fleet = config.fleet
    return [
        Truck(
            truck_id=f"T{i + 1}",
            capacity=fleet.capacity,
            depot_id=depot_ids[i % len(depot_ids)],
            start_load=fleet.start_load,
            shift_minutes=fleet.shift_minutes,
        )
        for i in range(fleet.trucks)
    ]


def _depot_stock(trucks: list[Truck]) -> dict[str, int]:
    stock: dict[str, int] = {}
    for truck in trucks:
        if truck.start_load:
            stock[truck.depot_id] = stock.get(truck.depot_id, 0) + truck.start_load
    return stock


def _served_by_move(moves: pl.DataFrame, routed: RoutePlan) -> pl.DataFrame:
    """Vehicles each move gets carried (a move may be split over trucks) and by whom."""
    if routed.served.is_empty():
        return moves.select("move_id", "from_id", "to_id").with_columns(
            pl.lit(0, dtype=pl.Int64).alias("served"),
            pl.lit(None, dtype=pl.String).alias("truck_id"),
        )
    per_move = routed.served.group_by("move_id").agg(
        pl.col("vehicles").sum().cast(pl.Int64).alias("served"),
        pl.col("truck_id").unique().sort().str.join(",").alias("truck_id"),
    )
    return (
        moves.select("move_id", "from_id", "to_id")
        .join(per_move, on="move_id", how="left")
        .with_columns(pl.col("served").fill_null(0))
    )


def _with_after(targets: pl.DataFrame, served: pl.DataFrame) -> pl.DataFrame:
    """Targets with the supply after the served moves and the expected rides before/after."""
    change: dict[str, int] = {}
    for row in served.iter_rows(named=True):
        change[row["to_id"]] = change.get(row["to_id"], 0) + int(row["served"])
        change[row["from_id"]] = change.get(row["from_id"], 0) - int(row["served"])
    after = np.array(
        [
            int(s) + change.get(z, 0)
            for z, s in zip(targets["zone_id"], targets["supply"], strict=True)
        ],
        dtype=np.int64,
    )
    return targets.with_columns(
        pl.Series("after", after),
        pl.Series("expected_rides_after", expected_rides(targets, after)),
    )


def _service_area(zones: pl.DataFrame) -> BaseGeometry | None:
    shapes = [shape(json.loads(g)) for g in zones["geometry"].drop_nulls().to_list()]
    return shapely.union_all(shapes) if shapes else None


def _tasks(
    store: Store,
    inputs: _Inputs,
    moves: pl.DataFrame,
    served: pl.DataFrame,
    config: PlanConfig,
    warnings: list[str],
) -> pl.DataFrame:
    """Field tasks for the fleet not carried by a truck, assigned to the active workers."""
    counts = dict(zip(served["move_id"], served["served"], strict=True))
    carried = {
        v
        for move_id, ids in zip(moves["move_id"], moves["vehicle_ids"].to_list(), strict=True)
        for v in (ids or [])[: counts.get(move_id, 0)]
    }
    vehicles = inputs.vehicles.filter(~pl.col("vehicle_id").is_in(list(carried)))
    vehicles = vehicles.with_columns(_idle_hours(store, inputs))
    zone_demand = inputs.forecast.select("zone_id", pl.col("mean").alias("trips"))
    tasks = generate_tasks(
        vehicles,
        parkings=inputs.parkings,
        service_area=_service_area(inputs.zones),
        zone_demand=zone_demand,
        params=config.tasks,
        now=inputs.now,
    )
    if inputs.workers.is_empty():
        warnings.append(
            "no active workers: tasks were created unassigned (add workers with 'fleetcast "
            "workers add')"
        )
        return tasks.with_columns(
            pl.lit(None, dtype=pl.String).alias("assignee"),
            pl.lit(None, dtype=pl.Int64).alias("route_seq"),
            pl.lit(None, dtype=pl.Float64).alias("eta_minutes"),
        )
    workers = [
        Worker(
            worker_id=r["worker_id"],
            name=r["name"],
            lat=r["lat"],
            lon=r["lon"],
            shift_minutes=r["shift_minutes"],
            mode=r["mode"],
        )
        for r in inputs.workers.iter_rows(named=True)
    ]
    known = {w.worker_id for w in workers}
    generated = set(tasks["task_id"].to_list())
    fixed = {k: w for k, w in inputs.in_progress.items() if w in known and k in generated}
    return assign_tasks(tasks, workers, fixed=fixed, params=config.assign)


def _idle_hours(store: Store, inputs: _Inputs) -> pl.Expr:
    """Hours since each vehicle last moved, from the lake's snapshots (null when unknown)."""
    start = inputs.plan_date - timedelta(days=7)
    try:
        history = (
            store.lake.scan(
                Dataset.VEHICLE_STATUS,
                system_id=inputs.system_id,
                start=start,
                end=inputs.plan_date,
            )
            .select("vehicle_id", "observed_at", "lat", "lon")
            .collect()
        )
    except FileNotFoundError:
        history = pl.DataFrame()
    if history.is_empty():
        return pl.lit(None, dtype=pl.Float64).alias("idle_hours")
    moved = (
        history.sort("vehicle_id", "observed_at")
        .with_columns(
            ((pl.col("lat").diff().abs() > 1e-4) | (pl.col("lon").diff().abs() > 1e-4))
            .over("vehicle_id")
            .fill_null(True)
            .alias("moved")
        )
        .filter(pl.col("moved"))
        .group_by("vehicle_id")
        .agg(pl.col("observed_at").max().alias("since"))
    )
    lookup = dict(zip(moved["vehicle_id"], moved["since"], strict=True))
    now = inputs.now
    return (
        pl.col("vehicle_id")
        .replace_strict(lookup, default=None, return_dtype=pl.Datetime("us", "UTC"))
        .pipe(lambda since: (pl.lit(now) - since).dt.total_seconds() / 3600.0)
        .alias("idle_hours")
    )


def _summary(
    targets: pl.DataFrame,
    moves: pl.DataFrame,
    routed: RoutePlan,
    tasks: pl.DataFrame,
    unmet: pl.DataFrame,
    trucks: list[Truck],
    seconds: float,
) -> dict[str, Any]:
    before = float(targets["expected_rides_supply"].sum())
    after = float(targets["expected_rides_after"].sum())
    by_kind = tasks.group_by("kind").len().sort("kind") if tasks.height else tasks.head(0)
    assigned = tasks.filter(pl.col("assignee").is_not_null()).height if tasks.height else 0
    return {
        "zones": targets.height,
        "supply": int(targets["supply"].sum()),
        "target": int(targets["target"].sum()),
        "zones_short": int((targets["supply"] < targets["target"]).sum()),
        "moves": moves.height,
        "moves_served": int((moves["status"] != "unserved").sum()),
        "moves_unserved": int((moves["status"] != "planned").sum()),
        "unmet_deficit": int(unmet["vehicles"].sum()) if unmet.height else 0,
        "vehicles_moved": int(moves["vehicles_served"].sum()) if moves.height else 0,
        "trucks": len(trucks),
        "trucks_used": sum(1 for r in routed.routes if len(r.stops) > 2),
        "km_driven": round(routed.distance_m / 1000.0, 2),
        "expected_rides_before": round(before, 1),
        "expected_rides_after": round(after, 1),
        "expected_rides_gained": round(after - before, 1),
        "tasks": tasks.height,
        "tasks_assigned": assigned,
        "tasks_by_kind": {str(k): int(n) for k, n in by_kind.iter_rows()},
        "solve_seconds": round(routed.solve_seconds, 2),
        "seconds": round(seconds, 2),
    }


def _moves_out(moves: pl.DataFrame, served: pl.DataFrame, routed: RoutePlan) -> pl.DataFrame:
    """Moves with what the trucks carry of each: planned, partial (split, some left) or
    unserved, with the router's reason for what was left."""
    reasons = (
        routed.unserved.group_by("move_id").agg(pl.col("reason").unique().sort().str.join("; "))
        if routed.unserved.height
        else pl.DataFrame(schema={"move_id": pl.String, "reason": pl.String})
    )
    return (
        moves.join(served.select("move_id", "served", "truck_id"), on="move_id", how="left")
        .join(reasons, on="move_id", how="left")
        .with_columns(
            pl.when(pl.col("served") >= pl.col("vehicles"))
            .then(pl.lit("planned"))
            .when(pl.col("served") > 0)
            .then(pl.lit("partial"))
            .otherwise(pl.lit("unserved"))
            .alias("status"),
            pl.col("served").alias("vehicles_served"),
            pl.col("vehicle_ids").fill_null([]),
        )
        .select(
            "move_id",
            "from_id",
            "to_id",
            "vehicles",
            "vehicles_served",
            "distance_m",
            "rides_gained",
            "truck_id",
            "status",
            "reason",
            "vehicle_ids",
        )
    )


def _routes_out(routed: RoutePlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    routes = [
        {
            "truck_id": r.truck_id,
            "capacity": r.capacity,
            "start_load": r.start_load,
            "depot_id": r.depot_id,
            "end_depot_id": r.end_depot_id or r.depot_id,
            "distance_m": float(r.distance_m),
            "duration_s": float(r.duration_s),
        }
        for r in routed.routes
    ]
    stops = [
        {
            "truck_id": r.truck_id,
            "seq": s.seq,
            "node_id": s.node_id,
            "kind": s.kind,
            "lat": s.lat,
            "lon": s.lon,
            "pickup": s.pickup,
            "dropoff": s.dropoff,
            "load_after": s.load_after,
            "arrival_s": float(s.arrival_s),
            "move_ids": list(s.move_ids),
        }
        for r in routed.routes
        for s in r.stops
    ]
    return pl.DataFrame(routes), pl.DataFrame(stops)


def _route_json(route: Any) -> dict[str, Any]:
    return {
        "truck_id": route.truck_id,
        "capacity": route.capacity,
        "start_load": route.start_load,
        "depot_id": route.depot_id,
        "distance_m": round(float(route.distance_m), 1),
        "duration_s": round(float(route.duration_s), 1),
        "stops": [
            {
                "seq": s.seq,
                "zone_id": s.node_id if s.kind == "zone" else None,
                "depot_id": s.node_id if s.kind == "depot" else None,
                "lat": s.lat,
                "lon": s.lon,
                "pickup": s.pickup,
                "dropoff": s.dropoff,
                "load_after": s.load_after,
                "arrival_s": round(float(s.arrival_s), 1),
            }
            for s in route.stops
        ],
    }


def _params_json(config: PlanConfig, trucks: list[Truck]) -> dict[str, Any]:
    from dataclasses import asdict

    out: dict[str, Any] = {
        name: asdict(getattr(config, name))
        for name in ("fleet", "targets", "moves", "routing", "tasks", "assign")
    }
    out["trucks"] = [asdict(t) for t in trucks]
    jsonable: dict[str, Any] = _jsonable(out)
    return jsonable


def _jsonable(value: Any) -> Any:
    """Dates, enums and numpy scalars made JSON-friendly (for the plan's JSON and db rows)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
