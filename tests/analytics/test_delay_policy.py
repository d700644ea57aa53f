"""The delay-policy analysis: every number checked against an independent plain-Python
computation (csv module and loops, no Polars) on GetAround's real file, a hand-made case
worked out on paper, and properties that hold on any rentals (monotonic in the threshold,
shares within [0, 1])."""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.analytics.delay_policy import (
    LATE_SIZES,
    SCOPES,
    DelayPolicy,
    OutlierRule,
    PolicyParams,
    TradeOff,
    analyse,
    median_price,
    policy_at,
)
from fleetcast.domain import RENTALS
from fleetcast.sources.rentals import read_rentals_file
from shared_data import shared_file

SMALL = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"
THRESHOLDS = (0, 15, 30, 45, 60, 90, 120, 180, 360, 600, 720)
PRICE = 119.0


# --- the oracle: plain Python over the CSV -------------------------------------------------


@dataclass
class Row:
    """One rental as the oracle reads it."""

    rental_id: str
    checkin: str
    state: str
    delay: float | None
    previous: str | None
    gap: float | None


def _id(text: str) -> str | None:
    return str(int(float(text))) if text.strip() else None


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def oracle_rows(path: Path) -> list[Row]:
    """The real file's rentals, less what the documentation rules out: a canceled rental
    "did not happen", so one with a check-out delay is left out."""
    rows = []
    with path.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            row = Row(
                rental_id=str(_id(rec["rental_id"])),
                checkin=rec["checkin_type"],
                state=rec["state"],
                delay=_num(rec["delay_at_checkout_in_minutes"]),
                previous=_id(rec["previous_ended_rental_id"]),
                gap=_num(rec["time_delta_with_previous_rental_in_minutes"]),
            )
            assert row.checkin in ("mobile", "connect") and row.state in ("ended", "canceled")
            if row.state == "canceled" and row.delay is not None:
                continue
            rows.append(row)
    return rows


def ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class Oracle:
    """Every figure of the analysis, by loops over rows."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        by_id = {r.rental_id: r for r in rows}
        self.prev: dict[str, Row | None] = {
            r.rental_id: by_id.get(r.previous) if r.previous else None for r in rows
        }

    def policy_type(self, r: Row) -> str:
        p = self.prev[r.rental_id]
        return p.checkin if p is not None else r.checkin

    def problematic(self, r: Row) -> bool:
        p = self.prev[r.rental_id]
        return p is not None and p.delay is not None and r.gap is not None and p.delay > r.gap

    def in_scope(self, r: Row, scope: str) -> bool:
        return scope == "all" or self.policy_type(r) == scope

    def point(self, scope: str, t: int, price: float | None) -> dict[str, Any]:
        scoped = [r for r in self.rows if self.in_scope(r, scope)]
        blocked = [r for r in scoped if r.gap is not None and r.gap < t]
        problems_all = sum(1 for r in self.rows if self.problematic(r))
        problems = sum(1 for r in scoped if self.problematic(r))
        solved = [r for r in blocked if self.problematic(r)]
        ended_all = sum(1 for r in self.rows if r.state == "ended")
        blocked_ended = sum(1 for r in blocked if r.state == "ended")
        return {
            "scope": scope,
            "threshold_min": t,
            "blocked_rentals": len(blocked),
            "blocked_share": ratio(len(blocked), len(self.rows)),
            "blocked_share_of_scope": ratio(len(blocked), len(scoped)),
            "blocked_ended": blocked_ended,
            "revenue_share": ratio(blocked_ended, ended_all),
            "revenue_blocked": None if price is None else blocked_ended * price,
            "problem_cases": problems,
            "solved_cases": len(solved),
            "solved_share": ratio(len(solved), problems_all),
            "solved_share_of_scope": ratio(len(solved), problems),
            "solved_cancellations": sum(1 for r in solved if r.state == "canceled"),
        }

    def bounds(self, rule: OutlierRule) -> tuple[float, float]:
        delays = [r.delay for r in self.rows if r.state == "ended" and r.delay is not None]
        if rule.method == "cap":
            return -rule.cap_min, rule.cap_min
        q1, q3 = quantile(delays, 0.25), quantile(delays, 0.75)
        assert q1 is not None and q3 is not None
        return q1 - rule.iqr_k * (q3 - q1), q3 + rule.iqr_k * (q3 - q1)

    def lateness(self, kind: str, low: float, high: float) -> dict[str, Any]:
        rows = [r for r in self.rows if kind == "all" or r.checkin == kind]
        ended = [r for r in rows if r.state == "ended"]
        delays = [r.delay for r in ended if r.delay is not None]
        late = [d for d in delays if d > 0]
        kept = [d for d in delays if low <= d <= high]
        sizes = []
        for lower, upper, label in LATE_SIZES:
            top = math.inf if upper is None else upper
            sizes.append(
                {
                    "label": label,
                    "lower": float(lower),
                    "upper": None if upper is None else float(upper),
                    "count": sum(1 for d in late if lower < d <= top),
                }
            )
        return {
            "checkin_type": kind,
            "rentals": len(rows),
            "ended": len(ended),
            "canceled": len(rows) - len(ended),
            "cancel_share": ratio(len(rows) - len(ended), len(rows)),
            "with_delay": len(delays),
            "late": len(late),
            "late_share": ratio(len(late), len(delays)),
            "median_delay_min": quantile(delays, 0.5),
            "median_late_min": quantile(late, 0.5),
            "p90_late_min": quantile(late, 0.9),
            "mean_delay_min": sum(kept) / len(kept) if kept else None,
            "mean_delay_raw_min": sum(delays) / len(delays) if delays else None,
            "outliers_low": sum(1 for d in delays if d < low),
            "outliers_high": sum(1 for d in delays if d > high),
            "late_by_size": sizes,
        }

    def knock_on(self, kind: str) -> dict[str, Any]:
        pairs = [
            r
            for r in self.rows
            if r.gap is not None and (kind == "all" or self.policy_type(r) == kind)
        ]
        known = []
        for r in pairs:
            p = self.prev[r.rental_id]
            if p is not None and p.delay is not None:
                known.append((r, p))
        problem = [(r, p) for r, p in known if self.problematic(r)]
        fine = [(r, p) for r, p in known if not self.problematic(r)]
        late = [(r, p) for r, p in known if p.delay is not None and p.delay > 0]
        canceled = sum(1 for r, _ in problem if r.state == "canceled")
        waits = [p.delay - r.gap for r, p in problem if p.delay is not None and r.gap is not None]
        return {
            "policy_type": kind,
            "with_previous": len(pairs),
            "previous_known": len(known),
            "previous_late": len(late),
            "problematic": len(problem),
            "problematic_share": ratio(len(problem), len(known)),
            "late_hits_next_share": ratio(len(problem), len(late)),
            "problematic_canceled": canceled,
            "cancel_share_problematic": ratio(canceled, len(problem)),
            "cancel_share_not_problematic": ratio(
                sum(1 for r, _ in fine if r.state == "canceled"), len(fine)
            ),
            "median_wait_min": quantile(waits, 0.5),
        }

    def histogram(self, low: float, high: float, width: int) -> list[dict[str, float]]:
        start = math.floor(low / width) * width
        n = max(1, (math.ceil(high / width) * width - start) // width)
        bins = [
            {"start": float(start + i * width), "end": float(start + (i + 1) * width)}
            | {"connect": 0, "mobile": 0}
            for i in range(n)
        ]
        for r in self.rows:
            if r.state == "ended" and r.delay is not None and low <= r.delay <= high:
                i = min(int((r.delay - start) // width), n - 1)
                bins[i][r.checkin] += 1
        return bins


def assert_same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Dicts equal, floats to 1e-12 relative (sums may add in another order)."""
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), key
        elif isinstance(want, list):
            assert len(got) == len(want), key
            for g, w in zip(got, want, strict=True):
                assert_same(g, w)
        else:
            assert got == want, key


# --- the real file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_path() -> Path:
    """GetAround's delay file, as CSV."""
    return shared_file("getaround", "get_around_delay_analysis_rentals_data.csv")


@pytest.fixture(scope="module")
def real_rentals(real_path: Path) -> pl.DataFrame:
    """The real file's accepted rentals, as the source reads them."""
    return read_rentals_file(real_path).accepted


@pytest.fixture(scope="module")
def oracle(real_path: Path) -> Oracle:
    """The plain-Python computation on the same file."""
    return Oracle(oracle_rows(real_path))


