"""`fleetcast backtest`, `train` and `forecast`: compare models, register the champion, forecast."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fleetcast.cli._common import (
    console,
    open_store,
    parse_day,
    run_with_progress,
)
from fleetcast.errors import FleetcastError

MODELS_HELP = "seasonal_naive, ets, calendar_gbm, global_gbm"


def _metrics_table(frame: pl.DataFrame, *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("model", "horizon", "mae", "rmse", "wape", "bias", "pinball", "coverage_80"):
        if column in frame.columns:
            table.add_column(column, justify="left" if column == "model" else "right")
    for row in frame.iter_rows(named=True):
        cells = []
        for column in ("model", "horizon", "mae", "rmse", "wape", "bias", "pinball", "coverage_80"):
            if column not in frame.columns:
                continue
            value = row[column]
            if column in ("wape", "bias", "coverage_80") and value is not None:
                cells.append(f"{value:.1%}")
            elif isinstance(value, float):
                cells.append(f"{value:.2f}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


def backtest(
    system: Annotated[str, typer.Option(help="System id.")],
    models: Annotated[
        list[str] | None, typer.Option("--models", help=f"Models to compare ({MODELS_HELP}).")
    ] = None,
    weeks: Annotated[int, typer.Option(min=1, max=52, help="Weeks of issue dates to test.")] = 8,
    horizon: Annotated[int, typer.Option(min=1, max=28, help="Days ahead per forecast.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Backtest models side by side: for each issue date of the last --weeks weeks, each model
    forecasts 1..--horizon days from the data up to the day before (refitted weekly).

    Prints MAE, RMSE, WAPE, bias, pinball loss and 80% interval coverage per model and horizon;
    stores them (and per-zone metrics) in the db and in MLflow.
    """
    from fleetcast.jobs.forecast import ALL_MODELS
    from fleetcast.jobs.forecast import backtest as run

    names = _split(models) or list(ALL_MODELS)
    store = open_store()
    report = run_with_progress(
        lambda stages: run(
            store, system, models=names, weeks=weeks, horizon=horizon, progress=stages
        ),
        errors=(FleetcastError, ValueError),
    )
    table = report.table()
    if as_json:
        keys = ("model", "horizon", "mae", "rmse", "wape", "bias", "pinball", "coverage_80")
        sys.stdout.write(json.dumps(table.select(keys).to_dicts(), indent=2) + "\n")
        return
    window = report.result.window
    console.print(
        _metrics_table(
            table,
            title=f"Backtest {system}: issue dates {window.first_issue} .. {window.last_issue}, "
            f"refit every {window.refit_every} days",
        )
    )
    console.print(_metrics_table(report.summary(), title="Averaged over horizons (best first)"))
    seconds = ", ".join(f"{m} {s:.1f} s" for m, s in report.result.seconds.items())
    console.print(f"Weather: {report.weather_note}. Time: {seconds}.")


def train(
    system: Annotated[str, typer.Option(help="System id.")],
    model: Annotated[str, typer.Option(help=f"Model to train ({MODELS_HELP}).")] = "global_gbm",
    weeks: Annotated[int, typer.Option(min=1, max=52, help="Backtest weeks for the decision.")] = 8,
) -> None:
    """Train a model on all history and register it in MLflow; it becomes the champion only
    if its backtest WAPE beats the current champion's on the same window."""
    from fleetcast.jobs.forecast import train as run

    store = open_store()
    report = run_with_progress(
        lambda stages: run(store, system, model=model, weeks=weeks, progress=stages),
        errors=(FleetcastError, ValueError),
    )
    verdict = (
        "[bold green]promoted to champion[/]" if report.promoted else "[bold]kept the champion[/]"
    )
    console.print(
        f"{report.model} registered as version {report.version}: {verdict} ({report.reason}; "
        f"window {report.window.first_issue} .. {report.window.last_issue}, "
        f"{report.seconds:.1f} s)"
    )
    console.print(f"MLflow UI: [bold]{report.ui_command}[/]")


def forecast(
    system: Annotated[str, typer.Option(help="System id.")],
    issued_on: Annotated[
        str | None, typer.Option(help="Issue date (default: the day after the last actual).")
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, max=28, help="Days to forecast.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecasts as JSON.")] = False,
) -> None:
    """The champion forecasts the next --horizon days for every zone into the forecasts table
    (mean and the 10th/50th/90th percentiles); re-running for an issue date replaces it."""
    from fleetcast.jobs.forecast import forecast as run

    day = parse_day(issued_on, "--issued-on") if issued_on else None
    store = open_store()
    report = run_with_progress(
        lambda stages: run(store, system, issued_on=day, horizon=horizon, progress=stages),
        errors=(FleetcastError, ValueError),
    )
    if as_json:
        sys.stdout.write(json.dumps(report.forecast.to_dicts(), default=str) + "\n")
        return
    totals = (
        report.forecast.group_by("target_date")
        .agg(pl.col("mean").sum(), pl.col("q10").sum(), pl.col("q90").sum())
        .sort("target_date")
    )
    table = Table(
        title=f"Forecast {system} issued {report.issued_on} by {report.model_version}",
        title_justify="left",
    )
    for column in ("day", "trips (all zones)", "sum of zone q10 .. q90"):
        table.add_column(column, justify="right")
    for row in totals.iter_rows(named=True):
        table.add_row(
            str(row["target_date"]),
            f"{row['mean']:,.0f}",
            f"{row['q10']:,.0f} .. {row['q90']:,.0f}",
        )
    console.print(table)
    console.print(
        f"{report.rows:,} rows written to the forecasts table. Weather: {report.weather_note}."
    )


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
