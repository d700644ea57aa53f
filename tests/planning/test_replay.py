"""Replaying a day's trips against a fleet: a hand-traced day, a plain-Python oracle on
generated days, conservation of vehicles, moves applied to a supply, and speed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.errors import SchemaError
from fleetcast.planning.replay import (
    COMPARE_COLUMNS,
    ReplayResult,
    apply_moves,
    compare,
    replay_day,
    supply_frame,
)

DAY = datetime(2024, 6, 3, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None)

Trip = tuple[int, int, str | None, str | None]
"""(start minute, end minute, start zone, end zone)."""


def _trips(rows: list[Trip]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trip_id": [f"T{i + 1}" for i in range(len(rows))],
            "started_at": [DAY + timedelta(minutes=r[0]) for r in rows],
            "ended_at": [DAY + timedelta(minutes=r[1]) for r in rows],
            "start_zone": [r[2] for r in rows],
            "end_zone": [r[3] for r in rows],
        },
        schema={
            "trip_id": pl.String,
            "started_at": pl.Datetime("us", "UTC"),
            "ended_at": pl.Datetime("us", "UTC"),
            "start_zone": pl.String,
            "end_zone": pl.String,
        },
    )


def _hand_day() -> pl.DataFrame:
    """Supply A=1, D=3 (B, C hold nothing). Minutes after midnight, in input order:

    ====  ===========  =======  ==================================================
    trip  time         zones    what happens
    ====  ===========  =======  ==================================================
    T1    08:00-08:20  A -> B   A has 1: served, A=0; back in B at 08:20
    T2    08:10-08:30  A -> B   A=0: lost
    T3    08:20-08:40  B -> A   T1's vehicle is back in B first (returns before
                                starts): served, B=0; back in A at 08:40
    T4    08:20-08:50  B -> C   same instant as T3, after it in input: B=0, lost
    T5    08:40-09:00  A -> ∅   T3's vehicle is back: served, leaves the system
    T6    08:45-09:00  ∅ -> A   started outside every zone: skipped
    T7    09:00-09:10  A -> A   A=0: lost
    T8    07:00-07:05  C -> A   C is not in the supply (none there): lost
    ====  ===========  =======  ==================================================

    Served 3 (A: T1, T5; B: T3), lost 4 (A: T2, T7; B: T4; C: T8), outside 1, left 1;
    at the end A=B=C=0 and D=3 (4 vehicles at the start, 1 left).
    """
    return _trips(
        [
            (480, 500, "A", "B"),
            (490, 510, "A", "B"),
            (500, 520, "B", "A"),
            (500, 530, "B", "C"),
            (520, 540, "A", None),
            (525, 540, None, "A"),
            (540, 550, "A", "A"),
            (420, 425, "C", "A"),
        ]
    )


def test_hand_traced_day() -> None:
    """The day traced in ``_hand_day``'s docstring, event by event."""
    result = replay_day(_hand_day(), {"A": 1, "D": 3})
    assert (result.served, result.lost, result.outside, result.left_system) == (3, 4, 1, 1)
    assert result.served_by_zone.to_dict(as_series=False) == {
        "zone_id": ["A", "B", "C"],
        "served": [2, 1, 0],
    }
    assert result.lost_by_zone.to_dict(as_series=False) == {
        "zone_id": ["A", "B", "C"],
        "lost": [2, 1, 1],
    }
    assert result.end_supply.to_dict(as_series=False) == {
        "zone_id": ["A", "B", "C", "D"],
        "vehicles": [0, 0, 0, 3],
    }
    assert result.demand == 7 and result.service_rate == pytest.approx(3 / 7)


def test_supply_as_frame_equals_supply_as_mapping() -> None:
    """A supply frame (in any order, any integer type) replays like the same mapping."""
    frame = pl.DataFrame(
        {"zone_id": ["D", "A"], "vehicles": [3, 1]}, schema_overrides={"vehicles": pl.Int32}
    )
    got, want = replay_day(_hand_day(), frame), replay_day(_hand_day(), {"A": 1, "D": 3})
    assert (got.served, got.lost, got.outside, got.left_system) == (3, 4, 1, 1)
    for name in ("served_by_zone", "lost_by_zone", "end_supply"):
        assert getattr(got, name).equals(getattr(want, name))


