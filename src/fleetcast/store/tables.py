"""SQLAlchemy models of the db half of the store: state and results.

Changing a model means adding an Alembic revision under ``migrations/versions``; the test
suite checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that stores UTC and always reads back an aware UTC time.

    PostgreSQL keeps the instant, but SQLite keeps the wall time without its offset; so times
    are converted to UTC before they are written (naive ones are taken as UTC) and labelled
    UTC when read, and both backends give the same instants back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints alike."""

    metadata = MetaData(naming_convention=NAMING)


class System(Base):
    """A fleet operator's system (one city of one operator)."""

    __tablename__ = "systems"

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="scooter")
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    center_lat: Mapped[float | None] = mapped_column(Float)
    center_lon: Mapped[float | None] = mapped_column(Float)
    zoning: Mapped[str] = mapped_column(String(16), default="polygons")
    h3_resolution: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Zone(Base):
    """A zone of a system: polygon as GeoJSON text, centroid and area."""

    __tablename__ = "zones"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[str | None] = mapped_column(Text)
    centroid_lat: Mapped[float | None] = mapped_column(Float)
    centroid_lon: Mapped[float | None] = mapped_column(Float)
    area_km2: Mapped[float | None] = mapped_column(Float)


class DemandDaily(Base):
    """Trips started per zone and local day (zero-filled)."""

    __tablename__ = "demand_daily"
    __table_args__ = (
        ForeignKeyConstraint(
            ["system_id", "zone_id"], ["zones.system_id", "zones.zone_id"], ondelete="CASCADE"
        ),
        Index("ix_demand_daily_system_date", "system_id", "date"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    trips: Mapped[int] = mapped_column(Integer)


class IngestLog(Base):
    """One run of one source: what was loaded, when, and how many rows were kept or rejected."""

    __tablename__ = "ingest_log"
    __table_args__ = (Index("ix_ingest_log_system_started", "system_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ingest_id: Mapped[str] = mapped_column(String(36), unique=True)
    system_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_new: Mapped[int] = mapped_column(Integer, default=0)
    rejects_by_reason: Mapped[dict[str, int] | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)


class Parking(Base):
    """A parking spot (virtual station) with the stock it should hold."""

    __tablename__ = "parkings"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    parking_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float, default=30.0)
    min_vehicles: Mapped[int] = mapped_column(Integer, default=0)
    max_vehicles: Mapped[int] = mapped_column(Integer, default=10)


class Depot(Base):
    """A depot that rebalancing trucks start from and return to."""

    __tablename__ = "depots"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    depot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class VehicleStatus(Base):
    """The latest known state of each vehicle (history lives in the lake)."""

    __tablename__ = "vehicle_status"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    battery_pct: Mapped[float | None] = mapped_column(Float)
    is_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    vehicle_type: Mapped[str | None] = mapped_column(String(32))


class Forecast(Base):
    """Forecast demand of one zone and day, from one issue date and model version."""

    __tablename__ = "forecasts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["system_id", "zone_id"], ["zones.system_id", "zones.zone_id"], ondelete="CASCADE"
        ),
        Index("ix_forecasts_system_issued", "system_id", "issued_on"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_date: Mapped[date] = mapped_column(Date, primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    horizon: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Float)
    q10: Mapped[float] = mapped_column(Float)
    q50: Mapped[float] = mapped_column(Float)
    q90: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BacktestRun(Base):
    """One backtest: the system, the window, the models compared and where it is tracked."""

    __tablename__ = "backtest_runs"
    __table_args__ = (Index("ix_backtest_runs_system_created", "system_id", "created_at"),)

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    horizon: Mapped[int] = mapped_column(Integer)
    models: Mapped[list[str]] = mapped_column(JSON)
    weather_note: Mapped[str | None] = mapped_column(Text)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))


class BacktestMetric(Base):
    """Accuracy of one model at one horizon over a backtest window (all zones or one zone)."""

    __tablename__ = "backtest_metrics"
    __table_args__ = (
        ForeignKeyConstraint(["run_id"], ["backtest_runs.run_id"], ondelete="CASCADE"),
        Index("ix_backtest_metrics_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36))
    model: Mapped[str] = mapped_column(String(64))
    horizon: Mapped[int] = mapped_column(Integer)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    n: Mapped[int] = mapped_column(Integer)
    mae: Mapped[float] = mapped_column(Float)
    rmse: Mapped[float] = mapped_column(Float)
    wape: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    pinball: Mapped[float] = mapped_column(Float)
    coverage_80: Mapped[float] = mapped_column(Float)


class BacktestPrediction(Base):
    """One backtest forecast beside its actual, kept for the newest run of each system."""

    __tablename__ = "backtest_predictions"
    __table_args__ = (
        ForeignKeyConstraint(["run_id"], ["backtest_runs.run_id"], ondelete="CASCADE"),
        Index("ix_backtest_predictions_run_zone", "run_id", "zone_id"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_date: Mapped[date] = mapped_column(Date, primary_key=True)
    horizon: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date)
    mean: Mapped[float] = mapped_column(Float)
    q10: Mapped[float] = mapped_column(Float)
    q90: Mapped[float] = mapped_column(Float)
    actual: Mapped[float] = mapped_column(Float)


class ApiKey(Base):
    """An API key: its public id, a name, and the SHA-256 of its secret (never the secret)."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Station(Base):
    """A docking station of a station-based system (from GBFS station_information)."""

    __tablename__ = "stations"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(256))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int | None] = mapped_column(Integer)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StationStatus(Base):
    """The latest known status of each station (history lives in the lake)."""

    __tablename__ = "station_status"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_reported: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bikes_available: Mapped[int] = mapped_column(Integer)
    ebikes_available: Mapped[int | None] = mapped_column(Integer)
    bikes_disabled: Mapped[int | None] = mapped_column(Integer)
    docks_available: Mapped[int | None] = mapped_column(Integer)
    docks_disabled: Mapped[int | None] = mapped_column(Integer)
    is_installed: Mapped[bool] = mapped_column(Boolean, default=True)
    is_renting: Mapped[bool] = mapped_column(Boolean, default=True)
    is_returning: Mapped[bool] = mapped_column(Boolean, default=True)


class Feed(Base):
    """A polled feed of a system and how its last polls went (so an outage is visible)."""

    __tablename__ = "feeds"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(1024), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(16))
    ttl_s: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)


class Watermark(Base):
    """How far an incremental source has been read (last id or time seen), per entity."""

    __tablename__ = "watermarks"

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Plan(Base):
    """One rebalancing plan of a system for a day: the inputs it used and its summary."""

    __tablename__ = "plans"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
        Index("ix_plans_system_created", "system_id", "created_at"),
    )

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    plan_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date | None] = mapped_column(Date)
    model_version: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


def _plan_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE")


class PlanTarget(Base):
    """A zone's stock target in a plan, beside the supply it had when the plan was made."""

    __tablename__ = "plan_targets"
    __table_args__ = (_plan_fk(),)

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    supply: Mapped[int] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    after: Mapped[int] = mapped_column(Integer)
    demand_at_ratio: Mapped[float] = mapped_column(Float)
    newsvendor_target: Mapped[int] = mapped_column(Integer)
    min_vehicles: Mapped[int] = mapped_column(Integer)
    max_vehicles: Mapped[int | None] = mapped_column(Integer)
    cut: Mapped[int] = mapped_column(Integer)
    rides_per_vehicle: Mapped[float] = mapped_column(Float)
    expected_rides_supply: Mapped[float] = mapped_column(Float)
    expected_rides_after: Mapped[float] = mapped_column(Float)


class PlanMove(Base):
    """Vehicles to take from one zone (or depot) to another, how many the trucks carry and
    which trucks (comma-separated when a move is split); status planned, partial or unserved."""

    __tablename__ = "plan_moves"
    __table_args__ = (_plan_fk(),)

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    move_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    from_id: Mapped[str] = mapped_column(String(64))
    to_id: Mapped[str] = mapped_column(String(64))
    vehicles: Mapped[int] = mapped_column(Integer)
    vehicles_served: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    rides_gained: Mapped[float] = mapped_column(Float)
    truck_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    vehicle_ids: Mapped[list[str]] = mapped_column(JSON)


class PlanRoute(Base):
    """One truck's route in a plan."""

    __tablename__ = "plan_routes"
    __table_args__ = (_plan_fk(),)

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    truck_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    start_load: Mapped[int] = mapped_column(Integer)
    depot_id: Mapped[str] = mapped_column(String(64))
    end_depot_id: Mapped[str] = mapped_column(String(64))
    distance_m: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)


class PlanStop(Base):
    """A stop of a truck's route: what it picks up and drops there and its load after."""

    __tablename__ = "plan_stops"
    __table_args__ = (_plan_fk(),)

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    truck_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    pickup: Mapped[int] = mapped_column(Integer)
    dropoff: Mapped[int] = mapped_column(Integer)
    load_after: Mapped[int] = mapped_column(Integer)
    arrival_s: Mapped[float] = mapped_column(Float)
    move_ids: Mapped[list[str]] = mapped_column(JSON)


class Worker(Base):
    """A field worker: where their shift starts, how long it is and how they get around."""

    __tablename__ = "workers"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    shift_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Task(Base):
    """A field task (swap a battery, retrieve, drop, repair, reposition) and its life cycle:
    open -> assigned -> in_progress -> done, or skipped with a reason."""

    __tablename__ = "tasks"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
        Index("ix_tasks_system_status", "system_id", "status"),
        Index("ix_tasks_assignee_status", "assignee", "status"),
    )

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(36))
    task_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(24))
    vehicle_id: Mapped[str | None] = mapped_column(String(64))
    parking_id: Mapped[str | None] = mapped_column(String(64))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[float] = mapped_column(Float)
    score_parts: Mapped[dict[str, float]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    service_minutes: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(64))
    route_seq: Mapped[int | None] = mapped_column(Integer)
    eta_minutes: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skip_reason: Mapped[str | None] = mapped_column(Text)


