"""The forecasting contract: what a model may see (TrainingSet), does (Forecaster), returns.

Everything in a :class:`TrainingSet` is known at issue time: demand up to the day before the
issue date, weather observed up to then and forecast (or climatology) after, holidays and
zone features. A forecaster never sees anything else, which is what makes backtests honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Final, Protocol, Self, runtime_checkable

import polars as pl

QUANTILES: Final = (0.1, 0.5, 0.9)
"""Quantiles every forecaster returns (columns q10, q50, q90); q10..q90 is the 80% interval."""

QUANTILE_COLUMNS: Final = ("q10", "q50", "q90")

FORECAST_SCHEMA: Final[dict[str, pl.DataType]] = {
    "zone_id": pl.String(),
    "target_date": pl.Date(),
    "horizon": pl.Int32(),
    "mean": pl.Float64(),
    "q10": pl.Float64(),
    "q50": pl.Float64(),
    "q90": pl.Float64(),
}
"""What :meth:`Forecaster.predict` returns: one row per zone and target day."""

DEMAND_COLUMNS: Final = ("zone_id", "date", "trips")
ZONE_COLUMNS: Final = ("zone_id", "area_km2", "centroid_lat", "centroid_lon", "centre_km")
WEATHER_COLUMNS: Final = ("date", "temp_max_c", "temp_min_c", "precip_mm", "wind_max_kmh")
ARRIVAL_COLUMNS: Final = ("date", "arrivals")


@dataclass(frozen=True)
class TrainingSet:
    """Demand history and the context known on ``issue_date`` (the first day to forecast).

    ``demand``: zone_id, date, trips for every zone and day up to ``issue_date - 1``.
    ``zones``: zone_id, area_km2, centroid_lat, centroid_lon, centre_km (distance to centre).
    ``weather``: date, temp_max_c, temp_min_c, precip_mm, wind_max_kmh — one row per day
    over the history and at least the forecast days (observed, then forecast or
    climatology; ``weather_note`` says which).
    ``holidays``: public holidays of the system's country/region over the same span.
    ``arrivals``: date, arrivals — flights landed per day at the system's airports (history
    and the scheduled days ahead); None when none are stored (the feature is then off).
    ``city_facts``: the city's population, area_km2, density_per_km2 (those known).
    """

    system_id: str
    demand: pl.DataFrame
    zones: pl.DataFrame
    weather: pl.DataFrame
    holidays: frozenset[date] = frozenset()
    weather_note: str = "observed"
    extras: dict[str, str] = field(default_factory=dict)
    arrivals: pl.DataFrame | None = None
    city_facts: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, columns in (
            ("demand", DEMAND_COLUMNS),
            ("zones", ZONE_COLUMNS),
            ("weather", WEATHER_COLUMNS),
        ):
            frame: pl.DataFrame = getattr(self, name)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"TrainingSet.{name} lacks column(s) {missing}")
        if self.arrivals is not None:
            missing = [c for c in ARRIVAL_COLUMNS if c not in self.arrivals.columns]
            if missing:
                raise ValueError(f"TrainingSet.arrivals lacks column(s) {missing}")
        if self.demand.is_empty():
            raise ValueError("TrainingSet.demand is empty")

    @property
    def last_day(self) -> date:
        """The newest day with known demand (the day before the issue date)."""
        last = self.demand["date"].max()
        assert isinstance(last, date)
        return last

    @property
    def first_day(self) -> date:
        """The oldest day with known demand."""
        first = self.demand["date"].min()
        assert isinstance(first, date)
        return first

    @property
    def issue_date(self) -> date:
        """The first day a forecast from this set is for."""
        return self.last_day + timedelta(days=1)

    @property
    def zone_ids(self) -> list[str]:
        """Zones with demand history, sorted."""
        return sorted(self.demand["zone_id"].unique().to_list())

    def until(self, last_day: date) -> Self:
        """The same set as it was known at the end of ``last_day``: later demand removed.

        Weather rows stay (a backtest uses observed weather in place of the forecast that
        was available then); forecasters must not read weather to learn about demand.
        """
        if last_day < self.first_day:
            raise ValueError(f"{last_day} is before the first day of history {self.first_day}")
        return replace(self, demand=self.demand.filter(pl.col("date") <= last_day))

    def target_dates(self, horizon: int) -> list[date]:
        """The days horizons 1..``horizon`` are for."""
        return [self.issue_date + timedelta(days=h) for h in range(horizon)]


@runtime_checkable
class Forecaster(Protocol):
    """A demand model: fit on a training set, then forecast horizons 1..H with quantiles.

    ``predict`` may be given a newer set than ``fit`` saw (more days of history, same
    zones): models are refitted on a schedule but always forecast from the latest data.
    """

    name: str

    def fit(self, train: TrainingSet) -> Self:
        """Learn from ``train`` and return self."""
        ...

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        """Forecast ``context.issue_date`` .. ``+ horizon - 1`` for every zone.

        Returns :data:`FORECAST_SCHEMA` rows with ``mean >= 0`` and ``q10 <= q50 <= q90``.
        """
        ...

    def params(self) -> dict[str, object]:
        """Hyper-parameters to log and to rebuild the same model."""
        ...


def check_forecast(frame: pl.DataFrame, context: TrainingSet, horizon: int) -> pl.DataFrame:
    """Cast to :data:`FORECAST_SCHEMA` and check shape and quantile order, or raise ValueError."""
    missing = [c for c in FORECAST_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"forecast lacks column(s) {missing}")
    out = frame.select(list(FORECAST_SCHEMA)).cast(FORECAST_SCHEMA)  # type: ignore[arg-type]
    expected = len(context.zone_ids) * horizon
    if out.height != expected:
        raise ValueError(f"forecast has {out.height} rows, expected {expected}")
    bad = out.filter(
        (pl.col("q10") > pl.col("q50"))
        | (pl.col("q50") > pl.col("q90"))
        | (pl.col("mean") < 0)
        | pl.any_horizontal(pl.col(c).is_nan() for c in ("mean", *QUANTILE_COLUMNS))
    )
    if not bad.is_empty():
        raise ValueError(f"forecast has {bad.height} rows with unordered or negative values")
    return out.sort("zone_id", "target_date")
