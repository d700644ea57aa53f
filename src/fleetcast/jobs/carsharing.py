"""Car-sharing jobs: load a rentals file into the store, and the minimum-delay analysis.

The ingest validates before it writes, keeps rejected rows in the lake's quarantine dataset,
logs its run in the ingest log (also when it fails), and can be re-run on the same file
without changing anything (rentals are keyed by system and rental id). The analysis reads
every stored rental of the system.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Final

import polars as pl

from fleetcast.analytics.delay_policy import (
    SCOPES,
    DelayPolicy,
    PolicyParams,
    PolicyPoint,
    Recommendation,
    analyse,
    median_price,
    policy_at,
)
from fleetcast.domain import Dataset, SystemInfo, VehicleKind, check_timezone
from fleetcast.errors import FleetcastError, NothingLoadedError, SchemaError
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.ingest import (
    IngestReport,
    close_report,
    existing_system,
    hash_in_background,
    quarantine_frame,
    require_file,
    start_report,
)
from fleetcast.sources.rentals import RentalLimits, read_prices_per_day, read_rentals_file
from fleetcast.store import Store, records
from fleetcast.store import rentals as stored_rentals
from fleetcast.store.lake import check_system_id

RENTALS_SOURCE: Final = "rentals-file"
RENTALS_DATASET: Final = "rentals"
DEFAULT_SYSTEM: Final = "getaround"
"""The system rentals load into unless told otherwise."""


class NoRentalsError(FleetcastError, LookupError):
    """A system without rentals in the store; the message says how to load them."""


@dataclass(slots=True)
class RentalsReport(IngestReport):
    """An ingest of rentals: ``rows_new`` were not stored before, ``rows_changed`` were
    stored with other values (updated), ``rows_unchanged`` already were as in the file."""

    rows_changed: int = 0
    rows_unchanged: int = 0
    system_created: bool = False


def _check_id(system_id: str) -> None:
    try:
        check_system_id(system_id)
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc


def ingest_rentals_file(
    store: Store,
    path: Path,
    *,
    system_id: str = DEFAULT_SYSTEM,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
    timezone: str = "UTC",
    limits: RentalLimits | None = None,
    progress: Progress | None = None,
) -> RentalsReport:
    """Load car-sharing rentals from a CSV, Parquet or Excel file into a system.

    A new system is created as a car system (``timezone`` only names its calendar: rentals
    carry no times). Bad rows are quarantined with their reasons; when no row is good
    nothing is written (not even a new system) and NothingLoadedError says why. Loading the
    same file again writes nothing; a file with changed values updates those rentals.
    """
    progress = progress or Silent()
    _check_id(system_id)
    require_file(path)
    existing = existing_system(store, system_id)
    system = existing or SystemInfo(
        system_id=system_id,
        name=name or system_id,
        timezone=check_timezone(timezone),
        kind=VehicleKind.CAR,
    )
    location = str(path.resolve())
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        checked = read_rentals_file(
            path, mapping=mapping, sheet=sheet, encoding=encoding, limits=limits
        )
    except SchemaError as exc:
        refused = IngestReport(str(uuid.uuid4()), system_id, RENTALS_SOURCE, location, 0, 0, 0, 0)
        start_report(store, refused, dataset=RENTALS_DATASET, sha256=digest)
        close_report(store, refused, began=perf_counter(), error=exc)
        raise
    began = perf_counter()
    report = RentalsReport(
        str(uuid.uuid4()), system_id, RENTALS_SOURCE, location, checked.rows_read, 0, 0, 0
    )
    start_report(store, report, dataset=RENTALS_DATASET, sha256=digest)
    try:
        report.rows_accepted = checked.accepted.height
        report.rows_rejected = checked.rejected.height
        report.reasons = dict(checked.reasons)
        if checked.accepted.is_empty():
            top = ", ".join(f"{r} ({n})" for r, n in list(report.reasons.items())[:3])
            raise NothingLoadedError(
                f"no row of {location} could be loaded ({report.rows_read} read"
                f"{'; ' + top if top else ''}); the store was not changed",
                report.reasons,
            )
        progress.stage("writing rentals")
        with store.begin() as conn:
            if existing is None:
                records.save_system(conn, system)
            saved = stored_rentals.save_rentals(conn, system_id, checked.accepted)
        report.rows_new, report.rows_changed = saved.new, saved.changed
        report.rows_unchanged = saved.unchanged
        report.system_created = existing is None
        if not checked.rejected.is_empty():
            store.lake.append(
                Dataset.QUARANTINE,
                quarantine_frame(
                    checked.rejected,
                    system_id=system_id,
                    ingest_id=report.ingest_id,
                    source=RENTALS_SOURCE,
                    day=datetime.now(UTC).date(),
                ),
            )
        close_report(store, report, began=began)
        return report
    except BaseException as exc:
        close_report(store, report, began=began, error=exc)
        raise


def load_rentals(store: Store, system_id: str = DEFAULT_SYSTEM) -> pl.DataFrame:
    """Every stored rental of a system; UnknownSystemError or NoRentalsError saying what to
    run when there is none."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        frame = stored_rentals.load_rentals(conn, system_id)
    if frame.is_empty():
        raise NoRentalsError(
            f"system {system_id!r} has no rentals; load them with "
            f"`fleetcast carsharing delay-policy FILE --system {system_id}`"
        )
    return frame


def has_rentals(store: Store, system_id: str) -> bool:
    """Whether a system has rentals in the store (False for an unknown system)."""
    with store.connect() as conn:
        return stored_rentals.count_rentals(conn, system_id) > 0


def price_per_day_from(path: Path) -> float:
    """The median price per day of a pricing file (GetAround's ``rental_price_per_day``)."""
    require_file(path)
    try:
        return median_price(read_prices_per_day(path))
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc


def delay_policy(
    store: Store,
    system_id: str = DEFAULT_SYSTEM,
    *,
    params: PolicyParams | None = None,
    scopes: Sequence[str] = SCOPES,
) -> DelayPolicy:
    """The minimum-delay analysis of a system's stored rentals (curve, recommendations, facts)."""
    return analyse(load_rentals(store, system_id), params, scopes=scopes)


@dataclass(frozen=True, slots=True)
class PolicyView:
    """The figures at one threshold and scope, that scope's recommendation, the best across
    scopes, and the whole analysis (for the curve)."""

    system_id: str
    scope: str
    point: PolicyPoint
    recommendation: Recommendation
    best: Recommendation
    analysis: DelayPolicy


def delay_policy_view(
    store: Store,
    system_id: str = DEFAULT_SYSTEM,
    *,
    threshold_min: int,
    scope: str = "all",
    params: PolicyParams | None = None,
) -> PolicyView:
    """What a minimum delay of ``threshold_min`` in ``scope`` does, beside the recommendations."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} not understood; use {', '.join(SCOPES)}")
    frame = load_rentals(store, system_id)
    params = params or PolicyParams()
    analysis = analyse(frame, params)
    point = policy_at(
        frame, threshold_min=threshold_min, scope=scope, price_per_day=params.price_per_day
    )
    return PolicyView(
        system_id=system_id,
        scope=scope,
        point=point,
        recommendation=analysis.recommendation_for(scope),
        best=analysis.best,
        analysis=analysis,
    )
