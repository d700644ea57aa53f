"""The price model in MLflow: each training is a run (params, CV metrics, importance and option
effects as CSV artifacts, the accepted schema as JSON) that registers a version of
``fleetcast-pricing``; the ``champion`` alias marks the version that prices.

Where runs live (the fleetcast home's SQLite file, or ``FLEETCAST_MLFLOW_URI``) and how runs
are logged come from :mod:`fleetcast.forecasting.registry`; this module only adds the model
itself, as a pyfunc whose ``predict`` takes a frame of car features. MLflow is imported on
first use, never at import time.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import polars as pl

from fleetcast.forecasting.registry import CHAMPION, Registry, Tracking, model_name
from fleetcast.pricing.model import PricingModel

PRICING_KEY: Final = "pricing"
"""The registry key of the price model: experiment and registered model ``fleetcast-pricing``."""
MODEL_NAME: Final = model_name(PRICING_KEY)


@dataclass(frozen=True, slots=True)
class PricingChampion:
    """The version that prices now, its logged CV RMSE and the fingerprint of its data."""

    version: str
    rmse: float | None
    run_id: str | None
    data_sha256: str | None = None


class _PricingModel:
    """A fitted PricingModel wrapped as an MLflow pyfunc model."""

    def __init__(self, model: PricingModel) -> None:
        self.model = model


def _pyfunc_class() -> type:
    import mlflow.pyfunc

    class PricingPyfunc(mlflow.pyfunc.PythonModel, _PricingModel):  # type: ignore[misc,name-defined]
        """MLflow wrapper: ``predict`` prices a frame of cars (checked against the schema);
        ``unwrap_python_model().model`` is the fitted PricingModel."""

        def __init__(self, model: PricingModel) -> None:
            _PricingModel.__init__(self, model)

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            """Price per day of each row of ``model_input`` (a pandas frame of features)."""
            return self.model.predict(model_input.to_dict("records"))

    return PricingPyfunc


class PricingRegistry:
    """Logs price-model runs, registers versions and moves the champion alias."""

    def __init__(self, tracking: Tracking) -> None:
        self.registry = Registry(tracking)

    @property
    def tracking(self) -> Tracking:
        """Where runs and models are kept."""
        return self.registry.tracking

    def champion(self) -> PricingChampion | None:
        """The version the champion alias points to, or None before the first promotion.

        Raises MlflowException when the registry cannot be read (not when it is empty)."""
        from mlflow.exceptions import MlflowException

        client = self.registry.client
        try:
            mv = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        run = client.get_run(mv.run_id) if mv.run_id else None
        rmse = run.data.metrics.get("rmse") if run else None
        data = run.data.tags.get("fleetcast.data_sha256") if run else None
        return PricingChampion(str(mv.version), rmse, mv.run_id, data)

    def log_candidate(
        self,
        model: PricingModel,
        *,
        metrics: dict[str, float],
        tags: dict[str, str],
        tables: dict[str, pl.DataFrame] | None = None,
    ) -> tuple[str, str]:
        """Log a training run with the model, its schema and tables; register a new version.
        Returns (run id, version)."""
        with _quiet():
            import mlflow
            import mlflow.pyfunc

            python_model = _pyfunc_class()(model)
        run_id, _ = self.registry.log_run(
            PRICING_KEY,
            run_name="train pricing",
            params={"model": "lightgbm_huber", **model.params.as_dict()},
            metrics=metrics,
            tables={
                "importance": model.importance,
                "option_effects": model.option_effects,
                **(tables or {}),
            },
            tags=tags,
        )
        with mlflow.start_run(run_id=run_id), _quiet():
            mlflow.log_dict(model.schema.as_dict(), "schema.json")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=python_model,
                pip_requirements=_requirements(),
                registered_model_name=MODEL_NAME,
                await_registration_for=30,
            )
        return run_id, str(info.registered_model_version)

    def promote(self, version: str) -> None:
        """Point the champion alias at ``version``."""
        self.registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)

    def load(self, version: str) -> PricingModel:
        """The fitted model of a registered version."""
        self.registry.client  # noqa: B018 - sets the registry URI
        with _quiet():
            import mlflow.pyfunc

            loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")
        model: PricingModel = loaded.unwrap_python_model().model
        return model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's import-time and logging chatter (warnings, progress) kept off the console."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for package in ("scikit-learn", "lightgbm", "pandas", "numpy", "polars", "pyarrow"):
        try:
            reqs.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return reqs
