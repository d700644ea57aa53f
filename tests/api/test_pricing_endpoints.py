"""Pricing endpoints on a test app: one car or a list priced by the champion, 422 naming the
accepted values for unknown categories and absurd numbers, 409 before any training, the
model's schema for forms, and the request documented with an example in /docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetcast.api.routes import pricing
from fleetcast.jobs.pricing import PricingService, train_pricing
from pricing_data import MAKES, SMALL_PARAMS, a_car, write_cars_csv


def _client(home: Path) -> TestClient:
    """An app with only the pricing router, its service on ``home``."""
    app = FastAPI()
    app.include_router(pricing.router)
    app.state.pricing = PricingService(home)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home with a price model trained on 300 generated cars."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
        folder = tmp_path_factory.mktemp("pricing_api")
        cars = write_cars_csv(folder / "cars.csv", 300)
        train_pricing(cars, folder / "home", params=SMALL_PARAMS, folds=3)
        yield folder / "home"


@pytest.fixture
def client(trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A client of the pricing router over the trained home."""
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    return _client(trained_home)


def test_one_car(client: TestClient) -> None:
    """One car object gives one price with the model version."""
    response = client.post("/pricing/predict", json=a_car())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "fleetcast-pricing" and body["model_version"] == "1"
    assert body["currency"] == "EUR"
    (price,) = body["prices"]
    assert 50 < price["rental_price_per_day"] < 300


def test_list_of_cars_keeps_order(client: TestClient) -> None:
    """A list gives a price per car in the order sent; GPS costs more than none."""
    response = client.post("/pricing/predict", json=[a_car(), a_car(has_gps=False)])
    assert response.status_code == 200, response.text
    with_gps, without = (p["rental_price_per_day"] for p in response.json()["prices"])
    assert with_gps > without


def test_unknown_category_is_422_with_accepted_values(client: TestClient) -> None:
    """An unseen make names the car, the field and the makes the model knows."""
    response = client.post("/pricing/predict", json=[a_car(), a_car(model_key="Tesla")])
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", 1, "model_key"]
    assert problem["type"] == "unknown_category"
    assert problem["accepted"] == sorted(MAKES)
    assert "Tesla" in problem["msg"]


def test_absurd_mileage_is_422_with_the_range(client: TestClient) -> None:
    """A mileage past 1.5x the largest seen is refused with the plausible range."""
    response = client.post("/pricing/predict", json=a_car(mileage=5_000_000))
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "mileage"]
    assert problem["type"] == "out_of_range"
    low, high = problem["range"]
    assert low == 0 and 300_000 < high < 500_000
    assert "plausible range" in problem["msg"]


@pytest.mark.parametrize(
    "body",
    [
        {**a_car(), "has_gps": "yes"},
        {**a_car(), "mileage": "80000"},
        {k: v for k, v in a_car().items() if k != "fuel"},
        {**a_car(), "colour": "red"},
        [],
        "a car",
    ],
)
def test_malformed_bodies_are_422_not_500(client: TestClient, body: Any) -> None:
    """Wrong types, missing or extra fields and empty lists fail validation with 422."""
    response = client.post("/pricing/predict", json=body)
    assert response.status_code == 422, response.text


def test_model_schema_for_forms(client: TestClient) -> None:
    """GET /pricing/model: categories and ranges from training, CV metrics, option effects."""
    response = client.get("/pricing/model")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["categories"]["model_key"] == sorted(MAKES)
    assert body["ranges"]["engine_power"]["unit"] == "hp"
    assert body["cv"]["folds"] == 3 and body["cv"]["rmse"] > 0
    effects = {e["option"]: e["effect_per_day"] for e in body["option_effects"]}
    assert effects["has_gps"] > 3
    assert body["importance"][0]["feature"] == "engine_power"
    assert body["typical"]["model_key"] in MAKES


def test_no_model_is_409(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any training both endpoints answer 409 with the command to run."""
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    client = _client(tmp_path / "empty")
    for response in (
        client.post("/pricing/predict", json=a_car()),
        client.get("/pricing/model"),
    ):
        assert response.status_code == 409
        assert "fleetcast pricing train FILE" in response.json()["detail"]


def test_unreadable_registry_is_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry that cannot be read is a 503, not a 500."""
    garbage = tmp_path / "mlflow.db"
    garbage.write_bytes(b"not a sqlite database" * 100)
    monkeypatch.setenv("FLEETCAST_MLFLOW_URI", f"sqlite:///{garbage}")
    response = _client(tmp_path / "home").post("/pricing/predict", json=a_car())
    assert response.status_code == 503
    assert "cannot be read" in response.json()["detail"]


def test_docs_show_the_request_with_examples(client: TestClient) -> None:
    """/openapi.json documents the body (one car or a list) with examples of both."""
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/pricing/predict"]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    assert set(content["examples"]) == {"one car", "several cars"}
    assert content["examples"]["one car"]["value"]["model_key"] == "Renault"
    car = spec["components"]["schemas"]["CarIn"]
    assert car["examples"][0]["fuel"] == "diesel"
    assert {"422", "409", "503"} <= set(operation["responses"])
    assert "/pricing/model" in spec["paths"]


def test_the_served_app_prices_from_its_home(
    trained_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app ``fleetcast serve`` builds routes pricing to the model trained in its home."""
    from fleetcast.api import create_app
    from fleetcast.config import load_settings

    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    app = create_app(load_settings(home=trained_home, env={}))
    with TestClient(app) as served:
        response = served.post("/pricing/predict", json=[a_car(), a_car(has_gps=False)])
        assert response.status_code == 200, response.text
        assert len(response.json()["prices"]) == 2
