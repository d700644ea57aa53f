"""Mobility Data Specification (MDS) provider feeds: trips and vehicle status changes.

Versions read: 0.4 (``status_changes`` with ``event_type`` / ``event_type_reason``), 1.x
(1.0-1.2: ``status_changes`` with ``vehicle_state`` / ``event_types``; trips with a ``route``)
and 2.0 (``trips`` with ``start_location`` / ``end_location``; status changes are ``events``
with ``timestamp`` and ``location``). 0.x and 1.x wrap records in ``data``; 2.0 puts them at
the top level; both are found. Records are read by their field names, so the page's
``version`` is only checked (a major other than 0, 1 or 2 refuses the feed) and reported.

Pages come from a provider URL, following ``links.next`` until it is absent (bearer token,
timeouts, retries and backoff from ``_http``), or from a folder of saved pages (every
``*.json`` in name order) for replays and tests. A page that is not an MDS payload refuses
the whole feed; a bad record is rejected with every reason it fails.

Trips map to the TRIPS contract: ``device_id`` (the stable vehicle UUID) is our
``vehicle_id``, ``provider_name`` (or ``provider_id``) our ``provider``; times are integer
milliseconds since the epoch, ``trip_duration`` / ``duration`` seconds and ``trip_distance``
/ ``distance`` metres. Start and end points are ``start_location`` / ``end_location`` when
given, else the first and last point of ``route``. The route itself stays in the parsed
frame as ``route`` (a list of ``[lon, lat, t]``, ``t`` in epoch milliseconds): the trips
path drops it and :func:`route_frame` hands it to analytics.

Status changes map to VEHICLE_STATUS rows. The vehicle's state (``vehicle_state``, or the
0.4 ``event_type``) sets the two flags; any other state is rejected, not guessed:

| state (versions)                              | reserved | disabled | why                  |
|-----------------------------------------------|----------|----------|----------------------|
| available (all)                               | no       | no       | rentable now         |
| reserved (all; 0.4 also at a trip start)      | yes      | no       | held for a rider     |
| on_trip (1.x, 2.0), stopped (2.0)             | yes      | no       | in a rider's hands   |
| unavailable (0.4), non_operational (1.x, 2.0) | no       | yes      | on street, no rental |
| removed (all)                                 | no       | yes      | off the street       |
| elsewhere (1.x, 2.0)                          | no       | yes      | outside service area |
| unknown (0.4, 1.x), missing, non_contactable  | no       | yes      | whereabouts unsure   |

A removed vehicle keeps the place where it was picked up as its last position.

Battery is ``battery_pct`` as a fraction 0-1 (0.4, 1.x) or ``battery_percent`` 0-100
(2.0); both are stored as percent. The point is ``event_location`` (a GeoJSON Point
feature) or ``location`` (``{lat, lng}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import httpx
import polars as pl

from fleetcast.domain import VEHICLE_STATUS, conform
from fleetcast.errors import SchemaError, SourceError
from fleetcast.geo import Zoning
from fleetcast.sources import _checks
from fleetcast.sources._http import build_client, get_json
from fleetcast.sources._tabular import parse_numbers
from fleetcast.sources.validate import ROW, count_reasons

Kind = Literal["trips", "status_changes"]
KINDS: Final = ("trips", "status_changes")

STATE_FLAGS: Final[dict[str, tuple[bool, bool]]] = {
    "available": (False, False),
    "reserved": (True, False),
    "on_trip": (True, False),
    "stopped": (True, False),
    "unavailable": (False, True),
    "non_operational": (False, True),
    "removed": (False, True),
    "elsewhere": (False, True),
    "unknown": (False, True),
    "missing": (False, True),
    "non_contactable": (False, True),
}
"""Vehicle state -> (is_reserved, is_disabled); the table in the module docstring says why."""

TRIP_COLUMNS: Final = (
    "trip_id",
    "provider",
    "device_id",
    "vehicle_id",
    "vehicle_type",
    "start_time",
    "end_time",
    "duration",
    "distance",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
)
"""Text columns of a parsed trips frame (besides ``_row`` and ``route``)."""

STATUS_COLUMNS: Final = (
    "device_id",
    "vehicle_id",
    "vehicle_type",
    "provider",
    "vehicle_state",
    "event_types",
    "event_type",
    "event_type_reason",
    "event_time",
    "lat",
    "lon",
    "battery_pct",
    "battery_percent",
    "trip_id",
)
"""Text columns of a parsed status-changes frame (besides ``_row``)."""

ROUTE_TYPE: Final = pl.List(pl.List(pl.Float64()))
"""A route: one ``[lon, lat, t]`` per point, ``t`` in epoch milliseconds (null if absent)."""

_LIST_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "trips": ("trips",),
    "status_changes": ("status_changes", "events"),
}
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")
_SUPPORTED_MAJORS: Final = frozenset({0, 1, 2})
_MIN_MS: Final = 946_684_800_000
"""2000-01-01 in epoch ms: an earlier time is taken for seconds sent where ms belong."""
_MAX_MS: Final = 4_102_444_800_000
_INVALID: Final = "invalid"
_FUTURE_SLACK: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Page:
    """One MDS payload: where it came from, its declared version and its records."""

    location: str
    version: str | None
    records: list[Any]


@dataclass(slots=True)
class CheckedStatus:
    """Status changes checked: VEHICLE_STATUS rows and rejected rows with every reason."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)


