"""`fleetcast ingest mds` and `fleetcast ingest opsdb`: an operator's own data."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

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
    run_with_progress,
    settings,
)
from fleetcast.errors import ConfigError

TOKEN_ENV: Final = "FLEETCAST_MDS_TOKEN"
"""Where the MDS bearer token is read from when --token-env is not given."""

# The options both commands share: how a new system is created and how the report is shown.
_Timezone = Annotated[
    str | None,
    typer.Option(help="IANA timezone of a new system, e.g. America/Chicago (required then)."),
]
_Zones = Annotated[
    Path | None,
    typer.Option(
        help="GeoJSON FeatureCollection of the system's zones (a new system taking trips)."
    ),
]
_H3 = Annotated[
    int | None,
    typer.Option(
        min=0, max=15, help="Use H3 hexagons of this resolution as the zones of a new system."
    ),
]
_ZoneIdField = Annotated[
    str | None,
    typer.Option(help="GeoJSON property holding the zone id (guessed when not given)."),
]
_ZoneNameField = Annotated[
    str | None,
    typer.Option(help="GeoJSON property holding the zone name (guessed when not given)."),
]
_JsonOutput = Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")]


class MdsKind(StrEnum):
    """What an MDS endpoint serves."""

    trips = "trips"
    status_changes = "status_changes"


class OpsdbEntity(StrEnum):
    """What to read from the operator's database."""

    trips = "trips"
    telemetry = "telemetry"


def register(ingest: typer.Typer) -> None:
    """Add the MDS and operator-database commands to `fleetcast ingest`."""
    ingest.command("mds")(ingest_mds)
    ingest.command("opsdb")(ingest_opsdb)


def ingest_mds(
    url_or_dir: Annotated[
        str,
        typer.Argument(
            help="The provider's endpoint, e.g. https://mds.example.com/trips?end_time="
            "2024-06-03T13, or a folder of saved pages (every *.json, in name order).",
            show_default=False,
        ),
    ],
    system: SystemOption,
    kind: Annotated[
        MdsKind, typer.Option(help="trips, or status_changes (MDS 2.0: events).")
    ] = MdsKind.trips,
    token_env: Annotated[
        str | None,
        typer.Option(
            help=f"Environment variable holding the provider's bearer token (default "
            f"{TOKEN_ENV} when it is set). Tokens are never taken on the command line.",
        ),
    ] = None,
    mds_version: Annotated[
        str | None,
        typer.Option(help="Ask for this MDS version (e.g. 1.2 or 2.0) and refuse others."),
    ] = None,
    timezone: _Timezone = None,
    zones: _Zones = None,
    h3: _H3 = None,
    zone_id_field: _ZoneIdField = None,
    zone_name_field: _ZoneNameField = None,
    name: NameOption = None,
    country: CountryOption = None,
    json_output: _JsonOutput = False,
) -> None:
    """Load an MDS provider's trips or vehicle status changes (MDS 0.4, 1.x and 2.0).

    Pages are followed through links.next; nothing is written until every page has been
    read. Trips join the other trips (same checks, daily demand); status changes go to the
    vehicle status history and the newest state per vehicle. Bad records are quarantined
    with their reasons; the command exits 0 when some load and 1 when none can.
    """
    from fleetcast.jobs.operator import NewSystem
    from fleetcast.jobs.operator import ingest_mds as job

    token = _token(token_env)
    store = open_store()
    report = run_with_progress(
        lambda stages: job(
            store,
            url_or_dir,
            system_id=system,
            kind=kind.value,
            token=token,
            version=mds_version,
            new_system=NewSystem(
                timezone, zones, zone_id_field, zone_name_field, h3, name, country
            ),
            progress=stages,
        )
    )
    if json_output:
        _print_json(report.to_dict())
        return
    title = f"MDS {kind.value.replace('_', ' ')} {report.status}: {escape(report.location)}"
    table = _counts(report, title=title)
    table.add_row("MDS version", report.version or "not declared")
    table.add_row("pages", f"{report.pages:,}")
    _days_and_effects(table, report, trips=kind is MdsKind.trips)
    console.print(table)
    _print_reasons(report.reasons, report.system_id, report.ingest_id)


