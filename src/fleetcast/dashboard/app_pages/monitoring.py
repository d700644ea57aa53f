"""Monitoring page: the newest monitor run's verdict and alerts, forecast accuracy over time by
horizon beside the backtest, data drift of the model's inputs and target with the newest
Evidently report to open or download, the health of every source, and the scheduled
pipelines' newest runs with an error per failing one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import streamlit as st

from fleetcast.dashboard import charts_monitoring as charts
from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import state
from fleetcast.dashboard import state_monitoring as mstate

TITLE = "Monitoring"
PERCENT = st.column_config.NumberColumn(format="percent", step=0.001)
STATUS_BADGES = {
    "ok": ("OK", "green", ":material/check_circle:"),
    "degraded": ("Degraded", "red", ":material/warning:"),
    "failed": ("Failed", "red", ":material/error:"),
}
ACCURACY_SCHEMA: dict[str, pl.DataType] = {
    "target_date": pl.Date(),
    "horizon": pl.Int64(),
    "model_version": pl.String(),
    "n": pl.Int64(),
    "mae": pl.Float64(),
    "wape": pl.Float64(),
    "bias": pl.Float64(),
    "coverage": pl.Float64(),
    "baseline_wape": pl.Float64(),
}
DRIFT_COLUMNS = {
    "column": "Column",
    "role": "Role",
    "method": "Method",
    "score": "Score",
    "threshold": "Threshold",
    "drifted": "Drifted",
}
SOURCE_COLUMNS = {
    "source": "Source",
    "kind": "Kind",
    "status": "Status",
    "last_success_at": "Last success",
    "age_hours": "Age (h)",
    "rows_accepted": "Rows accepted",
    "rows_rejected": "Rows rejected",
    "quarantined_share": "Quarantined",
    "problem": "Problem",
}


def _moment(value: str | datetime | None) -> str:
    """An ISO time (as the JSON views hold it) to the minute in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value).astimezone(UTC)
    return fmt.moment(value)


def accuracy_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The JSON accuracy rows of ``latest_monitoring`` as a typed frame."""
    if not rows:
        return pl.DataFrame(schema=ACCURACY_SCHEMA)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.select(
        pl.col("target_date").str.to_date(),
        *(pl.col(c).cast(t) for c, t in ACCURACY_SCHEMA.items() if c != "target_date"),
    )


def status_section(run: dict[str, Any]) -> None:
    """The verdict with when it ran, the reasons it is degraded and the run's notes."""
    summary = run.get("summary") or {}
    label, colour, icon = STATUS_BADGES.get(run["status"], STATUS_BADGES["failed"])
    st.markdown(
        f":{colour}-badge[{icon} {label}] &nbsp; monitor run of {_moment(run['ran_at'])}"
        f" · as of {summary.get('today') or fmt.MISSING}"
    )
    for reason in summary.get("reasons", []):
        st.error(reason, icon=":material/warning:")
    notes = summary.get("notes", [])
    if notes:
        with st.expander(f"Notes ({len(notes)})"):
            for note in notes:
                st.markdown(f"- {note}")


def accuracy_section(accuracy: pl.DataFrame, run: dict[str, Any], *, system_id: str) -> None:
    """Accuracy over all zones by day and horizon (a chart of the chosen metric, dotted: the
    backtest), and the accuracy alerts of the newest run."""
    st.subheader("Forecast accuracy over time")
    if accuracy.is_empty():
        st.info(
            "**No forecast with actuals yet.** Accuracy appears once the days a forecast "
            "covers have been ingested and `fleetcast monitor` has run again.",
            icon=":material/query_stats:",
        )
    else:
        metric = st.segmented_control(
            "Metric",
            list(charts.METRICS),
            default="wape",
            format_func=lambda m: charts.METRICS[m][0],
            key="monitoring_metric",
        )
        chosen = metric if isinstance(metric, str) else "wape"
        st.plotly_chart(charts.accuracy_over_time(accuracy, metric=chosen), width="stretch")
        first, last = accuracy["target_date"].min(), accuracy["target_date"].max()
        assert isinstance(first, date) and isinstance(last, date)
        st.caption(
            f"All {system_id} zones, {fmt.day(first)} to {fmt.day(last)}; dotted lines: the "
            "newest backtest's "
            "WAPE of the same model and horizon."
        )
    alerts = (run.get("summary") or {}).get("alerts", [])
    if alerts:
        st.markdown(f"**Accuracy alerts ({len(alerts)})**")
        for alert in alerts:
            st.error(alert["message"], icon=":material/trending_up:")
    else:
        st.success("No accuracy alert in the newest run.", icon=":material/check_circle:")


