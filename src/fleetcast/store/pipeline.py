"""Scheduled pipeline runs in the db: one row per step of each run (``step`` ``'run'`` for the
run as a whole), so a failed step is visible in ``fleetcast status``, ``/health`` and the
dashboard while the previous forecasts and plan stay in service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, update

from fleetcast.store.tables import PipelineRun

RUN_STEP: Final = "run"
"""The step name of the row that stands for a whole run."""
STATUSES: Final = ("running", "ok", "failed", "skipped", "interrupted")


def _table() -> Table:
    table: Table = PipelineRun.__table__  # type: ignore[assignment]
    return table


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start_step(
    conn: Connection,
    *,
    run_id: str,
    step: str,
    flow: str,
    system_id: str | None,
    started_at: datetime,
    flow_run_id: str | None = None,
) -> None:
    """Record that a step (or, with ``step='run'``, a run) started."""
    conn.execute(
        insert(_table()).values(
            run_id=run_id,
            step=step,
            flow=flow,
            system_id=system_id,
            status="running",
            started_at=started_at,
            flow_run_id=flow_run_id,
        )
    )


def finish_step(
    conn: Connection,
    *,
    run_id: str,
    step: str,
    status: str,
    finished_at: datetime,
    seconds: float | None,
    message: str | None = None,
) -> None:
    """Record how a started step ended."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} not understood: use one of {STATUSES}")
    table = _table()
    conn.execute(
        update(table)
        .where(table.c.run_id == run_id, table.c.step == step)
        .values(status=status, finished_at=finished_at, seconds=seconds, message=message)
    )


def skip_step(
    conn: Connection,
    *,
    run_id: str,
    step: str,
    flow: str,
    system_id: str | None,
    at: datetime,
    message: str,
) -> None:
    """Record a step that did not run (an earlier step failed, or it is not due today)."""
    conn.execute(
        insert(_table()).values(
            run_id=run_id,
            step=step,
            flow=flow,
            system_id=system_id,
            status="skipped",
            started_at=at,
            finished_at=at,
            seconds=0.0,
            message=message,
        )
    )


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["started_at"] = _aware(out["started_at"])
    out["finished_at"] = _aware(out["finished_at"])
    return out


def run_steps(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    """Every step of one run in the order they started (the 'run' row first)."""
    table = _table()
    rows = conn.execute(
        select(table)
        .where(table.c.run_id == run_id)
        .order_by((table.c.step != RUN_STEP), table.c.started_at)
    ).mappings()
    return [_row(r) for r in rows]


def latest_runs(conn: Connection) -> list[dict[str, Any]]:
    """The newest run of each (flow, system) with its steps under ``steps``, newest first."""
    table = _table()
    newest = (
        select(table.c.flow, table.c.system_id, func.max(table.c.started_at).label("at"))
        .where(table.c.step == RUN_STEP)
        .group_by(table.c.flow, table.c.system_id)
        .subquery()
    )
    same_system = (table.c.system_id == newest.c.system_id) | (
        table.c.system_id.is_(None) & newest.c.system_id.is_(None)
    )
    runs = conn.execute(
        select(table)
        .join(
            newest,
            and_(table.c.flow == newest.c.flow, same_system, table.c.started_at == newest.c.at),
        )
        .where(table.c.step == RUN_STEP)
        .order_by(table.c.started_at.desc())
    ).mappings()
    out = []
    for run in runs:
        entry = _row(run)
        entry["steps"] = [s for s in run_steps(conn, entry["run_id"]) if s["step"] != RUN_STEP]
        out.append(entry)
    return out


def failing(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs among ``latest_runs`` whose run or a step failed or was interrupted, each with
    ``failed_step`` (the first such step, or 'run') and its ``message``."""
    out = []
    for run in runs:
        bad = [s for s in run["steps"] if s["status"] in ("failed", "interrupted")]
        if not bad and run["status"] not in ("failed", "interrupted"):
            continue
        first = bad[0] if bad else run
        out.append(
            {
                "flow": run["flow"],
                "system_id": run["system_id"],
                "run_id": run["run_id"],
                "started_at": run["started_at"],
                "failed_step": first["step"],
                "status": first["status"],
                "message": first["message"] or run["message"],
            }
        )
    return out


def running_since(
    conn: Connection, *, flow: str, system_id: str | None, after: datetime
) -> datetime | None:
    """When the run of ``flow`` for ``system_id`` still ``running`` (started after
    ``after``) began, or None when none is."""
    table = _table()
    same_system = (
        table.c.system_id.is_(None) if system_id is None else table.c.system_id == system_id
    )
    started = conn.execute(
        select(func.max(table.c.started_at)).where(
            table.c.step == RUN_STEP,
            table.c.flow == flow,
            same_system,
            table.c.status == "running",
            table.c.started_at > after,
        )
    ).scalar_one_or_none()
    return _aware(started)


def close_running(conn: Connection, *, at: datetime, message: str) -> int:
    """Mark every row still ``running`` as ``interrupted`` at ``at``; returns rows marked."""
    table = _table()
    result = conn.execute(
        update(table)
        .where(table.c.status == "running")
        .values(status="interrupted", finished_at=at, message=message)
    )
    return int(result.rowcount or 0)


def prune(conn: Connection, *, flow: str, before: datetime) -> int:
    """Delete the rows of ``flow`` runs that started before ``before``; returns rows deleted."""
    table = _table()
    old = select(table.c.run_id).where(
        table.c.flow == flow, table.c.step == RUN_STEP, table.c.started_at < before
    )
    result = conn.execute(delete(table).where(table.c.run_id.in_(old)))
    return int(result.rowcount or 0)