@pytest.fixture(scope="module")
def real(real_rentals: pl.DataFrame) -> DelayPolicy:
    """The analysis of the real file with a price per day, every threshold every 15 min."""
    return analyse(real_rentals, PolicyParams(price_per_day=PRICE))


def test_real_file_rows_match_the_oracle(real: DelayPolicy, oracle: Oracle) -> None:
    """Both read the same rentals: 21,309, of which 18,045 ended, and 218 problematic cases."""
    assert real.rentals == len(oracle.rows) == 21_309
    assert real.ended == sum(1 for r in oracle.rows if r.state == "ended") == 18_045
    assert real.problem_cases == sum(1 for r in oracle.rows if oracle.problematic(r)) == 218


@pytest.mark.parametrize("scope", SCOPES)
def test_real_curve_matches_the_oracle(real: DelayPolicy, oracle: Oracle, scope: str) -> None:
    """Blocked counts and shares, revenue, solved counts and shares and cancellations at
    every threshold checked (0 to 720 min) are the oracle's."""
    points = {p.threshold_min: p for p in real.points(scope)}
    assert sorted(points) == list(range(0, 721, 15))
    for t in THRESHOLDS:
        assert_same(points[t].to_json(), oracle.point(scope, t, PRICE))


@pytest.mark.parametrize(("scope", "threshold"), [("connect", 60), ("mobile", 7), ("all", 721 - 1)])
def test_real_point_at_any_minute_matches_the_oracle(
    real_rentals: pl.DataFrame, oracle: Oracle, scope: str, threshold: int
) -> None:
    """policy_at takes any whole minute, not only the curve's steps."""
    point = policy_at(real_rentals, threshold_min=threshold, scope=scope)
    assert_same(point.to_json(), oracle.point(scope, threshold, None))


def test_real_recommendations_match_the_oracle(real: DelayPolicy, oracle: Oracle) -> None:
    """Each scope's recommendation is the least revenue among thresholds solving 80% of its
    cases (75 min for Connect, 105 min otherwise); the best across scopes solves 80% of all
    cases: 105 min on every car."""
    for scope in SCOPES:
        points = [oracle.point(scope, t, PRICE) for t in range(0, 721, 15)]
        meeting = [p for p in points if p["solved_share_of_scope"] >= 0.8]
        want = min(
            meeting, key=lambda p: (p["blocked_ended"], p["blocked_rentals"], p["threshold_min"])
        )
        rec = real.recommendation_for(scope)
        assert rec.target_met
        assert rec.threshold_min == want["threshold_min"]
    assert real.recommendation_for("connect").threshold_min == 75
    assert real.recommendation_for("mobile").threshold_min == 105
    assert (real.best.scope, real.best.threshold_min) == ("all", 105)
    assert real.best.point.solved_cases == 180
    assert real.best.point.blocked_rentals == 666


@pytest.mark.parametrize("rule", [OutlierRule(), OutlierRule(method="iqr", iqr_k=1.5)])
def test_real_facts_match_the_oracle(
    real_rentals: pl.DataFrame, oracle: Oracle, rule: OutlierRule
) -> None:
    """Lateness by check-in type, the knock-on by policy type, the outlier bounds and counts
    and the histogram are the oracle's, under both outlier rules."""
    facts = analyse(real_rentals, PolicyParams(outliers=rule)).facts.to_json()
    low, high = oracle.bounds(rule)
    assert facts["outlier_low_min"] == pytest.approx(low)
    assert facts["outlier_high_min"] == pytest.approx(high)
    for got, kind in zip(facts["lateness"], SCOPES, strict=True):
        assert_same(got, oracle.lateness(kind, low, high))
    for got, kind in zip(facts["knock_on"], SCOPES, strict=True):
        assert_same(got, oracle.knock_on(kind))
    for got, want in zip(facts["histogram"], oracle.histogram(low, high, 30), strict=True):
        assert_same(got, want)
    assert len(facts["histogram"]) == len(oracle.histogram(low, high, 30))


def test_real_headline_facts(real: DelayPolicy) -> None:
    """The facts a product manager asks first, as the closing note quotes them."""
    everyone, connect, mobile = real.facts.lateness
    assert round(everyone.late_share, 3) == 0.575
    assert (connect.late_share < mobile.late_share) and everyone.median_late_min == 53.0
    assert everyone.outliers_low + everyone.outliers_high == 737
    knock = real.facts.knock_on[0]
    assert (knock.problematic, knock.problematic_canceled) == (218, 37)
    assert round(knock.late_hits_next_share, 3) == 0.25


