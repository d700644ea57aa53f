"""Smoke test of benchmarks/plan.py at its ``--quick`` size: it runs and its JSON holds up."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "plan.py"


def _load() -> ModuleType:
    """The benchmark script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("plan_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``--quick --json`` run (60 zones, 600 vehicles, 2 held-out days, 1 s routing)."""
    bench = _load()
    work = tmp_path_factory.mktemp("plan_bench")
    capture = _Capture()
    old, sys.stdout = sys.stdout, capture
    try:
        bench.main(["--quick", "--json", "--time-limit", "1", "--keep", str(work)])
    finally:
        sys.stdout = old
    result: dict[str, Any] = json.loads(capture.text)
    return result


class _Capture:
    """A stdout that keeps what is written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "".join(self.parts)


def test_scale_section_reports_a_timed_plan(quick: dict[str, Any]) -> None:
    """The scale section names the problem size, the stages of make_plan and their times."""
    scale = quick["scale"]
    assert scale["zones"] == 60
    assert scale["vehicles"] == 600
    assert scale["time_limit_s"] == 1.0
    assert scale["wall_s"] > 0
    assert scale["stages"] and all(s["seconds"] >= 0 for s in scale["stages"])
    assert sum(s["seconds"] for s in scale["stages"]) <= scale["wall_s"] + 0.01
    assert scale["solve_seconds"] <= scale["wall_s"]
    for key in ("moves", "stops", "tasks", "vehicles_moved", "km_driven"):
        assert scale[key] >= 0


def test_replay_section_adds_up(quick: dict[str, Any]) -> None:
    """Each replayed day serves at most its trips in both worlds, gains are the difference,
    and the totals are the sums of the days."""
    replay = quick["replay"]
    days = replay["days"]
    assert len(days) == 2
    assert days[0]["date"] < days[1]["date"]
    for d in days:
        assert 0 < d["served_without"] <= d["trips"]
        assert 0 < d["served_with"] <= d["trips"]
        assert d["gained"] == d["served_with"] - d["served_without"]
        assert d["fleet_with"] <= replay["city"]["available"]
    assert days[0]["fleet_without"] == days[0]["fleet_with"] == replay["city"]["available"]
    assert days[0]["gained_today"] == days[0]["gained"]  # both worlds start from one fleet
    total = replay["total"]
    for key in ("trips", "served_without", "served_with", "gained", "gained_today"):
        assert total[key] == sum(d[key] for d in days)
