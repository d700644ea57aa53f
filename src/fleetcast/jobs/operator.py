"""Jobs for an operator's own data: MDS provider feeds and the operator's own database.

Trips from either go through the same validation and TRIPS ingest as every trips source
(:func:`fleetcast.jobs.ingest.ingest_text_table`: lake, quarantine, daily demand, ingest
log). Vehicle status changes land in the lake's VEHICLE_STATUS history and the db's newest
state per vehicle; telemetry lands in TELEMETRY and the same newest state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import httpx
import polars as pl
import sqlalchemy as sa
from sqlalchemy import Engine

from fleetcast.domain import Dataset, SystemInfo, check_timezone
from fleetcast.errors import (
    ConfigError,
    NothingLoadedError,
    SchemaError,
    SourceError,
)
from fleetcast.geo import Zoning
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.ingest import (
    Candidates,
    IngestReport,
    existing_system,
    ingest_text_table,
    load_zoning,
    quarantine_frame,
    register_system,
    require_file,
)
from fleetcast.jobs.status import json_value
from fleetcast.jobs.trips import h3_zone_grower, h3_zones
from fleetcast.sources import _checks, mds, opsdb
from fleetcast.sources._tabular import TextTable
from fleetcast.sources.mds import Kind
from fleetcast.sources.opsdb import Entity, OpsdbConfig, TableMapping
from fleetcast.sources.validate import CheckedTrips
from fleetcast.store import Store, records, state
from fleetcast.store.lake import check_system_id
from fleetcast.store.tables import Watermark as WatermarkRow

MDS_SOURCE: Final = "mds"
OPSDB_SOURCE: Final = "opsdb"
_BATCH_IDS: Final = uuid.UUID("0b5e7c52-61f4-4f0e-9d0e-6f7f0c1e2a11")
"""Namespace of the ingest ids of database batches (the same batch gets the same id)."""


@dataclass(slots=True)
class MdsReport:
    """What one MDS ingest did."""

    ingest_id: str
    system_id: str
    kind: str
    location: str
    version: str | None
    pages: int
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_new: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None
    demand_rows: int = 0
    vehicles_updated: int = 0
    seconds: float = 0.0
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {k: json_value(v) for k, v in asdict(self).items()}


@dataclass(slots=True)
class OpsdbReport:
    """What one read of the operator's database did, batch counts summed."""

    system_id: str
    entity: str
    source: str
    location: str
    watermark_before: str | None
    watermark_after: str | None
    batches: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_new: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None
    demand_rows: int = 0
    vehicles_updated: int = 0
    ingest_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {k: json_value(v) for k, v in asdict(self).items()}

    def add(self, part: IngestReport | _Loaded) -> None:
        """Count one more batch in."""
        self.batches += 1
        self.rows_read += part.rows_read
        self.rows_accepted += part.rows_accepted
        self.rows_rejected += part.rows_rejected
        self.rows_new += part.rows_new
        for reason, n in part.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n
        self.reasons = dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        days = [d for d in (self.first_day, self.last_day, part.first_day, part.last_day) if d]
        if days:
            self.first_day, self.last_day = min(days), max(days)
        self.ingest_ids.append(part.ingest_id)
        if isinstance(part, IngestReport):
            self.demand_rows += part.demand_rows
        else:
            self.vehicles_updated += part.vehicles_updated
        if part.rows_rejected:
            self.status = "partial"


@dataclass(slots=True)
class _Loaded:
    """Counts of one snapshot load (status changes or a telemetry batch)."""

    ingest_id: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_new: int
    reasons: dict[str, int]
    first_day: date | None
    last_day: date | None
    vehicles_updated: int


@dataclass(frozen=True, slots=True)
class NewSystem:
    """How to create a system on first use: its timezone and zones (a GeoJSON with optional
    id / name properties, or an H3 resolution), name and country. For an existing system the
    timezone and H3 resolution must agree and zones given are added."""

    timezone: str | None = None
    zones: Path | None = None
    zone_id_field: str | None = None
    zone_name_field: str | None = None
    h3_resolution: int | None = None
    name: str | None = None
    country: str | None = None


