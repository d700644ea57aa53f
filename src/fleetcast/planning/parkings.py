"""Suggested new parking spots: dense clusters of trip points far from existing parkings.

Riders start and end trips where they want to, not only at parkings. Where many trip
points gather far from any parking, a parking there would serve demand that today
spreads vehicles over the pavement. This module finds those places in three steps:

1. take trip starts and/or ends (``ParkingSuggestionParams.use``) and drop every point
   within ``min_distance_m`` of an existing parking: that demand is already served;
2. cluster what remains, either on an H3 grid (fast, deterministic) or with mean shift
   on metric coordinates (centres not tied to a grid);
3. keep clusters whose centroid is still ``min_distance_m`` from every parking and that
   would serve at least ``min_trips_per_day``, ranked by the trips per day they would serve.

Distances are measured in a local azimuthal-equidistant projection (metres) around the
points, never in degrees, and from a parking's centre (its ``radius_m`` is not subtracted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

import h3
import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
from sklearn.cluster import MeanShift
from sklearn.neighbors import KDTree

from fleetcast.errors import SchemaError
from fleetcast.geo import h3_cells, local_crs

FloatArray = npt.NDArray[np.float64]

SUGGESTIONS: Final[dict[str, pl.DataType]] = {
    "rank": pl.Int64(),
    "suggestion_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "trips_per_day": pl.Float64(),
    "starts_per_day": pl.Float64(),
    "ends_per_day": pl.Float64(),
    "nearest_parking_id": pl.String(),
    "distance_to_parking_m": pl.Float64(),
    "zone_id": pl.String(),
    "cell": pl.String(),
}
"""Columns of ``suggest_parkings``' answer, best suggestion first."""

_METHODS: Final = ("h3", "meanshift")
_USES: Final = ("ends", "starts", "both")
_SEED_SHARE: Final = 0.25
"""Mean shift seeds on bins of ``bandwidth_m`` holding at least this share of the points
a cluster needs (``min_trips_per_day * days``): sparse bins cannot grow into a kept
cluster, and skipping them keeps mean shift fast on a whole city."""


