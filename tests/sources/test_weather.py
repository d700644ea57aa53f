"""Tests of the weather source: Open-Meteo on recorded answers, weather files, the checks.

Open-Meteo is replayed from bodies in its real format (tests/data/open_meteo) through
``httpx.MockTransport``; nothing here touches the network.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import polars as pl
import pytest

from fleetcast.domain import WEATHER_DAILY
from fleetcast.errors import SchemaError, SourceError
from fleetcast.sources import weather
from shared_data import shared_file

DATA = Path(__file__).resolve().parents[1] / "data"
OPEN_METEO = DATA / "open_meteo"
ARCHIVE = OPEN_METEO / "chicago_archive_2020-08-12_2020-08-18.json"
RECENT = OPEN_METEO / "chicago_archive_recent_days_missing.json"
IMPOSSIBLE = OPEN_METEO / "chicago_archive_impossible_values.json"
FORECAST = OPEN_METEO / "chicago_forecast_2024-06-10_3days.json"
FAHRENHEIT = OPEN_METEO / "chicago_forecast_fahrenheit.json"
ERROR = OPEN_METEO / "error_invalid_daily_variable.json"
MAPPED = DATA / "weather" / "daily_mapped.csv"
MAP = ["date=Day,temp_max_c=TMAX,temp_min_c=TMIN", "precip_mm=RAIN,wind_max_kmh=WIND"]
CHICAGO = (41.8781, -87.6298)
COLUMNS = [c for c in WEATHER_DAILY if c != "system_id"]


def serving(body: Path, *, status: int = 200) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client whose every GET answers ``body`` (and the list of requests it saw)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body.read_bytes())

    return httpx.Client(transport=httpx.MockTransport(answer)), seen


def fetch(body: Path, **kwargs: object) -> tuple[pl.DataFrame, list[httpx.Request]]:
    """fetch_open_meteo at Chicago against a recorded body; defaults fit ARCHIVE."""
    args: dict[str, object] = {
        "start": date(2020, 8, 12),
        "end": date(2020, 8, 18),
        "timezone": "America/Chicago",
        "kind": "observed",
    }
    args.update(kwargs)
    client, seen = serving(body)
    with client:
        frame = weather.fetch_open_meteo(*CHICAGO, client=client, **args)  # type: ignore[arg-type]
    return frame, seen


def test_archive_request_and_frame() -> None:
    """Past days come from the archive API with dates, the four variables and the timezone."""
    frame, seen = fetch(ARCHIVE)
    assert len(seen) == 1
    url = seen[0].url
    assert f"{url.scheme}://{url.host}{url.path}" == weather.ARCHIVE_URL
    assert url.params["start_date"] == "2020-08-12"
    assert url.params["end_date"] == "2020-08-18"
    assert url.params["timezone"] == "America/Chicago"
    assert url.params["daily"] == (
        "temperature_2m_max,temperature_2m_min,precipitation_sum,wind_speed_10m_max"
    )
    assert float(url.params["latitude"]) == CHICAGO[0]
    assert "forecast_days" not in url.params
    assert frame.columns == COLUMNS
    assert frame.schema["date"] == pl.Date
    assert frame.height == 7
    assert frame["kind"].unique().to_list() == ["observed"]
    first = frame.row(0, named=True)
    assert first == {
        "date": date(2020, 8, 12),
        "temp_max_c": 27.9,
        "temp_min_c": 18.3,
        "precip_mm": 0.0,
        "wind_max_kmh": 13.7,
        "kind": "observed",
    }
    assert frame["precip_mm"].sum() == pytest.approx(6.6)


def test_forecast_request_asks_for_forecast_days() -> None:
    """The next days come from the forecast API with forecast_days, not start/end dates."""
    frame, seen = fetch(FORECAST, start=date(2024, 6, 10), end=date(2024, 6, 12), kind="forecast")
    url = seen[0].url
    assert f"{url.scheme}://{url.host}{url.path}" == weather.FORECAST_URL
    assert url.params["forecast_days"] == "3"
    assert "start_date" not in url.params and "end_date" not in url.params
    assert frame["date"].to_list() == [date(2024, 6, 10), date(2024, 6, 11), date(2024, 6, 12)]
    assert frame["kind"].unique().to_list() == ["forecast"]


def test_days_outside_the_range_are_dropped() -> None:
    """An answer holding more days than asked keeps only [start, end]."""
    frame, _ = fetch(ARCHIVE, start=date(2020, 8, 14), end=date(2020, 8, 15))
    assert frame["date"].to_list() == [date(2020, 8, 14), date(2020, 8, 15)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "hindcast"}, "kind 'hindcast' not understood"),
        ({"start": date(2020, 8, 18), "end": date(2020, 8, 12)}, "is before start"),
        (
            {"start": date(2024, 6, 10), "end": date(2024, 6, 26), "kind": "forecast"},
            "at most 16 days",
        ),
    ],
)
def test_nonsense_arguments_are_refused_before_any_request(
    kwargs: dict[str, object], message: str
) -> None:
    """A bad kind, a backwards range or more than 16 forecast days fail without a request."""
    with pytest.raises(ValueError, match=message):
        fetch(ARCHIVE, **kwargs)


def test_coordinates_outside_the_world_are_refused() -> None:
    """Latitude 95 is not a place; nothing is asked."""
    with pytest.raises(ValueError, match="outside the world"):
        weather.open_meteo_request(
            95.0, 0.0, start=date(2020, 1, 1), end=date(2020, 1, 2), timezone="UTC", kind="observed"
        )


def test_missing_days_stay_null_and_are_flagged() -> None:
    """Days the archive lacks come as nulls: a partly missing day is kept and counted,
    a day without any value is rejected as such."""
    frame, _ = fetch(RECENT, start=date(2024, 6, 1), end=date(2024, 6, 5))
    assert frame.height == 5
    checked = weather.check_weather(frame)
    assert checked.accepted["date"].to_list() == [
        date(2024, 6, 1),
        date(2024, 6, 2),
        date(2024, 6, 3),
    ]
    assert (
        checked.accepted.filter(pl.col("date") == date(2024, 6, 2))["wind_max_kmh"].item() is None
    )
    assert checked.missing == {"wind_max_kmh": 1}
    assert checked.reasons == {"no weather values": 2}
    assert checked.rejected["row_number"].to_list() == [4, 5]


def test_impossible_values_are_rejected_with_reasons_never_clamped() -> None:
    """Negative precipitation, 75 °C and max below min each reject their day; others load."""
    frame, _ = fetch(IMPOSSIBLE, end=date(2020, 8, 16))
    checked = weather.check_weather(frame)
    assert checked.accepted["date"].to_list() == [date(2020, 8, 12), date(2020, 8, 14)]
    reasons = dict(zip(checked.rejected["row_number"], checked.rejected["reason"], strict=True))
    assert reasons == {
        2: "negative precipitation",
        4: "temperature outside -80..60 °C",
        5: "max temperature below min",
    }
    record = json.loads(checked.rejected.filter(pl.col("row_number") == 2)["record"].item())
    assert record["precip_mm"] == -0.5 and record["date"] == "2020-08-13"
    assert checked.accepted["precip_mm"].min() == 0.0


def test_limits_are_a_parameter_that_checks_itself() -> None:
    """A colder floor admits a day; limits that make no sense are refused."""
    frame = pl.DataFrame({"date": [date(2021, 1, 1)], "temp_max_c": [-85.0], "temp_min_c": [-89.0]})
    assert weather.check_weather(frame).reasons == {"temperature outside -80..60 °C": 1}
    loose = weather.WeatherLimits(min_temp_c=-95.0)
    assert weather.check_weather(frame, limits=loose).accepted.height == 1
    with pytest.raises(ValueError, match="min_temp_c must be below max_temp_c"):
        weather.WeatherLimits(min_temp_c=70.0)


def test_not_a_number_is_unparseable_not_out_of_range() -> None:
    """NaN is reported once, as unparseable, not also as above every limit."""
    frame = pl.DataFrame(
        {
            "date": [date(2021, 1, 1)],
            "temp_max_c": [5.0],
            "temp_min_c": [1.0],
            "precip_mm": [float("nan")],
            "wind_max_kmh": [10.0],
        }
    )
    assert weather.check_weather(frame).reasons == {"unparseable precip_mm": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (FAHRENHEIT, "'temperature_2m_max' is in '°F', expected '°C'"),
        (DATA / "socrata" / "chicago_2020_page1.json", "instead of an object"),
    ],
)
def test_answers_not_in_our_format_are_refused_whole(body: Path, message: str) -> None:
    """Other units or another API's JSON are a SourceError naming what is wrong."""
    with pytest.raises(SourceError, match=message):
        fetch(body, start=date(2024, 6, 10), end=date(2024, 6, 12), kind="forecast")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"latitude": 41.8}, "without daily values"),
        ({"daily": {"time": ["2020-01-01"]}}, "without daily 'temperature_2m_max'"),
        (
            {
                "daily": {
                    "time": ["2020-01-01", "2020-01-02"],
                    **{v: [1.0] for v in weather.OPEN_METEO_DAILY},
                }
            },
            "has 1 values for 2 days",
        ),
        (
            {"daily": {"time": ["2020-01-01"], **{v: ["1.0"] for v in weather.OPEN_METEO_DAILY}}},
            "holds '1.0', not a number",
        ),
        (
            {"daily": {"time": [1577836800], **{v: [1.0] for v in weather.OPEN_METEO_DAILY}}},
            "is not a day",
        ),
        ({"error": True, "reason": "No data is available for this location"}, "refused"),
    ],
)
def test_malformed_answers(payload: dict[str, object], message: str) -> None:
    """Each structural fault of an answer is named in the SourceError."""
    with pytest.raises(SourceError, match=message):
        weather.parse_open_meteo(payload, kind="observed")


