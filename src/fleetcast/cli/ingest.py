"""`fleetcast ingest ...`: load trips, daily demand and daily weather into the store."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fleetcast.cli._common import (
    CountryOption,
    NameOption,
    SystemOption,
    console,
    counts_table,
    fail,
    open_store,
    parse_day,
    run_with_progress,
    settings,
)
from fleetcast.errors import FleetcastError

ingest_app = typer.Typer(
    help="Load trips, daily demand, daily weather and city context (facts, airport arrivals) "
    "into the store.",
    no_args_is_help=True,
)

_MAP_HELP_DEMAND = (
    "field=Column pairs when the file's columns are named otherwise, e.g. "
    "--map zone_id=Area,date=Day,trips=Rides. Fields: zone_id, date, trips."
)
_MAP_HELP_WEATHER = (
    "field=Column pairs when the file's columns are named otherwise, e.g. "
    "--map date=Day,precip_mm=Rain. Fields: date, temp_max_c, temp_min_c, precip_mm, "
    "wind_max_kmh (°C, mm, km/h). Meteostat's date/time, tmax, tmin, prcp, wspd/wpgt "
    "are understood without it."
)


class WeatherKindOption(StrEnum):
    """What a weather file holds."""

    observed = "observed"
    forecast = "forecast"


def _report_table(report: Any, *, title: str) -> Table:
    from fleetcast.jobs.context import DemandReport, WeatherReport

    table = counts_table(report, title=title)
    if isinstance(report, WeatherReport):
        table.add_row(f"new {report.kind} days (not seen before)", f"{report.rows_new:,}")
    elif isinstance(report, DemandReport):
        table.add_row("new zone-days (not seen before)", f"{report.rows_new:,}")
    else:
        table.add_row("new trips (not seen before)", f"{report.rows_new:,}")
    if report.first_day:
        table.add_row("days", f"{report.first_day} .. {report.last_day}")
    if isinstance(report, DemandReport):
        table.add_row("zones created", f"{report.zones_created:,}")
        table.add_row("daily demand rows written (zero-filled)", f"{report.demand_rows:,}")
    elif not isinstance(report, WeatherReport):
        table.add_row("daily demand rows refreshed", f"{report.demand_rows:,}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    return table


def _print_ingest(report: Any) -> None:
    title = f"Ingest {report.status}: {escape(report.location)}"
    console.print(_report_table(report, title=title))
    missing = getattr(report, "missing", None)
    if missing:
        kept = Table(title="Missing values (kept as null)", title_justify="left")
        kept.add_column("column")
        kept.add_column("days without a value", justify="right")
        for column, n in missing.items():
            kept.add_row(column, f"{n:,}")
        console.print(kept)
    if report.reasons:
        reasons = Table(title="Rejected rows by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("rows with this reason", justify="right")
        for reason, n in list(report.reasons.items())[:15]:
            reasons.add_row(escape(reason), f"{n:,}")
        console.print(reasons)
        lake = settings().lake_url
        console.print(
            f"Rejected rows are kept with their reasons in "
            f"[bold]{lake}/quarantine/system_id={report.system_id}/[/] "
            f"(ingest id {report.ingest_id})."
        )


def _run_ingest(job: Any, /, **kwargs: Any) -> None:
    store = open_store()
    report = run_with_progress(lambda stages: job(store, progress=stages, **kwargs))
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
    system: SystemOption,
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
    country: CountryOption = None,
    name: NameOption = None,
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


@ingest_app.command("demand")
def ingest_demand(
    path: Annotated[
        Path, typer.Argument(help="CSV or Parquet file with one row per zone and day.")
    ],
    system: Annotated[str, typer.Option(help="System id to load into (created if new).")],
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA timezone of a new system, e.g. America/Chicago (required then)."),
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Country code for public holidays, e.g. US or FR.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Region code within the country, e.g. IL (with --country).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name of the system.")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help=_MAP_HELP_DEMAND)] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the file when not UTF-8.")
    ] = None,
) -> None:
    """Load daily trips per zone (zone_id, date, trips) for operators who only have daily counts.

    Dates are the system's local days (YYYY-MM-DD). A new system needs --timezone; when
    the system has no zones yet, zones are created from the file's zone ids. Every zone
    gets a row on every day from the file's first to its last day (0 where the file has
    none), replacing what was stored for those days, so loading a file twice changes
    nothing. Bad rows are quarantined with their reason; the command still exits 0 when
    some rows load, and exits 1 when the file cannot be used.
    """
    from fleetcast.jobs.context import ingest_demand_file
    from fleetcast.sources.files import DEMAND_FIELDS, parse_mapping

    try:
        mapping = parse_mapping(map_, fields=DEMAND_FIELDS)
    except FleetcastError as exc:
        raise fail(str(exc), code=2) from exc
    _run_ingest(
        ingest_demand_file,
        path=path,
        system_id=system,
        timezone=timezone,
        country=country,
        subdivision=region,
        mapping=mapping,
        name=name,
        encoding=encoding,
    )


@ingest_app.command("weather")
def ingest_weather(
    system: Annotated[str, typer.Option(help="System id (it must exist).")],
    path: Annotated[
        Path | None,
        typer.Argument(help="CSV or Parquet file of daily weather (leave out with --open-meteo)."),
    ] = None,
    open_meteo: Annotated[
        bool,
        typer.Option(
            "--open-meteo",
            help="Fetch from Open-Meteo (no key) at the system's centre instead of a file.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="With --open-meteo: first past day to fetch (YYYY-MM-DD)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="With --open-meteo: the day after the last one (YYYY-MM-DD, exclusive, "
            "as in ingest chicago)."
        ),
    ] = None,
    forecast_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=16, help="With --open-meteo: forecast for N days from today (1-16)."
        ),
    ] = None,
    lat: Annotated[
        float | None,
        typer.Option(help="With --open-meteo: latitude of the system's centre (saved)."),
    ] = None,
    lon: Annotated[
        float | None,
        typer.Option(help="With --open-meteo: longitude of the system's centre (saved)."),
    ] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help=_MAP_HELP_WEATHER)] = None,
    kind: Annotated[
        WeatherKindOption, typer.Option(help="What a file holds: observed or forecast.")
    ] = WeatherKindOption.observed,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the file when not UTF-8.")
    ] = None,
) -> None:
    """Load daily weather (max/min temperature, precipitation, max wind) for a system.

    From a file: CSV or Parquet with a date column (YYYY-MM-DD) and values in °C, mm and
    km/h; a Meteostat daily export loads as it is. From Open-Meteo: --since/--until reads
    past days from its archive, --forecast-days N the forecast for today and the next
    days, at the system's centre (give it once with --lat/--lon). Days are the system's
    local days. Re-loading the same days replaces them. Missing values are kept as null and
    counted; impossible ones (negative precipitation, a temperature outside -80..60 °C, max
    below min) are quarantined with their reason. Exits 0 when some rows load, 1 when the
    input cannot be used.
    """
    from fleetcast.jobs.context import fetch_weather, ingest_weather_file
    from fleetcast.sources.weather import parse_weather_mapping

    if open_meteo == (path is not None):
        raise fail("give either a file PATH or --open-meteo", code=2)
    if path is not None:
        if since or until or forecast_days or lat is not None or lon is not None:
            raise fail(
                "--since, --until, --forecast-days, --lat and --lon go with --open-meteo", code=2
            )
        try:
            mapping = parse_weather_mapping(map_)
        except FleetcastError as exc:
            raise fail(str(exc), code=2) from exc
        _run_ingest(
            ingest_weather_file,
            path=path,
            system_id=system,
            mapping=mapping,
            kind=kind.value,
            encoding=encoding,
        )
        return
    if map_:
        raise fail("--map goes with a file PATH, not --open-meteo", code=2)
    if (since is None) == (forecast_days is None):
        raise fail("with --open-meteo give --since DATE --until DATE, or --forecast-days N", code=2)
    if forecast_days is not None:
        if until is not None:
            raise fail("--until goes with --since, not --forecast-days", code=2)
        _run_ingest(_fetch_forecast, system_id=system, days=forecast_days, lat=lat, lon=lon)
        return
    if until is None:
        raise fail("--since needs --until (the day after the last day to fetch)", code=2)
    first, after = parse_day(since, "--since"), parse_day(until, "--until")
    if after <= first:
        raise fail(f"--until {after} must be after --since {first}", code=2)
    _run_ingest(
        fetch_weather,
        system_id=system,
        start=first,
        end=after - timedelta(days=1),
        kind="observed",
        lat=lat,
        lon=lon,
    )


def _fetch_forecast(
    store: Any, *, system_id: str, days: int, lat: float | None, lon: float | None, progress: Any
) -> Any:
    """The forecast from today (in the system's timezone) for ``days`` days."""
    from fleetcast.jobs.context import fetch_weather, system_today

    today = system_today(store, system_id=system_id)
    return fetch_weather(
        store,
        system_id=system_id,
        start=today,
        end=today + timedelta(days=days - 1),
        kind="forecast",
        lat=lat,
        lon=lon,
        progress=progress,
    )
