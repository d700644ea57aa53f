"""Live supply: stations, vehicles, deficits per zone and station, and fleet KPIs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query

from fleetcast.api.deps import StoreDep
from fleetcast.api.responses import FastJSON, encode
from fleetcast.api.routes.read import SystemQuery
from fleetcast.api.schemas import ErrorOut, KpisOut, StationsOut, SupplyOut, VehiclesOut
from fleetcast.jobs import live

router = APIRouter(tags=["supply"])
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    enums = [c for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    return (
        frame.with_columns(pl.col(enums).cast(pl.String)).to_dicts() if enums else frame.to_dicts()
    )


@router.get(
    "/stations",
    response_model=StationsOut,
    response_class=FastJSON,
    responses=_ERRORS,
    summary="Stations with their latest status",
)
def stations(store: StoreDep, system: SystemQuery) -> FastJSON:
    """Every station with bikes and docks available as last reported, and its fill."""
    frame = live.stations(store, system)
    return FastJSON(encode({"system": system, "rows": _rows(frame)}))


@router.get(
    "/vehicles",
    response_model=VehiclesOut,
    response_class=FastJSON,
    responses=_ERRORS,
    summary="Vehicles with their latest state and flags",
)
def vehicles(
    store: StoreDep,
    system: SystemQuery,
    low_battery: Annotated[
        bool | None, Query(description="Only vehicles below (true) or above (false) the threshold")
    ] = None,
    outside_parking: Annotated[
        bool | None, Query(description="Only vehicles outside (true) or at (false) a parking")
    ] = None,
) -> FastJSON:
    """The latest state of each vehicle with usable / low battery / parking / service-area
    flags; the filters keep vehicles whose flag matches."""
    frame = live.vehicles(store, system, low_battery=low_battery, outside_parking=outside_parking)
    return FastJSON(encode({"system": system, "rows": _rows(frame)}))


@router.get(
    "/supply",
    response_model=SupplyOut,
    response_class=FastJSON,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
    summary="Where vehicles or docks are short now, ranked",
)
def supply(
    store: StoreDep,
    system: SystemQuery,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many places")] = 500,
) -> FastJSON:
    """Each zone (and station) with the vehicles available, the demand expected over the
    window and the gap; places needing vehicles or docks first, by lost rides avoided."""
    report = live.supply(store, system)
    places = pl.concat([report.needs(), report.surplus()], how="vertical_relaxed")
    rest = report.places.join(
        places.select("kind", "place_id"), on=["kind", "place_id"], how="anti"
    )
    ordered = pl.concat([places, rest], how="vertical_relaxed").head(limit)
    return FastJSON(
        encode(
            {
                "system": system,
                "window_start": report.window_start,
                "window_end": report.window_end,
                "places": _rows(ordered),
            }
        )
    )


@router.get("/kpis", response_model=KpisOut, responses=_ERRORS, summary="Fleet KPIs over a period")
def kpis(
    store: StoreDep,
    system: SystemQuery,
    period: Annotated[
        Literal["day", "week", "month"], Query(description="The last day, 7 days or 28 days")
    ] = "week",
) -> dict[str, Any]:
    """Rides per vehicle per day, utilisation, idle time, battery, disabled and misplaced
    vehicles, weekday vs weekend and the busiest part of the day."""
    figures = live.kpis(store, system, period=period)
    return {"system": system, "period": period, "kpis": figures.as_dict()}
