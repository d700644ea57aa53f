"""The fleetcast command line: thin commands over jobs, with Rich output and progress."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fleetcast import __version__
from fleetcast.config import Settings, load_settings
from fleetcast.errors import FleetcastError, NothingLoadedError

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
ingest_app = typer.Typer(help="Load trips from a source into the store.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the db schema (migrations).", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)


class _State:
    settings: Settings | None = None


_state = _State()


def _settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings()
    return _state.settings


def _store() -> Any:
    from fleetcast.store import Store

    return Store(_settings())


def _fail(message: str, *, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


class RichStages:
    """Shows each stage of a job as a Rich progress line with a spinner and elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: Any = None

    def stage(self, description: str, total: float | None = None) -> None:
        """Close the running stage and start the next one."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total or 1, total=task.total or 1)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: float = 1.0) -> None:
        """Move the running stage on."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def close(self) -> None:
        """Mark the last stage done."""
        self.stage("done", total=1)
        self._progress.update(self._task, visible=False)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not _progress_forced(),
    )


def _progress_forced() -> bool:
    import os

    return os.environ.get("FLEETCAST_PROGRESS", "") == "1"


def _prog() -> str:
    """How the user called us, so printed next steps can be pasted as they are."""
    import os

    argv0 = sys.argv[0] if sys.argv else "fleetcast"
    if Path(argv0).name != "fleetcast":
        return "fleetcast"
    relative = os.path.relpath(argv0)
    return relative if not relative.startswith("..") and os.sep in relative else "fleetcast"


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
        _state.settings = load_settings(home=home, db_url=db_url, lake_url=lake_url)
    except FleetcastError as exc:
        raise _fail(str(exc), code=2) from exc


