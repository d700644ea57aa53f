"""The dashboard's way to the data: one cached Store per settings, short-lived cached reads
through the jobs, the system chosen in the sidebar, and the friendly empty states.

Cached reads take a :data:`StoreKey` (plain strings) rather than a Store, so Streamlit can hash
them and two stores (a test's empty home, the served demo) never share an entry.
"""

from __future__ import annotations

from typing import Any, NoReturn

import polars as pl
import streamlit as st

from fleetcast.analytics.availability import DeficitReport
from fleetcast.analytics.kpis import FleetKpis
from fleetcast.config import load_settings
from fleetcast.jobs import live, live_charts, models, serving
from fleetcast.store import Store
from fleetcast.store.plans import StoredPlan

StoreKey = tuple[str, str, str]
"""Home folder, db URL and lake URL of a store."""

SYSTEM_KEY = "system_id"
READ_TTL_S = 30
LIVE_TTL_S = 15
"""Live state changes every minute or so: its reads are kept for less than a page refresh."""


def store_key() -> StoreKey:
    """The store the settings name now (FLEETCAST_HOME / _DB_URL / _LAKE_URL, fleetcast.toml)."""
    settings = load_settings()
    return str(settings.home), settings.db_url, settings.lake_url


@st.cache_resource(show_spinner=False)
def open_store(home: str, db_url: str, lake_url: str) -> Store:
    """One Store (and its connection pool) per store location for the server's lifetime."""
    return Store(load_settings(home=home, db_url=db_url, lake_url=lake_url))


