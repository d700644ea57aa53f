"""Model features of a zone-day: calendar, holidays, weather, arrivals, city and zone, as pure
Polars functions.

Every gradient-boosted model builds its training rows and its prediction rows with the same
functions of this module, so a feature cannot be computed one way in training and another
way at prediction time. Each function takes a frame with a ``date`` column (and a
``zone_id`` column for :func:`add_zone_features`) and returns it with feature columns added;
none reads demand, so none can leak a target.

Weather for days without a row (a forecast that does not reach that far, or a gap) is filled
by :func:`complete_weather` with climatology: the mean of the same day of year ± a few days
over the observed history. Airport arrivals for days without a row are filled by
:func:`complete_arrivals` with the mean of the same weekday (flight schedules are weekly).

City facts (:func:`add_city_features`) are the same on every row of one system, so a model
fitted on one system cannot split on them; they are for models trained across systems.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import polars as pl

from fleetcast.forecasting.base import WEATHER_COLUMNS

CALENDAR_FEATURES: Final = ("day_of_year", "weekday", "weekend", "iso_week", "month")
"""Columns of :func:`add_calendar_features` (weekday 1 = Monday .. 7 = Sunday)."""

HOLIDAY_FEATURES: Final = ("holiday", "day_before_holiday", "day_after_holiday", "day_off")
"""Columns of :func:`add_holiday_features` (``day_off``: a weekend day or a holiday)."""

WEATHER_VALUES: Final = WEATHER_COLUMNS[1:]
"""The weather measurements a training set carries for each day."""

WEATHER_FEATURES: Final = (
    *WEATHER_VALUES,
    "wet",
    "temp_max_c_prev",
    "precip_mm_prev",
)
"""Columns of :func:`add_weather_features`: the day's weather, a wet-day flag (≥ 1 mm) and
the previous day's temperature and rain (which shaped the lag-1 demand a model sees)."""

ARRIVAL_FEATURES: Final = ("arrivals",)
"""Columns of :func:`add_arrival_features`: flights landed at the system's airports that day."""

CITY_FEATURES: Final = ("city_population", "city_area_km2", "city_density_per_km2")
"""Columns of :func:`add_city_features` (static per system)."""

ZONE_FEATURES: Final = ("zone_code", "area_km2", "centre_km")
"""Columns of :func:`add_zone_features`; ``zone_code`` is the zone as a categorical code."""

CLIMATOLOGY_HALF_WINDOW_DAYS: Final = 7
"""Climatology for a day averages the history within this many days of its day of year."""

_ZONE_CODE: Final = "zone_code"


def add_calendar_features(frame: pl.DataFrame, *, date_col: str = "date") -> pl.DataFrame:
    """Add day of year, ISO weekday, weekend flag, ISO week and month of ``date_col``.

    Small integer columns (Int16 / Int8) so every model reads them as ordered numbers.
    """
    day = pl.col(date_col)
    return frame.with_columns(
        day.dt.ordinal_day().cast(pl.Int16).alias("day_of_year"),
        day.dt.weekday().cast(pl.Int8).alias("weekday"),
        (day.dt.weekday() >= 6).cast(pl.Int8).alias("weekend"),
        day.dt.week().cast(pl.Int8).alias("iso_week"),
        day.dt.month().cast(pl.Int8).alias("month"),
    )


def add_holiday_features(
    frame: pl.DataFrame, holidays: Collection[date], *, date_col: str = "date"
) -> pl.DataFrame:
    """Add flags for a public holiday, the day before one, the day after one, and a day off.

    ``day_off`` is a weekend day or a holiday: riders behave alike on both.
    """
    days = pl.Series("holidays", sorted(holidays), dtype=pl.Date).implode()
    day = pl.col(date_col)
    return frame.with_columns(
        day.is_in(days).cast(pl.Int8).alias("holiday"),
        (day + timedelta(days=1)).is_in(days).cast(pl.Int8).alias("day_before_holiday"),
        (day - timedelta(days=1)).is_in(days).cast(pl.Int8).alias("day_after_holiday"),
        (day.is_in(days) | (day.dt.weekday() >= 6)).cast(pl.Int8).alias("day_off"),
    )