def _report_table(report: Any, *, title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("system", report.system_id)
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("accepted", f"{report.rows_accepted:,}")
    table.add_row("rejected (quarantined)", f"{report.rows_rejected:,}")
    table.add_row("new trips (not seen before)", f"{report.rows_new:,}")
    if report.first_day:
        table.add_row("days", f"{report.first_day} .. {report.last_day}")
    table.add_row("daily demand rows refreshed", f"{report.demand_rows:,}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    return table


def _print_ingest(report: Any) -> None:
    console.print(_report_table(report, title=f"Ingest {report.status}: {report.location}"))
    if report.reasons:
        reasons = Table(title="Rejected rows by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("rows with this reason", justify="right")
        for reason, n in list(report.reasons.items())[:15]:
            reasons.add_row(reason, f"{n:,}")
        console.print(reasons)
        lake = _settings().lake_url
        console.print(
            f"Rejected rows are kept with their reasons in "
            f"[bold]{lake}/quarantine/system_id={report.system_id}/[/] "
            f"(ingest id {report.ingest_id})."
        )


def _run_ingest(job: Any, /, **kwargs: Any) -> None:
    store = _store()
    with _progress() as progress:
        stages = RichStages(progress)
        try:
            report = job(store, progress=stages, **kwargs)
        except NothingLoadedError as exc:
            stages.close()
            raise _fail(str(exc)) from exc
        except FleetcastError as exc:
            stages.close()
            raise _fail(str(exc)) from exc
        stages.close()
    _print_ingest(report)


@ingest_app.command("chicago")
def ingest_chicago(
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="The portal's 'E-Scooter Trips' CSV export."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="First local day to fetch from the SODA API (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Day after the last one to fetch (YYYY-MM-DD, exclusive).")
    ] = None,
    system: Annotated[str, typer.Option(help="System id to load into.")] = "chicago",
    zones: Annotated[
        Path | None,
        typer.Option(help="Community areas GeoJSON (downloaded from the portal when absent)."),
    ] = None,
    app_token: Annotated[
        str | None,
        typer.Option(envvar="FLEETCAST_SOCRATA_APP_TOKEN", help="Socrata app token (optional)."),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Portal dataset id (default: chosen by the dates).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the file when not UTF-8 (e.g. latin-1).")
    ] = None,
) -> None:
    """Load City of Chicago e-scooter trips from a CSV export (--file) or the API (--since).


    Zones are the 77 community areas. Rows that fail validation are quarantined with their
    reason; the command still exits 0 when some rows load. Re-loading the same trips is
    idempotent.
    """
    from fleetcast import jobs

    if (file is None) == (since is None):
        raise _fail("give either --file PATH or --since DATE --until DATE", code=2)
    if file is not None:
        _run_ingest(
            jobs.ingest_chicago_file, path=file, system_id=system, zones=zones, encoding=encoding
        )
        return
    if until is None:
        raise _fail("--since needs --until (the day after the last day to fetch)", code=2)
    _run_ingest(
        jobs.ingest_chicago_api,
        since=_parse_day(since, "--since"),
        until=_parse_day(until, "--until"),
        system_id=system,
        zones=zones,
        app_token=app_token,
        dataset=dataset,
    )


@ingest_app.command("trips")
def ingest_trips(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file of trips.")],
    system: Annotated[str, typer.Option(help="System id to load into (created if new).")],
    zones: Annotated[
        Path | None, typer.Option(help="GeoJSON FeatureCollection of the system's zones.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="field=Column pairs, e.g. --map started_at='Start Time',start_lat=lat. "
            "Fields: trip_id, started_at, ended_at, start_lat, start_lon, end_lat, end_lon, "
            "start_zone, end_zone, distance_m, duration_s, vehicle_id, vehicle_type, provider.",
        ),
    ] = None,
    h3: Annotated[
        int | None, typer.Option(min=0, max=15, help="Use H3 hexagons of this resolution as zones.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA timezone of a new system (naive times are local).")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country code of a new system.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name of a new system.")] = None,
    zone_id_field: Annotated[
        str | None, typer.Option(help="GeoJSON property holding the zone id.")
    ] = None,
    zone_name_field: Annotated[
        str | None, typer.Option(help="GeoJSON property holding the zone name.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the file when not UTF-8.")
    ] = None,
) -> None:
    """Load trips from any CSV or Parquet file, naming its columns with --map.

    Only start and end times are required, plus a start zone or start coordinates; trips
    with coordinates but no zone get the zone that contains them. Files without a trip id
    get one from each row's content, so loading a file twice keeps one copy.
    """
    from fleetcast import jobs
    from fleetcast.sources.files import parse_mapping

    try:
        mapping = parse_mapping(map_)
    except FleetcastError as exc:
        raise _fail(str(exc), code=2) from exc
    if h3 is not None and zones is not None:
        raise _fail("give --zones or --h3, not both", code=2)
    _run_ingest(
        jobs.ingest_trips_file,
        path=path,
        system_id=system,
        mapping=mapping,
        zones=zones,
        zone_id_field=zone_id_field,
        zone_name_field=zone_name_field,
        h3_resolution=h3,
        timezone=timezone,
        country=country,
        name=name,
        encoding=encoding,
    )


def _parse_day(value: str | None, option: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _fail(f"{option} {value!r} is not a date: use YYYY-MM-DD", code=2) from exc


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same city.")] = 7,
    days: Annotated[int, typer.Option(min=28, max=3650, help="Days of history to generate.")] = 730,
) -> None:
    """Build the demo city (zones, 2 years of trips, weather, fleet) and run every job on it.

    Replaces an earlier demo system; other systems in the store are left alone.
    """
    from fleetcast import jobs

    store = _store()
    with _progress() as progress:
        stages = RichStages(progress)
        try:
            report = jobs.build_demo(store, seed=seed, days=days, progress=stages)
        except FleetcastError as exc:
            stages.close()
            raise _fail(str(exc)) from exc
        stages.close()
    settings = _settings()
    table = Table(title="Demo city built", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in (
        ("system", report.system_id),
        ("zones", f"{report.zones:,}"),
        ("trips", f"{report.trips:,}"),
        ("days", f"{report.first_day} .. {report.last_day} ({report.days})"),
        ("daily demand rows", f"{report.demand_rows:,}"),
        ("vehicles (current snapshot)", f"{report.vehicles:,}"),
        ("parkings", f"{report.parkings:,}"),
        ("depots", f"{report.depots:,}"),
        ("seconds", f"{report.seconds:.1f}"),
    ):
        table.add_row(label, value)
    console.print(table)
    console.print(f"Results: db [bold]{settings.db_url}[/], lake [bold]{settings.lake_url}[/]")
    prog = _prog()
    console.print(
        f"Next: [bold]{prog} status[/]  ·  "
        f"[bold]{prog} demand --system demo --start {report.last_day}[/]  ·  "
        f"[bold]{prog} --help[/]"
    )


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Systems in the store with zones, trips, days covered, and the last ingests."""
    from fleetcast.jobs import store_status

    try:
        info = store_status(_store())
    except FleetcastError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    console.print(f"db {info['store']['db']}  ·  lake {info['store']['lake']}")
    if not info["systems"]:
        console.print(
            "The store is empty. Try [bold]fleetcast demo[/] or "
            "[bold]fleetcast ingest chicago --file TRIPS.csv[/]."
        )
        return
    systems = Table(title="Systems", title_justify="left")
    for column in ("system", "zones", "trips", "first day", "last day", "days", "vehicles"):
        systems.add_column(column, justify="left" if column == "system" else "right")
    for s in info["systems"]:
        systems.add_row(
            s["system_id"],
            f"{s['zones']:,}",
            f"{s['trips']:,}",
            str(s["first_day"] or "-"),
            str(s["last_day"] or "-"),
            f"{s['days']:,}",
            f"{s['vehicles']:,}",
        )
    console.print(systems)
    ingests = Table(title="Last ingests", title_justify="left")
    for column in ("when (UTC)", "system", "source", "status", "read", "accepted", "rejected"):
        ingests.add_column(column)
    for log in info["ingests"]:
        ingests.add_row(
            str(log["started_at"])[:19],
            log["system_id"],
            log["source"],
            log["status"],
            f"{log['rows_read']:,}",
            f"{log['rows_accepted']:,}",
            f"{log['rows_rejected']:,}",
        )
    console.print(ingests)


class OutputFormat(StrEnum):
    """How tabular output is written."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def demand(
    system: Annotated[str, typer.Option(help="System id.")],
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD).")] = None,
    zone: Annotated[list[str] | None, typer.Option(help="Only these zone ids.")] = None,
    hourly: Annotated[bool, typer.Option(help="Hourly counts, recounted from the lake.")] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv or json.")
    ] = OutputFormat.table,
) -> None:
    """Trips per zone and local day (every zone on every day, zero-filled)."""
    from fleetcast.jobs.queries import demand_frame

    first = _parse_day(start, "--start") if start else None
    last = _parse_day(end, "--end") if end else None
    try:
        frame = demand_frame(_store(), system, start=first, end=last, zones=zone, hourly=hourly)
    except FleetcastError as exc:
        raise _fail(str(exc)) from exc
    _write_frame(frame, output)


