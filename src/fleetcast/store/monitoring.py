"""Monitoring in the db: forecast accuracy per day, horizon, zone and model, monitor runs and
their drift checks; plus the reads the monitor needs (issued forecasts by target day, the
ingest log, feeds)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, delete, func, select

from fleetcast.monitoring.accuracy import ACCURACY_SCHEMA, ALL_ZONES
from fleetcast.monitoring.drift import COLUMNS_SCHEMA, DriftResult
from fleetcast.store import state
from fleetcast.store.tables import (
    Forecast,
    IngestLog,
    MonitorAccuracy,
    MonitorDrift,
    MonitorDriftColumn,
    MonitorRun,
)

_BATCH = 5_000
_IN_CHUNK = 500


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


FORECAST_SCHEMA: dict[str, pl.DataType] = {
    "zone_id": pl.String(),
    "target_date": pl.Date(),
    "issued_on": pl.Date(),
    "horizon": pl.Int32(),
    "model_version": pl.String(),
    "mean": pl.Float64(),
    "q10": pl.Float64(),
    "q90": pl.Float64(),
}


def forecast_target_days(conn: Connection, system_id: str, *, until: date) -> list[date]:
    """Every target day up to ``until`` that some stored forecast covers, oldest first."""
    table = _table(Forecast)
    rows = conn.execute(
        select(table.c.target_date)
        .where(table.c.system_id == system_id, table.c.target_date <= until)
        .distinct()
        .order_by(table.c.target_date)
    )
    return [r[0] for r in rows]


def load_forecasts_for_days(
    conn: Connection, system_id: str, days: Collection[date]
) -> pl.DataFrame:
    """Every stored forecast (any issue date and horizon) whose target day is in ``days``."""
    table = _table(Forecast)
    columns = [table.c[c] for c in FORECAST_SCHEMA]
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(days)):
        query = select(*columns).where(
            table.c.system_id == system_id, table.c.target_date.in_(chunk)
        )
        rows.extend(tuple(r) for r in conn.execute(query))
    return pl.DataFrame(rows, schema=FORECAST_SCHEMA, orient="row")


def accuracy_days(conn: Connection, system_id: str) -> set[date]:
    """Target days that already have stored accuracy."""
    table = _table(MonitorAccuracy)
    rows = conn.execute(
        select(table.c.target_date).where(table.c.system_id == system_id).distinct()
    )
    return {r[0] for r in rows}


def save_accuracy(conn: Connection, system_id: str, frame: pl.DataFrame, *, run_id: str) -> int:
    """Store accuracy rows (:data:`ACCURACY_SCHEMA`); they replace every row of the target days
    they cover, so re-running a day replaces it whole."""
    if frame.is_empty():
        return 0
    table = _table(MonitorAccuracy)
    days = frame["target_date"].unique().to_list()
    for chunk in _chunks(days):
        conn.execute(
            delete(table).where(table.c.system_id == system_id, table.c.target_date.in_(chunk))
        )
    dicts = (
        frame.select(list(ACCURACY_SCHEMA))
        .with_columns(pl.lit(system_id).alias("system_id"), pl.lit(run_id).alias("run_id"))
        .to_dicts()
    )
    for start in range(0, len(dicts), _BATCH):
        conn.execute(table.insert(), dicts[start : start + _BATCH])
    return len(dicts)


def load_accuracy(
    conn: Connection,
    system_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
    zone_id: str | None = ALL_ZONES,
) -> pl.DataFrame:
    """Stored accuracy of a system (all-zone rows unless ``zone_id`` names a zone; every row
    when None), by day, horizon, zone and model version."""
    table = _table(MonitorAccuracy)
    query = select(*[table.c[c] for c in ACCURACY_SCHEMA]).where(table.c.system_id == system_id)
    if start is not None:
        query = query.where(table.c.target_date >= start)
    if end is not None:
        query = query.where(table.c.target_date <= end)
    if zone_id is not None:
        query = query.where(table.c.zone_id == zone_id)
    query = query.order_by(
        table.c.target_date, table.c.horizon, table.c.zone_id, table.c.model_version
    )
    return pl.DataFrame(
        [tuple(r) for r in conn.execute(query)], schema=ACCURACY_SCHEMA, orient="row"
    )


def save_run(
    conn: Connection,
    *,
    run_id: str,
    system_id: str,
    ran_at: datetime,
    status: str,
    summary: dict[str, Any],
) -> None:
    """Record one monitor run with its status (ok / degraded / failed) and JSON summary."""
    if status not in ("ok", "degraded", "failed"):
        raise ValueError(f"monitor status {status!r} not understood: use ok, degraded or failed")
    conn.execute(
        _table(MonitorRun).insert(),
        [
            {
                "run_id": run_id,
                "system_id": system_id,
                "ran_at": ran_at,
                "status": status,
                "summary": summary,
            }
        ],
    )


def recent_runs(conn: Connection, system_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """A system's newest monitor runs first."""
    table = _table(MonitorRun)
    rows = conn.execute(
        select(table)
        .where(table.c.system_id == system_id)
        .order_by(table.c.ran_at.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


def latest_run(conn: Connection, system_id: str) -> dict[str, Any] | None:
    """A system's newest monitor run, or None before the first."""
    runs = recent_runs(conn, system_id, limit=1)
    return runs[0] if runs else None


def latest_runs(conn: Connection) -> list[dict[str, Any]]:
    """The newest monitor run of every system that has one, by system."""
    table = _table(MonitorRun)
    newest = (
        select(table.c.system_id, func.max(table.c.ran_at).label("ran_at"))
        .group_by(table.c.system_id)
        .subquery()
    )
    rows = conn.execute(
        select(table)
        .join(
            newest,
            (newest.c.system_id == table.c.system_id) & (newest.c.ran_at == table.c.ran_at),
        )
        .order_by(table.c.system_id)
    )
    seen: dict[str, dict[str, Any]] = {}
    for r in rows.mappings():
        seen.setdefault(r["system_id"], dict(r))
    return list(seen.values())


INGEST_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "dataset": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "status": pl.String(),
    "rows_read": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
    "message": pl.String(),
}


def load_ingest_log(conn: Connection, system_id: str) -> pl.DataFrame:
    """Every ingest run of a system (source, dataset, times, status, row counts), oldest first."""
    table = _table(IngestLog)
    query = (
        select(*[table.c[c] for c in INGEST_SCHEMA])
        .where(table.c.system_id == system_id)
        .order_by(table.c.id)
    )
    return pl.DataFrame([tuple(r) for r in conn.execute(query)], schema=INGEST_SCHEMA, orient="row")


FEED_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "url": pl.String(),
    "status": pl.String(),
    "ttl_s": pl.Int64(),
    "last_success_at": pl.Datetime("us", "UTC"),
    "last_updated": pl.Datetime("us", "UTC"),
    "failures": pl.Int64(),
    "last_error": pl.String(),
}


