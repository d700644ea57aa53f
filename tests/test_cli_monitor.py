"""`fleetcast monitor` through a throwaway Typer app: Rich tables, JSON and errors."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from fleetcast.cli import _common
from fleetcast.cli.monitor import monitor
from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.store import Store, records

runner = CliRunner()
LAST = date(2026, 10, 10)


def app() -> typer.Typer:
    """An app with only the monitor command (and a no-op callback so it keeps its name)."""
    cli = typer.Typer()
    cli.command()(monitor)

    @cli.callback()
    def main() -> None:
        """Test app."""

    return cli


@pytest.fixture
def tiny(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two zones with ten days of demand, forecasts issued on the last five days that are
    30% too high, and a backtest WAPE of 10%: every horizon breaks the alert rule."""
    settings = load_settings(home=home, env={})
    monkeypatch.setattr(_common.state, "settings", settings)
    store = Store(settings)
    days = [LAST - timedelta(days=k) for k in range(9, -1, -1)]
    demand = pl.DataFrame(
        {
            "zone_id": ["A"] * 10 + ["B"] * 10,
            "date": days * 2,
            "trips": [10] * 10 + [20] * 10,
        }
    )
    metrics = pl.DataFrame(
        {
            "model": ["naive"] * 2,
            "horizon": [1, 2],
            "n": [10, 10],
            "mae": [1.0, 1.0],
            "rmse": [1.0, 1.0],
            "wape": [0.1, 0.1],
            "bias": [0.0, 0.0],
            "pinball": [1.0, 1.0],
            "coverage_80": [0.8, 0.8],
        }
    )
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("tiny", "Tiny", "UTC"))
        records.save_zones(conn, "tiny", pl.DataFrame({"zone_id": ["A", "B"], "name": ["A", "B"]}))
        records.replace_demand(conn, "tiny", demand)
        for issue in days[-5:]:
            targets = [issue, issue + timedelta(days=1)]
            frame = pl.DataFrame(
                {
                    "zone_id": ["A", "A", "B", "B"],
                    "target_date": targets * 2,
                    "horizon": [1, 2, 1, 2],
                    "mean": [13.0, 13.0, 26.0, 26.0],
                    "q10": [11.0, 11.0, 21.0, 21.0],
                    "q50": [13.0, 13.0, 26.0, 26.0],
                    "q90": [15.0, 15.0, 30.0, 30.0],
                }
            )
            records.save_forecasts(conn, "tiny", frame, issued_on=issue, model_version="naive@v1")
        records.save_backtest(
            conn,
            run_id=str(uuid.uuid4()),
            system_id="tiny",
            window_start=days[0],
            window_end=days[4],
            horizon=2,
            models=["naive"],
            metrics=metrics,
            zone_metrics=metrics.with_columns(pl.lit("A").alias("zone_id")),
        )
    store.close()
    return home


def test_monitor_prints_accuracy_beside_the_backtest_alerts_and_sources(tiny: Path) -> None:
    """WAPE 30% beside the backtest's 10% for each day and horizon, two alerts, sources."""
    result = runner.invoke(app(), ["monitor", "--system", "tiny", "--today", "2026-10-11"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "tiny: DEGRADED as of 2026-10-11" in out
    assert "backtest WAPE" in out and "30.0%" in out and "10.0%" in out
    assert "+30.0%" in out, "bias: 30% over-forecast"
    assert "naive@v1 h1: WAPE 30.0%" in out and "naive@v1 h2: WAPE" in out
    assert "Sources" in out and "daily demand" in out


def test_monitor_json_is_machine_readable(tiny: Path) -> None:
    """--json: status, reasons, alerts, sources and the accuracy rows."""
    result = runner.invoke(
        app(), ["monitor", "--system", "tiny", "--today", "2026-10-11", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "degraded"
    assert [a["horizon"] for a in data["alerts"]] == [1, 2]
    assert data["alerts"][0]["days"][-1] == "2026-10-10"
    assert [row["wape"] for row in data["accuracy"]] == pytest.approx([0.3] * 9)
    assert data["sources"][0]["source"] == "daily demand"


def test_monitor_unknown_system_and_bad_day(tiny: Path) -> None:
    """An unknown system exits 1 naming the known ones; a bad --today exits 2."""
    result = runner.invoke(app(), ["monitor", "--system", "nope"])
    assert result.exit_code == 1 and "tiny" in result.output
    result = runner.invoke(app(), ["monitor", "--system", "tiny", "--today", "soon"])
    assert result.exit_code == 2


def test_monitor_help_explains_the_rule() -> None:
    """--help says what is checked and when the system is degraded."""
    result = runner.invoke(app(), ["monitor", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "degraded" in result.output and "--json" in result.output
    assert "WAPE" in result.output


@pytest.fixture
def monitored(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, date]:
    """A private copy of the small monitored demo as the CLI's store; its last day."""
    from monitor_data import monitored_copy

    home, last = monitored_copy(tmp_path_factory, "cli_drift")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(_common.state, "settings", load_settings(home=home, env={}))
    return home, last


def test_monitor_prints_and_returns_the_drift(monitored: tuple[Path, date]) -> None:
    """The drift table per column, the summary line and the report's path on screen; --json
    carries the same check with its report path relative to the home."""
    home, last = monitored
    today = (last + timedelta(days=1)).isoformat()
    result = runner.invoke(app(), ["monitor", "--system", "demo", "--today", today])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Data drift:" in out and "lag_1" in out and "trips" in out
    assert "inputs drifted" in out
    shown = next(line for line in out.splitlines() if line.startswith("Drift report: "))
    assert Path(shown.removeprefix("Drift report: ").strip()).is_file()
    result = runner.invoke(app(), ["monitor", "--system", "demo", "--today", today, "--json"])
    assert result.exit_code == 0, result.output
    drift = json.loads(result.output)["drift"]
    assert drift["current_end"] == last.isoformat()
    assert (home / drift["report_path"]).is_file()
    assert drift["columns"][-1]["column"] == "trips"
    assert drift["inputs"] == len(drift["columns"]) - 1