class Rental(Base):
    """A car-sharing rental: its car, check-in flow, state, check-out delay and the gap to
    the car's previous rental (``fleetcast.domain.RENTALS``)."""

    __tablename__ = "rentals"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rental_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    car_id: Mapped[str] = mapped_column(String(64))
    checkin_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    delay_at_checkout_minutes: Mapped[float | None] = mapped_column(Float)
    previous_rental_id: Mapped[str | None] = mapped_column(String(64))
    gap_with_previous_minutes: Mapped[float | None] = mapped_column(Float)


class MonitorAccuracy(Base):
    """Accuracy of the forecasts one model issued for one day and horizon, per zone or over
    all zones (``zone_id`` ``'*'``), computed once the day's actuals arrived."""

    __tablename__ = "monitor_accuracy"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
        Index("ix_monitor_accuracy_system_zone_date", "system_id", "zone_id", "target_date"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_date: Mapped[date] = mapped_column(Date, primary_key=True)
    horizon: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)
    actual: Mapped[float] = mapped_column(Float)
    forecast: Mapped[float] = mapped_column(Float)
    mae: Mapped[float] = mapped_column(Float)
    wape: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String(36))


class MonitorRun(Base):
    """One monitoring run of a system: when, its status (ok / degraded / failed) and what it
    found, as JSON (reasons, alerts, source health)."""

    __tablename__ = "monitor_runs"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
        Index("ix_monitor_runs_system_ran", "system_id", "ran_at"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class CityFacts(Base):
    """Facts about a system's city as of a day (population, area in km², density), with
    where they came from (``source`` ``'web'`` or ``'file'``, the page URL) and when."""

    __tablename__ = "city_facts"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    city: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    area_km2: Mapped[float | None] = mapped_column(Float)
    density_per_km2: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(Text)
    retrieved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Airport(Base):
    """An airport near a system (``airport`` is its IATA code), optionally with its ICAO
    code, name, position and distance from the system's centre."""

    __tablename__ = "airports"
    __table_args__ = (
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    airport: Mapped[str] = mapped_column(String(8), primary_key=True)
    icao: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float | None] = mapped_column(Float)


class AirportArrivalsDaily(Base):
    """Flights arriving at one of a system's airports on one local day of the system, and
    the source they were counted from (``'aerodatabox'`` or ``'file'``)."""

    __tablename__ = "airport_arrivals_daily"
    __table_args__ = (
        ForeignKeyConstraint(
            ["system_id", "airport"],
            ["airports.system_id", "airports.airport"],
            ondelete="CASCADE",
        ),
        Index("ix_airport_arrivals_daily_system_date", "system_id", "date"),
    )

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    airport: Mapped[str] = mapped_column(String(8), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    arrivals: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    retrieved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PipelineRun(Base):
    """One step of one scheduled pipeline run (``step`` ``'run'`` is the run as a whole):
    which flow (``daily``, ``poll``, ``compact``) for which system (null when it covers the
    store), its status (running / ok / failed / skipped / interrupted), when, how long and
    the error; ``flow_run_id`` is the orchestrator's id of the run when there is one."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        Index("ix_pipeline_runs_flow_system_started", "flow", "system_id", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    system_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))


class MonitorDrift(Base):
    """The data drift check of one monitor run: the reference and current windows compared,
    their zone-day rows, how many model inputs drifted and their share, whether the target
    (daily demand per zone) drifted, and the HTML report's path relative to the home."""

    __tablename__ = "monitor_drift"
    __table_args__ = (
        ForeignKeyConstraint(["run_id"], ["monitor_runs.run_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["system_id"], ["systems.system_id"], ondelete="CASCADE"),
        Index("ix_monitor_drift_system_ran", "system_id", "ran_at"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reference_start: Mapped[date] = mapped_column(Date)
    reference_end: Mapped[date] = mapped_column(Date)
    current_start: Mapped[date] = mapped_column(Date)
    current_end: Mapped[date] = mapped_column(Date)
    reference_rows: Mapped[int] = mapped_column(Integer)
    current_rows: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[int] = mapped_column(Integer)
    drifted_inputs: Mapped[int] = mapped_column(Integer)
    drift_share: Mapped[float] = mapped_column(Float)
    target_drifted: Mapped[bool] = mapped_column(Boolean)
    report_path: Mapped[str | None] = mapped_column(String(500))


class MonitorDriftColumn(Base):
    """One column's drift in a drift check: its role (``input`` or ``target``), the
    statistical method and threshold Evidently applied, the drift score and the verdict."""

    __tablename__ = "monitor_drift_columns"
    __table_args__ = (
        ForeignKeyConstraint(["run_id"], ["monitor_drift.run_id"], ondelete="CASCADE"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    column: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    drifted: Mapped[bool] = mapped_column(Boolean)
