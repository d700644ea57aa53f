"""What the store holds: systems, zones, trips, days covered and recent ingests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from fleetcast.domain import Dataset
from fleetcast.store import Store, records
from fleetcast.store.tables import Depot, Parking, VehicleStatus, Zone


def _plain(value: Any) -> Any:
    """JSON-ready value; naive timestamps (SQLite drops the zone) are UTC as stored."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def store_status(store: Store, *, ingests: int = 10) -> dict[str, Any]:
    """Counts per system and the newest ingests, as plain JSON-ready values."""
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
                    "first_day": _plain(summary["first_day"]),
                    "last_day": _plain(summary["last_day"]),
                    "days": (
                        (summary["last_day"] - summary["first_day"]).days + 1
                        if summary["first_day"]
                        else 0
                    ),
                    "vehicles": records.count_rows(conn, VehicleStatus, sid),
                    "parkings": records.count_rows(conn, Parking, sid),
                    "depots": records.count_rows(conn, Depot, sid),
                }
            )
        logs = records.recent_ingests(conn, limit=ingests)
    return {
        "store": {"db": _safe_url(store.settings.db_url), "lake": store.settings.lake_url},
        "systems": systems,
        "ingests": [{k: _plain(v) for k, v in log.items()} for log in logs],
    }


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