@dataclass(frozen=True, slots=True)
class CompletedWeather:
    """Weather with a row for every requested day, and the requested days that had no row."""

    frame: pl.DataFrame
    filled: tuple[date, ...]
    no_history: bool = False
    """True when there was no observed weather at all: the filled rows are null."""

    @property
    def note(self) -> str | None:
        """A sentence for the job report when climatology stood in for missing days."""
        if not self.filled:
            return None
        days = _span(self.filled)
        if self.no_history:
            return f"no weather for {days} and none observed before: weather features missing"
        return (
            f"no weather for {days}: used climatology (mean of the same day of year "
            f"± {CLIMATOLOGY_HALF_WINDOW_DAYS} days over the history)"
        )


def _span(days: Sequence[date]) -> str:
    """Days as text: a list when few, first..last (and how many) when many."""
    if len(days) <= 5:
        return ", ".join(d.isoformat() for d in days)
    return f"{len(days)} days between {days[0].isoformat()} and {days[-1].isoformat()}"


def climatology(
    history: pl.DataFrame,
    days: Sequence[date],
    *,
    half_window_days: int = CLIMATOLOGY_HALF_WINDOW_DAYS,
) -> pl.DataFrame:
    """Weather rows for ``days``: each value is the mean over ``history`` rows whose day of
    year lies within ``half_window_days`` of the day's (circularly, so late December and
    early January are neighbours). Falls back to the mean of all history when no row is
    that close, and raises ValueError when ``history`` is empty.
    """
    if history.is_empty():
        raise ValueError("no weather history to compute climatology from")
    hist = history.select(
        pl.col("date").dt.ordinal_day().cast(pl.Int32).alias("_doy"),
        *WEATHER_VALUES,
    )
    rows: list[dict[str, object]] = []
    for day in days:
        doy = day.timetuple().tm_yday
        gap = (pl.col("_doy") - doy).abs()
        near = hist.filter(pl.min_horizontal(gap, 366 - gap) <= half_window_days)
        source = near if not near.is_empty() else hist
        means = source.select(pl.col(c).mean() for c in WEATHER_VALUES).row(0, named=True)
        rows.append({"date": day, **means})
    schema: dict[str, pl.DataType] = {"date": pl.Date()}
    schema.update({c: pl.Float64() for c in WEATHER_VALUES})
    return pl.DataFrame(rows, schema=schema, orient="row")


def complete_weather(
    weather: pl.DataFrame, days: Sequence[date], *, history_until: date
) -> CompletedWeather:
    """``weather`` restricted to ``days`` plus the day before each, with climatology rows for
    any of those days it lacks; climatology uses only rows dated up to ``history_until``.
    """
    wanted = sorted({*days, *(d - timedelta(days=1) for d in days)})
    weather = weather.select(
        pl.col("date").cast(pl.Date), *(pl.col(c).cast(pl.Float64) for c in WEATHER_VALUES)
    )
    have = weather.filter(pl.col("date").is_in(pl.Series(wanted, dtype=pl.Date).implode()))
    have = have.unique("date", keep="first", maintain_order=True)
    known = set(have["date"].to_list())
    missing = [d for d in wanted if d not in known]
    asked = set(days)
    filled = tuple(d for d in missing if d in asked)
    if missing:
        history = weather.filter(pl.col("date") <= history_until)
        if history.is_empty():
            nulls = pl.DataFrame({"date": missing}, schema={"date": pl.Date}).with_columns(
                pl.lit(None, dtype=pl.Float64).alias(c) for c in WEATHER_VALUES
            )
            frame = pl.concat([have, nulls]).sort("date")
            return CompletedWeather(frame=frame, filled=filled, no_history=True)
        have = pl.concat([have, climatology(history, missing)])
    return CompletedWeather(frame=have.sort("date"), filled=filled)


def add_weather_features(
    frame: pl.DataFrame, weather: pl.DataFrame, *, date_col: str = "date"
) -> pl.DataFrame:
    """Join the day's weather, a wet-day flag and the previous day's temperature and rain.

    ``weather`` needs a row for each day of ``frame`` and the day before (see
    :func:`complete_weather`); missing rows leave nulls, which LightGBM treats as missing.
    """
    day = weather.select("date", *WEATHER_VALUES).cast(dict.fromkeys(WEATHER_VALUES, pl.Float64))
    prev = day.select(
        (pl.col("date") + timedelta(days=1)).alias("date"),
        pl.col("temp_max_c").alias("temp_max_c_prev"),
        pl.col("precip_mm").alias("precip_mm_prev"),
    )
    out = frame.join(day, left_on=date_col, right_on="date", how="left")
    out = out.join(prev, left_on=date_col, right_on="date", how="left")
    return out.with_columns((pl.col("precip_mm") >= 1.0).cast(pl.Int8).alias("wet"))


