"""A Socrata SODA 2.x client for open-data portals, and the City of Chicago's e-scooter datasets.

Socrata serves a dataset's records at ``https://{domain}/resource/{dataset_id}.json``, paged
with ``$limit`` / ``$offset``; pages are only stable under an ``$order`` (``:id`` at least).
Its JSON gives every number as a string, omits null fields from a record, and encodes points
as GeoJSON objects. :func:`fetch_frame` keeps all of that as text so one parser downstream
decides what is valid; :func:`api_frame_to_csv_columns` reshapes an API frame into the
portal's CSV-export layout so the API and the CSV download feed that same parser.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import httpx
import polars as pl

from fleetcast.errors import SourceError
from fleetcast.sources import _http

CHICAGO_DOMAIN: Final = "data.cityofchicago.org"
CHICAGO_TRIPS_2019_PILOT: Final = "2kfw-zvte"
"""E-Scooter Trips - 2019 Pilot (2019-06-15 to 2019-10-15); has accuracy and census tracts,
no vendor."""
CHICAGO_TRIPS_2020_PILOT: Final = "3rse-fbp6"
"""E-Scooter Trips - 2020 (the 2020 pilot, from 2020-08-12); has vendor, no accuracy or
census tracts."""
CHICAGO_TRIPS_2022_ON: Final = "2i5w-ykuw"
"""E-Scooter Trips (the permanent programme, 2022 on); has vendor. Its other fields are
taken to be the 2020 pilot's (seen in public code, not checked against the portal)."""
CHICAGO_COMMUNITY_AREAS_ID: Final = "cauq-8yn6"
CHICAGO_COMMUNITY_AREAS_GEOJSON_URL: Final = (
    f"https://{CHICAGO_DOMAIN}/api/geospatial/{CHICAGO_COMMUNITY_AREAS_ID}"
    "?method=export&format=GeoJSON"
)
"""The 77 community areas (Boundaries - Community Areas (current)) as a GeoJSON export.

Public code also reads the areas from ``igwz-8jzy`` (``/resource/igwz-8jzy.geojson``,
``area_numbe`` 1-77), apparently a newer copy; which of the two the portal keeps is not
verified here, so a caller whose download of this URL fails can try that one."""

CHICAGO_TRIP_FIELDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "trip_id": "Trip ID",
        "start_time": "Start Time",
        "end_time": "End Time",
        "trip_distance": "Trip Distance",
        "trip_duration": "Trip Duration",
        "accuracy": "Accuracy",
        "start_census_tract": "Start Census Tract",
        "end_census_tract": "End Census Tract",
        "start_community_area_number": "Start Community Area Number",
        "end_community_area_number": "End Community Area Number",
        "start_community_area_name": "Start Community Area Name",
        "end_community_area_name": "End Community Area Name",
        "start_centroid_latitude": "Start Centroid Latitude",
        "start_centroid_longitude": "Start Centroid Longitude",
        "start_centroid_location": "Start Centroid Location",
        "end_centroid_latitude": "End Centroid Latitude",
        "end_centroid_longitude": "End Centroid Longitude",
        "end_centroid_location": "End Centroid Location",
        "vendor": "Vendor",
    }
)
"""SODA API field name -> the portal's CSV-export column title, for every Chicago trip table.

The 2019 pilot lacks ``vendor``; the 2020 pilot lacks ``accuracy`` and the census tracts."""

CHICAGO_CSV_TIME_FORMAT: Final = "%m/%d/%Y %I:%M:%S %p"
"""How the CSV export writes a floating timestamp: ``08/12/2020 06:00:00 AM``."""

_TIME_FIELDS: Final = ("start_time", "end_time")
_LOCATION_FIELDS: Final = ("start_centroid_location", "end_centroid_location")
_API_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f"
_DATASET_ID = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]+(:\d+)?")
_COLUMN = re.compile(r"[A-Za-z_:@][A-Za-z0-9_:@]*")
_POINT_TEXT = (
    r'^\s*\{\s*"type"\s*:\s*"Point"\s*,\s*"coordinates"\s*:\s*'
    r"\[\s*(-?[0-9.eE+-]+)\s*,\s*(-?[0-9.eE+-]+)\s*\]\s*\}\s*$"
)


