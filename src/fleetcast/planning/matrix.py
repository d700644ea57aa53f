"""Travel distances and durations between zones and depots, the input every router needs.

A ``TravelMatrix`` is a fixed, square, possibly asymmetric table over named nodes. It comes
either from coordinates (great-circle metres times a detour factor, at a constant speed:
good enough when no road network is at hand) or from a file holding a road-network matrix
(``from_id, to_id, distance_m[, duration_s]``, CSV or Parquet). An infinite entry means the
destination cannot be reached; routers refuse to plan through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.errors import InfeasiblePlanError
from fleetcast.geo import haversine_m

__all__ = ["TravelMatrix", "UnreachableError"]

REQUIRED_COLUMNS = ("from_id", "to_id", "distance_m")
MAX_LISTED = 10


class UnreachableError(InfeasiblePlanError):
    """Some node cannot be reached from another (a missing, infinite or invalid entry)."""

    def __init__(self, message: str, pairs: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.pairs = list(pairs)


def _describe_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """Up to ten ``a->b`` pairs, and how many more there are."""
    shown = ", ".join(f"{a}->{b}" for a, b in pairs[:MAX_LISTED])
    more = len(pairs) - MAX_LISTED
    return shown + (f" (and {more} more)" if more > 0 else "")


def _check_speed(speed_kmh: float) -> None:
    if not (np.isfinite(speed_kmh) and speed_kmh > 0):
        raise ValueError(f"speed_kmh must be a positive number, got {speed_kmh!r}")


@dataclass(frozen=True)
class TravelMatrix:
    """Distances (metres) and durations (seconds) between ``node_ids``, row = from, col = to.

    The diagonal is zero. ``inf`` marks a pair that cannot be travelled.
    """

    node_ids: tuple[str, ...]
    distance_m: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float64]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.node_ids)
        if len(set(self.node_ids)) != n:
            raise ValueError("node_ids must be unique")
        for name in ("distance_m", "duration_s"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (n, n):
                raise ValueError(f"{name} must have shape ({n}, {n}), got {arr.shape}")
            if np.isnan(arr).any() or (arr < 0).any():
                raise ValueError(f"{name} must hold non-negative numbers (inf = unreachable)")
            arr = arr.copy()
            np.fill_diagonal(arr, 0.0)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "_index", {node: i for i, node in enumerate(self.node_ids)})

    def __len__(self) -> int:
        return len(self.node_ids)

    def index(self, node_id: str) -> int:
        """Row / column of ``node_id``; ``KeyError`` naming it when it is not in the matrix."""
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(f"node {node_id!r} is not in the travel matrix") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._index

    def subset(self, node_ids: Sequence[str]) -> TravelMatrix:
        """The matrix restricted to ``node_ids`` (in that order)."""
        idx = [self.index(node) for node in node_ids]
        grid = np.ix_(idx, idx)
        return TravelMatrix(tuple(node_ids), self.distance_m[grid], self.duration_s[grid])

    def unreachable_pairs(self, node_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Ordered pairs (among ``node_ids``, default all) with an infinite distance or time."""
        nodes = list(self.node_ids if node_ids is None else node_ids)
        idx = np.array([self.index(node) for node in nodes], dtype=int)
        if idx.size == 0:
            return []
        grid = np.ix_(idx, idx)
        bad = ~np.isfinite(self.distance_m[grid]) | ~np.isfinite(self.duration_s[grid])
        return [(nodes[i], nodes[j]) for i, j in zip(*np.nonzero(bad), strict=True)]

    @classmethod
    def from_coordinates(
        cls,
        node_ids: Sequence[str],
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        *,
        detour_factor: float = 1.3,
        speed_kmh: float = 25.0,
    ) -> TravelMatrix:
        """Great-circle metres times ``detour_factor``, driven at ``speed_kmh``.

        The detour factor stands in for the road network (streets are longer than the
        straight line); 1.3 is a common urban value.
        """
        if not (np.isfinite(detour_factor) and detour_factor >= 1.0):
            raise ValueError(f"detour_factor must be a number >= 1, got {detour_factor!r}")
        _check_speed(speed_kmh)
        lat_a = np.asarray(lat, dtype=float)
        lon_a = np.asarray(lon, dtype=float)
        n = len(node_ids)
        if lat_a.shape != (n,) or lon_a.shape != (n,):
            raise ValueError(f"lat and lon must each hold {n} values, one per node id")
        if not (np.isfinite(lat_a).all() and np.isfinite(lon_a).all()):
            raise ValueError("lat and lon must be finite numbers")
        dist = haversine_m(lat_a[:, None], lon_a[:, None], lat_a[None, :], lon_a[None, :])
        dist = dist * detour_factor
        return cls(tuple(node_ids), dist, dist / (speed_kmh / 3.6))

    @classmethod
    def from_file(
        cls, path: str | Path, node_ids: Sequence[str], *, speed_kmh: float = 25.0
    ) -> TravelMatrix:
        """Read a road-network matrix (CSV or Parquet) for ``node_ids``.

        Columns ``from_id, to_id, distance_m`` and optionally ``duration_s`` (else distance at
        ``speed_kmh``). Every ordered pair of distinct requested nodes must be present with a
        finite, non-negative value; missing or infinite pairs raise ``UnreachableError``
        (listing up to ten), NaN or negative values raise ``ValueError``.
        """
        _check_speed(speed_kmh)
        path = Path(path)
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, schema_overrides={"from_id": pl.Utf8, "to_id": pl.Utf8})
        missing_cols = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing_cols:
            raise ValueError(
                f"{path.name} needs columns from_id, to_id, distance_m (optional duration_s); "
                f"missing {', '.join(missing_cols)}; found {', '.join(frame.columns)}"
            )
        nodes = tuple(node_ids)
        n = len(nodes)
        if len(set(nodes)) != n:
            raise ValueError("node_ids must be unique")
        index = {node: i for i, node in enumerate(nodes)}
        has_duration = "duration_s" in frame.columns
        cols = [*REQUIRED_COLUMNS, *(["duration_s"] if has_duration else [])]
        frame = frame.select(
            pl.col("from_id").cast(pl.Utf8),
            pl.col("to_id").cast(pl.Utf8),
            *(pl.col(c).cast(pl.Float64) for c in cols[2:]),
        ).filter(pl.col("from_id").is_in(nodes) & pl.col("to_id").is_in(nodes))
        for col in cols[2:]:
            bad = frame.filter(pl.col(col).is_nan() | pl.col(col).is_null() | (pl.col(col) < 0))
            if bad.height:
                pairs = list(zip(bad["from_id"], bad["to_id"], strict=True))
                raise ValueError(
                    f"{path.name}: {col} must be a non-negative number; "
                    f"bad at {_describe_pairs(pairs)}"
                )
        dist = np.full((n, n), np.inf)
        dur = np.full((n, n), np.inf)
        rows = [index[a] for a in frame["from_id"]]
        cols_idx = [index[b] for b in frame["to_id"]]
        dist[rows, cols_idx] = frame["distance_m"].to_numpy()
        if has_duration:
            dur[rows, cols_idx] = frame["duration_s"].to_numpy()
        else:
            dur = dist / (speed_kmh / 3.6)
        np.fill_diagonal(dist, 0.0)
        np.fill_diagonal(dur, 0.0)
        matrix = cls(nodes, dist, dur)
        unreachable = matrix.unreachable_pairs()
        if unreachable:
            raise UnreachableError(
                f"{path.name} lacks {len(unreachable)} pair(s) among the requested nodes (or "
                f"they are infinite = unreachable): {_describe_pairs(unreachable)}; add them "
                "to the matrix or drop those nodes",
                unreachable,
            )
        return matrix
