"""What the store status says of the scheduled pipelines: nothing on a new store, the newest
run of each with the failing one named by step and message, in JSON-ready values."""

from __future__ import annotations

import json

from fleetcast.jobs.serving import failing_pipelines
from fleetcast.jobs.status import store_status
from fleetcast.store import Store
from pipeline_runs import FAILURE, record_sample_runs


def test_status_of_a_store_without_runs(sqlite_store: Store) -> None:
    """No run yet: empty lists, not an error."""
    assert store_status(sqlite_store)["pipelines"] == {"runs": [], "failing": []}
    assert failing_pipelines(sqlite_store) == []


def test_status_names_the_failing_pipeline(store: Store) -> None:
    """Three pipelines, one failing at its forecast step with the error's message; the whole
    status serialises to JSON as is."""
    record_sample_runs(store)
    info = store_status(store)
    pipelines = json.loads(json.dumps(info))["pipelines"]
    assert {(r["flow"], r["system_id"]) for r in pipelines["runs"]} == {
        ("daily", "demo"),
        ("poll", "demo"),
        ("compact", None),
    }
    (bad,) = pipelines["failing"]
    assert (bad["flow"], bad["system_id"], bad["failed_step"]) == ("daily", "demo", "forecast")
    assert FAILURE in bad["message"] and bad["status"] == "failed"
    (health,) = failing_pipelines(store)
    assert health["failed_step"] == "forecast" and isinstance(health["started_at"], str)
