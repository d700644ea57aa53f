"""Ride paths: polyline decoding, travelled vs straight distance against plain-Python
great-circle sums, and the H3 heat map (contiguous cells, one count per path and cell)."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise

import h3
import polars as pl
import polyline
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.analytics.paths import decode_route, path_cells, path_heatmap, path_metrics
from fleetcast.errors import SchemaError

FAST = settings(max_examples=60, deadline=None)
LOOP = (-87.6278, 41.8819)
"""(lon, lat) of Chicago's Loop."""

points_near_loop = st.tuples(
    st.floats(-0.03, 0.03).map(lambda d: LOOP[0] + d),
    st.floats(-0.02, 0.02).map(lambda d: LOOP[1] + d),
)


def great_circle_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between (lon, lat) points with the math module."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_decode_google_example_and_precision_6() -> None:
    """Google's documented example decodes to its three points as (lon, lat); polyline6
    needs precision 6; list routes pass through as floats."""
    assert decode_route("_p~iF~ps|U_ulLnnqC_mqNvxq`@") == [
        (-120.2, 38.5),
        (-120.95, 40.7),
        (-126.453, 43.252),
    ]
    six = polyline.encode([(41.881900, -87.627800), (41.882512, -87.629001)], 6)
    assert decode_route(six, precision=6) == [(-87.6278, 41.8819), (-87.629001, 41.882512)]
    assert decode_route([[1, 2], [3.5, 4]]) == [(1.0, 2.0), (3.5, 4.0)]
    assert decode_route(None) == []


@pytest.mark.parametrize("route", [[[1.0]], [[None, 2.0]], [[200.0, 10.0]], [[10.0, 95.0]]])
def test_decode_rejects_bad_points(route: list[list[float | None]]) -> None:
    """A point that is not a [lon, lat] pair in degrees is a SchemaError."""
    with pytest.raises(SchemaError, match="route point"):
        decode_route(route)  # type: ignore[arg-type]


def test_path_metrics_by_hand() -> None:
    """An L-shaped route: travelled = both legs, straight = the diagonal; a round trip has
    no detour ratio; the polyline form of a route gives the same figures."""
    corner = (LOOP[0] + 0.01, LOOP[1])
    end = (LOOP[0] + 0.01, LOOP[1] + 0.01)
    trips = pl.DataFrame(
        {
            "trip_id": ["L", "round", "single"],
            "route": [[LOOP, corner, end], [LOOP, corner, LOOP], [LOOP]],
        }
    )
    got = path_metrics(trips)
    legs = great_circle_m(LOOP, corner) + great_circle_m(corner, end)
    diagonal = great_circle_m(LOOP, end)
    first = got.row(0, named=True)
    assert first["points"] == 3
    assert first["path_m"] == pytest.approx(legs, rel=1e-9)
    assert first["straight_m"] == pytest.approx(diagonal, rel=1e-9)
    assert first["detour_ratio"] == pytest.approx(legs / diagonal, rel=1e-9)
    assert got["detour_ratio"][1] is None and got["path_m"][1] > 0
    assert got.row(2) == ("single", 1, 0.0, 0.0, None)
    encoded = pl.DataFrame(
        {
            "trip_id": ["L"],
            "route": [polyline.encode([(lat, lon) for lon, lat in (LOOP, corner, end)])],
        }
    )
    assert path_metrics(encoded)["path_m"][0] == pytest.approx(legs, rel=1e-5)


@FAST
@given(st.lists(points_near_loop, min_size=2, max_size=12))
def test_path_metrics_matches_reference(route: list[tuple[float, float]]) -> None:
    """Travelled distance is the sum of great-circle legs, never shorter than the straight
    line between the ends; the ratio is at least 1 whenever it is defined."""
    got = path_metrics(pl.DataFrame({"trip_id": ["t"], "route": [route]})).row(0, named=True)
    assert got["path_m"] == pytest.approx(sum(great_circle_m(a, b) for a, b in pairwise(route)))
    assert got["straight_m"] == pytest.approx(great_circle_m(route[0], route[-1]))
    assert got["path_m"] >= got["straight_m"] - 1e-6
    if got["straight_m"] >= 50.0:
        assert got["detour_ratio"] >= 1.0 - 1e-12
    else:
        assert got["detour_ratio"] is None


