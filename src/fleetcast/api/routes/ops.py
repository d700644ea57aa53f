"""Health, Prometheus metrics, and the write endpoint that issues forecasts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from fleetcast.api.auth import require_key
from fleetcast.api.deps import CacheDep, StoreDep
from fleetcast.api.metrics import CONTENT_TYPE, scrape
from fleetcast.api.schemas import ErrorOut, HealthOut, RunForecastOut, RunForecastRequest
from fleetcast.jobs import forecast as forecast_jobs
from fleetcast.jobs import serving
from fleetcast.jobs.forecast import ModelUnavailableError
from fleetcast.jobs.predict import Predictor

router = APIRouter(tags=["operations"])
write_router = APIRouter(tags=["write"], dependencies=[Depends(require_key)])


@router.get("/health", response_model=HealthOut, summary="Store, champions and data freshness")
def health(
    request: Request, store: StoreDep, cache: CacheDep, response: Response
) -> dict[str, Any]:
    """``ok`` when the db answers, every system has a champion and forecasts and no scheduled
    pipeline is failing; ``degraded`` (still 200: the API itself is up) when one lacks them or
    a pipeline's newest run failed, listed under ``pipelines``; 503 ``down`` when the db
    cannot be reached."""
    predictor: Predictor = request.app.state.predictor
    champions: dict[str, str | None] = {}
    for sid in sorted(cache.views):
        try:
            champions[sid] = predictor.champion_label(sid)
        except ModelUnavailableError:
            champions[sid] = None
    report = serving.health(store, champions=champions)
    if not report.ok:
        response.status_code = 503
        return {"status": "down", "db": report.db, "systems": [], "pipelines": []}
    degraded = bool(report.pipelines) or any(
        s["champion"] is None or s["latest_issue"] is None for s in report.systems
    )
    return {
        "status": "degraded" if degraded else "ok",
        "db": report.db,
        "systems": report.systems,
        "pipelines": report.pipelines,
    }


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
def metrics(request: Request) -> Response:
    """Request counts and latencies per route, forecast freshness per system."""
    body = scrape(
        request.app.state.registry, request.app.state.freshness, request.app.state.monitoring
    )
    return Response(body, media_type=CONTENT_TYPE)


@write_router.post(
    "/forecasts",
    response_model=RunForecastOut,
    status_code=201,
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    summary="Issue forecasts now with the champion (needs an API key)",
)
async def run_forecast(
    body: RunForecastRequest, store: StoreDep, cache: CacheDep
) -> dict[str, Any]:
    """Runs the forecast job for a system and refreshes the in-memory forecasts."""
    report = await run_in_threadpool(
        forecast_jobs.forecast,
        store,
        body.system,
        issued_on=body.issued_on,
        horizon=body.horizon,
    )
    await run_in_threadpool(cache.sync)
    return {
        "system": report.system_id,
        "issued_on": report.issued_on,
        "horizon": report.horizon,
        "model_version": report.model_version,
        "rows": report.rows,
        "seconds": round(report.seconds, 3),
    }
