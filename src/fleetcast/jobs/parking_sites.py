"""Parking suggestions for a system: recent trips clustered far from its parkings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import polars as pl

from fleetcast.domain import Dataset
from fleetcast.errors import NotPlannableError
from fleetcast.jobs.plan import config_for
from fleetcast.planning.parkings import ParkingSuggestionParams, suggest_parkings
from fleetcast.store import Store, records


def suggest(
    store: Store,
    system_id: str,
    *,
    days: int = 28,
    method: str | None = None,
    top: int | None = None,
) -> pl.DataFrame:
    """Suggested new parkings from the last ``days`` days of trips (the system's parameters
    from [planning.parkings], with ``method`` and ``top`` overriding them)."""
    if not 1 <= days <= 365:
        raise ValueError(f"days={days} (allowed 1..365)")
    params = config_for(store.settings, system_id).parkings
    if method is not None or top is not None:
        params = ParkingSuggestionParams.from_mapping(
            {
                **asdict(params),
                **({"method": method} if method is not None else {}),
                **({"top": top} if top is not None else {}),
            }
        )
    with store.connect() as conn:
        records.get_system(conn, system_id)
        parkings = records.load_parkings(conn, system_id)
        last = records.demand_summary(conn, system_id)["last_day"]
    if last is None:
        raise NotPlannableError(
            f"system {system_id!r} has no trips yet: ingest trips first ('fleetcast ingest ...')"
        )
    start = last - timedelta(days=days - 1)
    trips = store.lake.scan(Dataset.TRIPS, system_id=system_id, start=start, end=last).collect()
    return suggest_parkings(trips, parkings, params=params, days=days)
