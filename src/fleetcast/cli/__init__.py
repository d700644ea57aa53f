"""The fleetcast command line: thin commands over jobs, with Rich output and progress.

One module per group of commands; this one builds the app and its main options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fleetcast import __version__
from fleetcast.cli import context, explore, feeds, forecast, monitor, operator, plan, serve
from fleetcast.cli._common import console, fail, state
from fleetcast.cli.carsharing import carsharing_app
from fleetcast.cli.db import db_app
from fleetcast.cli.ingest import ingest_app
from fleetcast.cli.pricing import pricing_app
from fleetcast.cli.run import run
from fleetcast.config import load_settings
from fleetcast.errors import FleetcastError

app = typer.Typer(
    name="fleetcast",
    help="Demand forecasts, stock targets and rebalancing plans for shared-vehicle fleets.\n\n"
    "Data lives in FLEETCAST_HOME (default ./.fleetcast): a SQLite db and a Parquet lake. "
    "Set FLEETCAST_DB_URL / FLEETCAST_LAKE_URL (or fleetcast.toml) to use PostgreSQL "
    "and object storage.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
feeds.register(ingest_app)
operator.register(ingest_app)
context.register(ingest_app)
app.add_typer(ingest_app, name="ingest")
app.add_typer(feeds.poll_app, name="poll")
app.add_typer(db_app, name="db")
app.add_typer(serve.apikey_app, name="apikey")
app.add_typer(plan.tasks_app, name="tasks")
app.add_typer(plan.workers_app, name="workers")
app.add_typer(plan.parkings_app, name="parkings")
app.add_typer(carsharing_app, name="carsharing")
app.add_typer(pricing_app, name="pricing")
app.command()(explore.demo)
app.command()(explore.status)
app.command()(explore.demand)
app.command()(forecast.backtest)
app.command()(forecast.train)
app.command()(forecast.forecast)
app.command()(plan.plan)
app.command()(monitor.monitor)
app.command()(serve.serve)
app.command()(serve.dashboard)
app.command()(run)


def _version(value: bool) -> None:
    if value:
        console.print(f"fleetcast {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    home: Annotated[
        Path | None,
        typer.Option(
            help="Store folder (default $FLEETCAST_HOME or ./.fleetcast).", show_default=False
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy db URL (default $FLEETCAST_DB_URL or SQLite in home)."),
    ] = None,
    lake_url: Annotated[
        str | None,
        typer.Option(help="Lake folder or fsspec URL (default $FLEETCAST_LAKE_URL or home/lake)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Demand forecasts, stock targets and rebalancing plans for shared-vehicle fleets."""
    try:
        state.settings = load_settings(home=home, db_url=db_url, lake_url=lake_url)
    except FleetcastError as exc:
        raise fail(str(exc), code=2) from exc


def main() -> None:
    """Entry point of the ``fleetcast`` command."""
    app()
