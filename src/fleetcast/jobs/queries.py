"""Read jobs: what the CLI, API and dashboard show, read through the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from fleetcast.analytics.demand import hourly_demand
from fleetcast.domain import Dataset
from fleetcast.store import Store, records


def demand_frame(
    store: Store,
    system_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
    zones: Sequence[str] | None = None,
    hourly: bool = False,
) -> pl.DataFrame:
    """Daily demand from the db, or hourly demand recounted from the lake."""
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        if not hourly:
            return records.load_demand(conn, system_id, start=start, end=end, zone_ids=zones)
        summary = records.demand_summary(conn, system_id)
        zone_ids = (
            list(zones) if zones else records.load_zones(conn, system_id)["zone_id"].to_list()
        )
    first = start or summary["first_day"]
    last = end or summary["last_day"]
    if first is None or last is None:
        return pl.DataFrame(
            schema={
                "system_id": pl.String,
                "zone_id": pl.String,
                "date": pl.Date,
                "hour": pl.Int8,
                "trips": pl.Int64,
            }
        )
    trips = store.lake.scan(Dataset.TRIPS, system_id=system_id, start=first, end=last)
    return hourly_demand(
        trips,
        system_id=system_id,
        timezone=system.timezone,
        zone_ids=zone_ids,
        start=first,
        end=last,
    )