def test_an_error_answer_gives_the_servers_reason() -> None:
    """HTTP 400 with Open-Meteo's error object fails at once with its reason in the message."""
    client, seen = serving(ERROR, status=400)
    with client, pytest.raises(SourceError) as info:
        weather.fetch_open_meteo(
            *CHICAGO,
            start=date(2020, 8, 12),
            end=date(2020, 8, 18),
            timezone="America/Chicago",
            kind="observed",
            client=client,
        )
    assert "HTTP 400" in str(info.value)
    assert "wind_speed_10m_maxx" in str(info.value)
    assert len(seen) == 1


def test_meteostat_daily_file_loads_without_a_mapping() -> None:
    """The real Meteostat-derived daily file (date, tmin, tmax, prcp, wspd) loads all of 2020."""
    path = shared_file("weather", "chicago_meteostat_daily_2020_derived.csv")
    checked = weather.read_weather_file(path)
    assert checked.rows_read == 366
    assert checked.accepted.height == 366
    assert checked.reasons == {} and checked.missing == {}
    first = checked.accepted.row(0, named=True)
    assert first == {
        "date": date(2020, 1, 1),
        "temp_max_c": 5.6,
        "temp_min_c": -5.0,
        "precip_mm": 0.0,
        "wind_max_kmh": 18.55,
        "kind": "observed",
    }
    assert checked.accepted["date"].max() == date(2020, 12, 31)


