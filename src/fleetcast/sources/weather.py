"""Daily weather: Open-Meteo (archive for past days, forecast for the next ones) and files.

Open-Meteo needs no key. Its archive API (``archive-api.open-meteo.com/v1/archive``) serves
reanalysis history between ``start_date`` and ``end_date``; its forecast API
(``api.open-meteo.com/v1/forecast``) serves ``forecast_days`` days (at most 16) starting
today. Both answer ``{"latitude": .., "daily_units": {..}, "daily": {"time": [..],
"temperature_2m_max": [..], ...}}`` with one list per variable and ``null`` where a value is
missing; with ``timezone`` set, ``time`` holds local days. Units are asked for and checked as
°C, mm and km/h.

Files are CSV or Parquet with a date column and any of the four values, mapped to our names
(``date``, ``temp_max_c``, ``temp_min_c``, ``precip_mm``, ``wind_max_kmh``); Meteostat's
daily columns (``date``/``time``, ``tmax``, ``tmin``, ``prcp``, ``wspd``/``wpgt``) are
understood without a mapping.

Every row is checked before it reaches the store: a missing value is kept as null and
counted, an impossible one (negative precipitation, a temperature outside -80..60 °C, a
maximum below the minimum) rejects the row with its reason. Nothing is clamped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import httpx
import polars as pl

from fleetcast.domain import WEATHER_DAILY
from fleetcast.errors import SchemaError, SourceError
from fleetcast.sources import _checks, _http
from fleetcast.sources._tabular import parse_numbers, read_table, require_columns
from fleetcast.sources.files import parse_mapping
from fleetcast.sources.validate import ROW, count_reasons

WeatherKind = Literal["observed", "forecast"]
KINDS: Final[tuple[str, ...]] = get_args(WeatherKind)

ARCHIVE_URL: Final = "https://archive-api.open-meteo.com/v1/archive"
FORECAST_URL: Final = "https://api.open-meteo.com/v1/forecast"
MAX_FORECAST_DAYS: Final = 16
"""The forecast API serves at most 16 days (today included)."""

OPEN_METEO_DAILY: Final[Mapping[str, str]] = MappingProxyType(
    {
        "temperature_2m_max": "temp_max_c",
        "temperature_2m_min": "temp_min_c",
        "precipitation_sum": "precip_mm",
        "wind_speed_10m_max": "wind_max_kmh",
    }
)
"""Open-Meteo daily variable -> our column."""

OPEN_METEO_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "temperature_2m_max": "°C",
        "temperature_2m_min": "°C",
        "precipitation_sum": "mm",
        "wind_speed_10m_max": "km/h",
    }
)
"""The unit ``daily_units`` must give for each variable (the APIs' defaults)."""

VALUE_FIELDS: Final = ("temp_max_c", "temp_min_c", "precip_mm", "wind_max_kmh")
WEATHER_FIELDS: Final = ("date", *VALUE_FIELDS)
"""Fields a weather file can map (``--map date=Day,precip_mm=Rain``)."""

FILE_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "date": ("date", "time", "day"),
        "temp_max_c": ("temp_max_c", "tmax", "temperature_2m_max"),
        "temp_min_c": ("temp_min_c", "tmin", "temperature_2m_min"),
        "precip_mm": ("precip_mm", "prcp", "precipitation_sum"),
        "wind_max_kmh": ("wind_max_kmh", "wind_speed_10m_max", "wspd", "wpgt"),
    }
)
"""Column names a file may already use for each field, tried in order, in any case.

Meteostat's daily ``wspd`` is the day's *mean* wind speed and ``wpgt`` its peak gust; neither
is quite Open-Meteo's maximum hourly wind speed, so map the one you want when both exist."""

_COLUMNS: Final = tuple(c for c in WEATHER_DAILY if c != "system_id")
_FILE_HINT: Final = (
    "Name the file's columns with --map, e.g. --map date=Day,temp_max_c=TMAX,"
    "temp_min_c=TMIN,precip_mm=PRCP,wind_max_kmh=WIND (units: °C, mm, km/h)"
)


