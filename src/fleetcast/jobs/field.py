"""Field work: workers, the task list and each task's life cycle (start, complete, skip)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import polars as pl

from fleetcast.store import Store, plans, records
from fleetcast.store.plans import TaskStateError, TaskStatus, UnknownTaskError

ACTIONS: Final = ("start", "complete", "skip")
MODES: Final = ("walk", "van")

__all__ = [
    "ACTIONS",
    "MODES",
    "TaskStateError",
    "TaskStatus",
    "UnknownTaskError",
    "add_worker",
    "list_tasks",
    "list_workers",
    "remove_worker",
    "task_action",
]


def list_tasks(
    store: Store,
    *,
    system_id: str | None = None,
    assignee: str | None = None,
    status: Sequence[str] | None = None,
    plan_id: str | None = None,
    limit: int = 1_000,
) -> pl.DataFrame:
    """Tasks by system, plan, worker and status, each worker's in route order.

    Unknown statuses raise ValueError naming the allowed ones; an unknown system raises
    UnknownSystemError.
    """
    allowed = {s.value for s in TaskStatus}
    bad = sorted(set(status or ()) - allowed)
    if bad:
        raise ValueError(f"status {bad} not understood; use any of {sorted(allowed)}")
    with store.connect() as conn:
        if system_id is not None:
            records.get_system(conn, system_id)
        return plans.list_tasks(
            conn,
            system_id=system_id,
            assignee=assignee,
            status=status,
            plan_id=plan_id,
            limit=limit,
        )


def task_action(
    store: Store,
    task_id: str,
    action: str,
    *,
    assignee: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Start, complete or skip a task; returns the task after. Raises UnknownTaskError or
    TaskStateError (e.g. completing a task that is already done)."""
    if action not in ACTIONS:
        raise ValueError(f"action {action!r} not understood; use one of {list(ACTIONS)}")
    with store.begin() as conn:
        return plans.transition_task(
            conn, task_id, action, assignee=assignee, reason=reason, now=now
        )


def add_worker(
    store: Store,
    system_id: str,
    *,
    worker_id: str,
    name: str,
    lat: float,
    lon: float,
    shift_minutes: int = 480,
    mode: str = "walk",
) -> None:
    """Add (or update) a field worker of a system."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} not understood; use one of {list(MODES)}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"({lat}, {lon}) is not a latitude/longitude")
    if not 30 <= shift_minutes <= 24 * 60:
        raise ValueError(f"shift_minutes={shift_minutes} (allowed 30..1440)")
    if not worker_id.strip():
        raise ValueError("worker_id must not be blank")
    with store.begin() as conn:
        records.get_system(conn, system_id)
        plans.save_workers(
            conn,
            system_id,
            [
                {
                    "worker_id": worker_id.strip(),
                    "name": name.strip() or worker_id.strip(),
                    "lat": lat,
                    "lon": lon,
                    "shift_minutes": shift_minutes,
                    "mode": mode,
                    "active": True,
                }
            ],
        )


def list_workers(store: Store, system_id: str, *, include_inactive: bool = False) -> pl.DataFrame:
    """A system's workers."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        return plans.load_workers(conn, system_id, active_only=not include_inactive)


def remove_worker(store: Store, system_id: str, worker_id: str) -> bool:
    """Take a worker out of planning (history stays); False when there is no such worker."""
    with store.begin() as conn:
        return plans.deactivate_worker(conn, system_id, worker_id)
