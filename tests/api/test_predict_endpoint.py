"""POST /predict keeps the public Chicago service's contract and says which days it answers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from fleetcast.jobs import serving
from fleetcast.store import Store, records

CONTRACT = {"model_version", "trips", "lower", "upper", "zone_id", "horizon"}


def _zone(store: Store) -> tuple[str, str]:
    with store.connect() as conn:
        zone = records.load_zones(conn, "demo").row(0, named=True)
    return zone["zone_id"], zone["name"]


def test_community_and_date_get_the_stored_forecast(
    client: TestClient, served_store: Store, forecast_days: list[str]
) -> None:
    """The documented request returns the stored mean (rounded) and its 80% interval."""
    zone_id, name = _zone(served_store)
    response = client.post("/predict", json={"community": name, "date": forecast_days[1]})
    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= CONTRACT
    stored = serving.forecasts(
        served_store, "demo", target_date=date.fromisoformat(forecast_days[1]), zone_id=zone_id
    ).row(0, named=True)
    assert body["trips"] == round(stored["mean"])
    assert body["lower"] == pytest.approx(stored["q10"], abs=0.01)
    assert body["upper"] == pytest.approx(stored["q90"], abs=0.01)
    assert body["zone_id"] == zone_id
    assert body["horizon"] == 2
    assert body["model_version"] == stored["model_version"]
    assert body["source"] == "forecast"


def test_zone_id_and_system_and_any_case_name_are_accepted(
    client: TestClient, served_store: Store, forecast_days: list[str]
) -> None:
    """zone_id with system, and a community name in other case and spacing, agree."""
    zone_id, name = _zone(served_store)
    by_id = client.post(
        "/predict", json={"zone_id": zone_id, "system": "demo", "date": forecast_days[0]}
    ).json()
    by_name = client.post(
        "/predict", json={"community": "  " + name.lower() + " ", "date": forecast_days[0]}
    ).json()
    assert by_id == by_name


def test_a_past_day_is_predicted_by_the_champion(client: TestClient, served_store: Store) -> None:
    """A day inside the history is answered by the champion at horizon 1, from the day before."""
    zone_id, _ = _zone(served_store)
    with served_store.connect() as conn:
        last = records.demand_summary(conn, "demo")["last_day"]
    day = (last - timedelta(days=20)).isoformat()
    first = client.post("/predict", json={"zone_id": zone_id, "date": day})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["source"] == "champion"
    assert body["horizon"] == 1 and body["issued_on"] == day
    assert body["lower"] <= body["upper"]
    assert client.post("/predict", json={"zone_id": zone_id, "date": day}).json() == body


@pytest.mark.parametrize("offset", [timedelta(days=30), timedelta(days=-3650)])
def test_a_day_out_of_reach_is_a_422_naming_the_answerable_days(
    client: TestClient, served_store: Store, forecast_days: list[str], offset: timedelta
) -> None:
    """Far future or far past: 422 whose message names the forecast and history ranges."""
    zone_id, _ = _zone(served_store)
    day = (date.fromisoformat(forecast_days[-1]) + offset).isoformat()
    response = client.post("/predict", json={"zone_id": zone_id, "date": day})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert f"stored forecasts cover {forecast_days[0]}..{forecast_days[-1]}" in detail
    assert "the champion predicts past days" in detail


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"date": "2026-11-01"}, 422, "community"),
        ({"community": "LAKE VIEW"}, 422, "date"),
        ({"community": "LAKE VIEW", "date": "2026-13-01"}, 422, "date"),
        ({"community": "LAKE VIEW", "date": "0001-01-01"}, 422, "date"),
        ({"community": "", "date": "2026-11-01"}, 422, "community"),
        ({"community": "X", "date": "2026-11-01", "colour": "red"}, 422, "colour"),
        ({"community": "nowhere", "date": "2026-11-01"}, 404, "community"),
        ({"zone_id": "Z001", "system": "elsewhere", "date": "2026-11-01"}, 404, "system"),
        ({"zone_id": "Z999", "system": "demo", "date": "2026-11-01"}, 404, "zone_id"),
    ],
)
def test_bad_requests_are_4xx_naming_the_field(
    client: TestClient, body: dict[str, str], status: int, field: str
) -> None:
    """Each malformed or unknown value gets its own 4xx and the message names the field."""
    response = client.post("/predict", json=body)
    assert response.status_code == status
    assert field in str(response.json()["detail"])


def test_malformed_json_is_a_422(client: TestClient) -> None:
    """A body that is not JSON is refused, not a 500."""
    response = client.post(
        "/predict", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_predict_reads_memory_not_the_db(client: TestClient, forecast_days: list[str]) -> None:
    """With the db gone, a cached day is still answered: the hot path never touches it."""
    app = client.app
    app.state.store.engine.dispose()  # type: ignore[attr-defined]
    calls: list[str] = []
    original = app.state.store.connect  # type: ignore[attr-defined]

    def spy() -> object:
        calls.append("connect")
        return original()

    app.state.store.connect = spy  # type: ignore[attr-defined]
    try:
        for _ in range(20):
            r = client.post("/predict", json={"zone_id": "Z001", "date": forecast_days[0]})
            assert r.status_code == 200
    finally:
        app.state.store.connect = original  # type: ignore[attr-defined]
    assert calls == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"community": "\\ud800", "date": "2020-09-11"}',
        b'{"\\ud800": 1, "community": "x", "date": "2020-09-11"}',
        b'{"community": NaN, "date": "2020-09-11"}',
        b'{"zone_id": "Z001", "date": 1e400}',
        b'{"zone_id": "Z001", "date": Infinity}',
    ],
)
def test_odd_json_is_a_4xx_never_a_500(client: TestClient, raw: bytes) -> None:
    """Lone surrogates and non-finite numbers are refused with a readable JSON error."""
    response = client.post("/predict", content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_champion_that_cannot_load_is_a_503_and_cached_days_still_answer(
    client: TestClient, forecast_days: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the registry broken, a past day is a 503 that says so; a forecast day is 200."""
    from fleetcast.jobs import forecast as fc

    class Broken:
        def champion(self, system_id: str) -> None:
            raise OSError("artifacts gone")

    monkeypatch.setattr(fc, "registry_for", lambda store: Broken())
    past = (date.fromisoformat(forecast_days[0]) - timedelta(days=15)).isoformat()
    response = client.post("/predict", json={"zone_id": "Z001", "date": past})
    assert response.status_code == 503
    assert "stored forecasts still answer" in response.json()["detail"]
    ok = client.post("/predict", json={"zone_id": "Z001", "date": forecast_days[0]})
    assert ok.status_code == 200