def drift_section(drift: dict[str, Any] | None, run: dict[str, Any], *, system_id: str) -> None:
    """The newest drift check: drift share, drifted inputs, target drift, the windows, each
    column's score against its threshold, and the HTML report to open or download."""
    st.subheader("Data drift")
    if drift is None:
        notes = (run.get("summary") or {}).get("notes", [])
        why = next((n for n in notes if "drift" in n), None)
        st.info(
            f"**No drift check stored for {system_id}.** "
            + (why or "Run `fleetcast monitor` to compare recent days with the history."),
            icon=":material/compare_arrows:",
        )
        return
    share, target, inputs, windows = st.columns(4)
    share.metric("Drift share", fmt.percent(drift["drift_share"]), border=True)
    inputs.metric("Drifted inputs", f"{drift['drifted_inputs']} of {drift['inputs']}", border=True)
    target.metric("Target drift", "Drifted" if drift["target_drifted"] else "Stable", border=True)
    days = (
        date.fromisoformat(drift["current_end"]) - date.fromisoformat(drift["current_start"])
    ).days
    windows.metric("Recent window", f"{days + 1} days", border=True)
    st.caption(
        f"Recent {fmt.day(drift['current_start'])} to {fmt.day(drift['current_end'])} "
        f"({drift['current_rows']:,} zone-days) against the reference "
        f"{fmt.day(drift['reference_start'])} to {fmt.day(drift['reference_end'])} "
        f"({drift['reference_rows']:,} zone-days); checked {_moment(drift['ran_at'])}. "
        "Inputs are what the model reads (demand lags and rolling means, weekday, day off, "
        "weather); the target is daily demand per zone."
    )
    columns = pl.DataFrame(drift["columns"], infer_schema_length=None)
    chart, table = st.columns([3, 2])
    chart.plotly_chart(charts.drift_scores(columns), width="stretch")
    table.dataframe(
        columns.select(list(DRIFT_COLUMNS)).rename(DRIFT_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "Score": st.column_config.NumberColumn(format="%.3g"),
            "Threshold": st.column_config.NumberColumn(format="%g"),
        },
    )
    report = mstate.drift_report(state.store_key(), system_id)
    if report is None:
        st.caption("The HTML report of this check is no longer on disk.")
        return
    name, data = report
    st.download_button(
        "Download the drift report (HTML)",
        data,
        file_name=name,
        mime="text/html",
        icon=":material/download:",
        help="Evidently's full report: every column's distributions, reference beside recent",
    )
    st.caption(
        f"`{drift['report_path']}` in the fleetcast home; the API serves it at "
        f"`/monitoring/drift-report?system={system_id}`."
    )