def test_meteostat_hourly_file_is_refused_as_not_daily() -> None:
    """Hourly rows (time with hours) are not days: the file is refused, not half loaded."""
    path = shared_file("weather", "chicago_meteostat_hourly_2020.csv")
    with pytest.raises(SchemaError, match=r"holds times of day .* aggregate it to one row per day"):
        weather.read_weather_file(path)


def test_mapped_file_flags_missing_and_rejects_bad_rows() -> None:
    """Each bad row of the mapped file is rejected with its reason and its raw record."""
    checked = weather.read_weather_file(MAPPED, mapping=weather.parse_weather_mapping(MAP))
    assert checked.rows_read == 10
    assert checked.accepted["date"].to_list() == [
        date(2020, 8, 12),
        date(2020, 8, 13),
        date(2020, 8, 17),
    ]
    assert checked.missing == {"wind_max_kmh": 1}
    reasons = dict(zip(checked.rejected["row_number"], checked.rejected["reason"], strict=True))
    assert reasons == {
        3: "negative precipitation",
        4: "temperature outside -80..60 °C",
        5: "max temperature below min",
        6: "unparseable temp_max_c",
        8: "missing date",
        9: "unparseable date (use YYYY-MM-DD)",
        10: "no weather values",
    }
    record = json.loads(checked.rejected.filter(pl.col("row_number") == 6)["record"].item())
    assert record == {
        "Day": "2020-08-17",
        "TMAX": "warm",
        "TMIN": "19.6",
        "RAIN": "0.0",
        "WIND": "13.0",
    }


def test_a_later_copy_of_a_good_day_is_a_duplicate(tmp_path: Path) -> None:
    """The first good row of a day wins; a second good one is rejected as a duplicate."""
    path = tmp_path / "twice.csv"
    path.write_text("date,tmax,tmin\n2020-01-01,5,1\n2020-01-01,6,2\n")
    checked = weather.read_weather_file(path)
    assert checked.accepted["temp_max_c"].to_list() == [5.0]
    assert checked.reasons == {"duplicate date in this input": 1}


def test_parquet_file_with_a_datetime_column(tmp_path: Path) -> None:
    """A Parquet file whose days are midnight timestamps loads like a CSV."""
    from datetime import datetime

    path = tmp_path / "weather.parquet"
    pl.DataFrame(
        {"time": [datetime(2020, 1, 1), datetime(2020, 1, 2)], "prcp": [0.0, 3.5]}
    ).write_parquet(path)
    checked = weather.read_weather_file(path, kind="forecast")
    assert checked.accepted["date"].to_list() == [date(2020, 1, 1), date(2020, 1, 2)]
    assert checked.accepted["kind"].unique().to_list() == ["forecast"]
    assert checked.missing == {"temp_max_c": 2, "temp_min_c": 2, "wind_max_kmh": 2}


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        ("When,TMAX\n", {}, "no date column; the file has ['When', 'TMAX']"),
        ("date,humidity\n", {}, "no weather column"),
        ("date,tmax\n", {"precip_mm": "RAIN"}, "missing column(s) ['RAIN']"),
    ],
)
def test_unusable_layouts_say_how_to_map(
    tmp_path: Path, header: str, mapping: dict[str, str], message: str
) -> None:
    """Without a date or any value column, or with a mapped column absent, the file is refused."""
    path = tmp_path / "w.csv"
    path.write_text(header + "2020-01-01,1\n")
    with pytest.raises(SchemaError) as info:
        weather.read_weather_file(path, mapping=mapping)
    assert message in str(info.value)
    assert "--map" in str(info.value)


def test_mapping_names_only_weather_fields() -> None:
    """--map for weather knows its five fields and refuses others."""
    assert weather.parse_weather_mapping(["date=Day, precip_mm = Rain"]) == {
        "date": "Day",
        "precip_mm": "Rain",
    }
    with pytest.raises(SchemaError, match="unknown field 'trips'; fields are date, temp_max_c"):
        weather.parse_weather_mapping(["trips=n"])
