"""Turnover: rides per vehicle per day per zone, against a plain-Python computation."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.analytics.turnover import (
    TURNOVER_SCHEMA,
    ZONE_DAY_SUPPLY,
    rides_per_vehicle,
    supply_history,
)
from fleetcast.domain import VEHICLE_STATUS

DAY0 = date(2024, 6, 1)


def reference(
    demand: list[tuple[str, date, int]],
    supply: list[tuple[str, date, float]] | None,
    *,
    fleet_size: int,
    window_days: int,
    min_vehicle_days: float,
    floor: float,
) -> dict[str, tuple[float, str]]:
    """The figure by hand: the window ends on the last demand day; trips and vehicle-days
    count on days with supply history; thin zones take the system figure."""
    last = max(d for _, d, _ in demand)
    start = max(last - timedelta(days=window_days - 1), min(d for _, d, _ in demand))
    days = (last - start).days + 1
    in_window = [(z, d, t) for z, d, t in demand if start <= d <= last]
    system = sum(t for _, _, t in in_window) / (fleet_size * days)
    zones = {z for z, _, _ in demand} | {z for z, _, _ in supply or []}
    observed_days = {d for _, d, _ in supply or [] if start <= d <= last}
    trips: dict[str, float] = defaultdict(float)
    vehicle_days: dict[str, float] = defaultdict(float)
    for z, d, t in in_window:
        if d in observed_days:
            trips[z] += t
    for z, d, v in supply or []:
        if start <= d <= last:
            vehicle_days[z] += v
    out = {}
    for z in zones:
        v = vehicle_days[z]
        if supply is not None and v > 0 and v >= min_vehicle_days:
            value = (trips[z] + min_vehicle_days * system) / (v + min_vehicle_days)
            out[z] = (max(value, floor), "observed")
        else:
            out[z] = (max(system, floor), "system")
    return out


def test_hand_computed_zones() -> None:
    """Fleet 10 over 2 days with 40 trips: the system figure is 40 / 20 = 2. Zone a: 30
    trips on 10 vehicle-days, shrunk with 4 prior vehicle-days: (30 + 4 * 2) / 14 = 2.714.
    Zone b: 10 trips on 2 vehicle-days, too thin: the system figure 2. Zone c (no trips, no
    supply, only listed): the system figure."""
    demand = pl.DataFrame(
        {
            "zone_id": ["a", "a", "b"],
            "date": [DAY0, DAY0 + timedelta(days=1), DAY0],
            "trips": [12, 18, 10],
        }
    )
    supply = pl.DataFrame(
        {
            "zone_id": ["a", "a", "b"],
            "date": [DAY0, DAY0 + timedelta(days=1), DAY0 + timedelta(days=1)],
            "vehicles": [4.0, 6.0, 2.0],
        }
    )
    out = rides_per_vehicle(demand, supply, fleet_size=10, min_vehicle_days=4.0, zone_ids=["c"])
    assert out.schema == pl.Schema(TURNOVER_SCHEMA)
    rows = {r["zone_id"]: r for r in out.iter_rows(named=True)}
    assert rows["a"]["rides_per_vehicle"] == pytest.approx(38 / 14)
    assert rows["a"]["source"] == "observed"
    assert (rows["b"]["rides_per_vehicle"], rows["b"]["source"]) == (2.0, "system")
    assert rows["b"]["trips"] == 10.0  # day 0 has supply history (zone a's row)
    assert (rows["c"]["rides_per_vehicle"], rows["c"]["source"]) == (2.0, "system")


def test_without_supply_history_every_zone_gets_the_system_figure_above_the_floor() -> None:
    """No supply history: total trips / (fleet * days) for every zone, never below the
    floor."""
    demand = pl.DataFrame({"zone_id": ["a", "b"], "date": [DAY0, DAY0], "trips": [1, 2]})
    out = rides_per_vehicle(demand, None, fleet_size=10, floor=0.25)
    assert out.get_column("rides_per_vehicle").to_list() == [0.3, 0.3]
    out = rides_per_vehicle(demand, None, fleet_size=100, floor=0.25)
    assert out.get_column("rides_per_vehicle").to_list() == [0.25, 0.25]
    assert set(out.get_column("source")) == {"system"}


def test_bad_arguments_are_refused() -> None:
    """Arguments out of range raise ValueError naming them."""
    demand = pl.DataFrame({"zone_id": ["a"], "date": [DAY0], "trips": [1]})
    with pytest.raises(ValueError, match="fleet_size"):
        rides_per_vehicle(demand, None, fleet_size=0)
    with pytest.raises(ValueError, match="floor"):
        rides_per_vehicle(demand, None, fleet_size=1, floor=0.0)
    with pytest.raises(ValueError, match="window_days"):
        rides_per_vehicle(demand, None, fleet_size=1, window_days=0)


zone_ids = st.sampled_from(["a", "b", "c", "d"])
day_offsets = st.integers(0, 40)


@settings(max_examples=80, deadline=None)
@given(
    demand=st.lists(st.tuples(zone_ids, day_offsets, st.integers(0, 50)), min_size=1,
                    max_size=40, unique_by=lambda r: (r[0], r[1])),
    supply=st.one_of(
        st.none(),
        st.lists(st.tuples(zone_ids, day_offsets, st.floats(0, 10)), max_size=40,
                 unique_by=lambda r: (r[0], r[1])),
    ),
    fleet_size=st.integers(1, 30),
    window_days=st.integers(1, 35),
    min_vehicle_days=st.floats(0, 20),
    floor=st.floats(0.01, 2),
)  # fmt: skip
def test_against_plain_python(
    demand: list[tuple[str, int, int]],
    supply: list[tuple[str, int, float]] | None,
    fleet_size: int,
    window_days: int,
    min_vehicle_days: float,
    floor: float,
) -> None:
    """The Polars figure equals the plain-Python one on random sparse histories."""
    demand_rows = [(z, DAY0 + timedelta(days=d), t) for z, d, t in demand]
    supply_rows = None if supply is None else [(z, DAY0 + timedelta(days=d), v)
                                               for z, d, v in supply]  # fmt: skip
    demand_frame = pl.DataFrame(demand_rows, schema=["zone_id", "date", "trips"], orient="row")
    supply_frame = (
        None
        if supply_rows is None
        else pl.DataFrame(supply_rows, schema=pl.Schema(ZONE_DAY_SUPPLY), orient="row")
    )
    kwargs = {"fleet_size": fleet_size, "window_days": window_days,
              "min_vehicle_days": min_vehicle_days, "floor": floor}  # fmt: skip
    out = rides_per_vehicle(demand_frame, supply_frame, **kwargs)  # type: ignore[arg-type]
    expected = reference(demand_rows, supply_rows, **kwargs)  # type: ignore[arg-type]
    got = {z: (r, s) for z, r, s, _, _ in out.iter_rows()}
    assert got.keys() == expected.keys()
    for zone, (value, source) in expected.items():
        assert got[zone][1] == source
        assert got[zone][0] == pytest.approx(value, rel=1e-12)
        assert got[zone][0] >= floor


def snapshot(
    at: datetime, zone: str | None, *, disabled: bool = False, reserved: bool = False,
    vehicle: str = "v", system: str = "s", battery: float | None = 80.0,
) -> dict[str, object]:  # fmt: skip
    """One vehicle status row."""
    return {
        "system_id": system,
        "vehicle_id": vehicle,
        "observed_at": at,
        "lat": 41.9,
        "lon": -87.6,
        "zone_id": zone,
        "battery_pct": battery,
        "is_reserved": reserved,
        "is_disabled": disabled,
        "vehicle_type": "scooter",
        "date": at.date(),
    }


def test_supply_history_means_over_the_days_snapshots() -> None:
    """Day 1 has two snapshots: zone a holds 2 available vehicles in the first and 1 in
    the second (mean 1.5); zone b only appears in the second with 1 (mean 0.5); disabled,
    reserved and zone-less rows do not count. Day 2 has one snapshot: a holds 1."""
    t1 = datetime(2024, 6, 1, 8, tzinfo=UTC)
    t2 = datetime(2024, 6, 1, 12, tzinfo=UTC)
    t3 = datetime(2024, 6, 2, 9, tzinfo=UTC)
    rows = [
        snapshot(t1, "a", vehicle="v1"),
        snapshot(t1, "a", vehicle="v2"),
        snapshot(t1, "a", vehicle="v3", disabled=True),
        snapshot(t1, None, vehicle="v4"),
        snapshot(t2, "a", vehicle="v1"),
        snapshot(t2, "b", vehicle="v2"),
        snapshot(t2, "b", vehicle="v3", reserved=True),
        snapshot(t3, "a", vehicle="v1", battery=5.0),
    ]
    status = pl.DataFrame(rows, schema=VEHICLE_STATUS)
    out = supply_history(status)
    assert out.schema == pl.Schema(ZONE_DAY_SUPPLY)
    assert out.rows() == [
        ("a", date(2024, 6, 1), 1.5),
        ("a", date(2024, 6, 2), 1.0),
        ("b", date(2024, 6, 1), 0.5),
    ]
    charged = supply_history(status, min_battery_pct=20.0)
    assert ("a", date(2024, 6, 2), 1.0) not in charged.rows()


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", None]), st.booleans(),
                  st.booleans(), st.sampled_from(["s1", "s2"])),
        min_size=1, max_size=40,
    )
)  # fmt: skip
def test_supply_history_against_plain_python(
    rows: list[tuple[int, str | None, bool, bool, str]],
) -> None:
    """Mean available vehicles per zone and day equal a plain-Python count, with snapshots
    spread over two days and two systems."""
    base = datetime(2024, 6, 1, 6, tzinfo=UTC)
    times = [base + timedelta(hours=7 * k) for k, *_ in rows]
    status = pl.DataFrame(
        [snapshot(at, zone, disabled=d, reserved=r, vehicle=f"v{i}", system=sys_id)
         for i, (at, (_, zone, d, r, sys_id)) in enumerate(zip(times, rows, strict=True))],
        schema=VEHICLE_STATUS,
    )  # fmt: skip
    snapshots: dict[tuple[str, date], set[datetime]] = defaultdict(set)
    seen: dict[tuple[str, str, date], int] = defaultdict(int)
    for at, (_, zone, disabled, reserved, sys_id) in zip(times, rows, strict=True):
        snapshots[(sys_id, at.date())].add(at)
        if zone is not None and not disabled and not reserved:
            seen[(sys_id, zone, at.date())] += 1
    expected: dict[tuple[str, date], float] = defaultdict(float)
    for (sys_id, zone, day), count in seen.items():
        expected[(zone, day)] += count / len(snapshots[(sys_id, day)])
    got = {(z, d): v for z, d, v in supply_history(status).iter_rows()}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)