def load_feeds(conn: Connection, system_id: str) -> pl.DataFrame:
    """The health of a system's polled feeds, one row per feed."""
    rows = [
        (
            f.kind,
            f.url,
            f.status,
            f.ttl_s,
            f.last_success_at,
            f.last_updated,
            f.failures,
            f.last_error,
        )
        for f in state.load_feed_states(conn, system_id)
    ]
    return pl.DataFrame(rows, schema=FEED_SCHEMA, orient="row")


def save_drift(
    conn: Connection,
    *,
    run_id: str,
    system_id: str,
    ran_at: datetime,
    result: DriftResult,
    report_path: str | None,
) -> None:
    """Store the drift check of a monitor run (saved first: its row references the run) and
    its per-column figures; ``report_path`` is the HTML report's path relative to the home."""
    w = result.windows
    conn.execute(
        _table(MonitorDrift).insert(),
        [
            {
                "run_id": run_id,
                "system_id": system_id,
                "ran_at": ran_at,
                "reference_start": w.reference_start,
                "reference_end": w.reference_end,
                "current_start": w.current_start,
                "current_end": w.current_end,
                "reference_rows": result.reference_rows,
                "current_rows": result.current_rows,
                "inputs": result.inputs.height,
                "drifted_inputs": len(result.drifted_inputs),
                "drift_share": result.drift_share,
                "target_drifted": result.target_drifted,
                "report_path": report_path,
            }
        ],
    )
    columns = result.columns.with_columns(pl.lit(run_id).alias("run_id")).to_dicts()
    if columns:
        conn.execute(_table(MonitorDriftColumn).insert(), columns)


def latest_drift(conn: Connection, system_id: str) -> dict[str, Any] | None:
    """A system's newest drift check (the monitor_drift row) with its ``columns`` as a list of
    dicts in stored order, or None before the first."""
    table = _table(MonitorDrift)
    row = (
        conn.execute(
            select(table)
            .where(table.c.system_id == system_id)
            .order_by(table.c.ran_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return {**dict(row), "columns": drift_columns(conn, row["run_id"]).to_dicts()}


def drift_columns(conn: Connection, run_id: str) -> pl.DataFrame:
    """Per-column figures of one drift check (:data:`COLUMNS_SCHEMA`), target last."""
    table = _table(MonitorDriftColumn)
    query = (
        select(*[table.c[c] for c in COLUMNS_SCHEMA])
        .where(table.c.run_id == run_id)
        .order_by(table.c.role, table.c.column)
    )
    return pl.DataFrame(
        [tuple(r) for r in conn.execute(query)], schema=COLUMNS_SCHEMA, orient="row"
    )