@FAST
@given(st.lists(points_near_loop, min_size=1, max_size=6), st.sampled_from([8, 9, 10]))
def test_path_cells_are_contiguous(route: list[tuple[float, float]], resolution: int) -> None:
    """The cells run from the first point's cell to the last's, each next to the one before,
    with no cell repeated back to back."""
    cells = path_cells(route, resolution)
    assert cells[0] == h3.latlng_to_cell(route[0][1], route[0][0], resolution)
    assert cells[-1] == h3.latlng_to_cell(route[-1][1], route[-1][0], resolution)
    assert all(h3.are_neighbor_cells(a, b) for a, b in pairwise(cells))


def test_long_segment_crosses_the_cells_between_its_ends() -> None:
    """A 2 km two-point route at resolution 10 gets the cells in between: a dense walk of
    20,000 steps along the line meets the same cells, but for at most two thin corner clips
    (and the path strays off the line by at most one cell)."""
    start, end = LOOP, (LOOP[0] + 0.024, LOOP[1])
    cells = path_cells([start, end], 10)
    steps = 20_000
    walk = {
        h3.latlng_to_cell(
            start[1] + (end[1] - start[1]) * i / steps,
            start[0] + (end[0] - start[0]) * i / steps,
            10,
        )
        for i in range(steps + 1)
    }
    assert len(walk) > 15
    assert len(walk - set(cells)) <= 2
    assert len(set(cells) - walk) <= 1
    assert all(min(h3.grid_distance(c, w) for w in walk) <= 1 for c in cells)
    assert all(h3.are_neighbor_cells(a, b) for a, b in pairwise(cells))


def test_path_cells_rejects_bad_resolution() -> None:
    """Resolutions outside 0..15 are a ValueError naming the resolution."""
    with pytest.raises(ValueError, match="resolution"):
        path_cells([LOOP], 16)


@FAST
@given(
    st.lists(
        st.lists(st.sampled_from(range(8)), min_size=1, max_size=10),
        min_size=1,
        max_size=6,
    )
)
def test_heatmap_counts_each_path_once_per_cell(walks: list[list[int]]) -> None:
    """Routes hopping between the centres of a chain of 8 neighbouring cells, possibly
    back and forth: each cell's count is the number of routes that visit it (a plain
    Counter over sets of visited cells); the most ridden come first."""
    row = [h3.latlng_to_cell(LOOP[1], LOOP[0], 9)]
    while len(row) < 8:
        row.append(min(c for c in h3.grid_ring(row[-1], 1) if c not in row))
    routes, visits = [], []
    for walk in walks:
        steps = [walk[0]]
        for target in walk[1:]:
            while steps[-1] != target:
                steps.append(steps[-1] + (1 if target > steps[-1] else -1))
        routes.append([h3.cell_to_latlng(row[i])[::-1] for i in steps])
        visits.append({row[i] for i in steps})
    heat = path_heatmap(pl.DataFrame({"route": routes}), resolution=9)
    want = Counter(c for visited in visits for c in visited)
    assert dict(heat.select("cell", "paths").iter_rows()) == dict(want)
    assert heat["paths"].to_list() == sorted(heat["paths"].to_list(), reverse=True)
    lat, lon = h3.cell_to_latlng(heat["cell"][0])
    assert (heat["lat"][0], heat["lon"][0]) == pytest.approx((lat, lon))


def test_heatmap_needs_a_route_column() -> None:
    """Trips without the route column are a SchemaError naming it."""
    with pytest.raises(SchemaError, match="path"):
        path_heatmap(pl.DataFrame({"trip_id": ["t"]}), route="path")