def _store(key: StoreKey) -> Store:
    return open_store(*key)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def systems(key: StoreKey) -> list[serving.SystemSummary]:
    """Every system in the store."""
    return serving.list_systems(_store(key))


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def overview(key: StoreKey, system_id: str) -> serving.Overview:
    """The morning numbers of a system."""
    return serving.overview(_store(key), system_id)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def zones_geojson(key: StoreKey, system_id: str) -> dict[str, Any]:
    """Zones with their latest demand and newest forecasts, as GeoJSON."""
    return serving.zones_geojson(_store(key), system_id)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def zone_history(key: StoreKey, system_id: str, zone_id: str, days: int) -> dict[str, pl.DataFrame]:
    """One zone's actuals, forecasts and backtest predictions."""
    return serving.zone_history(_store(key), system_id, zone_id, days=days)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def backtest_table(key: StoreKey, system_id: str) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """The newest backtest run and its metrics per model and horizon."""
    return serving.backtest_table(_store(key), system_id)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def champion_history(key: StoreKey, system_id: str) -> pl.DataFrame:
    """Registered model versions with their decision and the current champion."""
    return models.champion_history(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_feed(key: StoreKey, system_id: str) -> live_charts.LiveFeed:
    """How many vehicles and stations the live state holds and when they were observed."""
    return live_charts.live_feed(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_vehicles(
    key: StoreKey,
    system_id: str,
    *,
    low_battery: bool | None = None,
    outside_parking: bool | None = None,
) -> pl.DataFrame:
    """The latest state of each vehicle with its flags, optionally only the flagged ones."""
    return live.vehicles(
        _store(key), system_id, low_battery=low_battery, outside_parking=outside_parking
    )


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_stations(key: StoreKey, system_id: str) -> pl.DataFrame:
    """Stations with their latest status and fill."""
    return live.stations(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_supply(key: StoreKey, system_id: str) -> DeficitReport:
    """Deficits and surpluses per zone and station now (NothingToCompareError without a live
    state or a forecast for the window, which is not cached)."""
    return live.supply(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_kpis(key: StoreKey, system_id: str, period: live.Period) -> FleetKpis:
    """Fleet KPIs over the last day, week or month, with the current fleet's state."""
    return live.kpis(_store(key), system_id, period=period)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def battery_histogram(key: StoreKey, system_id: str) -> pl.DataFrame:
    """Vehicles per battery bin of the latest fleet state."""
    return live_charts.battery_histogram(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def trips_by_day_part(key: StoreKey, system_id: str, period: live.Period) -> pl.DataFrame:
    """Trips per day by day part, weekdays apart from weekends, over the KPI period."""
    return live_charts.trips_by_day_part(_store(key), system_id, period=period)


def current_system() -> str | None:
    """The system chosen in the sidebar, None when the store has none."""
    value = st.session_state.get(SYSTEM_KEY)
    return value if isinstance(value, str) else None


def require_system() -> str:
    """The chosen system; without one, show how to load data and end the page's run."""
    system_id = current_system()
    if system_id is None:
        show_no_system()
        st.stop()
    return system_id


def summary(system_id: str) -> serving.SystemSummary | None:
    """The listed summary of one system of the current store."""
    return next((s for s in systems(store_key()) if s.system_id == system_id), None)


def show_no_system() -> None:
    """The empty state of a store without any system: how to get data in."""
    home = store_key()[0]
    st.info(
        "**No data yet.** The store has no system to show.\n\n"
        "Build the demo city (two years of trips, a trained model and a 3-day forecast):\n\n"
        "```\nfleetcast demo\n```\n\n"
        "or load your own trips with `fleetcast ingest`, then reload this page.\n\n"
        f"Store: `{home}`",
        icon=":material/inventory_2:",
    )


def show_no_forecasts(system_id: str) -> None:
    """The empty state of a system without forecasts: how to issue them."""
    st.info(
        f"**No forecasts for {system_id} yet.** Register a model once, then issue forecasts:\n\n"
        f"```\nfleetcast train --system {system_id}\nfleetcast forecast --system {system_id}\n```",
        icon=":material/query_stats:",
    )


def show_no_backtest(system_id: str) -> None:
    """The empty state of a system without a backtest."""
    st.info(
        f"**No backtest for {system_id} yet.** Compare the models on recent weeks with:\n\n"
        f"```\nfleetcast backtest --system {system_id}\n```",
        icon=":material/science:",
    )


def show_no_live_feed(system_id: str) -> None:
    """The empty state of a system without vehicles or stations: how to load a live feed."""
    st.info(
        f"**No live fleet for {system_id} yet.** The store has no vehicle and no station of "
        "this system. Load a GBFS feed once (a `gbfs.json` URL or a folder of saved files):"
        f"\n\n```\nfleetcast ingest gbfs URL_OR_DIR --system {system_id}\n```\n\n"
        "or keep it current by polling it:"
        f"\n\n```\nfleetcast poll gbfs URL --system {system_id} --every 60s\n```",
        icon=":material/sensors:",
    )


def stop_with(message: str) -> NoReturn:
    """Show an error that ends the page's run (the store cannot be read)."""
    st.error(message, icon=":material/error:")
    st.stop()


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def latest_plan(key: StoreKey, system_id: str) -> tuple[StoredPlan, pl.DataFrame]:
    """The newest plan of a system and its targets joined with the zones (names, geometry,
    ``change`` and ``gap``); UnknownPlanError (not cached) when the system has none."""
    from fleetcast.jobs import plan_view

    store = _store(key)
    plan = plan_view.latest_plan(store, system_id)
    return plan, plan_view.targets_map(store, plan)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def workers(key: StoreKey, system_id: str) -> pl.DataFrame:
    """The active field workers of a system."""
    from fleetcast.jobs import field

    return field.list_workers(_store(key), system_id)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def field_tasks(
    key: StoreKey, system_id: str, assignee: str | None, statuses: tuple[str, ...]
) -> pl.DataFrame:
    """A worker's tasks in these statuses, in route order (cleared after each task action,
    so a worker sees their own change at once)."""
    from fleetcast.jobs import field

    return field.list_tasks(_store(key), system_id=system_id, assignee=assignee, status=statuses)


def show_no_plan(system_id: str) -> None:
    """The empty state of a system without a plan: what a plan needs that is missing (trips,
    forecasts) and the command that makes one."""
    info = summary(system_id)
    if info is None or info.last_day is None:
        st.info(
            f"**{system_id} has no trips yet.** Load them with `fleetcast ingest`, then train a "
            "model, issue forecasts and plan.",
            icon=":material/inventory_2:",
        )
    elif info.latest_issue is None:
        show_no_forecasts(system_id)
    st.info(
        f"**No plan yet** for {system_id}: run\n\n```\nfleetcast plan --system {system_id}\n```"
        "\n\nA plan needs forecasts, a live fleet and a depot; it then shows here.",
        icon=":material/local_shipping:",
    )
