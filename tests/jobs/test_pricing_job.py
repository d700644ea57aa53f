"""Pricing jobs over a fleetcast home: train registers a version in MLflow and the champion
alias moves only when a candidate's CV RMSE beats the champion's; prices come from the
champion; no model yet is a clear error naming the command to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcast.jobs.pricing import (
    NoPricingModelError,
    PricingModelUnavailableError,
    PricingService,
    predict_prices,
    pricing_model_info,
    pricing_registry,
    train_pricing,
)
from fleetcast.pricing.model import InvalidCarError, PricingParams
from pricing_data import SMALL_PARAMS, a_car, write_cars_csv

WEAK = PricingParams(n_estimators=5, learning_rate=0.05, min_child_samples=5)
"""Five small trees: a model any reasonable candidate beats."""


@pytest.fixture(autouse=True)
def _own_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs go to the test's home, never to an MLflow server named in the environment."""
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)


@pytest.fixture
def cars_csv(tmp_path: Path) -> Path:
    """300 generated cars."""
    return write_cars_csv(tmp_path / "cars.csv", 300)


def test_no_model_yet(tmp_path: Path) -> None:
    """Before any training, predicting says to run `fleetcast pricing train FILE` first."""
    with pytest.raises(NoPricingModelError, match="run `fleetcast pricing train FILE` first"):
        predict_prices(a_car(), tmp_path / "home")
    with pytest.raises(NoPricingModelError):
        pricing_model_info(tmp_path / "home")


def test_champion_moves_only_when_beaten(tmp_path: Path, cars_csv: Path) -> None:
    """v1 (weak) becomes champion as the first; v2 (better) beats it on the same folds and
    takes over; v3 (same settings as v2) does not beat it and is registered but kept out;
    v4, the same settings on a newer file, ties and takes over."""
    home = tmp_path / "home"
    first = train_pricing(cars_csv, home, params=WEAK, folds=3)
    assert (first.version, first.promoted, first.reason) == ("1", True, "no champion yet")
    assert first.champion_before is None and first.champion_rmse is None
    assert predict_prices(a_car(), home).version == "1"

    second = train_pricing(cars_csv, home, params=SMALL_PARAMS, folds=3)
    assert second.version == "2" and second.promoted
    assert second.champion_before == "1"
    assert second.champion_rmse == pytest.approx(first.cv.rmse)
    assert second.cv.rmse < first.cv.rmse
    assert "same data, same folds" in second.reason

    third = train_pricing(cars_csv, home, params=SMALL_PARAMS, folds=3)
    assert third.version == "3" and not third.promoted
    assert "does not beat champion v2" in third.reason

    prediction = predict_prices([a_car(), a_car(has_gps=False)], home)
    assert prediction.version == "2"

    newer = write_cars_csv(tmp_path / "newer.csv", 320)
    refit = train_pricing(newer, home, params=SMALL_PARAMS, folds=3)
    assert refit.promoted, "the champion's recipe refit on new cars takes over on a tie"
    assert "on data it was not trained on" in refit.reason
    assert len(prediction.prices) == 2 and prediction.prices[0] > prediction.prices[1]
    body = prediction.as_dict()
    assert body["model"] == "fleetcast-pricing" and body["currency"] == "EUR"

    client = pricing_registry(home).registry.client
    versions = client.search_model_versions("name = 'fleetcast-pricing'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3, 4]
    run = client.get_run(str(versions[0].run_id))
    assert {"rmse", "mae", "r2"} <= set(run.data.metrics)
    assert run.data.tags["fleetcast.decision"] in ("promoted", "kept champion")
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"importance.csv", "option_effects.csv", "schema.json"} <= artifacts


def test_report_and_info(tmp_path: Path) -> None:
    """The report counts rows set apart; the info holds the schema, metrics and effects."""
    path = write_cars_csv(tmp_path / "cars.csv", 200)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",diesel,", ",,").replace(",petrol,", ",,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    report = train_pricing(path, home, params=SMALL_PARAMS, folds=3)
    assert (report.rows_read, report.rows_used) == (200, 199)
    assert report.rejected == {"missing fuel": 1}
    assert report.as_dict()["cv"]["folds"] == 3
    info = pricing_model_info(home)
    assert info["model_version"] == "1"
    assert info["categories"]["fuel"] == ["diesel", "petrol"]
    assert info["ranges"]["mileage"]["unit"] == "km"
    assert {e["option"] for e in info["option_effects"]} >= {"has_gps", "winter_tires"}
    assert info["cv"]["rmse"] == pytest.approx(report.cv.rmse)


def test_service_refuses_bad_cars_and_caches(tmp_path: Path, cars_csv: Path) -> None:
    """The service raises InvalidCarError for an unknown make and loads each version once."""
    home = tmp_path / "home"
    train_pricing(cars_csv, home, params=SMALL_PARAMS, folds=3)
    service = PricingService(home, ttl=60)
    with pytest.raises(InvalidCarError, match="Tesla"):
        service.predict(a_car(model_key="Tesla"))
    version, model = service.champion()
    assert service.champion() == (version, model)
    assert service.champion()[1] is model


def test_unreadable_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tracking URI that cannot be read is 'unavailable', not 'no model'."""
    garbage = tmp_path / "mlflow.db"
    garbage.write_bytes(b"not a sqlite database" * 100)
    monkeypatch.setenv("FLEETCAST_MLFLOW_URI", f"sqlite:///{garbage}")
    with pytest.raises(PricingModelUnavailableError, match="cannot be read"):
        predict_prices(a_car(), tmp_path / "home")
