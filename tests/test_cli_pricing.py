"""`fleetcast pricing train` and `predict` on a generated pricing file in a fresh home: tables
and JSON, and bad input answered with a clear message and a non-zero exit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner, Result

from fleetcast.cli._common import state
from fleetcast.cli.pricing import pricing_app
from fleetcast.config import load_settings
from pricing_data import a_car, write_cars_csv

runner = CliRunner()
Cli = Callable[..., Result]


def _app() -> typer.Typer:
    """The pricing commands under a `--home` option, as the main app mounts them."""
    app = typer.Typer()

    @app.callback()
    def main(home: Annotated[Path, typer.Option()]) -> None:
        state.settings = load_settings(home=home)

    app.add_typer(pricing_app, name="pricing")
    return app


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Runs `fleetcast --home HOME ...` and returns the result."""
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    monkeypatch.setattr(state, "settings", None)
    app = _app()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--home", str(home), *args])

    return run


def test_predict_before_training_says_what_to_run(cli: Cli) -> None:
    """No model yet: exit 1 and the command that trains one."""
    result = cli("pricing", "predict", "--json", json.dumps(a_car()))
    assert result.exit_code == 1
    assert "fleetcast pricing train FILE" in result.output


def test_train_then_predict(cli: Cli, tmp_path: Path) -> None:
    """train --json reports CV metrics, version 1 promoted, importance and option effects;
    the table output shows the metrics; predict prints one price or a list, as a table or
    JSON, and refuses unknown makes and absurd mileage with exit 2 and the accepted values."""
    cars = write_cars_csv(tmp_path / "cars.csv", 200)
    result = cli("pricing", "train", str(cars), "--json", "--folds", "3")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["version"] == "1" and report["promoted"] is True
    assert report["cv"]["folds"] == 3 and report["cv"]["rmse"] > 0
    assert {e["option"] for e in report["option_effects"]} >= {"has_gps"}
    assert report["importance"][0]["feature"] == "engine_power"

    table = cli("pricing", "train", str(cars), "--folds", "3")
    assert table.exit_code == 0, table.output
    assert "cross-validation" in table.stdout and "Option effects" in table.stdout
    assert "version 2" in table.stdout and "kept the champion" in table.stdout

    one = cli("pricing", "predict", "--json", json.dumps(a_car()))
    assert one.exit_code == 0, one.output
    assert "EUR/day" in one.stdout and "BMW" in one.stdout

    many = cli(
        "pricing",
        "predict",
        "--json",
        json.dumps([a_car(), a_car(model_key="Renault")]),
        "--format",
        "json",
    )
    assert many.exit_code == 0, many.output
    body = json.loads(many.stdout)
    assert body["model_version"] == "1" and len(body["prices"]) == 2

    from_file = tmp_path / "cars.json"
    from_file.write_text(json.dumps([a_car()]), encoding="utf-8")
    assert cli("pricing", "predict", "--json", f"@{from_file}").exit_code == 0

    bad = cli("pricing", "predict", "--json", json.dumps(a_car(model_key="Tesla", mileage=9e9)))
    assert bad.exit_code == 2
    assert "Tesla" in bad.output and "accepted: Audi, BMW" in bad.output
    assert "plausible range" in bad.output


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not valid JSON"), ("[]", "non-empty list"), ("42", "car object")],
)
def test_predict_refuses_what_is_not_cars(cli: Cli, text: str, message: str) -> None:
    """Input that is not a car object or a list of them is refused before any model loads."""
    result = cli("pricing", "predict", "--json", text)
    assert result.exit_code == 2
    assert message in result.output


def test_train_refuses_a_file_without_the_columns(cli: Cli, tmp_path: Path) -> None:
    """A CSV lacking pricing columns fails with exit 1, naming the missing ones."""
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = cli("pricing", "train", str(path))
    assert result.exit_code == 1
    assert "lacks the column(s) model_key" in result.output
