"""Trip ingest jobs for each source: Chicago's portal (file or API) and generic files."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

import httpx
import polars as pl

from fleetcast.domain import SystemInfo, check_timezone
from fleetcast.errors import NothingLoadedError, SchemaError, SourceError
from fleetcast.geo import Zoning, h3_cells, h3_zoning
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.ingest import (
    IngestReport,
    existing_system,
    hash_in_background,
    ingest_text_table,
    known_zone_ids,
    load_zoning,
    log_unreadable,
    register_system,
    require_file,
)
from fleetcast.sources import chicago, files, socrata
from fleetcast.sources._tabular import TextTable, read_table
from fleetcast.sources.validate import ROW, CheckedTrips
from fleetcast.store import Store

_MALFORMED = {"row_number": pl.Int64, "reason": pl.String, "record": pl.String}


def chicago_system(
    store: Store,
    *,
    system_id: str = "chicago",
    zones: Path | None = None,
    client: httpx.Client | None = None,
) -> tuple[SystemInfo, Zoning]:
    """The Chicago system and its community areas, registering them on first use.

    Community areas come from ``zones`` (the portal's boundaries GeoJSON) when given, else
    from the store; a first ingest without either downloads them from the portal.
    """
    system = existing_system(store, system_id) or replace(chicago.SYSTEM, system_id=system_id)
    zoning = (
        chicago.community_areas(require_file(zones)) if zones else load_zoning(store, system_id)
    )
    if zoning is None:
        cache = store.settings.home / "cache" / "chicago_community_areas.geojson"
        if not cache.is_file():
            try:
                socrata.download_file(
                    socrata.CHICAGO_COMMUNITY_AREAS_GEOJSON_URL, cache, client=client
                )
            except SourceError as exc:
                raise SourceError(
                    f"could not download Chicago's community areas ({exc}); pass the "
                    "boundaries GeoJSON with --zones PATH"
                ) from exc
        zoning = chicago.community_areas(cache)
    register_system(
        store, system, zoning if zones or not known_zone_ids(store, system_id) else None
    )
    return system, zoning


def ingest_chicago_file(
    store: Store,
    path: Path,
    *,
    system_id: str = "chicago",
    zones: Path | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Load a City of Chicago e-scooter trips CSV export into the store."""
    progress = progress or Silent()
    require_file(path)
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        table = chicago.read_trips_csv(path, encoding=encoding)
    except SchemaError as exc:
        log_unreadable(
            store,
            exc,
            system_id=system_id,
            source="chicago",
            location=str(path.resolve()),
            sha256=digest,
        )
        raise
    progress.stage("loading community areas")
    system, zoning = chicago_system(store, system_id=system_id, zones=zones)
    return ingest_text_table(
        store,
        table,
        system=system,
        to_candidates=lambda raw: chicago.to_candidates(raw, timezone=system.timezone),
        source="chicago",
        location=str(path.resolve()),
        zoning=zoning,
        sha256=digest,
        zone_label="community area",
        progress=progress,
    )


def chicago_datasets(since: date, until: date) -> list[str]:
    """The portal's trip datasets that cover [since, until): the 2019 and 2020 pilots, 2022 on."""
    spans = [
        (date(2019, 1, 1), date(2020, 1, 1), socrata.CHICAGO_TRIPS_2019_PILOT),
        (date(2020, 1, 1), date(2022, 1, 1), socrata.CHICAGO_TRIPS_2020_PILOT),
        (date(2022, 1, 1), date.max, socrata.CHICAGO_TRIPS_2022_ON),
    ]
    return [ds for lo, hi, ds in spans if since < hi and until > lo]


def ingest_chicago_api(
    store: Store,
    *,
    since: date,
    until: date,
    system_id: str = "chicago",
    zones: Path | None = None,
    dataset: str | None = None,
    app_token: str | None = None,
    client: httpx.Client | None = None,
    page_size: int = 50_000,
    progress: Progress | None = None,
) -> IngestReport:
    """Fetch trips started in [since, until) (local days) from the portal's SODA API and load them.

    Pages are fetched with retries and backoff; an app token (optional) raises rate limits.
    """
    if until <= since:
        raise SchemaError(f"--until {until} must be after --since {since}")
    progress = progress or Silent()
    progress.stage("loading community areas")
    system, zoning = chicago_system(store, system_id=system_id, zones=zones, client=client)
    start = datetime.combine(since, time())
    end = datetime.combine(until, time())
    frames = []
    fetched = [0]

    def on_page(total: int) -> None:
        progress.advance(total - fetched[0])
        fetched[0] = total

    for dataset_id in [dataset] if dataset else chicago_datasets(since, until):
        fetched[0] = 0
        progress.stage(f"fetching trips from {socrata.CHICAGO_DOMAIN} ({dataset_id})")
        frame = socrata.fetch_frame(
            socrata.CHICAGO_DOMAIN,
            dataset_id,
            where=socrata.between_clause("start_time", start, end),
            order="start_time,trip_id",
            app_token=app_token,
            client=client,
            page_size=page_size,
            on_page=on_page,
        )
        if not frame.is_empty():
            frames.append(socrata.api_frame_to_csv_columns(frame))
    raw = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    if raw.is_empty():
        raise NothingLoadedError(
            f"the portal returned no trips between {since} and {until}; the store was not changed",
            {},
        )
    raw = raw.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    chicago.check_columns(raw)
    keep = [c for c in raw.columns if c in chicago.READ_COLUMNS or c == ROW]
    table = TextTable(raw.select(keep), pl.DataFrame(schema=_MALFORMED))
    return ingest_text_table(
        store,
        table,
        system=system,
        to_candidates=lambda frame: chicago.to_candidates(frame, timezone=system.timezone),
        source="chicago-api",
        location=f"https://{socrata.CHICAGO_DOMAIN}/resource/ ({since}..{until})",
        zoning=zoning,
        zone_label="community area",
        progress=progress,
    )


def ingest_trips_file(
    store: Store,
    path: Path,
    *,
    system_id: str,
    mapping: Mapping[str, str] | None = None,
    zones: Path | None = None,
    zone_id_field: str | None = None,
    zone_name_field: str | None = None,
    h3_resolution: int | None = None,
    timezone: str | None = None,
    country: str | None = None,
    name: str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Load generic trips from a CSV or Parquet file with a column mapping.

    A new system needs its zones: a GeoJSON of polygons (``zones``) or an H3 resolution
    (zones are then the cells trips start and end in). Times without an offset are local
    to the system's timezone.
    """
    progress = progress or Silent()
    require_file(path)
    existing = existing_system(store, system_id)
    zoning: Zoning | None = None
    if zones is not None:
        zoning = Zoning.from_geojson(
            require_file(zones), id_field=zone_id_field, name_field=zone_name_field
        )
    if existing is None:
        if zoning is None and h3_resolution is None:
            raise SchemaError(
                f"system {system_id!r} is new: give its zones with --zones ZONES.geojson "
                "or use a hexagon grid with --h3 RESOLUTION (e.g. 8)"
            )
        system = SystemInfo(
            system_id=system_id,
            name=name or system_id,
            timezone=timezone or "UTC",
            country=country,
            zoning="h3" if zoning is None else "polygons",
            h3_resolution=h3_resolution if zoning is None else None,
        )
    else:
        system = existing
        if timezone and timezone != existing.timezone:
            raise SchemaError(
                f"system {system_id!r} uses timezone {existing.timezone}, not {timezone}"
            )
    check_timezone(system.timezone)
    if zoning is not None or existing is None:
        register_system(store, system, zoning)
    if zoning is None and system.zoning != "h3":
        zoning = load_zoning(store, system_id)
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        table = read_table(path, encoding=encoding)
        resolved = files.resolve_mapping(list(table.frame.columns), mapping or {})
    except SchemaError as exc:
        log_unreadable(
            store,
            exc,
            system_id=system_id,
            source="files",
            location=str(path.resolve()),
            sha256=digest,
        )
        raise

    def candidates(raw: pl.DataFrame) -> pl.DataFrame:
        frame = files.to_candidates(raw, mapping=resolved, timezone=system.timezone)
        if system.zoning == "h3" and system.h3_resolution is not None:
            frame = h3_zones(frame, system.h3_resolution)
        return frame

    on_accepted = h3_zone_grower(store, system) if system.zoning == "h3" else None
    return ingest_text_table(
        store,
        table,
        system=system,
        to_candidates=candidates,
        source="files",
        location=str(path.resolve()),
        zoning=zoning,
        sha256=digest,
        progress=progress,
        on_accepted=on_accepted,
    )


def h3_zone_grower(store: Store, system: SystemInfo) -> Callable[[CheckedTrips], None]:
    """An ``on_accepted`` callback for :func:`ingest_text_table` that adds the H3 cells the
    accepted trips start and end in to ``system``'s zones.

    An H3 system has no fixed zone list: its zones are the cells its trips use, so they
    are registered as trips arrive (before the demand is counted per zone).
    """

    def grow_zones(checked: CheckedTrips) -> None:
        if checked.accepted.is_empty():
            return  # nothing loads; ingest_text_table says why (no cells to add)
        cells = pl.concat(
            [checked.accepted["start_zone"], checked.accepted["end_zone"]]
        ).drop_nulls()
        register_system(store, system, h3_zoning(cells.unique().to_list()))

    return grow_zones


def h3_zones(frame: pl.DataFrame, resolution: int) -> pl.DataFrame:
    """``frame`` with each trip's missing start and end zone set to the H3 cell (at
    ``resolution``) of its start and end point; points off the globe keep a null zone.

    Distinct points are located once and joined back, as trips share many points.
    """
    for end in ("start", "end"):
        lat, lon, zone = f"{end}_lat", f"{end}_lon", f"{end}_zone"
        places = frame.select(lat, lon).unique().drop_nulls()
        places = places.filter(pl.col(lat).abs() <= 90, pl.col(lon).abs() <= 180)
        cells = h3_cells(places[lat].to_numpy(), places[lon].to_numpy(), resolution)
        places = places.with_columns(pl.Series("_cell", cells, dtype=pl.String))
        frame = (
            frame.join(places, on=[lat, lon], how="left", nulls_equal=False, maintain_order="left")
            .with_columns(pl.coalesce(zone, "_cell").alias(zone))
            .drop("_cell")
        )
    return frame
