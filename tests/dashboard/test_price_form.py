"""The price estimator section run headless: a friendly message before any training; with a
model, select boxes hold the model's categories, numbers are bounded by its ranges, and
submitting shows the price and the option-effects chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcast.jobs.pricing import train_pricing
from pricing_data import MAKES, SMALL_PARAMS, write_cars_csv

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("plotly", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest


def _section() -> None:
    """The script AppTest runs: only the estimator section."""
    from fleetcast.dashboard.app_pages._price_form import render_price_estimator

    render_price_estimator()


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))


def test_no_model_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any training the section says how to train, without an exception."""
    _use_home(monkeypatch, tmp_path / "home")
    at = AppTest.from_function(_section, default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("fleetcast pricing train" in i.value for i in at.info)


def test_form_from_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The make box lists the trained makes, mileage is bounded by the model's range, and a
    submitted form shows a price per day beside the option-effects chart."""
    home = tmp_path / "home"
    _use_home(monkeypatch, home)
    train_pricing(write_cars_csv(tmp_path / "cars.csv", 200), home, params=SMALL_PARAMS, folds=3)
    at = AppTest.from_function(_section, default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    make = at.selectbox(key="model_key")
    assert list(make.options) == sorted(MAKES)
    mileage = at.number_input(key="mileage")
    assert mileage.min == 0
    assert mileage.max is not None and mileage.max > 290_000
    assert at.get("plotly_chart")
    make.select("Citroën")
    at.button[0].click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (metric,) = at.metric
    assert metric.label == "Estimated price" and metric.value.endswith("EUR/day")
