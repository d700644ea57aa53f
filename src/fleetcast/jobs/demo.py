"""The demo job: build the generated demo city into the store and run every job on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from time import perf_counter

from fleetcast.analytics.demand import daily_demand
from fleetcast.domain import Dataset
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.supply import ingest_gbfs
from fleetcast.sources import synthetic
from fleetcast.sources.synthetic.gbfs_feed import write_gbfs_folder
from fleetcast.store import Store, plans, records

DEMO_SYSTEM_ID = "demo"


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the demo put into the store."""

    system_id: str
    zones: int
    trips: int
    days: int
    first_day: str
    last_day: str
    vehicles: int
    parkings: int
    depots: int
    workers: int
    demand_rows: int
    seconds: float


def build_demo(
    store: Store, *, seed: int = 7, days: int = 730, progress: Progress | None = None
) -> DemoReport:
    """Generate the demo city and load it, replacing any earlier demo system.

    The same seed and days give the same store contents, so re-running is idempotent.
    """
    progress = progress or Silent()
    began = perf_counter()
    progress.stage(f"generating the demo city ({days} days, seed {seed})")
    city = synthetic.generate_city(seed=seed, days=days)
    sid = city.system.system_id
    progress.stage("clearing the previous demo")
    with store.begin() as conn:
        records.delete_system(conn, sid)
    for dataset in (
        Dataset.TRIPS,
        Dataset.WEATHER_DAILY,
        Dataset.VEHICLE_STATUS,
        Dataset.STATION_STATUS,
    ):
        store.lake.delete(dataset, system_id=sid)
    progress.stage("writing zones, parkings, depots and workers")
    zones = city.zones.drop([c for c in city.zones.columns if c == "elevation_m"])
    with store.begin() as conn:
        records.save_system(conn, city.system)
        records.save_zones(conn, sid, zones)
        records.save_parkings(conn, sid, city.parkings)
        records.save_depots(conn, sid, city.depots)
        plans.save_workers(conn, sid, city.workers.to_dicts())
    progress.stage(f"writing {city.trips.height:,} trips to the lake")
    store.lake.append(Dataset.TRIPS, city.trips)
    store.lake.append(Dataset.WEATHER_DAILY, city.weather)
    progress.stage(f"feeding {city.vehicles.height:,} vehicles through a local GBFS folder")
    ingest_gbfs(store, write_gbfs_folder(city, store.settings.home / "gbfs" / sid), system_id=sid)
    progress.stage("counting daily demand")
    first, last = city.trips["date"].min(), city.trips["date"].max()
    demand = daily_demand(
        city.trips,
        system_id=sid,
        zone_ids=zones["zone_id"].to_list(),
        start=first,  # type: ignore[arg-type]
        end=last,  # type: ignore[arg-type]
    )
    ingest_id = str(uuid.uuid4())
    with store.begin() as conn:
        records.replace_demand(conn, sid, demand)
        records.start_ingest(
            conn,
            ingest_id=ingest_id,
            system_id=sid,
            source="synthetic",
            dataset=Dataset.TRIPS.value,
            location=f"synthetic://demo?seed={seed}&days={days}",
            content_sha256=None,
            rows_read=city.trips.height,
            rows_accepted=city.trips.height,
            rows_rejected=0,
            rows_new=city.trips.height,
        )
        records.finish_ingest(conn, ingest_id, status="ok")
    return DemoReport(
        system_id=sid,
        zones=zones.height,
        trips=city.trips.height,
        days=demand["date"].n_unique(),
        first_day=str(first),
        last_day=str(last),
        vehicles=city.vehicles.height,
        parkings=city.parkings.height,
        depots=city.depots.height,
        workers=city.workers.height,
        demand_rows=demand.height,
        seconds=perf_counter() - began,
    )
