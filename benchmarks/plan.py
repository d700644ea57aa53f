"""Planning benchmark: how long a full plan takes at operator scale, and the rides it gains.

1. Scale: one full plan (stock targets, moves, truck routes, field tasks assigned to
   workers, stored) for a generated city of 500 zones, 5,000 vehicles, 5 trucks and 10
   workers, timed end to end around ``make_plan`` with the time of each of its stages
   (a ``Progress`` that timestamps them) and the router's own solve time. The router
   (PyVRP) searches for the whole ``--time-limit`` (30 s), so the rest of the 60-second
   target is left to the other stages. The store is built as ``build_demo`` builds the
   demo city (generated frames -> records, lake, a GBFS folder through ``ingest_gbfs``,
   daily demand); forecasts come from the default model (``global_gbm``) fitted on the
   stored history and written with ``records.save_forecasts``, as the forecast job does
   (without MLflow, which is not what is measured).
2. Quality: the demo city (``build_demo``'s seed and size: 90 zones, 1,600 vehicles, the
   default planning config) replayed over its last ``--days`` days (7), which are held
   out: before day D is planned the store holds the trips and daily demand of days up to
   D - 1 only (each day's trips are added after it has been replayed), the forecasting
   model is fitted once on the history before the first held-out day and issues day D's
   forecast from the demand up to D - 1 (no refit, no future demand). Each morning a
   plan is made from the fleet as it stands; what its trucks carry (``vehicles_served``)
   is applied to the fleet (``replay.apply_moves``) and that day's generated trips are
   replayed (``replay.replay_day``) against two fleets: the fleet without rebalancing and
   the fleet after the plan. A trip whose start zone holds no vehicle is lost. Each world
   carries its own fleet into the next day: the vehicles where that world's replay left
   them. Day 1 starts both worlds from the generated fleet snapshot. Printed per day:
   trips, served without and with the plan, the gain, vehicles moved, km driven and the
   plan's own estimate of the rides it gains beside the realised gain. As the two
   worlds' fleets drift apart, a day's gain also holds what earlier days' moves left in
   place; the gain of that morning's moves alone (the plan world's fleet replayed with
   and without them) is printed beside the plan's estimate, which is the like figure.

What the replay can and cannot say:

- The synthetic trips are not a fleet simulation: a generated vehicle's next trip does
  not start where its previous trip ended. The replay therefore uses zone counts only:
  the fleet is vehicles per zone, a served trip moves one vehicle from its start zone to
  its end zone (available again when the trip ends), and the trips are the demand.
- Only the available fleet is replayed (not disabled, not reserved, battery at least the
  plan's ``min_battery_pct``, inside a zone), the same vehicles ``make_plan`` counts as
  supply; the rest stay as they are in both worlds (no battery swaps or repairs).
- Trucks move vehicles before the day's first ride (a night shift); routes take hours in
  reality, so a morning shift would gain less on the morning peak.
- Observed trips are the demand: riders who found no vehicle in the generated world are
  not in the data, so gains are against the demand the generator drew, not a fleet's.
- The forecast for day D sees day D's observed weather (as ``benchmarks/forecast.py``
  does): a perfect weather forecast.
- In the plan world the fleet enters the store each morning as a GBFS snapshot (the same
  path as a live feed): each zone's vehicles stand at its parkings (largest first) or at
  a point inside the zone, with the batteries of the day-1 snapshot.

``--quick`` (the smoke test's size): 60 zones, 600 vehicles, 2 trucks, 2 held-out days,
3 s routing and 1 s assignment limits, and the seasonal-naive forecaster (global_gbm takes
seconds to fit and needs 118 days of history).

    python benchmarks/plan.py [--json] [--quick] [--time-limit 30] [--days 7]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from rich.console import Console
from rich.table import Table
from shapely.geometry import shape

from fleetcast.analytics.demand import daily_demand
from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.forecasting.base import Forecaster
from fleetcast.forecasting.models import make_model
from fleetcast.jobs.forecast import DEFAULT_MODEL, load_training_set
from fleetcast.jobs.plan import PlanResult, config_for, make_plan
from fleetcast.jobs.supply import ingest_gbfs
from fleetcast.planning.config import PlanConfig
from fleetcast.planning.replay import apply_moves, replay_day, supply_frame
from fleetcast.sources.synthetic import DemoCity, DemoParams, generate_city_from_params
from fleetcast.sources.synthetic.gbfs_feed import write_gbfs_folder
from fleetcast.store import Store, plans, records, state

SCALE_TARGET_S = 60.0
HORIZON = 3
QUICK_HISTORY = 60
"""Days of history of the quick city (its seasonal-naive forecaster needs 35)."""
console = Console(width=150)
status_console = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Size:
    """What one run of the benchmark builds and plans."""

    scale_city: DemoParams
    scale_trucks: int
    replay_city: DemoParams
    replay_days: int
    time_limit_s: float
    replay_time_limit_s: float
    replay_trucks: int | None
    assign_time_limit_s: float | None
    model: str


def sizes(args: argparse.Namespace) -> Size:
    """The full size, or the small one of ``--quick`` (the smoke test's)."""
    if args.quick:
        small = DemoParams(
            seed=args.seed, days=QUICK_HISTORY, n_zones=60, fleet_size=600, n_depots=1, n_workers=3
        )
        return Size(
            scale_city=small,
            scale_trucks=2,
            replay_city=replace(small, days=QUICK_HISTORY + args.days_quick),
            replay_days=args.days_quick,
            time_limit_s=args.time_limit or 3.0,
            replay_time_limit_s=args.replay_time_limit or args.time_limit or 3.0,
            replay_trucks=args.replay_trucks,
            assign_time_limit_s=args.assign_time_limit or 1.0,
            model=args.model or "seasonal_naive",
        )
    fleet = 5000
    return Size(
        # 150 days: enough for global_gbm (118 days at least) and the 28-day turnover; demand
        # scaled so a vehicle serves as many rides a day as in the demo city (1,600 vehicles).
        scale_city=DemoParams(
            seed=args.seed,
            days=150,
            n_zones=500,
            fleet_size=fleet,
            n_depots=2,
            n_workers=10,
            trips_scale=fleet / DemoParams().fleet_size,
        ),
        scale_trucks=5,
        replay_city=DemoParams(seed=args.seed),
        replay_days=args.days,
        time_limit_s=args.time_limit or 30.0,
        replay_time_limit_s=args.replay_time_limit or 10.0,
        replay_trucks=args.replay_trucks,
        assign_time_limit_s=args.assign_time_limit,
        model=args.model or DEFAULT_MODEL,
    )


class StageClock:
    """A ``Progress`` that timestamps each stage, so a job's time splits by stage."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.ended: float | None = None

    def stage(self, description: str, total: float | None = None) -> None:
        """A stage begins now."""
        self.marks.append((description, time.perf_counter()))

    def advance(self, amount: float = 1.0) -> None:
        """Not timed."""

    def stop(self) -> None:
        """The job has returned."""
        self.ended = time.perf_counter()

    def seconds(self) -> list[tuple[str, float]]:
        """(stage, seconds) in order; the last stage runs until ``stop``."""
        end = self.ended if self.ended is not None else time.perf_counter()
        stamps = [t for _, t in self.marks[1:]] + [end]
        return [(d, s - t) for (d, t), s in zip(self.marks, stamps, strict=True)]


# -- building a store from a generated city -------------------------------------------------


def open_store(home: Path) -> Store:
    """A store (SQLite + lake) in ``home``, ignoring FLEETCAST_* and fleetcast.toml."""
    return Store(load_settings(home=home, env={}))


def local_night(day: date, timezone: str) -> datetime:
    """23:59 local on ``day`` (when the fleet snapshot before the next day is taken)."""
    return datetime.combine(day, dtime(23, 59), tzinfo=ZoneInfo(timezone))


def load_city(store: Store, city: DemoCity, *, through: date) -> None:
    """Write ``city`` into the store as ``build_demo`` does, with trips and demand up to
    ``through`` only (later days are held out); the fleet is ingested separately."""
    sid = city.system.system_id
    zones = city.zones.drop([c for c in city.zones.columns if c == "elevation_m"])
    with store.begin() as conn:
        records.save_system(conn, city.system)
        records.save_zones(conn, sid, zones)
        records.save_parkings(conn, sid, city.parkings)
        records.save_depots(conn, sid, city.depots)
        plans.save_workers(conn, sid, city.workers.to_dicts())
    store.lake.append(Dataset.WEATHER_DAILY, city.weather)
    first = city.trips["date"].min()
    assert isinstance(first, date)
    add_days(store, city, first, through)


def add_days(store: Store, city: DemoCity, first: date, last: date) -> int:
    """Trips of days ``first``..``last`` into the lake and their daily demand into the db."""
    sid = city.system.system_id
    trips = city.trips.filter(pl.col("date").is_between(first, last))
    store.lake.append(Dataset.TRIPS, trips)
    demand = daily_demand(
        trips, system_id=sid, zone_ids=city.zones["zone_id"].to_list(), start=first, end=last
    )
    with store.begin() as conn:
        records.replace_demand(conn, sid, demand)
    return trips.height


def ingest_fleet(store: Store, city: DemoCity, vehicles: pl.DataFrame, *, at: datetime) -> None:
    """The fleet ``vehicles`` as seen at ``at``, through a GBFS folder and ``ingest_gbfs``."""
    stamped = vehicles.with_columns(
        pl.lit(at.astimezone(UTC)).cast(pl.Datetime("us", "UTC")).alias("observed_at"),
        pl.lit(at.date()).alias("date"),
    )
    folder = store.settings.home / "gbfs" / f"{at:%Y%m%d%H%M}-{uuid.uuid4().hex[:6]}"
    write_gbfs_folder(replace(city, vehicles=stamped), folder)
    ingest_gbfs(
        store,
        folder,
        system_id=city.system.system_id,
        now=(at + timedelta(minutes=1)).astimezone(UTC),
    )


def available(vehicles: pl.DataFrame, min_battery_pct: float) -> pl.Expr:
    """The vehicles ``make_plan`` counts as supply (a rider could take them)."""
    return (
        ~pl.col("is_disabled").fill_null(False)
        & ~pl.col("is_reserved").fill_null(False)
        & (pl.col("battery_pct").fill_null(100.0) >= min_battery_pct)
        & pl.col("zone_id").is_not_null()
    )


def stored_supply(store: Store, system_id: str, min_battery_pct: float) -> pl.DataFrame:
    """Available vehicles per zone as the store holds them [zone_id, vehicles]."""
    with store.connect() as conn:
        vehicles = state.load_vehicle_status(conn, system_id)
    counts = (
        vehicles.filter(available(vehicles, min_battery_pct))
        .group_by("zone_id")
        .agg(pl.len().cast(pl.Int64).alias("vehicles"))
    )
    return supply_frame(counts)


def fit_model(store: Store, system_id: str, name: str) -> Forecaster:
    """Model ``name`` fitted on every day of demand the store holds."""
    return make_model(name).fit(load_training_set(store, system_id))


def issue_forecast(store: Store, system_id: str, model: Forecaster, *, issue: date) -> int:
    """``model`` forecasts ``HORIZON`` days from ``issue`` out of the demand up to the day
    before (the forecast job's steps, without the registry); returns the rows written."""
    data = load_training_set(store, system_id, ahead=HORIZON + 7)
    if data.issue_date != issue:
        raise SystemExit(f"the store's demand ends {data.last_day}; cannot issue on {issue}")
    frame = model.predict(data, horizon=HORIZON)
    with store.begin() as conn:
        return records.save_forecasts(
            conn, system_id, frame, issued_on=issue, model_version=f"benchmark-{model.name}"
        )


@dataclass(slots=True)
class Placer:
    """Turns vehicles per zone back into vehicle rows for the store: each zone's vehicles
    stand at its parkings, largest first, or at a point inside a zone without one; ids and
    batteries are those of the available vehicles of the day-1 snapshot; the unavailable
    vehicles stay as they were."""

    base: pl.DataFrame
    spots: dict[str, list[tuple[float, float]]]
    ids: list[str] = field(default_factory=list)
    rest: pl.DataFrame = field(default_factory=pl.DataFrame)

    @classmethod
    def build(cls, city: DemoCity, snapshot: pl.DataFrame, min_battery_pct: float) -> Placer:
        mask = available(snapshot, min_battery_pct)
        spots: dict[str, list[tuple[float, float]]] = {}
        for zone_id, geometry in city.zones.select("zone_id", "geometry").iter_rows():
            point = shape(json.loads(geometry)).representative_point()
            spots[zone_id] = [(point.y, point.x)]
        ordered = city.parkings.sort(["max_vehicles", "parking_id"], descending=[True, False])
        for zone_id, group in ordered.group_by("zone_id", maintain_order=True):
            spots[str(zone_id[0])] = list(zip(group["lat"], group["lon"], strict=True))
        base = snapshot.filter(mask).sort("vehicle_id")
        return cls(
            base=base, spots=spots, ids=base["vehicle_id"].to_list(), rest=snapshot.filter(~mask)
        )

    def vehicles(self, supply: pl.DataFrame) -> pl.DataFrame:
        """Vehicle rows holding ``supply`` [zone_id, vehicles] plus the unavailable fleet."""
        rows: list[tuple[str, float, float, str]] = []
        k = 0
        for zone_id, count in supply.iter_rows():
            points = self.spots[zone_id]
            for i in range(count):
                lat, lon = points[i % len(points)]
                vid = self.ids[k] if k < len(self.ids) else f"bench-extra-{k:05d}"
                rows.append((vid, lat, lon, zone_id))
                k += 1
        placed = pl.DataFrame(
            rows,
            schema={
                "vehicle_id": pl.String,
                "lat": pl.Float64,
                "lon": pl.Float64,
                "zone_id": pl.String,
            },
            orient="row",
        )
        template = self.base.drop("lat", "lon", "zone_id")
        filled = placed.join(template, on="vehicle_id", how="left").with_columns(
            pl.col(c).fill_null(pl.lit(v))
            for c, v in (
                ("battery_pct", 100.0),
                ("is_reserved", False),
                ("is_disabled", False),
                ("vehicle_type", "scooter"),
            )
        )
        return pl.concat([filled.select(self.rest.columns), self.rest], how="vertical_relaxed")


# -- 1. scale -------------------------------------------------------------------------------


def plan_config(
    store: Store, system_id: str, *, trucks: int | None, limit: float, assign_limit: float | None
) -> PlanConfig:
    """The system's planning config (defaults) with the benchmark's trucks and routing time
    limit, and the task assignment's time limit when one is given."""
    config = config_for(store.settings, system_id).with_overrides(trucks=trucks, time_limit_s=limit)
    if assign_limit is not None:
        config = replace(config, assign=replace(config.assign, time_limit_s=assign_limit))
    return config


def bench_scale(size: Size, work: Path) -> dict[str, Any]:
    """Section 1: one full plan for the large city, timed by stage."""
    params = size.scale_city
    with status_console.status(
        f"generating a city of {params.n_zones} zones and {params.fleet_size:,} vehicles"
    ):
        city = generate_city_from_params(params)
    sid = city.system.system_id
    store = open_store(work / "scale")
    with status_console.status("loading it into a store and fitting the forecast model"):
        load_city(store, city, through=params.end)
        ingest_fleet(store, city, city.vehicles, at=local_night(params.end, city.system.timezone))
        model = fit_model(store, sid, size.model)
        plan_day = params.end + timedelta(days=1)
        issue_forecast(store, sid, model, issue=plan_day)
    config = plan_config(
        store,
        sid,
        trucks=size.scale_trucks,
        limit=size.time_limit_s,
        assign_limit=size.assign_time_limit_s,
    )
    clock = StageClock()
    with status_console.status(f"planning ({size.time_limit_s:g} s routing budget)"):
        began = time.perf_counter()
        result = make_plan(store, sid, plan_date=plan_day, config=config, progress=clock)
        wall = time.perf_counter() - began
        clock.stop()
    store.close()
    s = result.summary
    stops = sum(sum(1 for st in r.stops if st.kind == "zone") for r in result.routes.routes)
    return {
        "zones": city.zones.height,
        "vehicles": city.vehicles.height,
        "supply": s.get("supply"),
        "trucks": size.scale_trucks,
        "capacity": config.fleet.capacity,
        "workers": city.workers.height,
        "time_limit_s": size.time_limit_s,
        "assign_time_limit_s": config.assign.time_limit_s,
        "model": size.model,
        "cores": os.cpu_count(),
        "wall_s": round(wall, 2),
        "plan_seconds": s.get("seconds"),
        "solve_seconds": s.get("solve_seconds"),
        "stages": [{"stage": d, "seconds": round(t, 3)} for d, t in clock.seconds()],
        "moves": s.get("moves"),
        "moves_served": s.get("moves_served"),
        "stops": stops,
        "tasks": s.get("tasks"),
        "tasks_assigned": s.get("tasks_assigned"),
        "vehicles_moved": s.get("vehicles_moved"),
        "km_driven": s.get("km_driven"),
        "expected_rides_gained": s.get("expected_rides_gained"),
        "status": result.status,
        "target_s": SCALE_TARGET_S,
        "met": wall < SCALE_TARGET_S,
    }


def print_scale(r: dict[str, Any]) -> None:
    table = Table(
        title=f"1. One full plan: {r['zones']} zones, {r['vehicles']:,} vehicles, "
        f"{r['trucks']} trucks of {r['capacity']}, {r['workers']} workers; time limits: "
        f"routing {r['time_limit_s']:g} s, task assignment {r['assign_time_limit_s']:g} s; "
        f"{r['cores']} cores",
        title_justify="left",
    )
    for column in ("stage of make_plan", "seconds"):
        table.add_column(column, justify="left" if column.startswith("stage") else "right")
    for stage in r["stages"]:
        table.add_row(stage["stage"], f"{stage['seconds']:.2f}")
    table.add_row("  of which the router's search (solve_seconds)", f"{r['solve_seconds']:.2f}")
    verdict = "[green]met[/]" if r["met"] else "[red]missed[/]"
    table.add_row(
        f"[bold]make_plan wall time[/] (target < {r['target_s']:.0f} s: {verdict})",
        f"[bold]{r['wall_s']:.2f}[/]",
    )
    console.print(table)
    size = Table(title="   problem size and result", title_justify="left")
    for column in (
        "zones",
        "available vehicles",
        "moves",
        "served",
        "stops",
        "vehicles moved",
        "km",
        "tasks",
        "assigned",
        "est. rides gained",
        "status",
    ):
        size.add_column(column, justify="right")
    size.add_row(
        str(r["zones"]),
        f"{r['supply']:,}",
        str(r["moves"]),
        str(r["moves_served"]),
        str(r["stops"]),
        str(r["vehicles_moved"]),
        f"{r['km_driven']:.1f}",
        str(r["tasks"]),
        str(r["tasks_assigned"]),
        f"{r['expected_rides_gained']:.1f}",
        r["status"],
    )
    console.print(size)


# -- 2. quality -----------------------------------------------------------------------------


def served_moves(result: PlanResult) -> pl.DataFrame:
    """What the trucks carry [from_id, to_id, vehicles]: ``vehicles_served`` of every move
    a truck serves in full or in part (a move split over trucks may be served in part)."""
    moves = result.moves
    if "vehicles_served" in moves.columns:
        carried = pl.col("vehicles_served").fill_null(0)
    else:
        carried = pl.when(pl.col("status") == "planned").then("vehicles").otherwise(0)
    return moves.select("from_id", "to_id", carried.cast(pl.Int64).alias("vehicles")).filter(
        pl.col("vehicles") > 0
    )


def bench_replay(size: Size, work: Path) -> dict[str, Any]:
    """Section 2: ``replay_days`` held-out days, planned each morning, replayed twice."""
    params = size.replay_city
    with status_console.status(
        f"generating the demo city ({params.n_zones} zones, {params.days} days)"
    ):
        city = generate_city_from_params(params)
    sid, tz = city.system.system_id, city.system.timezone
    week = [params.end - timedelta(days=size.replay_days - 1 - i) for i in range(size.replay_days)]
    store = open_store(work / "replay")
    config = plan_config(
        store,
        sid,
        trucks=size.replay_trucks,
        limit=size.replay_time_limit_s,
        assign_limit=size.assign_time_limit_s,
    )
    min_battery = config.fleet.min_battery_pct
    depots = city.depots["depot_id"].to_list()
    with status_console.status(f"loading history up to {week[0] - timedelta(days=1)}; fitting"):
        load_city(store, city, through=week[0] - timedelta(days=1))
        ingest_fleet(store, city, city.vehicles, at=local_night(week[0] - timedelta(days=1), tz))
        start = stored_supply(store, sid, min_battery)
        with store.connect() as conn:
            snapshot = state.load_vehicle_status(conn, sid)
        placer = Placer.build(city, snapshot, min_battery)
        model = fit_model(store, sid, size.model)
    without, with_plan = start, start
    days: list[dict[str, Any]] = []
    for i, day in enumerate(week):
        with status_console.status(f"day {i + 1}/{len(week)} ({day}): forecast, plan, replay"):
            if i:
                add_days(store, city, week[i - 1], week[i - 1])
                ingest_fleet(
                    store, city, placer.vehicles(with_plan), at=local_night(week[i - 1], tz)
                )
                stored = stored_supply(store, sid, min_battery)
                if not stored.equals(with_plan.filter(pl.col("vehicles") > 0)):
                    raise SystemExit(f"day {day}: the store does not hold the replayed fleet")
            issue_forecast(store, sid, model, issue=day)
            began = time.perf_counter()
            result = make_plan(store, sid, plan_date=day, config=config)
            seconds = time.perf_counter() - began
            after = apply_moves(with_plan, served_moves(result), depots=depots)
            trips = city.trips.filter(pl.col("date") == day)
            base = replay_day(trips, without)
            planned = replay_day(trips, after)
            unmoved = replay_day(trips, with_plan)  # the plan world's fleet, moves not made
        s = result.summary
        days.append(
            {
                "date": day.isoformat(),
                "trips": trips.height,
                "fleet_without": int(without["vehicles"].sum()),
                "fleet_with": int(with_plan["vehicles"].sum()),
                "served_without": base.served,
                "served_with": planned.served,
                "gained": planned.served - base.served,
                "gained_pct": (planned.served - base.served) / base.served if base.served else 0.0,
                "gained_today": planned.served - unmoved.served,
                "vehicles_moved": s["vehicles_moved"],
                "km_driven": s["km_driven"],
                "expected_gain": s["expected_rides_gained"],
                "plan_seconds": round(seconds, 2),
                "status": result.status,
            }
        )
        without, with_plan = base.end_supply, planned.end_supply
    store.close()
    total = {
        key: sum(d[key] for d in days)
        for key in (
            "trips",
            "served_without",
            "served_with",
            "gained",
            "gained_today",
            "vehicles_moved",
        )
    }
    total["km_driven"] = round(sum(d["km_driven"] for d in days), 2)
    total["expected_gain"] = round(sum(d["expected_gain"] for d in days), 1)
    total["gained_pct"] = (
        total["gained"] / total["served_without"] if total["served_without"] else 0.0
    )
    return {
        "city": {
            "zones": city.zones.height,
            "vehicles": city.vehicles.height,
            "available": int(start["vehicles"].sum()),
            "history_days": params.days - size.replay_days,
            "trucks": len(config.trucks) or config.fleet.trucks,
            "capacity": config.fleet.capacity,
            "time_limit_s": size.replay_time_limit_s,
            "assign_time_limit_s": config.assign.time_limit_s,
            "model": size.model,
        },
        "days": days,
        "total": total,
    }


def print_replay(r: dict[str, Any]) -> None:
    c = r["city"]
    table = Table(
        title=f"2. Held-out days of the demo city ({c['zones']} zones, {c['available']:,} of "
        f"{c['vehicles']:,} vehicles available, {c['trucks']} trucks of {c['capacity']}, "
        f"routing limit {c['time_limit_s']:g} s; {c['model']} fitted on {c['history_days']} "
        "days): trips replayed against the fleet without and with a plan every morning",
        title_justify="left",
    )
    for column in (
        "day",
        "trips",
        "served, no rebalancing",
        "served, plan",
        "gained",
        "gained %",
        "of it today's moves",
        "plan's estimate",
        "vehicles moved",
        "km driven",
        "plan s",
    ):
        table.add_column(column, justify="left" if column == "day" else "right")
    for d in r["days"]:
        table.add_row(
            d["date"],
            f"{d['trips']:,}",
            f"{d['served_without']:,}",
            f"{d['served_with']:,}",
            f"{d['gained']:+,}",
            f"{d['gained_pct']:+.1%}",
            f"{d['gained_today']:+,}",
            f"{d['expected_gain']:+.1f}",
            str(d["vehicles_moved"]),
            f"{d['km_driven']:.1f}",
            f"{d['plan_seconds']:.1f}",
        )
    t = r["total"]
    table.add_row(
        "[bold]total[/]",
        f"{t['trips']:,}",
        f"{t['served_without']:,}",
        f"{t['served_with']:,}",
        f"[bold]{t['gained']:+,}[/]",
        f"{t['gained_pct']:+.1%}",
        f"{t['gained_today']:+,}",
        f"{t['expected_gain']:+.1f}",
        str(t["vehicles_moved"]),
        f"{t['km_driven']:.1f}",
        "",
    )
    console.print(table)
    per_vehicle = t["gained"] / t["vehicles_moved"] if t["vehicles_moved"] else 0.0
    console.print(
        f"Over {len(r['days'])} days the plan served {t['gained']:+,} rides "
        f"({t['gained_pct']:+.1%}) against no rebalancing, {per_vehicle:.2f} per vehicle "
        f'moved. "Gained" compares the two worlds, whose fleets drift apart over the '
        "days; \"of it today's moves\" replays the plan world's fleet without and with that "
        f"morning's moves: {t['gained_today']:+,} in all, against the plans' own estimate "
        f"of {t['expected_gain']:+.1f}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both sections; print tables (or one JSON document with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--quick", action="store_true", help="a small city (the smoke test)")
    parser.add_argument("--time-limit", type=float, default=None, help="routing s (30; quick 3)")
    parser.add_argument("--replay-time-limit", type=float, default=None, help="(10; quick 3)")
    parser.add_argument("--replay-trucks", type=int, default=None, help="(the config's)")
    parser.add_argument("--assign-time-limit", type=float, default=None, help="(config's; quick 1)")
    parser.add_argument("--days", type=int, default=7, help="held-out days replayed")
    parser.add_argument("--days-quick", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--model", default=None, help="forecaster (global_gbm; quick: seasonal_naive)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="build the stores here")
    args = parser.parse_args(argv)
    size = sizes(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        scale = bench_scale(size, work)
        if not args.json:
            print_scale(scale)
        quality = bench_replay(size, work)
        if not args.json:
            print_replay(quality)
    if args.json:
        print(json.dumps({"scale": scale, "replay": quality}, indent=2))
    return 0 if scale["met"] and quality["total"]["gained"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