@dataclass(frozen=True, slots=True)
class ParkingSuggestionParams:
    """How parking suggestions are found; checks itself so a bad setting fails early.

    ``method`` is ``"h3"`` (count points per H3 cell at ``h3_resolution``, merge each
    densest cell with its ring of neighbours) or ``"meanshift"`` (scikit-learn mean shift
    with ``bandwidth_m``, fitted on at most ``max_points`` points drawn with ``seed``).
    A suggestion is at least ``min_distance_m`` from every existing parking, serves at
    least ``min_trips_per_day``; the best ``top`` are kept. ``use`` chooses which trip
    points count as demand: trip ``"ends"`` (where vehicles are left), ``"starts"`` or
    ``"both"``.
    """

    method: Literal["h3", "meanshift"] = "h3"
    h3_resolution: int = 10
    bandwidth_m: float = 120.0
    min_distance_m: float = 200.0
    min_trips_per_day: float = 2.0
    top: int = 20
    use: Literal["ends", "starts", "both"] = "both"
    max_points: int = 50_000
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.method not in _METHODS:
            problems.append(f"method={self.method!r} (use one of {list(_METHODS)})")
        if not _is_int(self.h3_resolution) or not 7 <= self.h3_resolution <= 12:
            problems.append(f"h3_resolution={self.h3_resolution!r} (use an integer 7..12)")
        if not _is_number(self.bandwidth_m) or not 10.0 <= self.bandwidth_m <= 5000.0:
            problems.append(f"bandwidth_m={self.bandwidth_m!r} (use 10..5000 m)")
        if not _is_number(self.min_distance_m) or not 0.0 <= self.min_distance_m <= 10_000.0:
            problems.append(f"min_distance_m={self.min_distance_m!r} (use 0..10000 m)")
        if not _is_number(self.min_trips_per_day) or not self.min_trips_per_day >= 0.0:
            problems.append(f"min_trips_per_day={self.min_trips_per_day!r} (use >= 0)")
        if not _is_int(self.top) or self.top < 1:
            problems.append(f"top={self.top!r} (use an integer >= 1)")
        if self.use not in _USES:
            problems.append(f"use={self.use!r} (use one of {list(_USES)})")
        if not _is_int(self.max_points) or self.max_points < 100:
            problems.append(f"max_points={self.max_points!r} (use an integer >= 100)")
        if not _is_int(self.seed):
            problems.append(f"seed={self.seed!r} (use an integer)")
        if problems:
            raise ValueError("ParkingSuggestionParams not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ParkingSuggestionParams:
        """Params from a TOML table; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"ParkingSuggestionParams not understood: unknown key(s) {unknown}")
        return cls(**dict(data))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def empty_suggestions() -> pl.DataFrame:
    """An answer with no suggestion, in the schema of ``suggest_parkings``."""
    return pl.DataFrame(schema=SUGGESTIONS)


def suggest_parkings(
    trips: pl.DataFrame,
    parkings: pl.DataFrame,
    *,
    params: ParkingSuggestionParams | None = None,
    days: int | None = None,
) -> pl.DataFrame:
    """New parking spots where trip points cluster far from every existing parking.

    ``trips`` needs the coordinate columns of the points ``params.use`` counts
    (``start_lat``/``start_lon`` and/or ``end_lat``/``end_lon``); ``start_zone`` /
    ``end_zone`` are used for each suggestion's ``zone_id`` when present. ``parkings``
    needs ``parking_id``, ``lat``, ``lon`` (it may be empty). Rates are per day over
    ``days``, by default the span of the trips' ``date`` column (first to last day, days
    without trips included; the UTC day of ``started_at`` when there is no ``date``).

    Returns the columns of ``SUGGESTIONS``, best first: ``trips_per_day`` is the demand the
    spot would serve (``starts_per_day + ends_per_day`` for ``use="both"``; the per-kind
    column of a kind not used is null), ``zone_id`` the most common zone of its points,
    ``cell`` the H3 cell it grew from (null for mean shift). ``suggestion_id`` is stable
    for the same input: ``h3:<cell>`` or ``ms:<lat>,<lon>`` rounded to 4 decimals (~10 m).
    """
    params = ParkingSuggestionParams() if params is None else params
    if days is not None and (not _is_int(days) or days < 1):
        raise ValueError(f"days={days!r} must be an integer >= 1")
    if trips.is_empty():
        return empty_suggestions()
    points = _points(trips, params.use)
    if points.is_empty():
        return empty_suggestions()
    n_days = days if days is not None else _span_days(trips)
    _require(parkings, ("parking_id", "lat", "lon"), "parkings")

    lat = points["lat"].to_numpy()
    lon = points["lon"].to_numpy()
    crs = local_crs(float(np.mean(lat)), float(np.mean(lon)))
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inverse = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = (np.asarray(v, dtype=np.float64) for v in forward.transform(lon, lat))
    xy = np.column_stack([x, y])

    parked = parkings.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    nearest = _NearestParking(parked, forward)
    far = nearest.distance(xy) >= params.min_distance_m
    points, xy = points.filter(pl.Series(far)), xy[far]
    if points.is_empty():
        return empty_suggestions()

    centre_cells: list[str] = []
    if params.method == "h3":
        label, centre_cells = _h3_clusters(points, params.h3_resolution)
    else:
        label = _meanshift_clusters(xy, params=params, n_days=n_days)
    clusters = _summarise(points, xy, label, params=params, n_days=n_days)
    if clusters.is_empty():
        return empty_suggestions()

    cx, cy = clusters["x"].to_numpy(), clusters["y"].to_numpy()
    c_lon, c_lat = (np.asarray(v, dtype=np.float64) for v in inverse.transform(cx, cy))
    distance, parking_id = nearest.nearest(np.column_stack([cx, cy]))
    distance[~np.isfinite(distance)] = np.nan  # no parking at all: null
    if params.method == "h3":
        cells: list[str | None] = [centre_cells[int(k)] for k in clusters["label"]]
        ids = [f"h3:{c}" for c in cells]
    else:
        cells = [None] * len(clusters)
        ids = [f"ms:{a:.4f},{o:.4f}" for a, o in zip(c_lat, c_lon, strict=True)]
    found = clusters.with_columns(
        pl.Series("suggestion_id", ids, dtype=pl.String),
        pl.Series("lat", c_lat, dtype=pl.Float64),
        pl.Series("lon", c_lon, dtype=pl.Float64),
        pl.Series("nearest_parking_id", parking_id, dtype=pl.String),
        pl.Series("distance_to_parking_m", distance, dtype=pl.Float64, nan_to_null=True),
        pl.Series("cell", cells, dtype=pl.String),
    )
    if not parked.is_empty():
        found = found.filter(pl.col("distance_to_parking_m") >= params.min_distance_m)
    ranked = (
        found.filter(pl.col("trips_per_day") >= params.min_trips_per_day)
        .sort(["trips_per_day", "suggestion_id"], descending=[True, False])
        .head(params.top)
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
    )
    return ranked.select([pl.col(c).cast(t) for c, t in SUGGESTIONS.items()])


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")


def _points(trips: pl.DataFrame, use: str) -> pl.DataFrame:
    """Trip points as rows (lat, lon, zone_id, is_start), finite coordinates only."""
    kinds = {"starts": ("start",), "ends": ("end",), "both": ("start", "end")}[use]
    parts = []
    for kind in kinds:
        _require(trips, (f"{kind}_lat", f"{kind}_lon"), "trips")
        zone = f"{kind}_zone"
        parts.append(
            trips.select(
                pl.col(f"{kind}_lat").cast(pl.Float64).alias("lat"),
                pl.col(f"{kind}_lon").cast(pl.Float64).alias("lon"),
                (pl.col(zone) if zone in trips.columns else pl.lit(None))
                .cast(pl.String)
                .alias("zone_id"),
                pl.lit(kind == "start").alias("is_start"),
            )
        )
    points = pl.concat(parts)
    return points.filter(
        pl.col("lat").is_finite() & pl.col("lon").is_finite() & pl.col("lat").abs().le(90.0)
    )


def _span_days(trips: pl.DataFrame) -> int:
    """Days from the first to the last trip day, both included."""
    if "date" in trips.columns and trips["date"].null_count() < len(trips):
        day = trips["date"].cast(pl.Date)
    elif "started_at" in trips.columns and trips["started_at"].null_count() < len(trips):
        day = trips["started_at"].dt.date()
    else:
        raise SchemaError("trips have no date or started_at to count days by: pass days=")
    epoch_days = day.drop_nulls().cast(pl.Int32).to_numpy()  # days since 1970-01-01
    return int(epoch_days.max() - epoch_days.min()) + 1


class _NearestParking:
    """The nearest existing parking of metric points (KD-tree on the parkings)."""

    def __init__(self, parkings: pl.DataFrame, forward: pyproj.Transformer) -> None:
        self.ids = parkings["parking_id"].cast(pl.String).to_list()
        if self.ids:
            px, py = forward.transform(
                parkings["lon"].cast(pl.Float64).to_numpy(),
                parkings["lat"].cast(pl.Float64).to_numpy(),
            )
            self.tree = KDTree(np.column_stack([px, py]))

    def distance(self, xy: FloatArray) -> FloatArray:
        """Metres to the nearest parking (inf without parkings)."""
        if not self.ids:
            return np.full(len(xy), np.inf)
        dist, _ = self.tree.query(xy, k=1)
        return np.asarray(dist[:, 0], dtype=np.float64)

    def nearest(self, xy: FloatArray) -> tuple[FloatArray, list[str | None]]:
        """Metres to the nearest parking (inf without parkings) and its id (or None)."""
        if not self.ids:
            return np.full(len(xy), np.inf), [None] * len(xy)
        dist, index = self.tree.query(xy, k=1)
        return np.asarray(dist[:, 0], dtype=np.float64), [self.ids[int(i)] for i in index[:, 0]]


def _h3_clusters(points: pl.DataFrame, resolution: int) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Cluster label of each point and the centre cell of each label.

    Cells are counted, then each cell's k-ring-1 sum (its own points and its six
    neighbours') is computed. Greedy non-maximum suppression: the cell with the largest
    ring sum becomes a centre and claims every occupied cell of its ring; the next largest
    unclaimed cell does the same with the cells still unclaimed, and so on. A hotspot that
    straddles cell edges is thus one cluster, and no point is counted twice.
    """
    cell_of = h3_cells(points["lat"].to_numpy(), points["lon"].to_numpy(), resolution)
    counts = Counter(c for c in cell_of if c is not None)
    rings = {c: [n for n in h3.grid_disk(c, 1) if n in counts] for c in counts}
    ring_sum = {c: sum(counts[n] for n in ring) for c, ring in rings.items()}
    owner: dict[str, int] = {}
    centres: list[str] = []
    for c in sorted(counts, key=lambda c: (-ring_sum[c], c)):
        if c in owner:
            continue
        label = len(centres)
        centres.append(c)
        for n in rings[c]:
            owner.setdefault(n, label)
    labels = np.fromiter((owner[c] if c is not None else -1 for c in cell_of), np.int64)
    return labels, centres


