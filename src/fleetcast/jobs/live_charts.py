"""Read jobs behind the live supply page's small charts and freshness line: how fresh the
live feed is, the fleet's battery histogram, and trips per day by day part on weekdays and
weekends over the same periods as :func:`fleetcast.jobs.live.kpis`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from fleetcast.analytics.kpis import KpiParams, battery_distribution, usage_by_period
from fleetcast.jobs.live import Period, kpi_period
from fleetcast.store import Store, records, state


@dataclass(frozen=True, slots=True)
class LiveFeed:
    """What the store holds of a system's live state: how many vehicles, stations and
    parkings, when vehicles and stations were last observed (UTC, None when never), and the
    system's timezone for display."""

    system_id: str
    timezone: str
    vehicles: int
    stations: int
    parkings: int
    vehicles_observed_at: datetime | None
    stations_observed_at: datetime | None

    @property
    def is_empty(self) -> bool:
        """No vehicle and no station yet: no live feed was loaded."""
        return self.vehicles == 0 and self.stations == 0


def _newest(frame: pl.DataFrame, column: str) -> datetime | None:
    if column not in frame.columns or frame[column].null_count() == frame.height:
        return None
    value = frame[column].max()
    return value if isinstance(value, datetime) else None


def live_feed(store: Store, system_id: str) -> LiveFeed:
    """The size and age of a system's live state: the page's freshness line and its empty
    state (a system with neither vehicles nor stations has no feed yet)."""
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        fleet = state.load_vehicle_status(conn, system_id)
        stations = state.load_stations(conn, system_id)
        status = state.load_station_status(conn, system_id)
        parkings = records.load_parkings(conn, system_id)
    return LiveFeed(
        system_id=system_id,
        timezone=system.timezone,
        vehicles=fleet.height,
        stations=stations.height,
        parkings=parkings.height,
        vehicles_observed_at=_newest(fleet, "observed_at"),
        stations_observed_at=_newest(status, "observed_at"),
    )


def battery_histogram(
    store: Store, system_id: str, *, params: KpiParams | None = None
) -> pl.DataFrame:
    """Vehicles per battery bin of the latest fleet state (``bin_start``, ``bin_end``,
    ``vehicles``, ``low``, ``share``; every bin listed, vehicles without a reading left out)."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        fleet = state.load_vehicle_status(conn, system_id)
    return battery_distribution(fleet, params=params)


def trips_by_day_part(
    store: Store,
    system_id: str,
    *,
    period: Period = "week",
    end: date | None = None,
) -> pl.DataFrame:
    """Trips per day in each day part, weekdays (holidays count as weekend) apart from
    weekends, over the same period and fleet as ``live.kpis(period=...)``: ``day_type``,
    ``day_part``, ``days``, ``trips``, ``trips_per_day``, ``trips_per_hour``,
    ``utilisation``, with the mean duration and distance when the trips carry them."""
    with store.connect() as conn:
        window = kpi_period(store, conn, system_id, period=period, end=end)
    fleet = window.fleet
    return usage_by_period(
        window.trips,
        timezone=window.system.timezone,
        start=window.first,
        end=window.last,
        by=("day_type", "day_part"),
        fleet_size=max(fleet["vehicle_id"].n_unique(), 1) if fleet.height else None,
        holidays=window.holidays,
    )