def is_url(source: str | Path) -> bool:
    """True for an http(s) URL, False for a local file or folder of saved pages."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def accept_header(version: str | None) -> str:
    """The ``Accept`` header that asks a provider for ``version`` (any JSON when None)."""
    if version is None:
        return "application/json"
    major, minor = _parse_version(version, where="--version")
    media = "application/vnd.mds+json" if major >= 2 else "application/vnd.mds.provider+json"
    return f"{media};version={major}.{minor}"


def fetch_pages(
    source: str | Path,
    *,
    kind: Kind,
    token: str | None = None,
    version: str | None = None,
    client: httpx.Client | None = None,
    on_page: Callable[[Page], object] | None = None,
    max_pages: int = 10_000,
) -> list[Page]:
    """Every page of a feed: from a URL following ``links.next``, or a folder of saved pages.

    ``token`` is sent as ``Authorization: Bearer``; ``version`` asks for that MDS version
    and refuses pages that declare another one. Nothing is returned until every page has
    been read, so a failure half-way leaves the caller with nothing to half-load.
    """
    if kind not in KINDS:
        raise SchemaError(f"kind {kind!r} not understood: use 'trips' or 'status_changes'")
    if is_url(source):
        pages = _fetch_url(
            str(source),
            kind=kind,
            token=token,
            version=version,
            client=client,
            on_page=on_page,
            max_pages=max_pages,
        )
    else:
        pages = _read_saved(Path(source), kind=kind, on_page=on_page)
    if version is not None:
        wanted = _parse_version(version, where="--version")
        for page in pages:
            if page.version is not None and _parse_version(page.version) != wanted:
                raise SourceError(
                    f"asked for MDS {version} but {page.location} is version {page.version}; "
                    "drop --version or ask the provider for the version it serves"
                )
    declared = {p.version for p in pages if p.version is not None}
    if len(declared) > 1:
        raise SourceError(
            f"the pages declare different MDS versions ({', '.join(sorted(declared))}); "
            "read each version's pages separately"
        )
    return pages


def _fetch_url(
    url: str,
    *,
    kind: Kind,
    token: str | None,
    version: str | None,
    client: httpx.Client | None,
    on_page: Callable[[Page], object] | None,
    max_pages: int,
) -> list[Page]:
    """Pages from a provider, following links.next; a link back to a page read is refused."""
    headers = {"Accept": accept_header(version)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    own = client is None
    http = client or build_client()
    pages: list[Page] = []
    seen: set[str] = set()
    next_url: str | None = url
    try:
        while next_url is not None:
            if next_url in seen:
                raise SourceError(
                    f"links.next of {pages[-1].location} points back to {next_url}: the "
                    "provider's paging loops; report it to the provider"
                )
            if len(pages) >= max_pages:
                raise SourceError(f"more than {max_pages} pages from {url}; ask for a shorter span")
            seen.add(next_url)
            payload = get_json(http, next_url, headers=headers)
            page = read_page(payload, kind=kind, location=next_url)
            pages.append(page)
            if on_page is not None:
                on_page(page)
            link = next_link(payload)
            next_url = str(httpx.URL(next_url).join(link)) if link else None
    finally:
        if own:
            http.close()
    return pages


def _read_saved(path: Path, *, kind: Kind, on_page: Callable[[Page], object] | None) -> list[Page]:
    """Pages saved as JSON files: the file itself, or every ``*.json`` of a folder by name."""
    if path.is_dir():
        files = sorted(path.glob("*.json"), key=_natural)
        if not files:
            raise SourceError(f"{path} holds no *.json pages")
    elif path.is_file():
        files = [path]
    else:
        raise SourceError(f"{path} is neither an http(s) URL nor an existing file or folder")
    pages = []
    for file in files:
        try:
            payload = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(f"{file} is not a JSON page: {exc}") from exc
        page = read_page(payload, kind=kind, location=str(file))
        pages.append(page)
        if on_page is not None:
            on_page(page)
    return pages


def _natural(path: Path) -> list[int | str]:
    """Sort key that puts page2 before page10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.name)]