def _meanshift_clusters(
    xy: FloatArray, *, params: ParkingSuggestionParams, n_days: int
) -> npt.NDArray[np.int64]:
    """Cluster label of each metric point (-1 outside every cluster) from mean shift.

    Mean shift runs on at most ``params.max_points`` points (a seeded uniform sample
    above that: its cost grows with the points each seed visits). It is seeded like
    scikit-learn's ``bin_seeding`` (points binned on a grid of ``bandwidth_m``), keeping
    only bins that are local maxima of their 3 x 3 block and hold enough points to matter
    (``_SEED_SHARE``): every mode of the density still has such a bin next to it, and a
    whole city needs tens of seeds instead of thousands. Every point, sampled or not, is
    then given to its nearest cluster centre within ``bandwidth_m``, so the demand counted
    does not depend on the sample.
    """
    fit = xy
    if len(xy) > params.max_points:
        rng = np.random.default_rng(params.seed)
        fit = xy[rng.choice(len(xy), size=params.max_points, replace=False)]
    needed = params.min_trips_per_day * n_days * len(fit) / len(xy)
    seeds = _bin_seeds(fit, params.bandwidth_m, min_count=max(1, int(_SEED_SHARE * needed)))
    if len(seeds) == 0:
        return np.full(len(xy), -1, dtype=np.int64)
    model = MeanShift(bandwidth=params.bandwidth_m, seeds=seeds, cluster_all=False)
    try:
        model.fit(fit)
    except ValueError:  # no point within the bandwidth of any seed
        return np.full(len(xy), -1, dtype=np.int64)
    centres = np.asarray(model.cluster_centers_, dtype=np.float64)
    if len(centres) == 0:
        return np.full(len(xy), -1, dtype=np.int64)
    dist, index = KDTree(centres).query(xy, k=1)
    return np.where(dist[:, 0] <= params.bandwidth_m, index[:, 0], -1).astype(np.int64)


