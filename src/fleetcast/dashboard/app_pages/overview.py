"""Overview page: the morning numbers of the chosen system (trips, active zones, the forecast of
the next days, and the model behind it)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import state
from fleetcast.jobs.serving import Overview, SystemSummary

TITLE = "Overview"


def demand_kpis(view: Overview) -> None:
    """Trips on the last day, the last 7 days against the week before, and active zones."""
    st.subheader("Demand")
    trips, week, zones = st.columns(3)
    trips.metric(
        "Trips yesterday",
        fmt.count(view.trips_last_day),
        help=f"Trips on {fmt.day(view.last_day)}, the last day with data.",
        border=True,
    )
    week.metric(
        "Trips, last 7 days",
        fmt.count(view.trips_7d),
        delta=fmt.change(view.week_change),
        delta_description=f"vs {fmt.count(view.trips_prev_7d)} the week before",
        help="The 7 days up to the last day with data, against the 7 days before them.",
        border=True,
    )
    zones.metric(
        "Active zones",
        f"{view.active_zones:,} of {view.zones:,}",
        help="Zones with at least one trip in the last 7 days.",
        border=True,
    )


def forecast_kpis(view: Overview) -> None:
    """The forecast total of each coming day with the summed 80% bands of the zones."""
    days = view.next_days.height
    st.subheader(f"Forecast, next {days} days" if days else "Forecast")
    if view.next_days.is_empty():
        state.show_no_forecasts(view.system_id)
        return
    rows = view.next_days.sort("target_date").iter_rows(named=True)
    for column, row in zip(st.columns(max(days, 3)), rows, strict=False):
        column.metric(
            fmt.weekday(row["target_date"]),
            fmt.count(row["mean"]),
            delta=f"80%: {fmt.interval(row['q10_sum'], row['q90_sum'])}",
            delta_color="off",
            delta_arrow="off",
            help=f"Forecast trips of all zones, {row['horizon']} day(s) ahead; the range sums "
            "each zone's 80% band (10% to 90% quantile), so it is wider than the total's band.",
            border=True,
        )


def model_kpis(view: Overview, info: SystemSummary | None) -> None:
    """The model that issued the forecasts, its backtest score and the issue date."""
    st.subheader("Model")
    model, wape, issued = st.columns(3)
    model.metric(
        "Forecast model",
        view.model_version or fmt.MISSING,
        help="Model and registry version that issued the newest forecasts.",
        border=True,
    )
    wape.metric(
        "Backtest WAPE",
        fmt.percent(view.backtest_wape),
        help="Weighted absolute percentage error of this model in the latest backtest, "
        "all horizons together: lower is better.",
        border=True,
    )
    issued.metric(
        "Forecast issued",
        fmt.day(info.latest_issue if info else None),
        help=f"Issue date of the newest forecasts, from data up to {fmt.day(view.last_day)}.",
        border=True,
    )


def systems_table(found: list[SystemSummary]) -> None:
    """Every system in the store, for operators with more than one."""
    with st.expander(f"Systems in this store ({len(found)})"):
        frame = pl.DataFrame(
            [
                {
                    "System": s.system_id,
                    "Name": s.name,
                    "Kind": s.kind,
                    "Zones": s.zones,
                    "First day": fmt.day(s.first_day),
                    "Last day": fmt.day(s.last_day),
                    "Newest forecast": fmt.day(s.latest_issue),
                }
                for s in found
            ]
        )
        st.dataframe(frame, hide_index=True, width="stretch")


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    view = state.overview(key, system_id)
    info = state.summary(system_id)
    st.title(TITLE)
    if info is not None:
        st.caption(
            f"{info.name} · {info.kind} · {info.timezone} · data "
            f"{fmt.day(info.first_day)} to {fmt.day(info.last_day)}"
        )
    if view.last_day is None:
        st.info(
            f"**{system_id} has no daily demand yet.** Ingest trips (`fleetcast ingest`) "
            "and the numbers appear here."
        )
        return
    demand_kpis(view)
    forecast_kpis(view)
    model_kpis(view, info)
    systems_table(state.systems(key))


if __name__ == "__main__":
    render()
