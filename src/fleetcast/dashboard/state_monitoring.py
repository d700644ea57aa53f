"""Cached reads of the monitoring page, beside ``dashboard.state``: the newest monitor run with
its accuracy and drift, the bytes of the newest drift report, and the scheduled pipelines."""

from __future__ import annotations

from typing import Any

import streamlit as st

from fleetcast.dashboard.state import READ_TTL_S, StoreKey, open_store, show_no_forecasts


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def monitoring(key: StoreKey, system_id: str, days: int) -> dict[str, Any]:
    """The newest monitor run, the all-zone accuracy of the last ``days`` days with actuals
    beside the backtest's WAPE, and the newest drift check (see ``latest_monitoring``)."""
    from fleetcast.jobs.monitor import latest_monitoring

    return latest_monitoring(open_store(*key), system_id, days=days)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def pipelines(key: StoreKey) -> dict[str, Any]:
    """The newest run of each scheduled pipeline and those failing (see ``pipeline_status``)."""
    from fleetcast.jobs.pipeline import pipeline_status

    return pipeline_status(open_store(*key))


@st.cache_data(ttl=READ_TTL_S, show_spinner=False, max_entries=4)
def drift_report(key: StoreKey, system_id: str) -> tuple[str, bytes] | None:
    """File name and bytes of the newest drift check's HTML report, None when not on disk."""
    from fleetcast.jobs.monitor import latest_report_file

    path = latest_report_file(open_store(*key), system_id)
    return None if path is None else (path.name, path.read_bytes())


def show_no_monitor_run(system_id: str, *, has_demand: bool, has_forecasts: bool) -> None:
    """The empty state of a system never monitored: what to load or issue first (monitoring
    scores forecasts against actuals), then how to run the checks."""
    if not has_demand:
        st.info(
            f"**{system_id} has no daily demand yet.** Ingest trips (`fleetcast ingest`) "
            "first: monitoring compares forecasts with the days that actually happened.",
            icon=":material/inventory_2:",
        )
    elif not has_forecasts:
        show_no_forecasts(system_id)
    st.info(
        f"**{system_id} has not been monitored yet.** Run the checks once (forecast accuracy "
        "as actuals arrive, data drift, source freshness); the scheduled daily cycle runs "
        f"them after each forecast:\n\n```\nfleetcast monitor --system {system_id}\n```",
        icon=":material/monitor_heart:",
    )
