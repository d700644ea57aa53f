"""Ingest jobs: read a source, validate, write the lake, refresh daily demand, log the run."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import polars as pl
from sqlalchemy import Connection

from fleetcast.analytics.demand import daily_demand
from fleetcast.domain import Dataset, SystemInfo, conform
from fleetcast.errors import NothingLoadedError, SchemaError, UnknownSystemError
from fleetcast.geo import Zoning
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.sources._tabular import TextTable
from fleetcast.sources.validate import CheckedTrips, TripLimits, check_trips, quarantine_rows
from fleetcast.store import Store, records

Candidates = Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(slots=True)
class IngestReport:
    """What one ingest did, as written to the ingest log."""

    ingest_id: str
    system_id: str
    source: str
    location: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_new: int
    reasons: dict[str, int] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None
    demand_rows: int = 0
    seconds: float = 0.0
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        out = asdict(self)
        out["first_day"] = self.first_day.isoformat() if self.first_day else None
        out["last_day"] = self.last_day.isoformat() if self.last_day else None
        return out


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file (hashlib releases the GIL, so this can run beside a read)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def hash_in_background(path: Path) -> Future[str]:
    """Start hashing ``path`` on a worker thread while the caller reads the file."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fleetcast-sha256")
    future = pool.submit(file_sha256, path)
    pool.shutdown(wait=False)
    return future


def register_system(store: Store, system: SystemInfo, zoning: Zoning | None) -> None:
    """Create or update a system and (when given) its zones."""
    with store.begin() as conn:
        records.save_system(conn, system)
        if zoning is not None:
            records.save_zones(conn, system.system_id, zoning.to_frame())


def existing_system(store: Store, system_id: str) -> SystemInfo | None:
    """The stored system, or None when ``system_id`` is not registered yet.

    For jobs that create a system on first use: a missing system is not an error there.
    """
    with store.connect() as conn:
        try:
            return records.get_system(conn, system_id)
        except UnknownSystemError:
            return None


def quarantine_frame(
    rejected: pl.DataFrame,
    *,
    system_id: str,
    ingest_id: str,
    source: str,
    day: date | None = None,
) -> pl.DataFrame:
    """Rejected rows as QUARANTINE rows: tagged with their system, ingest and source, dated
    ``day`` (default: today in UTC), in the QUARANTINE schema.

    Every job quarantines this way so the lake's quarantine can be read back by ingest id.
    """
    return conform(
        rejected.with_columns(
            pl.lit(system_id).alias("system_id"),
            pl.lit(ingest_id).alias("ingest_id"),
            pl.lit(source).alias("source"),
            pl.lit(day or datetime.now(UTC).date()).alias("date"),
        ),
        Dataset.QUARANTINE.schema,
    )


def load_zoning(store: Store, system_id: str) -> Zoning | None:
    """The system's polygon zoning from the db, or None when it has no zone geometry."""
    with store.connect() as conn:
        zones = records.load_zones(conn, system_id)
    if zones.is_empty() or zones["geometry"].null_count() == zones.height:
        return None
    return Zoning.from_frame(zones)


def known_zone_ids(store: Store, system_id: str) -> set[str]:
    """Ids of every zone the system has."""
    with store.connect() as conn:
        return set(records.load_zones(conn, system_id)["zone_id"].to_list())


def _demand_range(store: Store, system_id: str, first: date, last: date) -> tuple[date, date]:
    """Extend the touched days so the stored demand has no gap between old and new days.

    When the system has zones the stored days lack (zones added since, e.g. new H3 cells),
    every stored day is recounted too, so each zone has a row on each day.
    """
    with store.connect() as conn:
        summary = records.demand_summary(conn, system_id)
        old_first, old_last = summary["first_day"], summary["last_day"]
        if old_first is None:
            return first, last
        stored = records.load_demand(conn, system_id, start=old_last, end=old_last)
        zones = records.load_zones(conn, system_id)
    if not set(zones["zone_id"]) <= set(stored["zone_id"]):
        return min(first, old_first), max(last, old_last)
    if first > old_last:
        first = old_last + timedelta(days=1)
    if last < old_first:
        last = old_first - timedelta(days=1)
    return first, last


