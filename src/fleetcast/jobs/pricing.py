"""Pricing jobs: train and register the price-per-day model, price cars with the champion.

The model lives in the MLflow registry of the fleetcast home (``fleetcast-pricing``), not in
the store's db, so these jobs take the home folder. The champion alias moves only when a
candidate's CV RMSE is lower than the champion's on the same data and the same folds.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic, perf_counter
from typing import Any

import polars as pl

from fleetcast.errors import FleetcastError
from fleetcast.forecasting.registry import Tracking
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.pricing.data import PricingData, load_pricing_csv
from fleetcast.pricing.model import (
    DEFAULT_FOLDS,
    DEFAULT_SEED,
    CVScores,
    PricingModel,
    PricingParams,
    build_pipeline,
    cross_validate,
    fit_pricing_model,
    model_inputs,
)
from fleetcast.pricing.registry import MODEL_NAME, PricingChampion, PricingRegistry

TRAIN_HINT = "run `fleetcast pricing train FILE` first"


class NoPricingModelError(FleetcastError, LookupError):
    """No price model has been trained (and promoted) in this home yet."""


class PricingModelUnavailableError(FleetcastError, RuntimeError):
    """The registry or the champion's files cannot be read right now."""


def pricing_registry(home: Path) -> PricingRegistry:
    """The price model's registry in this home (or FLEETCAST_MLFLOW_URI)."""
    return PricingRegistry(Tracking.for_home(home))


@dataclass(frozen=True)
class PricingTrainReport:
    """What a training run measured, registered and decided."""

    file: str
    rows_read: int
    rows_used: int
    rejected: dict[str, int]
    version: str
    promoted: bool
    reason: str
    cv: CVScores
    champion_before: str | None
    champion_rmse: float | None
    importance: pl.DataFrame = field(repr=False)
    option_effects: pl.DataFrame = field(repr=False)
    ui_command: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rejected": self.rejected,
            "model": MODEL_NAME,
            "version": self.version,
            "promoted": self.promoted,
            "reason": self.reason,
            "cv": self.cv.as_dict(),
            "champion_before": self.champion_before,
            "champion_rmse": self.champion_rmse,
            "importance": self.importance.to_dicts(),
            "option_effects": self.option_effects.to_dicts(),
            "seconds": round(self.seconds, 2),
        }


def train_pricing(
    file: str | Path,
    home: Path,
    *,
    params: PricingParams | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> PricingTrainReport:
    """Check the file, cross-validate and fit the model, register it as a new version of
    ``fleetcast-pricing``, and make it champion only if its CV RMSE beats the champion's
    (the champion's settings cross-validated on the same data and folds)."""
    progress = progress or Silent()
    began = perf_counter()
    progress.stage(f"reading and checking {file}")
    data = load_pricing_csv(file)
    registry = pricing_registry(home)
    try:
        champion = registry.champion()
    except Exception as exc:
        raise PricingModelUnavailableError(_unreadable(registry, exc)) from exc
    progress.stage(f"cross-validating on {data.cars.height:,} cars ({folds} folds)", total=folds)
    model = fit_pricing_model(
        data, params, folds=folds, seed=seed, on_fold=lambda _: progress.advance()
    )
    champion_rmse, note = _champion_score(registry, champion, model, data, progress)
    data_sha = _sha256(Path(file))
    fresh = champion is not None and champion.data_sha256 != data_sha
    promoted, reason = _decide(champion, model.cv.rmse, champion_rmse, note, fresh_data=fresh)
    progress.stage("registering the model in MLflow")
    metrics = {
        "rmse": model.cv.rmse,
        "mae": model.cv.mae,
        "r2": model.cv.r2,
        "fit_s": model.cv.fit_s,
        "rows_used": float(data.cars.height),
        "rows_rejected": float(data.rows_rejected),
        **({"champion_rmse": champion_rmse} if champion_rmse is not None else {}),
    }
    _, version = registry.log_candidate(
        model,
        metrics=metrics,
        tags={
            "fleetcast.kind": "train",
            "fleetcast.file": str(file),
            "fleetcast.data_sha256": data_sha,
            "fleetcast.cv": f"{folds}-fold KFold shuffled, seed {seed}",
            "fleetcast.decision": "promoted" if promoted else "kept champion",
            "fleetcast.reason": reason,
        },
        tables={"quarantine": data.quarantine} if data.rows_rejected else None,
    )
    if promoted:
        registry.promote(version)
    return PricingTrainReport(
        file=str(file),
        rows_read=data.rows_read,
        rows_used=data.cars.height,
        rejected=dict(data.reasons),
        version=version,
        promoted=promoted,
        reason=reason,
        cv=model.cv,
        champion_before=champion.version if champion else None,
        champion_rmse=champion_rmse,
        importance=model.importance,
        option_effects=model.option_effects,
        ui_command=registry.tracking.ui_command(),
        seconds=perf_counter() - began,
    )


def _champion_score(
    registry: PricingRegistry,
    champion: PricingChampion | None,
    candidate: PricingModel,
    data: PricingData,
    progress: Progress,
) -> tuple[float | None, str]:
    """The champion's CV RMSE on the candidate's data and folds, and how it was obtained."""
    if champion is None:
        return None, ""
    try:
        settings = registry.load(champion.version).params
    except Exception:
        if champion.rmse is None:
            return None, "the champion could not be loaded or scored"
        return champion.rmse, " (champion not loadable: its logged RMSE, on its own data)"
    if settings == candidate.params:
        return candidate.cv.rmse, " (same settings, same folds)"
    progress.stage(f"cross-validating champion v{champion.version} on the same folds")
    cars, prices = model_inputs(data)
    scores = cross_validate(
        lambda: build_pipeline(settings),
        cars,
        prices,
        folds=candidate.cv.folds,
        seed=candidate.cv.seed,
    ).scores
    return scores.rmse, " (same data, same folds)"


def _decide(
    champion: PricingChampion | None,
    rmse: float,
    champion_rmse: float | None,
    note: str,
    *,
    fresh_data: bool,
) -> tuple[bool, str]:
    """Promote a candidate that beats the champion on the same data and folds, or that
    ties it on data the champion was not trained on (the same recipe refit on newer cars)."""
    if champion is None:
        return True, "no champion yet"
    if champion_rmse is None:
        return False, note or "the champion could not be scored"
    if rmse < champion_rmse:
        return (
            True,
            f"CV RMSE {rmse:.3f} < champion v{champion.version}'s {champion_rmse:.3f}{note}",
        )
    if fresh_data and rmse <= champion_rmse:
        return (
            True,
            f"CV RMSE {rmse:.3f} ties champion v{champion.version}'s {champion_rmse:.3f}"
            f"{note}, on data it was not trained on",
        )
    return (
        False,
        f"CV RMSE {rmse:.3f} does not beat champion v{champion.version}'s "
        f"{champion_rmse:.3f}{note}",
    )


@dataclass(frozen=True, slots=True)
class PricePrediction:
    """Prices per day (EUR) of the cars asked about, in their order, and the model version."""

    version: str
    prices: list[float]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "model": MODEL_NAME,
            "model_version": self.version,
            "currency": "EUR",
            "prices": [{"rental_price_per_day": round(p, 2)} for p in self.prices],
        }