@dataclass(frozen=True, slots=True)
class WeatherLimits:
    """Values beyond which a day's weather is not believed (records are near -90/57 °C)."""

    min_temp_c: float = -80.0
    max_temp_c: float = 60.0
    max_precip_mm: float = 2_000.0
    max_wind_kmh: float = 420.0

    def __post_init__(self) -> None:
        if not self.min_temp_c < self.max_temp_c:
            raise ValueError("min_temp_c must be below max_temp_c")
        if self.max_precip_mm <= 0:
            raise ValueError("max_precip_mm must be positive")
        if self.max_wind_kmh <= 0:
            raise ValueError("max_wind_kmh must be positive")


@dataclass(slots=True)
class CheckedWeather:
    """Weather rows checked: accepted days, rejected rows with reasons, missing values counted.

    ``accepted`` has the WEATHER_DAILY columns less ``system_id``; ``rejected`` has
    ``row_number``, ``reason`` and the original ``record`` as JSON; ``missing`` counts the
    null values of each column among the accepted days (kept, not rejected).
    """

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


def open_meteo_request(
    lat: float,
    lon: float,
    *,
    start: date,
    end: date,
    timezone: str,
    kind: WeatherKind,
) -> tuple[str, dict[str, str | int | float]]:
    """The URL and query parameters for the daily weather of [start, end] at a point.

    ``observed`` asks the archive for exactly those days; ``forecast`` asks the forecast API
    for ``forecast_days`` = the number of days in [start, end], which it counts from today in
    ``timezone`` (so ``start`` is meant to be today). Nonsense arguments are a ValueError.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} not understood: use 'observed' or 'forecast'")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordinates ({lat}, {lon}) are outside the world")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    params: dict[str, str | int | float] = {
        "latitude": lat,
        "longitude": lon,
        "daily": ",".join(OPEN_METEO_DAILY),
        "timezone": timezone,
    }
    if kind == "observed":
        params |= {"start_date": start.isoformat(), "end_date": end.isoformat()}
        return ARCHIVE_URL, params
    days = (end - start).days + 1
    if days > MAX_FORECAST_DAYS:
        raise ValueError(
            f"Open-Meteo forecasts at most {MAX_FORECAST_DAYS} days; {start}..{end} is {days}"
        )
    params["forecast_days"] = days
    return FORECAST_URL, params


def fetch_open_meteo(
    lat: float,
    lon: float,
    *,
    start: date,
    end: date,
    timezone: str,
    kind: WeatherKind,
    client: httpx.Client | None = None,
) -> pl.DataFrame:
    """Daily weather at a point from Open-Meteo, one row per local day in [start, end].

    Columns are WEATHER_DAILY's less ``system_id``, values as served (nulls included, not yet
    checked: see :func:`check_weather`). ``observed`` reads the archive API, ``forecast`` the
    forecast API (from today, see :func:`open_meteo_request`); days the answer holds outside
    [start, end] are dropped. A failed request or an answer not in Open-Meteo's format is a
    SourceError saying what was wrong.
    """
    url, params = open_meteo_request(lat, lon, start=start, end=end, timezone=timezone, kind=kind)
    own_client = client is None
    http = _http.build_client() if client is None else client
    try:
        payload = _http.get_json(http, url, params=params)
    finally:
        if own_client:
            http.close()
    frame = parse_open_meteo(payload, kind=kind, source=url)
    return frame.filter(pl.col("date").is_between(start, end))


def parse_open_meteo(
    payload: Any, *, kind: WeatherKind, source: str = "Open-Meteo"
) -> pl.DataFrame:
    """An Open-Meteo daily answer (parsed JSON) as WEATHER_DAILY columns less ``system_id``.

    The whole answer is refused (SourceError) when it is an error object, lacks ``daily``
    or one of the four variables, has lists of unequal length, a day that is not
    ``YYYY-MM-DD``, a value that is not a number or null, or a unit other than °C / mm / km/h.
    """
    if not isinstance(payload, dict):
        raise SourceError(f"{source} answered {json.dumps(payload)[:200]} instead of an object")
    if payload.get("error"):
        raise SourceError(f"{source} refused the request: {payload.get('reason', payload)}")
    daily = payload.get("daily")
    if not isinstance(daily, dict) or not isinstance(daily.get("time"), list):
        raise SourceError(
            f"{source} answered without daily values (no 'daily.time'); keys: {sorted(payload)}"
        )
    days = daily["time"]
    units = payload.get("daily_units") or {}
    columns: dict[str, list[float | None]] = {}
    for variable, column in OPEN_METEO_DAILY.items():
        values = daily.get(variable)
        if not isinstance(values, list):
            raise SourceError(f"{source} answered without daily {variable!r}")
        if len(values) != len(days):
            raise SourceError(
                f"{source}: daily {variable!r} has {len(values)} values for {len(days)} days"
            )
        unit = units.get(variable) if isinstance(units, dict) else None
        if unit is not None and unit != OPEN_METEO_UNITS[variable]:
            raise SourceError(
                f"{source}: daily {variable!r} is in {unit!r}, expected "
                f"{OPEN_METEO_UNITS[variable]!r}"
            )
        bad = [v for v in values if v is not None and not _is_number(v)]
        if bad:
            raise SourceError(f"{source}: daily {variable!r} holds {bad[0]!r}, not a number")
        columns[column] = [None if v is None else float(v) for v in values]
    parsed = pl.Series("date", [str(d) for d in days], dtype=pl.String).str.to_date(
        "%Y-%m-%d", strict=False
    )
    if parsed.null_count():
        first = days[int(parsed.is_null().arg_true()[0])]
        raise SourceError(f"{source}: daily time {first!r} is not a day (YYYY-MM-DD)")
    frame = pl.DataFrame(
        {"date": parsed, **columns, "kind": [kind] * len(days)},
        schema={c: WEATHER_DAILY[c] for c in _COLUMNS},
    )
    return frame


def check_weather(frame: pl.DataFrame, *, limits: WeatherLimits | None = None) -> CheckedWeather:
    """Split daily weather into accepted and rejected rows, every reason on each bad row.

    ``frame`` has WEATHER_DAILY's columns less ``system_id`` (missing value columns count as
    null), optionally ``_row`` (input row numbers) and, from files, the raw text beside the
    parsed values (``date_raw``, ``temp_max_c_raw``, ...) to tell missing from unparseable.
    Rejected: no or an unparseable date, unparseable or impossible values, a maximum below
    the minimum, a row without any value, a date already given by an earlier good row.
    Nulls are allowed: they stay null and are counted in ``missing``.
    """
    limits = limits or WeatherLimits()
    if "date" not in frame.columns:
        raise SchemaError("weather rows lack a 'date' column")
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    for name in VALUE_FIELDS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Float64).alias(name))
    if "kind" not in frame.columns:
        frame = frame.with_columns(pl.lit("observed").alias("kind"))
    day = pl.col("date")
    has_raw = "date_raw" in frame.columns
    checks: list[_checks.Check] = []
    if has_raw:
        checks += [
            (~_checks.text_present("date_raw"), "missing date"),
            (
                _checks.text_present("date_raw") & day.is_null(),
                "unparseable date (use YYYY-MM-DD)",
            ),
        ]
    else:
        checks.append((day.is_null(), "missing date"))
    absent: list[pl.Expr] = []
    for name in VALUE_FIELDS:
        raw = f"{name}_raw"
        value = pl.col(name)
        unreadable = value.is_nan()
        if raw in frame.columns:
            unreadable = unreadable | (_checks.text_present(raw) & value.is_null())
            absent.append(value.is_null() & ~_checks.text_present(raw).fill_null(False))
        else:
            absent.append(value.is_null())
        checks.append((unreadable, f"unparseable {name}"))
    # NaN is already "unparseable"; comparisons see it as null (Polars orders NaN above all).
    tmax, tmin, precip, wind = (pl.col(n).fill_nan(None) for n in VALUE_FIELDS)
    lo, hi = limits.min_temp_c, limits.max_temp_c
    checks += [
        (
            ~tmax.is_between(lo, hi) | ~tmin.is_between(lo, hi),
            f"temperature outside {lo:g}..{hi:g} °C",
        ),
        (tmax < tmin, "max temperature below min"),
        (precip < 0, "negative precipitation"),
        (precip > limits.max_precip_mm, f"precipitation above {limits.max_precip_mm:g} mm"),
        (wind < 0, "negative wind speed"),
        (wind > limits.max_wind_kmh, f"wind speed above {limits.max_wind_kmh:g} km/h"),
        (
            day.is_not_null() & pl.all_horizontal(absent),
            "no weather values",
        ),
    ]
    split = _checks.split_rows(
        frame, checks, unique=("date", "kind"), duplicate_reason="duplicate date in this input"
    )
    shown = frame.select(
        ROW,
        *(pl.col(c) for c in _COLUMNS if c != "kind"),
    ).with_columns(pl.col("date").cast(pl.String))
    rejected = _checks.with_records(split.rejected, shown)
    accepted = split.accepted.select(*(pl.col(c).cast(WEATHER_DAILY[c]) for c in _COLUMNS)).sort(
        "date"
    )
    missing = {c: accepted[c].null_count() for c in VALUE_FIELDS if accepted[c].null_count()}
    return CheckedWeather(
        accepted=accepted,
        rejected=rejected,
        rows_read=frame.height,
        reasons=count_reasons(rejected),
        missing=missing,
    )


def parse_weather_mapping(items: list[str] | None) -> dict[str, str]:
    """``["date=Day,precip_mm=Rain"]`` to ``{field: column}`` for a weather file."""
    return parse_mapping(items, fields=WEATHER_FIELDS)


def resolve_weather_mapping(columns: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Our weather field -> the file's column: ``mapping`` first, then :data:`FILE_COLUMNS`.

    A date column and at least one value column are required; fields without a column are
    left out (their values are null and counted as missing).
    """
    by_lower = {c.lower(): c for c in reversed(list(columns))}
    resolved: dict[str, str] = {}
    for name, candidates in FILE_COLUMNS.items():
        found = next((by_lower[c] for c in candidates if c in by_lower), None)
        if found is not None:
            resolved[name] = found
    resolved.update(mapping)
    shown = [c for c in columns if c != ROW]
    if "date" not in resolved:
        raise SchemaError(f"no date column; the file has {shown[:20]}. {_FILE_HINT}")
    if not set(resolved) & set(VALUE_FIELDS):
        raise SchemaError(
            f"no weather column (temperature, precipitation or wind); the file has "
            f"{shown[:20]}. {_FILE_HINT}"
        )
    require_columns(
        pl.DataFrame(schema=dict.fromkeys(columns, pl.String)),
        list(resolved.values()),
        hint=_FILE_HINT,
    )
    return resolved


