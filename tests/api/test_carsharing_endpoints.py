"""GET /delay-policy: the figures at a threshold and scope from the rentals in the store,
with the scope's and the overall recommendation (and the curve on request); 404 for a
system without rentals, 422 for a bad threshold or scope, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetcast.analytics.delay_policy import PolicyParams, analyse, policy_at
from fleetcast.api import create_app
from fleetcast.domain import SystemInfo
from fleetcast.jobs import carsharing
from fleetcast.store import Store, records

SMALL = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"


@pytest.fixture
def rentals_store(store: Store) -> Store:
    """The small rentals file loaded as system "cars", and a system "bare" without rentals."""
    carsharing.ingest_rentals_file(store, SMALL, system_id="cars")
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("bare", "Bare", "UTC"))
    return store


@pytest.fixture
def api(rentals_store: Store) -> Iterator[TestClient]:
    """A client of the API the product serves."""
    app = create_app(rentals_store.settings)
    with TestClient(app) as client:
        yield client


def test_figures_at_a_threshold_are_the_analysis(api: TestClient, rentals_store: Store) -> None:
    """At 60 min for Connect cars, the figures are policy_at's on the stored rentals, beside
    Connect's own recommendation (15 min) and the best overall (105 min, all cars)."""
    body = api.get(
        "/delay-policy", params={"system": "cars", "threshold": 60, "scope": "connect"}
    ).json()
    frame = carsharing.load_rentals(rentals_store, "cars")
    assert body["figures"] == policy_at(frame, threshold_min=60, scope="connect").to_json()
    assert (body["system"], body["scope"], body["threshold_min"]) == ("cars", "connect", 60)
    assert (body["rentals"], body["problem_cases"]) == (10, 2)
    assert body["recommendation"]["threshold_min"] == 15
    assert (body["best"]["scope"], body["best"]["threshold_min"]) == ("all", 105)
    assert body["curve"] is None


def test_curve_price_and_trade_off_on_request(api: TestClient, rentals_store: Store) -> None:
    """curve=true adds the scope's points at every step; a price gives revenue in EUR; a
    lower target moves the recommendation."""
    body = api.get(
        "/delay-policy",
        params={
            "system": "cars",
            "threshold": 105,
            "step": 30,
            "price_per_day": 50,
            "min_solved": 0.5,
            "curve": True,
        },
    ).json()
    assert [p["threshold_min"] for p in body["curve"]] == list(range(0, 721, 30))
    assert body["figures"]["revenue_blocked"] == 150.0
    frame = carsharing.load_rentals(rentals_store, "cars")
    want = analyse(frame, PolicyParams(price_per_day=50.0)).points("all")
    assert body["curve"][2] == next(p.to_json() for p in want if p.threshold_min == 60)
    assert body["recommendation"]["threshold_min"] == 30


def test_a_system_without_rentals_is_404(api: TestClient) -> None:
    """A known system without rentals, and an unknown system, answer 404 saying why."""
    bare = api.get("/delay-policy", params={"system": "bare"})
    assert bare.status_code == 404
    assert "fleetcast carsharing delay-policy" in bare.json()["detail"]
    unknown = api.get("/delay-policy", params={"system": "nowhere"})
    assert unknown.status_code == 404
    assert "nowhere" in unknown.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"threshold": 721},
        {"threshold": -15},
        {"threshold": "an hour"},
        {"scope": "paper"},
        {"step": 0},
        {"price_per_day": 0},
        {"price_per_day": "nan"},
        {"min_solved": 2},
        {"system": "\x01"},
    ],
)
def test_bad_queries_are_422_naming_the_field(api: TestClient, params: dict[str, object]) -> None:
    """Every bad query parameter is a 422 whose detail names it, never a 500."""
    response = api.get("/delay-policy", params={"system": "cars", **params})
    assert response.status_code == 422, response.text
    (name,) = params
    assert any(name in error["loc"] for error in response.json()["detail"])


def test_the_endpoint_is_documented(api: TestClient) -> None:
    """/docs' schema has the endpoint with its parameters and the answer's example."""
    spec = api.get("/openapi.json").json()
    operation = spec["paths"]["/delay-policy"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"system", "threshold", "scope"}
    assert "404" in operation["responses"] and "422" in operation["responses"]
