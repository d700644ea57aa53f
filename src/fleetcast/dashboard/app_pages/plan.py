"""Rebalancing plan page: the newest plan of the chosen system. Its headline numbers, a map of
zones shaded by how far their supply is from the target with each truck's route drawn in its
own colour, the moves from surplus to deficit, and each truck's stops in order.

A plan is made by ``fleetcast plan`` (or the daily flow); the "New plan" button runs the same
job here and shows its refusal (no forecast, no live fleet, no depot) as an error.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import maps, state
from fleetcast.errors import FleetcastError
from fleetcast.jobs.plan_view import UnknownPlanError
from fleetcast.store.plans import StoredPlan

TITLE = "Rebalancing plan"
FLASH_KEY = "plan_flash"
TOOLTIP = (
    "<b>{tip_title}</b> <span style='color:#777'>{tip_id}</span><br/>"
    "{tip_a}<br/>{tip_b}<br/>{tip_c}"
)
"""One tooltip for every layer: zones, routes and stops carry the same five text fields."""
DEPOT_RGB = (33, 37, 41)
MOVES_CONFIG = {
    "Truck": st.column_config.TextColumn(width="small"),
    "Status": st.column_config.TextColumn(width="small"),
    "Vehicles": st.column_config.NumberColumn(
        format="localized",
        width="small",
        help="Vehicles the move should take from surplus to deficit",
    ),
    "Carried": st.column_config.NumberColumn(
        format="localized", width="small", help="Vehicles the trucks' routes carry"
    ),
    "Km": st.column_config.NumberColumn(
        format="%.1f", width="small", help="Road distance of the move"
    ),
    "Rides gained": st.column_config.NumberColumn(
        format="%.1f", help="Expected extra rides from the vehicles this move brings"
    ),
}
STOPS_CONFIG = {
    "#": st.column_config.NumberColumn(width="small"),
    "Pick up": st.column_config.NumberColumn(format="%d"),
    "Drop off": st.column_config.NumberColumn(format="%d"),
    "Load after": st.column_config.NumberColumn(format="%d", help="Vehicles on the truck after"),
    "Arrival": st.column_config.TextColumn(help="Hours:minutes after the truck leaves its depot"),
}


def plural(n: int, word: str) -> str:
    """``1 stop``, ``4 stops``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and value == value else 0


def _num(summary: dict[str, Any], name: str) -> float | None:
    value = summary.get(name)
    return float(value) if isinstance(value, int | float) else None


def clock(seconds: float | None) -> str:
    """Seconds after departure as ``h:mm`` (``+1:05``)."""
    if seconds is None or seconds != seconds:
        return fmt.MISSING
    minutes = round(seconds / 60)
    return f"+{minutes // 60}:{minutes % 60:02d}"


def names_of(targets: pl.DataFrame) -> dict[str, str]:
    """Zone id -> zone name (the id when the zone has no name)."""
    if targets.is_empty() or "name" not in targets.columns:
        return {}
    return {z: n or z for z, n in zip(targets["zone_id"], targets["name"], strict=True)}