_LOADED: dict[tuple[str, str], PricingModel] = {}
_LOADED_LOCK = threading.Lock()


class PricingService:
    """The champion price model of a home for repeated use (API, dashboard): each version is
    loaded once; the champion alias is re-read at most every ``ttl`` seconds."""

    def __init__(self, home: Path, *, ttl: float = 10.0) -> None:
        self.home = home
        self.ttl = ttl
        self._registry: PricingRegistry | None = None
        self._champion: tuple[float, str] | None = None
        self._lock = threading.Lock()

    @property
    def registry(self) -> PricingRegistry:
        """The registry (its MLflow client is made on first use)."""
        if self._registry is None:
            self._registry = pricing_registry(self.home)
        return self._registry

    def champion(self) -> tuple[str, PricingModel]:
        """The champion's version and fitted model; NoPricingModelError before any training,
        PricingModelUnavailableError when the registry or its files cannot be read."""
        version = self._champion_version()
        key = (self.registry.tracking.uri, version)
        with _LOADED_LOCK:
            model = _LOADED.get(key)
        if model is None:
            try:
                model = self.registry.load(version)
            except Exception as exc:
                raise PricingModelUnavailableError(
                    f"price model v{version} could not be loaded ({type(exc).__name__}: {exc})"
                ) from exc
            with _LOADED_LOCK:
                _LOADED[key] = model
        return version, model

    def _champion_version(self) -> str:
        now = monotonic()
        with self._lock:
            if self._champion is not None and now - self._champion[0] < self.ttl:
                return self._champion[1]
        try:
            champion = self.registry.champion()
        except Exception as exc:
            raise PricingModelUnavailableError(_unreadable(self.registry, exc)) from exc
        if champion is None:
            raise NoPricingModelError(f"no price model has been trained yet: {TRAIN_HINT}")
        with self._lock:
            self._champion = (now, champion.version)
        return champion.version

    def predict(self, cars: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> PricePrediction:
        """Prices of one car or a list; InvalidCarError names every out-of-bounds value."""
        version, model = self.champion()
        batch = [cars] if isinstance(cars, Mapping) else list(cars)
        return PricePrediction(version, model.predict(batch))

    def info(self) -> dict[str, Any]:
        """The champion's version, accepted values, CV metrics and explanations."""
        version, model = self.champion()
        return {"model": MODEL_NAME, "model_version": version, **model.describe()}


def predict_prices(
    cars: Mapping[str, Any] | Sequence[Mapping[str, Any]], home: Path
) -> PricePrediction:
    """Price one car or a list with the champion of ``home``."""
    return PricingService(home, ttl=0).predict(cars)


def pricing_model_info(home: Path) -> dict[str, Any]:
    """What the champion of ``home`` accepts and knows (see :meth:`PricingService.info`)."""
    return PricingService(home, ttl=0).info()


def _unreadable(registry: PricingRegistry, exc: Exception) -> str:
    return (
        f"the model registry at {registry.tracking.uri} cannot be read "
        f"({type(exc).__name__}: {exc})"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
