"""benchmarks/routing.py: JSON shape on a tiny VRPLIB instance and one Dell'Amico file."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared_data import shared_file

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "routing.py"

TINY_VRP = """NAME : tiny-n5
TYPE : CVRP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 0 10
3 10 10
4 10 0
5 5 5
DEMAND_SECTION
1 0
2 5
3 5
4 5
5 5
DEPOT_SECTION
1
-1
EOF
"""


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The benchmark script imported from its path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("routing_benchmark", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["routing_benchmark"] = module
    spec.loader.exec_module(module)
    return module


def run_json(bench: ModuleType, folder: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run main with --json and a 1 s limit, return the parsed output."""
    assert bench.main(["--instances", str(folder), "--time-limit", "1", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_tiny_vrplib(tmp_path: Path, bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """A 4-client CVRP with a known optimum: both solvers feasible, fleetcast at 0% gap."""
    (tmp_path / "tiny-n5.vrp").write_text(TINY_VRP)
    (tmp_path / "tiny-n5.sol").write_text("Route #1: 1 4\nRoute #2: 2 3\nCost 58\n")
    report = run_json(bench, tmp_path, capsys)
    (row,) = report["instances"]
    assert {"name", "bks", "cost", "gap_pct", "ortools_cost", "ortools_gap_pct"} <= set(row)
    assert row["name"] == "tiny-n5" and row["bks"] == 58
    assert row["feasible"] and row["ortools_feasible"]
    assert row["cost"] == 58 and row["gap_pct"] == 0
    assert report["mean_gap_pct"] == 0


def test_dellamico_file(
    tmp_path: Path, bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """One Dell'Amico instance: no bks, both feasible, the OR-Tools comparison present."""
    source = shared_file("vrp", "bike_rebalancing_dellamico", "1Bari30.json")
    shutil.copy(source, tmp_path / source.name)
    report = run_json(bench, tmp_path, capsys)
    (row,) = report["instances"]
    assert row["bks"] is None and row["gap_pct"] is None
    assert row["feasible"] and row["ortools_feasible"]
    assert isinstance(row["ortools_minus_fleetcast"], int)
    assert isinstance(row["no_worse_than_ortools"], bool)
    assert report["mean_gap_pct"] is None