def ingest_opsdb(
    system: SystemOption,
    entity: Annotated[
        OpsdbEntity, typer.Option(help="trips, or telemetry (GPS, battery, lock state).")
    ] = OpsdbEntity.trips,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file with an [opsdb] section (default: the one in fleetcast.toml).",
        ),
    ] = None,
    max_batches: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many batches (the rest next run).")
    ] = None,
    timezone: _Timezone = None,
    zones: _Zones = None,
    h3: _H3 = None,
    zone_id_field: _ZoneIdField = None,
    zone_name_field: _ZoneNameField = None,
    name: NameOption = None,
    country: CountryOption = None,
    json_output: _JsonOutput = False,
) -> None:
    """Read new trips or telemetry from the operator's own MySQL / MariaDB or PostgreSQL.

    Rows are read after the stored watermark, in batches; each batch is stored before the
    watermark moves, so an interrupted run continues where it stopped without loading a row
    twice. The database and the column map come from [opsdb] in fleetcast.toml or --config;
    the password only from FLEETCAST_OPSDB_PASSWORD (or the whole URL from
    FLEETCAST_OPSDB_URL). Exits 0 when the run loaded rows or found none new.
    """
    from fleetcast.jobs.operator import NewSystem
    from fleetcast.jobs.operator import ingest_opsdb as job
    from fleetcast.sources.opsdb import OpsdbConfig

    try:
        loaded = (
            OpsdbConfig.from_toml(config)
            if config is not None
            else OpsdbConfig.from_settings(settings())
        )
        loaded.mapping(entity.value)
    except ConfigError as exc:
        raise fail(str(exc), code=2) from exc
    store = open_store()
    report = run_with_progress(
        lambda stages: job(
            store,
            system_id=system,
            config=loaded,
            entity=entity.value,
            new_system=NewSystem(
                timezone, zones, zone_id_field, zone_name_field, h3, name, country
            ),
            max_batches=max_batches,
            progress=stages,
        )
    )
    if json_output:
        _print_json(report.to_dict())
        return
    title = f"Operator database {entity.value} {report.status}: {escape(report.location)}"
    table = _counts(report, title=title)
    table.add_row("batches", f"{report.batches:,}")
    table.add_row("watermark before", escape(report.watermark_before or "none (first read)"))
    table.add_row("watermark after", escape(report.watermark_after or "none"))
    _days_and_effects(table, report, trips=entity is OpsdbEntity.trips)
    console.print(table)
    if report.rows_read == 0:
        console.print("Nothing new since the last read.")
    _print_reasons(report.reasons, report.system_id, ", ".join(report.ingest_ids[-3:]))


def _token(variable: str | None) -> str | None:
    """The bearer token from the environment: ``variable``'s value, or FLEETCAST_MDS_TOKEN."""
    if variable is None:
        return os.environ.get(TOKEN_ENV) or None
    value = os.environ.get(variable)
    if not value:
        raise fail(
            f"--token-env {variable}: the variable is not set; export {variable}=<the "
            "provider's token> first",
            code=2,
        )
    return value


def _print_json(values: dict[str, Any]) -> None:
    """One JSON document on stdout, nothing else (progress and errors go to stderr)."""
    sys.stdout.write(json.dumps(values, default=str) + "\n")


def _counts(report: Any, *, title: str) -> Table:
    """The rows every operator report shares."""
    table = counts_table(report, title=title)
    table.add_row("new rows (not seen before)", f"{report.rows_new:,}")
    return table


def _days_and_effects(table: Table, report: Any, *, trips: bool) -> None:
    """Days covered, what the run changed besides the lake, and its duration."""
    if report.first_day:
        table.add_row("days", f"{report.first_day} .. {report.last_day}")
    if trips:
        table.add_row("daily demand rows refreshed", f"{report.demand_rows:,}")
    else:
        table.add_row("vehicles whose state was updated", f"{report.vehicles_updated:,}")
    table.add_row("seconds", f"{report.seconds:.1f}")


def _print_reasons(reasons: dict[str, int], system_id: str, ingest_ids: str) -> None:
    """Reject reasons, most frequent first, and where the rejected rows are kept."""
    if not reasons:
        return
    shown = Table(title="Rejected rows by reason", title_justify="left")
    shown.add_column("reason")
    shown.add_column("rows with this reason", justify="right")
    for reason, n in list(reasons.items())[:15]:
        shown.add_row(escape(reason), f"{n:,}")
    console.print(shown)
    console.print(
        f"Rejected rows are kept with their reasons in "
        f"[bold]{escape(settings().lake_url)}/quarantine/system_id={system_id}/[/] "
        f"(ingest id {escape(ingest_ids)})."
    )
