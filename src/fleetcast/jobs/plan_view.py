"""Reading stored plans back for the API and the dashboard: JSON, GeoJSON routes, maps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from fleetcast.store import Store, plans, records
from fleetcast.store.plans import StoredPlan, UnknownPlanError

__all__ = ["UnknownPlanError", "latest_plan", "plan_json", "routes_geojson", "targets_map"]


def latest_plan(store: Store, system_id: str) -> StoredPlan:
    """The newest stored plan of a system; UnknownPlanError (saying what to run) when none."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        plan_id = plans.latest_plan_id(conn, system_id)
        if plan_id is None:
            raise UnknownPlanError(
                f"system {system_id!r} has no plan yet: run 'fleetcast plan --system "
                f"{system_id}' (or POST /plan)"
            )
        return plans.load_plan(conn, plan_id)


def routes_geojson(plan: StoredPlan) -> dict[str, Any]:
    """Each truck's route as a GeoJSON LineString (lon/lat), with its truck and figures."""
    features = []
    for route in plan.routes.iter_rows(named=True):
        stops = plan.stops.filter(pl.col("truck_id") == route["truck_id"]).sort("seq")
        coords = [[lon, lat] for lat, lon in zip(stops["lat"], stops["lon"], strict=True)]
        if len(coords) < 2:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {
                    "truck_id": route["truck_id"],
                    "capacity": route["capacity"],
                    "start_load": route["start_load"],
                    "distance_km": round(route["distance_m"] / 1000.0, 2),
                    "duration_min": round(route["duration_s"] / 60.0, 1),
                    "stops": stops.height,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def plan_json(plan: StoredPlan) -> dict[str, Any]:
    """A stored plan as JSON: header, targets, moves, routes (with ordered stops) and the
    routes as GeoJSON lines."""
    header = {k: _plain(v) for k, v in plan.header.items()}
    routes = []
    for route in plan.routes.iter_rows(named=True):
        stops = plan.stops.filter(pl.col("truck_id") == route["truck_id"]).sort("seq")
        routes.append(
            {
                **{k: _plain(v) for k, v in route.items()},
                "stops": [
                    {
                        "seq": s["seq"],
                        "zone_id": s["node_id"] if s["kind"] == "zone" else None,
                        "depot_id": s["node_id"] if s["kind"] == "depot" else None,
                        "lat": s["lat"],
                        "lon": s["lon"],
                        "pickup": s["pickup"],
                        "dropoff": s["dropoff"],
                        "load_after": s["load_after"],
                        "arrival_s": s["arrival_s"],
                    }
                    for s in stops.iter_rows(named=True)
                ],
            }
        )
    return {
        **header,
        "targets": plan.targets.select("zone_id", "supply", "target", "after").to_dicts()
        if plan.targets.height
        else [],
        "moves": [{k: _plain(v) for k, v in m.items()} for m in plan.moves.iter_rows(named=True)],
        "routes": routes,
        "routes_geojson": routes_geojson(plan),
    }


def targets_map(store: Store, plan: StoredPlan) -> pl.DataFrame:
    """Targets joined with zone names, geometry and centroid, for a map of targets vs supply."""
    with store.connect() as conn:
        zones = records.load_zones(conn, str(plan.header["system_id"]))
    if plan.targets.is_empty():
        return plan.targets
    return plan.targets.join(zones, on="zone_id", how="left").with_columns(
        (pl.col("after") - pl.col("supply")).alias("change"),
        (pl.col("target") - pl.col("supply")).alias("gap"),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
