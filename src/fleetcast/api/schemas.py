"""Request and response models: what the OpenAPI schema promises, checked at the edge."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[date, AfterValidator(_in_range)]
"""A calendar day (YYYY-MM-DD) in a sane range, so date arithmetic cannot overflow."""

NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
"""A system or zone id: 1..64 printable characters."""


class PredictRequest(BaseModel):
    """One zone (by community name or zone_id) and one day; ``system`` when several exist."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"community": "LAKE VIEW", "date": "2020-09-11"}],
            "anyOf": [{"required": ["community"]}, {"required": ["zone_id"]}],
        },
    )

    date: Day
    community: Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)] | None = (
        None
    )
    zone_id: Identifier | None = None
    system: Identifier | None = None

    @model_validator(mode="after")
    def _one_zone(self) -> PredictRequest:
        if self.community is None and self.zone_id is None:
            raise ValueError("give community (the zone's name) or zone_id")
        return self


class PredictResponse(BaseModel):
    """Expected trips with the 80% interval, and which model and issue answered."""

    model_version: str
    trips: int
    lower: float
    upper: float
    zone_id: str
    community: str
    system: str
    date: dt.date
    horizon: int
    issued_on: dt.date
    source: str = Field(description="'forecast' (stored) or 'champion' (predicted now)")


class SystemOut(BaseModel):
    """A system with the days its demand covers and its newest forecast issue."""

    system_id: str
    name: str
    timezone: str
    kind: str
    zones: int
    first_day: date | None
    last_day: date | None
    latest_issue: date | None


class DemandRow(BaseModel):
    """Trips that started in one zone on one local day."""

    zone_id: str
    date: date
    trips: int


class DemandOut(BaseModel):
    """Daily demand rows of a system."""

    system: str
    rows: list[DemandRow]


class ForecastRow(BaseModel):
    """The forecast of one zone and day: mean, median and the 80% interval."""

    zone_id: str
    target_date: date
    horizon: int
    mean: float
    q50: float
    lower: float
    upper: float


class ForecastsOut(BaseModel):
    """Forecasts of one issue date and model version."""

    system: str
    issued_on: date | None
    model_version: str | None
    rows: list[ForecastRow]


class BacktestMetricOut(BaseModel):
    """Accuracy of one model at one horizon over the backtest window."""

    model: str
    horizon: int
    n: int
    mae: float
    rmse: float
    wape: float | None
    bias: float | None
    pinball: float
    coverage_80: float


class BacktestOut(BaseModel):
    """The newest backtest of a system."""

    system: str
    run_id: str | None
    created_at: str | None
    window_start: date | None
    window_end: date | None
    metrics: list[BacktestMetricOut]


class RunForecastRequest(BaseModel):
    """Issue forecasts now with the champion."""

    model_config = ConfigDict(extra="forbid")

    system: Identifier
    horizon: Annotated[int, Field(ge=1, le=28)] = 3
    issued_on: Day | None = None


class RunForecastOut(BaseModel):
    """What a forecast run wrote."""

    system: str
    issued_on: date
    horizon: int
    model_version: str
    rows: int
    seconds: float


class HealthOut(BaseModel):
    """Store reachability, champions and data freshness per system, and the failing scheduled
    pipelines (flow, system_id, failed_step, status, message, started_at, run_id)."""

    status: str
    db: str
    systems: list[dict[str, Any]]
    pipelines: list[dict[str, Any]] = []


class ErrorOut(BaseModel):
    """Every 4xx answer: what was wrong and what to do."""

    detail: Any


class StationOut(BaseModel):
    """A station with its latest status (null until one was seen) and fill."""

    station_id: str
    name: str | None
    lat: float
    lon: float
    capacity: int | None
    zone_id: str | None
    observed_at: dt.datetime | None
    last_reported: dt.datetime | None
    bikes_available: int | None
    ebikes_available: int | None
    bikes_disabled: int | None
    docks_available: int | None
    docks_disabled: int | None
    is_installed: bool | None
    is_renting: bool | None
    is_returning: bool | None
    fill: float | None


class StationsOut(BaseModel):
    """Every station of a system."""

    system: str
    rows: list[StationOut]


class VehicleOut(BaseModel):
    """A vehicle's latest state and the flags the field team works from."""

    vehicle_id: str
    observed_at: dt.datetime
    lat: float
    lon: float
    zone_id: str | None
    battery_pct: float | None
    is_reserved: bool
    is_disabled: bool
    vehicle_type: str | None
    usable: bool
    low_battery: bool
    parking_id: str | None
    nearest_parking_id: str | None
    parking_distance_m: float | None
    at_parking: bool | None
    in_service_area: bool | None


class VehiclesOut(BaseModel):
    """Vehicles of a system (filtered as asked)."""

    system: str
    rows: list[VehicleOut]


class SupplyPlace(BaseModel):
    """A zone or station: what it holds, what the coming hours will ask of it, and the gap."""

    kind: str
    place_id: str
    name: str | None
    zone_id: str | None
    lat: float | None
    lon: float | None
    available: int | None
    not_usable: int | None
    expected_demand: float | None
    gap: float | None
    capacity: int | None
    free_docks: int | None
    dock_gap: int | None
    need: str
    score: float | None
    priority: int | None
    suggested_add: int | None


class SupplyOut(BaseModel):
    """Deficits and surpluses over a window: ``places`` ranked, most urgent first."""

    system: str
    window_start: dt.datetime
    window_end: dt.datetime
    places: list[SupplyPlace]


class KpisOut(BaseModel):
    """Fleet KPIs over a period of local days."""

    system: str
    period: str
    kpis: dict[str, Any]
