"""`fleetcast ingest gbfs` and `fleetcast poll gbfs` through Typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from fleetcast.cli import app
from fleetcast.cli.feeds import parse_duration
from shared_data import shared_file

DATA = Path(__file__).resolve().parent / "data" / "gbfs"


def run(home: Path, *args: str | Path) -> Result:
    """``fleetcast --home HOME ARGS...``."""
    return CliRunner().invoke(app, ["--home", str(home), *map(str, args)])


def flat(text: str) -> str:
    """Text without Rich's table borders, runs of blanks and line breaks as one space."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def velib() -> Path:
    """The real Vélib' snapshot folder (skips when ../shared/data is absent)."""
    return shared_file("gbfs", "velib_paris", "station_status.json").parent


def test_velib_ingest_then_status_shows_its_stations(home: Path) -> None:
    """The issue's example: 1,495 stations loaded, the Vélib' deviations listed as warnings,
    and `status --json` counting the stations with the feeds' health."""
    result = run(home, "ingest", "gbfs", velib(), "--system", "paris", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "GBFS ingest ok:" in out
    assert "stations 1,495" in out and "station statuses 1,495" in out
    assert "paris (created)" in out
    for warning in (
        "station_status: top-level timestamp named lastUpdatedOther instead of last_updated",
        "station_id given as integers (1,495 records): read as text",
        "camelCase duplicates numBikesAvailable, numDocksAvailable",
        "num_bikes_available_types given as a list of one-key objects",
    ):
        assert warning in out
    assert "poll gbfs" in out
    status = run(home, "status", "--json")
    assert status.exit_code == 0, status.output
    paris = next(s for s in json.loads(status.stdout)["systems"] if s["system_id"] == "paris")
    assert (paris["stations"], paris["vehicles"], paris["timezone"]) == (1495, 0, "Europe/Paris")
    assert sorted(f["kind"] for f in paris["feeds"]) == ["station_info", "station_status"]
    assert all(f["status"] == "ok" for f in paris["feeds"])


def test_ingest_json_output(home: Path) -> None:
    """--json prints the report: counts per feed, warnings, quarantine reasons."""
    tier = shared_file("gbfs", "tier_wolfsburg", "gbfs.json").parent
    result = run(home, "ingest", "gbfs", tier, "--system", "wob", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["vehicles"], report["version"], report["status"]) == (840, "2.3", "ok")
    assert [f["name"] for f in report["feeds"]] == [
        "system_information",
        "vehicle_types",
        "free_bike_status",
    ]
    assert report["feeds"][-1]["rows_new"] == 840


def test_quarantined_records_are_listed_with_their_reasons(home: Path) -> None:
    """A partly bad feed exits 0 and shows the reasons and where the quarantine is."""
    result = run(home, "ingest", "gbfs", DATA / "bad", "--system", "bad")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "GBFS ingest partial:" in out
    assert "Quarantined records by reason" in out
    assert "coordinates outside the world 2" in out
    assert "negative num_bikes_available 1" in out
    assert "quarantine/system_id=bad/" in out


def test_new_system_without_timezone_says_what_to_do(home: Path) -> None:
    """No system_information and no --timezone: exit 1 asking for --timezone."""
    result = run(home, "ingest", "gbfs", velib(), "--system", "paris")
    assert result.exit_code == 1
    assert "give its timezone with --timezone" in flat(result.stderr)


def test_unusable_input_exits_1_and_bad_system_id_exits_2(home: Path, tmp_path: Path) -> None:
    """A folder without GBFS files fails cleanly; an invalid system id is a usage error."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(home, "ingest", "gbfs", empty, "--system", "x")
    assert result.exit_code == 1
    assert "neither gbfs.json nor any GBFS file" in flat(result.stderr)
    result = run(home, "ingest", "gbfs", velib(), "--system", "Not Valid")
    assert result.exit_code == 2
    assert "--system" in flat(result.stderr)


def test_poll_a_folder_for_a_few_polls(home: Path) -> None:
    """`poll gbfs` reads, then finds the replayed snapshot unchanged, and sums up."""
    tier = shared_file("gbfs", "tier_wolfsburg", "gbfs.json").parent
    result = run(
        home, "poll", "gbfs", tier, "--system", "wob", "--every", "50ms", "--max-polls", "2"
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "free_bike_status 840 stored" in out
    assert "unchanged: system_information, vehicle_types, free_bike_status" in out
    assert "2 polls, 1 snapshots stored, 0 failed reads" in out
    assert "free_bike_status ok" in out


def test_poll_json_summary_and_failures(home: Path, tmp_path: Path) -> None:
    """--json prints the summary to stdout; a broken file is shown and counted, not fatal."""
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "free_bike_status.json").write_text('{"last_updated": 1760778000, "data": {')
    result = run(
        home,
        "poll",
        "gbfs",
        folder,
        "--system",
        "x",
        "--timezone",
        "UTC",
        "--every",
        "50ms",
        "--max-polls",
        "2",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["polls"], summary["failures"], summary["snapshots"]) == (2, 2, 0)
    assert "free_bike_status failed" in flat(result.stderr)
    assert "truncated" in flat(result.stderr)


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("5m", 300.0), ("1.5h", 5400.0), ("90", 90.0)]
)
def test_durations(text: str, seconds: float) -> None:
    """Durations take s, m, h (or plain seconds)."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "soon", "-5m", "5d"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    """Zero, negative, unknown units and words exit 2."""
    with pytest.raises(typer.Exit) as raised:
        parse_duration(text)
    assert raised.value.exit_code == 2