def read_weather_file(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    kind: WeatherKind = "observed",
    encoding: str | None = None,
    limits: WeatherLimits | None = None,
) -> CheckedWeather:
    """Read daily weather from a CSV or Parquet file and check it (see :func:`check_weather`).

    Values must be in °C, mm and km/h; days are taken as written (Meteostat's daily files
    built from hourly UTC data hold UTC days). Rows the CSV reader cannot split are
    rejected with the raw line. A file that cannot be used at all (unreadable, no date or
    no value column, times of day instead of days) is a SchemaError.
    """
    if kind not in KINDS:
        raise SchemaError(f"kind {kind!r} not understood: use 'observed' or 'forecast'")
    table = read_table(path, encoding=encoding)
    resolved = resolve_weather_mapping(list(table.frame.columns), mapping or {})
    raw = table.frame

    def text(name: str) -> pl.Expr:
        if name in resolved:
            return pl.col(resolved[name]).cast(pl.String)
        return pl.lit(None, pl.String)

    frame = raw.select(
        pl.col(ROW),
        text("date").alias("date_raw"),
        *(text(n).alias(f"{n}_raw") for n in VALUE_FIELDS),
    )
    frame = frame.with_columns(
        _checks.parse_days(frame["date_raw"], column=resolved["date"], rows=frame[ROW]).alias(
            "date"
        ),
        *(parse_numbers(frame[f"{n}_raw"]).alias(n) for n in VALUE_FIELDS),
        pl.lit(kind).alias("kind"),
    )
    checked = check_weather(frame, limits=limits)
    rejected = _checks.combine_rejected(
        _checks.with_records(checked.rejected.with_columns(record=None), raw), table.malformed
    )
    return CheckedWeather(
        accepted=checked.accepted,
        rejected=rejected,
        rows_read=table.rows_read,
        reasons=count_reasons(rejected),
        missing=checked.missing,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