def test_zero_duration_and_null_end_time() -> None:
    """A trip that ends when it starts frees its vehicle for the next start at that instant;
    a served trip with no end time keeps its vehicle away (it left the system)."""
    zero = _trips([(60, 60, "A", "B"), (60, 70, "B", "A")])
    assert replay_day(zero, {"A": 1}).served == 2
    no_end = _trips([(60, 70, "A", "A"), (80, 90, "A", "A")]).with_columns(
        ended_at=pl.when(pl.col("trip_id") == "T1").then(None).otherwise(pl.col("ended_at"))
    )
    result = replay_day(no_end, {"A": 1})
    assert (result.served, result.lost, result.left_system) == (1, 1, 1)
    assert result.end_supply["vehicles"].sum() == 0


def test_empty_day_keeps_the_supply() -> None:
    """No trips: nothing served or lost, the fleet ends where it started."""
    result = replay_day(_trips([]), {"B": 2, "A": 0})
    assert (result.served, result.lost, result.outside) == (0, 0, 0)
    assert result.served_by_zone.is_empty() and result.lost_by_zone.is_empty()
    assert result.end_supply.to_dict(as_series=False) == {"zone_id": ["A", "B"], "vehicles": [0, 2]}
    assert result.service_rate == 1.0


def _oracle(rows: list[Trip], supply: dict[str, int]) -> tuple[int, int, int, int, dict[str, int]]:
    """Minute by minute: first the vehicles returning this minute, then the starts of this
    minute in input order (every trip here lasts at least a minute)."""
    stock: dict[str, int] = defaultdict(int, supply)
    returns: dict[int, list[str]] = defaultdict(list)
    served = lost = outside = left = 0
    last = max([r[1] for r in rows] + [0])
    for minute in range(last + 1):
        for zone in returns.pop(minute, []):
            stock[zone] += 1
        for start, end, origin, destination in rows:
            if start != minute:
                continue
            if origin is None:
                outside += 1
            elif stock[origin] > 0:
                stock[origin] -= 1
                served += 1
                if destination is None:
                    left += 1
                else:
                    returns[end].append(destination)
            else:
                lost += 1
    assert not returns
    return served, lost, outside, left, {z: v for z, v in stock.items() if v or z in supply}


ZONES = st.sampled_from(["A", "B", "C", None])
TRIP = st.tuples(st.integers(0, 120), st.integers(1, 45), ZONES, ZONES).map(
    lambda t: (t[0], t[0] + t[1], t[2], t[3])
)
SUPPLY = st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.integers(0, 3))


@FAST
@given(rows=st.lists(TRIP, max_size=40), supply=SUPPLY)
def test_replay_matches_a_plain_python_oracle(rows: list[Trip], supply: dict[str, int]) -> None:
    """On generated small days, counts and the end supply equal the oracle's, and vehicles
    are conserved: end total = start total - vehicles that left; every trip is counted once."""
    result = replay_day(_trips(rows), supply)
    served, lost, outside, left, stock = _oracle(rows, supply)
    assert (result.served, result.lost, result.outside, result.left_system) == (
        served,
        lost,
        outside,
        left,
    )
    end = dict(result.end_supply.iter_rows())
    assert {z: v for z, v in end.items() if v} == {z: v for z, v in stock.items() if v}
    assert sum(end.values()) == sum(supply.values()) - result.left_system
    assert result.served + result.lost + result.outside == len(rows)
    assert result.served_by_zone["served"].sum() == result.served
    assert result.lost_by_zone["lost"].sum() == result.lost