def read_page(payload: Any, *, kind: Kind, location: str) -> Page:
    """Check one payload's shape and version; a page that is not MDS refuses the whole feed."""
    names = _LIST_NAMES[kind]
    wanted = " or ".join(f"data.{n} / {n}" for n in names)
    if not isinstance(payload, dict):
        raise SourceError(
            f"{location} is not an MDS payload (expected a JSON object with {wanted}); "
            f"check that it is the provider's /{kind} endpoint"
        )
    records = None
    for holder in (payload.get("data"), payload):
        if isinstance(holder, dict):
            found = next((holder[n] for n in names if isinstance(holder.get(n), list)), None)
            if found is not None:
                records = found
                break
    if records is None:
        raise SourceError(
            f"{location} has no list of {kind} (looked for {wanted}; keys found: "
            f"{sorted(payload)[:10]}); check that it is the provider's /{kind} endpoint"
        )
    version = payload.get("version")
    if version is not None:
        version = str(version)
        _parse_version(version, where=location)
    return Page(location=location, version=version, records=records)


def next_link(payload: Mapping[str, Any]) -> str | None:
    """The page's ``links.next`` (None when absent, null or empty)."""
    links = payload.get("links")
    if not isinstance(links, dict):
        return None
    link = links.get("next")
    return link if isinstance(link, str) and link.strip() else None


def _parse_version(version: str, *, where: str = "the feed") -> tuple[int, int]:
    """(major, minor) of an MDS version, refusing majors fleetcast does not read."""
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        raise SourceError(f"MDS version {version!r} of {where} not understood (e.g. 1.2.0)")
    major, minor = int(match.group(1)), int(match.group(2))
    if major not in _SUPPORTED_MAJORS:
        raise SourceError(
            f"MDS version {version} of {where} is not supported: fleetcast reads 0.4, 1.x and 2.0"
        )
    return major, minor


