"""station_information and station_status: where each station is and what it holds.

Each record is read field by field (see ``values``) and then checked as a frame: duplicate
ids, negative or absurd counts, coordinates outside the world or at (0, 0), report times
more than a day ahead. A record failing any check is rejected with every reason it fails;
the rest are returned in the store's columns.

A station_id longer than the db's 64 characters rejects its record (a cut id could name
another station). A name longer than 256 characters is different: it only describes the
station, so the record is kept and the name cut to 256 characters, with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import polars as pl

from fleetcast.domain import STATION_STATUS, conform
from fleetcast.geo import Zoning
from fleetcast.sources.gbfs import deviations
from fleetcast.sources.gbfs.checked import (
    PARSE,
    ROW,
    CheckedFeed,
    coordinate_checks,
    count_checks,
    duplicate_check,
    finish,
    future_check,
    record_frame,
    split,
    stamp_snapshot,
)
from fleetcast.sources.gbfs.documents import FeedDocument
from fleetcast.sources.gbfs.system import VehicleType, localized
from fleetcast.sources.gbfs.values import ID_LENGTH, NAME_LENGTH, Notes, Values

STATION_COLUMNS: Final = ("station_id", "name", "lat", "lon", "capacity", "zone_id")
STATION_FLAGS: Final = ("is_installed", "is_renting", "is_returning")
_OTHER_NAME: Final = {
    "num_bikes_available": "num_vehicles_available",
    "num_vehicles_available": "num_bikes_available",
    "num_bikes_disabled": "num_vehicles_disabled",
    "num_vehicles_disabled": "num_bikes_disabled",
}
"""A count's name in the other major versions (read when the version's own is absent)."""


def record_keys(records: list[Any]) -> set[str]:
    """Every key used by any record (to tell a field absent everywhere from one missing)."""
    return set().union(*(r.keys() for r in records if isinstance(r, dict)))


def pick(record: Mapping[str, Any], field: str, doc: FeedDocument, notes: Notes) -> Any:
    """``record[field]`` (or its camelCase copy), else the other versions' name, noted."""
    value = deviations.camel_case_value(record, field, notes)
    other = _OTHER_NAME.get(field)
    if value is None and other is not None and other in record:
        notes.add(f"{other} used in a {doc.spec.major}.x feed", f"read as {field}")
        return record[other]
    return value


def absent_flags(
    records: list[Any], keys: set[str], defaults: Mapping[str, bool], notes: Notes
) -> dict[str, bool]:
    """Flags no record has at all, with the value they are read as (noted); a flag missing
    from only some records is a reason instead."""
    found: dict[str, bool] = {}
    camel = {snake: c for c, snake in deviations.CAMEL_CASE_COPIES.items()}
    for flag, default in defaults.items():
        if records and flag not in keys and camel.get(flag) not in keys:
            how = f"read as {str(default).lower()}"
            notes.add(f"{flag} absent from every record", how, len(records))
            found[flag] = default
    return found


def check_station_information(
    doc: FeedDocument, *, language: str | None = None, zoning: Zoning | None = None
) -> CheckedFeed:
    """Stations with name, position, capacity and (when the system has zones) zone."""
    notes = Notes()
    values = Values(doc.spec, notes)
    records, _ = doc.records("stations")
    deviations.note_camel_case_copies(records, record_keys(records), notes)
    ids: list[str | None] = []
    names: list[str | None] = []
    lats: list[float | None] = []
    lons: list[float | None] = []
    capacities: list[int | None] = []
    parse: list[str | None] = []
    for record in records:
        values.start()
        if not isinstance(record, dict):
            values.reasons.append("record is not a JSON object")
            record = {}
        ids.append(
            values.text(record.get("station_id"), "station_id", required=True, max_length=ID_LENGTH)
        )
        names.append(
            _fitted_name(localized(record.get("name"), "name", doc, language, notes), notes)
        )
        lats.append(values.number(record.get("lat"), "lat", required=True))
        lons.append(values.number(record.get("lon"), "lon", required=True))
        capacities.append(values.count(record.get("capacity"), "capacity"))
        parse.append(values.reason())
    frame = pl.DataFrame(
        {
            ROW: range(1, len(records) + 1),
            PARSE: parse,
            "station_id": ids,
            "name": names,
            "lat": lats,
            "lon": lons,
            "capacity": capacities,
        },
        schema={
            ROW: pl.Int64,
            PARSE: pl.String,
            "station_id": pl.String,
            "name": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "capacity": pl.Int64,
        },
    )
    checks = [
        duplicate_check("station_id", "station_id"),
        *coordinate_checks(),
        *count_checks({"capacity": "capacity"}),
    ]
    accepted, rejected = split(frame, checks, records)
    if zoning is not None:
        accepted = zoning.assign(accepted, lat="lat", lon="lon", out="zone_id")
    else:
        accepted = accepted.with_columns(pl.lit(None, pl.String).alias("zone_id"))
    return finish(
        doc,
        accepted.select(STATION_COLUMNS),
        rejected,
        rows_read=len(records),
        warnings=notes.warnings(),
    )