def test_median_price_of_the_pricing_file() -> None:
    """The median price per day of GetAround's pricing file is 119 EUR."""
    path = shared_file("getaround", "get_around_pricing_project.csv")
    with path.open(newline="") as fh:
        prices = sorted(float(r["rental_price_per_day"]) for r in csv.DictReader(fh))
    assert median_price(pl.Series(prices)) == quantile(prices, 0.5) == 119.0


# --- a hand-made case --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> DelayPolicy:
    """The ten good rentals of tests/data/rentals (worked out in its README)."""
    return analyse(read_rentals_file(SMALL).accepted)


def test_small_case_by_hand(small: DelayPolicy) -> None:
    """Gaps 0 (problem, connect), 30 (unknown), 45 (unknown), 60 (canceled, connect), 90
    (problem, canceled, mobile) and 720 (connect by its previous rental) below each threshold."""

    def at(scope: str, t: int) -> tuple[int, int, int, int]:
        p = next(p for p in small.points(scope) if p.threshold_min == t)
        return p.blocked_rentals, p.blocked_ended, p.solved_cases, p.solved_cancellations

    assert (small.rentals, small.ended, small.problem_cases) == (10, 8, 2)
    assert at("all", 0) == (0, 0, 0, 0)
    assert at("all", 60) == (3, 3, 1, 0)
    assert at("all", 75) == (4, 3, 1, 0)
    assert at("all", 105) == (5, 3, 2, 1)
    assert at("all", 720) == (5, 3, 2, 1)
    assert at("connect", 15) == (1, 1, 1, 0)
    assert at("connect", 720) == (2, 1, 1, 0)
    assert at("mobile", 60) == (2, 2, 0, 0)
    assert at("mobile", 105) == (3, 2, 1, 1)
    connect = next(p for p in small.points("connect") if p.threshold_min == 15)
    assert (connect.blocked_share, connect.blocked_share_of_scope) == (0.1, 0.2)
    assert (connect.solved_share, connect.solved_share_of_scope) == (0.5, 1.0)
    assert connect.revenue_share == 1 / 8
    assert [(r.scope, r.threshold_min) for r in small.by_scope] == [
        ("all", 105),
        ("connect", 15),
        ("mobile", 105),
    ]
    assert (small.best.scope, small.best.threshold_min) == ("all", 105)


def test_small_facts_by_hand(small: DelayPolicy) -> None:
    """Delays 30, -10, 120, 5, 700, 0, 15 (one ended rental unmeasured): 5 of 7 late, median
    15, median when late 30; four pairs with a known previous delay, two of them problems,
    each a 30-minute wait."""
    everyone = small.facts.lateness[0]
    assert (everyone.with_delay, everyone.late, everyone.median_delay_min) == (7, 5, 15.0)
    assert everyone.median_late_min == 30.0
    assert everyone.mean_delay_min == pytest.approx(860 / 7)
    assert everyone.outliers_low + everyone.outliers_high == 0
    knock = small.facts.knock_on[0]
    assert (knock.with_previous, knock.previous_known, knock.previous_late) == (6, 4, 3)
    assert (knock.problematic, knock.problematic_canceled, knock.median_wait_min) == (2, 1, 30.0)
    assert knock.late_hits_next_share == 2 / 3
    assert knock.cancel_share_not_problematic == 0.5


def test_net_value_rule_weighs_problems_against_revenue() -> None:
    """At 100 EUR a problem and 50 EUR a day, blocking one ended rental to solve one problem
    pays: for Connect cars the first threshold solving rental 2's case (15 min) wins."""
    params = PolicyParams(
        price_per_day=50.0, trade_off=TradeOff(rule="net_value", cost_per_problem=100.0)
    )
    result = analyse(read_rentals_file(SMALL).accepted, params, scopes=["connect"])
    assert (result.best.scope, result.best.threshold_min) == ("connect", 15)
    assert "net value" in result.best.why


