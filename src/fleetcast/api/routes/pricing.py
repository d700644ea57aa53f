"""Pricing endpoints: the price per day of one car or a list, and what the model accepts.

Pricing computes and stores nothing, so it is a read like POST /predict: open unless
``[api] open_reads = false``. Each bad car value is a 422 naming the car, the field and the
accepted values (from the trained model); no trained model is a 409 that says what to run,
an unreadable registry a 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status

from fleetcast.api.schemas import ErrorOut
from fleetcast.api.schemas_pricing import (
    EXAMPLE_CAR,
    CarIn,
    CarsIn,
    PricesOut,
    PricingModelOut,
)
from fleetcast.jobs.pricing import (
    NoPricingModelError,
    PricingModelUnavailableError,
    PricingService,
)
from fleetcast.pricing.model import InvalidCarError

T = TypeVar("T")

router = APIRouter(tags=["pricing"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "No price model trained yet"},
    503: {"model": ErrorOut, "description": "The model registry cannot be read"},
}


async def get_pricing(request: Request) -> PricingService:
    """The app's price-model service, made on first use from the store's home folder."""
    service: PricingService | None = getattr(request.app.state, "pricing", None)
    if service is None:
        service = PricingService(request.app.state.store.settings.home)
        request.app.state.pricing = service
    return service


PricingDep = Annotated[PricingService, Depends(get_pricing)]

CarsBody = Annotated[
    CarIn | CarsIn,
    Body(
        openapi_examples={
            "one car": {"summary": "One car", "value": EXAMPLE_CAR},
            "several cars": {
                "summary": "A list of cars",
                "value": [
                    EXAMPLE_CAR,
                    {
                        **EXAMPLE_CAR,
                        "model_key": "BMW",
                        "engine_power": 190,
                        "car_type": "suv",
                        "automatic_car": True,
                    },
                ],
            },
        }
    ),
]


@router.post(
    "/pricing/predict",
    response_model=PricesOut,
    responses={
        422: {
            "model": ErrorOut,
            "description": "A car value the model does not accept; the detail names the car, "
            "the field and the accepted values or range",
        },
        **_ERRORS,
    },
    summary="Price per day of one car or a list",
)
def predict_prices(body: CarsBody, pricing: PricingDep) -> dict[str, Any]:
    """Prices per day (EUR) by the champion model, in the order of the cars sent. Text
    values must be categories the model was trained on and numbers within its plausible
    ranges (GET /pricing/model lists both); anything else is a 422, never a guess."""
    single = isinstance(body, CarIn)
    cars = [body.model_dump()] if single else [car.model_dump() for car in body]  # type: ignore[union-attr]
    try:
        return _answer(lambda: pricing.predict(cars).as_dict())
    except InvalidCarError as exc:
        raise HTTPException(
            422,
            detail=[_problem(p, single=single) for p in exc.problems],
        ) from exc


@router.get(
    "/pricing/model",
    response_model=PricingModelOut,
    responses=_ERRORS,
    summary="What the price model accepts, its CV metrics and option effects",
)
def pricing_model(pricing: PricingDep) -> dict[str, Any]:
    """The champion's accepted categories per text feature and numeric ranges (what a form
    should offer), its cross-validated RMSE / MAE / R², the permutation importance of each
    feature and the average price effect of each option."""
    return _answer(pricing.info)


def _answer(call: Callable[[], T]) -> T:
    """Run ``call``; no model becomes 409 and an unreadable registry 503."""
    try:
        return call()
    except NoPricingModelError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except PricingModelUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


def _problem(problem: Any, *, single: bool) -> dict[str, Any]:
    """One 422 item in the shape of FastAPI's validation errors, plus what is accepted."""
    loc: list[str | int] = (
        ["body", problem.field] if single else ["body", problem.car, problem.field]
    )
    item: dict[str, Any] = {"loc": loc, "msg": problem.message, "type": problem.kind}
    if problem.accepted is not None:
        item["accepted"] = list(problem.accepted)
    if problem.low is not None:
        item["range"] = [problem.low, problem.high]
    return item
