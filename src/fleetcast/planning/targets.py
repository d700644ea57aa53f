"""Stock targets: how many vehicles each zone should hold for the planning day.

A zone's target is the newsvendor answer: the demand quantile at the critical ratio
``shortage / (shortage + idle)`` divided by the zone's rides per vehicle per day, rounded up
to whole vehicles and kept within the zone's parking minimum and maximum. When the fleet
that can be placed is smaller than the sum of these targets, vehicles are taken away where
they are worth least — by the expected rides of each zone's last vehicles — not pro rata.

Demand distribution
-------------------
The forecast gives per zone a mean and the quantiles q10, q50, q90 of the day's trips. The
demand ``D`` of a zone is the distribution whose quantile function ``Q(p)`` is piecewise
linear through five knots::

    p:  0     0.1   0.5   0.9   1
    Q:  Q0    q10   q50   q90   Q1

- ``Q0 = max(0, q10 - (q50 - q10) / 4)`` continues the q10..q50 slope down to ``p = 0``
  (demand is never negative);
- ``Q1`` is the top of the 10 % upper tail, chosen so that ``E[D] = ∫Q(p)dp`` equals the
  forecast mean. It is never below q90 (the quantiles always win over an inconsistent
  mean), and since the other pieces are non-negative it is at most ``20 * mean - q90``, so
  the tail stays finite. Without a mean (null) the q50..q90 slope is continued instead.

Why this one: it honours the three forecast quantiles exactly (the 80 % interval the model
was calibrated on), it is monotone and non-negative by construction, it needs no family
assumption (Poisson, negative binomial) that the quantile model did not make, the skew of
sparse zones comes straight from the quantiles, and every quantity the planner needs —
the quantile at the critical ratio and ``E[min(D, c)]`` — is exact in closed form (sums of
trapezoids), vectorised over zones. A zone whose quantiles and mean are all zero is a point
mass at zero. Crossing quantiles (q50 < q10 from independent quantile models) are sorted
first (monotone rearrangement); negative or missing quantiles are refused.

Expected rides
--------------
``s`` vehicles with ``r`` rides per vehicle per day can serve at most ``s * r`` rides, so the
expected rides of the zone are ``E[min(D, s * r)] = ∫_0^{s r} P(D > x) dx``. The ``k``-th
vehicle adds ``∫_{(k-1) r}^{k r} P(D > x) dx``, which decreases in ``k``: taking the highest
marginals first (greedy) is therefore optimal for a fleet that is too small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.errors import SchemaError

DEMAND_COLUMNS: Final = ("mean", "q10", "q50", "q90")
"""Forecast columns a demand distribution is built from (trips per day)."""
ZONE_COLUMNS: Final = (
    "zone_id",
    "supply",
    *DEMAND_COLUMNS,
    "rides_per_vehicle",
    "min_vehicles",
    "max_vehicles",
)
"""Columns ``stock_targets`` needs."""
KNOTS: Final = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
"""Probabilities at which the quantile function has its knots."""
TARGET_COLUMNS: Final = (
    "zone_id",
    "supply",
    *DEMAND_COLUMNS,
    "rides_per_vehicle",
    "demand_at_ratio",
    "newsvendor_target",
    "target",
    "min_vehicles",
    "max_vehicles",
    "cut",
    "below_min",
    "expected_rides_supply",
    "expected_rides_target",
    "marginal_rides",
)
"""Columns of the ``stock_targets`` result, in order."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_EPS: Final = 1e-9


