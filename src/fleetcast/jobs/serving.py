"""Read jobs behind the API and the dashboard: systems, zones with their numbers, demand,
forecasts, backtests, KPIs and health, as frames and JSON-ready values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select

from fleetcast.errors import UnknownZoneError
from fleetcast.store import Store, records
from fleetcast.store.tables import Zone

RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class SystemSummary:
    """One system as the API lists it."""

    system_id: str
    name: str
    timezone: str
    kind: str
    zones: int
    first_day: date | None
    last_day: date | None
    latest_issue: date | None


def list_systems(store: Store) -> list[SystemSummary]:
    """Every system with its zone count, the days its demand covers and its newest forecast."""
    out = []
    with store.connect() as conn:
        for sid in records.list_system_ids(conn):
            system = records.get_system(conn, sid)
            summary = records.demand_summary(conn, sid)
            out.append(
                SystemSummary(
                    system_id=sid,
                    name=system.name,
                    timezone=system.timezone,
                    kind=str(system.kind.value),
                    zones=records.count_rows(conn, Zone, sid),
                    first_day=summary["first_day"],
                    last_day=summary["last_day"],
                    latest_issue=records.latest_issue(conn, sid),
                )
            )
    return out


def check_zone(store: Store, system_id: str, zone_id: str) -> None:
    """UnknownZoneError naming the system when ``zone_id`` is not one of its zones."""
    with store.connect() as conn:
        found = conn.execute(
            select(Zone.zone_id).where(Zone.system_id == system_id, Zone.zone_id == zone_id)
        ).first()
    if found is None:
        raise UnknownZoneError(
            f"system {system_id!r} has no zone {zone_id!r}: GET /zones?system={system_id} "
            "lists its zones"
        )


def demand(
    store: Store,
    system_id: str,
    *,
    zone_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Daily demand of a system (one zone when given) between two days, inclusive."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
    if zone_id is not None:
        check_zone(store, system_id, zone_id)
    with store.connect() as conn:
        return records.load_demand(
            conn, system_id, start=start, end=end, zone_ids=None if zone_id is None else [zone_id]
        )


def forecasts(
    store: Store,
    system_id: str,
    *,
    target_date: date | None = None,
    zone_id: str | None = None,
) -> pl.DataFrame:
    """Forecasts of the newest issue date, or for ``target_date`` those of the newest issue
    that covers it (so a past day is answered by what was forecast for it last)."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
    if zone_id is not None:
        check_zone(store, system_id, zone_id)
    zones = None if zone_id is None else [zone_id]
    with store.connect() as conn:
        issue = (
            records.latest_issue(conn, system_id)
            if target_date is None
            else records.newest_issue_covering(conn, system_id, target_date)
        )
        if issue is None:
            return records.load_forecasts(conn, system_id, issued_on=date.min, zone_ids=[])
        return records.load_forecasts(
            conn, system_id, issued_on=issue, target_date=target_date, zone_ids=zones
        )


def zones_geojson(store: Store, system_id: str) -> dict[str, Any]:
    """The zones as a GeoJSON FeatureCollection; each zone's properties hold its latest day
    of demand, its recent mean and the newest forecasts (mean and 80% interval)."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        zones = records.load_zones(conn, system_id)
        summary = records.demand_summary(conn, system_id)
        last = summary["last_day"]
        recent = (
            records.load_demand(conn, system_id, start=last - timedelta(days=RECENT_DAYS - 1))
            if last is not None
            else None
        )
    latest = _latest_demand(recent, last)
    upcoming = forecasts(store, system_id)
    by_zone: dict[str, list[dict[str, Any]]] = {}
    for row in upcoming.iter_rows(named=True):
        by_zone.setdefault(row["zone_id"], []).append(
            {
                "target_date": row["target_date"].isoformat(),
                "horizon": row["horizon"],
                "mean": round(row["mean"], 2),
                "lower": round(row["q10"], 2),
                "upper": round(row["q90"], 2),
                "issued_on": row["issued_on"].isoformat(),
                "model_version": row["model_version"],
            }
        )
    features = []
    for zone in zones.iter_rows(named=True):
        zid = zone["zone_id"]
        stats = latest.get(zid, {})
        features.append(
            {
                "type": "Feature",
                "id": zid,
                "geometry": json.loads(zone["geometry"]) if zone["geometry"] else None,
                "properties": {
                    "zone_id": zid,
                    "name": zone["name"],
                    "area_km2": zone["area_km2"],
                    "centroid_lat": zone["centroid_lat"],
                    "centroid_lon": zone["centroid_lon"],
                    "latest_date": stats.get("date"),
                    "latest_trips": stats.get("trips"),
                    f"mean_trips_{RECENT_DAYS}d": stats.get("mean"),
                    "forecasts": by_zone.get(zid, []),
                },
            }
        )
    return {"type": "FeatureCollection", "system_id": system_id, "features": features}


def _latest_demand(recent: pl.DataFrame | None, last: date | None) -> dict[str, dict[str, Any]]:
    if recent is None or last is None or recent.is_empty():
        return {}
    stats = recent.group_by("zone_id").agg(
        pl.col("trips").filter(pl.col("date") == last).sum().alias("trips"),
        pl.col("trips").sum().alias("total"),
    )
    return {
        r["zone_id"]: {
            "date": last.isoformat(),
            "trips": int(r["trips"]),
            "mean": round(r["total"] / RECENT_DAYS, 2),
        }
        for r in stats.iter_rows(named=True)
    }


def backtest_table(store: Store, system_id: str) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """The newest backtest run of a system and its metrics per model and horizon."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        return records.latest_backtest(conn, system_id)


