"""Experiment tracking and the model registry (MLflow), one registered model per system.

Tracking lives in the fleetcast home by default (a SQLite file and an artifacts folder), or
on any MLflow server named by ``FLEETCAST_MLFLOW_URI``. The ``champion`` alias marks the
version that forecasts; it moves only when a candidate beats it on the same backtest window.
MLflow is imported on first use, never at import time.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from fleetcast.forecasting.base import Forecaster

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CHAMPION = "champion"
EXPERIMENT_PREFIX = "fleetcast"


def model_name(system_id: str) -> str:
    """The registered model of a system."""
    return f"fleetcast-{system_id}"


@dataclass(frozen=True, slots=True)
class Tracking:
    """Where runs and models are kept."""

    uri: str
    artifacts: str | None

    @classmethod
    def for_home(cls, home: Path, env: dict[str, str] | None = None) -> Tracking:
        """``FLEETCAST_MLFLOW_URI`` when set, else SQLite + artifacts under ``home/mlflow``."""
        env = dict(os.environ) if env is None else env
        uri = env.get("FLEETCAST_MLFLOW_URI")
        if uri:
            return cls(uri, None)
        folder = home / "mlflow"
        folder.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri())

    def ui_command(self) -> str:
        """The command that opens the MLflow UI on these runs."""
        return f"mlflow ui --backend-store-uri {self.uri}"


@dataclass(frozen=True, slots=True)
class Champion:
    """The version that forecasts for a system, and how to rebuild its model."""

    version: str
    model: str
    params: dict[str, Any]
    wape: float | None

    @property
    def label(self) -> str:
        """``global_gbm@v3``: model name and registry version, as stored with forecasts."""
        return f"{self.model}@v{self.version}"


class _ForecasterModel:
    """A fitted Forecaster wrapped as an MLflow pyfunc model (predict takes an issue context)."""

    def __init__(self, forecaster: Forecaster) -> None:
        self.forecaster = forecaster


def _pyfunc_class() -> type:
    import mlflow.pyfunc

    class ForecasterModel(mlflow.pyfunc.PythonModel, _ForecasterModel):  # type: ignore[misc,name-defined]
        """MLflow wrapper: ``unwrap_python_model().forecaster`` is the fitted model."""

        def __init__(self, forecaster: Forecaster) -> None:
            _ForecasterModel.__init__(self, forecaster)

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            """Not used for serving: fleetcast calls the unwrapped forecaster directly."""
            raise NotImplementedError("use unwrap_python_model().forecaster.predict(...)")

    return ForecasterModel


class Registry:
    """Logs runs and registers models for systems; moves the champion alias by the rule."""

    def __init__(self, tracking: Tracking) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        self.tracking = tracking
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client (created, and the tracking db migrated, on first use)."""
        if self._client is None:
            import mlflow
            from mlflow.tracking import MlflowClient

            logging.getLogger("mlflow").setLevel(logging.ERROR)
            mlflow.set_tracking_uri(self.tracking.uri)
            mlflow.set_registry_uri(self.tracking.uri)
            self._client = MlflowClient(self.tracking.uri, self.tracking.uri)
        return self._client

    def experiment_id(self, system_id: str) -> str:
        """The experiment of a system's runs, created on first use."""
        name = f"{EXPERIMENT_PREFIX}-{system_id}"
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(
            self.client.create_experiment(name, artifact_location=self._artifacts(system_id))
        )

    def _artifacts(self, system_id: str) -> str | None:
        if self.tracking.artifacts is None:
            return None
        return f"{self.tracking.artifacts}/{system_id}"

    def log_run(
        self,
        system_id: str,
        *,
        run_name: str,
        params: dict[str, Any],
        metrics: dict[str, float],
        tables: dict[str, pl.DataFrame] | None = None,
        tags: dict[str, str] | None = None,
        model: Forecaster | None = None,
    ) -> tuple[str, str | None]:
        """Log one run; with ``model``, log it and register a new version. (run id, version)."""
        import mlflow
        import mlflow.pyfunc

        self.client  # noqa: B018 - sets the tracking URI before the fluent API is used
        version: str | None = None
        with mlflow.start_run(
            experiment_id=self.experiment_id(system_id), run_name=run_name, tags=tags or {}
        ) as run:
            mlflow.log_params({k: _param(v) for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
            with tempfile.TemporaryDirectory() as tmp:
                for name, table in (tables or {}).items():
                    path = Path(tmp) / f"{name}.csv"
                    table.write_csv(path)
                    mlflow.log_artifact(str(path))
            if model is not None:
                with (
                    warnings.catch_warnings(),
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    warnings.simplefilter("ignore")
                    info = mlflow.pyfunc.log_model(
                        name="model",
                        python_model=_pyfunc_class()(model),
                        pip_requirements=_requirements(),
                        registered_model_name=model_name(system_id),
                        await_registration_for=30,
                    )
                version = str(info.registered_model_version)
            run_id = str(run.info.run_id)
        return run_id, version

    def champion(self, system_id: str) -> Champion | None:
        """The current champion of a system, or None before the first promotion."""
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version_by_alias(model_name(system_id), CHAMPION)
        except MlflowException:
            return None
        run = self.client.get_run(mv.run_id) if mv.run_id else None
        params = dict(run.data.params) if run else {}
        model = params.pop("model", "global_gbm")
        wape = run.data.metrics.get("wape") if run else None
        return Champion(str(mv.version), model, _unparam(params), wape)

    def promote(self, system_id: str, version: str) -> None:
        """Point the champion alias at ``version``."""
        self.client.set_registered_model_alias(model_name(system_id), CHAMPION, version)

    def load_champion(self, system_id: str) -> tuple[Champion, Forecaster]:
        """The champion's metadata and its fitted forecaster."""
        import mlflow.pyfunc

        champion = self.champion(system_id)
        if champion is None:
            raise LookupError(
                f"system {system_id!r} has no champion model yet: run 'fleetcast train "
                f"--system {system_id}' first"
            )
        self.client  # noqa: B018 - sets the registry URI
        loaded = mlflow.pyfunc.load_model(f"models:/{model_name(system_id)}@{CHAMPION}")
        wrapper = loaded.unwrap_python_model()
        forecaster: Forecaster = wrapper.forecaster
        return champion, forecaster


def _param(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else value


def _unparam(params: dict[str, str]) -> dict[str, Any]:
    import ast

    out: dict[str, Any] = {}
    for key, text in params.items():
        if key.startswith("fleetcast."):
            continue
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for package in ("polars", "lightgbm", "mlforecast", "statsforecast", "pandas", "numpy"):
        try:
            reqs.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return reqs
