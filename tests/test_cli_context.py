"""`fleetcast ingest demand` and `fleetcast ingest weather` through Typer's CliRunner.

Open-Meteo is replayed from recorded bodies (tests/data/open_meteo) by swapping the HTTP
client the source builds; nothing here touches the network.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner, Result

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.sources import _http
from fleetcast.store import Store, records

DATA = Path(__file__).resolve().parent / "data"
DEMAND = DATA / "demand"
OPEN_METEO = DATA / "open_meteo"
WEATHER_MAP = [
    "--map",
    "date=Day,temp_max_c=TMAX,temp_min_c=TMIN",
    "--map",
    "precip_mm=RAIN,wind_max_kmh=WIND",
]


@pytest.fixture
def open_meteo(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Open-Meteo replayed: the archive answers the recorded 2020-08-12..18 days; the
    forecast answers the recorded forecast's values for ``forecast_days`` days from today in
    the asked timezone, as the real API does."""
    seen: list[httpx.Request] = []
    archive = json.loads((OPEN_METEO / "chicago_archive_2020-08-12_2020-08-18.json").read_text())
    forecast = json.loads((OPEN_METEO / "chicago_forecast_2024-06-10_3days.json").read_text())

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "archive-api.open-meteo.com":
            return httpx.Response(200, json=archive)
        days = int(request.url.params["forecast_days"])
        today = datetime.now(ZoneInfo(request.url.params["timezone"])).date()
        body = json.loads(json.dumps(forecast))
        body["daily"] = {
            name: [values[i % len(values)] for i in range(days)]
            for name, values in forecast["daily"].items()
        }
        body["daily"]["time"] = [(today + timedelta(days=i)).isoformat() for i in range(days)]
        return httpx.Response(200, json=body)

    def client(**kwargs: object) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(answer))

    monkeypatch.setattr(_http, "build_client", client)
    return seen


def run(home: Path, *args: str | Path) -> Result:
    """``fleetcast --home HOME ARGS...`` with stdout and stderr kept apart."""
    return CliRunner().invoke(app, ["--home", str(home), *map(str, args)])


def flat(text: str) -> str:
    """Text without Rich's table borders, runs of blanks and line breaks as one space."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def store_at(home: Path) -> Store:
    """The SQLite store the command wrote to."""
    return Store(load_settings(home=home, env={}))


def new_ops(home: Path, *extra: str) -> Result:
    """Load the good demand file into a new system 'ops' (Chicago time)."""
    return run(
        home,
        "ingest",
        "demand",
        DEMAND / "daily_counts.csv",
        "--system",
        "ops",
        "--timezone",
        "America/Chicago",
        *extra,
    )


def test_demand_file_creates_the_system_and_prints_a_summary(home: Path) -> None:
    """A good file: exit 0, the counts, the zones created and the zero-filled rows."""
    result = new_ops(home, "--country", "US", "--region", "IL")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest ok:" in out
    for row in (
        "rows read 8",
        "accepted 8",
        "rejected (quarantined) 0",
        "new zone-days (not seen before) 8",
        "days 2024-03-01 .. 2024-03-04",
        "zones created 3",
        "daily demand rows written (zero-filled) 12",
    ):
        assert row in out
    assert "Rejected rows by reason" not in out
    store = store_at(home)
    with store.connect() as conn:
        system = records.get_system(conn, "ops")
        assert records.load_demand(conn, "ops").height == 12
    store.close()
    assert (system.country, system.subdivision) == ("US", "IL")


def test_partly_bad_demand_file_exits_0_with_reasons(home: Path) -> None:
    """Some bad rows: exit 0, 'Ingest partial', the reasons and where they are kept."""
    result = run(
        home,
        "ingest",
        "demand",
        DEMAND / "daily_counts_bad.csv",
        "--system",
        "ops",
        "--timezone",
        "UTC",
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest partial:" in out
    assert "rejected (quarantined) 9" in out
    assert "Rejected rows by reason" in out
    assert "trips not a whole number 1" in out
    assert "quarantine/system_id=ops/" in out


def test_demand_with_a_mapping(home: Path) -> None:
    """--map names another layout's columns."""
    result = run(
        home,
        "ingest",
        "demand",
        DEMAND / "operator_export.csv",
        "--system",
        "ops",
        "--timezone",
        "UTC",
        "--map",
        "zone_id=Area,date=Day,trips=Rides",
    )
    assert result.exit_code == 0, result.output
    assert "zones created 2" in flat(result.stdout)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--system", "ops"], 1, "is new: give its timezone with --timezone"),
        (["--system", "ops", "--timezone", "UTC", "--map", "zone=Area"], 2, "unknown field 'zone'"),
        (
            ["--system", "ops", "--timezone", "UTC", "--country", "ZZ"],
            1,
            "no public holidays known for country 'ZZ'",
        ),
    ],
)
def test_demand_refusals(home: Path, args: list[str], code: int, says: str) -> None:
    """A missing timezone or an unknown country exit 1, a bad --map 2, each with a message."""
    result = run(home, "ingest", "demand", DEMAND / "daily_counts.csv", *args)
    assert result.exit_code == code
    assert says in flat(result.stderr)
    assert result.stdout == ""


def test_unusable_demand_file_exits_1(home: Path, tmp_path: Path) -> None:
    """Hourly rows are not daily demand: exit 1 with the reason, nothing loaded."""
    path = tmp_path / "hourly.csv"
    path.write_text("zone_id,date,trips\na,2024-01-01 08:00,3\n")
    result = run(home, "ingest", "demand", path, "--system", "ops", "--timezone", "UTC")
    assert result.exit_code == 1
    assert "holds times of day" in flat(result.stderr)