def test_bad_supply_and_trips_are_refused() -> None:
    """Negative or repeated supply, or trips without a zone column, fail with the reason."""
    with pytest.raises(ValueError, match="negative"):
        replay_day(_hand_day(), {"A": -1})
    with pytest.raises(ValueError, match="repeats"):
        supply_frame(pl.DataFrame({"zone_id": ["A", "A"], "vehicles": [1, 2]}))
    with pytest.raises(SchemaError, match="vehicles"):
        supply_frame(pl.DataFrame({"zone_id": ["A"]}))
    with pytest.raises(SchemaError, match="end_zone"):
        replay_day(_hand_day().drop("end_zone"), {"A": 1})


Move = tuple[str, str, int]


def _moves(rows: list[Move]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["from_id", "to_id", "vehicles"], orient="row")


def test_apply_moves_moves_and_depots_add() -> None:
    """Zone-to-zone moves keep the total; a depot source (named in ``depots`` or by a
    ``from_kind`` column as ``plan_moves`` writes) adds vehicles, a depot target takes them
    out; a new target zone is added."""
    supply = {"A": 5, "B": 1}
    after = apply_moves(
        supply,
        _moves([("A", "B", 3), ("D1", "C", 2), ("A", "E", 1), ("B", "D1", 1)]),
        depots={"D1"},
    )
    assert after.to_dict(as_series=False) == {
        "zone_id": ["A", "B", "C", "E"],
        "vehicles": [1, 3, 2, 1],
    }
    plain = apply_moves(supply, _moves([("A", "B", 2)]))
    assert plain["vehicles"].sum() == 6
    planned = _moves([("A", "B", 2), ("D1", "B", 4)]).with_columns(
        from_kind=pl.Series(["zone", "depot"])
    )
    assert apply_moves(supply, planned).to_dict(as_series=False) == {
        "zone_id": ["A", "B"],
        "vehicles": [3, 7],
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("A", "B", 6)], "A gives 6 but holds 5"),
        ([("A", "B", 3), ("A", "C", 3)], "A gives 6 but holds 5"),
        ([("B", "C", 2), ("A", "B", 2)], "B gives 2 but holds 1"),
        ([("X", "A", 1)], "neither zones of the supply nor depots"),
        ([("A", "B", -1)], "negative"),
    ],
)
def test_apply_moves_refuses_impossible_plans(
    rows: list[tuple[str, str, int]], message: str
) -> None:
    """A zone never gives more than it holds before the plan (the moves are simultaneous,
    so B cannot pass on what A sends it), and a source must be a zone or a depot."""
    with pytest.raises(ValueError, match=message):
        apply_moves({"A": 5, "B": 1}, _moves(rows))


def test_compare_counts_the_rides_a_plan_gains() -> None:
    """Moving two of D's idle vehicles to A serves T2 and T7 of the hand-traced day."""
    before = {"A": 1, "D": 3}
    after = apply_moves(before, _moves([("D", "A", 2)]))
    row = compare(_hand_day(), before, after).row(0, named=True)
    assert tuple(row) == COMPARE_COLUMNS
    assert row == {
        "served_without": 3,
        "served_with": 5,
        "gained": 2,
        "lost_without": 4,
        "lost_with": 2,
    }


def test_a_busy_day_conserves_every_vehicle() -> None:
    """A day of 50,000 trips over 60 zones: every trip is served or lost and every vehicle
    ends in a zone (its speed is measured by benchmarks/plan.py, not here)."""
    rng = np.random.default_rng(0)
    n = 50_000
    start = rng.integers(0, 86_400, n)
    zones = np.array([f"Z{i:02d}" for i in range(60)], dtype=object)
    trips = pl.DataFrame(
        {
            "started_at": [DAY + timedelta(seconds=int(s)) for s in start],
            "ended_at": [
                DAY + timedelta(seconds=int(s + d))
                for s, d in zip(start, rng.integers(60, 1800, n), strict=True)
            ],
            "start_zone": zones[rng.integers(0, 60, n)].tolist(),
            "end_zone": zones[rng.integers(0, 60, n)].tolist(),
        }
    )
    supply = {str(z): 20 for z in zones}
    result: ReplayResult = replay_day(trips, supply)
    assert result.served + result.lost == n
    assert result.end_supply["vehicles"].sum() == 60 * 20
