"""POST /predict: expected trips of one zone on one day, with the public service's contract."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from fleetcast.api.deps import PredictorDep
from fleetcast.api.responses import FastJSON
from fleetcast.api.schemas import ErrorOut, PredictRequest, PredictResponse

router = APIRouter(tags=["predict"])


@router.post(
    "/predict",
    response_model=PredictResponse,
    response_class=FastJSON,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Expected trips of one zone on one day",
)
async def predict(body: PredictRequest, predictor: PredictorDep) -> FastJSON:
    """Answered from the newest stored forecasts in memory; else from any stored forecast
    of that day; else, for a past day with enough history, by the champion from data up to
    the day before. Any other day is a 422 that names the days that can be answered."""
    view, zone_id = predictor.resolve(
        system=body.system, community=body.community, zone_id=body.zone_id
    )
    hit = predictor.predict(view, zone_id, body.date)
    if hit is None:
        hit = await run_in_threadpool(predictor.predict_slow, view, zone_id, body.date)
    return FastJSON(hit.as_dict())
