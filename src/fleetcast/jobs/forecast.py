"""Forecast jobs: backtest models, train and register the champion, issue forecasts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from time import perf_counter
from typing import Any

import polars as pl

from fleetcast.domain import Dataset
from fleetcast.errors import FleetcastError, InsufficientHistoryError
from fleetcast.forecasting.backtest import BacktestResult, Window, run_backtest
from fleetcast.forecasting.base import WEATHER_COLUMNS, Forecaster, TrainingSet
from fleetcast.forecasting.datasets import zone_features
from fleetcast.forecasting.registry import Champion, Registry, Tracking
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.city import system_arrivals, system_city_facts
from fleetcast.sources.calendar import holiday_dates
from fleetcast.store import Store, records

DEFAULT_MODEL = "global_gbm"
ALL_MODELS = ("seasonal_naive", "ets", "calendar_gbm", "global_gbm")
MIN_HISTORY_DAYS = 35


class NoChampionError(FleetcastError, LookupError):
    """A system has no champion model to forecast with."""


class ModelUnavailableError(FleetcastError, RuntimeError):
    """The registry or the champion's files cannot be read right now."""


def registry_for(store: Store) -> Registry:
    """The MLflow registry of this store's home (or FLEETCAST_MLFLOW_URI)."""
    return Registry(Tracking.for_home(store.settings.home))


