"""Live supply page: the fleet as it stands now (KPI cards, a map of vehicles by battery,
stations by what they can serve and zones by what they need), where to put vehicles for the
rest of the day and where to take them from, and the fleet's usage over a chosen period.

The live parts run in a fragment that reruns on its own every :data:`REFRESH_S` seconds, so
an open page follows the feed without reloading the rest of the app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from fleetcast.analytics.availability import DeficitReport
from fleetcast.analytics.kpis import FleetKpis, KpiParams
from fleetcast.dashboard import charts, maps, state
from fleetcast.dashboard import formatting as fmt
from fleetcast.jobs.live import NothingToCompareError, Period
from fleetcast.jobs.live_charts import LiveFeed

TITLE = "Live supply"
REFRESH_S = 30
TOP_NEEDS = 15
TOP_SURPLUS = 8
PERIODS: dict[Period, str] = {"day": "Last day", "week": "Last 7 days", "month": "Last 28 days"}
SHOW: dict[str, str] = {
    "all": "All vehicles",
    "low_battery": "Low battery",
    "outside_parking": "Outside parking",
}
NEED_LABELS = {
    "vehicles": "add vehicles",
    "docks": "free docks",
    "surplus": "can give",
    "balanced": "balanced",
}
TOOLTIP = (
    "<b>{tip_title}</b> <span style='color:#777'>{tip_id}</span><br/>"
    "{tip_a}<br/>{tip_b}<br/>{tip_c}"
)
"""One tooltip for every layer: each point and zone carries the same five text fields."""
NEEDS_CONFIG = {
    "#": st.column_config.NumberColumn(width="small", help="Most urgent first"),
    "Available": st.column_config.NumberColumn(
        help="Usable vehicles (or bikes) there now", format="localized"
    ),
    "Expected": st.column_config.NumberColumn(
        format="%.1f", help="Rides expected there over the window, from the newest forecast"
    ),
    "Gap": st.column_config.NumberColumn(format="%+.1f", help="Expected minus available"),
    "Suggested": st.column_config.NumberColumn(
        format="%+d", help="Vehicles to bring (negative: bikes to take away to free docks)"
    ),
    "Rides at risk": st.column_config.NumberColumn(
        format="%.1f", help="Rides expected to be lost if nothing moves: the ranking"
    ),
}
READING_NOTES = """**Reading the lists**

- **Expected**: rides forecast there for the rest of the window.
- **Gap**: expected rides minus usable vehicles now; positive means short.
- **Suggested**: vehicles to bring (negative at a full station: bikes to take away).
- **Rides at risk**: rides likely lost if nothing moves; the list is ranked by it.
- **Can give**: vehicles a place holds beyond its expected rides.
"""
SURPLUS_CONFIG = {
    "Available": st.column_config.NumberColumn(format="localized"),
    "Expected": st.column_config.NumberColumn(format="%.1f"),
    "Can give": st.column_config.NumberColumn(
        format="localized", help="Vehicles beyond the expected rides of the window"
    ),
}


def local(moment: datetime | None, timezone: str, pattern: str = "%a %Y-%m-%d %H:%M %Z") -> str:
    """A UTC moment in the system's local time."""
    if moment is None:
        return fmt.MISSING
    return moment.astimezone(ZoneInfo(timezone)).strftime(pattern)


def freshness(feed: LiveFeed, now: datetime) -> str:
    """When the page read the store and when the feed last reported, in local time."""
    parts = [f"updated {local(now, feed.timezone, '%H:%M:%S')}, refreshes every {REFRESH_S} s"]
    if feed.vehicles:
        parts.append(
            f"{feed.vehicles:,} vehicles as reported "
            f"{local(feed.vehicles_observed_at, feed.timezone)}"
        )
    if feed.stations:
        parts.append(
            f"{feed.stations:,} stations as reported "
            f"{local(feed.stations_observed_at, feed.timezone)}"
        )
    return " · ".join(parts)


def _hours(value: float | None) -> str:
    return fmt.MISSING if value is None else f"{fmt.count(value, digits=1)} h"


