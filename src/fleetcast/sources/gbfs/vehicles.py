"""free_bike_status (1.x, 2.x) and vehicle_status (3.0): every vehicle not in a rental.

A vehicle's battery is ``current_fuel_percent`` (0 to 1, from 2.3) in percent; without it,
the share of its type's full range left (``current_range_meters / max_range_meters``) is
used and noted as an estimate. A vehicle parked at a station without coordinates (allowed
from 2.1) takes the station's position.

A vehicle_id longer than the db's 64 characters, or a vehicle_type_id longer than its 32,
rejects the record: a cut id could name another vehicle or type. A ``last_reported`` after
2100 rejects it too; one before 2000 is a "never reported" placeholder, read as unknown
(noted) like a station's, since the vehicle's position is still good.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import polars as pl

from fleetcast.domain import VEHICLE_STATUS, conform
from fleetcast.geo import Zoning
from fleetcast.sources.gbfs import deviations
from fleetcast.sources.gbfs.checked import (
    CheckedFeed,
    coordinate_checks,
    duplicate_check,
    finish,
    future_check,
    record_frame,
    split,
    stamp_snapshot,
)
from fleetcast.sources.gbfs.documents import FeedDocument
from fleetcast.sources.gbfs.stations import absent_flags, record_keys
from fleetcast.sources.gbfs.system import VehicleType
from fleetcast.sources.gbfs.values import ID_LENGTH, TYPE_ID_LENGTH, Notes, Values

VEHICLE_FLAGS: Final = ("is_reserved", "is_disabled")
_OTHER_LIST: Final = {"bikes": "vehicles", "vehicles": "bikes"}
_OTHER_ID: Final = {"bike_id": "vehicle_id", "vehicle_id": "bike_id"}


def check_vehicles(
    doc: FeedDocument,
    *,
    system_id: str,
    timezone: str,
    now: datetime,
    vehicle_types: Mapping[str, VehicleType] | None = None,
    stations: Mapping[str, tuple[float, float]] | None = None,
    zoning: Zoning | None = None,
) -> CheckedFeed:
    """The fleet snapshot (VEHICLE_STATUS columns); ``stations`` maps station ids to
    (lat, lon) for vehicles parked at one without coordinates."""
    spec = doc.spec
    notes = Notes()
    values = Values(spec, notes)
    types = vehicle_types or {}
    records, list_name = doc.records(spec.vehicles_list, _OTHER_LIST[spec.vehicles_list])
    warnings: list[str] = []
    if list_name != spec.vehicles_list:
        warnings.append(
            f"vehicles listed as data.{list_name} in a {spec.major}.x feed: read as "
            f"data.{spec.vehicles_list}"
        )
    id_field = spec.vehicle_id
    other_id = _OTHER_ID[id_field]
    keys = record_keys(records)
    defaults = absent_flags(records, keys, dict.fromkeys(VEHICLE_FLAGS, False), notes)
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "vehicle_id",
            "lat",
            "lon",
            "battery_pct",
            "vehicle_type",
            "range_m",
            "last_reported",
            *VEHICLE_FLAGS,
        )
    }
    parse: list[str | None] = []
    at_station = estimated = over_range = in_percent = never = 0
    for record in records:
        values.start()
        if not isinstance(record, dict):
            values.reasons.append("record is not a JSON object")
            record = {}
        raw_id = record.get(id_field)
        if raw_id is None and other_id in record:
            notes.add(f"{other_id} used in a {spec.major}.x feed", f"read as {id_field}")
            raw_id = record[other_id]
        columns["vehicle_id"].append(
            values.text(raw_id, id_field, required=True, max_length=ID_LENGTH)
        )
        lat, lon = _position(record, values, stations)
        if lat is not None and "lat" not in record:
            at_station += 1
        columns["lat"].append(lat)
        columns["lon"].append(lon)
        for flag in VEHICLE_FLAGS:
            value = values.flag(record.get(flag), flag, required=flag not in defaults)
            columns[flag].append(defaults.get(flag) if value is None else value)
        type_id = values.text(
            record.get("vehicle_type_id"), "vehicle_type_id", max_length=TYPE_ID_LENGTH
        )
        columns["vehicle_type"].append(type_id)
        fuel = values.number(record.get("current_fuel_percent"), "current_fuel_percent")
        range_m = values.number(record.get("current_range_meters"), "current_range_meters")
        columns["range_m"].append(range_m)
        battery: float | None = None
        if fuel is not None:
            if 1 < fuel <= 100:
                in_percent += 1
                battery = fuel
            else:
                battery = round(fuel * 100, 4)
        elif range_m is not None and range_m >= 0 and type_id is not None and type_id in types:
            full = types[type_id].max_range_m
            if full:
                share = round(100 * range_m / full, 4)
                if share <= 100:
                    estimated += 1
                    battery = share
                else:
                    over_range += 1
        columns["battery_pct"].append(battery)
        reported = values.epoch(record.get("last_reported"), "last_reported", floor=None)
        if deviations.never_reported(reported):
            never += 1
            reported = None
        columns["last_reported"].append(reported)
        parse.append(values.reason())
    _note_battery(notes, at_station, estimated, over_range, in_percent)
    if never:
        notes.add(
            "last_reported is a 'never reported' placeholder before 2000, e.g. 0",
            "read as unknown",
            never,
        )
    frame = record_frame(
        columns,
        parse,
        {
            "vehicle_id": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "battery_pct": pl.Float64,
            "vehicle_type": pl.String,
            "range_m": pl.Float64,
            **dict.fromkeys(VEHICLE_FLAGS, pl.Boolean),
        },
        rows=len(records),
    )
    checks = [
        duplicate_check("vehicle_id", id_field),
        *coordinate_checks(),
        (
            (pl.col("battery_pct") < 0) | (pl.col("battery_pct") > 100),
            "current_fuel_percent outside 0-1",
        ),
        (pl.col("range_m") < 0, "negative current_range_meters"),
        future_check("last_reported", now),
    ]
    accepted, rejected = split(frame, checks, records)
    if zoning is not None:
        accepted = zoning.assign(accepted, lat="lat", lon="lon", out="zone_id")
    accepted = stamp_snapshot(accepted, doc, system_id=system_id, timezone=timezone)
    return finish(
        doc,
        conform(accepted, VEHICLE_STATUS),
        rejected,
        rows_read=len(records),
        warnings=warnings + notes.warnings(),
        ids=columns["vehicle_id"],
    )


def _position(
    record: Mapping[str, Any],
    values: Values,
    stations: Mapping[str, tuple[float, float]] | None,
) -> tuple[float | None, float | None]:
    """A vehicle's coordinates, or its station's when it has none (reasons otherwise)."""
    if "lat" in record or "lon" in record:
        return (
            values.number(record.get("lat"), "lat", required=True),
            values.number(record.get("lon"), "lon", required=True),
        )
    station = values.text(record.get("station_id"), "station_id")
    if station is None:
        values.reasons.append("missing coordinates")
        return None, None
    if stations is None or station not in stations:
        values.reasons.append("no coordinates and an unknown station_id")
        return None, None
    return stations[station]


def _note_battery(
    notes: Notes, at_station: int, estimated: int, over_range: int, in_percent: int
) -> None:
    """Turn the per-record counts of how positions and batteries were read into notes."""
    if at_station:
        notes.add("vehicles at a station without coordinates", "placed at the station", at_station)
    if in_percent:
        notes.add(
            "current_fuel_percent given in percent (1-100) instead of 0-1",
            "read as percent",
            in_percent,
        )
    if estimated:
        notes.add(
            "no current_fuel_percent",
            "battery estimated as current_range_meters / max_range_meters of the type",
            estimated,
        )
    if over_range:
        notes.add(
            "current_range_meters above the type's max_range_meters",
            "battery left unknown",
            over_range,
        )
