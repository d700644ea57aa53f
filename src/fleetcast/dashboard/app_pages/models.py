"""Models page: the newest backtest's metrics per model and horizon, and the champion history
(every registered version, its score, whether it was promoted, which one forecasts now)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from fleetcast.dashboard import charts, state
from fleetcast.dashboard import formatting as fmt

TITLE = "Models"
PERCENT = st.column_config.NumberColumn(format="percent", step=0.001)
BACKTEST_COLUMNS = {
    "model": "Model",
    "horizon": "Days ahead",
    "n": "Forecasts",
    "wape": "WAPE",
    "mae": "MAE",
    "rmse": "RMSE",
    "bias": "Bias",
    "pinball": "Pinball loss",
    "coverage_80": "80% coverage",
}
HISTORY_COLUMNS = {
    "version": "Version",
    "is_champion": "Champion",
    "created_at": "Registered",
    "model": "Model",
    "wape": "WAPE",
    "champion_wape": "Champion's WAPE then",
    "decision": "Decision",
    "reason": "Reason",
    "window": "Backtest window",
}


def backtest_section(run: dict[str, Any] | None, metrics: pl.DataFrame, *, system_id: str) -> None:
    """The newest backtest run: when, on which window, and each model's scores per horizon."""
    st.subheader("Latest backtest")
    if run is None or metrics.is_empty():
        state.show_no_backtest(system_id)
        return
    st.caption(
        f"Window {fmt.day(run['window_start'])} to {fmt.day(run['window_end'])} · "
        f"horizon {run['horizon']} days · models {', '.join(run['models'])} · "
        f"weather: {run.get('weather_note') or fmt.MISSING} · run {fmt.moment(run['created_at'])}"
    )
    table = metrics.sort("horizon", "wape").select(list(BACKTEST_COLUMNS)).rename(BACKTEST_COLUMNS)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Forecasts": st.column_config.NumberColumn(
                format="localized", help="Zone-days scored at this horizon"
            ),
            "WAPE": PERCENT,
            "MAE": st.column_config.NumberColumn(format="%.2f"),
            "RMSE": st.column_config.NumberColumn(format="%.2f"),
            "Bias": st.column_config.NumberColumn(
                format="percent",
                step=0.001,
                help="Over (+) or under (-) forecast, as a share of actual trips",
            ),
            "Pinball loss": st.column_config.NumberColumn(
                format="%.3f", help="Mean pinball loss of the 10%, 50% and 90% quantiles"
            ),
            "80% coverage": st.column_config.NumberColumn(
                format="percent",
                step=0.001,
                help="Share of actual days inside the 80% band (well calibrated: 80%)",
            ),
        },
    )
    chart, notes = st.columns([3, 2])
    chart.plotly_chart(charts.wape_bars(metrics), width="stretch")
    notes.markdown(
        "**Reading the table**\n\n"
        "- **WAPE**: absolute errors summed over zones and days, divided by the trips; "
        "lower is better.\n"
        "- **MAE / RMSE**: mean absolute and root mean squared error, in trips per zone "
        "and day.\n"
        "- **Bias**: positive when the model forecasts too many trips.\n"
        "- **80% coverage**: how often the actual fell inside the 80% band; near 80% "
        "means honest intervals."
    )


def history_section(history: pl.DataFrame, *, system_id: str) -> None:
    """Registered versions, newest first, and the one the champion alias points to."""
    st.subheader("Champion history")
    if history.is_empty():
        st.info(
            f"**No model registered for {system_id} yet.** Train one; it becomes the champion:"
            f"\n\n```\nfleetcast train --system {system_id}\n```",
            icon=":material/model_training:",
        )
        return
    champion = history.filter(pl.col("is_champion"))
    if champion.height:
        row = champion.row(0, named=True)
        st.caption(
            f"Champion now: **{row['model']} v{row['version']}** "
            f"(backtest WAPE {fmt.percent(row['wape'])}). A new version becomes champion only "
            "when it beats the champion on the same backtest window."
        )
    table = (
        history.sort("version", descending=True)
        .select(list(HISTORY_COLUMNS))
        .rename(HISTORY_COLUMNS)
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Version": st.column_config.NumberColumn(format="v%d", width="small"),
            "Champion": st.column_config.CheckboxColumn(
                help="The version the champion alias points to: it issues the forecasts"
            ),
            "Registered": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm [UTC]"),
            "WAPE": PERCENT,
            "Champion's WAPE then": st.column_config.NumberColumn(
                format="percent",
                step=0.001,
                help="The champion of the time on the same backtest window (none for the first)",
            ),
            "Reason": st.column_config.TextColumn(width="large"),
        },
    )


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    st.title(TITLE)
    run, metrics = state.backtest_table(key, system_id)
    backtest_section(run, metrics, system_id=system_id)
    try:
        history = state.champion_history(key, system_id)
    except ImportError:
        st.warning(
            "The model registry needs MLflow: `pip install 'fleetcast[ml]'`.",
            icon=":material/warning:",
        )
        return
    history_section(history, system_id=system_id)


if __name__ == "__main__":
    render()
