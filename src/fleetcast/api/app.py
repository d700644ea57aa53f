"""The FastAPI app: ``create_app(settings)`` wires the store, the serving cache, auth and
metrics; nothing is opened at import. Errors of the jobs become 4xx answers that say what
to do; an unexpected error is a 500 that never echoes its message. The OpenAPI docs at
/docs load Swagger UI from files shipped with fastapi-offline, so they work without a CDN."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError

from fleetcast import __version__
from fleetcast.api.auth import KeyChecker, require_read
from fleetcast.api.metrics import (
    FreshnessCollector,
    MetricsMiddleware,
    MonitoringCollector,
    RequestMetrics,
)
from fleetcast.api.options import ApiOptions
from fleetcast.api.routes import (
    carsharing,
    monitoring,
    ops,
    plan,
    predict,
    pricing,
    read,
    supply,
)
from fleetcast.api.schemas import ErrorOut
from fleetcast.config import Settings, load_settings
from fleetcast.errors import (
    ConfigError,
    FleetcastError,
    InfeasiblePlanError,
    InsufficientHistoryError,
    NotPlannableError,
    UnknownSystemError,
    UnknownZoneError,
)
from fleetcast.jobs.forecast import ModelUnavailableError, NoChampionError
from fleetcast.jobs.live import NothingToCompareError
from fleetcast.jobs.predict import AmbiguousZoneError, NotPredictableError, Predictor, ServingCache
from fleetcast.store import Store
from fleetcast.store.plans import TaskStateError, UnknownPlanError, UnknownTaskError

log = logging.getLogger("fleetcast.api")

DESCRIPTION = """\
Demand forecasts of shared-vehicle fleets, per zone and day.

Reads are open unless `[api] open_reads = false`; every endpoint that changes state needs
an `X-API-Key` made with `fleetcast apikey create NAME`. Every bad request is a 4xx whose
`detail` names the field or value at fault.
"""

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnknownSystemError, 404),
    (UnknownZoneError, 404),
    (AmbiguousZoneError, 422),
    (NotPredictableError, 422),
    (InsufficientHistoryError, 422),
    (NoChampionError, 409),
    (NothingToCompareError, 409),
    (UnknownPlanError, 404),
    (UnknownTaskError, 404),
    (TaskStateError, 409),
    (InfeasiblePlanError, 422),
    (NotPlannableError, 409),
    (ConfigError, 503),
    (ModelUnavailableError, 503),
    (FleetcastError, 400),
)


def create_app(settings: Settings | None = None, *, options: ApiOptions | None = None) -> FastAPI:
    """The API over the store that ``settings`` point to (the environment's by default)."""
    settings = settings or load_settings()
    options = options or ApiOptions.from_settings(settings)
    store = Store(settings)
    cache = ServingCache(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(cache.sync)
        except Exception:  # start anyway; /health says the store is down
            log.exception("the store could not be read at start; retrying every few seconds")
        task = asyncio.create_task(_keep_fresh(cache, options.refresh_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            store.close()

    app = FastAPIOffline(
        title="fleetcast",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses={400: {"model": ErrorOut, "description": "A body that is not valid JSON"}},
    )
    registry = CollectorRegistry()
    app.state.store = store
    app.state.cache = cache
    app.state.predictor = Predictor(store, cache)
    app.state.keys = KeyChecker(store, options)
    app.state.options = options
    app.state.registry = registry
    app.state.freshness = FreshnessCollector(cache)
    registry.register(app.state.freshness)
    app.state.monitoring = MonitoringCollector(store)
    registry.register(app.state.monitoring)
    reads = [] if options.open_reads else [require_read]
    app.include_router(predict.router, dependencies=[Depends(d) for d in reads])
    app.include_router(read.router, dependencies=[Depends(d) for d in reads])
    app.include_router(supply.router, dependencies=[Depends(d) for d in reads])
    app.include_router(plan.router, dependencies=[Depends(d) for d in reads])
    app.include_router(carsharing.router, dependencies=[Depends(d) for d in reads])
    app.include_router(pricing.router, dependencies=[Depends(d) for d in reads])
    app.include_router(monitoring.router, dependencies=[Depends(d) for d in reads])
    app.include_router(ops.router)
    app.include_router(ops.write_router)
    app.include_router(plan.write_router)
    _add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=RequestMetrics(registry))
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and worker processes: settings from the environment."""
    return create_app()


async def _keep_fresh(cache: ServingCache, every: float) -> None:
    """Reload the cache when the db's forecasts change; a failed check is logged, not fatal."""
    while True:
        await asyncio.sleep(every)
        try:
            if await run_in_threadpool(cache.sync):
                log.info("serving cache reloaded")
        except Exception:
            log.exception("checking for new forecasts failed; serving the previous ones")


def _add_error_handlers(app: FastAPI) -> None:
    async def known(request: Request, exc: Exception) -> Response:
        code = next(status for kind, status in _STATUS if isinstance(exc, kind))
        return _json({"detail": str(exc)}, code)

    async def unreachable(request: Request, exc: Exception) -> Response:
        log.exception("db error on %s", request.url.path)
        return _json({"detail": "the store is unreachable; GET /health tells more"}, 503)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _json({"detail": safe_errors(exc.errors())}, 422)

    app.add_exception_handler(FleetcastError, known)
    app.add_exception_handler(SQLAlchemyError, unreachable)
    app.add_exception_handler(RequestValidationError, invalid)


def _json(content: Any, status: int) -> Response:
    """A JSON error body in ASCII, so a message that quotes odd input can always be written."""
    return Response(
        json.dumps(content, ensure_ascii=True), status_code=status, media_type="application/json"
    )


def safe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the offending input: each names the field (``loc``), what
    was wrong (``msg``) and its kind, in text any JSON encoder can write."""
    return [
        {
            "loc": [item if isinstance(item, int) else str(item) for item in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
