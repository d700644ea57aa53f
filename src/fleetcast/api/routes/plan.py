"""Planning endpoints: the latest plan, planning now, field tasks and their life cycle, and
parking suggestions. Every handler calls a job; the planners themselves (``jobs.plan``,
``jobs.parking_sites``) are imported on first use, so an API replica that only serves reads
never loads the solvers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from fleetcast.api.auth import require_key
from fleetcast.api.deps import StoreDep
from fleetcast.api.responses import encode
from fleetcast.api.routes.read import SystemQuery
from fleetcast.api.schemas import NAME_PATTERN, ErrorOut
from fleetcast.api.schemas_plan import (
    TASK_STATUSES,
    ParkingSuggestionsOut,
    PlanOut,
    PlanRequest,
    TaskOut,
    TaskSkipRequest,
    TasksOut,
    TaskStartRequest,
)
from fleetcast.jobs import field, plan_view
from fleetcast.store import Store, plans


class PlanJSON(JSONResponse):
    """JSON encoded once by orjson, like ``PlanJSON``; a JSONResponse because FastAPI puts a
    route's response model in /docs only for those (``PlanJSON`` is documented as a string)."""

    def render(self, content: Any) -> bytes:
        """Encode ``content`` unless it already is bytes."""
        return content if isinstance(content, bytes) else encode(content)


router = APIRouter(tags=["planning"])
write_router = APIRouter(tags=["write"], dependencies=[Depends(require_key)])

_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key"},
    403: {"model": ErrorOut, "description": "A wrong or revoked API key"},
    404: {"model": ErrorOut, "description": "Unknown system or task"},
    409: {"model": ErrorOut, "description": "The store or the task's status does not allow it"},
    422: {"model": ErrorOut, "description": "A bad body, or no feasible plan"},
}
_OPEN = ("open", "assigned", "in_progress")

AssigneeQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=NAME_PATTERN, description="Worker id"),
]
StatusQuery = Annotated[
    list[str] | None,
    Query(
        alias="status",
        description=f"Task statuses, repeated or comma-separated: {', '.join(TASK_STATUSES)}",
        examples=["open,assigned"],
    ),
]
TaskIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN, description="A task's id")
]


@router.get(
    "/plan",
    response_model=PlanOut,
    response_class=PlanJSON,
    responses=_READ_ERRORS,
    summary="The latest plan: targets, moves, truck routes (also GeoJSON) and open tasks",
)
def latest_plan(store: StoreDep, system: SystemQuery) -> PlanJSON:
    """The newest stored plan of a system; 404 until one was made (POST /plan or
    ``fleetcast plan``)."""
    stored = plan_view.latest_plan(store, system)
    return PlanJSON(encode(_plan_body(store, stored)))


@write_router.post(
    "/plan",
    response_model=PlanOut,
    response_class=PlanJSON,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
    summary="Plan now (needs an API key)",
)
async def make_plan(body: PlanRequest, store: StoreDep) -> PlanJSON:
    """Runs the plan job for a system (targets, moves, routes within ``time_limit_s``, tasks)
    and returns the stored plan as GET /plan does, with the run's warnings. 409 when the
    system lacks forecasts, live vehicles or depots (the message says what to run); 422 when
    the trucks cannot be routed at all."""
    content = await run_in_threadpool(_plan_now, store, body)
    return PlanJSON(encode(content), status_code=status.HTTP_201_CREATED)


@router.get(
    "/tasks",
    response_model=TasksOut,
    response_class=PlanJSON,
    responses=_READ_ERRORS,
    summary="Field tasks, each worker's in route order",
)
def tasks(
    store: StoreDep,
    system: SystemQuery,
    assignee: AssigneeQuery = None,
    statuses: StatusQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many tasks")] = 1_000,
) -> PlanJSON:
    """Tasks of a system, filtered by worker and status; each worker's in route order, then
    by priority, with the weighted parts of each priority."""
    frame = field.list_tasks(
        store, system_id=system, assignee=assignee, status=_statuses(statuses), limit=limit
    )
    return PlanJSON(encode({"system": system, "tasks": _task_rows(frame)}))


@write_router.post(
    "/tasks/{task_id}/start",
    response_model=TaskOut,
    response_class=PlanJSON,
    responses=_WRITE_ERRORS,
    summary="Start a task (needs an API key)",
)
def start_task(
    store: StoreDep, task_id: TaskIdPath, body: TaskStartRequest | None = None
) -> PlanJSON:
    """An open or assigned task goes in progress, taken by ``assignee`` when given."""
    task = field.task_action(store, task_id, "start", assignee=body.assignee if body else None)
    return PlanJSON(encode(_task_row(task)))