def _write_frame(frame: pl.DataFrame, output: OutputFormat) -> None:
    if output is OutputFormat.csv:
        sys.stdout.write(frame.write_csv())
    elif output is OutputFormat.json:
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
    else:
        table = Table()
        for column in frame.columns:
            table.add_column(
                column, justify="right" if frame[column].dtype.is_numeric() else "left"
            )
        shown = frame.head(200)
        for row in shown.iter_rows():
            table.add_row(*[str(v) for v in row])
        console.print(table)
        if frame.height > shown.height:
            console.print(f"… {frame.height - shown.height:,} more rows (use --format csv)")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the db schema to the newest version (other commands do it on use)."""
    from fleetcast.store import db

    settings = _settings()
    try:
        engine = db.make_engine(settings.db_url)
        before = db.current_revision(engine)
        db.upgrade(engine, revision)
        after = db.current_revision(engine)
    except FleetcastError as exc:
        raise _fail(str(exc)) from exc
    except Exception as exc:
        raise _fail(f"could not reach or migrate {settings.db_url}: {exc}") from exc
    console.print(f"db at revision [bold]{after}[/] (was {before or 'empty'})")


@db_app.command("current")
def db_current() -> None:
    """Show the db's schema revision and the newest one this version ships."""
    from fleetcast.store import db

    engine = db.make_engine(_settings().db_url)
    console.print(f"db {db.current_revision(engine) or 'empty'}  ·  newest {db.head_revision()}")


def main() -> None:
    """Entry point of the ``fleetcast`` command."""
    app()
