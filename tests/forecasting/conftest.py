"""Shared fixtures of the forecasting tests: a small demo city as a training set."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fleetcast.forecasting.base import TrainingSet
from fleetcast.forecasting.datasets import from_demo_city
from fleetcast.sources.synthetic import generate_city


@pytest.fixture(scope="module")
def small_city() -> TrainingSet:
    """The demo city shrunk for speed: 20 zones, 200 days (to 2026-10-31), 30% of the trips."""
    return from_demo_city(generate_city(days=200, n_zones=20, trips_scale=0.3))


@pytest.fixture(scope="module")
def cutoff(small_city: TrainingSet) -> date:
    """The last day of demand a model is fitted on and forecasts from (three weeks before
    the end of the small city, so actuals exist after it)."""
    return small_city.last_day - timedelta(days=21)
