"""The ingest commands through Typer's CliRunner: exit codes, summaries and error messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.store import Store, records

DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
GENERIC = DATA / "trips" / "generic_trips.csv"
MAP = [
    "--map",
    "started_at=begin,ended_at=finish,trip_id=ride",
    "--map",
    "start_lat=from_lat,start_lon=from_lon,end_lat=to_lat,end_lon=to_lon",
]


def run(home: Path, *args: str | Path) -> Result:
    """``fleetcast --home HOME ARGS...`` with stdout and stderr kept apart."""
    return CliRunner().invoke(app, ["--home", str(home), *map(str, args)])


def flat(text: str) -> str:
    """Text without Rich's table borders, runs of blanks and line breaks as one space."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def store_at(home: Path) -> Store:
    """The SQLite store the command wrote to."""
    return Store(load_settings(home=home, env={}))


def test_partly_bad_file_exits_0_with_a_summary(home: Path, mini_zones_path: Path) -> None:
    """Some bad rows: exit 0, a summary of counts, and the reasons table with the quarantine."""
    result = run(
        home,
        "ingest",
        "chicago",
        "--file",
        BAD / "absurd_durations.csv",
        "--zones",
        mini_zones_path,
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest partial:" in out
    for row in (
        "rows read 6",
        "accepted 3",
        "rejected (quarantined) 3",
        "new trips (not seen before) 3",
    ):
        assert row in out
    assert "Rejected rows by reason" in out
    assert "absurd duration 2" in out and "unparseable duration 1" in out
    assert "quarantine/system_id=chicago/" in out
    assert result.stderr == ""


def test_encoding_hint_then_latin1_loads(home: Path, mini_zones_path: Path) -> None:
    """A Latin-1 file fails with a hint to pass --encoding; following the hint loads it all.

    The second run says 'Ingest ok' without a reasons table, and the vendor keeps its 'ö'.
    """
    args = ["ingest", "chicago", "--file", BAD / "latin1.csv", "--zones", mini_zones_path]
    refused = run(home, *args)
    assert refused.exit_code == 1
    assert "pass its encoding, e.g. --encoding latin-1" in flat(refused.stderr)
    result = run(home, *args, "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert "Ingest ok:" in flat(result.stdout)
    assert "rows read 3" in flat(result.stdout)
    assert "Rejected rows by reason" not in result.stdout
    store = store_at(home)
    providers = store.lake.read(Dataset.TRIPS, system_id="chicago")["provider"]
    assert sorted(providers) == ["Bird", "Lime", "Mövil"]
    store.close()


@pytest.mark.parametrize(
    ("file", "says"),
    [
        (
            "wrong_columns.csv",
            [
                "missing column(s) ['Trip ID', 'Start Time', 'End Time', 'Trip Distance', "
                "'Trip Duration']",
                "the file has ['id', 'start', 'end', 'distance_m', 'duration_s', 'zone', 'lat', "
                "'lon']",
                "--map started_at=",
            ],
        ),
        ("latin1.csv", ["is not UTF-8 text", "--encoding latin-1"]),
        ("utf16.csv", ["is UTF-16 text", "--encoding utf-16"]),
        ("empty.csv", ["is empty"]),
        ("all_bad.csv", ["could be loaded (3 read;", "the store was not changed"]),
    ],
)
def test_unusable_file_exits_non_zero_with_a_clear_message(
    home: Path, mini_zones_path: Path, file: str, says: list[str]
) -> None:
    """An unusable file: exit 1, 'error:' and what to do on stderr, nothing on stdout.

    The failed attempt is in the ingest log and no trip reached the lake.
    """
    result = run(home, "ingest", "chicago", "--file", BAD / file, "--zones", mini_zones_path)
    assert result.exit_code == 1, result.output
    err = flat(result.stderr)
    assert err.startswith("error:")
    for fragment in says:
        assert fragment in err
    assert result.stdout == ""
    assert "Traceback" not in result.output
    store = store_at(home)
    assert store.lake.partitions(Dataset.TRIPS) == []
    with store.connect() as conn:
        assert records.recent_ingests(conn, limit=1)[0]["status"] == "failed"
    store.close()


def test_missing_file_is_named(home: Path) -> None:
    """A path that does not exist is an error naming it, before anything is downloaded."""
    result = run(home, "ingest", "chicago", "--file", home / "nope.csv")
    assert result.exit_code == 1
    assert "nope.csv does not exist" in flat(result.stderr)


def test_ingest_trips_with_map(home: Path, mini_zones_path: Path) -> None:
    """``ingest trips`` with --map loads a file in its own layout into a new system."""
    result = run(
        home,
        "ingest",
        "trips",
        GENERIC,
        "--system",
        "acme",
        "--zones",
        mini_zones_path,
        "--timezone",
        "America/Chicago",
        *MAP,
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest partial:" in out and "system acme" in out
    assert "rows read 6" in out and "accepted 4" in out
    assert "start outside every zone 1" in out
    store = store_at(home)
    trips = store.lake.read(Dataset.TRIPS, system_id="acme")
    assert sorted(trips["trip_id"]) == ["r1", "r2", "r3", "r4"]
    store.close()


def test_ingest_trips_h3(home: Path) -> None:
    """``--h3 8`` makes the zones hexagon cells; the file needs no zones GeoJSON."""
    result = run(home, "ingest", "trips", GENERIC, "--system", "hex", "--h3", "8", *MAP)
    assert result.exit_code == 0, result.output
    assert "accepted 5" in flat(result.stdout)


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        ("colour=red", "--map: unknown field 'colour'; fields are trip_id, started_at,"),
        ("started_at", "--map 'started_at' not understood: write field=Column Name"),
        ("started_at=", "--map 'started_at=' not understood"),
    ],
)
def test_map_nonsense_exits_2_naming_the_field(home: Path, pair: str, says: str) -> None:
    """A --map pair that is not field=Column, or names no field, is a usage error (exit 2)."""
    result = run(home, "ingest", "trips", GENERIC, "--system", "acme", "--h3", "8", "--map", pair)
    assert result.exit_code == 2
    assert says in flat(result.stderr)
    assert not (home / "lake").exists()


def test_map_to_a_missing_column_is_named(home: Path, mini_zones_path: Path) -> None:
    """A mapping to a column the file lacks names that column and the file's columns."""
    result = run(
        home,
        "ingest",
        "trips",
        GENERIC,
        "--system",
        "acme",
        "--zones",
        mini_zones_path,
        "--map",
        "started_at=begin,ended_at=end_time,start_lat=from_lat,start_lon=from_lon",
    )
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "missing column(s) ['end_time']" in err
    assert "'ride', 'begin', 'finish'" in err


def test_new_system_needs_zones_or_h3(home: Path) -> None:
    """A new system without --zones or --h3 is refused, saying which options to use."""
    result = run(home, "ingest", "trips", GENERIC, "--system", "acme", *MAP)
    assert result.exit_code == 1
    assert "--zones ZONES.geojson or use a hexagon grid with --h3" in flat(result.stderr)


def test_zones_and_h3_together_are_a_usage_error(home: Path, mini_zones_path: Path) -> None:
    """--zones and --h3 exclude each other (exit 2)."""
    result = run(
        home, "ingest", "trips", GENERIC, "--system", "a", "--zones", mini_zones_path, "--h3", "8"
    )
    assert result.exit_code == 2
    assert "give --zones or --h3, not both" in flat(result.stderr)


def test_error_messages_are_printed_verbatim(
    home: Path, mini_zones_path: Path, tmp_path: Path
) -> None:
    """Column names quoted in an error reach stderr exactly, brackets included."""
    path = tmp_path / "brackets.csv"
    path.write_text("id,[bold]start,[/x]end\n1,2,3\n")
    result = run(home, "ingest", "chicago", "--file", path, "--zones", mini_zones_path)
    assert result.exit_code == 1
    assert "the file has ['id', '[bold]start', '[/x]end']" in flat(result.stderr)
