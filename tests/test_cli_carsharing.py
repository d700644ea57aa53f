"""`fleetcast carsharing delay-policy`: the curve with the recommendation highlighted, the
facts, the documented JSON, re-runs that change nothing, and clear errors for bad input.

The command group is registered here on a throwaway app, as the main app registers it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleetcast.cli._common import state
from fleetcast.cli.carsharing import carsharing_app
from shared_data import shared_file

SMALL = Path(__file__).parent / "data" / "rentals" / "rentals_small.csv"
CURVE_KEYS = {
    "scope",
    "threshold_min",
    "blocked_rentals",
    "blocked_share",
    "solved_cases",
    "solved_share",
}

runner = CliRunner()
app = typer.Typer()
app.add_typer(carsharing_app, name="carsharing")


@pytest.fixture(autouse=True)
def _fresh_settings(home: Path) -> None:
    """Settings read again in each test's folder (the main app's callback does this)."""
    state.settings = None


def _run(*args: str) -> object:
    return runner.invoke(app, ["carsharing", "delay-policy", *args])


def test_help_explains_the_policy(home: Path) -> None:
    """--help says what blocked, problematic and solved mean and lists the options."""
    result = runner.invoke(app, ["carsharing", "delay-policy", "--help"])
    assert result.exit_code == 0
    for word in ("blocked", "problematic", "--scope", "--step", "--price-per-day", "--json"):
        assert word in result.output


def test_table_shows_hours_the_recommendation_and_facts(home: Path) -> None:
    """The table lists the curve every hour plus the recommended threshold, marked, and the
    late check-out facts; the ingest summary goes to stderr."""
    result = _run(str(SMALL))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Scope connect" in out and "Scope mobile" in out
    assert "105 ◀" in out and "15 ◀" in out
    assert "Recommendation: 105 min for scope all" in out
    assert "Check-out delays" in out and "Late check-outs hitting the next rental" in out
    assert "10 accepted" in result.stderr and "9 quarantined" in result.stderr


def test_json_has_the_documented_shape_and_reruns_change_nothing(home: Path) -> None:
    """--json prints every threshold of every scope and the recommendation; loading the
    same file again adds no rental."""
    first = _run(str(SMALL), "--json", "--price-per-day", "50")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert len(doc["curve"]) == 3 * 49
    assert set(doc["curve"][0]) >= CURVE_KEYS
    assert doc["recommendation"]["threshold_min"] == 105
    assert [r["scope"] for r in doc["recommendation"]["by_scope"]] == ["all", "connect", "mobile"]
    assert doc["price_per_day"] == 50.0
    again = _run(str(SMALL), "--json", "--price-per-day", "50")
    assert "0 new" in again.stderr
    assert json.loads(again.stdout) == doc


def test_scope_and_step_narrow_the_curve(home: Path) -> None:
    """--scope connect --step 60 gives Connect's curve every hour and its recommendation."""
    result = _run(str(SMALL), "--scope", "connect", "--step", "60", "--json")
    doc = json.loads(result.stdout)
    assert {p["scope"] for p in doc["curve"]} == {"connect"}
    assert [p["threshold_min"] for p in doc["curve"]] == list(range(0, 721, 60))
    assert (doc["recommendation"]["scope"], doc["recommendation"]["threshold_min"]) == (
        "connect",
        60,
    )


def test_real_file_with_the_pricing_median(home: Path) -> None:
    """On GetAround's file the Connect scope recommends 75 min; revenue is priced at the
    pricing file's median, 119 EUR a day."""
    rentals = shared_file("getaround", "get_around_delay_analysis_rentals_data.csv")
    prices = shared_file("getaround", "get_around_pricing_project.csv")
    result = _run(str(rentals), "--scope", "connect", "--prices", str(prices), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["price_per_day"] == 119.0
    rec = doc["recommendation"]
    assert (rec["threshold_min"], rec["solved_cases"], rec["blocked_rentals"]) == (75, 56, 257)
    assert rec["revenue_blocked"] == 219 * 119.0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--scope", "paper"], 2, "paper"),
        (["--step", "0"], 2, "--step"),
        (["--map", "price=x"], 2, "unknown field"),
    ],
)
def test_bad_options_are_refused(home: Path, args: list[str], code: int, message: str) -> None:
    """Options out of range or not understood exit with a usage error naming them."""
    result = _run(str(SMALL), *args)
    assert result.exit_code == code
    assert message in result.output


def test_a_file_that_is_not_rentals_fails_cleanly(home: Path, tmp_path: Path) -> None:
    """A trips file exits 1 naming the missing columns, without a traceback."""
    path = tmp_path / "trips.csv"
    path.write_text("trip_id,started_at\n1,2024-01-01 08:00\n")
    result = _run(str(path))
    assert result.exit_code == 1
    assert "not a rentals file" in result.output
    assert "Traceback" not in result.output
