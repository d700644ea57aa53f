"""The forecast jobs on a small demo city: backtest, train with the champion rule, forecast."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.errors import InsufficientHistoryError
from fleetcast.jobs import build_demo
from fleetcast.jobs import forecast as fc
from fleetcast.store import Store, records

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A SQLite store holding a 150-day demo city, with MLflow tracking in its home."""
    home = tmp_path_factory.mktemp("forecast") / "home"
    mp = pytest.MonkeyPatch()
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    store = Store(load_settings(home=home, env={}))
    build_demo(store, seed=5, days=150)
    yield store
    store.close()
    mp.undo()


def test_backtest_compares_every_model_and_stores_the_metrics(demo_store: Store) -> None:
    """All four models get metrics per horizon; the run and per-zone rows are in the db."""
    report = fc.backtest(demo_store, "demo", weeks=2)
    table = report.table()
    assert set(table["model"]) == set(fc.ALL_MODELS)
    assert sorted(set(table["horizon"])) == [1, 2, 3]
    assert table["wape"].is_between(0, 2).all()
    assert table["coverage_80"].is_between(0, 1).all()
    with demo_store.connect() as conn:
        run, stored = records.latest_backtest(conn, "demo")
        _, zones = records.latest_backtest(conn, "demo", per_zone=True)
    assert run is not None and run["run_id"] == report.run_id
    assert stored.height == table.height
    assert zones["zone_id"].n_unique() > 1
    assert report.mlflow_run_id


def test_first_training_promotes_and_a_worse_model_does_not(demo_store: Store) -> None:
    """No champion: the candidate is promoted. A weaker model is registered but kept out."""
    first = fc.train(demo_store, "demo", model="global_gbm", weeks=2)
    assert first.promoted and first.reason == "no champion yet"
    worse = fc.train(demo_store, "demo", model="seasonal_naive", weeks=2)
    assert not worse.promoted
    assert worse.champion_wape is not None and worse.candidate_wape >= worse.champion_wape
    assert "does not beat" in worse.reason
    champion = fc.registry_for(demo_store).champion("demo")
    assert champion is not None and champion.version == first.version
    again = fc.train(demo_store, "demo", model="global_gbm", weeks=2)
    assert not again.promoted, "an identical configuration never beats itself"
    assert again.champion_wape == again.candidate_wape


def test_forecast_fills_the_table_once_per_issue_date(demo_store: Store) -> None:
    """The champion forecasts 3 days for every zone; re-running replaces, never duplicates."""
    fc.train(demo_store, "demo", weeks=2)
    report = fc.forecast(demo_store, "demo")
    with demo_store.connect() as conn:
        zones = records.load_zones(conn, "demo").height
        first = records.load_forecasts(conn, "demo")
    assert report.rows == zones * 3 == first.height
    assert first["issued_on"].unique().to_list() == [report.issued_on]
    assert (first["q10"] <= first["q50"]).all() and (first["q50"] <= first["q90"]).all()
    assert "climatology" in report.weather_note
    fc.forecast(demo_store, "demo")
    with demo_store.connect() as conn:
        assert records.load_forecasts(conn, "demo").height == first.height


def test_forecast_from_a_past_issue_date_uses_only_data_before_it(demo_store: Store) -> None:
    """An issue date in the past forecasts from the days before it."""
    fc.train(demo_store, "demo", weeks=2)
    with demo_store.connect() as conn:
        last = records.demand_summary(conn, "demo")["last_day"]
    issue = last - timedelta(days=10)
    report = fc.forecast(demo_store, "demo", issued_on=issue)
    assert report.forecast["target_date"].min() == issue


def test_issue_date_outside_the_data_is_refused(demo_store: Store) -> None:
    """Forecasting from a day whose previous days are unknown, or with too little history
    before it, is a clear error naming the issue dates that work."""
    with demo_store.connect() as conn:
        summary = records.demand_summary(conn, "demo")
    for day in (summary["last_day"] + timedelta(days=5), summary["first_day"]):
        with pytest.raises(InsufficientHistoryError, match="issue dates run from"):
            fc.forecast(demo_store, "demo", issued_on=day)


def test_forecast_without_a_champion_says_to_train(tmp_path: Path) -> None:
    """A system nobody trained yet gets a NoChampionError that names the command to run."""
    store = Store(load_settings(home=tmp_path / "home", env={}))
    build_demo(store, seed=1, days=60)
    with pytest.raises(fc.NoChampionError, match="fleetcast train --system demo"):
        fc.forecast(store, "demo")


def test_too_little_history_is_a_clear_error(tmp_path: Path) -> None:
    """A backtest window that leaves too few days before it names the fix."""
    store = Store(load_settings(home=tmp_path / "home", env={}))
    build_demo(store, seed=1, days=60)
    with pytest.raises(InsufficientHistoryError, match="fewer --weeks"):
        fc.backtest(store, "demo", weeks=8)


def test_backtest_json_is_one_record_per_model_and_horizon(demo_store: Store) -> None:
    """`fleetcast backtest --json` prints the documented keys for each model and horizon."""
    home = demo_store.settings.home
    result = runner.invoke(
        app,
        [
            "--home",
            str(home),
            "backtest",
            "--system",
            "demo",
            "--weeks",
            "1",
            "--models",
            "seasonal_naive,calendar_gbm",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["model"] for r in rows} == {"seasonal_naive", "calendar_gbm"}
    assert len(rows) == 6
    assert set(rows[0]) == {
        "model",
        "horizon",
        "mae",
        "rmse",
        "wape",
        "bias",
        "coverage_80",
        "pinball",
    }


def test_cli_forecast_prints_totals(demo_store: Store) -> None:
    """`fleetcast forecast` prints one line per day and where the rows went."""
    fc.train(demo_store, "demo", weeks=2)
    result = runner.invoke(
        app, ["--home", str(demo_store.settings.home), "forecast", "--system", "demo"]
    )
    assert result.exit_code == 0, result.output
    assert "rows written to the forecasts table" in result.output


def test_cli_reports_an_unknown_model(demo_store: Store) -> None:
    """An unknown --models name is an error listing the known models."""
    result = runner.invoke(
        app,
        [
            "--home",
            str(demo_store.settings.home),
            "backtest",
            "--system",
            "demo",
            "--models",
            "prophet",
        ],
    )
    assert result.exit_code == 1
    assert "global_gbm" in result.stderr


def test_training_set_fills_missing_zone_features(demo_store: Store) -> None:
    """Zones without geometry still get numeric features (median area, centre distance)."""
    data = fc.load_training_set(demo_store, "demo")
    assert data.zones.null_count().sum_horizontal().item() == 0
    assert data.demand.select(pl.col("trips").sum()).item() > 0
