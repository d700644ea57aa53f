"""`fleetcast monitor`: check forecast accuracy, data drift and data quality now, and print the
verdict."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from fleetcast.cli._common import console, fail, open_store, parse_day
from fleetcast.errors import FleetcastError


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def accuracy_table(frame: pl.DataFrame, *, title: str, wape_ratio: float) -> Table:
    """All-zone accuracy per day and horizon with the backtest's WAPE beside it; a WAPE over
    ``wape_ratio`` x the backtest's is shown in red."""
    table = Table(title=title, title_justify="left")
    for column in ("day", "h", "model", "zones", "MAE", "WAPE", "backtest WAPE", "bias"):
        table.add_column(column, justify="left" if column in ("day", "model") else "right")
    table.add_column("10-90% coverage", justify="right")
    for row in frame.sort("target_date", "horizon").iter_rows(named=True):
        wape, base = row["wape"], row["baseline_wape"]
        shown = _pct(wape)
        if wape is not None and base is not None and wape > wape_ratio * base:
            shown = f"[bold red]{shown}[/]"
        table.add_row(
            str(row["target_date"]),
            str(row["horizon"]),
            row["model_version"],
            str(row["n"]),
            f"{row['mae']:.2f}",
            shown,
            _pct(base),
            "-" if row["bias"] is None else f"{row['bias']:+.1%}",
            _pct(row["coverage"]),
        )
    return table


def sources_table(frame: pl.DataFrame) -> Table:
    """Health of every source: status, last success and its age, rows kept and quarantined."""
    table = Table(title="Sources", title_justify="left")
    for column in ("source", "status", "last success", "age", "accepted", "rejected", "share"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    table.add_column("problem")
    for row in frame.iter_rows(named=True):
        status = row["status"]
        colour = "green" if status == "ok" else "red"
        age = row["age_hours"]
        table.add_row(
            row["source"],
            f"[{colour}]{status}[/]",
            "-" if row["last_success_at"] is None else f"{row['last_success_at']:%Y-%m-%d %H:%M}",
            "-" if age is None else (f"{age:.1f} h" if age < 48 else f"{age / 24:.1f} d"),
            "-" if row["rows_accepted"] is None else f"{row['rows_accepted']:,}",
            "-" if row["rows_rejected"] is None else f"{row['rows_rejected']:,}",
            _pct(row["quarantined_share"]),
            row["problem"] or "",
        )
    return table


def drift_table(drift: dict[str, Any]) -> Table:
    """Per column of a drift check: role, Evidently's method, score, threshold and verdict."""
    table = Table(
        title=(
            f"Data drift: {drift['current_start']}..{drift['current_end']} against "
            f"{drift['reference_start']}..{drift['reference_end']}"
        ),
        title_justify="left",
    )
    for column in ("column", "role", "method", "score", "threshold", "drift"):
        table.add_column(column, justify="right" if column in ("score", "threshold") else "left")
    for row in drift["columns"]:
        score = row["score"]
        table.add_row(
            row["column"],
            row["role"],
            row["method"],
            "-" if score is None else f"{score:.3g}",
            f"{row['threshold']:g}",
            "[bold red]drifted[/]" if row["drifted"] else "[green]no[/]",
        )
    return table


def monitor(
    system: Annotated[str, typer.Option(help="System id.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the run's findings as JSON.")
    ] = False,
    days: Annotated[
        int, typer.Option(min=1, max=366, help="Days of accuracy to show (newest last).")
    ] = 7,
    today: Annotated[
        str | None,
        typer.Option(
            help="Check as of this day, YYYY-MM-DD (default: today in the system's zone)."
        ),
    ] = None,
) -> None:
    """Check a system now: forecast accuracy as actuals arrive, data drift, and data freshness
    and quality.

    For every forecast whose day has actuals: MAE, WAPE, bias and 10-90% interval coverage per
    day, horizon, zone and model, stored in the db. The system is **degraded** when a
    horizon's WAPE stays over the backtest's by more than 30% for 3 days in a row up to the
    newest day, or a source is stale (no ingest for 36 h, a feed not read for 3x its TTL,
    demand ending over 2 days ago) or quarantines over 5% of its rows. Thresholds come from
    `[monitoring]` in fleetcast.toml. Data drift (Evidently) compares the model's inputs (demand
    lags and rolling means, weekday, day off, weather) and the target (daily demand per zone)
    of the last 28 days with up to 180 days before (shorter windows for a short history); the
    HTML report is saved under the home. Drift is a warning unless `[monitoring.drift]
    degrade = true`. Prints accuracy by horizon beside the backtest's WAPE, the alerts, the
    drift per column and the health of each source; the run is stored either way.
    """
    from fleetcast.jobs.monitor import run_monitor
    from fleetcast.monitoring.config import config_for

    day = parse_day(today, "--today") if today else None
    store = open_store()
    try:
        config = config_for(store.settings, system)
        report = run_monitor(store, system, today=day, config=config)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    if json_output:
        out = report.summary()
        out["accuracy"] = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            for row in report.accuracy.iter_rows(named=True)
        ]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    shown = report.accuracy
    if not shown.is_empty():
        newest = shown["target_date"].max()
        shown = shown.filter(pl.col("target_date") > newest - timedelta(days=days))  # type: ignore[operator]
    colour = "green" if report.status == "ok" else "bold red"
    console.print(
        f"{system}: [{colour}]{report.status.upper()}[/] as of {report.today} "
        f"({len(report.computed_days)} day(s) scored, {report.rows_written:,} accuracy rows "
        f"written, run {report.run_id})"
    )
    if shown.is_empty():
        console.print("No forecast with actuals yet: nothing to score.")
    else:
        console.print(
            accuracy_table(
                shown,
                title=f"Accuracy over all zones, last {days} day(s) with actuals",
                wape_ratio=config.accuracy.wape_ratio,
            )
        )
    rule = config.accuracy
    if report.alerts:
        console.print(
            f"[bold red]Alerts[/] (WAPE over {rule.wape_ratio:g}x the backtest's "
            f"{rule.consecutive_days} days in a row):"
        )
        for alert in report.alerts:
            console.print(f"  - {alert.message()}")
    else:
        console.print(
            f"No accuracy alert (rule: WAPE over {rule.wape_ratio:g}x the backtest's "
            f"{rule.consecutive_days} days in a row)."
        )
    drift = report.drift_summary()
    if drift is not None:
        console.print(drift_table(drift))
        target = "drifted" if drift["target_drifted"] else "did not drift"
        console.print(
            f"Drift: {len(drift['drifted_inputs'])} of {drift['inputs']} inputs drifted "
            f"({drift['drift_share']:.0%}, limit {drift['max_drift_share']:.0%}); the target "
            f"{target}."
        )
        if drift["report_path"]:
            console.print(f"Drift report: {store.settings.home / drift['report_path']}")
    console.print(sources_table(report.sources))
    for note in report.notes:
        console.print(f"Note: {note}")
