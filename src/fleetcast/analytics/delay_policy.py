"""The minimum delay between two car-sharing rentals: what it blocks and what it solves.

Pure functions over a frame of rentals (``fleetcast.domain.RENTALS``, one system). Every
figure rests on these definitions:

- **Policy type** of a rental: the check-in type (``connect`` / ``mobile``) of the car's
  previous rental when the file has it, else the rental's own. The minimum delay hides a car
  for ``threshold`` minutes after the previous rental's planned end, so it is that return's
  flow the policy is switched on for. (In GetAround's file the two differ for 17 of 1,841
  pairs.) A scope is ``all`` or one policy type; "rentals of the scope" are the rentals of
  that policy type.
- **Blocked** at threshold T in a scope: a rental with a previous rental (a gap is known,
  i.e. the previous rental was planned to end at most 12 h before) whose policy type is in
  the scope and whose gap is strictly below T. Such a booking could not have been made.
  Ended and canceled rentals both count (both were bookings); T = 0 blocks nothing.
  ``blocked_share`` is over every rental of the system, ``blocked_share_of_scope`` over the
  rentals of the scope.
- **Revenue**: the file has neither prices nor durations, so each ended rental is worth one
  day at ``price_per_day`` (a parameter, or the median of a pricing file) and a canceled one
  nothing. ``revenue_share`` is thus blocked ended rentals over all ended rentals, whatever
  the price; ``revenue_blocked`` (EUR) needs the price and is an upper bound (a blocked
  driver may book another slot or car).
- **Problematic case**: a rental whose previous rental's check-out delay exceeds the planned
  gap (``previous delay > gap``): the next driver waited, or cancelled. Unknown when the
  previous rental or its delay is missing (not counted).
- **Solved** at T in a scope: a problematic case that T blocks. ``solved_share`` is over every
  problematic case of the system, ``solved_share_of_scope`` over the scope's.
  ``solved_cancellations``: the solved cases that were canceled - cancellations likely
  caused by lateness that the threshold would have avoided.

A share with a zero denominator is 0. Thresholds run from 0 to 720 minutes (12 hours, the
longest gap the data holds) in steps of ``step_min``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, get_args

import polars as pl

from fleetcast.domain import RENTALS, conform

Scope = Literal["all", "connect", "mobile"]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)
"""Where the minimum delay applies: every car, or only one check-in type."""

MAX_THRESHOLD_MIN: Final = 720
"""The longest threshold studied: 12 hours, the longest gap a previous rental can have."""

Rule = Literal["min_solved_share", "net_value"]
RULES: Final[tuple[Rule, ...]] = get_args(Rule)

LATE_SIZES: Final[tuple[tuple[float, float | None, str], ...]] = (
    (0, 15, "up to 15 min"),
    (15, 30, "15-30 min"),
    (30, 60, "30-60 min"),
    (60, 120, "1-2 h"),
    (120, 240, "2-4 h"),
    (240, 720, "4-12 h"),
    (720, None, "over 12 h"),
)
"""Bins of late check-outs by how late: (lower, upper, label), lower < delay <= upper."""


def share(part: int, whole: int) -> float:
    """``part / whole``, 0.0 when ``whole`` is 0."""
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class TradeOff:
    """How the recommended threshold is chosen from the curve.

    ``min_solved_share``: the threshold that blocks the least revenue among those solving at
    least ``min_solved_share`` of the problematic cases (of the scope, for a scope's own
    recommendation; of all cases, to compare scopes). ``net_value``: the threshold with the
    most ``cost_per_problem`` x solved cases minus revenue blocked (needs a price per day).
    """

    rule: Rule = "min_solved_share"
    min_solved_share: float = 0.8
    cost_per_problem: float | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"trade-off rule {self.rule!r} not understood; use {list(RULES)}")
        if not 0.0 < self.min_solved_share <= 1.0:
            raise ValueError("min_solved_share must be in (0, 1]")
        if self.rule == "net_value" and (
            self.cost_per_problem is None
            or not math.isfinite(self.cost_per_problem)
            or self.cost_per_problem <= 0
        ):
            raise ValueError("the net_value rule needs a positive cost_per_problem (EUR)")


@dataclass(frozen=True, slots=True)
class OutlierRule:
    """Which check-out delays are outliers: beyond ``cap_min`` either way (``cap``, default:
    no minimum delay up to 12 h could absorb them), or outside Tukey's fences
    ``Q1 - k IQR .. Q3 + k IQR`` of all measured delays (``iqr``). Outliers still count as
    late or early; they are left out of the mean and the histogram, and counted."""

    method: Literal["cap", "iqr"] = "cap"
    cap_min: float = float(MAX_THRESHOLD_MIN)
    iqr_k: float = 1.5

    def __post_init__(self) -> None:
        if self.method not in ("cap", "iqr"):
            raise ValueError(f"outlier method {self.method!r} not understood; use cap or iqr")
        if not self.cap_min > 0 or not self.iqr_k > 0:
            raise ValueError("cap_min and iqr_k must be positive")

    def bounds(self, delays: pl.Series) -> tuple[float, float]:
        """The lowest and highest delay that is not an outlier."""
        if self.method == "cap" or delays.is_empty():
            return -self.cap_min, self.cap_min
        q1 = float(delays.quantile(0.25, "linear") or 0.0)
        q3 = float(delays.quantile(0.75, "linear") or 0.0)
        spread = self.iqr_k * (q3 - q1)
        return q1 - spread, q3 + spread


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The thresholds studied, the price of a rental day, the outlier rule and the trade-off."""

    step_min: int = 15
    max_threshold_min: int = MAX_THRESHOLD_MIN
    price_per_day: float | None = None
    trade_off: TradeOff = field(default_factory=TradeOff)
    outliers: OutlierRule = field(default_factory=OutlierRule)
    histogram_bin_min: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.step_min <= MAX_THRESHOLD_MIN:
            raise ValueError(f"step_min must be between 1 and {MAX_THRESHOLD_MIN} minutes")
        if not 0 <= self.max_threshold_min <= MAX_THRESHOLD_MIN:
            raise ValueError(f"max_threshold_min must be between 0 and {MAX_THRESHOLD_MIN}")
        if self.price_per_day is not None and not (
            math.isfinite(self.price_per_day) and self.price_per_day > 0
        ):
            raise ValueError("price_per_day must be a positive number of EUR")
        if self.histogram_bin_min < 1:
            raise ValueError("histogram_bin_min must be at least 1 minute")
        if self.trade_off.rule == "net_value" and self.price_per_day is None:
            raise ValueError("the net_value rule weighs revenue: give a price_per_day")

    @property
    def thresholds(self) -> tuple[int, ...]:
        """0, step, 2 step, ... up to the largest threshold (always included)."""
        values = list(range(0, self.max_threshold_min + 1, self.step_min))
        if values[-1] != self.max_threshold_min:
            values.append(self.max_threshold_min)
        return tuple(values)