def load_training_set(store: Store, system_id: str, *, ahead: int = 0) -> TrainingSet:
    """Demand, zone features, weather and holidays of a system, as known today.

    Weather covers history (observed) and ``ahead`` days past the last actual (forecast rows
    of the lake); days without any weather row are left for the models' climatology and
    named in ``weather_note``. Airport arrivals (over the same days) and the newest city
    facts come along when stored; without them the set carries none.
    """
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        demand = records.load_demand(conn, system_id).select("zone_id", "date", "trips")
        zones = records.load_zones(conn, system_id)
    if demand.is_empty():
        raise InsufficientHistoryError(
            f"system {system_id!r} has no daily demand yet: ingest trips or daily counts first"
        )
    first, last = demand["date"].min(), demand["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    days = (last - first).days + 1
    if days < MIN_HISTORY_DAYS:
        raise InsufficientHistoryError(
            f"system {system_id!r} has {days} days of demand; forecasting needs at least "
            f"{MIN_HISTORY_DAYS}"
        )
    zones = zones.with_columns(
        pl.col("area_km2").fill_null(pl.col("area_km2").median()).fill_null(1.0),
        pl.col("centroid_lat").fill_null(system.center_lat or 0.0),
        pl.col("centroid_lon").fill_null(system.center_lon or 0.0),
    )
    center_lat = (
        system.center_lat if system.center_lat is not None else zones["centroid_lat"].mean()
    )
    center_lon = (
        system.center_lon if system.center_lon is not None else zones["centroid_lon"].mean()
    )
    end = last + timedelta(days=ahead)
    weather, note = _weather(store, system_id, first, last, end)
    return TrainingSet(
        system_id=system_id,
        demand=demand,
        zones=zone_features(zones, center_lat=float(center_lat), center_lon=float(center_lon)),  # type: ignore[arg-type]
        weather=weather,
        holidays=holiday_dates(system.country, system.subdivision, first, end),
        weather_note=note,
        arrivals=_arrivals_or_none(
            system_arrivals(store, system_id=system_id, start=first, end=end)
        ),
        city_facts=system_city_facts(store, system_id=system_id),
    )


def _arrivals_or_none(arrivals: pl.DataFrame) -> pl.DataFrame | None:
    """Stored arrivals, or None when there are none (the arrivals feature is then off)."""
    return None if arrivals.is_empty() else arrivals


def _weather(
    store: Store, system_id: str, first: date, last: date, end: date
) -> tuple[pl.DataFrame, str]:
    rows = store.lake.read(Dataset.WEATHER_DAILY, system_id=system_id, start=first, end=end)
    observed = rows.filter(pl.col("kind") == "observed")
    forecast = rows.filter(
        (pl.col("kind") == "forecast") & ~pl.col("date").is_in(observed["date"].implode())
    )
    weather = pl.concat([observed, forecast]).select(WEATHER_COLUMNS).sort("date")
    if weather.is_empty():
        return weather, "no weather stored: the models learn without it"
    missing_ahead = [
        last + timedelta(days=i)
        for i in range(1, (end - last).days + 1)
        if (last + timedelta(days=i)) not in set(weather["date"].to_list())
    ]
    if missing_ahead:
        span = f"{missing_ahead[0]}..{missing_ahead[-1]}"
        return weather, f"no weather forecast for {span}: climatology used for those days"
    return (
        weather,
        "observed weather; stored forecast for the days ahead" if end > last else "observed",
    )


def _models(
    names: Sequence[str], params: dict[str, dict[str, Any]] | None = None
) -> list[Forecaster]:
    from fleetcast.forecasting.models import make_model

    return [make_model(n, **(params or {}).get(n, {})) for n in names]


class _Renamed:
    """A forecaster under another name, so two configs of one model can be compared."""

    def __init__(self, inner: Forecaster, name: str) -> None:
        self.inner = inner
        self.name = name

    def fit(self, train: TrainingSet) -> _Renamed:
        self.inner.fit(train)
        return self

    def predict(self, context: TrainingSet, *, horizon: int) -> pl.DataFrame:
        return self.inner.predict(context, horizon=horizon)

    def params(self) -> dict[str, object]:
        return self.inner.params()


@dataclass(frozen=True)
class BacktestReport:
    """A stored backtest: its id, the result, and where it is tracked."""

    run_id: str
    result: BacktestResult
    mlflow_run_id: str | None
    weather_note: str

    def table(self) -> pl.DataFrame:
        """Metrics per model and horizon, best WAPE first within each horizon."""
        return self.result.metrics.sort("horizon", "wape")

    def summary(self) -> pl.DataFrame:
        """Metrics per model averaged over horizons, best WAPE first."""
        return (
            self.result.metrics.group_by("model")
            .agg(pl.col("mae", "rmse", "wape", "bias", "pinball", "coverage_80").mean())
            .sort("wape")
        )


def _window(data: TrainingSet, *, weeks: int, horizon: int) -> Window:
    window = Window.last_weeks(data.last_day, weeks=weeks, horizon=horizon)
    if (window.first_issue - data.first_day).days < MIN_HISTORY_DAYS:
        raise InsufficientHistoryError(
            f"a {weeks}-week backtest needs {MIN_HISTORY_DAYS} days of history before "
            f"{window.first_issue}; the data starts {data.first_day}: use fewer --weeks"
        )
    return window


def _progress_callback(progress: Progress) -> Callable[[str, int, int], None]:
    current: dict[str, int] = {}

    def report(model: str, done: int, total: int) -> None:
        if model not in current:
            progress.stage(f"backtesting {model}", total=total)
            current[model] = 0
        progress.advance(done - current[model])
        current[model] = done

    return report


def backtest(
    store: Store,
    system_id: str,
    *,
    models: Sequence[str] = ALL_MODELS,
    weeks: int = 8,
    horizon: int = 3,
    progress: Progress | None = None,
) -> BacktestReport:
    """Backtest models side by side on the last ``weeks`` weeks; store and track the metrics."""
    progress = progress or Silent()
    progress.stage("loading demand, zones and weather")
    data = load_training_set(store, system_id)
    window = _window(data, weeks=weeks, horizon=horizon)
    result = run_backtest(
        data, _models(models), window=window, progress=_progress_callback(progress)
    )
    progress.stage("saving the backtest")
    return _save_backtest(store, system_id, result, list(models), data.weather_note)


def _save_backtest(
    store: Store, system_id: str, result: BacktestResult, models: list[str], note: str
) -> BacktestReport:
    run_id = str(uuid.uuid4())
    registry = registry_for(store)
    overall = result.metrics
    mlflow_run, _ = registry.log_run(
        system_id,
        run_name=f"backtest {result.window.first_issue}..{result.window.last_issue}",
        params={
            "fleetcast.kind": "backtest",
            "models": models,
            "window_start": str(result.window.first_issue),
            "window_end": str(result.window.last_issue),
            "horizon": result.window.horizon,
        },
        metrics={
            f"wape_{row['model']}_h{row['horizon']}": row["wape"]
            for row in overall.iter_rows(named=True)
        },
        tables={"backtest_metrics": overall, "backtest_zone_metrics": result.zone_metrics},
        tags={"fleetcast.kind": "backtest", "fleetcast.run_id": run_id},
    )
    with store.begin() as conn:
        records.save_backtest(
            conn,
            run_id=run_id,
            system_id=system_id,
            window_start=result.window.first_issue,
            window_end=result.window.last_issue,
            horizon=result.window.horizon,
            models=models,
            metrics=result.metrics,
            zone_metrics=result.zone_metrics,
            weather_note=note,
            mlflow_run_id=mlflow_run,
            predictions=result.predictions,
        )
    return BacktestReport(run_id, result, mlflow_run, note)


@dataclass(frozen=True)
class TrainReport:
    """A training run: the new version, both scores on one window, and the decision."""

    system_id: str
    model: str
    version: str
    candidate_wape: float
    champion_before: Champion | None
    champion_wape: float | None
    promoted: bool
    reason: str
    window: Window
    ui_command: str
    seconds: float
    backtest: BacktestReport | None = field(default=None, repr=False)


def train(
    store: Store,
    system_id: str,
    *,
    model: str = DEFAULT_MODEL,
    params: dict[str, Any] | None = None,
    weeks: int = 8,
    horizon: int = 3,
    progress: Progress | None = None,
) -> TrainReport:
    """Backtest a candidate beside the champion, fit it on all data, register it, and move
    the champion alias only if the candidate's WAPE is lower on the same window."""
    progress = progress or Silent()
    began = perf_counter()
    registry = registry_for(store)
    progress.stage("loading demand, zones and weather")
    data = load_training_set(store, system_id)
    window = _window(data, weeks=weeks, horizon=horizon)
    candidate = _models([model], {model: params or {}})[0]
    champion = registry.champion(system_id)
    contenders: list[Forecaster] = [_Renamed(candidate, "candidate")]
    same = (
        champion is not None and champion.model == model and champion.params == candidate.params()
    )
    if champion is not None and not same:
        contenders.append(
            _Renamed(_models([champion.model], {champion.model: champion.params})[0], "champion")
        )
    result = run_backtest(data, contenders, window=window, progress=_progress_callback(progress))
    candidate_wape = result.wape("candidate")
    champion_wape = (
        None if champion is None else (candidate_wape if same else result.wape("champion"))
    )
    if champion is None:
        promoted, reason = True, "no champion yet"
    elif champion_wape is not None and candidate_wape < champion_wape:
        promoted, reason = True, f"WAPE {candidate_wape:.4f} < champion's {champion_wape:.4f}"
    else:
        promoted, reason = (
            False,
            (
                f"WAPE {candidate_wape:.4f} does not beat champion's {champion_wape:.4f}"
                if champion_wape is not None
                else "champion could not be scored"
            ),
        )
    progress.stage(f"fitting {model} on all {len(data.zone_ids)} zones")
    fitted = _models([model], {model: params or {}})[0].fit(data)
    progress.stage("registering the model")
    h_metrics = result.metrics.filter(pl.col("model") == "candidate")
    _, version = registry.log_run(
        system_id,
        run_name=f"train {model}",
        params={"model": model, **fitted.params()},
        metrics={
            "wape": candidate_wape,
            **{f"wape_h{r['horizon']}": r["wape"] for r in h_metrics.iter_rows(named=True)},
            **{
                f"coverage_80_h{r['horizon']}": r["coverage_80"]
                for r in h_metrics.iter_rows(named=True)
            },
            **({"champion_wape": champion_wape} if champion_wape is not None else {}),
        },
        tables={"backtest_metrics": result.metrics},
        tags={
            "fleetcast.kind": "train",
            "fleetcast.window": f"{window.first_issue}..{window.last_issue}",
            "fleetcast.decision": "promoted" if promoted else "kept champion",
            "fleetcast.reason": reason,
        },
        model=fitted,
    )
    assert version is not None
    if promoted:
        registry.promote(system_id, version)
    return TrainReport(
        system_id=system_id,
        model=model,
        version=version,
        candidate_wape=candidate_wape,
        champion_before=champion,
        champion_wape=champion_wape,
        promoted=promoted,
        reason=reason,
        window=window,
        ui_command=registry.tracking.ui_command(),
        seconds=perf_counter() - began,
    )


@dataclass(frozen=True)
class ForecastReport:
    """What a forecast run wrote."""

    system_id: str
    issued_on: date
    horizon: int
    model_version: str
    rows: int
    weather_note: str
    forecast: pl.DataFrame = field(repr=False)
    seconds: float = 0.0


def forecast(
    store: Store,
    system_id: str,
    *,
    issued_on: date | None = None,
    horizon: int = 3,
    progress: Progress | None = None,
) -> ForecastReport:
    """The champion forecasts ``horizon`` days from ``issued_on`` (default: the day after the
    last actual) for every zone into the forecasts table; re-running replaces the same rows."""
    progress = progress or Silent()
    began = perf_counter()
    if not 1 <= horizon <= 28:
        raise ValueError(f"horizon {horizon} not understood: use 1..28 days")
    with store.connect() as conn:
        records.get_system(conn, system_id)
    progress.stage("loading the champion")
    try:
        champion, model = registry_for(store).load_champion(system_id)
    except LookupError as exc:
        raise NoChampionError(str(exc)) from exc
    except Exception as exc:
        raise ModelUnavailableError(
            f"the champion of {system_id!r} could not be loaded ({type(exc).__name__}: {exc})"
        ) from exc
    progress.stage("loading demand, zones and weather")
    data = load_training_set(store, system_id, ahead=horizon + 7)
    issue = issued_on or data.issue_date
    earliest = data.first_day + timedelta(days=MIN_HISTORY_DAYS)
    if not earliest <= issue <= data.issue_date:
        raise InsufficientHistoryError(
            f"cannot issue on {issue}: demand is known from {data.first_day} to "
            f"{data.last_day}, so issue dates run from {earliest} to {data.issue_date}"
        )
    context = data.until(issue - timedelta(days=1))
    progress.stage(f"forecasting {horizon} days from {issue}")
    frame = model.predict(context, horizon=horizon)
    note = getattr(model, "last_weather_note", None) or data.weather_note
    arrivals_note = getattr(model, "last_arrivals_note", None)
    if arrivals_note:
        note = f"{note}; {arrivals_note}"
    with store.begin() as conn:
        rows = records.save_forecasts(
            conn, system_id, frame, issued_on=issue, model_version=champion.label
        )
    return ForecastReport(
        system_id, issue, horizon, champion.label, rows, str(note), frame, perf_counter() - began
    )
