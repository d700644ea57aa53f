"""TravelMatrix: coordinates, files, unreachable pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fleetcast.errors import InfeasiblePlanError
from fleetcast.planning.matrix import TravelMatrix, UnreachableError


@pytest.fixture
def three_nodes() -> TravelMatrix:
    """Three points about 1 km apart in Milan."""
    return TravelMatrix.from_coordinates(
        ["d", "a", "b"], [45.46, 45.47, 45.46], [9.19, 9.19, 9.20], speed_kmh=36.0
    )


def test_from_coordinates_detour_and_speed(three_nodes: TravelMatrix) -> None:
    """Distances are great-circle times 1.3, durations distance / speed, diagonal zero."""
    d = three_nodes.distance_m
    assert d[0, 0] == 0
    assert d[0, 1] == pytest.approx(1111.95 * 1.3, rel=1e-3)
    assert three_nodes.duration_s[0, 1] == pytest.approx(d[0, 1] / 10.0)
    assert three_nodes.index("b") == 2


def test_index_unknown_node(three_nodes: TravelMatrix) -> None:
    """An unknown node id raises KeyError naming it."""
    with pytest.raises(KeyError, match="zz"):
        three_nodes.index("zz")


def test_from_file_csv_round_trip(tmp_path: Path, three_nodes: TravelMatrix) -> None:
    """A matrix written as from_id,to_id,distance_m,duration_s CSV reads back the same."""
    rows = [
        (a, b, three_nodes.distance_m[i, j], three_nodes.duration_s[i, j])
        for i, a in enumerate(three_nodes.node_ids)
        for j, b in enumerate(three_nodes.node_ids)
        if i != j
    ]
    path = tmp_path / "m.csv"
    pl.DataFrame(
        rows, schema=["from_id", "to_id", "distance_m", "duration_s"], orient="row"
    ).write_csv(path)
    back = TravelMatrix.from_file(path, ["b", "a", "d"])
    assert back.node_ids == ("b", "a", "d")
    np.testing.assert_allclose(back.distance_m, three_nodes.subset(["b", "a", "d"]).distance_m)
    np.testing.assert_allclose(back.duration_s, three_nodes.subset(["b", "a", "d"]).duration_s)


def test_from_file_parquet_without_duration(tmp_path: Path) -> None:
    """Without duration_s the duration is distance at speed_kmh."""
    path = tmp_path / "m.parquet"
    pl.DataFrame(
        {"from_id": ["a", "b"], "to_id": ["b", "a"], "distance_m": [1000.0, 2000.0]}
    ).write_parquet(path)
    m = TravelMatrix.from_file(path, ["a", "b"], speed_kmh=36.0)
    assert m.duration_s[1, 0] == pytest.approx(200.0)


def test_from_file_missing_pair_is_unreachable(tmp_path: Path) -> None:
    """A pair absent from the file raises UnreachableError (an InfeasiblePlanError) naming it."""
    path = tmp_path / "m.csv"
    pl.DataFrame({"from_id": ["a"], "to_id": ["b"], "distance_m": [5.0]}).write_csv(path)
    with pytest.raises(UnreachableError, match="b->a") as info:
        TravelMatrix.from_file(path, ["a", "b"])
    assert isinstance(info.value, InfeasiblePlanError)
    assert info.value.pairs == [("b", "a")]


def test_from_file_bad_values_and_columns(tmp_path: Path) -> None:
    """Negative distances and missing columns raise ValueError naming what is needed."""
    path = tmp_path / "m.csv"
    pl.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "a"], "distance_m": [-1.0, 2.0]}).write_csv(
        path
    )
    with pytest.raises(ValueError, match="non-negative"):
        TravelMatrix.from_file(path, ["a", "b"])
    pl.DataFrame({"src": ["a"], "dst": ["b"]}).write_csv(path)
    with pytest.raises(ValueError, match="from_id, to_id, distance_m"):
        TravelMatrix.from_file(path, ["a", "b"])


def test_infinite_entry_is_unreachable() -> None:
    """unreachable_pairs lists infinite entries."""
    d = np.array([[0.0, np.inf], [1.0, 0.0]])
    m = TravelMatrix(("a", "b"), d, d)
    assert m.unreachable_pairs() == [("a", "b")]
