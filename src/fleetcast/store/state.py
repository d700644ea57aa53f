"""Live state in the db: stations, the latest status per station and per vehicle, the health
of polled feeds, and the watermarks of incremental sources. History lives in the lake."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, select

from fleetcast.store.records import upsert
from fleetcast.store.tables import Feed, Station, StationStatus, VehicleStatus, Watermark

STATION_COLUMNS = ("station_id", "name", "lat", "lon", "capacity", "zone_id")
STATUS_COLUMNS = (
    "station_id",
    "observed_at",
    "last_reported",
    "bikes_available",
    "ebikes_available",
    "bikes_disabled",
    "docks_available",
    "docks_disabled",
    "is_installed",
    "is_renting",
    "is_returning",
)
VEHICLE_COLUMNS = (
    "vehicle_id",
    "observed_at",
    "lat",
    "lon",
    "zone_id",
    "battery_pct",
    "is_reserved",
    "is_disabled",
    "vehicle_type",
)
_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "stations": {
        "station_id": pl.String(),
        "name": pl.String(),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "capacity": pl.Int64(),
        "zone_id": pl.String(),
    },
    "station_status": {
        "station_id": pl.String(),
        "observed_at": pl.Datetime("us", "UTC"),
        "last_reported": pl.Datetime("us", "UTC"),
        "bikes_available": pl.Int64(),
        "ebikes_available": pl.Int64(),
        "bikes_disabled": pl.Int64(),
        "docks_available": pl.Int64(),
        "docks_disabled": pl.Int64(),
        "is_installed": pl.Boolean(),
        "is_renting": pl.Boolean(),
        "is_returning": pl.Boolean(),
    },
    "vehicle_status": {
        "vehicle_id": pl.String(),
        "observed_at": pl.Datetime("us", "UTC"),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "zone_id": pl.String(),
        "battery_pct": pl.Float64(),
        "is_reserved": pl.Boolean(),
        "is_disabled": pl.Boolean(),
        "vehicle_type": pl.String(),
    },
}


def _aware(value: datetime | None) -> datetime | None:
    """SQLite drops the offset; stored times are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _frame(rows: Sequence[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    data = [tuple(_aware(v) if isinstance(v, datetime) else v for v in r) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def save_stations(conn: Connection, system_id: str, stations: pl.DataFrame) -> int:
    """Create or update stations from a frame with the stations table's columns."""
    now = datetime.now(UTC)
    present = [c for c in STATION_COLUMNS if c in stations.columns]
    rows = [
        {"system_id": system_id, **r, "updated_at": now}
        for r in stations.select(present).iter_rows(named=True)
    ]
    return upsert(conn, Station, rows)


def load_stations(conn: Connection, system_id: str) -> pl.DataFrame:
    """Stations of a system, by station_id."""
    rows = conn.execute(
        select(*[getattr(Station, c) for c in STATION_COLUMNS])
        .where(Station.system_id == system_id)
        .order_by(Station.station_id)
    ).all()
    return _frame(rows, _SCHEMAS["stations"])


def _newest_only(
    conn: Connection, model: Any, key: str, system_id: str, frame: pl.DataFrame
) -> pl.DataFrame:
    """Rows of ``frame`` at least as new as what the db holds for their key."""
    frame = frame.with_columns(pl.col("observed_at").dt.convert_time_zone("UTC"))
    newest = frame.sort("observed_at").unique(subset=key, keep="last", maintain_order=True)
    known = pl.DataFrame(
        [
            (k, _aware(t))
            for k, t in conn.execute(
                select(getattr(model, key), model.observed_at).where(model.system_id == system_id)
            )
        ],
        schema={key: pl.String, "_seen": pl.Datetime("us", "UTC")},
        orient="row",
    )
    return (
        newest.join(known, on=key, how="left")
        .filter(pl.col("_seen").is_null() | (pl.col("observed_at") >= pl.col("_seen")))
        .drop("_seen")
    )


def save_station_status(conn: Connection, system_id: str, status: pl.DataFrame) -> int:
    """Keep the newest status per station; an older snapshot never overwrites a newer one."""
    if status.is_empty():
        return 0
    present = [c for c in STATUS_COLUMNS if c in status.columns]
    rows = _newest_only(conn, StationStatus, "station_id", system_id, status.select(present))
    return upsert(conn, StationStatus, [{"system_id": system_id, **r} for r in rows.to_dicts()])


def load_station_status(conn: Connection, system_id: str) -> pl.DataFrame:
    """The latest status of every station of a system, by station_id."""
    rows = conn.execute(
        select(*[getattr(StationStatus, c) for c in STATUS_COLUMNS])
        .where(StationStatus.system_id == system_id)
        .order_by(StationStatus.station_id)
    ).all()
    return _frame(rows, _SCHEMAS["station_status"])


def save_vehicle_status(conn: Connection, system_id: str, status: pl.DataFrame) -> int:
    """Keep the newest status per vehicle; an older snapshot never overwrites a newer one."""
    if status.is_empty():
        return 0
    present = [c for c in VEHICLE_COLUMNS if c in status.columns]
    rows = _newest_only(conn, VehicleStatus, "vehicle_id", system_id, status.select(present))
    return upsert(conn, VehicleStatus, [{"system_id": system_id, **r} for r in rows.to_dicts()])


def replace_vehicles(conn: Connection, system_id: str, status: pl.DataFrame) -> int:
    """Make ``status`` the whole current fleet of a system: vehicles absent from a complete
    snapshot (a GBFS free_bike_status) are gone from the street, so they leave the state."""
    conn.execute(delete(VehicleStatus).where(VehicleStatus.system_id == system_id))
    return save_vehicle_status(conn, system_id, status)


def load_vehicle_status(conn: Connection, system_id: str) -> pl.DataFrame:
    """The latest status of every vehicle of a system, by vehicle_id."""
    rows = conn.execute(
        select(*[getattr(VehicleStatus, c) for c in VEHICLE_COLUMNS])
        .where(VehicleStatus.system_id == system_id)
        .order_by(VehicleStatus.vehicle_id)
    ).all()
    return _frame(rows, _SCHEMAS["vehicle_status"])


@dataclass(frozen=True, slots=True)
class FeedState:
    """How a feed's polls went: status ``ok`` / ``stale`` / ``error`` and the details."""

    system_id: str
    url: str
    kind: str
    status: str
    version: str | None = None
    ttl_s: int | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_updated: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    warnings: tuple[str, ...] = ()


def save_feed_state(conn: Connection, state: FeedState) -> None:
    """Create or update a feed's row."""
    row = {
        "system_id": state.system_id,
        "url": state.url,
        "kind": state.kind,
        "version": state.version,
        "ttl_s": state.ttl_s,
        "status": state.status,
        "last_attempt_at": state.last_attempt_at,
        "last_success_at": state.last_success_at,
        "last_updated": state.last_updated,
        "failures": state.failures,
        "last_error": state.last_error,
        "warnings": list(state.warnings),
    }
    upsert(conn, Feed, [row])


def load_feed_states(conn: Connection, system_id: str | None = None) -> list[FeedState]:
    """Every feed's state (one system's when given), by system and URL."""
    query = select(Feed).order_by(Feed.system_id, Feed.url)
    if system_id is not None:
        query = query.where(Feed.system_id == system_id)
    out = []
    for r in conn.execute(query).mappings():
        out.append(
            FeedState(
                system_id=r["system_id"],
                url=r["url"],
                kind=r["kind"],
                status=r["status"],
                version=r["version"],
                ttl_s=r["ttl_s"],
                last_attempt_at=_aware(r["last_attempt_at"]),
                last_success_at=_aware(r["last_success_at"]),
                last_updated=_aware(r["last_updated"]),
                failures=r["failures"],
                last_error=r["last_error"],
                warnings=tuple(r["warnings"] or ()),
            )
        )
    return out


def get_watermark(conn: Connection, system_id: str, source: str, entity: str) -> str | None:
    """How far ``source`` has been read for ``entity`` (None before the first read)."""
    value = conn.execute(
        select(Watermark.value).where(
            Watermark.system_id == system_id,
            Watermark.source == source,
            Watermark.entity == entity,
        )
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_watermark(conn: Connection, system_id: str, source: str, entity: str, value: str) -> None:
    """Record how far ``source`` has been read; call it in the transaction that stored the
    rows, so a crash leaves both or neither."""
    upsert(
        conn,
        Watermark,
        [
            {
                "system_id": system_id,
                "source": source,
                "entity": entity,
                "value": value,
                "updated_at": datetime.now(UTC),
            }
        ],
    )