def sources_section(run: dict[str, Any]) -> None:
    """Every source's status, last success, age, rows kept and quarantined, and its problem."""
    st.subheader("Source health")
    sources = (run.get("summary") or {}).get("sources", [])
    if not sources:
        st.caption("No source recorded in the newest run.")
        return
    frame = pl.DataFrame(sources, infer_schema_length=None)
    if frame.schema.get("last_success_at") == pl.String:
        frame = frame.with_columns(
            pl.col("last_success_at").str.to_datetime(time_zone="UTC", time_unit="us")
        )
    shown = frame.select([c for c in SOURCE_COLUMNS if c in frame.columns]).rename(
        SOURCE_COLUMNS, strict=False
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "Age (h)": st.column_config.NumberColumn(format="%.1f"),
            "Quarantined": PERCENT,
            "Last success": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm [UTC]"),
        },
    )
    flagged = frame.filter(pl.col("status") != "ok").height
    if flagged:
        st.warning(f"{flagged} of {frame.height} sources flagged.", icon=":material/sensors_off:")
    else:
        st.success(f"All {frame.height} sources healthy.", icon=":material/sensors:")


PIPELINE_COLUMNS = {
    "flow": "Pipeline",
    "system_id": "System",
    "started_at": "Started",
    "status": "Status",
    "seconds": "Seconds",
    "failed_step": "Failed step",
    "message": "Message",
}


def pipelines_frame(pipelines: dict[str, Any]) -> pl.DataFrame:
    """One row per newest run: its flow, system, start, status, seconds, and the failed step
    and its message when it is failing."""
    failing = {f["run_id"]: f for f in pipelines["failing"]}
    rows = []
    for run in pipelines["runs"]:
        bad = failing.get(run["run_id"], {})
        rows.append(
            {
                "flow": run["flow"],
                "system_id": run["system_id"] or "(all)",
                "started_at": _moment(run["started_at"]),
                "status": bad.get("status", run["status"]) if bad else run["status"],
                "seconds": run.get("seconds"),
                "failed_step": bad.get("failed_step", ""),
                "message": bad.get("message", ""),
            }
        )
    schema = {c: pl.Float64() if c == "seconds" else pl.String() for c in PIPELINE_COLUMNS}
    return pl.DataFrame(rows, schema=schema).rename(PIPELINE_COLUMNS)


def pipelines_section(pipelines: dict[str, Any]) -> None:
    """The scheduled pipelines: an error per failing one naming the step and its message, and
    a table of the newest runs; with none yet, how to start them."""
    st.subheader("Scheduled pipelines")
    if not pipelines["runs"]:
        st.info(
            "**No scheduled run yet.** `fleetcast run` starts the daily cycle, the feed polls "
            "and the compaction; their runs and steps appear here.",
            icon=":material/schedule:",
        )
        return
    for bad in pipelines["failing"]:
        where = f"{bad['flow']} · {bad['system_id']}" if bad["system_id"] else bad["flow"]
        st.error(
            f"**{where}**: step `{bad['failed_step']}` {bad['status']} in the run of "
            f"{_moment(bad['started_at'])}: {bad['message'] or 'no message'}",
            icon=":material/error:",
        )
    st.dataframe(
        pipelines_frame(pipelines),
        hide_index=True,
        width="stretch",
        column_config={"Seconds": st.column_config.NumberColumn(format="%.1f")},
    )
    if not pipelines["failing"]:
        st.success(
            f"All {len(pipelines['runs'])} pipelines ran fine last time.",
            icon=":material/check_circle:",
        )


def render() -> None:
    """The page."""
    system_id = state.require_system()
    st.title(TITLE)
    days = st.sidebar.slider("Days of accuracy", 7, 90, 28, key="monitoring_days")
    view = mstate.monitoring(state.store_key(), system_id, days)
    run = view["run"]
    if run is None:
        summary = state.summary(system_id)
        mstate.show_no_monitor_run(
            system_id,
            has_demand=summary is not None and summary.last_day is not None,
            has_forecasts=summary is not None and summary.latest_issue is not None,
        )
        pipelines_section(mstate.pipelines(state.store_key()))
        return
    status_section(run)
    accuracy_section(accuracy_frame(view["accuracy"]), run, system_id=system_id)
    drift_section(view["drift"], run, system_id=system_id)
    sources_section(run)
    pipelines_section(mstate.pipelines(state.store_key()))


if __name__ == "__main__":
    render()
