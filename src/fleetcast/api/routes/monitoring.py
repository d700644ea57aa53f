"""Monitoring: the newest monitor run of a system, its recent forecast accuracy and drift, and
the newest drift check's HTML report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from fleetcast.api.deps import StoreDep
from fleetcast.api.routes.read import SystemQuery
from fleetcast.api.schemas import ErrorOut
from fleetcast.jobs.monitor import latest_monitoring, latest_report_file

router = APIRouter(tags=["monitoring"])
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


@router.get("/monitoring", responses=_ERRORS, summary="Newest monitor run and recent accuracy")
async def monitoring(
    store: StoreDep,
    system: SystemQuery,
    days: Annotated[int, Query(ge=1, le=366, description="Days of accuracy to return")] = 14,
) -> dict[str, Any]:
    """The newest monitor run (status, reasons, alerts, source health; null before the first
    ``fleetcast monitor``), the all-zone accuracy per day and horizon over the last ``days``
    days with actuals beside the backtest's WAPE, and the newest drift check (windows, drift
    share, target drift, per-column score; ``report_available`` when its HTML report is on
    disk at ``/monitoring/drift-report``). Reads only; runs no check."""
    return await run_in_threadpool(latest_monitoring, store, system, days=days)


@router.get(
    "/monitoring/drift-report",
    responses={
        200: {"content": {"text/html": {}}, "description": "Evidently's HTML drift report"},
        404: {"model": ErrorOut, "description": "Unknown system, or no drift report on disk"},
        422: {"model": ErrorOut},
    },
    response_class=FileResponse,
    summary="The newest drift check's HTML report",
)
async def drift_report(store: StoreDep, system: SystemQuery) -> FileResponse:
    """Evidently's HTML report of the system's newest drift check (a self-contained page)."""
    path = await run_in_threadpool(latest_report_file, store, system)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"system {system!r} has no drift report: run `fleetcast monitor --system {system}`",
        )
    return FileResponse(
        path, media_type="text/html", filename=path.name, content_disposition_type="inline"
    )