def summary_cards(summary: dict[str, Any]) -> None:
    """Vehicles moved, km driven, trucks used, expected rides gained and tasks."""
    gained = _num(summary, "expected_rides_gained")
    cards = [
        (
            "Vehicles moved",
            fmt.count(_num(summary, "vehicles_moved")),
            f"By {fmt.count(_num(summary, 'moves_served'))} of "
            f"{fmt.count(_num(summary, 'moves'))} planned moves.",
        ),
        (
            "Km driven",
            fmt.count(_num(summary, "km_driven"), digits=1),
            "Road kilometres of all truck routes, depot to depot.",
        ),
        (
            "Trucks used",
            f"{fmt.count(_num(summary, 'trucks_used'))} of {fmt.count(_num(summary, 'trucks'))}",
            "Trucks with at least one stop.",
        ),
        (
            "Rides gained",
            fmt.MISSING if gained is None else f"{gained:+,.1f}",
            f"Expected extra rides: {fmt.count(_num(summary, 'expected_rides_after'))} rides "
            "expected with the plan "
            f"against {fmt.count(_num(summary, 'expected_rides_before'))} without it.",
        ),
        (
            "Tasks",
            fmt.count(_num(summary, "tasks")),
            f"{fmt.count(_num(summary, 'tasks_assigned'))} assigned to field workers.",
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(label, value, help=help_text, border=True)


def _zone_lines(row: dict[str, Any]) -> tuple[str, str, str]:
    supply, target, after = _int(row["supply"]), _int(row["target"]), _int(row["after"])
    gap = target - supply
    state_line = f"Short by {gap}" if gap > 0 else f"Surplus of {-gap}" if gap < 0 else "On target"
    return (
        f"Supply {supply} · target {target}",
        f"After the plan {after} ({after - supply:+d})",
        state_line,
    )


def zone_shading(targets: pl.DataFrame) -> dict[str, Any]:
    """Zones as GeoJSON shaded by their gap (red short, blue surplus), with tooltip lines."""
    gaps = [abs(_int(g)) for g in targets["gap"]] if targets.height else []
    top = float(max(gaps, default=0))
    features = []
    for row in targets.iter_rows(named=True):
        if not row.get("geometry"):
            continue
        line_a, line_b, line_c = _zone_lines(row)
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(row["geometry"]),
                "properties": {
                    "fill": maps.gap_rgba(row["gap"], top),
                    "tip_title": row.get("name") or row["zone_id"],
                    "tip_id": row["zone_id"],
                    "tip_a": line_a,
                    "tip_b": line_b,
                    "tip_c": line_c,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def truck_colours(plan: StoredPlan) -> dict[str, tuple[int, int, int]]:
    """Each truck's colour, in the order of the plan's routes."""
    return {t: maps.truck_rgb(i) for i, t in enumerate(plan.routes["truck_id"].to_list())}


def _route_stats(stops: pl.DataFrame) -> tuple[int, int]:
    inner = stops.filter(pl.col("kind") != "depot")
    return inner.height, int(inner["dropoff"].sum()) if inner.height else 0


def route_paths(plan: StoredPlan) -> list[dict[str, Any]]:
    """Each truck's route as a path through its stops in order, in the truck's colour."""
    colours = truck_colours(plan)
    paths = []
    for route in plan.routes.iter_rows(named=True):
        stops = plan.stops.filter(pl.col("truck_id") == route["truck_id"]).sort("seq")
        if stops.height < 2:
            continue
        visits, dropped = _route_stats(stops)
        paths.append(
            {
                "path": [[lon, lat] for lat, lon in zip(stops["lat"], stops["lon"], strict=True)],
                "rgb": list(colours[route["truck_id"]]),
                "tip_title": f"Truck {route['truck_id']}",
                "tip_id": f"from {route['depot_id']}",
                "tip_a": f"{plural(visits, 'stop')} · {plural(dropped, 'vehicle')} dropped",
                "tip_b": f"{fmt.count(route['distance_m'] / 1000, digits=1)} km · "
                f"{clock(route['duration_s'])} h",
                "tip_c": f"Capacity {route['capacity']}, leaves with {route['start_load']}",
            }
        )
    return paths


def stop_points(plan: StoredPlan, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every stop as a marker in its truck's colour (depots dark), numbered by its sequence."""
    colours = truck_colours(plan)
    points = []
    for stop in plan.stops.sort("truck_id", "seq").iter_rows(named=True):
        depot = stop["kind"] == "depot"
        rgb = DEPOT_RGB if depot else colours.get(stop["truck_id"], maps.NO_BATTERY)
        points.append(
            {
                "lon": stop["lon"],
                "lat": stop["lat"],
                "rgb": list(rgb),
                "label": "" if depot else str(stop["seq"]),
                "text_rgb": [255, 255, 255],
                "tip_title": f"Truck {stop['truck_id']} · stop {stop['seq']}",
                "tip_id": names.get(stop["node_id"], stop["node_id"]),
                "tip_a": f"Pick up {stop['pickup']} · drop off {stop['dropoff']}",
                "tip_b": f"Load after {stop['load_after']}",
                "tip_c": f"Arrives {clock(stop['arrival_s'])} h after leaving",
            }
        )
    return points


def plan_deck(plan: StoredPlan, targets: pl.DataFrame) -> Any:
    """Zones shaded by gap, the routes as coloured paths, the stops as numbered markers."""
    names = names_of(targets)
    collection = zone_shading(targets)
    layers = []
    if collection["features"]:
        layers.append(maps.outline_layer(collection))
        view = maps.view_state(collection["features"])
    else:
        view = maps.fit_points(list(zip(plan.stops["lon"], plan.stops["lat"], strict=True)))
    layers.append(maps.path_layer(route_paths(plan), layer_id="routes", width_px=4))
    stops = stop_points(plan, names)
    layers.append(maps.point_layer(stops, layer_id="stops", radius_m=60, min_px=7, max_px=11))
    layers.append(maps.text_layer([s for s in stops if s["label"]], layer_id="stop_numbers"))
    return maps.deck(layers, view, tooltip_html=TOOLTIP)


def map_legend(plan: StoredPlan) -> str:
    """Zone shades and the trucks' colours."""
    trucks = [(t, maps.css(rgb)) for t, rgb in truck_colours(plan).items()]
    return maps.swatch_legend_html(
        [
            (
                "Zones",
                [
                    ("short of target", maps.css(maps.BATTERY_LOW)),
                    ("surplus", maps.css(maps.ZONE_SURPLUS)),
                ],
            ),
            ("Trucks", [*trucks, ("depot", maps.css(DEPOT_RGB))]),
        ]
    )


def _place(node_id: str | None, names: dict[str, str]) -> str:
    if node_id is None:
        return fmt.MISSING
    name = names.get(node_id)
    return f"{name} ({node_id})" if name and name != node_id else node_id


def moves_table(plan: StoredPlan, names: dict[str, str]) -> pl.DataFrame:
    """One row per move: from, to, vehicles wanted and carried, the truck(s) (comma-separated
    when a move is split), status (planned, partial, unserved) and why not all were carried."""
    rows = [
        {
            "From": _place(m["from_id"], names),
            "To": _place(m["to_id"], names),
            "Vehicles": m["vehicles"],
            "Carried": m.get("vehicles_served"),
            "Truck": m["truck_id"] or fmt.MISSING,
            "Status": m["status"],
            "Reason": m["reason"] or "",
            "Km": (m["distance_m"] or 0.0) / 1000,
            "Rides gained": m["rides_gained"],
        }
        for m in plan.moves.iter_rows(named=True)
    ]
    schema = {
        "From": pl.String,
        "To": pl.String,
        "Vehicles": pl.Int64,
        "Carried": pl.Int64,
        "Truck": pl.String,
        "Status": pl.String,
        "Reason": pl.String,
        "Km": pl.Float64,
        "Rides gained": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def stops_table(stops: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """A truck's stops in order: where, what it picks up and drops, its load and arrival."""
    rows = [
        {
            "#": s["seq"],
            "Stop": _place(s["node_id"], names),
            "Kind": s["kind"],
            "Pick up": s["pickup"],
            "Drop off": s["dropoff"],
            "Load after": s["load_after"],
            "Arrival": clock(s["arrival_s"]),
        }
        for s in stops.sort("seq").iter_rows(named=True)
    ]
    schema = {
        "#": pl.Int64,
        "Stop": pl.String,
        "Kind": pl.String,
        "Pick up": pl.Int64,
        "Drop off": pl.Int64,
        "Load after": pl.Int64,
        "Arrival": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def truck_sections(plan: StoredPlan, names: dict[str, str]) -> None:
    """One expander per truck with its stops."""
    st.subheader("Truck routes")
    if plan.routes.is_empty():
        st.caption("No truck was routed in this plan.")
        return
    for route in plan.routes.iter_rows(named=True):
        stops = plan.stops.filter(pl.col("truck_id") == route["truck_id"])
        visits, dropped = _route_stats(stops)
        label = (
            f"**Truck {route['truck_id']}** · {plural(visits, 'stop')} · "
            f"{plural(dropped, 'vehicle')} · "
            f"{fmt.count(route['distance_m'] / 1000, digits=1)} km · "
            f"{clock(route['duration_s'])} h · from {route['depot_id']}"
        )
        with st.expander(label, expanded=False):
            st.caption(
                f"Capacity {route['capacity']}, leaves {route['depot_id']} with "
                f"{route['start_load']} vehicles, ends at {route['end_depot_id']}."
            )
            st.dataframe(
                stops_table(stops, names),
                hide_index=True,
                width="stretch",
                column_config=STOPS_CONFIG,
            )


def new_plan_button(key: state.StoreKey, system_id: str, *, primary: bool) -> None:
    """Run the plan job for the system now; its refusal is shown as an error."""
    if not st.button(
        "New plan",
        icon=":material/route:",
        type="primary" if primary else "secondary",
        help="Plan the day again from the newest forecast and fleet state (takes up to a "
        "minute); field tasks in progress are kept.",
        key="plan_new",
    ):
        return
    from fleetcast.jobs.plan import make_plan

    with st.spinner("Planning: targets, moves, truck routes and tasks…"):
        try:
            result = make_plan(state.open_store(*key), system_id)
        except (FleetcastError, ValueError) as exc:
            st.error(f"No new plan: {exc}", icon=":material/error:")
            return
    state.latest_plan.clear()
    state.field_tasks.clear()
    st.session_state[FLASH_KEY] = (
        f"New plan {result.plan_id[:8]} for {fmt.day(result.plan_date)} ({result.status})."
    )
    st.rerun()


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    head, action = st.columns([4, 1], vertical_alignment="bottom")
    head.title(TITLE)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    try:
        plan, targets = state.latest_plan(key, system_id)
    except UnknownPlanError:
        with action:
            new_plan_button(key, system_id, primary=True)
        state.show_no_plan(system_id)
        return
    with action:
        new_plan_button(key, system_id, primary=False)
    header = plan.header
    summary = dict(header.get("summary") or {})
    st.caption(
        f"Plan `{str(header['plan_id'])[:8]}` for **{fmt.day(header['plan_date'])}** · "
        f"made {fmt.moment(header.get('created_at'))} · status {header['status']} · "
        f"forecast issued {fmt.day(header.get('issued_on'))}"
        + (f" by {header['model_version']}" if header.get("model_version") else "")
    )
    unserved = _num(summary, "moves_unserved")
    if unserved:
        st.warning(
            f"{fmt.count(unserved)} move{'s' if unserved != 1 else ''} could not be served by "
            "the trucks (see the reason in the moves below).",
            icon=":material/warning:",
        )
    summary_cards(summary)
    names = names_of(targets)
    st.subheader("Targets and routes")
    st.pydeck_chart(plan_deck(plan, targets), height=maps.MAP_HEIGHT_PX, width="stretch")
    st.html(map_legend(plan))
    st.subheader("Moves")
    if plan.moves.is_empty():
        st.caption("No move: every zone is within its target.")
    else:
        st.dataframe(
            moves_table(plan, names),
            hide_index=True,
            width="stretch",
            column_config=MOVES_CONFIG,
        )
    truck_sections(plan, names)


if __name__ == "__main__":
    render()
