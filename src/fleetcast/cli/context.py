"""`fleetcast ingest city-facts` and `fleetcast ingest airports`: city context data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fleetcast.cli._common import (
    console,
    counts_table,
    fail,
    open_store,
    parse_day,
    run_with_progress,
    settings,
)
from fleetcast.errors import FleetcastError

SystemArg = Annotated[str, typer.Option(help="System id (it must exist).")]


def register(ingest: typer.Typer) -> None:
    """Add the city-facts and airport-arrivals commands to `fleetcast ingest`."""
    ingest.command("city-facts")(ingest_city_facts)
    ingest.command("airports")(ingest_airports)


def ingest_city_facts(
    system: SystemArg,
    url: Annotated[
        str | None,
        typer.Option(
            help="A city's Wikipedia article, e.g. https://en.wikipedia.org/wiki/Chicago."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="CSV or TOML file: city, population, area_km2, density_per_km2."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Day the facts are for (YYYY-MM-DD); default: the census year or today."),
    ] = None,
) -> None:
    """Load a system's city facts (population, area in km², density) from a page or a file.

    From --url: the article's infobox is read (BeautifulSoup); sq mi, ha and acres are
    converted to km². From --file: CSV columns or TOML keys city, population, area_km2,
    density_per_km2 and optionally as_of. Facts are kept per as_of day; loading the same
    facts again replaces them. Exits 0 when facts load, 1 when the input cannot be used.
    """
    from fleetcast.jobs.city import ingest_city_facts as job

    if (url is None) == (file is None):
        raise fail("give either --url or --file", code=2)
    day = parse_day(as_of, "--as-of") if as_of else None
    store = open_store()
    report = run_with_progress(
        lambda stages: job(store, system_id=system, url=url, path=file, as_of=day, progress=stages)
    )
    table = counts_table(report, title=f"Ingest {report.status}: {escape(report.location)}")
    facts = report.facts
    table.add_row("as of", str(facts.get("as_of")))
    table.add_row("city", escape(str(facts.get("city") or "-")))
    table.add_row("population", _number(facts.get("population"), "{:,.0f}"))
    table.add_row("area (km²)", _number(facts.get("area_km2"), "{:,.1f}"))
    table.add_row("density (per km²)", _number(facts.get("density_per_km2"), "{:,.0f}"))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    _print_reasons(report)


def ingest_airports(
    system: SystemArg,
    airport: Annotated[
        list[str] | None,
        typer.Option("--airport", "-a", help="IATA code of an airport near the system (repeat)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="CSV or Parquet of daily arrivals: airport, date, arrivals."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="First day to fetch (YYYY-MM-DD; default yesterday).")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="The day after the last one (YYYY-MM-DD, exclusive; default 3 days from "
            "today, so the schedule of the days to forecast is in)."
        ),
    ] = None,
) -> None:
    """Load flights landed per day at airports near a system (a forecasting feature).

    With --airport: fetched from AeroDataBox (two requests per airport and day), which needs
    a key in FLEETCAST_AERODATABOX_KEY; without one, arrivals are off and this says so
    (exit 0). With --file: a CSV of daily counts, no key needed. Days are the airports'
    local days; loading the same days again replaces them.
    """
    from fleetcast.jobs.city import (
        ARRIVALS_OFF,
        arrivals_key,
        fetch_airport_arrivals,
        ingest_arrivals_file,
    )
    from fleetcast.jobs.context import system_today

    store = open_store()
    if file is not None:
        if airport or since or until:
            raise fail("--airport, --since and --until fetch from the API; not with --file", code=2)
        report = run_with_progress(
            lambda stages: ingest_arrivals_file(store, file, system_id=system, progress=stages)
        )
        _print_arrivals(report)
        return
    if not airport:
        raise fail("give --airport IATA (repeat for several) or --file", code=2)
    if arrivals_key() is None:
        console.print(f"[yellow]{escape(ARRIVALS_OFF)}[/]")
        return
    try:
        today = system_today(store, system_id=system)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    first = parse_day(since, "--since") if since else today - timedelta(days=1)
    after = parse_day(until, "--until") if until else today + timedelta(days=3)
    if after <= first:
        raise fail(f"--until {after} must be after --since {first}", code=2)
    report = run_with_progress(
        lambda stages: fetch_airport_arrivals(
            store,
            system_id=system,
            airports=airport,
            start=first,
            end=after - timedelta(days=1),
            progress=stages,
        )
    )
    _print_arrivals(report)


def _print_arrivals(report: Any) -> None:
    if report.status == "off":
        console.print(f"[yellow]{escape(report.note or '')}[/]")
        return
    table = counts_table(report, title=f"Ingest {report.status}: {escape(report.location)}")
    table.add_row("airports", ", ".join(report.airports))
    table.add_row("new airport-days (not seen before)", f"{report.rows_new:,}")
    if report.first_day:
        table.add_row("days", f"{report.first_day} .. {report.last_day}")
    for reason, n in report.excluded.items():
        table.add_row(f"flights not counted: {escape(reason)}", f"{n:,}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    _print_reasons(report)


def _print_reasons(report: Any) -> None:
    if not report.reasons:
        return
    reasons = Table(title="Rejected rows by reason", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("rows with this reason", justify="right")
    for reason, n in list(report.reasons.items())[:15]:
        reasons.add_row(escape(reason), f"{n:,}")
    console.print(reasons)
    console.print(
        f"Rejected rows are kept with their reasons in "
        f"[bold]{settings().lake_url}/quarantine/system_id={report.system_id}/[/] "
        f"(ingest id {report.ingest_id})."
    )


def _number(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
