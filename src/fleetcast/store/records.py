"""Reading and writing rows of the db tables: plain functions over a SQLAlchemy connection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from fleetcast.domain import SystemInfo, VehicleKind
from fleetcast.errors import UnknownSystemError
from fleetcast.store.tables import (
    BacktestMetric,
    BacktestPrediction,
    BacktestRun,
    DemandDaily,
    Depot,
    Feed,
    Forecast,
    IngestLog,
    Parking,
    Plan,
    PlanMove,
    PlanRoute,
    PlanStop,
    PlanTarget,
    Station,
    StationStatus,
    System,
    Task,
    VehicleStatus,
    Watermark,
    Worker,
    Zone,
)

_BATCH = 5_000


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def upsert(conn: Connection, model: Any, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` or update them in place when their primary key exists."""
    if not rows:
        return 0
    table = _table(model)
    keys = [c.name for c in table.primary_key.columns]
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), _BATCH):
        batch = list(rows[start : start + _BATCH])
        stmt = insert(table)
        updates = {c: stmt.excluded[c] for c in batch[0] if c not in keys}
        stmt = (
            stmt.on_conflict_do_update(index_elements=keys, set_=updates)
            if updates
            else stmt.on_conflict_do_nothing(index_elements=keys)
        )
        conn.execute(stmt, batch)
    return len(rows)


def save_system(conn: Connection, system: SystemInfo) -> None:
    """Create or update a system's row."""
    existing = conn.execute(
        select(System.created_at).where(System.system_id == system.system_id)
    ).scalar_one_or_none()
    row = {
        "system_id": system.system_id,
        "name": system.name,
        "kind": system.kind.value,
        "timezone": system.timezone,
        "country": system.country,
        "subdivision": system.subdivision,
        "center_lat": system.center_lat,
        "center_lon": system.center_lon,
        "zoning": system.zoning,
        "h3_resolution": system.h3_resolution,
        "created_at": existing or datetime.now(UTC),
    }
    upsert(conn, System, [row])


def get_system(conn: Connection, system_id: str) -> SystemInfo:
    """The system with this id, or UnknownSystemError naming the ones that exist."""
    s = conn.execute(select(_table(System)).where(System.system_id == system_id)).mappings().first()
    if s is None:
        known = list_system_ids(conn)
        hint = f"known systems: {', '.join(known)}" if known else "the store has no systems yet"
        raise UnknownSystemError(f"no system {system_id!r} in the store ({hint})")
    return SystemInfo(
        system_id=s["system_id"],
        name=s["name"],
        timezone=s["timezone"],
        kind=VehicleKind(s["kind"]),
        country=s["country"],
        subdivision=s["subdivision"],
        center_lat=s["center_lat"],
        center_lon=s["center_lon"],
        zoning=s["zoning"],
        h3_resolution=s["h3_resolution"],
    )


def list_system_ids(conn: Connection) -> list[str]:
    """Ids of every system, sorted."""
    return list(conn.execute(select(System.system_id).order_by(System.system_id)).scalars())


_ZONE_COLUMNS = ("zone_id", "name", "geometry", "centroid_lat", "centroid_lon", "area_km2")


def save_zones(conn: Connection, system_id: str, zones: pl.DataFrame) -> int:
    """Create or update zones from a frame with the zones table's columns."""
    present = [c for c in _ZONE_COLUMNS if c in zones.columns]
    rows = [{"system_id": system_id, **r} for r in zones.select(present).iter_rows(named=True)]
    return upsert(conn, Zone, rows)


def load_zones(conn: Connection, system_id: str) -> pl.DataFrame:
    """Zones of a system as a frame (zone_id, name, geometry, centroid, area), by zone_id."""
    result = conn.execute(
        select(*[getattr(Zone, c) for c in _ZONE_COLUMNS])
        .where(Zone.system_id == system_id)
        .order_by(Zone.zone_id)
    )
    schema = {
        "zone_id": pl.String,
        "name": pl.String,
        "geometry": pl.String,
        "centroid_lat": pl.Float64,
        "centroid_lon": pl.Float64,
        "area_km2": pl.Float64,
    }
    return pl.DataFrame([tuple(r) for r in result], schema=schema, orient="row")


