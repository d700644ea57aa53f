"""An API client over the served demo, on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fleetcast.api import create_app
from fleetcast.store import Store


@pytest.fixture
def client(served_store: Store) -> Iterator[TestClient]:
    """A client of the API on the served demo (lifespan run, so the cache is loaded)."""
    with TestClient(create_app(served_store.settings)) as c:
        yield c


@pytest.fixture
def forecast_days(client: TestClient) -> list[str]:
    """The target days of the newest issue, from the API itself."""
    rows = client.get("/forecasts", params={"system": "demo"}).json()["rows"]
    return sorted({r["target_date"] for r in rows})