def _bin_seeds(xy: FloatArray, size: float, *, min_count: int) -> FloatArray:
    """Centres of grid bins holding >= ``min_count`` points and no fewer than any of their
    eight neighbours (the mean of the bin's points, a good start for mean shift)."""
    cell = np.floor(xy / size).astype(np.int64)
    keys, inverse, counts = np.unique(cell, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    count_of = {(int(i), int(j)): int(c) for (i, j), c in zip(keys, counts, strict=True)}
    keep = []
    for k, ((i, j), c) in enumerate(zip(keys, counts, strict=True)):
        if c < min_count:
            continue
        neighbours = (
            count_of.get((int(i) + di, int(j) + dj), 0) for di in (-1, 0, 1) for dj in (-1, 0, 1)
        )
        if all(c >= n for n in neighbours):
            keep.append(k)
    if not keep:
        return np.empty((0, 2), dtype=np.float64)
    sums = np.zeros((len(keys), 2))
    np.add.at(sums, inverse, xy)
    centres: FloatArray = sums[keep] / counts[keep, None]
    return centres


def _summarise(
    points: pl.DataFrame,
    xy: FloatArray,
    label: npt.NDArray[np.int64],
    *,
    params: ParkingSuggestionParams,
    n_days: int,
) -> pl.DataFrame:
    """Per cluster: metric centroid of its points, starts/ends/trips per day, main zone."""
    members = points.with_columns(
        pl.Series("label", label, dtype=pl.Int64),
        pl.Series("x", xy[:, 0], dtype=pl.Float64),
        pl.Series("y", xy[:, 1], dtype=pl.Float64),
    ).filter(pl.col("label") >= 0)
    starts = pl.col("is_start").sum().cast(pl.Float64) / n_days
    ends = (~pl.col("is_start")).sum().cast(pl.Float64) / n_days
    per_cluster = members.group_by("label").agg(
        pl.col("x").mean(),
        pl.col("y").mean(),
        (pl.len().cast(pl.Float64) / n_days).alias("trips_per_day"),
        (starts if params.use != "ends" else pl.lit(None, pl.Float64)).alias("starts_per_day"),
        (ends if params.use != "starts" else pl.lit(None, pl.Float64)).alias("ends_per_day"),
    )
    zones = (
        members.filter(pl.col("zone_id").is_not_null())
        .group_by("label", "zone_id")
        .len()
        .sort(["label", "len", "zone_id"], descending=[False, True, False])
        .unique("label", keep="first")
        .select("label", "zone_id")
    )
    return per_cluster.join(zones, on="label", how="left").sort("label")
