"""The command line as a user meets it: help, demo end to end, status, demand, db upgrade."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fleetcast.cli import app

runner = CliRunner()

COMMANDS = [
    [],
    ["demo"],
    ["status"],
    ["demand"],
    ["ingest"],
    ["ingest", "chicago"],
    ["ingest", "trips"],
    ["ingest", "demand"],
    ["ingest", "weather"],
    ["backtest"],
    ["train"],
    ["forecast"],
    ["db"],
    ["db", "upgrade"],
    ["serve"],
    ["dashboard"],
    ["apikey"],
    ["apikey", "create"],
    ["apikey", "list"],
    ["apikey", "revoke"],
]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a 60-day demo city, built once through the CLI for this module."""
    home = tmp_path_factory.mktemp("demo") / "home"
    result = runner.invoke(
        app, ["--home", str(home), "demo", "--days", "60", "--seed", "3", "--no-forecast"]
    )
    assert result.exit_code == 0, result.output
    return home


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fleetcast")
def test_every_command_explains_itself(command: list[str]) -> None:
    """`--help` works for every command and says more than the usage line."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert len(result.output.splitlines()) > 5


def test_demo_end_to_end(demo_home: Path) -> None:
    """A small demo city loads trips, demand for every zone and day, fleet, parkings, depots."""
    result = runner.invoke(app, ["--home", str(demo_home), "status", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    (demo,) = info["systems"]
    assert demo["system_id"] == "demo"
    assert 60 <= demo["zones"] <= 120
    assert demo["days"] == 60
    assert demo["trips"] > 10_000
    assert demo["vehicles"] > 0 and demo["parkings"] > 0 and demo["depots"] >= 1
    assert info["ingests"][0]["source"] == "synthetic"
    assert info["ingests"][0]["status"] == "ok"
    csv = runner.invoke(
        app, ["--home", str(demo_home), "demand", "--system", "demo", "--format", "csv"]
    )
    assert csv.exit_code == 0, csv.output
    demand = pl.read_csv(csv.stdout.encode(), schema_overrides={"zone_id": pl.String})
    assert demand.columns == ["system_id", "zone_id", "date", "trips"]
    assert demand.height == demo["zones"] * demo["days"]
    assert demand["trips"].sum() == demo["trips"]


def test_demo_is_idempotent(demo_home: Path) -> None:
    """Running the demo again with the same seed leaves the same trips, demand, stations
    and vehicles (only the times its feed was read move on)."""

    def systems() -> list[dict[str, object]]:
        out = runner.invoke(app, ["--home", str(demo_home), "status", "--json"])
        found = json.loads(out.stdout)["systems"]
        for system in found:
            for feed in system["feeds"]:
                del feed["last_attempt_at"], feed["last_success_at"]
        return list(found)

    before = systems()
    again = runner.invoke(
        app, ["--home", str(demo_home), "demo", "--days", "60", "--seed", "3", "--no-forecast"]
    )
    assert again.exit_code == 0, again.output
    assert systems() == before


def test_demand_filters_and_formats(demo_home: Path) -> None:
    """`demand` filters by day and zone and writes JSON, CSV and a table."""
    status = json.loads(runner.invoke(app, ["--home", str(demo_home), "status", "--json"]).stdout)
    last = date.fromisoformat(status["systems"][0]["last_day"])
    args = ["--home", str(demo_home), "demand", "--system", "demo", "--start", str(last)]
    rows = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert {r["date"] for r in rows} == {str(last)}
    zone = rows[0]["zone_id"]
    one = json.loads(runner.invoke(app, [*args, "--zone", zone, "--format", "json"]).stdout)
    assert [r["zone_id"] for r in one] == [zone]
    hourly = runner.invoke(app, [*args, "--zone", zone, "--hourly", "--format", "csv"])
    frame = pl.read_csv(hourly.stdout.encode(), schema_overrides={"zone_id": pl.String})
    assert frame.height == 24
    assert frame["trips"].sum() == one[0]["trips"]
    table = runner.invoke(app, [*args, "--zone", zone])
    assert table.exit_code == 0 and zone in table.output


def test_unknown_system_is_a_clear_error(demo_home: Path) -> None:
    """Asking for a system that does not exist names the systems that do, exit code 1."""
    result = runner.invoke(app, ["--home", str(demo_home), "demand", "--system", "nope"])
    assert result.exit_code == 1
    assert "no system 'nope'" in result.stderr
    assert "demo" in result.stderr


def test_bad_date_is_a_usage_error(demo_home: Path) -> None:
    """A malformed --start is refused with exit code 2 and the expected format."""
    result = runner.invoke(
        app, ["--home", str(demo_home), "demand", "--system", "demo", "--start", "31/12/2020"]
    )
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_status_of_an_empty_store(home: Path) -> None:
    """A new store reports no systems, in JSON and with a hint for people."""
    result = runner.invoke(app, ["--home", str(home), "status", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["systems"] == []
    text = runner.invoke(app, ["--home", str(home), "status"])
    assert "fleetcast demo" in text.output


def test_db_upgrade_creates_the_schema(home: Path) -> None:
    """`db upgrade` migrates an empty db to the newest revision and is then a no-op."""
    first = runner.invoke(app, ["--home", str(home), "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "was empty" in first.output
    second = runner.invoke(app, ["--home", str(home), "db", "upgrade"])
    from fleetcast.store.db import head_revision

    assert f"was {head_revision()}" in second.output


def test_bad_db_url_is_reported(home: Path) -> None:
    """A db URL that is not one gives a clear error, not a traceback."""
    result = runner.invoke(app, ["--db-url", "nonsense", "status"])
    assert result.exit_code != 0
    assert "not a database URL" in result.stderr


def test_ingest_chicago_needs_file_or_dates(home: Path) -> None:
    """`ingest chicago` without --file or --since is a usage error that says what to give."""
    result = runner.invoke(app, ["--home", str(home), "ingest", "chicago"])
    assert result.exit_code == 2
    assert "--file" in result.stderr
