"""Read endpoints answer what the store holds, and every bad query is a 4xx naming it."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from fleetcast.store import Store, records


def test_systems_lists_the_demo(client: TestClient) -> None:
    """One system with 90 zones and its newest issue."""
    (demo,) = client.get("/systems").json()
    assert demo["system_id"] == "demo" and demo["zones"] == 90
    assert demo["latest_issue"] is not None


def test_zones_is_geojson_with_numbers(client: TestClient) -> None:
    """A FeatureCollection of 90 polygons with latest trips and three forecasts each."""
    doc = client.get("/zones", params={"system": "demo"}).json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 90
    props = doc["features"][0]["properties"]
    assert {"zone_id", "name", "latest_trips", "mean_trips_7d", "forecasts"} <= props.keys()
    assert len(props["forecasts"]) == 3


def test_demand_matches_the_db(client: TestClient, served_store: Store) -> None:
    """Rows for one zone and a range equal the db's rows."""
    params = {"system": "demo", "zone": "Z003", "start": "2026-10-01", "end": "2026-10-10"}
    body = client.get("/demand", params=params).json()
    with served_store.connect() as conn:
        expected = records.load_demand(
            conn,
            "demo",
            start=date(2026, 10, 1),
            end=date(2026, 10, 10),
            zone_ids=["Z003"],
        )
    assert [r["trips"] for r in body["rows"]] == expected["trips"].to_list()
    assert len(body["rows"]) == 10


def test_forecasts_by_day_and_zone(client: TestClient, forecast_days: list[str]) -> None:
    """All rows of the issue, one day's rows, and one zone's rows."""
    every = client.get("/forecasts", params={"system": "demo"}).json()
    assert len(every["rows"]) == 270 and every["model_version"].startswith("global_gbm@v")
    day = client.get("/forecasts", params={"system": "demo", "date": forecast_days[2]}).json()
    assert {r["horizon"] for r in day["rows"]} == {3} and len(day["rows"]) == 90
    zone = client.get("/forecasts", params={"system": "demo", "zone": "Z010"}).json()
    assert [r["horizon"] for r in zone["rows"]] == [1, 2, 3]
    assert all(r["lower"] <= r["mean"] <= r["upper"] for r in zone["rows"])
    old = client.get("/forecasts", params={"system": "demo", "date": "2026-01-01"}).json()
    assert old["rows"] == [] and old["issued_on"] is None


def test_backtests_table(client: TestClient) -> None:
    """The newest backtest: both models at three horizons."""
    body = client.get("/backtests", params={"system": "demo"}).json()
    assert {(m["model"], m["horizon"]) for m in body["metrics"]} == {
        (model, h) for model in ("global_gbm", "seasonal_naive") for h in (1, 2, 3)
    }


def test_health_is_ok_with_champion(client: TestClient) -> None:
    """The db answers, the champion and forecasts exist."""
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["systems"][0]["champion"].startswith("global_gbm@v")


def test_metrics_count_requests_and_report_freshness(client: TestClient) -> None:
    """After a few requests the counters and the freshness gauges are exposed."""
    for _ in range(3):
        client.get("/systems")
    text = client.get("/metrics").text
    assert 'fleetcast_http_requests_total{method="GET",route="/systems",status="200"} 3.0' in text
    assert 'fleetcast_forecast_age_days{system="demo"}' in text
    assert "fleetcast_http_request_seconds_bucket" in text


@pytest.mark.parametrize(
    ("path", "params", "status", "word"),
    [
        ("/zones", {}, 422, "system"),
        ("/zones", {"system": "nope"}, 404, "nope"),
        ("/demand", {"system": "demo", "start": "yesterday"}, 422, "start"),
        ("/demand", {"system": "demo", "start": "2026-10-10", "end": "2026-10-01"}, 422, "start"),
        ("/demand", {"system": "demo", "zone": "Z999"}, 404, "Z999"),
        ("/forecasts", {"system": "demo", "date": "2026-02-30"}, 422, "date"),
        ("/forecasts", {"system": "demo", "zone": "Z999"}, 404, "Z999"),
        ("/forecasts", {"system": "x" * 65}, 422, "system"),
        ("/forecasts", {"system": "de\x00mo"}, 422, "system"),
        ("/backtests", {"system": "nope"}, 404, "nope"),
    ],
)
def test_bad_queries_are_4xx_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], status: int, word: str
) -> None:
    """Each bad query is refused with its status and a message naming what was wrong."""
    response = client.get(path, params=params)
    assert response.status_code == status
    assert word in str(response.json()["detail"])


def test_unknown_path_is_404(client: TestClient) -> None:
    """A path that does not exist is a plain 404."""
    assert client.get("/nothing-here").status_code == 404


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    """/docs loads Swagger UI from the app itself, so it works offline."""
    page = client.get("/docs").text
    assert "/static-offline-docs/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    script = client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
