"""Demand map page: zones coloured by the forecast of a chosen day (or by recent trips); the
tooltip shows each zone's forecast, its 80% interval and its recent actuals."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import maps, state

TITLE = "Demand map"
COLOUR_BY = {
    "forecast": "Forecast",
    "latest": "Trips on the last day",
    "mean_7d": "7-day mean",
}
TOOLTIP_ZONE = "<b>{name}</b> <span style='color:#777'>{zone_id}</span><br/>"
TOOLTIP_FORECAST = (
    "Forecast {tip_day}: <b>{tip_mean}</b> trips<br/>80% interval: {tip_interval}<br/>"
)
TOOLTIP_RECENT = "Trips on {tip_latest_day}: {tip_latest}<br/>7-day mean: {tip_mean_7d}"


def forecast_days(collection: dict[str, Any]) -> list[str]:
    """The forecast target days (ISO) present in the zones' properties, earliest first."""
    return sorted(
        {f["target_date"] for z in collection["features"] for f in z["properties"]["forecasts"]}
    )


def _forecast_on(props: dict[str, Any], day: str | None) -> dict[str, Any] | None:
    return next((f for f in props["forecasts"] if f["target_date"] == day), None)


def _value(props: dict[str, Any], by: str, day: str | None) -> float | None:
    if by == "forecast":
        found = _forecast_on(props, day)
        return None if found is None else float(found["mean"])
    value = props["latest_trips"] if by == "latest" else props["mean_trips_7d"]
    return None if value is None else float(value)


def coloured(
    collection: dict[str, Any], *, by: str, day: str | None
) -> tuple[dict[str, Any], float]:
    """A copy of the zones with a fill colour and formatted tooltip fields; the scale's top."""
    values = [_value(z["properties"], by, day) for z in collection["features"]]
    top = max((v for v in values if v is not None), default=0.0)
    features = []
    for zone, value in zip(collection["features"], values, strict=True):
        props = zone["properties"]
        found = _forecast_on(props, day)
        features.append(
            {
                **zone,
                "properties": {
                    **props,
                    "fill": maps.colour(value, top),
                    "tip_day": fmt.day(day),
                    "tip_mean": fmt.count(found["mean"], digits=1) if found else fmt.MISSING,
                    "tip_interval": (
                        fmt.interval(found["lower"], found["upper"], digits=1)
                        if found
                        else fmt.MISSING
                    ),
                    "tip_latest_day": fmt.day(props["latest_date"]),
                    "tip_latest": fmt.count(props["latest_trips"]),
                    "tip_mean_7d": fmt.count(props["mean_trips_7d"], digits=1),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}, top


def scale_label(collection: dict[str, Any], *, by: str, day: str | None) -> str:
    """What the colours mean, with the day they are for."""
    if by == "forecast":
        return f"Forecast trips on {fmt.day(day)}"
    latest = next((z["properties"]["latest_date"] for z in collection["features"]), None)
    if by == "latest":
        return f"Trips on {fmt.day(latest)}"
    return f"Mean trips per day, 7 days to {fmt.day(latest)}"


def zone_table(collection: dict[str, Any], *, by: str, day: str | None) -> pl.DataFrame:
    """One row per zone with what the tooltip shows, busiest first (no forecast columns
    without a forecast day)."""
    rows = []
    for zone in collection["features"]:
        props = zone["properties"]
        found = _forecast_on(props, day)
        rows.append(
            {
                "Zone": props["zone_id"],
                "Name": props["name"],
                "Forecast": found["mean"] if found else None,
                "80% low": found["lower"] if found else None,
                "80% high": found["upper"] if found else None,
                "Trips on last day": props["latest_trips"],
                "7-day mean": props["mean_trips_7d"],
                "_sort": _value(props, by, day),
            }
        )
    schema = {
        "Zone": pl.String,
        "Name": pl.String,
        "Forecast": pl.Float64,
        "80% low": pl.Float64,
        "80% high": pl.Float64,
        "Trips on last day": pl.Int64,
        "7-day mean": pl.Float64,
        "_sort": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema)
    frame = frame.sort("_sort", descending=True, nulls_last=True).drop("_sort")
    return frame if day is not None else frame.drop("Forecast", "80% low", "80% high")


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    collection = state.zones_geojson(key, system_id)
    st.title(TITLE)
    if not collection["features"]:
        st.info(f"**{system_id} has no zones yet.** Load zones with `fleetcast ingest`.")
        return
    days = forecast_days(collection)
    if not days:
        state.show_no_forecasts(system_id)
    options = list(COLOUR_BY) if days else [k for k in COLOUR_BY if k != "forecast"]
    left, right = st.columns([3, 2])
    by = right.segmented_control(
        "Colour zones by",
        options,
        default=options[0],
        required=True,
        format_func=COLOUR_BY.__getitem__,
        key="map_colour_by",
    )
    day = (
        left.segmented_control(
            "Forecast day",
            days,
            default=days[0],
            required=True,
            format_func=lambda d: fmt.weekday(date.fromisoformat(d)),
            key="map_day",
        )
        if days
        else None
    )
    shaded, top = coloured(collection, by=by, day=day)
    tooltip = TOOLTIP_ZONE + (TOOLTIP_FORECAST if day else "") + TOOLTIP_RECENT
    st.pydeck_chart(
        maps.zone_deck(shaded, tooltip_html=tooltip), height=maps.MAP_HEIGHT_PX, width="stretch"
    )
    st.html(maps.legend_html(top, label=f"{scale_label(collection, by=by, day=day)}, per zone:"))
    st.subheader("Zones")
    st.dataframe(
        zone_table(collection, by=by, day=day),
        hide_index=True,
        width="stretch",
        column_config={
            "Forecast": st.column_config.NumberColumn(format="%.1f"),
            "80% low": st.column_config.NumberColumn(format="%.1f"),
            "80% high": st.column_config.NumberColumn(format="%.1f"),
            "Trips on last day": st.column_config.NumberColumn(format="localized"),
            "7-day mean": st.column_config.NumberColumn(format="%.1f"),
        },
    )


if __name__ == "__main__":
    render()