def zone_history(
    store: Store, system_id: str, zone_id: str, *, days: int = 90
) -> dict[str, pl.DataFrame]:
    """One zone's recent actuals, its newest forecasts and the newest backtest's forecasts
    beside actuals: what the forecast explorer draws."""
    check_zone(store, system_id, zone_id)
    with store.connect() as conn:
        last = records.demand_summary(conn, system_id)["last_day"]
        start = None if last is None else last - timedelta(days=days - 1)
        actuals = records.load_demand(conn, system_id, start=start, zone_ids=[zone_id])
        backtest = records.load_backtest_predictions(conn, system_id, zone_id)
    upcoming = forecasts(store, system_id, zone_id=zone_id)
    return {"actuals": actuals, "forecasts": upcoming, "backtest": backtest}


@dataclass(frozen=True, slots=True)
class Overview:
    """The morning numbers of one system."""

    system_id: str
    last_day: date | None
    trips_last_day: int
    trips_7d: int
    trips_prev_7d: int
    active_zones: int
    zones: int
    next_days: pl.DataFrame
    model_version: str | None
    backtest_wape: float | None

    @property
    def week_change(self) -> float | None:
        """Last 7 days against the 7 before, as a fraction (None without a week before)."""
        if self.trips_prev_7d <= 0:
            return None
        return self.trips_7d / self.trips_prev_7d - 1.0


def overview(store: Store, system_id: str) -> Overview:
    """Trips on the last day, the last 7 days against the week before, zones with trips in
    the last 7 days, the forecast total of the coming days, and the model behind it."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        zones = records.count_rows(conn, Zone, system_id)
        last = records.demand_summary(conn, system_id)["last_day"]
        recent = (
            records.load_demand(conn, system_id, start=last - timedelta(days=13))
            if last is not None
            else pl.DataFrame(schema={"zone_id": pl.String, "date": pl.Date, "trips": pl.Int64})
        )
        _, metrics = records.latest_backtest(conn, system_id)
    upcoming = forecasts(store, system_id)
    week = recent.filter(pl.col("date") > last - timedelta(days=7)) if last else recent
    before = recent.filter(pl.col("date") <= last - timedelta(days=7)) if last else recent
    next_days = (
        upcoming.group_by("target_date", "horizon")
        .agg(
            pl.col("mean").sum().alias("mean"),
            pl.col("q10").sum().alias("q10_sum"),
            pl.col("q90").sum().alias("q90_sum"),
        )
        .sort("target_date")
    )
    version = upcoming["model_version"][0] if upcoming.height else None
    return Overview(
        system_id=system_id,
        last_day=last,
        trips_last_day=int(recent.filter(pl.col("date") == last)["trips"].sum()) if last else 0,
        trips_7d=int(week["trips"].sum()),
        trips_prev_7d=int(before["trips"].sum()),
        active_zones=week.filter(pl.col("trips") > 0)["zone_id"].n_unique(),
        zones=zones,
        next_days=next_days,
        model_version=version,
        backtest_wape=_model_wape(metrics, version),
    )


def _model_wape(metrics: pl.DataFrame, version: str | None) -> float | None:
    """The backtest WAPE (all horizons) of the model family behind ``version``."""
    if version is None or metrics.is_empty():
        return None
    model = version.split("@", 1)[0]
    rows = metrics.filter(pl.col("model") == model)
    if rows.is_empty():
        return None
    weights = rows["n"].cast(pl.Float64)
    return float((rows["wape"] * weights).sum()) / float(weights.sum())


@dataclass(frozen=True, slots=True)
class Health:
    """Whether the store answers, which systems have a champion, and how fresh data are."""

    ok: bool
    db: str
    systems: list[dict[str, Any]]
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    """The failing scheduled pipelines: flow, system_id, failed_step, message, started_at."""


def failing_pipelines(store: Store) -> list[dict[str, Any]]:
    """Each pipeline whose newest run failed or was interrupted, with the step and message;
    a store whose ``pipeline_runs`` cannot be read (not migrated yet) reports none, so a
    health check never fails on it."""
    from sqlalchemy.exc import SQLAlchemyError

    from fleetcast.jobs.pipeline import pipeline_status

    try:
        failing = pipeline_status(store)["failing"]
    except SQLAlchemyError:
        return []
    keys = ("flow", "system_id", "failed_step", "status", "message", "started_at", "run_id")
    return [{k: f.get(k) for k in keys} for f in failing]


def health(store: Store, *, champions: dict[str, str | None]) -> Health:
    """Store reachability and, per system, the last day of demand, the newest forecast and
    its age in days, and the champion (``champions`` maps system ids to versions); and the
    failing scheduled pipelines."""
    try:
        systems = list_systems(store)
    except Exception as exc:
        return Health(ok=False, db=f"unreachable: {type(exc).__name__}", systems=[])
    today = datetime.now(UTC).date()
    out = []
    for s in systems:
        out.append(
            {
                "system_id": s.system_id,
                "last_day": s.last_day.isoformat() if s.last_day else None,
                "data_age_days": (today - s.last_day).days if s.last_day else None,
                "latest_issue": s.latest_issue.isoformat() if s.latest_issue else None,
                "forecast_age_days": (today - s.latest_issue).days if s.latest_issue else None,
                "champion": champions.get(s.system_id),
            }
        )
    return Health(ok=True, db="reachable", systems=out, pipelines=failing_pipelines(store))