def refresh_demand(store: Store, system_id: str, first: date, last: date) -> pl.DataFrame:
    """Recount daily demand for [first, last] from the lake and store it (zero-filled)."""
    with store.connect() as conn:
        zone_ids = records.load_zones(conn, system_id)["zone_id"].to_list()
    trips = store.lake.scan(Dataset.TRIPS, system_id=system_id, start=first, end=last)
    demand = daily_demand(trips, system_id=system_id, zone_ids=zone_ids, start=first, end=last)
    with store.begin() as conn:
        records.replace_demand(conn, system_id, demand)
    return demand


def ingest_text_table(
    store: Store,
    table: TextTable,
    *,
    system: SystemInfo,
    to_candidates: Candidates,
    source: str,
    location: str,
    zoning: Zoning | None,
    known_zones: set[str] | None = None,
    sha256: str | Future[str] | None = None,
    limits: TripLimits | None = None,
    zone_label: str = "zone",
    progress: Progress | None = None,
    on_accepted: Callable[[CheckedTrips], None] | None = None,
    on_success: Callable[[Connection], None] | None = None,
) -> IngestReport:
    """Validate a text table of trips and load what is good; log the run either way.

    Rows that fail are written to the quarantine dataset with their reasons. When no row is
    good the store is left as it was and NothingLoadedError says why. ``on_success`` runs in
    the transaction that marks the ingest done (an incremental source records its watermark
    there, so the log and the watermark commit together).
    """
    progress = progress or Silent()
    began = perf_counter()
    ingest_id = str(uuid.uuid4())
    sid = system.system_id
    if isinstance(sha256, Future):
        sha256 = sha256.result()
    with store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=ingest_id,
            system_id=sid,
            source=source,
            dataset=Dataset.TRIPS.value,
            location=location,
            content_sha256=sha256,
            rows_read=table.rows_read,
            rows_accepted=0,
            rows_rejected=0,
            rows_new=0,
        )
    report = IngestReport(ingest_id, sid, source, location, table.rows_read, 0, 0, 0)
    try:
        progress.stage("validating rows")
        checked = check_trips(
            to_candidates(table.frame),
            system_id=sid,
            timezone=system.timezone,
            zoning=zoning,
            known_zones=known_zones,
            limits=limits,
            zone_label=zone_label,
        )
        if on_accepted is not None:
            on_accepted(checked)
        rejected = _rejected_rows(checked, table, system_id=sid, ingest_id=ingest_id, source=source)
        report.rows_accepted = checked.accepted.height
        report.rows_rejected = rejected.height
        report.reasons = _merge_reasons(checked.reasons, table.malformed)
        if checked.accepted.is_empty():
            top = ", ".join(f"{r} ({n})" for r, n in list(report.reasons.items())[:3])
            raise NothingLoadedError(
                f"no row of {location} could be loaded ({report.rows_read} read"
                f"{'; ' + top if top else ''}); the store was not changed",
                report.reasons,
            )
        progress.stage("writing trips to the lake")
        appended = store.lake.append(Dataset.TRIPS, checked.accepted)
        report.rows_new = appended.rows_new
        if not rejected.is_empty():
            store.lake.append(Dataset.QUARANTINE, conform(rejected, Dataset.QUARANTINE.schema))
        progress.stage("counting daily demand")
        first, last = checked.accepted["date"].min(), checked.accepted["date"].max()
        assert isinstance(first, date) and isinstance(last, date)
        report.first_day, report.last_day = first, last
        lo, hi = _demand_range(store, sid, first, last)
        report.demand_rows = refresh_demand(store, sid, lo, hi).height
        report.status = "partial" if report.rows_rejected else "ok"
        report.seconds = perf_counter() - began
        finish_report(store, report, message=None, on_success=on_success)
        return report
    except BaseException as exc:
        report.status = "failed"
        report.seconds = perf_counter() - began
        finish_report(store, report, message=f"{type(exc).__name__}: {exc}")
        raise