def check_station_status(
    doc: FeedDocument,
    *,
    system_id: str,
    timezone: str,
    now: datetime,
    vehicle_types: Mapping[str, VehicleType] | None = None,
) -> CheckedFeed:
    """The snapshot of every station (STATION_STATUS columns): ``observed_at`` is the
    feed's publish time, ``last_reported`` the station's own, ``date`` the local day."""
    spec = doc.spec
    notes = Notes()
    values = Values(spec, notes)
    records, _ = doc.records("stations")
    keys = record_keys(records)
    deviations.note_camel_case_copies(records, keys, notes)
    defaults = absent_flags(records, keys, dict.fromkeys(STATION_FLAGS, True), notes)
    available, disabled = spec.vehicles_available, spec.vehicles_disabled
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "station_id",
            "last_reported",
            "bikes_available",
            "ebikes_available",
            "bikes_disabled",
            "docks_available",
            "docks_disabled",
            *STATION_FLAGS,
        )
    }
    parse: list[str | None] = []
    never = 0
    for record in records:
        values.start()
        if not isinstance(record, dict):
            values.reasons.append("record is not a JSON object")
            record = {}
        columns["station_id"].append(
            values.text(record.get("station_id"), "station_id", required=True, max_length=ID_LENGTH)
        )
        columns["bikes_available"].append(
            values.count(pick(record, available, doc, notes), available, required=True)
        )
        columns["ebikes_available"].append(_ebikes(record, vehicle_types, values, notes))
        columns["bikes_disabled"].append(values.count(pick(record, disabled, doc, notes), disabled))
        columns["docks_available"].append(
            values.count(pick(record, "num_docks_available", doc, notes), "num_docks_available")
        )
        columns["docks_disabled"].append(
            values.count(pick(record, "num_docks_disabled", doc, notes), "num_docks_disabled")
        )
        reported = values.epoch(
            pick(record, "last_reported", doc, notes), "last_reported", floor=None
        )
        if deviations.never_reported(reported):
            never += 1
            reported = None
        columns["last_reported"].append(reported)
        for flag in STATION_FLAGS:
            value = values.flag(pick(record, flag, doc, notes), flag, required=flag not in defaults)
            columns[flag].append(defaults.get(flag) if value is None else value)
        parse.append(values.reason())
    if never:
        notes.add(
            "last_reported is a 'never reported' placeholder before 2000, e.g. 86400",
            "read as unknown",
            never,
        )
    counts = {
        "bikes_available": available,
        "ebikes_available": "e-bikes available",
        "bikes_disabled": disabled,
        "docks_available": "num_docks_available",
        "docks_disabled": "num_docks_disabled",
    }
    frame = record_frame(
        columns,
        parse,
        {
            "station_id": pl.String,
            **dict.fromkeys(counts, pl.Int64),
            **dict.fromkeys(STATION_FLAGS, pl.Boolean),
        },
        rows=len(records),
    )
    checks = [
        duplicate_check("station_id", "station_id"),
        *count_checks(counts),
        future_check("last_reported", now),
    ]
    accepted, rejected = split(frame, checks, records)
    accepted = stamp_snapshot(accepted, doc, system_id=system_id, timezone=timezone)
    return finish(
        doc,
        conform(accepted, STATION_STATUS),
        rejected,
        rows_read=len(records),
        warnings=notes.warnings(),
    )


def _fitted_name(name: str | None, notes: Notes) -> str | None:
    """A station name that fits the db's 256 characters: a longer one is cut (and noted)
    rather than rejecting the station, since the name only describes it."""
    if name is None or len(name) <= NAME_LENGTH:
        return name
    notes.add(f"name longer than {NAME_LENGTH} characters", f"cut to {NAME_LENGTH}")
    return name[:NAME_LENGTH]


def _ebikes(
    record: Mapping[str, Any],
    vehicle_types: Mapping[str, VehicleType] | None,
    values: Values,
    notes: Notes,
) -> int | None:
    """E-bikes at a station: Lyft's ``num_ebikes_available``, else the e-bike types of 2.1's
    ``vehicle_types_available``, else Vélib's ``num_bikes_available_types``; else unknown.
    A sum beyond +-MAX_COUNT is a reason (it could not fit the count column)."""
    if "num_ebikes_available" in record:
        return values.count(record["num_ebikes_available"], "num_ebikes_available")
    total = _ebikes_by_type(record, vehicle_types, notes)
    return None if total is None else values.bounded(total, "e-bikes available")


def _ebikes_by_type(
    record: Mapping[str, Any], vehicle_types: Mapping[str, VehicleType] | None, notes: Notes
) -> int | None:
    """E-bikes summed from the per-type counts of 2.1 or Vélib' (unbounded; see _ebikes)."""
    by_type = record.get("vehicle_types_available")
    if isinstance(by_type, list) and vehicle_types:
        total, known = 0, False
        for entry in by_type:
            if not isinstance(entry, dict):
                continue
            kind = vehicle_types.get(str(entry.get("vehicle_type_id")))
            n = entry.get("count")
            if kind is not None and isinstance(n, int) and not isinstance(n, bool):
                known = True
                total += n if kind.is_ebike else 0
        return total if known else None
    if deviations.BIKE_TYPE_COUNTS in record:
        return deviations.ebikes_from_type_counts(record[deviations.BIKE_TYPE_COUNTS], notes)
    return None
