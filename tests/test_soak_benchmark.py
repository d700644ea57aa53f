"""Smoke test of benchmarks/soak.py: 18 one-second polls against the faulty local feed."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load() -> ModuleType:
    """The soak script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("soak_benchmark", BENCH / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def soak() -> dict[str, Any]:
    """One short soak: 0.3 min of 1 s polls, a 1 s client timeout, the default faults."""
    bench = _load()
    args = argparse.Namespace(
        minutes=0.3,
        every="1s",
        seed=8,
        vehicles=120,
        stations=20,
        fault_rate=0.3,
        timeout=1.0,
        db_url=None,
        json=True,
    )
    result: dict[str, Any] = bench.run(args)
    return result


@pytest.mark.slow
def test_every_criterion_passes(soak: dict[str, Any]) -> None:
    """Memory flat, no snapshot lost or duplicated, every fault reported."""
    assert soak["verdicts"] == {
        "memory flat": True,
        "no snapshot lost": True,
        "no snapshot duplicated": True,
        "every fault reported": True,
    }, soak


@pytest.mark.slow
def test_every_fault_kind_is_injected_and_reported(soak: dict[str, Any]) -> None:
    """Each fault kind (and the stall) occurs at least once and each is reported."""
    kinds = ("timeout", "http_5xx", "truncated_json", "html_page", "stall")
    assert all(soak["faults_injected"].get(k, 0) >= 1 for k in kinds), soak["faults_injected"]
    assert soak["faults_reported"] == soak["faults_injected"]
    assert soak["faults_unreported"] == [] and soak["reported_not_injected"] == []


@pytest.mark.slow
def test_snapshots_add_up(soak: dict[str, Any]) -> None:
    """The lake holds exactly the snapshots served whole, once each, and the run was short."""
    assert soak["cycles"] == 18
    assert soak["snapshots_stored"] == soak["snapshots_served_ok"] > 0
    assert soak["snapshots_lost"] == [] and soak["snapshots_duplicated"] == []
    assert soak["raw_duplicate_rows"] == 0
    assert soak["poll_report_totals_match"]
    assert soak["seconds"] < 60