def _text(value: Any) -> str | None:
    """A JSON value as the text the checks read: strings as they are, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _point_text(value: Any) -> tuple[str | None, str | None]:
    """(lat, lon) text of a GeoJSON Point feature, a Point, or a ``{lat, lng}`` object."""
    if value is None:
        return None, None
    if isinstance(value, dict):
        if "lat" in value and ("lng" in value or "lon" in value):
            return _text(value["lat"]), _text(value.get("lng", value.get("lon")))
        geometry = value.get("geometry", value)
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if isinstance(coords, list) and len(coords) >= 2:
            return _text(coords[1]), _text(coords[0])
    return _INVALID, _INVALID


def _route(value: Any) -> tuple[list[list[float | None]] | None, Any, Any]:
    """A route's points as ``[lon, lat, t]`` and its first and last features (raw)."""
    if value is None:
        return None, None, None
    features = value.get("features") if isinstance(value, dict) else None
    if not isinstance(features, list):
        return None, _INVALID, _INVALID
    points: list[list[float | None]] = []
    for feature in features:
        if not isinstance(feature, dict):
            continue
        geometry = feature.get("geometry")
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (isinstance(coords, list) and len(coords) >= 2):
            continue
        lon, lat = coords[0], coords[1]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            continue
        props = feature.get("properties")
        stamp = props.get("timestamp") if isinstance(props, dict) else None
        t = float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None
        points.append([float(lon), float(lat), t])
    if not features:
        return points, None, None
    return points, features[0], features[-1]


