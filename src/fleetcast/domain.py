"""The nouns every module agrees on: lake table schemas and small value types.

Column names follow DESIGN.md's store contracts; one name for one thing everywhere.
Times are UTC in storage; ``date`` columns are local days of the system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import polars as pl

UTC_DATETIME: Final = pl.Datetime("us", "UTC")

TRIPS: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "trip_id": pl.String(),
    "vehicle_id": pl.String(),
    "vehicle_type": pl.String(),
    "started_at": UTC_DATETIME,
    "ended_at": UTC_DATETIME,
    "start_lat": pl.Float64(),
    "start_lon": pl.Float64(),
    "end_lat": pl.Float64(),
    "end_lon": pl.Float64(),
    "start_zone": pl.String(),
    "end_zone": pl.String(),
    "distance_m": pl.Float64(),
    "duration_s": pl.Float64(),
    "provider": pl.String(),
    "date": pl.Date(),
}
"""Trips in the lake; ``date`` is the local day the trip started (the partition key)."""

VEHICLE_STATUS: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "vehicle_id": pl.String(),
    "observed_at": UTC_DATETIME,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "zone_id": pl.String(),
    "battery_pct": pl.Float64(),
    "is_reserved": pl.Boolean(),
    "is_disabled": pl.Boolean(),
    "vehicle_type": pl.String(),
    "date": pl.Date(),
}
"""Vehicle status snapshots (lake history; the db keeps the latest per vehicle)."""

STATION_STATUS: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "station_id": pl.String(),
    "observed_at": UTC_DATETIME,
    "last_reported": UTC_DATETIME,
    "bikes_available": pl.Int32(),
    "ebikes_available": pl.Int32(),
    "bikes_disabled": pl.Int32(),
    "docks_available": pl.Int32(),
    "docks_disabled": pl.Int32(),
    "is_installed": pl.Boolean(),
    "is_renting": pl.Boolean(),
    "is_returning": pl.Boolean(),
    "date": pl.Date(),
}
"""Station status snapshots (lake history; the db keeps the latest per station).
``observed_at`` is when the feed published the snapshot, ``last_reported`` when the station
itself last reported; ``date`` is the local day of ``observed_at``."""

TELEMETRY: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "vehicle_id": pl.String(),
    "observed_at": UTC_DATETIME,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "speed_kmh": pl.Float64(),
    "battery_pct": pl.Float64(),
    "is_locked": pl.Boolean(),
    "hdop": pl.Float64(),
    "extra": pl.String(),
    "date": pl.Date(),
}
"""Vehicle telemetry from an operator's own database; ``extra`` keeps other fields as JSON."""

WEATHER_DAILY: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "date": pl.Date(),
    "temp_max_c": pl.Float64(),
    "temp_min_c": pl.Float64(),
    "precip_mm": pl.Float64(),
    "wind_max_kmh": pl.Float64(),
    "kind": pl.String(),
}
"""Daily weather per system; ``kind`` is ``observed`` or ``forecast``."""

QUARANTINE: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "ingest_id": pl.String(),
    "source": pl.String(),
    "row_number": pl.Int64(),
    "reason": pl.String(),
    "record": pl.String(),
    "date": pl.Date(),
}
"""Rejected input rows with the reason and the original record as JSON."""

DEMAND_DAILY: Final[dict[str, pl.DataType]] = {
    "system_id": pl.String(),
    "zone_id": pl.String(),
    "date": pl.Date(),
    "trips": pl.Int64(),
}
"""Trips started per zone and local day, zero-filled."""

RENTALS: Final[dict[str, pl.DataType]] = {
    "rental_id": pl.String(),
    "car_id": pl.String(),
    "checkin_type": pl.String(),
    "state": pl.String(),
    "delay_at_checkout_minutes": pl.Float64(),
    "previous_rental_id": pl.String(),
    "gap_with_previous_minutes": pl.Float64(),
}
"""Car-sharing rentals (db table ``rentals``, per system): ``checkin_type`` is ``mobile`` or
``connect``, ``state`` ``ended`` or ``canceled``; the delay is the actual check-out minus the
booked end (negative: early; null for canceled rentals and some ended ones); the previous
rental is the car's previous ended rental when it was planned to end at most 12 hours before
this one's planned start, and the gap is that planned time between them (both null
otherwise)."""


class Dataset(StrEnum):
    """Lake datasets with their primary keys (used for de-duplication)."""

    TRIPS = "trips"
    VEHICLE_STATUS = "vehicle_status"
    STATION_STATUS = "station_status"
    TELEMETRY = "telemetry"
    WEATHER_DAILY = "weather_daily"
    QUARANTINE = "quarantine"

    @property
    def keys(self) -> tuple[str, ...]:
        """Columns that identify a row; a later write of the same key replaces it."""
        return _KEYS[self]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The Polars schema rows of this dataset are cast to."""
        return _SCHEMAS[self]

    @property
    def is_snapshots(self) -> bool:
        """True for high-frequency snapshot history: each append adds a file to its day
        (no rewrite of what is there); compaction later merges a day's files into one."""
        return self in _SNAPSHOTS


_KEYS: Final = {
    Dataset.TRIPS: ("system_id", "trip_id"),
    Dataset.VEHICLE_STATUS: ("system_id", "vehicle_id", "observed_at"),
    Dataset.STATION_STATUS: ("system_id", "station_id", "observed_at"),
    Dataset.TELEMETRY: ("system_id", "vehicle_id", "observed_at"),
    Dataset.WEATHER_DAILY: ("system_id", "date", "kind"),
    Dataset.QUARANTINE: ("ingest_id", "row_number"),
}
_SCHEMAS: Final = {
    Dataset.TRIPS: TRIPS,
    Dataset.VEHICLE_STATUS: VEHICLE_STATUS,
    Dataset.STATION_STATUS: STATION_STATUS,
    Dataset.TELEMETRY: TELEMETRY,
    Dataset.WEATHER_DAILY: WEATHER_DAILY,
    Dataset.QUARANTINE: QUARANTINE,
}


_SNAPSHOTS: Final = frozenset({Dataset.VEHICLE_STATUS, Dataset.STATION_STATUS, Dataset.TELEMETRY})


class VehicleKind(StrEnum):
    """What a system rents out."""

    SCOOTER = "scooter"
    BIKE = "bike"
    CAR = "car"


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """A fleet operator's system: its id, where it is and which calendar its days follow."""

    system_id: str
    name: str
    timezone: str
    kind: VehicleKind = VehicleKind.SCOOTER
    country: str | None = None
    subdivision: str | None = None
    center_lat: float | None = None
    center_lon: float | None = None
    zoning: str = "polygons"
    h3_resolution: int | None = None


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of local days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"date range ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """Number of days in the range, both ends included."""
        return (self.end - self.start).days + 1


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``frame`` to ``schema``, adding missing columns as nulls."""
    columns = [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(columns)


def check_timezone(timezone: str) -> str:
    """Return ``timezone`` if it is an IANA name, else a SchemaError that says what to use."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from fleetcast.errors import SchemaError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SchemaError(
            f"unknown timezone {timezone!r}; use an IANA name such as Europe/Paris"
        ) from exc
    return timezone
