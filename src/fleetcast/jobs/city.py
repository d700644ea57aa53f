"""City-context jobs: city facts (a web page or a file) and daily arrivals at nearby airports.

Like the other context jobs, each one validates before it writes, keeps rejected rows in the
lake's quarantine dataset, logs its run in the ingest log (a failed request too) and can be
re-run on the same input without adding anything: facts are keyed by (system, as_of),
arrivals by (system, airport, date). Everything is fetched and checked before the one
transaction that writes, so a bad page or a failed request leaves the store as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import httpx
import polars as pl

from fleetcast.errors import SchemaError
from fleetcast.geo import haversine_m
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.context import (
    _check_id,
    _count,
    _log_refused,
    _nothing_loaded,
    _quarantine,
    _require_system,
)
from fleetcast.jobs.ingest import (
    IngestReport,
    close_report,
    hash_in_background,
    require_file,
    start_report,
)
from fleetcast.sources import context as ctx
from fleetcast.store import Store
from fleetcast.store import context as db

CITY_PAGE_SOURCE: Final = "city-page"
CITY_FILE_SOURCE: Final = "city-facts-file"
AERODATABOX_SOURCE: Final = ctx.AERODATABOX_SOURCE
ARRIVALS_FILE_SOURCE: Final = "arrivals-file"
_FACTS_DATASET: Final = "city_facts"
_ARRIVALS_DATASET: Final = "airport_arrivals_daily"
MAX_FETCH_DAYS: Final = 31
"""Days one fetch may cover (two requests per airport and day against a metered API)."""

ARRIVALS_OFF: Final = (
    f"airport arrivals are off: set {ctx.KEY_ENV} to an AeroDataBox key (RapidAPI, "
    "https://rapidapi.com/aedbx-aedbx/api/aerodatabox) to fetch them, or load a CSV file "
    "of daily arrivals (airport, date, arrivals)"
)


@dataclass(slots=True)
class CityFactsReport(IngestReport):
    """An ingest of city facts; ``facts`` is the newest accepted row (as plain values)."""

    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ArrivalsReport(IngestReport):
    """An ingest of daily arrivals: airports covered, flights not counted per reason, and a
    note (why nothing was fetched when arrivals are off: then ``status`` is ``"off"``)."""

    airports: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    note: str | None = None


def ingest_city_facts(
    store: Store,
    *,
    system_id: str,
    url: str | None = None,
    path: Path | None = None,
    as_of: date | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> CityFactsReport:
    """Load a system's city facts from a web page (``url``) or a CSV / TOML file (``path``).

    From a page the facts are dated ``as_of``, else 1 January of the population's year when
    the page gives one, else today; a file's rows carry their own ``as_of`` (default the
    same). A page that cannot be read or has no usable infobox is a SourceError and is
    logged as a failed ingest; nothing is written.
    """
    progress = progress or Silent()
    _check_id(system_id)
    if (url is None) == (path is None):
        raise SchemaError("give either a page URL or a file of city facts, not both")
    _require_system(store, system_id)
    today = datetime.now(UTC).date()
    digest: Future[str] | None = None
    if url is not None:
        source, location, kind = CITY_PAGE_SOURCE, url, "web"
        progress.stage("fetching the city page")
        try:
            facts = ctx.fetch_city_page(url, client=client)
        except Exception as exc:
            _log_refused(
                store,
                exc,
                system_id=system_id,
                source=source,
                dataset=_FACTS_DATASET,
                location=location,
            )
            raise
        day = as_of or (date(facts.year, 1, 1) if facts.year else today)
        frame = ctx.facts_frame(facts, as_of=day)
        checked = ctx.check_facts(frame.to_dicts())
    else:
        assert path is not None
        require_file(path)
        source, location, kind = CITY_FILE_SOURCE, str(path.resolve()), "file"
        progress.stage(f"reading {path.name}")
        digest = hash_in_background(path)
        try:
            checked = ctx.read_facts_file(path, default_as_of=as_of or today)
        except SchemaError as exc:
            _log_refused(
                store,
                exc,
                system_id=system_id,
                source=source,
                dataset=_FACTS_DATASET,
                location=location,
                sha256=digest,
            )
            raise
    began = perf_counter()
    report = CityFactsReport(
        str(uuid.uuid4()), system_id, source, location, checked.rows_read, 0, 0, 0
    )
    start_report(store, report, dataset=_FACTS_DATASET, sha256=digest)
    try:
        _count(report, checked.accepted.height, checked.rejected.height, checked.reasons)
        _nothing_loaded(report, checked.accepted.is_empty())
        progress.stage("writing city facts")
        with store.begin() as conn:
            before = set(db.load_city_facts(conn, system_id)["as_of"].to_list())
            db.save_city_facts(
                conn,
                system_id,
                checked.accepted,
                source=kind,
                source_url=url if url is not None else location,
            )
        days = checked.accepted["as_of"]
        report.rows_new = sum(1 for d in days.to_list() if d not in before)
        report.first_day, report.last_day = days.min(), days.max()  # type: ignore[assignment]
        newest = checked.accepted.sort("as_of").row(-1, named=True)
        report.facts = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in newest.items()}
        _quarantine(store, report, checked.rejected)
        close_report(store, report, began=began)
        return report
    except BaseException as exc:
        close_report(store, report, began=began, error=exc)
        raise


def arrivals_key(env: Mapping[str, str] | None = None) -> str | None:
    """The AeroDataBox key from the environment, or None when arrivals are off."""
    return ctx.aerodatabox_key(env)


def fetch_airport_arrivals(
    store: Store,
    *,
    system_id: str,
    airports: Sequence[str],
    start: date,
    end: date,
    key: str | None = None,
    client: httpx.Client | None = None,
    base_url: str = ctx.AERODATABOX_URL,
    progress: Progress | None = None,
) -> ArrivalsReport:
    """Fetch flights landed per local day in [start, end] at ``airports`` from AeroDataBox.

    ``key`` defaults to ``FLEETCAST_AERODATABOX_KEY``; without one nothing is fetched or
    logged and the report's ``status`` is ``"off"`` with the reason in ``note``. Airports
    not stored yet are looked up once (ICAO code, name, position, distance from the
    system's centre). Days may lie ahead (the published schedule). Every request is made
    before the one transaction that writes; a failed one is logged and raised.
    """
    progress = progress or Silent()
    _check_id(system_id)
    system = _require_system(store, system_id)
    codes = _codes(airports)
    days = ctx.days_between(start, end)
    if len(days) > MAX_FETCH_DAYS:
        raise SchemaError(
            f"{start}..{end} is {len(days)} days; fetch at most {MAX_FETCH_DAYS} at a time "
            "(each day costs two requests per airport)"
        )
    key = key or arrivals_key()
    location = f"{base_url}/flights/airports/iata/{','.join(codes)} {start}..{end}"
    if not key:
        return ArrivalsReport(
            "",
            system_id,
            AERODATABOX_SOURCE,
            location,
            0,
            0,
            0,
            0,
            status="off",
            airports=codes,
            note=ARRIVALS_OFF,
        )
    try:
        with store.connect() as conn:
            known = db.load_airports(conn, system_id)
        named = set(known.filter(pl.col("name").is_not_null())["airport"].to_list())
        infos: list[dict[str, Any]] = []
        for code in codes:
            if code in named:
                continue
            progress.stage(f"looking up airport {code}")
            info = ctx.fetch_airport_info(code, key=key, client=client, base_url=base_url)
            infos.append(_with_distance(info, system.center_lat, system.center_lon))
        progress.stage(f"fetching arrivals at {', '.join(codes)} ({len(days)} days)")
        checked = ctx.fetch_arrivals(codes, days, key=key, client=client, base_url=base_url)
    except Exception as exc:
        _log_refused(
            store,
            exc,
            system_id=system_id,
            source=AERODATABOX_SOURCE,
            dataset=_ARRIVALS_DATASET,
            location=location,
        )
        raise
    return _load_arrivals(
        store,
        checked,
        system_id=system_id,
        airports=infos,
        source=AERODATABOX_SOURCE,
        kind=AERODATABOX_SOURCE,
        location=location,
        sha256=None,
        progress=progress,
    )


def ingest_arrivals_file(
    store: Store,
    path: Path,
    *,
    system_id: str,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> ArrivalsReport:
    """Load daily arrivals (``airport, date, arrivals``) from a CSV or Parquet file.

    No key is needed. Airports the system does not have yet are added (by IATA code only);
    rows are upserted by (system, airport, date); bad rows are quarantined with reasons.
    """
    progress = progress or Silent()
    _check_id(system_id)
    require_file(path)
    _require_system(store, system_id)
    location = str(path.resolve())
    progress.stage(f"reading {path.name}")
    digest = hash_in_background(path)
    try:
        checked = ctx.read_arrivals_file(path, encoding=encoding)
    except SchemaError as exc:
        _log_refused(
            store,
            exc,
            system_id=system_id,
            source=ARRIVALS_FILE_SOURCE,
            dataset=_ARRIVALS_DATASET,
            location=location,
            sha256=digest,
        )
        raise
    with store.connect() as conn:
        known = set(db.load_airports(conn, system_id)["airport"].to_list())
    codes = sorted(set(checked.accepted["airport"].to_list()))
    return _load_arrivals(
        store,
        checked,
        system_id=system_id,
        airports=[{"airport": c} for c in codes if c not in known],
        source=ARRIVALS_FILE_SOURCE,
        kind="file",
        location=location,
        sha256=digest,
        progress=progress,
    )


def system_arrivals(store: Store, *, system_id: str, start: date, end: date) -> pl.DataFrame:
    """Flights landed at all of a system's airports per day in [start, end] (``date,
    arrivals``); empty when none are stored (the forecasting feature is then off)."""
    with store.connect() as conn:
        return db.daily_arrivals(conn, system_id, start=start, end=end)


def system_city_facts(store: Store, *, system_id: str) -> dict[str, float]:
    """The newest city facts of a system as numbers (population, area_km2, density_per_km2);
    empty when none are stored."""
    with store.connect() as conn:
        facts = db.latest_city_facts(conn, system_id)
    if facts is None:
        return {}
    keys = ("population", "area_km2", "density_per_km2")
    return {k: float(facts[k]) for k in keys if facts.get(k) is not None}


def _load_arrivals(
    store: Store,
    checked: ctx.CheckedArrivals,
    *,
    system_id: str,
    airports: list[dict[str, Any]],
    source: str,
    kind: str,
    location: str,
    sha256: str | Future[str] | None,
    progress: Progress,
) -> ArrivalsReport:
    began = perf_counter()
    codes = sorted(set(checked.accepted["airport"].to_list()))
    report = ArrivalsReport(
        *(str(uuid.uuid4()), system_id, source, location, checked.rows_read, 0, 0, 0),
        airports=codes,
        excluded=dict(checked.excluded),
    )
    start_report(store, report, dataset=_ARRIVALS_DATASET, sha256=sha256)
    try:
        _count(report, checked.accepted.height, checked.rejected.height, checked.reasons)
        _nothing_loaded(report, checked.accepted.is_empty())
        progress.stage("writing daily arrivals")
        accepted = checked.accepted
        with store.begin() as conn:
            before = db.load_arrivals(conn, system_id)
            db.save_airports(conn, system_id, airports)
            db.save_arrivals(conn, system_id, accepted, source=kind)
        report.rows_new = accepted.join(before, on=["airport", "date"], how="anti").height
        report.first_day, report.last_day = accepted["date"].min(), accepted["date"].max()  # type: ignore[assignment]
        _quarantine(store, report, checked.rejected)
        if report.excluded:
            left = ", ".join(f"{r} ({n})" for r, n in report.excluded.items())
            report.note = f"flights not counted: {left}"
        close_report(store, report, began=began, note=report.note)
        return report
    except BaseException as exc:
        close_report(store, report, began=began, error=exc)
        raise


def _codes(airports: Sequence[str]) -> list[str]:
    """IATA codes, upper case, once each, in the order given; at least one."""
    if not airports:
        raise SchemaError("give at least one airport (IATA code, e.g. --airport ORD)")
    out: list[str] = []
    for code in airports:
        upper = ctx.check_iata(code)
        if upper not in out:
            out.append(upper)
    return out


def _with_distance(
    info: dict[str, Any], center_lat: float | None, center_lon: float | None
) -> dict[str, Any]:
    """The airport's row with its distance from the system's centre (km) when both known."""
    lat, lon = info.get("lat"), info.get("lon")
    if lat is None or lon is None or center_lat is None or center_lon is None:
        return info
    metres = float(haversine_m(lat, lon, center_lat, center_lon))
    return {**info, "distance_km": round(metres / 1000.0, 1)}