def operator_system(
    store: Store,
    system_id: str,
    *,
    new: NewSystem | None = None,
    for_trips: bool = True,
) -> tuple[SystemInfo, Zoning | None]:
    """The system to load into and its zoning, created on first use.

    A new system needs its ``timezone`` (its days are local days) and, to take trips, its
    zones: polygons from a GeoJSON (``zones``) or an H3 grid (``h3_resolution``). Zones given
    for an existing system are added to it. An H3 system's zoning is None for trips (cells
    are computed from the points and added as trips arrive).
    """
    new = new or NewSystem()
    timezone, zones, h3_resolution = new.timezone, new.zones, new.h3_resolution
    try:
        check_system_id(system_id)
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc
    if zones is not None and h3_resolution is not None:
        raise SchemaError("give zones (a GeoJSON) or an H3 resolution, not both")
    zoning = (
        Zoning.from_geojson(
            require_file(zones), id_field=new.zone_id_field, name_field=new.zone_name_field
        )
        if zones is not None
        else None
    )
    existing = existing_system(store, system_id)
    if existing is None:
        if timezone is None:
            raise SchemaError(
                f"system {system_id!r} is new: give its timezone with --timezone "
                "(an IANA name such as America/Chicago)"
            )
        if for_trips and zoning is None and h3_resolution is None:
            raise SchemaError(
                f"system {system_id!r} is new: give its zones with --zones ZONES.geojson "
                "or use a hexagon grid with --h3 RESOLUTION (e.g. 8)"
            )
        system = SystemInfo(
            system_id=system_id,
            name=new.name or system_id,
            timezone=check_timezone(timezone),
            country=new.country,
            zoning="h3" if zoning is None and h3_resolution is not None else "polygons",
            h3_resolution=h3_resolution if zoning is None else None,
        )
        register_system(store, system, zoning)
    else:
        system = existing
        if timezone is not None and timezone != system.timezone:
            raise SchemaError(
                f"system {system_id!r} uses timezone {system.timezone}, not {timezone}"
            )
        if h3_resolution is not None and system.h3_resolution != h3_resolution:
            raise SchemaError(
                f"system {system_id!r} has {system.zoning} zones"
                f"{f' at H3 resolution {system.h3_resolution}' if system.h3_resolution else ''}"
                f", not H3 resolution {h3_resolution}"
            )
        if zoning is not None:
            if system.zoning == "h3":
                raise SchemaError(
                    f"system {system_id!r} uses H3 cells as zones; it takes no zones GeoJSON"
                )
            register_system(store, system, zoning)
    if zoning is None:
        zoning = load_zoning(store, system_id)
    if for_trips and zoning is None and system.zoning != "h3":
        raise SchemaError(
            f"system {system_id!r} has no zones yet: give them with --zones ZONES.geojson"
        )
    return system, zoning


def _trip_path(
    store: Store, system: SystemInfo, zoning: Zoning | None
) -> tuple[Candidates, Zoning | None, Callable[[CheckedTrips], None]]:
    """How trips of ``system`` get their zones: located in its polygons, or H3 cells that
    are added to the system as trips arrive in them."""
    resolution = system.h3_resolution
    if system.zoning != "h3" or resolution is None:
        return (lambda frame: frame), zoning, (lambda checked: None)
    return (lambda frame: h3_zones(frame, resolution)), None, h3_zone_grower(store, system)


