"""Context-data jobs: pre-aggregated daily demand, daily weather (files, Open-Meteo), holidays.

Each job validates before it writes, keeps rejected rows in the lake's quarantine dataset,
logs its run in the ingest log (also when it fails) and can be re-run on the same input
without adding anything: demand replaces the covered days, weather is keyed by
(system_id, date, kind).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Final
from zoneinfo import ZoneInfo

import httpx
import polars as pl

from fleetcast.domain import Dataset, SystemInfo, check_timezone, conform
from fleetcast.errors import NothingLoadedError, SchemaError, UnknownSystemError
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.ingest import (
    IngestReport,
    close_report,
    existing_system,
    hash_in_background,
    require_file,
    start_report,
)
from fleetcast.sources import files, weather
from fleetcast.sources.calendar import holiday_names
from fleetcast.sources.files import CheckedDemand
from fleetcast.sources.weather import CheckedWeather, WeatherKind
from fleetcast.store import Store, records
from fleetcast.store.lake import check_system_id

DEMAND_SOURCE: Final = "demand-file"
WEATHER_FILE_SOURCE: Final = "weather-file"
OPEN_METEO_SOURCE: Final = "open-meteo"
_DEMAND_DATASET: Final = "demand_daily"
_COUNTRY_CHARS: Final = 8
_SUBDIVISION_CHARS: Final = 16


@dataclass(slots=True)
class DemandReport(IngestReport):
    """An ingest of daily demand; ``zones_created`` counts zones made from the file's ids."""

    zones_created: int = 0


@dataclass(slots=True)
class WeatherReport(IngestReport):
    """An ingest of daily weather; ``missing`` counts null values kept, per column."""

    kind: str = "observed"
    missing: dict[str, int] = field(default_factory=dict)


