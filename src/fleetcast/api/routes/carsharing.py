"""Car-sharing endpoint: the minimum delay between two rentals of a car, from the rentals in
the store (loaded with ``fleetcast carsharing delay-policy FILE``). The analysis itself is
``jobs.carsharing``; this module only checks the query and shapes the answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from fleetcast.analytics.delay_policy import MAX_THRESHOLD_MIN, PolicyParams, TradeOff
from fleetcast.api.deps import StoreDep
from fleetcast.api.schemas import NAME_PATTERN, ErrorOut
from fleetcast.api.schemas_carsharing import DelayPolicyOut
from fleetcast.errors import UnknownSystemError
from fleetcast.jobs import carsharing

router = APIRouter(tags=["car sharing"])

_UNPROCESSABLE = 422

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown system, or a system without rentals"},
    422: {"model": ErrorOut, "description": "A bad threshold, scope, step or price"},
}


@router.get(
    "/delay-policy",
    response_model=DelayPolicyOut,
    responses=_ERRORS,
    summary="What a minimum delay between two rentals blocks and solves",
)
def delay_policy(
    store: StoreDep,
    system: Annotated[
        str,
        Query(min_length=1, max_length=64, pattern=NAME_PATTERN, description="System id"),
    ] = carsharing.DEFAULT_SYSTEM,
    threshold: Annotated[
        int,
        Query(ge=0, le=MAX_THRESHOLD_MIN, description="Minimum minutes between two rentals"),
    ] = 60,
    scope: Annotated[
        Literal["all", "connect", "mobile"],
        Query(description="Every car, or only cars whose previous check-in was Connect / mobile"),
    ] = "all",
    step: Annotated[
        int, Query(ge=1, le=MAX_THRESHOLD_MIN, description="Minutes between studied thresholds")
    ] = 15,
    price_per_day: Annotated[
        float | None,
        Query(gt=0, le=100_000, allow_inf_nan=False, description="EUR a rental day brings"),
    ] = None,
    min_solved: Annotated[
        float,
        Query(
            gt=0,
            le=1,
            allow_inf_nan=False,
            description="Trade-off: least revenue blocked solving at least this share of cases",
        ),
    ] = 0.8,
    curve: Annotated[bool, Query(description="Add the scope's whole curve")] = False,
) -> dict[str, Any]:
    """Blocked rentals (the gap to the car's previous rental is below ``threshold``) as a
    count and a share of rentals and revenue, problematic cases solved (the previous driver's
    check-out delay exceeded the gap), the scope's recommended threshold and the best
    threshold and scope overall. 404 when the system has no rentals."""
    try:
        params = PolicyParams(
            step_min=step,
            price_per_day=price_per_day,
            trade_off=TradeOff(min_solved_share=min_solved),
        )
        view = carsharing.delay_policy_view(
            store, system, threshold_min=threshold, scope=scope, params=params
        )
    except (carsharing.NoRentalsError, UnknownSystemError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(_UNPROCESSABLE, str(exc)) from exc
    analysis = view.analysis
    return {
        "system": system,
        "scope": scope,
        "threshold_min": threshold,
        "rentals": analysis.rentals,
        "problem_cases": analysis.problem_cases,
        "price_per_day": analysis.price_per_day,
        "figures": view.point.to_json(),
        "recommendation": view.recommendation.to_json(),
        "best": view.best.to_json(),
        "curve": [p.to_json() for p in analysis.points(scope)] if curve else None,
    }
