"""Request and response models of the planning endpoints: plans, field tasks and parking
suggestions. What the OpenAPI schema promises; the answers are encoded once by orjson."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fleetcast.api.schemas import Day, Identifier

TASK_STATUSES = ("open", "assigned", "in_progress", "done", "skipped")
"""A task's life cycle, in order (``fleetcast.store.plans.TaskStatus``)."""

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
"""Why a task was skipped: 1..500 characters once trimmed."""


class PlanRequest(BaseModel):
    """Plan a day for a system now; the optional fields override fleetcast.toml's
    ``[planning]`` for this run only."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"system": "demo", "trucks": 2, "time_limit_s": 1}]},
    )

    system: Identifier
    trucks: Annotated[int, Field(ge=1, le=200, description="Trucks, spread over depots")] | None = (
        None
    )
    capacity: Annotated[int, Field(ge=1, le=1000, description="Vehicles per truck")] | None = None
    time_limit_s: (
        Annotated[
            float,
            Field(
                ge=0.5,
                le=120.0,
                allow_inf_nan=False,
                description="Routing time budget in seconds (0.5..120)",
            ),
        ]
        | None
    ) = None
    date: Annotated[
        Day | None,
        Field(description="Day to plan (default: today, or the newest forecast's first day)"),
    ] = None


class TargetOut(BaseModel):
    """A zone's stock target beside its supply before and after the planned moves."""

    zone_id: str
    supply: int
    target: int
    after: int


class MoveOut(BaseModel):
    """Vehicles to take from one zone or depot to another, and the trucks carrying them."""

    move_id: str
    from_id: str
    to_id: str
    vehicles: int
    vehicles_served: int = Field(description="How many of them the trucks carry")
    distance_m: float
    rides_gained: float
    truck_id: str | None = Field(description="The truck, or trucks comma-separated when split")
    status: str = Field(description="'planned', 'partial' (some carried) or 'unserved'")
    reason: str | None
    vehicle_ids: list[str]


class StopOut(BaseModel):
    """A stop of a route, in driving order: a zone or a depot."""

    seq: int
    zone_id: str | None
    depot_id: str | None
    lat: float
    lon: float
    pickup: int
    dropoff: int
    load_after: int
    arrival_s: float = Field(description="Seconds after the truck leaves its depot")


class RouteOut(BaseModel):
    """One truck's route with its ordered stops."""

    truck_id: str
    capacity: int
    start_load: int
    depot_id: str
    end_depot_id: str
    distance_m: float
    duration_s: float
    stops: list[StopOut]


class LineString(BaseModel):
    """A GeoJSON LineString in [lon, lat] order."""

    type: Literal["LineString"]
    coordinates: list[list[float]]


class RouteFeature(BaseModel):
    """A truck's route as a GeoJSON feature."""

    type: Literal["Feature"]
    geometry: LineString
    properties: dict[str, Any]


class RoutesGeoJSON(BaseModel):
    """Every route with two stops or more, as GeoJSON lines."""

    type: Literal["FeatureCollection"]
    features: list[RouteFeature]


class TaskOut(BaseModel):
    """A field task and where it is in its life cycle."""

    task_id: str
    system_id: str
    plan_id: str | None
    task_key: str = Field(description="Stable across re-plans (kind and vehicle or parking)")
    kind: str
    vehicle_id: str | None
    parking_id: str | None
    zone_id: str | None
    lat: float
    lon: float
    quantity: int
    priority: float
    score_parts: dict[str, float] = Field(description="The weighted parts of the priority")
    reason: str
    service_minutes: float
    status: Literal["open", "assigned", "in_progress", "done", "skipped"]
    assignee: str | None
    route_seq: int | None = Field(description="Position in the assignee's route")
    eta_minutes: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    skip_reason: str | None


class PlanOut(BaseModel):
    """A stored plan: header, targets, moves, routes (also as GeoJSON) and its open tasks."""

    plan_id: str
    system_id: str
    plan_date: dt.date
    created_at: dt.datetime
    status: str = Field(description="'ok', or 'partial' when some moves could not be served")
    issued_on: dt.date | None = Field(description="Issue date of the forecasts it used")
    model_version: str | None
    params: dict[str, Any] = Field(description="The planning parameters it ran with")
    summary: dict[str, Any]
    targets: list[TargetOut]
    moves: list[MoveOut]
    routes: list[RouteOut]
    routes_geojson: RoutesGeoJSON
    tasks: list[TaskOut] = Field(
        description="The plan's tasks still open, assigned or in progress (GET /tasks lists "
        "every task with its history)"
    )
    warnings: list[str] = Field(
        default_factory=list, description="What the run noticed (only from POST /plan)"
    )


class TasksOut(BaseModel):
    """Tasks of a system, each worker's in route order, then by priority."""

    system: str
    tasks: list[TaskOut]


class TaskStartRequest(BaseModel):
    """Who takes the task (default: whoever it is assigned to)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"assignee": "W1"}]})

    assignee: Identifier | None = None


class TaskSkipRequest(BaseModel):
    """Why the task was not done (needed), and optionally who skipped it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "vehicle not found"}]}
    )

    reason: Reason
    assignee: Identifier | None = None


class ParkingSuggestionOut(BaseModel):
    """A suggested new parking where trips cluster far from the existing ones."""

    rank: int
    suggestion_id: str
    lat: float
    lon: float
    trips_per_day: float
    starts_per_day: float | None
    ends_per_day: float | None
    nearest_parking_id: str | None
    distance_to_parking_m: float | None
    zone_id: str | None
    cell: str | None = Field(description="The H3 cell it grew from (null for mean shift)")


class ParkingSuggestionsOut(BaseModel):
    """Suggestions from the last ``days`` days of trips, best first."""

    system: str
    days: int
    suggestions: list[ParkingSuggestionOut]
