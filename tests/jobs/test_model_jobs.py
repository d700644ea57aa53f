"""The model jobs: the champion history read back from the MLflow registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetcast.domain import SystemInfo
from fleetcast.errors import UnknownSystemError
from fleetcast.jobs import register_system
from fleetcast.jobs.models import CHAMPION_HISTORY_SCHEMA, champion_history
from fleetcast.store import Store


def test_champion_history_lists_the_trained_version_as_champion(served_store: Store) -> None:
    """The served demo trained global_gbm once: one version, promoted, and the champion now."""
    history = champion_history(served_store, "demo")
    assert dict(history.schema) == CHAMPION_HISTORY_SCHEMA
    (row,) = history.to_dicts()
    assert row["version"] == 1
    assert row["model"] == "global_gbm"
    assert row["is_champion"] is True
    assert row["decision"] == "promoted"
    assert row["reason"] == "no champion yet"
    assert row["champion_wape"] is None
    assert 0 < row["wape"] < 1
    assert row["window"] is not None and ".." in row["window"]
    assert row["created_at"] <= datetime.now(UTC)


def test_champion_history_is_empty_with_its_schema_before_training(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system that was never trained has no versions: an empty frame, same columns."""
    monkeypatch.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    register_system(sqlite_store, SystemInfo(system_id="new", name="New", timezone="UTC"), None)
    history = champion_history(sqlite_store, "new")
    assert history.is_empty()
    assert dict(history.schema) == CHAMPION_HISTORY_SCHEMA


def test_champion_history_of_an_unknown_system_is_a_lookup_error(sqlite_store: Store) -> None:
    """A system id the store does not know raises before the registry is touched."""
    with pytest.raises(UnknownSystemError):
        champion_history(sqlite_store, "nowhere")
