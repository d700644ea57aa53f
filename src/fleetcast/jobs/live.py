"""Read jobs for the live supply picture: stations with their latest status, vehicles with
their latest state and flags, deficits per zone and station, and fleet KPIs over a period —
what the API and the dashboard show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import polars as pl
from sqlalchemy import Connection

from fleetcast.analytics.availability import DeficitParams, DeficitReport, deficits
from fleetcast.analytics.demand import hourly_demand
from fleetcast.analytics.kpis import FleetKpis, KpiParams, fleet_kpis, vehicle_flags
from fleetcast.domain import Dataset, SystemInfo
from fleetcast.errors import FleetcastError
from fleetcast.sources.calendar import holiday_dates
from fleetcast.store import Store, records, state


class NothingToCompareError(FleetcastError, LookupError):
    """Deficits need both a live state (vehicles or stations) and forecasts to compare it
    with; one of them is missing."""


Period = Literal["day", "week", "month"]
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 28}
PROFILE_DAYS = 28
IDLE_LOOKBACK_DAYS = 28
"""Trips this far back are read for KPIs whatever the period, so a vehicle's idle time
counts from its last ride even when that was before the period (usage still counts only
rides in the period)."""


def stations(store: Store, system_id: str) -> pl.DataFrame:
    """Every station of a system with its latest status (null where none was seen yet) and
    its fill: bikes available over capacity."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        info = state.load_stations(conn, system_id)
        status = state.load_station_status(conn, system_id)
    joined = info.join(status, on="station_id", how="left")
    return joined.with_columns(
        pl.when(pl.col("capacity") > 0)
        .then(pl.col("bikes_available") / pl.col("capacity"))
        .otherwise(None)
        .alias("fill")
    )


def vehicles(
    store: Store,
    system_id: str,
    *,
    low_battery: bool | None = None,
    outside_parking: bool | None = None,
    params: KpiParams | None = None,
) -> pl.DataFrame:
    """The latest state of every vehicle of a system with its flags (usable, low battery,
    parking it stands at or the nearest one and how far, inside the service area); the two
    filters keep only vehicles whose flag equals the given value."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        frame = state.load_vehicle_status(conn, system_id)
        parkings = records.load_parkings(conn, system_id)
        zones = records.load_zones(conn, system_id)
    flags = vehicle_flags(
        frame,
        parkings=parkings if parkings.height else None,
        zones=zones if zones.height else None,
        params=params,
    )
    out = frame.join(
        flags.drop("is_disabled", "is_reserved"), on="vehicle_id", how="left", maintain_order="left"
    )
    if low_battery is not None:
        out = out.filter(pl.col("low_battery") == low_battery)
    if outside_parking is not None:
        out = out.filter(pl.col("at_parking").fill_null(False) != outside_parking)
    return out


def supply(
    store: Store,
    system_id: str,
    *,
    now: datetime | None = None,
    params: DeficitParams | None = None,
) -> DeficitReport:
    """Where vehicles (and docks) are short or in surplus now: the latest state against the
    newest forecasts, spread over the day by the last four weeks' hourly profile."""
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        forecasts = records.load_forecasts(conn, system_id)
        zones = records.load_zones(conn, system_id)
        fleet = state.load_vehicle_status(conn, system_id)
        station_info = state.load_stations(conn, system_id)
        station_status = state.load_station_status(conn, system_id)
        last = records.demand_summary(conn, system_id)["last_day"]
    if fleet.is_empty() and (station_info.is_empty() or station_status.is_empty()):
        raise NothingToCompareError(
            f"system {system_id!r} has no live state yet: load its vehicles or stations with "
            f"'fleetcast ingest gbfs URL --system {system_id}' (or poll the feed)"
        )
    if forecasts.is_empty():
        raise NothingToCompareError(
            f"system {system_id!r} has no forecasts to compare its live state with: run "
            f"'fleetcast train --system {system_id}' once, then 'fleetcast forecast --system "
            f"{system_id}'"
        )
    moment = now or _default_now(forecasts)
    profile = None
    if last is not None and zones.height:
        first = last - timedelta(days=PROFILE_DAYS - 1)
        trips = store.lake.scan(Dataset.TRIPS, system_id=system_id, start=first, end=last)
        profile = hourly_demand(
            trips,
            system_id=system_id,
            timezone=system.timezone,
            zone_ids=zones["zone_id"].to_list(),
            start=first,
            end=last,
        )
    try:
        return deficits(
            forecasts,
            now=moment,
            timezone=system.timezone,
            vehicles=fleet if fleet.height else None,
            stations=station_info if station_info.height else None,
            station_status=station_status if station_status.height else None,
            zones=zones if zones.height else None,
            hourly_profile=profile,
            params=params,
        )
    except ValueError as exc:
        raise NothingToCompareError(f"no deficits for {system_id!r}: {exc}") from exc