@dataclass(frozen=True, slots=True)
class CompletedArrivals:
    """Arrivals with a row for every requested day, and the requested days that had none."""

    frame: pl.DataFrame
    filled: tuple[date, ...]

    @property
    def note(self) -> str | None:
        """A sentence for the job report when weekday means stood in for missing days."""
        if not self.filled:
            return None
        return f"no airport arrivals for {_span(self.filled)}: used the same weekday's mean"


def complete_arrivals(
    arrivals: pl.DataFrame, days: Sequence[date], *, history_until: date
) -> CompletedArrivals:
    """``arrivals`` (``date, arrivals``) on ``days``, days without a row filled with the mean
    of the same weekday over rows up to ``history_until`` (all rows when none are that old);
    null when there is no row at all.
    """
    frame = arrivals.select(pl.col("date").cast(pl.Date), pl.col("arrivals").cast(pl.Float64))
    frame = frame.unique("date", keep="first").sort("date")
    wanted = pl.DataFrame({"date": sorted(set(days))}, schema={"date": pl.Date})
    out = wanted.join(frame, on="date", how="left")
    missing = out.filter(pl.col("arrivals").is_null())["date"].to_list()
    if not missing:
        return CompletedArrivals(frame=out, filled=())
    history = frame.filter(pl.col("date") <= history_until)
    if history.is_empty():
        history = frame
    weekday = pl.col("date").dt.weekday().alias("_weekday")
    means = history.group_by(weekday).agg(pl.col("arrivals").mean().alias("_mean"))
    overall = history["arrivals"].mean() if not history.is_empty() else None
    out = (
        out.with_columns(weekday)
        .join(means, on="_weekday", how="left")
        .select(
            "date",
            pl.coalesce("arrivals", "_mean", pl.lit(overall, dtype=pl.Float64)).alias("arrivals"),
        )
    )
    return CompletedArrivals(frame=out, filled=tuple(missing))


def add_arrival_features(
    frame: pl.DataFrame, arrivals: pl.DataFrame, *, date_col: str = "date"
) -> pl.DataFrame:
    """Join the day's airport arrivals (see :func:`complete_arrivals`); no row leaves null."""
    day = arrivals.select("date", pl.col("arrivals").cast(pl.Float64))
    return frame.join(day, left_on=date_col, right_on="date", how="left")


def add_city_features(frame: pl.DataFrame, facts: Mapping[str, float]) -> pl.DataFrame:
    """Add the city's population, area (km²) and density (per km²); unknown ones are null."""
    return frame.with_columns(
        pl.lit(facts.get(name.removeprefix("city_")), pl.Float64).alias(name)
        for name in CITY_FEATURES
    )


def zone_codes(zone_ids: Sequence[str]) -> dict[str, int]:
    """A stable categorical code per zone: its rank among the sorted zone ids."""
    return {zone: code for code, zone in enumerate(sorted(set(zone_ids)))}


def add_zone_features(
    frame: pl.DataFrame, zones: pl.DataFrame, codes: dict[str, int]
) -> pl.DataFrame:
    """Add the zone's categorical code, area (km²) and distance to the centre (km).

    ``codes`` comes from :func:`zone_codes` at fit time so predictions use the same codes;
    a zone missing from ``codes`` gets a null code (callers reject unknown zones first).
    """
    code_frame = pl.DataFrame(
        {"zone_id": list(codes), _ZONE_CODE: list(codes.values())},
        schema={"zone_id": pl.String, _ZONE_CODE: pl.Int32},
    )
    static = zones.select(
        "zone_id", pl.col("area_km2").cast(pl.Float64), pl.col("centre_km").cast(pl.Float64)
    ).unique("zone_id", keep="first")
    return frame.join(code_frame, on="zone_id", how="left").join(static, on="zone_id", how="left")
