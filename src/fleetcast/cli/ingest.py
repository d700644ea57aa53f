"""`fleetcast ingest ...`: load trips from a source into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetcast.cli._common import (
    RichStages,
    console,
    fail,
    open_store,
    parse_day,
    progress_bar,
    settings,
)
from fleetcast.errors import FleetcastError, NothingLoadedError

ingest_app = typer.Typer(help="Load trips from a source into the store.", no_args_is_help=True)


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
        lake = settings().lake_url
        console.print(
            f"Rejected rows are kept with their reasons in "
            f"[bold]{lake}/quarantine/system_id={report.system_id}/[/] "
            f"(ingest id {report.ingest_id})."
        )


def _run_ingest(job: Any, /, **kwargs: Any) -> None:
    store = open_store()
    with progress_bar() as progress:
        stages = RichStages(progress)
        try:
            report = job(store, progress=stages, **kwargs)
        except NothingLoadedError as exc:
            stages.close()
            raise fail(str(exc)) from exc
        except FleetcastError as exc:
            stages.close()
            raise fail(str(exc)) from exc
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
        raise fail("give either --file PATH or --since DATE --until DATE", code=2)
    if file is not None:
        _run_ingest(
            jobs.ingest_chicago_file, path=file, system_id=system, zones=zones, encoding=encoding
        )
        return
    if until is None:
        raise fail("--since needs --until (the day after the last day to fetch)", code=2)
    _run_ingest(
        jobs.ingest_chicago_api,
        since=parse_day(since, "--since"),
        until=parse_day(until, "--until"),
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
        raise fail(str(exc), code=2) from exc
    if h3 is not None and zones is not None:
        raise fail("give --zones or --h3, not both", code=2)
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