def test_parameters_check_themselves() -> None:
    """Nonsense parameters are refused with a message naming them."""
    with pytest.raises(ValueError, match="step_min"):
        PolicyParams(step_min=0)
    with pytest.raises(ValueError, match="price_per_day"):
        PolicyParams(price_per_day=-1.0)
    with pytest.raises(ValueError, match="cost_per_problem"):
        TradeOff(rule="net_value")
    with pytest.raises(ValueError, match="price_per_day"):
        PolicyParams(trade_off=TradeOff(rule="net_value", cost_per_problem=10.0))
    with pytest.raises(ValueError, match="scope"):
        analyse(read_rentals_file(SMALL).accepted, scopes=["paper"])
    assert PolicyParams(step_min=50).thresholds[-2:] == (700, 720)


# --- properties on any rentals ---------------------------------------------------------------


@st.composite
def rentals(draw: st.DrawFn) -> pl.DataFrame:
    """Up to 30 rentals of a few cars, some following an earlier one within 12 h."""
    n = draw(st.integers(min_value=1, max_value=30))
    rows = []
    for i in range(n):
        state = draw(st.sampled_from(["ended", "canceled"]))
        delay = (
            None
            if state == "canceled"
            else draw(st.none() | st.integers(min_value=-900, max_value=900).map(float))
        )
        previous = draw(st.none() | st.integers(min_value=0, max_value=max(0, i - 1)))
        rows.append(
            {
                "rental_id": str(i),
                "car_id": str(i % 4),
                "checkin_type": draw(st.sampled_from(["mobile", "connect"])),
                "state": state,
                "delay_at_checkout_minutes": delay,
                "previous_rental_id": None if previous is None or i == 0 else str(previous),
                "gap_with_previous_minutes": None
                if previous is None or i == 0
                else float(draw(st.integers(min_value=0, max_value=720))),
            }
        )
    return pl.DataFrame(rows, schema=RENTALS)


@settings(max_examples=60, deadline=None)
@given(rentals(), st.sampled_from([15, 30, 45]))
def test_curves_are_monotonic_and_shares_are_shares(frame: pl.DataFrame, step: int) -> None:
    """More minutes never block fewer rentals nor solve fewer cases; every share is in
    [0, 1]; solved cases are blocked problematic ones; the recommendation is on the curve."""
    result = analyse(frame, PolicyParams(step_min=step))
    for scope in SCOPES:
        points = result.points(scope)
        for before, after in itertools.pairwise(points):
            assert after.blocked_rentals >= before.blocked_rentals
            assert after.blocked_ended >= before.blocked_ended
            assert after.solved_cases >= before.solved_cases
            assert after.revenue_share >= before.revenue_share
        for p in points:
            for name in (
                "blocked_share",
                "blocked_share_of_scope",
                "revenue_share",
                "solved_share",
                "solved_share_of_scope",
            ):
                assert 0.0 <= getattr(p, name) <= 1.0, name
            assert p.solved_cases <= min(p.blocked_rentals, p.problem_cases)
            assert p.solved_cancellations <= p.solved_cases
        assert points[0].blocked_rentals == 0
        assert result.recommendation_for(scope).point in points
    for kind in SCOPES[1:]:
        parts = [p for p in result.curve if p.scope == kind and p.threshold_min == 720]
        everyone = next(p for p in result.points("all") if p.threshold_min == 720)
        assert sum(p.blocked_rentals for p in parts) <= everyone.blocked_rentals
    connect, mobile = result.points("connect")[-1], result.points("mobile")[-1]
    assert (
        connect.blocked_rentals + mobile.blocked_rentals == result.points("all")[-1].blocked_rentals
    )


@settings(max_examples=40, deadline=None)
@given(rentals(), st.integers(min_value=0, max_value=720), st.sampled_from(SCOPES))
def test_any_point_matches_the_oracle(frame: pl.DataFrame, threshold: int, scope: str) -> None:
    """On random rentals too, a point is the plain-Python computation's."""
    rows = [
        Row(
            rental_id=r["rental_id"],
            checkin=r["checkin_type"],
            state=r["state"],
            delay=r["delay_at_checkout_minutes"],
            previous=r["previous_rental_id"],
            gap=r["gap_with_previous_minutes"],
        )
        for r in frame.iter_rows(named=True)
    ]
    point = policy_at(frame, threshold_min=threshold, scope=scope, price_per_day=10.0)
    assert_same(point.to_json(), Oracle(rows).point(scope, threshold, 10.0))
