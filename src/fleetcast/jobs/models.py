"""Model jobs: what the registry holds for a system, read back for the dashboard and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from fleetcast.forecasting.registry import model_name
from fleetcast.jobs.forecast import registry_for
from fleetcast.store import Store, records

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

CHAMPION_HISTORY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "version": pl.Int64,
    "created_at": pl.Datetime("us", "UTC"),
    "model": pl.String,
    "wape": pl.Float64,
    "champion_wape": pl.Float64,
    "window": pl.String,
    "decision": pl.String,
    "reason": pl.String,
    "is_champion": pl.Boolean,
    "run_id": pl.String,
}
"""One row per registered version: the candidate's backtest WAPE, the champion's WAPE on the
same window (null for the first version), the training decision and whether it forecasts now."""


def champion_history(store: Store, system_id: str) -> pl.DataFrame:
    """Every registered model version of a system, oldest first, with its training run's
    model, backtest WAPE and promotion decision, and which version is the champion now."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
    registry = registry_for(store)
    client = registry.client
    versions = client.search_model_versions(f"name = '{model_name(system_id)}'")
    champion = registry.champion(system_id) if versions else None
    rows = [_version_row(client, mv, champion.version if champion else None) for mv in versions]
    return pl.DataFrame(rows, schema=CHAMPION_HISTORY_SCHEMA, orient="row").sort("version")


def _version_row(
    client: MlflowClient, mv: ModelVersion, champion: str | None
) -> tuple[object, ...]:
    """One history row from a model version and the run that registered it."""
    run = client.get_run(mv.run_id) if mv.run_id else None
    params = run.data.params if run else {}
    metrics = run.data.metrics if run else {}
    tags = run.data.tags if run else {}
    created = (
        datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC)
        if mv.creation_timestamp
        else None
    )
    return (
        int(mv.version),
        created,
        params.get("model"),
        metrics.get("wape"),
        metrics.get("champion_wape"),
        tags.get("fleetcast.window"),
        tags.get("fleetcast.decision"),
        tags.get("fleetcast.reason"),
        champion is not None and str(mv.version) == champion,
        mv.run_id,
    )
