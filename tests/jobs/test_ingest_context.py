"""The context-data jobs on SQLite and PostgreSQL: demand files, weather files, Open-Meteo.

Open-Meteo is replayed from recorded bodies in its real format (tests/data/open_meteo);
nothing here touches the network.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from fleetcast.domain import Dataset, SystemInfo
from fleetcast.errors import NothingLoadedError, SchemaError, SourceError, UnknownSystemError
from fleetcast.jobs.context import (
    DemandReport,
    WeatherReport,
    fetch_weather,
    ingest_demand_file,
    ingest_weather_file,
    system_holidays,
    system_today,
)
from fleetcast.jobs.ingest import register_system
from fleetcast.store import Store, records
from shared_data import shared_file

DATA = Path(__file__).resolve().parents[1] / "data"
DEMAND = DATA / "demand"
OPEN_METEO = DATA / "open_meteo"
ARCHIVE = OPEN_METEO / "chicago_archive_2020-08-12_2020-08-18.json"
IMPOSSIBLE = OPEN_METEO / "chicago_archive_impossible_values.json"
FORECAST = OPEN_METEO / "chicago_forecast_2024-06-10_3days.json"
ERROR = OPEN_METEO / "error_invalid_daily_variable.json"
WINDY_CITY = SystemInfo(
    system_id="windy",
    name="Windy City scooters",
    timezone="America/Chicago",
    country="US",
    subdivision="IL",
    center_lat=41.8781,
    center_lon=-87.6298,
)


def recorded(body: Path, *, status: int = 200) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client answering every GET with ``body``, and the requests it received."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body.read_bytes())

    return httpx.Client(transport=httpx.MockTransport(answer)), seen


def last_log(store: Store, system_id: str) -> dict[str, object]:
    """The newest ingest log entry of a system."""
    with store.connect() as conn:
        return records.recent_ingests(conn, system_id=system_id, limit=1)[0]


def load_counts(store: Store, **kwargs: object) -> DemandReport:
    """The good demand file into a new system 'ops' (Chicago time, US-IL holidays)."""
    args: dict[str, object] = {
        "system_id": "ops",
        "timezone": "America/Chicago",
        "country": "us",
        "subdivision": "il",
    }
    args.update(kwargs)
    return ingest_demand_file(store, DEMAND / "daily_counts.csv", **args)  # type: ignore[arg-type]


def fetch_archive(store: Store, body: Path = ARCHIVE, **kwargs: object) -> WeatherReport:
    """fetch_weather for 2020-08-12..18 of 'windy' against a recorded archive answer."""
    args: dict[str, object] = {
        "system_id": "windy",
        "start": date(2020, 8, 12),
        "end": date(2020, 8, 18),
    }
    args.update(kwargs)
    client, _ = recorded(body)
    with client:
        return fetch_weather(store, client=client, **args)  # type: ignore[arg-type]


def test_demand_file_creates_system_zones_and_zero_filled_days(store: Store) -> None:
    """A new system gets zones from the ids and every zone a row on every covered day."""
    report = load_counts(store)
    assert report.status == "ok"
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (8, 8, 0)
    assert report.rows_new == 8 and report.zones_created == 3
    assert (report.first_day, report.last_day) == (date(2024, 3, 1), date(2024, 3, 4))
    assert report.demand_rows == 12
    with store.connect() as conn:
        system = records.get_system(conn, "ops")
        zones = records.load_zones(conn, "ops")
        demand = records.load_demand(conn, "ops")
    assert (system.timezone, system.country, system.subdivision) == ("America/Chicago", "US", "il")
    assert zones["zone_id"].to_list() == ["centre", "north", "south"]
    assert zones["geometry"].null_count() == 3
    assert demand.height == 12
    assert demand["trips"].sum() == 12 + 9 + 15 + 4 + 7 + 31 + 28 + 1024
    assert demand.filter(pl.col("trips") == 0).height == 4
    south = demand.filter(pl.col("zone_id") == "south")["trips"].to_list()
    assert south == [4, 0, 7, 0]
    log = last_log(store, "ops")
    assert log["status"] == "ok" and log["dataset"] == "demand_daily"
    assert log["source"] == "demand-file" and log["rows_accepted"] == 8


def test_demand_file_twice_changes_nothing(store: Store) -> None:
    """Loading the same file again replaces the same rows: nothing new, same demand."""
    load_counts(store)
    with store.connect() as conn:
        before = records.load_demand(conn, "ops")
    again = load_counts(store, timezone=None, country=None, subdivision=None)
    assert again.rows_new == 0 and again.zones_created == 0
    with store.connect() as conn:
        after = records.load_demand(conn, "ops")
        logs = records.recent_ingests(conn, system_id="ops")
    assert after.equals(before)
    assert [log["status"] for log in logs] == ["ok", "ok"]


def test_a_later_file_replaces_only_its_days(store: Store, tmp_path: Path) -> None:
    """A file of 03-04..05 rewrites those days for every zone and leaves 03-01..03 alone."""
    load_counts(store)
    later = tmp_path / "later.csv"
    later.write_text("zone_id,date,trips\nnorth,2024-03-04,20\nsouth,2024-03-05,2\n")
    report = ingest_demand_file(store, later, system_id="ops")
    assert report.rows_new == 1 and report.demand_rows == 6
    with store.connect() as conn:
        demand = records.load_demand(conn, "ops")
    by_day = demand.group_by("date").agg(pl.col("trips").sum()).sort("date")
    assert by_day.rows() == [
        (date(2024, 3, 1), 16),
        (date(2024, 3, 2), 40),
        (date(2024, 3, 3), 35),
        (date(2024, 3, 4), 20),
        (date(2024, 3, 5), 2),
    ]


def test_bad_demand_rows_are_quarantined(store: Store) -> None:
    """Good rows load; each bad one lands in the quarantine dataset with its reason."""
    report = ingest_demand_file(
        store, DEMAND / "daily_counts_bad.csv", system_id="ops", timezone="Europe/Paris"
    )
    assert report.status == "partial"
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (12, 3, 9)
    assert report.reasons["negative trips"] == 1
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="ops")
    assert quarantine.height == 9
    assert set(quarantine["ingest_id"]) == {report.ingest_id}
    assert set(quarantine["source"]) == {"demand-file"}
    assert quarantine.sort("row_number")["row_number"].to_list() == [3, 4, 5, 6, 7, 8, 9, 10, 12]
    log = last_log(store, "ops")
    assert log["status"] == "partial"
    assert log["rejects_by_reason"] == report.reasons
    with store.connect() as conn:
        assert records.load_demand(conn, "ops").height == 2 * 4  # 2 zones x 03-01..04


def test_unknown_zones_are_rejected_once_the_system_has_zones(store: Store, tmp_path: Path) -> None:
    """Zones are created only for a system without any; later files may not invent zones."""
    load_counts(store)
    extra = tmp_path / "extra.csv"
    extra.write_text("zone_id,date,trips\nnorth,2024-03-05,3\neast,2024-03-05,8\n")
    report = ingest_demand_file(store, extra, system_id="ops")
    assert report.reasons == {"unknown zone": 1}
    assert report.zones_created == 0
    with store.connect() as conn:
        assert len(records.load_zones(conn, "ops")) == 3


def test_new_system_needs_a_timezone(store: Store) -> None:
    """Without --timezone a new system is refused before anything is written."""
    with pytest.raises(SchemaError, match="is new: give its timezone with --timezone"):
        ingest_demand_file(store, DEMAND / "daily_counts.csv", system_id="ops")
    with pytest.raises(SchemaError, match="unknown timezone 'Mars/Olympus'"):
        ingest_demand_file(
            store, DEMAND / "daily_counts.csv", system_id="ops", timezone="Mars/Olympus"
        )
    with store.connect() as conn:
        assert records.list_system_ids(conn) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"country": "XX"}, "no public holidays known for country 'XX'"),
        ({"subdivision": "IL"}, "--region needs --country"),
        ({"system_id": "Ops Team"}, "system id 'Ops Team' not understood"),
    ],
)
def test_bad_system_settings_are_clear_errors(
    store: Store, kwargs: dict[str, object], message: str
) -> None:
    """An unknown country, a region without a country or a bad id are SchemaErrors."""
    args: dict[str, object] = {"system_id": "ops", "timezone": "UTC"}
    args.update(kwargs)
    with pytest.raises(SchemaError, match=message):
        ingest_demand_file(store, DEMAND / "daily_counts.csv", **args)  # type: ignore[arg-type]


def test_all_bad_file_leaves_no_system_behind(store: Store, tmp_path: Path) -> None:
    """When no row is good nothing is written, not even the new system; the run is logged."""
    path = tmp_path / "all_bad.csv"
    path.write_text("zone_id,date,trips\na,2024-01-01,-1\n,2024-01-02,3\n")
    with pytest.raises(NothingLoadedError, match="could be loaded"):
        ingest_demand_file(store, path, system_id="ops", timezone="UTC")
    with store.connect() as conn:
        assert records.list_system_ids(conn) == []
    assert store.lake.partitions(Dataset.QUARANTINE) == []
    assert last_log(store, "ops")["status"] == "failed"


def test_unreadable_demand_file_is_logged_as_failed(store: Store, tmp_path: Path) -> None:
    """A file without the demand columns is refused whole and logged 'failed'."""
    path = tmp_path / "trips.csv"
    path.write_text("trip_id,started_at\n1,2024-01-01 08:00\n")
    with pytest.raises(SchemaError, match="no column for"):
        ingest_demand_file(store, path, system_id="ops", timezone="UTC")
    log = last_log(store, "ops")
    assert log["status"] == "failed" and log["dataset"] == "demand_daily"
    assert "SchemaError" in str(log["message"])


def test_holidays_follow_the_systems_country_and_region(store: Store) -> None:
    """US-IL has Casimir Pulaski Day on the first Monday of March; no country, no holidays."""
    load_counts(store)
    days = system_holidays(store, system_id="ops", start=date(2024, 3, 1), end=date(2024, 3, 31))
    assert days.rows() == [(date(2024, 3, 4), "Casimir Pulaski Day")]
    ingest_demand_file(store, DEMAND / "daily_counts.csv", system_id="bare", timezone="UTC")
    empty = system_holidays(store, system_id="bare", start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert empty.is_empty() and empty.columns == ["date", "name"]


def test_weather_file_lands_in_the_lake_idempotently(store: Store) -> None:
    """The Meteostat daily file loads 366 observed days; a second run adds nothing."""
    path = shared_file("weather", "chicago_meteostat_daily_2020_derived.csv")
    register_system(store, WINDY_CITY, None)
    report = ingest_weather_file(store, path, system_id="windy")
    assert isinstance(report, WeatherReport)
    assert (report.rows_accepted, report.rows_new, report.status) == (366, 366, "ok")
    again = ingest_weather_file(store, path, system_id="windy")
    assert again.rows_new == 0
    stored = store.lake.read(Dataset.WEATHER_DAILY, system_id="windy")
    assert stored.height == 366
    assert set(stored["kind"]) == {"observed"}
    log = last_log(store, "windy")
    assert log["dataset"] == "weather_daily" and log["source"] == "weather-file"


def test_weather_file_quarantines_bad_rows_and_notes_missing_values(store: Store) -> None:
    """Impossible rows are quarantined; a kept null is counted and noted in the ingest log."""
    register_system(store, WINDY_CITY, None)
    report = ingest_weather_file(
        store,
        DATA / "weather" / "daily_mapped.csv",
        system_id="windy",
        mapping={
            "date": "Day",
            "temp_max_c": "TMAX",
            "temp_min_c": "TMIN",
            "precip_mm": "RAIN",
            "wind_max_kmh": "WIND",
        },
    )
    assert (report.status, report.rows_accepted, report.rows_rejected) == ("partial", 3, 7)
    assert report.missing == {"wind_max_kmh": 1}
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="windy")
    assert quarantine.height == 7
    assert "negative precipitation" in quarantine["reason"].to_list()
    log = last_log(store, "windy")
    assert log["message"] == "missing values kept as null: wind_max_kmh on 1 day(s)"


def test_weather_needs_an_existing_system(store: Store) -> None:
    """Weather for a system that does not exist says how to create it."""
    with pytest.raises(UnknownSystemError, match="fleetcast ingest demand"):
        ingest_weather_file(store, DATA / "weather" / "daily_mapped.csv", system_id="nowhere")


def test_open_meteo_archive_lands_in_the_lake_idempotently(store: Store) -> None:
    """7 archive days become observed rows; fetching them again adds nothing."""
    register_system(store, WINDY_CITY, None)
    report = fetch_archive(store)
    assert (report.status, report.rows_accepted, report.rows_new) == ("ok", 7, 7)
    assert report.source == "open-meteo" and report.kind == "observed"
    assert report.location.startswith("https://archive-api.open-meteo.com/v1/archive?")
    assert fetch_archive(store).rows_new == 0
    stored = store.lake.read(Dataset.WEATHER_DAILY, system_id="windy")
    assert stored.height == 7
    assert stored.sort("date")["temp_max_c"].to_list()[:2] == [27.9, 28.4]


def test_forecast_days_sit_beside_observed_ones(store: Store) -> None:
    """A forecast is stored with kind 'forecast' and does not replace observed days."""
    register_system(store, WINDY_CITY, None)
    fetch_archive(store)
    client, seen = recorded(FORECAST)
    with client:
        report = fetch_weather(
            store,
            system_id="windy",
            start=date(2024, 6, 10),
            end=date(2024, 6, 12),
            kind="forecast",
            client=client,
        )
    assert report.rows_new == 3 and report.kind == "forecast"
    assert seen[0].url.params["forecast_days"] == "3"
    assert seen[0].url.params["timezone"] == "America/Chicago"
    stored = store.lake.read(Dataset.WEATHER_DAILY, system_id="windy")
    assert stored.group_by("kind").len().sort("kind").rows() == [("forecast", 3), ("observed", 7)]


def test_impossible_open_meteo_days_are_quarantined(store: Store) -> None:
    """Days with impossible values are kept out of the lake and quarantined with reasons."""
    register_system(store, WINDY_CITY, None)
    report = fetch_archive(store, IMPOSSIBLE, end=date(2020, 8, 16))
    assert (report.rows_accepted, report.rows_rejected) == (2, 3)
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="windy")
    assert sorted(quarantine["reason"]) == [
        "max temperature below min",
        "negative precipitation",
        "temperature outside -80..60 °C",
    ]
    assert store.lake.read(Dataset.WEATHER_DAILY, system_id="windy").height == 2


def test_a_system_without_coordinates_is_a_clear_error(store: Store) -> None:
    """No centre: the error says to give --lat/--lon; giving them fetches and saves them."""
    register_system(store, SystemInfo("bare", "Bare", "America/Chicago"), None)
    with pytest.raises(SchemaError, match=r"has no coordinates.*--lat and --lon"):
        fetch_archive(store, system_id="bare")
    report = fetch_archive(store, system_id="bare", lat=41.88, lon=-87.63)
    assert report.rows_accepted == 7
    with store.connect() as conn:
        saved = records.get_system(conn, "bare")
    assert (saved.center_lat, saved.center_lon) == (41.88, -87.63)
    with pytest.raises(SchemaError, match="give both --lat and --lon"):
        fetch_archive(store, system_id="bare", lat=41.88)


def test_a_failed_request_is_logged_and_changes_nothing(store: Store) -> None:
    """Open-Meteo's HTTP 400 is a SourceError with its reason; the run is logged 'failed'."""
    register_system(store, WINDY_CITY, None)
    client, seen = recorded(ERROR, status=400)
    with client, pytest.raises(SourceError, match="wind_speed_10m_maxx"):
        fetch_weather(
            store, system_id="windy", start=date(2020, 8, 12), end=date(2020, 8, 18), client=client
        )
    assert len(seen) == 1
    assert store.lake.partitions(Dataset.WEATHER_DAILY) == []
    log = last_log(store, "windy")
    assert log["status"] == "failed" and log["source"] == "open-meteo"
    assert "SourceError" in str(log["message"])


def test_the_archive_is_not_asked_for_future_days(store: Store) -> None:
    """Observed weather ends today at the latest; the error points to --forecast-days."""
    register_system(store, WINDY_CITY, None)
    tomorrow = system_today(store, system_id="windy") + timedelta(days=1)
    with pytest.raises(SchemaError, match=r"past days only.*--forecast-days"):
        fetch_archive(store, start=date(2024, 1, 1), end=tomorrow)