def _default_now(forecasts: pl.DataFrame) -> datetime:
    """Now, or — when the newest forecasts are for days already past (a replayed or demo
    store) — 06:00 UTC of their first day, so the deficits are computed against them."""
    now = datetime.now(UTC)
    if forecasts.height:
        first_target = forecasts["target_date"].min()
        last_target = forecasts["target_date"].max()
        stale = isinstance(last_target, date) and last_target < now.date()
        if stale and isinstance(first_target, date):
            return datetime(first_target.year, first_target.month, first_target.day, 6, tzinfo=UTC)
    return now


@dataclass(frozen=True, slots=True)
class KpiPeriod:
    """The days a period of KPIs covers and what every KPI over it reads: the system, its
    current fleet, its trips and its holidays in the period."""

    system: SystemInfo
    first: date
    last: date
    fleet: pl.DataFrame
    trips: pl.LazyFrame
    holidays: frozenset[date]


def kpi_period(
    store: Store,
    conn: Connection,
    system_id: str,
    *,
    period: Period,
    end: date | None,
    lookback_days: int = 1,
) -> KpiPeriod:
    """The last day, week (7 days) or month (28 days) ending on ``end`` (default: the last
    day with demand, else today in UTC), with trips read from ``lookback_days`` before
    ``end`` when that is earlier than the period's first day.

    One place for the period set-up, so the KPIs and the charts beside them
    (:mod:`fleetcast.jobs.live_charts`) always cover the same days. ``conn`` is the caller's
    open connection, so the caller can read more in the same one.
    """
    if period not in PERIOD_DAYS:
        raise ValueError(f"period {period!r} not understood: use one of {sorted(PERIOD_DAYS)}")
    system = records.get_system(conn, system_id)
    last = end or records.demand_summary(conn, system_id)["last_day"]
    fleet = state.load_vehicle_status(conn, system_id)
    last = last or datetime.now(UTC).date()
    first = last - timedelta(days=PERIOD_DAYS[period] - 1)
    history = min(first, last - timedelta(days=lookback_days - 1))
    trips = store.lake.scan(Dataset.TRIPS, system_id=system_id, start=history, end=last)
    holidays = (
        holiday_dates(system.country, system.subdivision, first, last)
        if system.country
        else frozenset()
    )
    return KpiPeriod(system, first, last, fleet, trips, holidays)


def kpis(
    store: Store,
    system_id: str,
    *,
    period: Period = "week",
    end: date | None = None,
    params: KpiParams | None = None,
) -> FleetKpis:
    """Fleet KPIs over the last day, week (7 days) or month (28 days) of trips, ending on
    ``end`` (default: the last day with demand), with the current fleet's state."""
    with store.connect() as conn:
        window = kpi_period(
            store, conn, system_id, period=period, end=end, lookback_days=IDLE_LOOKBACK_DAYS
        )
        parkings = records.load_parkings(conn, system_id)
        zones = records.load_zones(conn, system_id)
    fleet = window.fleet
    return fleet_kpis(
        window.trips,
        timezone=window.system.timezone,
        start=window.first,
        end=window.last,
        vehicles=fleet if fleet.height else None,
        parkings=parkings if parkings.height else None,
        zones=zones if zones.height else None,
        holidays=window.holidays,
        params=params,
    )