def replace_demand(conn: Connection, system_id: str, demand: pl.DataFrame) -> int:
    """Replace the system's daily demand on the days ``demand`` covers with its rows."""
    if demand.is_empty():
        return 0
    first, last = demand["date"].min(), demand["date"].max()
    conn.execute(
        delete(DemandDaily).where(
            DemandDaily.system_id == system_id,
            DemandDaily.date >= first,
            DemandDaily.date <= last,
        )
    )
    rows = demand.select("zone_id", "date", "trips").with_columns(
        pl.lit(system_id).alias("system_id")
    )
    table = _table(DemandDaily)
    dicts = rows.to_dicts()
    for start in range(0, len(dicts), _BATCH):
        conn.execute(table.insert(), dicts[start : start + _BATCH])
    return len(dicts)


def load_demand(
    conn: Connection,
    system_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
    zone_ids: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Daily demand rows (system_id, zone_id, date, trips) sorted by zone and date."""
    query = select(
        DemandDaily.system_id, DemandDaily.zone_id, DemandDaily.date, DemandDaily.trips
    ).where(DemandDaily.system_id == system_id)
    if start is not None:
        query = query.where(DemandDaily.date >= start)
    if end is not None:
        query = query.where(DemandDaily.date <= end)
    if zone_ids is not None:
        query = query.where(DemandDaily.zone_id.in_(list(zone_ids)))
    query = query.order_by(DemandDaily.zone_id, DemandDaily.date)
    schema = {"system_id": pl.String, "zone_id": pl.String, "date": pl.Date, "trips": pl.Int64}
    return pl.DataFrame([tuple(r) for r in conn.execute(query)], schema=schema, orient="row")


def demand_summary(conn: Connection, system_id: str) -> dict[str, Any]:
    """Trips, first and last day of a system's daily demand."""
    row = conn.execute(
        select(
            func.coalesce(func.sum(DemandDaily.trips), 0),
            func.min(DemandDaily.date),
            func.max(DemandDaily.date),
        ).where(DemandDaily.system_id == system_id)
    ).one()
    return {"trips": int(row[0]), "first_day": row[1], "last_day": row[2]}


def count_rows(conn: Connection, model: Any, system_id: str) -> int:
    """Rows of ``model``'s table that belong to a system."""
    table = _table(model)
    return int(
        conn.execute(
            select(func.count()).select_from(table).where(table.c.system_id == system_id)
        ).scalar_one()
    )


def save_parkings(conn: Connection, system_id: str, parkings: pl.DataFrame) -> int:
    """Create or update parkings of a system."""
    rows = [{"system_id": system_id, **r} for r in parkings.iter_rows(named=True)]
    return upsert(conn, Parking, rows)


def load_parkings(conn: Connection, system_id: str) -> pl.DataFrame:
    """Parkings of a system (id, zone, name, position, radius, min and max vehicles)."""
    columns = (
        "parking_id",
        "zone_id",
        "name",
        "lat",
        "lon",
        "radius_m",
        "min_vehicles",
        "max_vehicles",
    )
    rows = conn.execute(
        select(*[getattr(Parking, c) for c in columns])
        .where(Parking.system_id == system_id)
        .order_by(Parking.parking_id)
    ).all()
    schema = {
        "parking_id": pl.String,
        "zone_id": pl.String,
        "name": pl.String,
        "lat": pl.Float64,
        "lon": pl.Float64,
        "radius_m": pl.Float64,
        "min_vehicles": pl.Int64,
        "max_vehicles": pl.Int64,
    }
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def save_depots(conn: Connection, system_id: str, depots: pl.DataFrame) -> int:
    """Create or update depots of a system."""
    rows = [{"system_id": system_id, **r} for r in depots.iter_rows(named=True)]
    return upsert(conn, Depot, rows)


def load_depots(conn: Connection, system_id: str) -> pl.DataFrame:
    """Depots of a system (depot_id, name, lat, lon), by depot_id."""
    rows = conn.execute(
        select(Depot.depot_id, Depot.name, Depot.lat, Depot.lon)
        .where(Depot.system_id == system_id)
        .order_by(Depot.depot_id)
    ).all()
    schema = {"depot_id": pl.String, "name": pl.String, "lat": pl.Float64, "lon": pl.Float64}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def start_ingest(conn: Connection, **fields: Any) -> None:
    """Record that an ingest started (status 'running')."""
    conn.execute(
        _table(IngestLog).insert(),
        [{"status": "running", "started_at": datetime.now(UTC), **fields}],
    )


def finish_ingest(conn: Connection, ingest_id: str, **fields: Any) -> None:
    """Record the outcome of an ingest."""
    table = _table(IngestLog)
    conn.execute(
        table.update()
        .where(table.c.ingest_id == ingest_id)
        .values(finished_at=datetime.now(UTC), **fields)
    )


def recent_ingests(
    conn: Connection, *, system_id: str | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """The newest ingest log entries first."""
    table = _table(IngestLog)
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    if system_id is not None:
        query = query.where(table.c.system_id == system_id)
    out = []
    for log in conn.execute(query).mappings():
        entry = {k: v for k, v in log.items() if k not in ("id", "content_sha256")}
        entry["rejects_by_reason"] = entry["rejects_by_reason"] or {}
        out.append(entry)
    return out


def delete_system(conn: Connection, system_id: str) -> None:
    """Remove a system and every row that belongs to it (its ingest log stays)."""
    runs = _table(BacktestRun)
    for child in (BacktestMetric, BacktestPrediction):
        conn.execute(
            delete(_table(child)).where(
                _table(child).c.run_id.in_(
                    select(runs.c.run_id).where(runs.c.system_id == system_id)
                )
            )
        )
    plans = _table(Plan)
    for plan_child in (PlanTarget, PlanMove, PlanRoute, PlanStop):
        conn.execute(
            delete(_table(plan_child)).where(
                _table(plan_child).c.plan_id.in_(
                    select(plans.c.plan_id).where(plans.c.system_id == system_id)
                )
            )
        )
    for model in (
        Task,
        Worker,
        Plan,
        Forecast,
        BacktestRun,
        DemandDaily,
        VehicleStatus,
        StationStatus,
        Station,
        Feed,
        Watermark,
        Parking,
        Depot,
        Zone,
        System,
    ):
        table = _table(model)
        conn.execute(delete(table).where(table.c.system_id == system_id))


def save_forecasts(
    conn: Connection, system_id: str, forecast: pl.DataFrame, *, issued_on: date, model_version: str
) -> int:
    """Write one issue date's forecasts; they replace whatever that issue date held (of any
    model version), so an issue date always has one model's forecasts. Non-finite values are
    refused rather than stored."""
    values = forecast.select("mean", "q10", "q50", "q90")
    bad = values.select(pl.any_horizontal(~pl.all().is_finite()).sum()).item()
    if bad:
        raise ValueError(f"{bad} forecast rows hold NaN or infinite values; nothing was written")
    table = _table(Forecast)
    conn.execute(
        delete(table).where(table.c.system_id == system_id, table.c.issued_on == issued_on)
    )
    now = datetime.now(UTC)
    rows = forecast.select(
        "zone_id", "target_date", "horizon", "mean", "q10", "q50", "q90"
    ).with_columns(
        pl.lit(system_id).alias("system_id"),
        pl.lit(issued_on).alias("issued_on"),
        pl.lit(model_version).alias("model_version"),
        pl.lit(now).alias("created_at"),
    )
    dicts = rows.to_dicts()
    for start in range(0, len(dicts), _BATCH):
        conn.execute(table.insert(), dicts[start : start + _BATCH])
    return len(dicts)


def load_forecasts(
    conn: Connection,
    system_id: str,
    *,
    issued_on: date | None = None,
    target_date: date | None = None,
    zone_ids: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Stored forecasts (newest issue date when none is given), sorted by zone and day."""
    table = _table(Forecast)
    if issued_on is None:
        issued_on = conn.execute(
            select(func.max(table.c.issued_on)).where(table.c.system_id == system_id)
        ).scalar_one_or_none()
    query = select(
        table.c.system_id,
        table.c.zone_id,
        table.c.target_date,
        table.c.issued_on,
        table.c.horizon,
        table.c.model_version,
        table.c.mean,
        table.c.q10,
        table.c.q50,
        table.c.q90,
    ).where(table.c.system_id == system_id, table.c.issued_on == issued_on)
    if target_date is not None:
        query = query.where(table.c.target_date == target_date)
    if zone_ids is not None:
        query = query.where(table.c.zone_id.in_(list(zone_ids)))
    schema = {
        "system_id": pl.String,
        "zone_id": pl.String,
        "target_date": pl.Date,
        "issued_on": pl.Date,
        "horizon": pl.Int32,
        "model_version": pl.String,
        "mean": pl.Float64,
        "q10": pl.Float64,
        "q50": pl.Float64,
        "q90": pl.Float64,
    }
    rows = conn.execute(query.order_by(table.c.zone_id, table.c.target_date))
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def latest_issue(conn: Connection, system_id: str) -> date | None:
    """The newest issue date of a system's stored forecasts."""
    table = _table(Forecast)
    value = conn.execute(
        select(func.max(table.c.issued_on)).where(table.c.system_id == system_id)
    ).scalar_one_or_none()
    return value if isinstance(value, date) else None


def newest_issue_covering(conn: Connection, system_id: str, target_date: date) -> date | None:
    """The newest issue date whose forecasts include ``target_date``."""
    table = _table(Forecast)
    value = conn.execute(
        select(func.max(table.c.issued_on)).where(
            table.c.system_id == system_id, table.c.target_date == target_date
        )
    ).scalar_one_or_none()
    return value if isinstance(value, date) else None


def serving_stamps(conn: Connection) -> dict[str, tuple[Any, ...]]:
    """Per system, a tuple that changes whenever its forecasts, zones (ids and names), days of
    demand or ingests change: what an in-memory cache compares to know it must reload.

    Demand is revised only by ingests, so the ingest log's newest entry stands for its content
    without summing the demand table on every check."""
    stamps: dict[str, list[Any]] = {sid: [None] * 8 for sid in list_system_ids(conn)}
    f = _table(Forecast)
    for sid, issued, created, n in conn.execute(
        select(
            f.c.system_id, func.max(f.c.issued_on), func.max(f.c.created_at), func.count()
        ).group_by(f.c.system_id)
    ):
        if sid in stamps:
            stamps[sid][0:3] = [issued, created, n]
    zones: dict[str, list[tuple[str, str | None]]] = {}
    for sid, zid, name in conn.execute(
        select(Zone.system_id, Zone.zone_id, Zone.name).order_by(Zone.system_id, Zone.zone_id)
    ):
        zones.setdefault(sid, []).append((zid, name))
    for sid, rows in zones.items():
        if sid in stamps:
            stamps[sid][3] = hash(tuple(rows))
    for sid, first, last in conn.execute(
        select(
            DemandDaily.system_id, func.min(DemandDaily.date), func.max(DemandDaily.date)
        ).group_by(DemandDaily.system_id)
    ):
        if sid in stamps:
            stamps[sid][4:6] = [first, last]
    for sid, finished, n in conn.execute(
        select(IngestLog.system_id, func.max(IngestLog.finished_at), func.count()).group_by(
            IngestLog.system_id
        )
    ):
        if sid in stamps:
            stamps[sid][6:8] = [finished, n]
    return {sid: tuple(values) for sid, values in stamps.items()}


def save_backtest(
    conn: Connection,
    *,
    run_id: str,
    system_id: str,
    window_start: date,
    window_end: date,
    horizon: int,
    models: list[str],
    metrics: pl.DataFrame,
    zone_metrics: pl.DataFrame,
    weather_note: str | None = None,
    mlflow_run_id: str | None = None,
    predictions: pl.DataFrame | None = None,
) -> int:
    """Store a backtest run with its metrics per model and horizon, overall and per zone.

    With ``predictions``, they replace those of the system's earlier runs: the forecasts
    beside actuals are kept for the newest run only, the metrics for every run.
    """
    conn.execute(
        _table(BacktestRun).insert(),
        [
            {
                "run_id": run_id,
                "system_id": system_id,
                "created_at": datetime.now(UTC),
                "window_start": window_start,
                "window_end": window_end,
                "horizon": horizon,
                "models": models,
                "weather_note": weather_note,
                "mlflow_run_id": mlflow_run_id,
            }
        ],
    )
    columns = ["model", "horizon", "n", "mae", "rmse", "wape", "bias", "pinball", "coverage_80"]
    overall = metrics.select(columns).with_columns(pl.lit(None, pl.String).alias("zone_id"))
    per_zone = zone_metrics.select([*columns, "zone_id"])
    rows = pl.concat([overall, per_zone]).with_columns(pl.lit(run_id).alias("run_id"))
    dicts = rows.to_dicts()
    table = _table(BacktestMetric)
    for start in range(0, len(dicts), _BATCH):
        conn.execute(table.insert(), dicts[start : start + _BATCH])
    if predictions is not None:
        _replace_backtest_predictions(conn, system_id, run_id, predictions)
    return len(dicts)


def _replace_backtest_predictions(
    conn: Connection, system_id: str, run_id: str, predictions: pl.DataFrame
) -> None:
    table, runs = _table(BacktestPrediction), _table(BacktestRun)
    older = select(runs.c.run_id).where(runs.c.system_id == system_id, runs.c.run_id != run_id)
    conn.execute(delete(table).where(table.c.run_id.in_(older)))
    dicts = (
        predictions.select(
            "model", "zone_id", "target_date", "horizon", "issued_on", "mean", "q10", "q90"
        )
        .with_columns(
            pl.lit(run_id).alias("run_id"),
            predictions["actual"].cast(pl.Float64).alias("actual"),
        )
        .to_dicts()
    )
    for start in range(0, len(dicts), _BATCH):
        conn.execute(table.insert(), dicts[start : start + _BATCH])


def load_backtest_predictions(conn: Connection, system_id: str, zone_id: str) -> pl.DataFrame:
    """The newest backtest's forecasts beside actuals for one zone, by model and day."""
    table, runs = _table(BacktestPrediction), _table(BacktestRun)
    columns = ["model", "zone_id", "issued_on", "target_date", "horizon", "mean", "q10", "q90"]
    query = (
        select(*[table.c[c] for c in columns], table.c.actual)
        .join(runs, runs.c.run_id == table.c.run_id)
        .where(runs.c.system_id == system_id, table.c.zone_id == zone_id)
        .order_by(table.c.model, table.c.horizon, table.c.target_date)
    )
    schema = {
        "model": pl.String,
        "zone_id": pl.String,
        "issued_on": pl.Date,
        "target_date": pl.Date,
        "horizon": pl.Int32,
        "mean": pl.Float64,
        "q10": pl.Float64,
        "q90": pl.Float64,
        "actual": pl.Float64,
    }
    return pl.DataFrame([tuple(r) for r in conn.execute(query)], schema=schema, orient="row")


def backtest_runs(conn: Connection, system_id: str) -> list[dict[str, Any]]:
    """Every backtest run of a system, newest first."""
    runs = _table(BacktestRun)
    rows = conn.execute(
        select(runs).where(runs.c.system_id == system_id).order_by(runs.c.created_at.desc())
    )
    return [dict(r) for r in rows.mappings()]


def latest_backtest(
    conn: Connection, system_id: str, *, per_zone: bool = False
) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """The newest backtest run of a system and its metrics (overall unless ``per_zone``)."""
    runs = _table(BacktestRun)
    run = (
        conn.execute(
            select(runs)
            .where(runs.c.system_id == system_id)
            .order_by(runs.c.created_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    schema = {
        "model": pl.String,
        "horizon": pl.Int64,
        "zone_id": pl.String,
        "n": pl.Int64,
        "mae": pl.Float64,
        "rmse": pl.Float64,
        "wape": pl.Float64,
        "bias": pl.Float64,
        "pinball": pl.Float64,
        "coverage_80": pl.Float64,
    }
    if run is None:
        return None, pl.DataFrame(schema=schema)
    table = _table(BacktestMetric)
    query = select(*[table.c[c] for c in schema]).where(table.c.run_id == run["run_id"])
    query = query.where(
        table.c.zone_id.is_not(None) if per_zone else table.c.zone_id.is_(None)
    ).order_by(table.c.model, table.c.horizon, table.c.zone_id)
    frame = pl.DataFrame([tuple(r) for r in conn.execute(query)], schema=schema, orient="row")
    return dict(run), frame