@write_router.post(
    "/tasks/{task_id}/complete",
    response_model=TaskOut,
    response_class=PlanJSON,
    responses=_WRITE_ERRORS,
    summary="Complete a task (needs an API key)",
)
def complete_task(
    store: StoreDep, task_id: TaskIdPath, body: TaskStartRequest | None = None
) -> PlanJSON:
    """A task in progress (or assigned, done without pressing start) is done."""
    task = field.task_action(store, task_id, "complete", assignee=body.assignee if body else None)
    return PlanJSON(encode(_task_row(task)))


@write_router.post(
    "/tasks/{task_id}/skip",
    response_model=TaskOut,
    response_class=PlanJSON,
    responses=_WRITE_ERRORS,
    summary="Skip a task with a reason (needs an API key)",
)
def skip_task(store: StoreDep, task_id: TaskIdPath, body: TaskSkipRequest) -> PlanJSON:
    """A task not yet done is skipped; the reason is kept with it."""
    task = field.task_action(store, task_id, "skip", assignee=body.assignee, reason=body.reason)
    return PlanJSON(encode(_task_row(task)))


@router.get(
    "/parkings/suggestions",
    response_model=ParkingSuggestionsOut,
    response_class=PlanJSON,
    responses={**_READ_ERRORS, 409: {"model": ErrorOut, "description": "No trips yet"}},
    summary="Suggested new parkings where trips cluster far from existing ones",
)
def parking_suggestions(
    store: StoreDep,
    system: SystemQuery,
    days: Annotated[int, Query(ge=1, le=365, description="Days of trips, up to the last")] = 28,
    method: Annotated[
        Literal["h3", "meanshift"] | None,
        Query(description="Clustering (default from [planning.parkings])"),
    ] = None,
    top: Annotated[int | None, Query(ge=1, le=500, description="At most this many")] = None,
) -> PlanJSON:
    """Spots ranked by the trips per day they would serve, each with its distance to the
    nearest existing parking."""
    from fleetcast.jobs import parking_sites

    frame = parking_sites.suggest(store, system, days=days, method=method, top=top)
    return PlanJSON(encode({"system": system, "days": days, "suggestions": frame.to_dicts()}))


def _statuses(raw: list[str] | None) -> list[str] | None:
    """The statuses asked for (repeated and/or comma-separated), or a 422 naming the allowed
    ones; the bad value itself is not echoed."""
    wanted = [part.strip() for item in raw or () for part in item.split(",") if part.strip()]
    if any(s not in TASK_STATUSES for s in wanted):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "loc": ["query", "status"],
                    "msg": f"status must be one or more of {', '.join(TASK_STATUSES)} "
                    "(repeat the parameter or separate with commas)",
                    "type": "enum",
                }
            ],
        )
    return wanted or None


def _task_row(task: dict[str, Any]) -> dict[str, Any]:
    """A task for JSON: score parts without the nulls a frame fills in for missing parts."""
    parts = task.get("score_parts") or {}
    return {**task, "score_parts": {k: v for k, v in parts.items() if v is not None}}


def _task_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [_task_row(t) for t in frame.to_dicts()] if frame.height else []


def _plan_body(store: Store, stored: plans.StoredPlan) -> dict[str, Any]:
    """A stored plan as JSON with its tasks still to do."""
    content = plan_view.plan_json(stored)
    system_id = str(stored.header["system_id"])
    frame = field.list_tasks(
        store, system_id=system_id, status=_OPEN, plan_id=str(stored.header["plan_id"])
    )
    content["tasks"] = _task_rows(frame)
    content["warnings"] = []
    return content


def _plan_now(store: Store, body: PlanRequest) -> dict[str, Any]:
    """Run the plan job (in a worker thread: importing the planners and solving are CPU work)
    and read the stored plan back."""
    from fleetcast.jobs import plan as plan_jobs

    config = plan_jobs.config_for(store.settings, body.system)
    try:
        config = config.with_overrides(
            trucks=body.trucks, capacity=body.capacity, time_limit_s=body.time_limit_s
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    result = plan_jobs.make_plan(store, body.system, plan_date=body.date, config=config)
    with store.connect() as conn:
        stored = plans.load_plan(conn, result.plan_id)
    content = _plan_body(store, stored)
    content["warnings"] = list(result.warnings)
    return content