def kpi_cards(kpis: FleetKpis, feed: LiveFeed) -> None:
    """The fleet's state now (usable, low battery, disabled, misplaced) and its usage over
    the chosen period, as two rows of four cards."""
    low = fmt.count(KpiParams().low_battery_pct)
    span = f"{fmt.day(kpis.start)} to {fmt.day(kpis.end)}"
    cards = [
        (
            "Usable vehicles",
            fmt.count(kpis.usable_vehicles),
            f"Not reserved, not disabled and at least {low}% battery, of "
            f"{fmt.count(feed.vehicles)} vehicles.",
        ),
        ("Low battery", fmt.count(kpis.low_battery_vehicles), f"Battery under {low}%."),
        ("Disabled", fmt.count(kpis.disabled_vehicles), "Reported disabled by the feed."),
        (
            "Outside parking",
            fmt.count(kpis.outside_parking),
            "Vehicles standing in no parking's area (none counted without parkings).",
        ),
        (
            "Outside service area",
            fmt.count(kpis.outside_service_area),
            "Vehicles outside every zone of the system (none counted without zones).",
        ),
        (
            "Rides per vehicle per day",
            fmt.count(kpis.rides_per_vehicle_per_day, digits=2),
            f"{fmt.count(kpis.trips)} trips from {span} over {fmt.count(kpis.fleet_size)} "
            f"vehicles and {kpis.days} day{'s' if kpis.days != 1 else ''}.",
        ),
        (
            "Utilisation",
            fmt.percent(kpis.utilisation),
            f"Share of the fleet's time spent riding, {span}.",
        ),
        (
            "Median idle hours",
            _hours(kpis.median_idle_hours),
            f"Median time since a vehicle's last ride ended, at the end of {fmt.day(kpis.end)}; "
            f"{fmt.count(kpis.vehicles_idle_over_24h)} vehicles idle for over 24 h.",
        ),
    ]
    columns = [*st.columns(4), *st.columns(4)]
    for column, (label, value, help_text) in zip(columns, cards, strict=True):
        column.metric(label, value, help=help_text, border=True)


def _parking_line(row: dict[str, Any]) -> str:
    if row["at_parking"] is None:
        return "No parkings in this system"
    if row["at_parking"]:
        return f"At parking {row['parking_id']}"
    if row["nearest_parking_id"] is None:
        return "Outside parking"
    return (
        f"Outside parking · nearest {row['nearest_parking_id']} "
        f"{fmt.count(row['parking_distance_m'])} m away"
    )


def _vehicle_state(row: dict[str, Any]) -> str:
    if row["is_disabled"]:
        return "disabled"
    if row["is_reserved"]:
        return "reserved"
    return "low battery" if row["low_battery"] else "usable"


def vehicle_points(vehicles: pl.DataFrame, timezone: str) -> list[dict[str, Any]]:
    """Each located vehicle as a map point: battery colour and tooltip lines."""
    points = []
    for row in vehicles.drop_nulls(["lat", "lon"]).iter_rows(named=True):
        battery = row["battery_pct"]
        where = f"Zone {row['zone_id'] or fmt.MISSING}"
        if row["in_service_area"] is False:
            where += " · outside the service area"
        points.append(
            {
                "lon": row["lon"],
                "lat": row["lat"],
                "rgb": list(maps.battery_rgb(battery, disabled=bool(row["is_disabled"]))),
                "tip_title": row["vehicle_id"],
                "tip_id": row["vehicle_type"] or "",
                "tip_a": f"Battery {fmt.count(battery)}% · {_vehicle_state(row)}",
                "tip_b": _parking_line(row),
                "tip_c": f"{where} · seen {local(row['observed_at'], timezone, '%H:%M')}",
            }
        )
    return points


def station_points(stations: pl.DataFrame, timezone: str) -> list[dict[str, Any]]:
    """Each located station as a map point: availability colour and tooltip lines."""
    points = []
    for row in stations.drop_nulls(["lat", "lon"]).iter_rows(named=True):
        bikes, docks = row["bikes_available"], row["docks_available"]
        flags = [
            label
            for label, ok in (
                ("not renting", row["is_renting"]),
                ("not returning", row["is_returning"]),
            )
            if ok is False
        ]
        ebikes = row["ebikes_available"]
        points.append(
            {
                "lon": row["lon"],
                "lat": row["lat"],
                "rgb": list(maps.station_rgb(bikes, docks, row["fill"])),
                "tip_title": row["name"] or row["station_id"],
                "tip_id": row["station_id"],
                "tip_a": (
                    f"{fmt.count(bikes)} bikes"
                    + (f" ({fmt.count(ebikes)} e-bikes)" if ebikes else "")
                    + f" · {fmt.count(docks)} free docks · capacity {fmt.count(row['capacity'])}"
                ),
                "tip_b": " · ".join([f"Fill {fmt.percent(row['fill'], digits=0)}", *flags]),
                "tip_c": (
                    f"Zone {row['zone_id'] or fmt.MISSING} · reported "
                    f"{local(row['observed_at'], timezone, '%H:%M')}"
                ),
            }
        )
    return points


def _zone_lines(place: dict[str, Any] | None) -> tuple[str, str]:
    if place is None:
        return "No forecast for the window", ""
    stock = (
        f"{fmt.count(place['available'])} usable · "
        f"{fmt.count(place['expected_demand'], digits=1)} rides expected"
    )
    if place["need"] == "vehicles":
        return stock, (
            f"Short by {fmt.count(place['gap'], digits=1)}: add {place['suggested_add']} "
            f"(#{place['priority']})"
        )
    if place["need"] == "surplus":
        return stock, f"Can give {-place['suggested_add']}"
    return stock, "Balanced"


