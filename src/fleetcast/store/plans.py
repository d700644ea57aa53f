"""Reading and writing plans, workers and field tasks: plain functions over a connection.

A plan is written whole in one transaction (its targets, moves, routes and stops), so a
reader never sees half a plan. Tasks carry a life cycle; re-planning replaces the open and
assigned tasks of a system but never touches one that is in progress, done or skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

import polars as pl
from sqlalchemy import Connection, Table, delete, func, select, update

from fleetcast.errors import FleetcastError
from fleetcast.store.tables import (
    Plan,
    PlanMove,
    PlanRoute,
    PlanStop,
    PlanTarget,
    Task,
    Worker,
)

_BATCH: Final = 2_000


class TaskStatus(StrEnum):
    """Where a task is in its life cycle."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    SKIPPED = "skipped"


ACTIVE: Final = (TaskStatus.OPEN, TaskStatus.ASSIGNED)
"""Statuses a re-plan may replace."""

_TRANSITIONS: Final[dict[str, tuple[TaskStatus, frozenset[TaskStatus]]]] = {
    "start": (TaskStatus.IN_PROGRESS, frozenset({TaskStatus.OPEN, TaskStatus.ASSIGNED})),
    "complete": (TaskStatus.DONE, frozenset({TaskStatus.IN_PROGRESS, TaskStatus.ASSIGNED})),
    "skip": (
        TaskStatus.SKIPPED,
        frozenset({TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS}),
    ),
}
"""For each action: the status it leads to and the statuses it may start from. Completing
an assigned task directly is allowed (the worker did it without pressing start)."""


class UnknownTaskError(FleetcastError, LookupError):
    """A task id that is not in the store."""


class TaskStateError(FleetcastError, ValueError):
    """An action that the task's current status does not allow (e.g. completing a done task)."""