def ingest_demand_file(
    store: Store,
    path: Path,
    *,
    system_id: str,
    timezone: str | None = None,
    country: str | None = None,
    subdivision: str | None = None,
    mapping: Mapping[str, str] | None = None,
    name: str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> DemandReport:
    """Load daily trips per zone (``zone_id, date, trips``) from a CSV or Parquet file.

    For operators who only have daily counts. A new system is created (its ``timezone`` is
    then required; ``country`` / ``subdivision`` give its public holidays); when the system
    has no zones, zones are created from the file's ids (without geometry), otherwise rows
    of unknown zones are rejected. Daily demand is replaced on every day from the file's
    first to its last, every zone on every day (0 where the file has no row), so loading
    the same file again changes nothing. Bad rows are quarantined with their reasons; when
    no row is good, nothing is written (not even a new system) and NothingLoadedError
    says why.
    """
    progress = progress or Silent()
    _check_id(system_id)
    require_file(path)
    existing = existing_system(store, system_id)
    system = _demand_system(
        existing,
        system_id=system_id,
        timezone=timezone,
        country=country,
        subdivision=subdivision,
        name=name,
    )
    zones_before = _zone_ids(store, system_id) if existing else set()
    location = str(path.resolve())
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        checked = files.read_demand_file(
            path, mapping=mapping, known_zones=zones_before or None, encoding=encoding
        )
    except SchemaError as exc:
        _log_refused(
            store,
            exc,
            system_id=system_id,
            source=DEMAND_SOURCE,
            dataset=_DEMAND_DATASET,
            location=location,
            sha256=digest,
        )
        raise
    began = perf_counter()
    report = DemandReport(
        str(uuid.uuid4()), system_id, DEMAND_SOURCE, location, checked.rows_read, 0, 0, 0
    )
    start_report(store, report, dataset=_DEMAND_DATASET, sha256=digest)
    try:
        _count(report, checked.accepted.height, checked.rejected.height, checked.reasons)
        _nothing_loaded(report, checked.accepted.is_empty())
        progress.stage("writing daily demand")
        _write_demand(store, report, checked, system=system, existing=existing, zones=zones_before)
        _quarantine(store, report, checked.rejected)
        close_report(store, report, began=began)
        return report
    except BaseException as exc:
        close_report(store, report, began=began, error=exc)
        raise


def ingest_weather_file(
    store: Store,
    path: Path,
    *,
    system_id: str,
    mapping: Mapping[str, str] | None = None,
    kind: WeatherKind = "observed",
    encoding: str | None = None,
    progress: Progress | None = None,
) -> WeatherReport:
    """Load daily weather of an existing system from a CSV or Parquet file into the lake.

    Columns are found by name (Meteostat's daily ``date``/``time``, ``tmax``, ``tmin``,
    ``prcp``, ``wspd``/``wpgt`` need no mapping) or named with ``mapping``; values are °C,
    mm and km/h. Rows land in WEATHER_DAILY keyed by (system, date, kind), so a re-run
    replaces instead of adding; rows with impossible values are quarantined with reasons.
    """
    progress = progress or Silent()
    _check_id(system_id)
    require_file(path)
    _require_system(store, system_id)
    location = str(path.resolve())
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        checked = weather.read_weather_file(path, mapping=mapping, kind=kind, encoding=encoding)
    except SchemaError as exc:
        _log_refused(
            store,
            exc,
            system_id=system_id,
            source=WEATHER_FILE_SOURCE,
            dataset=Dataset.WEATHER_DAILY.value,
            location=location,
            sha256=digest,
        )
        raise
    return _load_weather(
        store,
        checked,
        system_id=system_id,
        kind=kind,
        source=WEATHER_FILE_SOURCE,
        location=location,
        sha256=digest,
        progress=progress,
    )


def fetch_weather(
    store: Store,
    *,
    system_id: str,
    start: date,
    end: date,
    kind: WeatherKind = "observed",
    lat: float | None = None,
    lon: float | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> WeatherReport:
    """Fetch daily weather for [start, end] (local days) at the system's centre from Open-Meteo.

    ``observed`` reads the archive API (past days only); ``forecast`` the forecast API for
    the days from ``start`` (today) to ``end``, at most 16. The system needs coordinates:
    ``lat`` / ``lon`` set them (and are saved with the system), otherwise its stored centre
    is used and a system without one is a SchemaError saying how to give it (coordinates
    given are saved once the run has loaded something). Every run is logged, a failed
    request too; rows land in WEATHER_DAILY idempotently.
    """
    progress = progress or Silent()
    _check_id(system_id)
    system = _require_system(store, system_id)
    if kind not in weather.KINDS:
        raise SchemaError(f"kind {kind!r} not understood: use 'observed' or 'forecast'")
    if (lat is None) != (lon is None):
        raise SchemaError("give both --lat and --lon (the system's centre), or neither")
    if lat is not None and lon is not None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise SchemaError(f"coordinates ({lat}, {lon}) are outside the world")
        system = replace(system, center_lat=lat, center_lon=lon)
    if system.center_lat is None or system.center_lon is None:
        raise SchemaError(
            f"system {system_id!r} has no coordinates, and Open-Meteo needs a point: give its "
            "centre once with --lat and --lon (they are saved with the system)"
        )
    today = datetime.now(ZoneInfo(system.timezone)).date()
    if kind == "observed" and end > today:
        raise SchemaError(
            f"the archive holds past days only and {end} is after today ({today} in "
            f"{system.timezone}); fetch the next days with --forecast-days"
        )
    try:
        url, params = weather.open_meteo_request(
            system.center_lat,
            system.center_lon,
            start=start,
            end=end,
            timezone=system.timezone,
            kind=kind,
        )
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc
    location = str(httpx.URL(url, params=params))
    progress.stage(f"fetching {kind} weather from Open-Meteo")
    try:
        frame = weather.fetch_open_meteo(
            system.center_lat,
            system.center_lon,
            start=start,
            end=end,
            timezone=system.timezone,
            kind=kind,
            client=client,
        )
    except Exception as exc:
        _log_refused(
            store,
            exc,
            system_id=system_id,
            source=OPEN_METEO_SOURCE,
            dataset=Dataset.WEATHER_DAILY.value,
            location=location,
        )
        raise
    progress.stage("validating days")
    checked = weather.check_weather(frame)
    report = _load_weather(
        store,
        checked,
        system_id=system_id,
        kind=kind,
        source=OPEN_METEO_SOURCE,
        location=location,
        sha256=None,
        progress=progress,
    )
    if lat is not None:
        with store.begin() as conn:
            records.save_system(conn, system)
    return report


def system_today(store: Store, *, system_id: str) -> date:
    """Today's date in the system's timezone (the first day of a forecast)."""
    return datetime.now(ZoneInfo(_require_system(store, system_id).timezone)).date()


def system_holidays(store: Store, *, system_id: str, start: date, end: date) -> pl.DataFrame:
    """Public holidays (``date``, ``name``) of the system's country and region in [start, end].

    Empty when the system has no country; an unknown country or region is a SchemaError.
    """
    system = _require_system(store, system_id)
    names = holiday_names(system.country, system.subdivision, start, end)
    return pl.DataFrame(
        {"date": list(names), "name": list(names.values())},
        schema={"date": pl.Date, "name": pl.String},
    )


def _load_weather(
    store: Store,
    checked: CheckedWeather,
    *,
    system_id: str,
    kind: str,
    source: str,
    location: str,
    sha256: str | Future[str] | None,
    progress: Progress,
) -> WeatherReport:
    began = perf_counter()
    report = WeatherReport(
        *(str(uuid.uuid4()), system_id, source, location, checked.rows_read, 0, 0, 0),
        kind=kind,
        missing=dict(checked.missing),
    )
    start_report(store, report, dataset=Dataset.WEATHER_DAILY.value, sha256=sha256)
    try:
        _count(report, checked.accepted.height, checked.rejected.height, checked.reasons)
        _nothing_loaded(report, checked.accepted.is_empty())
        progress.stage("writing weather to the lake")
        rows = checked.accepted.with_columns(pl.lit(system_id).alias("system_id"))
        report.rows_new = store.lake.append(Dataset.WEATHER_DAILY, rows).rows_new
        report.first_day, report.last_day = _span(checked.accepted)
        _quarantine(store, report, checked.rejected)
        note = None
        if report.missing:
            kept = ", ".join(f"{c} on {n} day(s)" for c, n in report.missing.items())
            note = f"missing values kept as null: {kept}"
        close_report(store, report, began=began, note=note)
        return report
    except BaseException as exc:
        close_report(store, report, began=began, error=exc)
        raise


def _write_demand(
    store: Store,
    report: DemandReport,
    checked: CheckedDemand,
    *,
    system: SystemInfo,
    existing: SystemInfo | None,
    zones: set[str],
) -> None:
    """Save the system and new zones, and replace the covered days' demand, in one transaction."""
    accepted = checked.accepted
    first, last = _span(accepted)
    new_zones = [] if zones else sorted(set(accepted["zone_id"].to_list()))
    zone_ids = sorted(zones | set(new_zones))
    grid = (
        pl.DataFrame({"zone_id": zone_ids}, schema={"zone_id": pl.String})
        .join(pl.DataFrame({"date": pl.date_range(first, last, "1d", eager=True)}), how="cross")
        .join(accepted, on=["zone_id", "date"], how="left")
        .with_columns(pl.col("trips").fill_null(0))
        .sort("zone_id", "date")
    )
    with store.begin() as conn:
        before = records.load_demand(conn, system.system_id, start=first, end=last)
        if system != existing:
            records.save_system(conn, system)
        if new_zones:
            records.save_zones(
                conn, system.system_id, pl.DataFrame({"zone_id": new_zones, "name": new_zones})
            )
        records.replace_demand(conn, system.system_id, grid)
    report.rows_new = accepted.join(before, on=["zone_id", "date"], how="anti").height
    report.first_day, report.last_day = first, last
    report.demand_rows = grid.height
    report.zones_created = len(new_zones)


def _demand_system(
    existing: SystemInfo | None,
    *,
    system_id: str,
    timezone: str | None,
    country: str | None,
    subdivision: str | None,
    name: str | None,
) -> SystemInfo:
    """The system a demand file loads into, checked before anything is read or written."""
    if existing is None:
        if not timezone:
            raise SchemaError(
                f"system {system_id!r} is new: give its timezone with --timezone, an IANA "
                "name such as America/Chicago (the file's dates are its local days)"
            )
        system = SystemInfo(system_id=system_id, name=name or system_id, timezone=timezone)
    else:
        if timezone and timezone != existing.timezone:
            raise SchemaError(
                f"system {system_id!r} uses timezone {existing.timezone}, not {timezone}"
            )
        system = existing if name is None else replace(existing, name=name)
    check_timezone(system.timezone)
    if subdivision and not (country or system.country):
        raise SchemaError("--region needs --country (e.g. --country US --region IL)")
    if country and country.upper() != system.country:
        system = replace(system, country=country.upper(), subdivision=subdivision or None)
    elif subdivision:
        system = replace(system, subdivision=subdivision)
    _check_calendar(system.country, system.subdivision)
    return system


def _check_calendar(country: str | None, subdivision: str | None) -> None:
    """Refuse a country or region the holidays package does not know (or too long to store)."""
    if country and len(country) > _COUNTRY_CHARS:
        raise SchemaError(f"country {country!r} is not a code; use ISO 3166 such as US or FR")
    if subdivision and len(subdivision) > _SUBDIVISION_CHARS:
        raise SchemaError(
            f"region {subdivision!r} is longer than {_SUBDIVISION_CHARS} characters; use its code"
        )
    today = datetime.now(UTC).date()
    holiday_names(country, subdivision, today, today)


def _check_id(system_id: str) -> None:
    try:
        check_system_id(system_id)
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc


def _require_system(store: Store, system_id: str) -> SystemInfo:
    with store.connect() as conn:
        try:
            return records.get_system(conn, system_id)
        except UnknownSystemError as exc:
            raise UnknownSystemError(
                f"{exc}; create it first by loading its trips or daily demand "
                "(fleetcast ingest trips / fleetcast ingest demand)"
            ) from exc


def _zone_ids(store: Store, system_id: str) -> set[str]:
    with store.connect() as conn:
        return set(records.load_zones(conn, system_id)["zone_id"].to_list())


def _span(frame: pl.DataFrame) -> tuple[date, date]:
    first, last = frame["date"].min(), frame["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    return first, last


def _count(report: IngestReport, accepted: int, rejected: int, reasons: dict[str, int]) -> None:
    report.rows_accepted = accepted
    report.rows_rejected = rejected
    report.reasons = dict(reasons)


def _nothing_loaded(report: IngestReport, empty: bool) -> None:
    if not empty:
        return
    top = ", ".join(f"{r} ({n})" for r, n in list(report.reasons.items())[:3])
    raise NothingLoadedError(
        f"no row of {report.location} could be loaded ({report.rows_read} read"
        f"{'; ' + top if top else ''}); the store was not changed",
        report.reasons,
    )


def _quarantine(store: Store, report: IngestReport, rejected: pl.DataFrame) -> None:
    """Keep rejected rows, with their reasons and records, in the lake's quarantine dataset."""
    if rejected.is_empty():
        return
    rows = rejected.with_columns(
        pl.lit(report.system_id).alias("system_id"),
        pl.lit(report.ingest_id).alias("ingest_id"),
        pl.lit(report.source).alias("source"),
        pl.lit(datetime.now(UTC).date()).alias("date"),
    )
    store.lake.append(Dataset.QUARANTINE, conform(rows, Dataset.QUARANTINE.schema))


def _log_refused(
    store: Store,
    error: BaseException,
    *,
    system_id: str,
    source: str,
    dataset: str,
    location: str,
    sha256: str | Future[str] | None = None,
) -> None:
    """Log an input refused as a whole (unreadable file, failed request): 'failed', 0 rows."""
    report = IngestReport(str(uuid.uuid4()), system_id, source, location, 0, 0, 0, 0)
    start_report(store, report, dataset=dataset, sha256=sha256)
    close_report(store, report, began=perf_counter(), error=error)