def zone_shading(collection: dict[str, Any], report: DeficitReport | None) -> dict[str, Any]:
    """The zones shaded by what the deficit report says they need, with tooltip lines."""
    places: dict[str, dict[str, Any]] = {}
    if report is not None:
        zones = report.places.filter(pl.col("kind") == "zone")
        places = {r["place_id"]: r for r in zones.iter_rows(named=True)}
    top = max((p["score"] for p in places.values() if p["priority"] is not None), default=0.0)
    features = []
    for zone in collection["features"]:
        props = zone["properties"]
        place = places.get(props["zone_id"])
        line_a, line_b = _zone_lines(place)
        features.append(
            {
                "type": "Feature",
                "geometry": zone["geometry"],
                "properties": {
                    "fill": maps.zone_need_rgba(
                        None if place is None else str(place["need"]),
                        None if place is None else place["score"],
                        top,
                    ),
                    "tip_title": props["name"] or props["zone_id"],
                    "tip_id": props["zone_id"],
                    "tip_a": line_a,
                    "tip_b": line_b,
                    "tip_c": "",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def map_legend(feed: LiveFeed, *, zones: bool) -> str:
    """What the map's colours mean, for the layers it draws."""
    low, mid = fmt.count(maps.BATTERY_LOW_PCT), fmt.count(maps.BATTERY_MID_PCT)
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if feed.vehicles:
        groups.append(
            (
                "Vehicles",
                [
                    (f"under {low}%", maps.css(maps.BATTERY_LOW)),
                    (f"{low}–{mid}%", maps.css(maps.BATTERY_MID)),
                    (f"{mid}% and more", maps.css(maps.BATTERY_OK)),
                    ("disabled", maps.css(maps.DISABLED)),
                ],
            )
        )
    if feed.stations:
        light, dark = maps.STATION_FILL
        groups.append(
            (
                "Stations",
                [
                    ("empty", maps.css(maps.STATION_EMPTY)),
                    ("few bikes", maps.css(light)),
                    ("many bikes", maps.css(dark)),
                    ("full", maps.css(maps.STATION_FULL)),
                ],
            )
        )
    if zones:
        groups.append(
            (
                "Zones",
                [
                    ("need vehicles", maps.css(maps.ZONE_NEEDS)),
                    ("can give", maps.css(maps.ZONE_SURPLUS)),
                ],
            )
        )
    return maps.swatch_legend_html(groups)


def map_section(
    key: state.StoreKey, system_id: str, feed: LiveFeed, report: DeficitReport | None
) -> None:
    """The map of vehicles, stations and zones, with a filter for the vehicles to act on."""
    left, right = st.columns([3, 2])
    left.subheader("Fleet map")
    show = "all"
    if feed.vehicles:
        options = [k for k in SHOW if k != "outside_parking" or feed.parkings]
        show = right.segmented_control(
            "Show",
            options,
            default="all",
            required=True,
            format_func=SHOW.__getitem__,
            key="live_show",
        )
    everyone = state.live_vehicles(key, system_id)
    shown = state.live_vehicles(
        key,
        system_id,
        low_battery=True if show == "low_battery" else None,
        outside_parking=True if show == "outside_parking" else None,
    )
    stations = state.live_stations(key, system_id)
    collection = state.zones_geojson(key, system_id)
    layers = []
    if collection["features"]:
        layers.append(maps.outline_layer(zone_shading(collection, report)))
        view = maps.view_state(collection["features"])
    else:
        located = pl.concat(
            [everyone.select("lon", "lat"), stations.select("lon", "lat")]
        ).drop_nulls()
        view = maps.fit_points(list(located.iter_rows()))
    if stations.height:
        layers.append(
            maps.point_layer(
                station_points(stations, feed.timezone),
                layer_id="stations",
                radius_m=30,
                min_px=3,
                max_px=9,
            )
        )
    if feed.vehicles:
        layers.append(
            maps.point_layer(
                vehicle_points(shown, feed.timezone),
                layer_id="vehicles",
                radius_m=25,
                min_px=2.5,
                max_px=8,
            )
        )
    st.pydeck_chart(
        maps.deck(layers, view, tooltip_html=TOOLTIP), height=maps.MAP_HEIGHT_PX, width="stretch"
    )
    st.html(map_legend(feed, zones=bool(collection["features"])))
    if show != "all":
        st.caption(f"{SHOW[show]}: {shown.height:,} of {everyone.height:,} vehicles shown.")


def needs_table(report: DeficitReport, top: int = TOP_NEEDS) -> pl.DataFrame:
    """The ``top`` most urgent places with what they hold, expect and need."""
    return (
        report.needs()
        .head(top)
        .select(
            pl.col("priority").alias("#"),
            pl.coalesce("name", "place_id").alias("Zone / station"),
            pl.col("place_id").alias("Id"),
            pl.col("available").alias("Available"),
            pl.col("expected_demand").alias("Expected"),
            pl.col("gap").alias("Gap"),
            pl.col("suggested_add").alias("Suggested"),
            pl.col("need").cast(pl.String).replace_strict(NEED_LABELS).alias("Need"),
            pl.col("score").alias("Rides at risk"),
        )
    )


def surplus_table(report: DeficitReport, top: int = TOP_SURPLUS) -> pl.DataFrame:
    """The ``top`` places with the most vehicles to spare."""
    return (
        report.surplus()
        .head(top)
        .select(
            pl.coalesce("name", "place_id").alias("Zone / station"),
            pl.col("available").alias("Available"),
            pl.col("expected_demand").alias("Expected"),
            (-pl.col("suggested_add")).alias("Can give"),
        )
    )


def read_report(key: state.StoreKey, system_id: str) -> tuple[DeficitReport | None, str | None]:
    """The deficit report, or why there is none (the message of the job's refusal)."""
    try:
        return state.live_supply(key, system_id), None
    except NothingToCompareError as exc:
        return None, str(exc)


def deficit_section(
    report: DeficitReport | None, problem: str | None, *, system_id: str, timezone: str
) -> None:
    """Where to put vehicles (ranked, over which window), then where to take them from."""
    st.subheader("Where to put vehicles")
    if report is None:
        info = state.summary(system_id)
        if info is None or info.latest_issue is None:
            state.show_no_forecasts(system_id)
        else:
            st.warning(f"No deficits to show: {problem}.", icon=":material/event_busy:")
        return
    needs = report.needs()
    st.caption(
        f"Rides expected from **{local(report.window_start, timezone)}** to "
        f"**{local(report.window_end, timezone)}** (the newest forecast, spread over the day by "
        f"the last four weeks' hours) against the usable vehicles now: {needs.height:,} places "
        f"short, the {min(needs.height, TOP_NEEDS)} most urgent listed."
    )
    if needs.is_empty():
        st.success("No place is short of vehicles for the rest of the window.")
    else:
        st.dataframe(
            needs_table(report),
            hide_index=True,
            width="stretch",
            height="content",
            column_config=NEEDS_CONFIG,
        )
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Surplus to take from")
        spare = surplus_table(report)
        if spare.is_empty():
            st.info("No place has vehicles to spare.")
        else:
            st.dataframe(
                spare,
                hide_index=True,
                width="stretch",
                height="content",
                column_config=SURPLUS_CONFIG,
            )
            st.caption(
                f"The {spare.height} of {report.surplus().height:,} places with the most "
                "vehicles beyond their expected rides."
            )
    right.markdown(READING_NOTES)


def charts_section(key: state.StoreKey, system_id: str, feed: LiveFeed, period: Period) -> None:
    """The battery histogram of the fleet now and trips per day by day part over the period."""
    left, right = st.columns(2)
    with left:
        st.subheader("Battery")
        if feed.vehicles:
            st.plotly_chart(
                charts.battery_bars(state.battery_histogram(key, system_id)), width="stretch"
            )
        else:
            st.caption("No free-floating vehicles: a docked system reports no batteries.")
    with right:
        st.subheader("Trips by day part")
        usage = state.trips_by_day_part(key, system_id, period)
        if usage["trips"].sum() == 0:
            st.caption(f"No trips in the {PERIODS[period].lower()}.")
        else:
            st.plotly_chart(charts.day_part_bars(usage), width="stretch")
            st.caption(f"{PERIODS[period]}, local time; holidays count as weekend days.")


@st.fragment(run_every=REFRESH_S)
def live_view(key: state.StoreKey, system_id: str) -> None:
    """Everything that follows the feed: reread and redrawn every :data:`REFRESH_S` s."""
    feed = state.live_feed(key, system_id)
    if feed.is_empty:
        state.show_no_live_feed(system_id)
        return
    st.caption(freshness(feed, datetime.now(ZoneInfo(feed.timezone))))
    left, right = st.columns([3, 2])
    left.subheader("Fleet")
    period = right.segmented_control(
        "KPI period",
        list(PERIODS),
        default="week",
        required=True,
        format_func=PERIODS.__getitem__,
        key="live_period",
    )
    kpi_cards(state.live_kpis(key, system_id, period), feed)
    report, problem = read_report(key, system_id)
    map_section(key, system_id, feed, report)
    deficit_section(report, problem, system_id=system_id, timezone=feed.timezone)
    charts_section(key, system_id, feed, period)


def render() -> None:
    """The page."""
    system_id = state.require_system()
    st.title(TITLE)
    live_view(state.store_key(), system_id)


if __name__ == "__main__":
    render()
