"""What the store holds: systems, zones, trips, days covered, live supply (stations,
vehicles and the health of their feeds), recent ingests and the scheduled pipelines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select, union

from fleetcast.domain import Dataset
from fleetcast.store import Store, records, state
from fleetcast.store.tables import Depot, Parking, Station, StationStatus, VehicleStatus, Zone


def json_value(value: Any) -> Any:
    """JSON-ready value; naive timestamps (SQLite drops the zone) are UTC as stored."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def store_status(store: Store, *, ingests: int = 10) -> dict[str, Any]:
    """Counts per system, the newest ingests and the scheduled pipelines (``pipelines``: the
    newest run of each and those failing, see ``pipeline_status``), as JSON-ready values."""
    from fleetcast.jobs.pipeline import pipeline_status

    systems = []
    with store.connect() as conn:
        for sid in records.list_system_ids(conn):
            system = records.get_system(conn, sid)
            summary = records.demand_summary(conn, sid)
            systems.append(
                {
                    "system_id": sid,
                    "name": system.name,
                    "timezone": system.timezone,
                    "zones": records.count_rows(conn, Zone, sid),
                    "trips": lake_trip_count(store, sid),
                    "first_day": json_value(summary["first_day"]),
                    "last_day": json_value(summary["last_day"]),
                    "days": (
                        (summary["last_day"] - summary["first_day"]).days + 1
                        if summary["first_day"]
                        else 0
                    ),
                    "stations": station_count(conn, sid),
                    "vehicles": records.count_rows(conn, VehicleStatus, sid),
                    "parkings": records.count_rows(conn, Parking, sid),
                    "depots": records.count_rows(conn, Depot, sid),
                    "feeds": feed_health(conn, sid),
                }
            )
        logs = records.recent_ingests(conn, limit=ingests)
    return {
        "store": {"db": _safe_url(store.settings.db_url), "lake": store.settings.lake_url},
        "systems": systems,
        "ingests": [{k: json_value(v) for k, v in log.items()} for log in logs],
        "pipelines": pipeline_status(store),
    }


def station_count(conn: Connection, system_id: str) -> int:
    """Stations of a system known from station_information or from a status alone."""
    ids = union(
        select(Station.station_id).where(Station.system_id == system_id),
        select(StationStatus.station_id).where(StationStatus.system_id == system_id),
    ).subquery()
    return int(conn.execute(select(func.count()).select_from(ids)).scalar_one())


def feed_health(conn: Connection, system_id: str) -> list[dict[str, Any]]:
    """Each polled feed of a system: kind, URL, status (ok / stale / error), failures in a
    row, the last error and warnings, and when it was last read and published."""
    return [
        {
            "kind": feed.kind,
            "url": feed.url,
            "status": feed.status,
            "version": feed.version,
            "ttl_s": feed.ttl_s,
            "last_updated": json_value(feed.last_updated),
            "last_attempt_at": json_value(feed.last_attempt_at),
            "last_success_at": json_value(feed.last_success_at),
            "failures": feed.failures,
            "last_error": feed.last_error,
            "warnings": list(feed.warnings),
        }
        for feed in state.load_feed_states(conn, system_id)
    ]


def lake_trip_count(store: Store, system_id: str) -> int:
    """Trips of a system in the lake (read from Parquet metadata)."""
    count = store.lake.scan(Dataset.TRIPS, system_id=system_id).select(pl.len()).collect()
    return int(count.item())


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
