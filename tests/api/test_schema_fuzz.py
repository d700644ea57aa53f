"""Schemathesis drives every operation of the app's own OpenAPI schema with generated valid
and invalid input: no input may produce a 5xx, and answers must match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fleetcast.api import create_app
from fleetcast.store import Store
from fleetcast.store.keys import create_key


@pytest.fixture(scope="module")
def fuzzed_app(served_store: Store) -> tuple[FastAPI, str]:
    """An app over the served demo with its cache loaded, and a write key."""
    app = create_app(served_store.settings)
    app.state.cache.sync()
    with served_store.begin() as conn:
        _, key = create_key(conn, "schemathesis")
    return app, key


def _operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_produces_a_server_error(
    fuzzed_app: tuple[FastAPI, str], mode: GenerationMode
) -> None:
    """Every operation, with generated valid (then invalid) input and a real key, answers with
    a documented status and body, never a 5xx. Schema-valid input may still be refused (an
    unknown system is a 404, a day nothing can answer a 422: the schema cannot list them),
    so the positive-acceptance check is the one left out."""
    app, key = fuzzed_app
    operations = _operations(app)
    assert {op.path for op in operations} >= {"/predict", "/forecasts", "/zones", "/health"}
    fuzzed = set()
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"X-API-Key": key}, excluded_checks=[positive_data_acceptance]
            )

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.path
            continue  # nothing in this operation can be made invalid (no parameters)
        fuzzed.add(operation.path)
    assert {"/predict", "/forecasts", "/demand", "/zones", "/backtests"} <= fuzzed