def test_weather_file_with_missing_and_bad_values(home: Path) -> None:
    """Exit 0 with the summary, the missing-value table and the rejected reasons."""
    assert new_ops(home).exit_code == 0
    result = run(
        home,
        "ingest",
        "weather",
        DATA / "weather" / "daily_mapped.csv",
        "--system",
        "ops",
        *WEATHER_MAP,
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest partial:" in out
    assert "new observed days (not seen before) 3" in out
    assert "Missing values (kept as null)" in out and "wind_max_kmh 1" in out
    assert "negative precipitation 1" in out
    assert "daily demand rows" not in out
    store = store_at(home)
    assert store.lake.read(Dataset.WEATHER_DAILY, system_id="ops").height == 3
    store.close()


def test_weather_refusals(home: Path, tmp_path: Path) -> None:
    """An unknown system or an hourly file exit 1 with a message on stderr."""
    nowhere = run(home, "ingest", "weather", DATA / "weather" / "daily_mapped.csv", "--system", "x")
    assert nowhere.exit_code == 1
    assert "no system 'x' in the store" in flat(nowhere.stderr)
    assert new_ops(home).exit_code == 0
    hourly = tmp_path / "hourly.csv"
    hourly.write_text("time,temp,prcp\n2020-01-01 00:00:00,1,0\n2020-01-01 01:00:00,1,0\n")
    result = run(home, "ingest", "weather", hourly, "--system", "ops")
    assert result.exit_code == 1
    assert "looks like hourly" in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give either a file PATH or --open-meteo"),
        (["weather.csv", "--open-meteo"], "give either a file PATH or --open-meteo"),
        (["--open-meteo"], "give --since DATE --until DATE, or --forecast-days N"),
        (["--open-meteo", "--since", "2020-08-12"], "--since needs --until"),
        (
            ["--open-meteo", "--since", "2020-08-12", "--until", "2020-08-12"],
            "must be after --since",
        ),
        (["--open-meteo", "--since", "12/08/2020", "--until", "2020-08-19"], "is not a date"),
        (["weather.csv", "--since", "2020-08-12"], "go with --open-meteo"),
        (["--open-meteo", "--forecast-days", "3", "--map", "date=Day"], "--map goes with a file"),
    ],
)
def test_weather_usage_errors_exit_2(home: Path, args: list[str], says: str) -> None:
    """Contradictory or incomplete options are usage errors (exit 2) that say what to give."""
    result = run(home, "ingest", "weather", "--system", "ops", *args)
    assert result.exit_code == 2
    assert says in flat(result.stderr)


def test_forecast_days_is_limited_to_16(home: Path) -> None:
    """Open-Meteo forecasts at most 16 days; 17 is refused by the option itself."""
    result = run(
        home, "ingest", "weather", "--system", "ops", "--open-meteo", "--forecast-days", "17"
    )
    assert result.exit_code == 2


def test_open_meteo_history_with_coordinates(home: Path, open_meteo: list[httpx.Request]) -> None:
    """--since/--until (exclusive) read the archive at --lat/--lon, which are then saved."""
    assert new_ops(home).exit_code == 0
    args = ["ingest", "weather", "--open-meteo", "--system", "ops"]
    dates = ["--since", "2020-08-12", "--until", "2020-08-19"]
    refused = run(home, *args, *dates)
    assert refused.exit_code == 1
    assert "has no coordinates" in flat(refused.stderr) and "--lat" in flat(refused.stderr)
    assert open_meteo == []
    result = run(home, *args, *dates, "--lat", "41.88", "--lon", "-87.63")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Ingest ok: https://archive-api.open-meteo.com/v1/archive?" in out
    assert "new observed days (not seen before) 7" in out
    params = open_meteo[-1].url.params
    assert (params["start_date"], params["end_date"]) == ("2020-08-12", "2020-08-18")
    assert params["timezone"] == "America/Chicago"
    again = run(home, *args, *dates)
    assert again.exit_code == 0, again.output
    assert "new observed days (not seen before) 0" in flat(again.stdout)


def test_open_meteo_forecast_from_today(home: Path, open_meteo: list[httpx.Request]) -> None:
    """--forecast-days 3 asks the forecast API for 3 days and stores them as forecasts."""
    assert new_ops(home).exit_code == 0
    result = run(
        home,
        "ingest",
        "weather",
        "--open-meteo",
        "--system",
        "ops",
        "--forecast-days",
        "3",
        "--lat",
        "41.88",
        "--lon",
        "-87.63",
    )
    assert result.exit_code == 0, result.output
    assert "new forecast days (not seen before) 3" in flat(result.stdout)
    assert open_meteo[-1].url.params["forecast_days"] == "3"
    assert open_meteo[-1].url.host == "api.open-meteo.com"
    store = store_at(home)
    stored = store.lake.read(Dataset.WEATHER_DAILY, system_id="ops")
    store.close()
    assert stored["kind"].to_list() == ["forecast"] * 3


@pytest.mark.parametrize("command", ["demand", "weather"])
def test_help_explains_the_command(command: str) -> None:
    """--help describes the input, the options and the exit codes."""
    result = CliRunner().invoke(app, ["ingest", command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out = flat(result.stdout)
    assert "--system" in out and "--map" in out
    assert "exits 0 when some rows load" in out.lower()
    if command == "weather":
        assert "--open-meteo" in out and "--forecast-days" in out and "--since" in out
    else:
        assert "--timezone" in out and "--region" in out