def resource_url(domain: str, dataset_id: str) -> str:
    """The SODA 2.x JSON endpoint of a dataset, after checking both parts look right."""
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(
            f"domain {domain!r} is not a host name; pass e.g. {CHICAGO_DOMAIN!r}, without "
            "https:// or a path"
        )
    if not _DATASET_ID.fullmatch(dataset_id):
        raise ValueError(
            f"dataset id {dataset_id!r} is not a Socrata id like 'abcd-1234' "
            "(four characters, a dash, four characters)"
        )
    return f"https://{domain}/resource/{dataset_id}.json"


def csv_export_url(domain: str, dataset_id: str) -> str:
    """The portal's full CSV export of a dataset (the file users download from the web page)."""
    resource_url(domain, dataset_id)
    return f"https://{domain}/api/views/{dataset_id}/rows.csv?accessType=DOWNLOAD"


def fetch_rows(
    domain: str,
    dataset_id: str,
    *,
    where: str | None = None,
    order: str = ":id",
    select: str | None = None,
    page_size: int = 50_000,
    app_token: str | None = None,
    client: httpx.Client | None = None,
    on_page: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield a dataset's records page by page, as Socrata sends them.

    Pages are requested with ``$limit`` / ``$offset`` under ``order`` (keep an ``$order``:
    without one Socrata may return rows twice or skip them across pages), filtered by the
    SoQL ``where`` and ``select`` when given. Paging stops at the first page shorter than
    asked for, or once ``max_rows`` records were yielded. ``app_token`` is sent as the
    ``X-App-Token`` header (optional; it lifts the per-IP throttling). ``on_page`` is called
    after each non-empty page with the number of records fetched so far. A client passed
    in is left open; one made here is closed when the iteration ends.
    """
    url = resource_url(domain, dataset_id)
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be >= 0, got {max_rows}")
    params: dict[str, str | int] = {"$order": order}
    if where is not None:
        params["$where"] = where
    if select is not None:
        params["$select"] = select
    headers = {"X-App-Token": app_token} if app_token else None
    return _pages(
        url, params, headers, page_size=page_size, client=client, on_page=on_page, max_rows=max_rows
    )


def _pages(
    url: str,
    params: Mapping[str, str | int],
    headers: Mapping[str, str] | None,
    *,
    page_size: int,
    client: httpx.Client | None,
    on_page: Callable[[int], None] | None,
    max_rows: int | None,
) -> Iterator[list[dict[str, Any]]]:
    """The paging loop of :func:`fetch_rows`, apart so bad arguments fail at the call."""
    own_client = client is None
    http = _http.build_client() if client is None else client
    try:
        fetched = 0
        while max_rows is None or fetched < max_rows:
            limit = page_size if max_rows is None else min(page_size, max_rows - fetched)
            query = {**params, "$limit": limit, "$offset": fetched}
            page = _records(_http.get_json(http, url, params=query, headers=headers), url)[:limit]
            if page:
                fetched += len(page)
                if on_page is not None:
                    on_page(fetched)
                yield page
            if len(page) < limit:
                break
    finally:
        if own_client:
            http.close()


def fetch_frame(
    domain: str,
    dataset_id: str,
    *,
    where: str | None = None,
    order: str = ":id",
    select: str | None = None,
    page_size: int = 50_000,
    app_token: str | None = None,
    client: httpx.Client | None = None,
    on_page: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> pl.DataFrame:
    """Fetch records like :func:`fetch_rows` into one Polars frame whose columns are all text.

    Values stay as Socrata wrote them (numbers are strings in SODA JSON); nested values such
    as Point locations become compact JSON text; a field missing from some records (Socrata
    omits nulls) is a null in those rows, and a column appears if any record has the field.
    Typing and validation are left to the caller's parser.
    """
    frames = [
        _page_frame(page)
        for page in fetch_rows(
            domain,
            dataset_id,
            where=where,
            order=order,
            select=select,
            page_size=page_size,
            app_token=app_token,
            client=client,
            on_page=on_page,
            max_rows=max_rows,
        )
    ]
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal")


def api_frame_to_csv_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Reshape a Chicago trips frame from the API into the portal's CSV-export layout.

    Columns are renamed with :data:`CHICAGO_TRIP_FIELDS` and come out in its order, every one
    present (a field no record had, such as ``vendor`` in the 2019 pilot, is all null); other
    API columns (e.g. ``:@computed_region_*``) follow unchanged. Timestamps go from the API's
    ``2020-08-12T06:00:00.000`` to the export's ``08/12/2020 06:00:00 AM`` and GeoJSON points
    to the export's ``POINT (lon lat)``. A value that does not have the expected shape is
    passed through untouched, so the parser can reject it with its reason.
    """
    columns = []
    for field, title in CHICAGO_TRIP_FIELDS.items():
        if field in frame.columns:
            value = pl.col(field).cast(pl.String)
            if field in _TIME_FIELDS:
                value = _api_time_to_csv(value)
            elif field in _LOCATION_FIELDS:
                value = _point_json_to_wkt(value)
        else:
            value = pl.repeat(None, frame.height, dtype=pl.String)
        columns.append(value.alias(title))
    extra = [pl.col(name) for name in frame.columns if name not in CHICAGO_TRIP_FIELDS]
    return frame.select(*columns, *extra)


def soql_quote(value: str) -> str:
    """A SoQL string literal for ``value``: single-quoted, with inner quotes doubled.

    Use it for every user-supplied text in a ``$where``, e.g.
    ``f"vendor = {soql_quote(name)}"``.
    """
    return "'" + value.replace("'", "''") + "'"


def between_clause(column: str, start: datetime, end: datetime) -> str:
    """A ``$where`` clause selecting ``start <= column < end`` on a floating timestamp column.

    Floating timestamps carry no time zone (Chicago's are local Chicago time), so ``start``
    and ``end`` must be naive datetimes in the dataset's own local time; an aware datetime is
    refused rather than silently shifted.
    """
    if not _COLUMN.fullmatch(column):
        raise ValueError(f"column {column!r} is not a SoQL field name")
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is not None:
            raise ValueError(
                f"{name} {moment.isoformat()} has a time zone; Socrata floating timestamps "
                "have none, so pass a naive datetime in the dataset's local time"
            )
    if not start < end:
        raise ValueError(f"start {start.isoformat()} must be before end {end.isoformat()}")
    return f"{column} >= {_floating(start)} AND {column} < {_floating(end)}"


def download_file(url: str, dest: Path, *, client: httpx.Client | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically and return ``dest``.

    The body streams into a temporary file beside ``dest`` that is renamed over it only once
    complete, so a failed download leaves no partial file and an older ``dest`` intact.
    Transient failures are retried (see :mod:`fleetcast.sources._http`).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(handle)
    temp = Path(name)
    temp.chmod(dest.stat().st_mode & 0o777 if dest.exists() else 0o644)
    own_client = client is None
    http = _http.build_client() if client is None else client
    try:
        _http.download_to(http, url, temp)
        temp.replace(dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        if own_client:
            http.close()
    return dest


def _records(payload: Any, url: str) -> list[dict[str, Any]]:
    """Check that a SODA response is a list of records."""
    if not isinstance(payload, list):
        shown = json.dumps(payload)[:200]
        raise SourceError(
            f"{url} answered {shown} instead of a list of records; check the dataset id and "
            "the query"
        )
    if not all(isinstance(record, dict) for record in payload):
        raise SourceError(f"{url} answered a list with items that are not records")
    return payload


def _page_frame(page: list[dict[str, Any]]) -> pl.DataFrame:
    """One page of records as a frame of text columns, nulls where a record lacks a field."""
    names: dict[str, None] = {}
    for record in page:
        names.update(dict.fromkeys(record))
    data = {name: [_as_text(record.get(name)) for record in page] for name in names}
    return pl.DataFrame(data, schema=dict.fromkeys(names, pl.String))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _api_time_to_csv(value: pl.Expr) -> pl.Expr:
    parsed = value.str.to_datetime(_API_TIME_FORMAT, strict=False)
    return (
        pl.when(parsed.is_null()).then(value).otherwise(parsed.dt.strftime(CHICAGO_CSV_TIME_FORMAT))
    )


def _point_json_to_wkt(value: pl.Expr) -> pl.Expr:
    lon = value.str.extract(_POINT_TEXT, 1)
    lat = value.str.extract(_POINT_TEXT, 2)
    wkt = pl.format("POINT ({} {})", lon, lat)
    return pl.when(lon.is_null() | lat.is_null()).then(value).otherwise(wkt)


def _floating(moment: datetime) -> str:
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return soql_quote(moment.isoformat(timespec=timespec))