def ingest_mds(
    store: Store,
    url_or_dir: str | Path,
    *,
    system_id: str,
    kind: Kind = "trips",
    token: str | None = None,
    version: str | None = None,
    new_system: NewSystem | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> MdsReport:
    """Load an MDS provider's trips or status changes from a URL or a folder of saved pages.

    Every page is fetched (following ``links.next``) before anything is written, so a feed
    that fails half-way leaves the store as it was. Trips go through the TRIPS ingest (a
    re-load keeps one copy per trip id); status changes are added to the VEHICLE_STATUS
    history and the newest per vehicle becomes the db state. Bad records are quarantined
    with their reasons; a feed with records but no good one raises NothingLoadedError.
    """
    progress = progress or Silent()
    began = perf_counter()
    if kind not in mds.KINDS:
        raise SchemaError(f"kind {kind!r} not understood: use 'trips' or 'status_changes'")
    location = str(url_or_dir) if mds.is_url(url_or_dir) else str(Path(url_or_dir).resolve())
    system, zoning = operator_system(
        store,
        system_id,
        new=new_system,
        for_trips=kind == "trips",
    )
    dataset = Dataset.TRIPS if kind == "trips" else Dataset.VEHICLE_STATUS
    progress.stage(f"fetching MDS {kind.replace('_', ' ')}")
    try:
        pages = mds.fetch_pages(
            url_or_dir,
            kind=kind,
            token=token,
            version=version,
            client=client,
            on_page=lambda page: progress.advance(),
        )
    except Exception as exc:
        _log_failed(
            store, exc, system_id=system_id, source=MDS_SOURCE, dataset=dataset, location=location
        )
        raise
    declared = next((p.version for p in pages if p.version), None)
    report = MdsReport("", system_id, kind, location, declared, len(pages))
    if kind == "trips":
        raw = mds.parse_trips(pages)
        if raw.is_empty():
            return _log_empty(store, report, dataset, began)
        post, trip_zoning, grow = _trip_path(store, system, zoning)
        loaded = ingest_text_table(
            store,
            TextTable(raw, pl.DataFrame(schema=_checks.REJECTED_SCHEMA)),
            system=system,
            to_candidates=lambda frame: post(mds.trip_candidates(frame)),
            source=MDS_SOURCE,
            location=location,
            zoning=trip_zoning,
            progress=progress,
            on_accepted=grow,
        )
        report.ingest_id, report.status = loaded.ingest_id, loaded.status
        report.rows_read, report.rows_accepted = loaded.rows_read, loaded.rows_accepted
        report.rows_rejected, report.rows_new = loaded.rows_rejected, loaded.rows_new
        report.reasons, report.demand_rows = loaded.reasons, loaded.demand_rows
        report.first_day, report.last_day = loaded.first_day, loaded.last_day
        report.seconds = perf_counter() - began
        return report
    raw = mds.parse_status_changes(pages)
    if raw.is_empty():
        return _log_empty(store, report, dataset, began)
    progress.stage("validating status changes")
    checked = mds.check_status_changes(
        raw, system_id=system_id, timezone=system.timezone, zoning=zoning
    )
    ingest_id = str(uuid.uuid4())
    if checked.accepted.is_empty():
        error = _nothing_loaded(location, checked.rows_read, checked.reasons)
        _log_failed(
            store,
            error,
            system_id=system_id,
            source=MDS_SOURCE,
            dataset=dataset,
            location=location,
            checked=checked,
        )
        raise error
    progress.stage("writing vehicle status")
    loaded_status = _load_snapshots(
        store,
        dataset=dataset,
        rows=checked.accepted,
        rejected=checked.rejected,
        states=checked.accepted,
        reasons=checked.reasons,
        rows_read=checked.rows_read,
        system_id=system_id,
        ingest_id=ingest_id,
        source=MDS_SOURCE,
        location=location,
    )
    report.ingest_id = ingest_id
    report.rows_read, report.rows_accepted = checked.rows_read, checked.accepted.height
    report.rows_rejected, report.rows_new = checked.rejected.height, loaded_status.rows_new
    report.reasons, report.vehicles_updated = checked.reasons, loaded_status.vehicles_updated
    report.first_day, report.last_day = loaded_status.first_day, loaded_status.last_day
    report.status = "partial" if report.rows_rejected else "ok"
    report.seconds = perf_counter() - began
    return report


def ingest_opsdb(
    store: Store,
    *,
    system_id: str,
    config: OpsdbConfig,
    entity: Entity = "trips",
    new_system: NewSystem | None = None,
    max_batches: int | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> OpsdbReport:
    """Load the rows of the operator's database that came after the stored watermark.

    Rows are read in (watermark, key) order, ``config.batch_size`` at a time (at most
    ``max_batches`` batches when given); each batch is loaded and then its last row becomes
    the watermark, so the next run (or batch) starts after it.

    Why a crash at any point neither skips nor duplicates rows: a batch first goes to the
    lake, whose writes are idempotent (trips are keyed by trip id; a telemetry batch's file
    is named by its rows' keys), and only then does the watermark move, in the one db
    transaction that also closes the ingest log (and, for telemetry, writes the newest
    vehicle state). A crash before that commit leaves the old watermark, so the
    re-run reads the same rows again: the lake keeps one copy of each, daily demand is
    recounted from the lake, and the state is written as if for the first time. A crash
    after the commit leaves nothing to redo. Rows are never skipped because the watermark
    only ever names a row whose batch is stored.

    A batch in which no row is good raises NothingLoadedError and leaves the watermark
    before it: a whole batch of bad rows usually means a wrong column map, and those rows
    are read again (with newer ones) once it is fixed.

    Rows whose key is null are quarantined with their batch (see
    :func:`fleetcast.sources.opsdb.read_batches`), so a null never becomes the watermark.
    The watermark is stored with the ordering it belongs to (watermark column, kind, key);
    if the settings now give another, the run stops with a ConfigError before reading,
    saying which watermarks row to delete (or :func:`reset_opsdb_watermark`), because a
    position in one ordering would skip or repeat rows in another.
    """
    progress = progress or Silent()
    began = perf_counter()
    mapping = config.mapping(entity)
    system, zoning = operator_system(
        store,
        system_id,
        new=new_system,
        for_trips=entity == "trips",
    )
    source = config.source_key(entity)
    with store.connect() as conn:
        stored = state.get_watermark(conn, system_id, source, entity)
    try:
        since = opsdb.resume_from(stored, mapping) if stored is not None else None
    except ConfigError as exc:
        raise ConfigError(
            f"{exc}. Put the old settings back, or read {mapping.table} again from its first "
            f"row by deleting its stored watermark: the row of the watermarks table with "
            f"system_id = {system_id!r}, source = {source!r} and entity = {entity!r} (or "
            "call fleetcast.jobs.operator.reset_opsdb_watermark)"
        ) from exc
    shown_table = f"{mapping.schema}.{mapping.table}" if mapping.schema else mapping.table
    report = OpsdbReport(
        system_id=system_id,
        entity=entity,
        source=source,
        location=f"{config.shown_url} {shown_table}",
        watermark_before=None if since is None else str(since),
        watermark_after=None if since is None else str(since),
    )
    local = config.timezone or system.timezone
    post, trip_zoning, grow = _trip_path(store, system, zoning)
    db = engine or opsdb.open_engine(config)
    dataset = Dataset.TRIPS if entity == "trips" else Dataset.TELEMETRY
    progress.stage(f"reading {shown_table} after {since or 'the start'}")
    try:
        for batch in opsdb.read_batches(db, mapping, since, batch_size=config.batch_size):
            where = f"{report.location} after {batch.before or 'the start'}"
            if entity == "trips":
                report.add(
                    _opsdb_trips(
                        store,
                        batch,
                        mapping,
                        system=system,
                        candidates=lambda raw: post(
                            opsdb.trip_candidates(raw, mapping, timezone=local)
                        ),
                        zoning=trip_zoning,
                        grow=grow,
                        source=source,
                        location=where,
                    )
                )
            else:
                report.add(
                    _opsdb_telemetry(
                        store,
                        batch,
                        mapping,
                        system_id=system_id,
                        timezone=local,
                        zoning=zoning,
                        source=source,
                        location=where,
                    )
                )
            report.watermark_after = str(batch.after)
            progress.advance(batch.rows_read)
            if max_batches is not None and report.batches >= max_batches:
                break
    except SourceError as exc:
        _log_failed(
            store,
            exc,
            system_id=system_id,
            source=OPSDB_SOURCE,
            dataset=dataset,
            location=report.location,
        )
        raise
    finally:
        if engine is None:
            db.dispose()
    report.seconds = perf_counter() - began
    return report


def reset_opsdb_watermark(
    store: Store, *, system_id: str, config: OpsdbConfig, entity: Entity = "trips"
) -> str | None:
    """Forget how far ``entity``'s table has been read, so the next run reads it from its first
    row; returns the watermark that was stored (None if there was none).

    For after the watermark column, its kind or the key changed: the stored watermark is a
    position in the old ordering, which :func:`ingest_opsdb` refuses to reuse. The rows are
    then read (and loaded) again: trips keep one copy per trip id.
    """
    source = config.source_key(entity)
    where = (
        (WatermarkRow.system_id == system_id)
        & (WatermarkRow.source == source)
        & (WatermarkRow.entity == entity)
    )
    with store.begin() as conn:
        stored = state.get_watermark(conn, system_id, source, entity)
        conn.execute(sa.delete(WatermarkRow).where(where))
    return stored


def _opsdb_trips(
    store: Store,
    batch: opsdb.Batch,
    mapping: TableMapping,
    *,
    system: SystemInfo,
    candidates: Candidates,
    zoning: Zoning | None,
    grow: Callable[[CheckedTrips], None],
    source: str,
    location: str,
) -> IngestReport:
    """One batch of trips through the TRIPS ingest, then its watermark."""
    try:
        loaded = ingest_text_table(
            store,
            TextTable(batch.frame, batch.unkeyed),
            system=system,
            to_candidates=candidates,
            source=OPSDB_SOURCE,
            location=location,
            zoning=zoning,
            on_accepted=grow,
            on_success=lambda conn: state.set_watermark(
                conn, system.system_id, source, mapping.entity, batch.after.encode(mapping)
            ),
        )
    except NothingLoadedError as exc:
        raise NothingLoadedError(_stays(str(exc), batch, mapping), exc.reasons) from exc
    return loaded


def _opsdb_telemetry(
    store: Store,
    batch: opsdb.Batch,
    mapping: TableMapping,
    *,
    system_id: str,
    timezone: str,
    zoning: Zoning | None,
    source: str,
    location: str,
) -> _Loaded:
    """One batch of telemetry: lake first, then state, log and watermark in one transaction."""
    checked = opsdb.check_telemetry(
        batch.frame, mapping, system_id=system_id, timezone=timezone
    ).with_rejected(batch.unkeyed)
    if checked.accepted.is_empty():
        error = _nothing_loaded(location, checked.rows_read, checked.reasons)
        _log_failed(
            store,
            error,
            system_id=system_id,
            source=OPSDB_SOURCE,
            dataset=Dataset.TELEMETRY,
            location=location,
            checked=checked,
        )
        raise NothingLoadedError(_stays(str(error), batch, mapping), checked.reasons)
    before = batch.before.encode() if batch.before else ""
    name = f"{system_id}|{source}|{mapping.entity}|{before}|{batch.after.encode(mapping)}"
    return _load_snapshots(
        store,
        dataset=Dataset.TELEMETRY,
        rows=checked.accepted,
        rejected=checked.rejected,
        states=opsdb.vehicle_states(checked.accepted, zoning=zoning),
        reasons=checked.reasons,
        rows_read=checked.rows_read,
        system_id=system_id,
        ingest_id=str(uuid.uuid5(_BATCH_IDS, name)),
        source=OPSDB_SOURCE,
        location=location,
        watermark=(source, mapping.entity, batch.after.encode(mapping)),
    )


def _load_snapshots(
    store: Store,
    *,
    dataset: Dataset,
    rows: pl.DataFrame,
    rejected: pl.DataFrame,
    states: pl.DataFrame,
    reasons: dict[str, int],
    rows_read: int,
    system_id: str,
    ingest_id: str,
    source: str,
    location: str,
    watermark: tuple[str, str, str] | None = None,
) -> _Loaded:
    """Snapshot rows and quarantine to the lake; then, in one db transaction, the ingest log,
    the newest vehicle state and (when given) the watermark."""
    started = datetime.now(UTC)
    try:
        appended = store.lake.append(dataset, rows)
        if not rejected.is_empty():
            store.lake.append(
                Dataset.QUARANTINE,
                quarantine_frame(
                    rejected,
                    system_id=system_id,
                    ingest_id=ingest_id,
                    source=source,
                    day=started.date(),
                ),
            )
        with store.begin() as conn:
            records.start_ingest(
                conn,
                ingest_id=ingest_id,
                system_id=system_id,
                source=source,
                dataset=dataset.value,
                location=location,
                content_sha256=None,
                started_at=started,
                rows_read=rows_read,
                rows_accepted=rows.height,
                rows_rejected=rejected.height,
                rows_new=appended.rows_new,
            )
            updated = state.save_vehicle_status(conn, system_id, states)
            records.finish_ingest(
                conn,
                ingest_id,
                status="partial" if rejected.height else "ok",
                rejects_by_reason=reasons or None,
            )
            if watermark is not None:
                state.set_watermark(conn, system_id, *watermark)
    except BaseException as exc:
        _log_failed(
            store, exc, system_id=system_id, source=source, dataset=dataset, location=location
        )
        raise
    first, last = rows["date"].min(), rows["date"].max()
    return _Loaded(
        ingest_id=ingest_id,
        rows_read=rows_read,
        rows_accepted=rows.height,
        rows_rejected=rejected.height,
        rows_new=appended.rows_new,
        reasons=reasons,
        first_day=first if isinstance(first, date) else None,
        last_day=last if isinstance(last, date) else None,
        vehicles_updated=updated,
    )


def _nothing_loaded(location: str, rows_read: int, reasons: dict[str, int]) -> NothingLoadedError:
    """The error for input in which no row was good, with its top reasons."""
    top = ", ".join(f"{r} ({n})" for r, n in list(reasons.items())[:3])
    return NothingLoadedError(
        f"no row of {location} could be loaded ({rows_read} read{'; ' + top if top else ''}); "
        "the store was not changed",
        reasons,
    )


def _stays(message: str, batch: opsdb.Batch, mapping: TableMapping) -> str:
    """``message`` plus where the watermark stays and what to fix before the next run."""
    return (
        f"{message}; the watermark stays at {batch.before or 'the start'}: fix these rows of "
        f"{mapping.table} or the [opsdb.{mapping.entity}] columns, then run again"
    )


def _log_failed(
    store: Store,
    error: BaseException,
    *,
    system_id: str,
    source: str,
    dataset: Dataset,
    location: str,
    checked: mds.CheckedStatus | opsdb.CheckedTelemetry | None = None,
) -> None:
    """An ingest-log entry for a run that failed (with its counts when rows were checked)."""
    ingest_id = str(uuid.uuid4())
    with store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=ingest_id,
            system_id=system_id,
            source=source,
            dataset=dataset.value,
            location=location,
            content_sha256=None,
            rows_read=checked.rows_read if checked else 0,
            rows_accepted=0,
            rows_rejected=checked.rejected.height if checked else 0,
            rows_new=0,
        )
        records.finish_ingest(
            conn,
            ingest_id,
            status="failed",
            rejects_by_reason=(checked.reasons or None) if checked else None,
            message=f"{type(error).__name__}: {error}",
        )


def _log_empty(store: Store, report: MdsReport, dataset: Dataset, began: float) -> MdsReport:
    """Log a feed that had no records (a quiet hour is not an error) and return its report."""
    report.ingest_id = str(uuid.uuid4())
    with store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=report.ingest_id,
            system_id=report.system_id,
            source=MDS_SOURCE,
            dataset=dataset.value,
            location=report.location,
            content_sha256=None,
            rows_read=0,
            rows_accepted=0,
            rows_rejected=0,
            rows_new=0,
        )
        records.finish_ingest(conn, report.ingest_id, status="ok", message="no records")
    report.seconds = perf_counter() - began
    return report
