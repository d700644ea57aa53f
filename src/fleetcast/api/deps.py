"""Named dependencies: what a route needs from the app, resolved per request. They are
``async`` so FastAPI calls them inline instead of hopping to a worker thread each time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fleetcast.jobs.predict import Predictor, ServingCache
from fleetcast.store import Store


async def get_store(request: Request) -> Store:
    """The app's store."""
    store: Store = request.app.state.store
    return store


async def get_cache(request: Request) -> ServingCache:
    """The app's in-memory serving cache."""
    cache: ServingCache = request.app.state.cache
    return cache


async def get_predictor(request: Request) -> Predictor:
    """The app's predictor."""
    predictor: Predictor = request.app.state.predictor
    return predictor


StoreDep = Annotated[Store, Depends(get_store)]
CacheDep = Annotated[ServingCache, Depends(get_cache)]
PredictorDep = Annotated[Predictor, Depends(get_predictor)]
