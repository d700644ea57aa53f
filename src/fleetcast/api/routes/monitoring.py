"""Monitoring: the newest monitor run of a system and its recent forecast accuracy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from fleetcast.api.deps import StoreDep
from fleetcast.api.routes.read import SystemQuery
from fleetcast.api.schemas import ErrorOut
from fleetcast.jobs.monitor import latest_monitoring

router = APIRouter(tags=["monitoring"])
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


@router.get("/monitoring", responses=_ERRORS, summary="Newest monitor run and recent accuracy")
async def monitoring(
    store: StoreDep,
    system: SystemQuery,
    days: Annotated[int, Query(ge=1, le=366, description="Days of accuracy to return")] = 14,
) -> dict[str, Any]:
    """The newest monitor run (status, reasons, alerts, source health; null before the first
    ``fleetcast monitor``) and the all-zone accuracy per day and horizon over the last
    ``days`` days with actuals, beside the backtest's WAPE. Reads only; runs no check."""
    return await run_in_threadpool(latest_monitoring, store, system, days=days)