def log_unreadable(
    store: Store,
    error: Exception,
    *,
    system_id: str,
    source: str,
    location: str,
    sha256: str | Future[str] | None = None,
) -> None:
    """Log an input refused as a whole (unreadable, wrong columns): status 'failed', 0 rows."""
    if isinstance(sha256, Future):
        sha256 = sha256.result()
    ingest_id = str(uuid.uuid4())
    with store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=ingest_id,
            system_id=system_id,
            source=source,
            dataset=Dataset.TRIPS.value,
            location=location,
            content_sha256=sha256,
            rows_read=0,
            rows_accepted=0,
            rows_rejected=0,
            rows_new=0,
        )
        records.finish_ingest(
            conn, ingest_id, status="failed", message=f"{type(error).__name__}: {error}"
        )


def finish_report(
    store: Store,
    report: IngestReport,
    *,
    message: str | None,
    on_success: Callable[[Connection], None] | None = None,
) -> None:
    """Write a report's outcome and counts to its ingest-log entry (and run ``on_success`` in
    the same transaction)."""
    with store.begin() as conn:
        if on_success is not None:
            on_success(conn)
        records.finish_ingest(
            conn,
            report.ingest_id,
            status=report.status,
            rows_read=report.rows_read,
            rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected,
            rows_new=report.rows_new,
            rejects_by_reason=report.reasons or None,
            message=message,
        )


def start_report(
    store: Store, report: IngestReport, *, dataset: str, sha256: str | Future[str] | None
) -> None:
    """Open the ingest-log entry of a report (running, no rows accepted yet)."""
    if isinstance(sha256, Future):
        sha256 = sha256.result()
    with store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=report.ingest_id,
            system_id=report.system_id,
            source=report.source,
            dataset=dataset,
            location=report.location,
            content_sha256=sha256,
            rows_read=report.rows_read,
            rows_accepted=0,
            rows_rejected=0,
            rows_new=0,
        )


def close_report(
    store: Store,
    report: IngestReport,
    *,
    began: float,
    error: BaseException | None = None,
    note: str | None = None,
) -> None:
    """Log the outcome: ok, partial (some rows rejected) or failed (with the error)."""
    report.seconds = perf_counter() - began
    if error is None:
        report.status = "partial" if report.rows_rejected else "ok"
        message = note
    else:
        report.status = "failed"
        message = f"{type(error).__name__}: {error}"
    finish_report(store, report, message=message)


def _rejected_rows(
    checked: CheckedTrips, table: TextTable, *, system_id: str, ingest_id: str, source: str
) -> pl.DataFrame:
    parts = []
    if not checked.rejected.is_empty():
        parts.append(
            conform(
                quarantine_rows(
                    checked.rejected,
                    table.frame,
                    system_id=system_id,
                    ingest_id=ingest_id,
                    source=source,
                ),
                Dataset.QUARANTINE.schema,
            )
        )
    if not table.malformed.is_empty():
        parts.append(
            quarantine_frame(
                table.malformed, system_id=system_id, ingest_id=ingest_id, source=source
            )
        )
    if not parts:
        return pl.DataFrame(schema=Dataset.QUARANTINE.schema)
    return pl.concat(parts).sort("row_number")


def _merge_reasons(reasons: Mapping[str, int], malformed: pl.DataFrame) -> dict[str, int]:
    merged = dict(reasons)
    if not malformed.is_empty():
        for reason, n in malformed.group_by("reason").len().iter_rows():
            merged[str(reason)] = merged.get(str(reason), 0) + int(n)
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def require_file(path: Path) -> Path:
    """The path if it is a readable file, else a SchemaError that says so."""
    if not path.exists():
        raise SchemaError(f"{path} does not exist")
    if not path.is_file():
        raise SchemaError(f"{path} is not a file")
    return path
