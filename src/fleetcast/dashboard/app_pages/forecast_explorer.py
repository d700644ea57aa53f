"""Forecast explorer page: one zone's daily trips with the forecast fan, and the newest
backtest's forecasts over what happened, for a model and horizon picked here."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from fleetcast.dashboard import charts, state
from fleetcast.dashboard import formatting as fmt

TITLE = "Forecast explorer"
HISTORY_DAYS = (30, 60, 90, 180, 365)


def zone_options(collection: dict[str, Any]) -> dict[str, str]:
    """Zone ids to their labels (``Beacon Square · Loop (Z001)``), in id order."""
    zones = sorted((f["properties"] for f in collection["features"]), key=lambda p: p["zone_id"])
    return {p["zone_id"]: f"{p['name']} ({p['zone_id']})" for p in zones}


def history_section(history: dict[str, pl.DataFrame], *, system_id: str, label: str) -> None:
    """Recent trips of the zone and the newest forecast with its 80% band."""
    st.subheader(f"{label}: trips and forecast")
    actuals, upcoming = history["actuals"], history["forecasts"]
    if actuals.is_empty() and upcoming.is_empty():
        st.info("No trips or forecasts for this zone yet.")
        return
    st.plotly_chart(charts.forecast_fan(actuals, upcoming), width="stretch")
    if upcoming.is_empty():
        state.show_no_forecasts(system_id)
        return
    first = upcoming.row(0, named=True)
    st.caption(
        f"Forecast (80% band) issued {fmt.day(first['issued_on'])} by {first['model_version']}: "
        + "; ".join(
            f"{fmt.day(r['target_date'])} {fmt.count(r['mean'], digits=1)} "
            f"({fmt.interval(r['q10'], r['q90'], digits=1)})"
            for r in upcoming.iter_rows(named=True)
        )
    )


def backtest_section(
    backtest: pl.DataFrame, run: dict[str, Any] | None, *, system_id: str, champion: str | None
) -> None:
    """The newest backtest's forecasts of one model and horizon over the zone's actual trips."""
    st.subheader("Backtest: forecasts over actual trips")
    if backtest.is_empty():
        state.show_no_backtest(system_id)
        return
    models = sorted(backtest["model"].unique().to_list())
    horizons = sorted(backtest["horizon"].unique().to_list())
    family = champion.split("@", 1)[0] if champion else None
    left, right = st.columns([3, 2])
    model = left.segmented_control(
        "Model",
        models,
        default=family if family in models else models[0],
        required=True,
        key="explorer_model",
    )
    horizon = right.segmented_control(
        "Days ahead",
        horizons,
        default=horizons[0],
        required=True,
        format_func=lambda h: f"{h} day{'s' if h > 1 else ''}",
        key="explorer_horizon",
    )
    rows = backtest.filter((pl.col("model") == model) & (pl.col("horizon") == horizon))
    st.plotly_chart(charts.backtest_overlay(rows), width="stretch")
    if run is not None:
        st.caption(
            f"Backtest {fmt.day(run['window_start'])} to {fmt.day(run['window_end'])}: each day "
            f"forecast {horizon} day{'s' if horizon > 1 else ''} ahead from the data known then."
        )


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    collection = state.zones_geojson(key, system_id)
    st.title(TITLE)
    options = zone_options(collection)
    if not options:
        st.info(f"**{system_id} has no zones yet.** Load zones with `fleetcast ingest`.")
        return
    left, right = st.columns([3, 2])
    zone_id = left.selectbox(
        "Zone", list(options), format_func=options.__getitem__, key="explorer_zone"
    )
    days = right.select_slider(
        "History", HISTORY_DAYS, value=60, format_func=lambda d: f"{d} days", key="explorer_days"
    )
    history = state.zone_history(key, system_id, zone_id, days)
    history_section(history, system_id=system_id, label=options[zone_id])
    run, _ = state.backtest_table(key, system_id)
    champion = state.overview(key, system_id).model_version
    backtest_section(history["backtest"], run, system_id=system_id, champion=champion)


if __name__ == "__main__":
    render()