class UnknownPlanError(FleetcastError, LookupError):
    """A system has no plan yet, or a plan id that is not in the store."""


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _insert(conn: Connection, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        conn.execute(_table(model).insert(), list(rows[start : start + _BATCH]))


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as stored: its header row and its four frames."""

    header: dict[str, Any]
    targets: pl.DataFrame
    moves: pl.DataFrame
    routes: pl.DataFrame
    stops: pl.DataFrame


def save_plan(
    conn: Connection,
    *,
    plan_id: str,
    system_id: str,
    plan_date: date,
    status: str,
    issued_on: date | None,
    model_version: str | None,
    params: Mapping[str, Any],
    summary: Mapping[str, Any],
    targets: pl.DataFrame,
    moves: pl.DataFrame,
    routes: pl.DataFrame,
    stops: pl.DataFrame,
    created_at: datetime | None = None,
) -> None:
    """Write a whole plan (call inside one transaction)."""
    conn.execute(
        _table(Plan).insert(),
        {
            "plan_id": plan_id,
            "system_id": system_id,
            "plan_date": plan_date,
            "created_at": created_at or datetime.now(UTC),
            "status": status,
            "issued_on": issued_on,
            "model_version": model_version,
            "params": dict(params),
            "summary": dict(summary),
        },
    )
    for model, frame in (
        (PlanTarget, targets),
        (PlanMove, moves),
        (PlanRoute, routes),
        (PlanStop, stops),
    ):
        columns = [c.name for c in _table(model).columns if c.name != "plan_id"]
        missing = set(columns) - set(frame.columns)
        if missing and frame.height:
            raise ValueError(f"{_table(model).name} rows lack column(s) {sorted(missing)}")
        if frame.height:
            rows = frame.select(columns).with_columns(pl.lit(plan_id).alias("plan_id"))
            _insert(conn, model, rows.to_dicts())


def latest_plan_id(conn: Connection, system_id: str) -> str | None:
    """The id of the newest plan of a system, or None."""
    table = _table(Plan)
    row = conn.execute(
        select(table.c.plan_id)
        .where(table.c.system_id == system_id)
        .order_by(table.c.created_at.desc(), table.c.plan_id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def _frame(conn: Connection, model: Any, plan_id: str, order: Sequence[str]) -> pl.DataFrame:
    table = _table(model)
    columns = [c for c in table.columns if c.name != "plan_id"]
    rows = conn.execute(
        select(*columns).where(table.c.plan_id == plan_id).order_by(*(table.c[o] for o in order))
    ).all()
    names = [c.name for c in columns]
    if not rows:
        return pl.DataFrame({n: [] for n in names})
    return pl.DataFrame([dict(zip(names, r, strict=True)) for r in rows], infer_schema_length=None)


def load_plan(conn: Connection, plan_id: str) -> StoredPlan:
    """One stored plan, or UnknownPlanError."""
    table = _table(Plan)
    row = conn.execute(select(table).where(table.c.plan_id == plan_id)).mappings().first()
    if row is None:
        raise UnknownPlanError(f"no plan {plan_id!r} in the store")
    return StoredPlan(
        header=dict(row),
        targets=_frame(conn, PlanTarget, plan_id, ["zone_id"]),
        moves=_frame(conn, PlanMove, plan_id, ["move_id"]),
        routes=_frame(conn, PlanRoute, plan_id, ["truck_id"]),
        stops=_frame(conn, PlanStop, plan_id, ["truck_id", "seq"]),
    )


def list_plans(conn: Connection, system_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Headers of a system's newest plans, newest first."""
    table = _table(Plan)
    rows = conn.execute(
        select(table)
        .where(table.c.system_id == system_id)
        .order_by(table.c.created_at.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def save_workers(conn: Connection, system_id: str, workers: Sequence[Mapping[str, Any]]) -> int:
    """Insert or update workers (by worker_id)."""
    from fleetcast.store.records import upsert

    rows = [{"active": True, **w, "system_id": system_id} for w in workers]
    return upsert(conn, Worker, rows)


def load_workers(conn: Connection, system_id: str, *, active_only: bool = True) -> pl.DataFrame:
    """A system's workers: worker_id, name, lat, lon, shift_minutes, mode, active."""
    table = _table(Worker)
    query = select(
        table.c.worker_id,
        table.c.name,
        table.c.lat,
        table.c.lon,
        table.c.shift_minutes,
        table.c.mode,
        table.c.active,
    ).where(table.c.system_id == system_id)
    if active_only:
        query = query.where(table.c.active.is_(True))
    rows = conn.execute(query.order_by(table.c.worker_id)).all()
    schema = {
        "worker_id": pl.String,
        "name": pl.String,
        "lat": pl.Float64,
        "lon": pl.Float64,
        "shift_minutes": pl.Int64,
        "mode": pl.String,
        "active": pl.Boolean,
    }
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def deactivate_worker(conn: Connection, system_id: str, worker_id: str) -> bool:
    """Take a worker out of planning (their task history stays); False when unknown."""
    table = _table(Worker)
    result = conn.execute(
        update(table)
        .where(table.c.system_id == system_id, table.c.worker_id == worker_id)
        .values(active=False)
    )
    return bool(result.rowcount)


_TASK_FIELDS: Final = (
    "task_key",
    "kind",
    "vehicle_id",
    "parking_id",
    "zone_id",
    "lat",
    "lon",
    "quantity",
    "priority",
    "score_parts",
    "reason",
    "service_minutes",
    "assignee",
    "route_seq",
    "eta_minutes",
)


@dataclass(frozen=True, slots=True)
class TaskReplacement:
    """What a re-plan did to the tasks of a system."""

    created: int
    updated: int
    removed: int
    kept_in_progress: int


def replace_tasks(
    conn: Connection,
    system_id: str,
    tasks: pl.DataFrame,
    *,
    plan_id: str | None,
    now: datetime | None = None,
) -> TaskReplacement:
    """Make the system's open and assigned tasks those of ``tasks`` (keyed by ``task_key``).

    A task whose key is already open or assigned keeps its task_id (a link a worker holds stays
    valid) and is updated; open or assigned tasks no longer generated are removed; a task
    whose key is in progress is left alone and the new one dropped. Done and skipped tasks
    are history and never touched.
    """
    now = now or datetime.now(UTC)
    table = _table(Task)
    current = conn.execute(
        select(table.c.task_id, table.c.task_key, table.c.status).where(
            table.c.system_id == system_id,
            table.c.status.in_([*ACTIVE, TaskStatus.IN_PROGRESS]),
        )
    ).all()
    in_progress = {r.task_key for r in current if r.status == TaskStatus.IN_PROGRESS}
    active = {r.task_key: r.task_id for r in current if r.status in ACTIVE}
    keep: set[str] = set()
    created = updated = 0
    new_rows: list[dict[str, Any]] = []
    for row in tasks.to_dicts():
        key = str(row["task_key"])
        if key in in_progress or key in keep:
            continue
        values = {f: row.get(f) for f in _TASK_FIELDS}
        values["quantity"] = int(values["quantity"] or 1)
        values["score_parts"] = dict(values["score_parts"] or {})
        status = TaskStatus.ASSIGNED if values["assignee"] else TaskStatus.OPEN
        if key in active:
            conn.execute(
                update(table)
                .where(table.c.task_id == active[key])
                .values(**values, status=status, plan_id=plan_id, updated_at=now)
            )
            keep.add(key)
            updated += 1
        else:
            new_rows.append(
                {
                    **values,
                    "task_id": str(uuid.uuid4()),
                    "system_id": system_id,
                    "plan_id": plan_id,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                    "started_at": None,
                    "done_at": None,
                    "skip_reason": None,
                }
            )
            keep.add(key)
            created += 1
    stale = [task_id for key, task_id in active.items() if key not in keep]
    for start in range(0, len(stale), _BATCH):
        conn.execute(delete(table).where(table.c.task_id.in_(stale[start : start + _BATCH])))
    _insert(conn, Task, new_rows)
    return TaskReplacement(
        created=created, updated=updated, removed=len(stale), kept_in_progress=len(in_progress)
    )


def in_progress_tasks(conn: Connection, system_id: str) -> dict[str, str]:
    """task_key -> assignee of the tasks in progress (re-planning keeps them with their worker)."""
    table = _table(Task)
    rows = conn.execute(
        select(table.c.task_key, table.c.assignee).where(
            table.c.system_id == system_id, table.c.status == TaskStatus.IN_PROGRESS
        )
    ).all()
    return {str(r.task_key): str(r.assignee) for r in rows if r.assignee}


TASK_COLUMNS: Final = tuple(c.name for c in _table(Task).columns)


def list_tasks(
    conn: Connection,
    *,
    system_id: str | None = None,
    assignee: str | None = None,
    status: Sequence[str] | None = None,
    plan_id: str | None = None,
    limit: int = 1_000,
) -> pl.DataFrame:
    """Tasks filtered by system, plan, assignee and statuses: each worker's in route order
    (workers by id, unassigned tasks last on every backend), then by priority."""
    table = _table(Task)
    query = select(table)
    if system_id is not None:
        query = query.where(table.c.system_id == system_id)
    if plan_id is not None:
        query = query.where(table.c.plan_id == plan_id)
    if assignee is not None:
        query = query.where(table.c.assignee == assignee)
    if status:
        query = query.where(table.c.status.in_(list(status)))
    query = query.order_by(
        table.c.assignee.is_(None),
        table.c.assignee,
        func.coalesce(table.c.route_seq, 1_000_000),
        table.c.priority.desc(),
        table.c.task_id,
    ).limit(limit)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if not rows:
        return pl.DataFrame({c: [] for c in TASK_COLUMNS})
    return pl.DataFrame(rows, infer_schema_length=None)


def get_task(conn: Connection, task_id: str) -> dict[str, Any]:
    """One task as a dict, or UnknownTaskError."""
    table = _table(Task)
    row = conn.execute(select(table).where(table.c.task_id == task_id)).mappings().first()
    if row is None:
        raise UnknownTaskError(f"no task {task_id!r}")
    return dict(row)


def transition_task(
    conn: Connection,
    task_id: str,
    action: str,
    *,
    assignee: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply ``start``, ``complete`` or ``skip`` to a task and return it as it is after.

    Raises UnknownTaskError, or TaskStateError when the status does not allow the action (a
    skip needs a reason).
    """
    if action not in _TRANSITIONS:
        raise ValueError(f"action {action!r} not understood; use one of {sorted(_TRANSITIONS)}")
    target, allowed = _TRANSITIONS[action]
    now = now or datetime.now(UTC)
    table = _table(Task)
    task = get_task(conn, task_id)
    status = TaskStatus(task["status"])
    if status not in allowed:
        raise TaskStateError(
            f"task {task_id} is {status.value}; '{action}' needs it to be one of "
            f"{', '.join(sorted(s.value for s in allowed))}"
        )
    if action == "skip" and not (reason and reason.strip()):
        raise TaskStateError("skipping a task needs a reason (e.g. 'vehicle not found')")
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if assignee:
        values["assignee"] = assignee
    if action == "start":
        values["started_at"] = now
    elif action == "complete":
        values["done_at"] = now
        if task["started_at"] is None:
            values["started_at"] = now
    else:
        values["done_at"] = now
        values["skip_reason"] = reason.strip() if reason else None
    result = conn.execute(
        update(table).where(table.c.task_id == task_id, table.c.status == status).values(**values)
    )
    if not result.rowcount:
        raise TaskStateError(f"task {task_id} changed while it was being updated; try again")
    return get_task(conn, task_id)