def _first(record: Mapping[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` the record has (MDS renamed fields over versions)."""
    return next((record[n] for n in names if n in record), None)


def _trip_row(record: Any) -> dict[str, Any]:
    """One trip record as text fields (an empty row for a record that is not an object)."""
    if not isinstance(record, dict):
        return {}
    route, first, last = _route(record.get("route"))
    start = record.get("start_location", first)
    end = record.get("end_location", last)
    start_lat, start_lon = _point_text(start)
    end_lat, end_lon = _point_text(end)
    return {
        "trip_id": _text(record.get("trip_id")),
        "provider": _text(_first(record, "provider_name", "provider_id")),
        "device_id": _text(record.get("device_id")),
        "vehicle_id": _text(record.get("vehicle_id")),
        "vehicle_type": _text(record.get("vehicle_type")),
        "start_time": _text(record.get("start_time")),
        "end_time": _text(record.get("end_time")),
        "duration": _text(_first(record, "trip_duration", "duration")),
        "distance": _text(_first(record, "trip_distance", "distance")),
        "start_lat": start_lat,
        "start_lon": start_lon,
        "end_lat": end_lat,
        "end_lon": end_lon,
        "route": route,
    }


def _records(pages: Iterable[Page]) -> list[Any]:
    """Every record of every page, in page order."""
    return [r for page in pages for r in page.records]


def parse_trips(pages: Iterable[Page]) -> pl.DataFrame:
    """Trip records as text columns (TRIP_COLUMNS), ``route`` and ``_row`` (1-based)."""
    rows = [_trip_row(r) for r in _records(pages)]
    schema: dict[str, pl.DataType] = {c: pl.String() for c in TRIP_COLUMNS}
    schema["route"] = ROUTE_TYPE
    frame = pl.DataFrame(
        {name: [r.get(name) for r in rows] for name in schema}, schema=schema, strict=False
    )
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def epoch_ms(text: pl.Expr) -> pl.Expr:
    """Integer epoch milliseconds (as text) to UTC times; anything else, or before 2000, null."""
    value = text.str.strip_chars().cast(pl.Float64, strict=False)
    ok = value.is_finite() & (value == value.floor()) & value.is_between(_MIN_MS, _MAX_MS)
    stamp = pl.from_epoch(value.cast(pl.Int64, strict=False), time_unit="ms")
    return (
        pl.when(ok).then(stamp).otherwise(None).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    )


def trip_candidates(raw: pl.DataFrame) -> pl.DataFrame:
    """A parsed trips frame as candidates for ``validate.check_trips`` (``route`` kept)."""
    points = ("start_lat", "start_lon", "end_lat", "end_lon")
    return raw.select(
        pl.col(ROW),
        pl.col("trip_id").str.strip_chars().alias("trip_id"),
        pl.col("start_time").alias("started_at_raw"),
        pl.col("end_time").alias("ended_at_raw"),
        epoch_ms(pl.col("start_time")).alias("started_at"),
        epoch_ms(pl.col("end_time")).alias("ended_at"),
        pl.col("duration").alias("duration_raw"),
        pl.col("distance").alias("distance_raw"),
        parse_numbers(raw["duration"]).alias("duration_s"),
        parse_numbers(raw["distance"]).alias("distance_m"),
        *(pl.col(n).alias(f"{n}_raw") for n in points),
        *(parse_numbers(raw[n]).alias(n) for n in points),
        pl.lit(None, pl.String).alias("start_zone"),
        pl.lit(None, pl.String).alias("end_zone"),
        pl.col("device_id").str.strip_chars().alias("vehicle_id"),
        pl.col("vehicle_type").str.strip_chars().alias("vehicle_type"),
        pl.col("provider").str.strip_chars().alias("provider"),
        pl.col("route"),
    )


def route_frame(trips: pl.DataFrame, *, points: bool = False) -> pl.DataFrame:
    """Routes of parsed trips (from :func:`parse_trips`): ``trip_id`` and ``route``, the
    first route of each trip id (trips without one are left out).

    With ``points``, one row per point instead: ``trip_id``, ``seq`` (0-based), ``lon``,
    ``lat`` and ``recorded_at`` (UTC; null where the point had no timestamp).
    """
    routes = trips.filter(pl.col("route").is_not_null() & (pl.col("route").list.len() > 0))
    routes = routes.select(pl.col("trip_id").str.strip_chars(), pl.col("route")).unique(
        subset="trip_id", keep="first", maintain_order=True
    )
    if not points:
        return routes
    return (
        routes.with_columns(pl.int_ranges(pl.col("route").list.len(), dtype=pl.Int32).alias("seq"))
        .explode("route", "seq")
        .select(
            "trip_id",
            "seq",
            pl.col("route").list.get(0).alias("lon"),
            pl.col("route").list.get(1).alias("lat"),
            pl.from_epoch(pl.col("route").list.get(2).cast(pl.Int64), time_unit="ms")
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
            .alias("recorded_at"),
        )
    )


def _status_row(record: Any) -> dict[str, Any]:
    """One status change (or 2.0 event) as text fields, whatever the version's names."""
    if not isinstance(record, dict):
        return {}
    lat, lon = _point_text(_first(record, "event_location", "location"))
    return {
        "device_id": _text(record.get("device_id")),
        "vehicle_id": _text(record.get("vehicle_id")),
        "vehicle_type": _text(record.get("vehicle_type")),
        "provider": _text(_first(record, "provider_name", "provider_id")),
        "vehicle_state": _text(record.get("vehicle_state")),
        "event_types": _text(record.get("event_types")),
        "event_type": _text(record.get("event_type")),
        "event_type_reason": _text(record.get("event_type_reason")),
        "event_time": _text(_first(record, "event_time", "timestamp")),
        "lat": lat,
        "lon": lon,
        "battery_pct": _text(record.get("battery_pct")),
        "battery_percent": _text(record.get("battery_percent")),
        "trip_id": _text(_first(record, "trip_id", "associated_trip", "trip_ids")),
    }


def parse_status_changes(pages: Iterable[Page]) -> pl.DataFrame:
    """Status-change (or 2.0 event) records as text columns (STATUS_COLUMNS) and ``_row``."""
    rows = [_status_row(r) for r in _records(pages)]
    frame = pl.DataFrame(
        {name: [r.get(name) for r in rows] for name in STATUS_COLUMNS},
        schema=dict.fromkeys(STATUS_COLUMNS, pl.String()),
    )
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def check_status_changes(
    raw: pl.DataFrame,
    *,
    system_id: str,
    timezone: str,
    zoning: Zoning | None = None,
    now: datetime | None = None,
) -> CheckedStatus:
    """Check parsed status changes and turn the good ones into VEHICLE_STATUS rows.

    Every bad row gets every reason: no device id, a missing, unparseable or future event
    time, a missing or unknown vehicle state, a missing, unparseable or impossible location,
    a battery outside its version's range, or a second change of the same vehicle at the same
    time in this input (the first is kept). ``date`` is the local day in ``timezone``;
    ``zone_id`` is located with ``zoning`` when given.
    """
    latest = (now or datetime.now(UTC)) + _FUTURE_SLACK
    state = pl.coalesce(
        pl.col("vehicle_state").str.strip_chars().str.to_lowercase().replace("", None),
        pl.col("event_type").str.strip_chars().str.to_lowercase().replace("", None),
    )
    frame = raw.with_columns(
        pl.col("device_id").str.strip_chars().alias("device_id"),
        epoch_ms(pl.col("event_time")).alias("observed_at"),
        parse_numbers(raw["lat"]).fill_nan(None).alias("_lat"),
        parse_numbers(raw["lon"]).fill_nan(None).alias("_lon"),
        parse_numbers(raw["battery_pct"]).fill_nan(None).alias("_fraction"),
        parse_numbers(raw["battery_percent"]).fill_nan(None).alias("_percent"),
        state.alias("_state"),
    )
    present = _checks.text_present
    lat, lon = pl.col("_lat"), pl.col("_lon")
    known = pl.Series(sorted(STATE_FLAGS), dtype=pl.String).implode()
    checks: list[_checks.Check] = [
        (~present("device_id"), "missing device id"),
        (~present("event_time"), "missing event time"),
        (present("event_time") & pl.col("observed_at").is_null(), "unparseable event time"),
        (pl.col("observed_at") > latest, "event time in the future"),
        (pl.col("_state").is_null(), "missing vehicle state"),
        (pl.col("_state").is_not_null() & ~pl.col("_state").is_in(known), "unknown vehicle state"),
        (~present("lat") & ~present("lon"), "missing location"),
        (
            (present("lat") & lat.is_null()) | (present("lon") & lon.is_null()),
            "unparseable location",
        ),
        ((lat.abs() > 90) | (lon.abs() > 180), "location outside the world"),
        (present("battery_pct") & pl.col("_fraction").is_null(), "unparseable battery_pct"),
        (~pl.col("_fraction").is_between(0, 1), "battery_pct outside 0-1"),
        (present("battery_percent") & pl.col("_percent").is_null(), "unparseable battery_percent"),
        (~pl.col("_percent").is_between(0, 100), "battery_percent outside 0-100"),
    ]
    split = _checks.split_rows(
        frame,
        checks,
        unique=("device_id", "observed_at"),
        duplicate_reason="another change of this vehicle at the same time in this input",
    )
    good = split.accepted
    reserved = {k: v[0] for k, v in STATE_FLAGS.items()}
    disabled = {k: v[1] for k, v in STATE_FLAGS.items()}
    rows = good.select(
        pl.lit(system_id).alias("system_id"),
        pl.col("device_id").alias("vehicle_id"),
        "observed_at",
        pl.col("_lat").alias("lat"),
        pl.col("_lon").alias("lon"),
        pl.coalesce(pl.col("_fraction") * 100, pl.col("_percent")).alias("battery_pct"),
        pl.col("_state").replace_strict(reserved, return_dtype=pl.Boolean).alias("is_reserved"),
        pl.col("_state").replace_strict(disabled, return_dtype=pl.Boolean).alias("is_disabled"),
        pl.col("vehicle_type").str.strip_chars(),
        pl.col("observed_at").dt.convert_time_zone(timezone).dt.date().alias("date"),
    )
    if zoning is not None and not rows.is_empty():
        rows = zoning.assign(rows, lat="lat", lon="lon", out="zone_id")
    rejected = _checks.with_records(split.rejected, raw)
    return CheckedStatus(
        accepted=conform(rows, VEHICLE_STATUS),
        rejected=rejected,
        rows_read=raw.height,
        reasons=count_reasons(rejected),
    )