@dataclass(frozen=True, slots=True)
class PolicyPoint:
    """What a minimum delay of ``threshold_min`` minutes in ``scope`` would have done."""

    scope: str
    threshold_min: int
    blocked_rentals: int
    blocked_share: float
    blocked_share_of_scope: float
    blocked_ended: int
    revenue_share: float
    revenue_blocked: float | None
    problem_cases: int
    solved_cases: int
    solved_share: float
    solved_share_of_scope: float
    solved_cancellations: int

    def to_json(self) -> dict[str, Any]:
        """Plain values, in the order the issue names them first."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The threshold a trade-off picks in a scope, why, and its figures."""

    scope: str
    threshold_min: int
    rule: str
    target_met: bool
    why: str
    point: PolicyPoint

    def to_json(self) -> dict[str, Any]:
        """The point's figures with the rule, whether its target was met, and why."""
        return {
            **self.point.to_json(),
            "rule": self.rule,
            "target_met": self.target_met,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class SizeBin:
    """Late check-outs more than ``lower`` and at most ``upper`` minutes late."""

    label: str
    lower: float
    upper: float | None
    count: int


@dataclass(frozen=True, slots=True)
class LatenessFacts:
    """How often and how late drivers check out, for one check-in type (the rental's own)
    or ``all``. Delays are those measured on ended rentals."""

    checkin_type: str
    rentals: int
    ended: int
    canceled: int
    cancel_share: float
    with_delay: int
    late: int
    late_share: float
    median_delay_min: float | None
    median_late_min: float | None
    p90_late_min: float | None
    mean_delay_min: float | None
    mean_delay_raw_min: float | None
    outliers_low: int
    outliers_high: int
    late_by_size: tuple[SizeBin, ...]


@dataclass(frozen=True, slots=True)
class KnockOnFacts:
    """How often a late check-out hits the next rental of the car, for one policy type or
    ``all``: rentals with a previous rental within 12 h, those whose previous delay is
    known, late, or beyond the gap (problematic), and the cancellations among them."""

    policy_type: str
    with_previous: int
    previous_known: int
    previous_late: int
    problematic: int
    problematic_share: float
    late_hits_next_share: float
    problematic_canceled: int
    cancel_share_problematic: float
    cancel_share_not_problematic: float
    median_wait_min: float | None


@dataclass(frozen=True, slots=True)
class HistogramBin:
    """Measured delays in ``[start, end)`` (the last bin includes its end), per check-in type."""

    start: float
    end: float
    connect: int
    mobile: int


@dataclass(frozen=True, slots=True)
class DelayFacts:
    """The descriptive facts: lateness by check-in type, its knock-on on the next rental,
    the outlier rule applied and a histogram of the delays that are not outliers."""

    outlier_method: str
    outlier_low_min: float
    outlier_high_min: float
    lateness: tuple[LatenessFacts, ...]
    knock_on: tuple[KnockOnFacts, ...]
    histogram: tuple[HistogramBin, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain values (nested lists of dicts)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DelayPolicy:
    """The whole analysis: the curve over thresholds and scopes, each scope's recommended
    threshold, the best across scopes, and the facts."""

    rentals: int
    ended: int
    problem_cases: int
    price_per_day: float | None
    params: PolicyParams
    curve: tuple[PolicyPoint, ...]
    by_scope: tuple[Recommendation, ...]
    best: Recommendation
    facts: DelayFacts

    def points(self, scope: str) -> tuple[PolicyPoint, ...]:
        """The curve of one scope, by threshold."""
        return tuple(p for p in self.curve if p.scope == scope)

    def recommendation_for(self, scope: str) -> Recommendation:
        """A scope's own recommendation (KeyError for a scope not analysed)."""
        for rec in self.by_scope:
            if rec.scope == scope:
                return rec
        raise KeyError(scope)

    def to_json(self) -> dict[str, Any]:
        """``curve`` (a list of points), ``recommendation`` (the best, with ``by_scope``),
        ``facts`` and the ``params`` used."""
        return {
            "rentals": self.rentals,
            "ended": self.ended,
            "problem_cases": self.problem_cases,
            "price_per_day": self.price_per_day,
            "curve": [p.to_json() for p in self.curve],
            "recommendation": {
                **self.best.to_json(),
                "by_scope": [r.to_json() for r in self.by_scope],
            },
            "facts": self.facts.to_json(),
            "params": asdict(self.params),
        }


def median_price(prices: pl.Series) -> float:
    """The median of positive prices per day (a ValueError when there is none)."""
    valid = prices.cast(pl.Float64).drop_nulls().fill_nan(None).drop_nulls()
    valid = valid.filter(valid > 0)
    if valid.is_empty():
        raise ValueError("no positive price per day to take the median of")
    return float(valid.median())  # type: ignore[arg-type]


def prepare(rentals: pl.DataFrame) -> pl.DataFrame:
    """Rentals with their previous rental's check-in type and delay, their policy type,
    whether they are a problematic case (null when unknown) and whether they ended."""
    frame = conform(rentals, RENTALS).select(list(RENTALS))
    if frame["rental_id"].null_count() or frame["rental_id"].n_unique() != frame.height:
        raise ValueError("rentals need one row per non-null rental_id")
    previous = frame.select(
        pl.col("rental_id").alias("previous_rental_id"),
        pl.col("checkin_type").alias("previous_checkin_type"),
        pl.col("delay_at_checkout_minutes").alias("previous_delay_minutes"),
    )
    joined = frame.join(previous, on="previous_rental_id", how="left")
    return joined.with_columns(
        pl.coalesce("previous_checkin_type", "checkin_type").alias("policy_type"),
        (pl.col("previous_delay_minutes") > pl.col("gap_with_previous_minutes")).alias(
            "problematic"
        ),
        (pl.col("state") == "ended").alias("ended"),
    )


def _in_scope(scope: str) -> pl.Expr:
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} not understood; use {list(SCOPES)}")
    return pl.lit(True) if scope == "all" else pl.col("policy_type") == scope


def policy_curve(
    prepared: pl.DataFrame,
    *,
    thresholds: Sequence[int],
    scopes: Sequence[str] = SCOPES,
    price_per_day: float | None = None,
) -> tuple[PolicyPoint, ...]:
    """The policy's figures at each threshold in each scope (see the module's definitions)."""
    total, ended_total = prepared.height, int(prepared["ended"].sum())
    problems_total = int(prepared["problematic"].fill_null(False).sum())
    grid = pl.DataFrame({"threshold_min": list(thresholds)}, schema={"threshold_min": pl.Int64})
    points: list[PolicyPoint] = []
    for scope in scopes:
        in_scope = prepared.filter(_in_scope(scope))
        scope_problems = int(in_scope["problematic"].fill_null(False).sum())
        candidates = in_scope.filter(pl.col("gap_with_previous_minutes").is_not_null()).select(
            "gap_with_previous_minutes", "ended", pl.col("problematic").fill_null(False)
        )
        counts = (
            grid.join(candidates, how="cross")
            .filter(pl.col("gap_with_previous_minutes") < pl.col("threshold_min"))
            .group_by("threshold_min")
            .agg(
                pl.len().alias("blocked"),
                pl.col("ended").sum().alias("blocked_ended"),
                pl.col("problematic").sum().alias("solved"),
                (pl.col("problematic") & ~pl.col("ended")).sum().alias("solved_canceled"),
            )
        )
        table = grid.join(counts, on="threshold_min", how="left").fill_null(0)
        for row in table.sort("threshold_min").iter_rows(named=True):
            blocked, blocked_ended = int(row["blocked"]), int(row["blocked_ended"])
            solved = int(row["solved"])
            points.append(
                PolicyPoint(
                    scope=scope,
                    threshold_min=int(row["threshold_min"]),
                    blocked_rentals=blocked,
                    blocked_share=share(blocked, total),
                    blocked_share_of_scope=share(blocked, in_scope.height),
                    blocked_ended=blocked_ended,
                    revenue_share=share(blocked_ended, ended_total),
                    revenue_blocked=(
                        None if price_per_day is None else blocked_ended * float(price_per_day)
                    ),
                    problem_cases=scope_problems,
                    solved_cases=solved,
                    solved_share=share(solved, problems_total),
                    solved_share_of_scope=share(solved, scope_problems),
                    solved_cancellations=int(row["solved_canceled"]),
                )
            )
    return tuple(points)


def policy_at(
    rentals: pl.DataFrame,
    *,
    threshold_min: int,
    scope: str = "all",
    price_per_day: float | None = None,
) -> PolicyPoint:
    """The policy's figures at one threshold (any whole minute from 0 to 720) in one scope."""
    if not 0 <= threshold_min <= MAX_THRESHOLD_MIN:
        raise ValueError(f"threshold_min must be between 0 and {MAX_THRESHOLD_MIN}")
    (point,) = policy_curve(
        prepare(rentals), thresholds=[threshold_min], scopes=[scope], price_per_day=price_per_day
    )
    return point


def _least_revenue(points: Sequence[PolicyPoint]) -> PolicyPoint:
    """The point blocking the least revenue, then the fewest rentals, then the lowest threshold."""
    return min(points, key=lambda p: (p.blocked_ended, p.blocked_rentals, p.threshold_min))


def _net(point: PolicyPoint, trade_off: TradeOff, price_per_day: float) -> float:
    cost = trade_off.cost_per_problem or 0.0
    return point.solved_cases * cost - point.blocked_ended * price_per_day


def recommend(
    points: Sequence[PolicyPoint],
    *,
    trade_off: TradeOff,
    price_per_day: float | None = None,
    overall: bool = False,
) -> Recommendation:
    """The threshold ``trade_off`` picks among ``points`` (one scope's curve, or several
    scopes' with ``overall``, which then measures solved cases against all of them)."""
    if not points:
        raise ValueError("no point to recommend from")
    scope_word = "all problematic cases" if overall else f"{points[0].scope} problematic cases"

    def solved(p: PolicyPoint) -> float:
        return p.solved_share if overall else p.solved_share_of_scope

    if trade_off.rule == "net_value":
        if price_per_day is None:
            raise ValueError("the net_value rule weighs revenue: give a price_per_day")
        top = max(_net(p, trade_off, price_per_day) for p in points)
        best = _least_revenue([p for p in points if _net(p, trade_off, price_per_day) == top])
        why = (
            f"most net value: {best.solved_cases} cases solved x {trade_off.cost_per_problem:g} "
            f"EUR minus {best.blocked_ended} rental days x {price_per_day:g} EUR = {top:,.0f} EUR"
        )
        return Recommendation(best.scope, best.threshold_min, trade_off.rule, True, why, best)
    target = trade_off.min_solved_share
    meeting = [p for p in points if solved(p) >= target]
    if meeting:
        best = _least_revenue(meeting)
        why = (
            f"least revenue blocked ({best.revenue_share:.1%} of ended rentals) among thresholds "
            f"solving at least {target:.0%} of {scope_word} ({solved(best):.1%})"
        )
        return Recommendation(best.scope, best.threshold_min, trade_off.rule, True, why, best)
    most = max(solved(p) for p in points)
    best = _least_revenue([p for p in points if solved(p) == most])
    why = (
        f"no threshold solves {target:.0%} of {scope_word}; this one solves the most "
        f"({most:.1%}) at the least revenue blocked ({best.revenue_share:.1%})"
    )
    return Recommendation(best.scope, best.threshold_min, trade_off.rule, False, why, best)


def _quantile(values: pl.Series, q: float) -> float | None:
    if values.is_empty():
        return None
    return float(values.quantile(q, "linear"))  # type: ignore[arg-type]


def _mean(values: pl.Series) -> float | None:
    return None if values.is_empty() else float(values.mean())  # type: ignore[arg-type]


def _lateness(frame: pl.DataFrame, label: str, low: float, high: float) -> LatenessFacts:
    ended = int(frame["ended"].sum())
    delays = frame.filter(pl.col("ended"))["delay_at_checkout_minutes"].drop_nulls()
    late = delays.filter(delays > 0)
    kept = delays.filter((delays >= low) & (delays <= high))
    sizes = tuple(
        SizeBin(
            label=name,
            lower=float(lower),
            upper=None if upper is None else float(upper),
            count=int(
                ((late > lower) & (late <= (upper if upper is not None else math.inf))).sum()
            ),
        )
        for lower, upper, name in LATE_SIZES
    )
    return LatenessFacts(
        checkin_type=label,
        rentals=frame.height,
        ended=ended,
        canceled=frame.height - ended,
        cancel_share=share(frame.height - ended, frame.height),
        with_delay=delays.len(),
        late=late.len(),
        late_share=share(late.len(), delays.len()),
        median_delay_min=_quantile(delays, 0.5),
        median_late_min=_quantile(late, 0.5),
        p90_late_min=_quantile(late, 0.9),
        mean_delay_min=_mean(kept),
        mean_delay_raw_min=_mean(delays),
        outliers_low=int((delays < low).sum()),
        outliers_high=int((delays > high).sum()),
        late_by_size=sizes,
    )


def _knock_on(frame: pl.DataFrame, label: str) -> KnockOnFacts:
    pairs = frame.filter(pl.col("gap_with_previous_minutes").is_not_null())
    known = pairs.filter(pl.col("previous_delay_minutes").is_not_null())
    problematic = known.filter(pl.col("problematic"))
    fine = known.filter(~pl.col("problematic"))
    late = known.filter(pl.col("previous_delay_minutes") > 0)
    canceled = int((~problematic["ended"]).sum())
    waits = problematic["previous_delay_minutes"] - problematic["gap_with_previous_minutes"]
    return KnockOnFacts(
        policy_type=label,
        with_previous=pairs.height,
        previous_known=known.height,
        previous_late=late.height,
        problematic=problematic.height,
        problematic_share=share(problematic.height, known.height),
        late_hits_next_share=share(problematic.height, late.height),
        problematic_canceled=canceled,
        cancel_share_problematic=share(canceled, problematic.height),
        cancel_share_not_problematic=share(int((~fine["ended"]).sum()), fine.height),
        median_wait_min=_quantile(waits, 0.5),
    )


def _histogram(
    prepared: pl.DataFrame, low: float, high: float, width: int
) -> tuple[HistogramBin, ...]:
    measured = prepared.filter(
        pl.col("ended")
        & pl.col("delay_at_checkout_minutes").is_not_null()
        & pl.col("delay_at_checkout_minutes").is_between(low, high)
    )
    if measured.is_empty():
        return ()
    start = math.floor(low / width) * width
    end = math.ceil(high / width) * width
    n = max(1, (end - start) // width)
    index = (
        ((pl.col("delay_at_checkout_minutes") - start) / width)
        .floor()
        .cast(pl.Int64)
        .clip(0, n - 1)
    )
    counts = measured.group_by(index.alias("bin"), "checkin_type").len()
    found = {(int(b), str(t)): int(c) for b, t, c in counts.iter_rows()}
    return tuple(
        HistogramBin(
            start=float(start + i * width),
            end=float(start + (i + 1) * width),
            connect=found.get((i, "connect"), 0),
            mobile=found.get((i, "mobile"), 0),
        )
        for i in range(n)
    )


def delay_facts(prepared: pl.DataFrame, *, outliers: OutlierRule, bin_min: int = 30) -> DelayFacts:
    """Lateness by the rental's own check-in type and its knock-on by policy type."""
    measured = prepared.filter(pl.col("ended"))["delay_at_checkout_minutes"].drop_nulls()
    low, high = outliers.bounds(measured)
    lateness = [_lateness(prepared, "all", low, high)]
    knock_on = [_knock_on(prepared, "all")]
    for kind in SCOPES[1:]:
        lateness.append(_lateness(prepared.filter(pl.col("checkin_type") == kind), kind, low, high))
        knock_on.append(_knock_on(prepared.filter(pl.col("policy_type") == kind), kind))
    return DelayFacts(
        outlier_method=outliers.method,
        outlier_low_min=low,
        outlier_high_min=high,
        lateness=tuple(lateness),
        knock_on=tuple(knock_on),
        histogram=_histogram(prepared, low, high, bin_min),
    )


def analyse(
    rentals: pl.DataFrame,
    params: PolicyParams | None = None,
    *,
    scopes: Sequence[str] = SCOPES,
) -> DelayPolicy:
    """The curve over every threshold in ``scopes``, each scope's recommendation, the best
    across them (its target measured on all problematic cases when several scopes are
    compared) and the descriptive facts."""
    params = params or PolicyParams()
    if not scopes:
        raise ValueError("at least one scope is needed")
    for scope in scopes:
        _in_scope(scope)
    prepared = prepare(rentals)
    price = params.price_per_day
    curve = policy_curve(prepared, thresholds=params.thresholds, scopes=scopes, price_per_day=price)
    by_scope = tuple(
        recommend(
            [p for p in curve if p.scope == scope], trade_off=params.trade_off, price_per_day=price
        )
        for scope in scopes
    )
    best = (
        by_scope[0]
        if len(by_scope) == 1
        else recommend(curve, trade_off=params.trade_off, price_per_day=price, overall=True)
    )
    return DelayPolicy(
        rentals=prepared.height,
        ended=int(prepared["ended"].sum()),
        problem_cases=int(prepared["problematic"].fill_null(False).sum()),
        price_per_day=price,
        params=params,
        curve=curve,
        by_scope=by_scope,
        best=best,
        facts=delay_facts(prepared, outliers=params.outliers, bin_min=params.histogram_bin_min),
    )
