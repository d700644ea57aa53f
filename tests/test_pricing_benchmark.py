"""Smoke test of benchmarks/pricing.py at its ``--quick`` size on the real pricing file: it
runs both models on the same folds and its JSON has the documented shape."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shared_data import shared_file

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pricing.py"


def _load() -> ModuleType:
    """The benchmark script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("pricing_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--quick --json`: both models with rmse, mae, r2 and fit_s; the best has the lowest
    RMSE; fleetcast beats the linear baseline even with few trees."""
    path = shared_file("getaround", "get_around_pricing_project.csv")
    bench = _load()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert bench.main(["--file", str(path), "--json", "--quick"]) == 0
    result = json.loads(out.getvalue())
    models = {m["name"]: m for m in result["models"]}
    assert len(models) == 2
    for m in models.values():
        assert set(m) == {"name", "rmse", "mae", "r2", "fit_s"}
        assert 0 < m["mae"] < m["rmse"] and 0 < m["r2"] < 1 and m["fit_s"] >= 0
    assert result["best"] == min(models.values(), key=lambda m: m["rmse"])["name"]
    assert result["best"].startswith("fleetcast")
    assert result["rows_used"] == 4_841 and result["folds"] == 5


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An absent --file exits 1 with a message naming it."""
    assert _load().main(["--file", str(tmp_path / "nope.csv"), "--json"]) == 1
    assert "nope.csv" in capsys.readouterr().err
