"""Read endpoints: systems, zones (GeoJSON), demand, forecasts and backtests."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from fleetcast.api.deps import CacheDep, StoreDep
from fleetcast.api.responses import FastJSON, encode
from fleetcast.api.schemas import (
    NAME_PATTERN,
    BacktestOut,
    Day,
    DemandOut,
    ErrorOut,
    ForecastsOut,
    SystemOut,
)
from fleetcast.errors import UnknownSystemError, UnknownZoneError
from fleetcast.jobs import serving
from fleetcast.jobs.predict import SystemView

router = APIRouter(tags=["read"])

SystemQuery = Annotated[
    str,
    Query(
        min_length=1, max_length=64, pattern=NAME_PATTERN, description="System id (GET /systems)"
    ),
]
ZoneQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=NAME_PATTERN, description="Zone id (GET /zones)"),
]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _view(cache: CacheDep, system: str) -> SystemView:
    view = cache.views.get(system)
    if view is None:
        known = ", ".join(sorted(cache.views)) or "none yet"
        raise UnknownSystemError(f"system {system!r} is not in the store (known: {known})")
    return view


@router.get("/systems", response_model=list[SystemOut], summary="Every system in the store")
def systems(store: StoreDep) -> list[serving.SystemSummary]:
    """Systems with their zone count, the days their demand covers and the newest issue."""
    return serving.list_systems(store)


@router.get(
    "/zones",
    responses=_ERRORS,
    response_class=FastJSON,
    summary="Zones as GeoJSON with latest demand and next forecasts",
)
async def zones(system: SystemQuery, store: StoreDep, cache: CacheDep) -> FastJSON:
    """A GeoJSON FeatureCollection; each feature's properties hold the zone's name, its
    last day of trips, its 7-day mean and the newest forecasts with their 80% intervals."""
    view = _view(cache, system)
    body = view.memo.get(("zones",))
    if body is None:
        body = encode(await run_in_threadpool(serving.zones_geojson, store, system))
        view.memo[("zones",)] = body
    return FastJSON(body)


@router.get("/demand", response_model=DemandOut, responses=_ERRORS, summary="Daily demand per zone")
def demand(
    store: StoreDep,
    system: SystemQuery,
    zone: ZoneQuery = None,
    start: Annotated[Day | None, Query(description="First day, inclusive")] = None,
    end: Annotated[Day | None, Query(description="Last day, inclusive")] = None,
) -> dict[str, Any]:
    """Trips per zone and local day between ``start`` and ``end`` (both optional)."""
    if start is not None and end is not None and start > end:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"start {start} is after end {end}: give start <= end",
        )
    frame = serving.demand(store, system, zone_id=zone, start=start, end=end)
    return {"system": system, "rows": frame.select("zone_id", "date", "trips").to_dicts()}


@router.get(
    "/forecasts",
    response_model=ForecastsOut,
    response_class=FastJSON,
    responses=_ERRORS,
    summary="Forecasts per zone and day",
)
async def forecasts(
    store: StoreDep,
    cache: CacheDep,
    system: SystemQuery,
    date: Annotated[
        Day | None, Query(description="Target day (default: every day of the newest issue)")
    ] = None,
    zone: ZoneQuery = None,
) -> FastJSON:
    """The newest issue's forecasts (from memory), or for a ``date`` outside it, those of
    the newest issue that covered that day."""
    view = _view(cache, system)
    if zone is not None and zone not in view.zone_names:
        raise UnknownZoneError(
            f"system {system!r} has no zone {zone!r}: GET /zones?system={system} lists them"
        )
    key = ("forecasts", date, zone)
    body = view.memo.get(key)
    if body is not None:
        return FastJSON(body)
    days = view.forecast_days
    if days is not None and (date is None or days[0] <= date <= days[1]):
        content = _forecasts_from_view(view, date, zone)
    else:
        frame = await run_in_threadpool(
            serving.forecasts, store, system, target_date=date, zone_id=zone
        )
        content = {
            "system": system,
            "issued_on": frame["issued_on"][0] if frame.height else None,
            "model_version": frame["model_version"][0] if frame.height else None,
            "rows": [_row(r) for r in frame.iter_rows(named=True)],
        }
    body = encode(content)
    if days is not None and (date is None or days[0] <= date <= days[1]):
        view.memo[key] = body
    return FastJSON(body)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "zone_id": r["zone_id"],
        "target_date": r["target_date"],
        "horizon": r["horizon"],
        "mean": r["mean"],
        "q50": r["q50"],
        "lower": r["q10"],
        "upper": r["q90"],
    }


def _forecasts_from_view(view: SystemView, day: date | None, zone: str | None) -> dict[str, Any]:
    rows = [
        {
            "zone_id": zid,
            "target_date": target,
            "horizon": row[0],
            "mean": row[3],
            "q50": row[4],
            "lower": row[5],
            "upper": row[6],
        }
        for (zid, target), row in sorted(view.rows.items())
        if (day is None or target == day) and (zone is None or zid == zone)
    ]
    first = next(iter(view.rows.values()))
    return {
        "system": view.system_id,
        "issued_on": view.issue,
        "model_version": first[2],
        "rows": rows,
    }


@router.get(
    "/backtests",
    response_model=BacktestOut,
    responses=_ERRORS,
    summary="The newest backtest's metrics per model and horizon",
)
def backtests(store: StoreDep, system: SystemQuery) -> dict[str, Any]:
    """MAE, RMSE, WAPE, bias, pinball loss and 80% coverage of each model and horizon."""
    run, metrics = serving.backtest_table(store, system)
    return {
        "system": system,
        "run_id": run["run_id"] if run else None,
        "created_at": run["created_at"].isoformat() if run else None,
        "window_start": run["window_start"] if run else None,
        "window_end": run["window_end"] if run else None,
        "metrics": metrics.drop("zone_id").to_dicts(),
    }
