"""`fleetcast ingest mds` and `fleetcast ingest opsdb` through Typer's CliRunner: summaries,
--json, secrets only from the environment, and errors that say what to do next."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.sources import mds
from fleetcast.store import Store
from servers import require_pymysql

MDS = Path(__file__).resolve().parent / "data" / "mds"
ZONES = Path(__file__).resolve().parent / "data" / "zones" / "mini_chicago.geojson"
SECRET_VARS = ("FLEETCAST_MDS_TOKEN", "FLEETCAST_OPSDB_URL", "FLEETCAST_OPSDB_PASSWORD")


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token or database URL leaks in from the environment the tests run in."""
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)


def run(home: Path, *args: str | Path) -> Result:
    """``fleetcast --home HOME ARGS...`` with stdout and stderr kept apart."""
    return CliRunner().invoke(app, ["--home", str(home), *map(str, args)])


def flat(text: str) -> str:
    """Text without Rich's table borders, runs of blanks and line breaks as one space."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def new_system(*extra: str) -> list[str]:
    """Options that create system 'ops' in Chicago time over the four test squares."""
    return ["--system", "ops", "--timezone", "America/Chicago", "--zones", str(ZONES), *extra]


def test_ingest_lists_the_operator_commands(home: Path) -> None:
    """`fleetcast ingest --help` offers mds and opsdb."""
    result = run(home, "ingest", "--help")
    assert result.exit_code == 0
    assert "mds" in result.stdout and "opsdb" in result.stdout


def test_mds_folder_prints_a_summary_and_the_reasons(home: Path) -> None:
    """Saved pages load with exit 0; the summary counts rows and lists the reject reasons."""
    result = run(home, "ingest", "mds", MDS / "v1_2" / "trips", *new_system())
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "MDS trips partial:" in out
    for row in ("rows read 8", "accepted 4", "rejected (quarantined) 4", "MDS version 1.2.0"):
        assert row in out
    assert "pages 2" in out and "daily demand rows refreshed" in out
    assert "ends before it starts 1" in out
    assert "quarantine/system_id=ops/" in out
    assert result.stderr == ""


def test_mds_json_report_for_status_changes(home: Path) -> None:
    """--json prints the report alone on stdout, ready for a script."""
    result = run(
        home,
        "ingest",
        "mds",
        MDS / "v2_0" / "events",
        *new_system("--kind", "status_changes", "--json"),
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "status_changes" and report["version"] == "2.0.0"
    assert (report["rows_read"], report["rows_accepted"], report["vehicles_updated"]) == (5, 4, 4)
    assert report["reasons"] == {"battery_percent outside 0-100": 1}


def provider_client(seen: list[httpx.Request]) -> Any:
    """A replacement for ``build_client`` whose client answers from the saved 1.2 pages."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = request.url.params.get("page", "1")
        return httpx.Response(
            200, content=(MDS / "v1_2" / "trips" / f"page{page}.json").read_bytes()
        )

    return lambda **kwargs: httpx.Client(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    ("variable", "option"),
    [("FLEETCAST_MDS_TOKEN", []), ("ACME_TOKEN", ["--token-env", "ACME_TOKEN"])],
)
def test_the_token_comes_from_the_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, option: list[str]
) -> None:
    """The bearer token is read from FLEETCAST_MDS_TOKEN, or the variable --token-env names,
    and is sent to every page; it is never printed."""
    seen: list[httpx.Request] = []
    monkeypatch.setattr(mds, "build_client", provider_client(seen))
    monkeypatch.setenv(variable, "s3cr3t-token")
    url = "https://mds.example.com/provider/trips?end_time=2024-06-03T13"
    result = run(home, "ingest", "mds", url, *new_system(*option))
    assert result.exit_code == 0, result.output
    assert [r.headers["Authorization"] for r in seen] == ["Bearer s3cr3t-token"] * 2
    assert "s3cr3t" not in result.output