@dataclass(frozen=True, slots=True)
class TargetParams:
    """Costs of the newsvendor; checks itself so a bad setting fails early, naming it.

    ``shortage_cost``: cost of a rider who finds no vehicle (a lost ride).
    ``idle_cost``: cost of a vehicle that stands idle for the day (its share of capital,
    charging and the chance it is vandalised). Only the ratio matters: the target covers
    demand up to the quantile ``critical_ratio = shortage / (shortage + idle)``.
    """

    shortage_cost: float = 3.0
    idle_cost: float = 1.0

    def __post_init__(self) -> None:
        problems = [
            f"{name}={value!r} (use a finite number > 0)"
            for name, value in (
                ("shortage_cost", self.shortage_cost),
                ("idle_cost", self.idle_cost),
            )
            if not _positive(value)
        ]
        if problems:
            raise ValueError("TargetParams not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TargetParams:
        """Params from a TOML table; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"TargetParams not understood: unknown key(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**dict(data))

    @property
    def critical_ratio(self) -> float:
        """The demand quantile a target covers: shortage / (shortage + idle)."""
        return self.shortage_cost / (self.shortage_cost + self.idle_cost)


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True)
class DemandDistribution:
    """Per-zone demand as a piecewise-linear quantile function (see the module docstring).

    ``values[i]`` holds zone ``i``'s quantiles at ``KNOTS`` (non-decreasing, >= 0).
    """

    values: FloatArray

    @classmethod
    def from_forecast(cls, zones: pl.DataFrame) -> DemandDistribution:
        """Build the distributions from the ``mean, q10, q50, q90`` columns of ``zones``."""
        _require(zones, DEMAND_COLUMNS, "forecast zones")
        quantiles = zones.select(pl.col("q10", "q50", "q90").cast(pl.Float64)).to_numpy()
        quantiles = np.asarray(quantiles, dtype=np.float64).reshape(-1, 3)
        bad = ~np.isfinite(quantiles).all(axis=1) | (quantiles < 0).any(axis=1)
        if bad.any():
            ids = _ids(zones, bad)
            raise SchemaError(f"quantiles q10/q50/q90 must be finite and >= 0; zone(s) {ids}")
        q10, q50, q90 = np.sort(quantiles, axis=1).T
        mean = zones.get_column("mean").cast(pl.Float64).to_numpy().astype(np.float64)
        bad_mean = np.isinf(mean) | (mean < 0)
        if bad_mean.any():
            raise SchemaError(f"mean must be finite and >= 0; zone(s) {_ids(zones, bad_mean)}")
        q0 = np.maximum(0.0, q10 - (q50 - q10) / 4.0)
        below_q90 = 0.05 * (q0 + q10) + 0.2 * (q10 + q50) + 0.2 * (q50 + q90)
        continued = q90 + (q90 - q50) / 4.0
        from_mean = 20.0 * (mean - below_q90) - q90
        q1 = np.maximum(q90, np.where(np.isnan(mean), continued, from_mean))
        return cls(values=np.column_stack([q0, q10, q50, q90, q1]))

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def quantile(self, p: float) -> FloatArray:
        """Each zone's demand quantile at probability ``p`` (linear between the knots)."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p={p} (use 0 <= p <= 1)")
        i = min(int(np.searchsorted(KNOTS, p, side="right")) - 1, len(KNOTS) - 2)
        t = (p - KNOTS[i]) / (KNOTS[i + 1] - KNOTS[i])
        out: FloatArray = self.values[:, i] + t * (self.values[:, i + 1] - self.values[:, i])
        return out

    def mean(self) -> FloatArray:
        """Each zone's expected demand, the integral of its quantile function."""
        return self.expected_min(np.full(len(self), np.inf))

    def expected_min(self, capacity: npt.ArrayLike) -> FloatArray:
        """``E[min(D, c)]`` per zone for capacities ``c`` (one per zone, or a matrix with
        one row per zone and any number of columns): the rides ``c`` served at most."""
        cap = np.asarray(capacity, dtype=np.float64)
        squeeze = cap.ndim == 1
        if cap.shape[0] != len(self) or cap.ndim not in (1, 2):
            raise ValueError(f"capacity has shape {cap.shape} for {len(self)} zones")
        cap2 = (cap[:, None] if squeeze else cap)[:, :, None]  # zones x capacities x 1
        a = self.values[:, None, :-1]  # zones x 1 x segments
        b = self.values[:, None, 1:]
        width = np.diff(KNOTS)[None, None, :]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # c inside (a, b): the trapezoid from a to c over the share of the segment below
            # c, then c over the rest; c above b: the whole trapezoid; c below a: c.
            share = (cap2 - a) / (b - a)
            split = share * (a + cap2) / 2.0 + (1.0 - share) * cap2
            inside = np.where(cap2 >= b, (a + b) / 2.0, np.where(cap2 <= a, cap2, split))
        total: FloatArray = (width * inside).sum(axis=2)
        total = np.maximum(total, 0.0)
        return total[:, 0] if squeeze else total


def demand_distribution(zones: pl.DataFrame) -> DemandDistribution:
    """The per-zone demand distributions of the forecast columns of ``zones``."""
    return DemandDistribution.from_forecast(zones)


def expected_rides(zones: pl.DataFrame, vehicles: pl.Series | npt.ArrayLike) -> FloatArray:
    """Expected rides ``E[min(D, s * r)]`` of each zone holding ``vehicles`` (``s``).

    ``zones`` needs the forecast columns and ``rides_per_vehicle`` (``r``); ``vehicles`` has
    one entry per row of ``zones`` (negative counts are taken as zero).
    """
    dist = demand_distribution(zones)
    rides = _rides_per_vehicle(zones)
    count = np.maximum(_as_float(vehicles, len(dist)), 0.0)
    return dist.expected_min(count * rides)


def marginal_rides(zones: pl.DataFrame, vehicles: pl.Series | npt.ArrayLike) -> FloatArray:
    """Expected rides of each zone's ``vehicles``-th vehicle (0 where ``vehicles <= 0``):
    ``∫_{(k-1) r}^{k r} P(D > x) dx``, what the zone loses if that vehicle leaves."""
    dist = demand_distribution(zones)
    rides = _rides_per_vehicle(zones)
    count = np.maximum(_as_float(vehicles, len(dist)), 0.0)
    upper = dist.expected_min(count * rides)
    lower = dist.expected_min(np.maximum(count - 1.0, 0.0) * rides)
    return np.where(count > 0, np.maximum(upper - lower, 0.0), 0.0)


def stock_targets(zones: pl.DataFrame, *, fleet: int, params: TargetParams) -> pl.DataFrame:
    """Vehicles each zone should hold for the planning day, within bounds and the fleet.

    ``zones`` has one row per zone with ``ZONE_COLUMNS``: ``supply`` (vehicles available
    now), the forecast ``mean, q10, q50, q90`` (trips per day), ``rides_per_vehicle``
    (> 0), and ``min_vehicles`` / ``max_vehicles`` summed over the zone's parkings
    (``max_vehicles`` null: unbounded). ``fleet`` is the number of vehicles that can be
    placed.

    The newsvendor target ``ceil(Q(critical_ratio) / r)`` is bounded by the minimum and
    maximum; when the bounded targets exceed ``fleet``, the minimums are kept and the
    remaining vehicles go where the next vehicle serves most expected rides (greedy, which
    is optimal because a zone's marginal rides decrease). If even the minimums exceed the
    fleet, the minimums are cut the same way and ``below_min`` says by how much.

    Returns ``TARGET_COLUMNS`` (then any other columns of ``zones``, unchanged): ``cut`` is
    vehicles removed for the fleet shortage, ``below_min`` vehicles under the minimum,
    ``expected_rides_supply`` / ``expected_rides_target`` are ``E[min(D, s r)]`` at the
    current supply and at the target, ``marginal_rides`` is the last target vehicle's.
    """
    _require(zones, ZONE_COLUMNS, "zones")
    if isinstance(fleet, bool) or not isinstance(fleet, int | np.integer) or fleet < 0:
        raise ValueError(f"fleet={fleet!r} (use a whole number >= 0)")
    if zones.get_column("zone_id").is_duplicated().any():
        raise SchemaError("zones: zone_id must be unique")
    dist = demand_distribution(zones)
    rides = _rides_per_vehicle(zones)
    low, high = _bounds(zones)
    supply = zones.get_column("supply").cast(pl.Float64).to_numpy().astype(np.float64)
    if not (np.isfinite(supply) & (supply >= 0)).all():
        raise SchemaError(f"supply must be >= 0; zone(s) {_ids(zones, ~(supply >= 0))}")

    at_ratio = dist.quantile(params.critical_ratio)
    newsvendor = np.ceil(at_ratio / rides - _EPS).clip(min=0).astype(np.int64)
    bounded = np.clip(newsvendor, low, high)
    target = _fit_fleet(dist, rides, low, bounded, int(fleet))

    out = zones.select(
        "zone_id",
        "supply",
        *(pl.col(c).cast(pl.Float64) for c in DEMAND_COLUMNS),
        pl.col("rides_per_vehicle").cast(pl.Float64),
    ).with_columns(
        demand_at_ratio=pl.Series(at_ratio),
        newsvendor_target=pl.Series(newsvendor),
        target=pl.Series(target),
        min_vehicles=pl.Series(low),
        max_vehicles=zones.get_column("max_vehicles").cast(pl.Int64),
        cut=pl.Series(bounded - target),
        below_min=pl.Series(np.maximum(low - target, 0)),
        expected_rides_supply=pl.Series(dist.expected_min(supply * rides)),
        expected_rides_target=pl.Series(dist.expected_min(target * rides)),
        marginal_rides=pl.Series(_marginals_at(dist, rides, target)),
    )
    extra = [c for c in zones.columns if c not in TARGET_COLUMNS]
    return pl.concat([out.select(TARGET_COLUMNS), zones.select(extra)], how="horizontal")


def _fit_fleet(
    dist: DemandDistribution, rides: FloatArray, low: IntArray, bounded: IntArray, fleet: int
) -> IntArray:
    """Targets within ``fleet``: ``bounded`` when it fits, else greedy by marginal rides
    from the minimums up (or from zero when the minimums do not fit either)."""
    if int(bounded.sum()) <= fleet:
        return bounded
    base = low if int(low.sum()) <= fleet else np.zeros_like(low)
    top = bounded if base is low else low
    return base + _best_units(dist, rides, base, top, fleet - int(base.sum()))


def _best_units(
    dist: DemandDistribution, rides: FloatArray, base: IntArray, top: IntArray, count: int
) -> IntArray:
    """How many of the vehicles ``base+1 .. top`` of each zone to add so that ``count`` of
    them serve the most expected rides; ties go to the earlier zone."""
    extra = np.maximum(top - base, 0)
    added = np.zeros_like(base)
    if count <= 0 or int(extra.sum()) == 0:
        return added
    zone = np.repeat(np.arange(len(base)), extra)
    starts = np.cumsum(extra) - extra
    rank = np.arange(len(zone)) - np.repeat(starts, extra)  # 0-based unit within the zone
    k = base[zone] + rank + 1  # the k-th vehicle of its zone
    value = _unit_marginals(dist, rides, zone, k)
    # a zone's marginals decrease; cummin removes rounding noise so that the best units of a
    # zone are always a prefix (base+1 .. base+m), whatever the sort does with ties.
    for z in np.flatnonzero(extra):
        sl = slice(starts[z], starts[z] + extra[z])
        value[sl] = np.minimum.accumulate(value[sl])
    order = np.lexsort((rank, zone, -value))[:count]
    np.add.at(added, zone[order], 1)
    return added


def _unit_marginals(
    dist: DemandDistribution, rides: FloatArray, zone: IntArray, k: IntArray
) -> FloatArray:
    """Marginal expected rides of the ``k``-th vehicle in ``zone`` (flat arrays)."""
    sub = DemandDistribution(values=dist.values[zone])
    upper = sub.expected_min(k * rides[zone])
    lower = sub.expected_min((k - 1) * rides[zone])
    return np.maximum(upper - lower, 0.0)


def _marginals_at(dist: DemandDistribution, rides: FloatArray, count: IntArray) -> FloatArray:
    upper = dist.expected_min(count * rides)
    lower = dist.expected_min(np.maximum(count - 1, 0) * rides)
    return np.where(count > 0, np.maximum(upper - lower, 0.0), 0.0)


def _bounds(zones: pl.DataFrame) -> tuple[IntArray, IntArray]:
    """Minimum and maximum vehicles per zone (maximum null: as many as there are)."""
    low_s = zones.get_column("min_vehicles")
    if low_s.null_count():
        raise SchemaError(f"min_vehicles is null for zone(s) {_ids(zones, low_s.is_null())}")
    low = low_s.cast(pl.Int64).to_numpy().astype(np.int64)
    high_s = zones.get_column("max_vehicles").cast(pl.Int64)
    high = high_s.fill_null(np.iinfo(np.int64).max // 4).to_numpy().astype(np.int64)
    bad = (low < 0) | (high < low)
    if bad.any():
        raise SchemaError(f"need 0 <= min_vehicles <= max_vehicles; zone(s) {_ids(zones, bad)}")
    return low, high


def _rides_per_vehicle(zones: pl.DataFrame) -> FloatArray:
    _require(zones, ("rides_per_vehicle",), "zones")
    rides = zones.get_column("rides_per_vehicle").cast(pl.Float64).to_numpy().astype(np.float64)
    bad = ~(np.isfinite(rides) & (rides > 0))
    if bad.any():
        raise SchemaError(f"rides_per_vehicle must be > 0; zone(s) {_ids(zones, bad)}")
    return rides


def _as_float(values: pl.Series | npt.ArrayLike, size: int) -> FloatArray:
    array = (
        values.cast(pl.Float64).to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    )
    out = np.asarray(array, dtype=np.float64).reshape(-1)
    if out.shape[0] != size:
        raise ValueError(f"vehicles has {out.shape[0]} entries for {size} zones")
    if not np.isfinite(out).all():
        raise ValueError("vehicles must be finite")
    return out


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")


def _ids(zones: pl.DataFrame, mask: npt.ArrayLike | pl.Series) -> list[Any]:
    flags = mask.to_numpy() if isinstance(mask, pl.Series) else np.asarray(mask)
    ids = zones.get_column("zone_id").to_list() if "zone_id" in zones.columns else []
    return [ids[i] if ids else i for i in np.flatnonzero(flags)[:10]]