def test_an_unset_token_variable_is_a_usage_error(home: Path) -> None:
    """--token-env naming an unset variable exits 2 saying what to export."""
    result = run(home, "ingest", "mds", MDS / "v1_2" / "trips", *new_system("--token-env", "NOPE"))
    assert result.exit_code == 2
    assert "export NOPE=" in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            [MDS / "bad" / "wrong_endpoint.json", *new_system()],
            "has no list of trips",
        ),
        ([MDS / "v1_2" / "trips", "--system", "fresh"], "give its timezone with --timezone"),
        (
            [MDS / "v1_2" / "trips", "--system", "fresh", "--timezone", "America/Chicago"],
            "--zones ZONES.geojson",
        ),
        ([MDS / "v1_2" / "trips", *new_system("--mds-version", "2.0")], "asked for MDS 2.0"),
    ],
)
def test_mds_failures_exit_1_with_what_to_do(home: Path, args: list[Any], says: str) -> None:
    """A feed or a system that cannot be used: exit 1, the reason on stderr, nothing stored."""
    result = run(home, "ingest", "mds", *args)
    assert result.exit_code == 1, result.output
    assert flat(result.stderr).startswith("error:") and says in flat(result.stderr)
    assert result.stdout == ""


def opsdb_source(path: Path) -> str:
    """A small operator database (an SQLite file) with four rides; its URL."""
    url = f"sqlite:///{path}"
    table = sa.Table(
        "rides",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started", sa.DateTime),
        sa.Column("finished", sa.DateTime),
        sa.Column("lat", sa.Float),
        sa.Column("lng", sa.Float),
    )
    start = datetime(2024, 6, 3, 8, 0)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(
            table.insert(),
            [
                {
                    "id": n,
                    "started": start + timedelta(minutes=n),
                    "finished": start + timedelta(minutes=n + 9),
                    "lat": 41.905,
                    "lng": -87.695,
                }
                for n in range(1, 5)
            ],
        )
    engine.dispose()
    return url


def opsdb_toml(path: Path, url: str) -> Path:
    """A config file reading the rides by id."""
    path.write_text(
        f"""
[opsdb]
url = "{url}"
batch_size = 3

[opsdb.trips]
table = "rides"
watermark = "id"
[opsdb.trips.columns]
trip_id = "id"
started_at = "started"
ended_at = "finished"
start_lat = "lat"
start_lon = "lng"
"""
    )
    return path


def test_opsdb_reads_new_rows_then_nothing(home: Path, tmp_path: Path) -> None:
    """A first read loads every ride and shows the watermark; the next finds nothing new."""
    config = opsdb_toml(tmp_path / "ops.toml", opsdb_source(tmp_path / "ops.db"))
    first = run(home, "ingest", "opsdb", *new_system("--config", str(config)))
    assert first.exit_code == 0, first.output
    out = flat(first.stdout)
    assert "Operator database trips ok:" in out
    for row in ("rows read 4", "accepted 4", "batches 2", "watermark before none (first read)"):
        assert row in out
    assert "watermark after 4" in out
    again = run(home, "ingest", "opsdb", "--system", "ops", "--config", config, "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["rows_read"], report["watermark_before"], report["watermark_after"]) == (
        0,
        "4",
        "4",
    )
    store = Store(load_settings(home=home, env={}))
    assert store.lake.read(Dataset.TRIPS, system_id="ops").height == 4
    store.close()


def test_opsdb_config_comes_from_fleetcast_toml(home: Path, tmp_path: Path) -> None:
    """Without --config the [opsdb] section of fleetcast.toml is used; without one, exit 2."""
    missing = run(home, "ingest", "opsdb", "--system", "ops")
    assert missing.exit_code == 2 and "no [opsdb] section" in flat(missing.stderr)
    opsdb_toml(Path("fleetcast.toml"), opsdb_source(tmp_path / "ops.db"))
    result = run(home, "ingest", "opsdb", *new_system("--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_accepted"] == 4


def test_opsdb_refuses_a_password_in_the_file(home: Path, tmp_path: Path) -> None:
    """A URL with a password in the config file: exit 2, telling where the password goes."""
    config = opsdb_toml(tmp_path / "ops.toml", "mysql://reader:hunter2@db.internal/fleet")
    result = run(home, "ingest", "opsdb", *new_system("--config", str(config)))
    assert result.exit_code == 2
    assert "FLEETCAST_OPSDB_PASSWORD" in flat(result.stderr)


def test_opsdb_password_from_the_environment_is_never_printed(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable server: exit 1 naming the URL with the password masked."""
    require_pymysql()
    config = opsdb_toml(tmp_path / "ops.toml", "mysql://reader@127.0.0.1:1/fleet")
    monkeypatch.setenv("FLEETCAST_OPSDB_PASSWORD", "hunter2")
    result = run(home, "ingest", "opsdb", *new_system("--config", str(config)))
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "cannot connect to mysql+pymysql://reader:***@127.0.0.1:1/fleet" in err
    assert "hunter2" not in result.output
