"""Oracle tests of trips -> demand: the Polars counts against a plain-Python reference."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.analytics.demand import daily_demand, hourly_demand
from fleetcast.domain import DEMAND_DAILY, TRIPS, conform

TZ = "America/Chicago"
SYSTEM = "mini"
ZONES = ["1", "10", "2", "3"]
"""Known zones; '10' sorts before '2' as text, which the output order must respect."""
UNKNOWN = ["99", "x"]
FAST = settings(max_examples=50, deadline=None)

# clocks go back on 3 Nov 2024 (01:00-02:00 CDT then CST) and forward on 10 Mar 2024
FALL_BACK = datetime(2024, 11, 3, 7, tzinfo=UTC)
SPRING_FORWARD = datetime(2024, 3, 10, 8, tzinfo=UTC)

Trip = tuple[str | None, datetime]


def local_day_and_hour(started_at: datetime) -> tuple[date, int]:
    """The local day and hour a UTC instant falls in, by zoneinfo (independent of Polars)."""
    local = started_at.astimezone(ZoneInfo(TZ))
    return local.date(), local.hour


def trips_frame(trips: Sequence[Trip]) -> pl.DataFrame:
    """A TRIPS frame from (start_zone, started_at); ``date`` is the local day, as stored."""
    rows = [
        {
            "system_id": SYSTEM,
            "trip_id": f"t{n}",
            "started_at": started,
            "start_zone": zone,
            "date": local_day_and_hour(started)[0],
        }
        for n, (zone, started) in enumerate(trips)
    ]
    if not rows:
        return pl.DataFrame(schema=TRIPS)
    return conform(pl.DataFrame(rows, infer_schema_length=None), TRIPS)


def days(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def reference_daily(
    trips: Sequence[Trip], zone_ids: Sequence[str], start: date, end: date
) -> list[tuple[str, str, date, int]]:
    """Loops and a Counter: trips per known zone and local day, every (zone, day) listed."""
    counts: Counter[tuple[str, date]] = Counter()
    for zone, started in trips:
        day, _ = local_day_and_hour(started)
        if zone in zone_ids and start <= day <= end:
            counts[(zone, day)] += 1
    return [
        (SYSTEM, zone, day, counts[(zone, day)])
        for zone in sorted(set(zone_ids))
        for day in days(start, end)
    ]


def reference_hourly(
    trips: Sequence[Trip], zone_ids: Sequence[str], start: date, end: date
) -> list[tuple[str, str, date, int, int]]:
    """Loops and a Counter per zone, local day and local wall-clock hour 0-23."""
    counts: Counter[tuple[str, date, int]] = Counter()
    for zone, started in trips:
        day, hour = local_day_and_hour(started)
        if zone in zone_ids and start <= day <= end:
            counts[(zone, day, hour)] += 1
    return [
        (SYSTEM, zone, day, hour, counts[(zone, day, hour)])
        for zone in sorted(set(zone_ids))
        for day in days(start, end)
        for hour in range(24)
    ]


@st.composite
def demand_case(draw: st.DrawFn) -> tuple[list[Trip], list[str], date, date]:
    """Trips over five days around a DST change, the known zones, and a [start, end] window.

    Zones include unknown ids and missing ones; start times are any second of the window, so
    some fall outside [start, end] and some in the repeated or skipped local hour.
    """
    pivot = draw(st.sampled_from([FALL_BACK, SPRING_FORWARD]))
    first = pivot - timedelta(days=2, hours=7)
    seconds = st.integers(0, 5 * 24 * 3600)
    zone = st.sampled_from([*ZONES, *UNKNOWN, None])
    trips = draw(
        st.lists(
            st.tuples(zone, seconds.map(lambda s: first + timedelta(seconds=s))),
            max_size=60,
        )
    )
    zone_ids = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=4, unique=True))
    local_first = first.astimezone(ZoneInfo(TZ)).date()
    start = local_first + timedelta(days=draw(st.integers(0, 3)))
    end = start + timedelta(days=draw(st.integers(0, 3)))
    return trips, zone_ids, start, end


@FAST
@given(demand_case(), st.booleans())
def test_daily_demand_matches_reference(
    case: tuple[list[Trip], list[str], date, date], lazy: bool
) -> None:
    """daily_demand == the plain-Python count: zero-filled, unknown zones and days outside the
    window dropped, sorted by zone id (as text) then day, in exactly DEMAND_DAILY."""
    trips, zone_ids, start, end = case
    frame = trips_frame(trips)
    got = daily_demand(
        frame.lazy() if lazy else frame, system_id=SYSTEM, zone_ids=zone_ids, start=start, end=end
    )
    assert got.schema == pl.Schema(DEMAND_DAILY)
    assert got.rows() == reference_daily(trips, zone_ids, start, end)
    assert got.height == len(zone_ids) * ((end - start).days + 1)


@FAST
@given(demand_case())
def test_hourly_demand_matches_reference(case: tuple[list[Trip], list[str], date, date]) -> None:
    """hourly_demand == the plain-Python count per local wall-clock hour, 24 rows per day even
    on DST days: the repeated hour holds both hours' trips, the skipped one is 0."""
    trips, zone_ids, start, end = case
    got = hourly_demand(
        trips_frame(trips), system_id=SYSTEM, timezone=TZ, zone_ids=zone_ids, start=start, end=end
    )
    assert got.columns == ["system_id", "zone_id", "date", "hour", "trips"]
    assert got.schema["date"] == pl.Date
    assert got.schema["trips"] == pl.Int64
    assert got.rows() == reference_hourly(trips, zone_ids, start, end)
    daily = daily_demand(
        trips_frame(trips), system_id=SYSTEM, zone_ids=zone_ids, start=start, end=end
    )
    summed = got.group_by("zone_id", "date").agg(pl.col("trips").sum()).sort("zone_id", "date")
    assert summed["trips"].to_list() == daily["trips"].to_list()


def test_dst_hours_by_hand() -> None:
    """A hand-computed case: on 3 Nov 2024 in Chicago 06:30Z and 07:30Z are both 01:30 local,
    so hour 1 counts 2; on 10 Mar 2024 nothing can start at 02:xx local."""
    trips: list[Trip] = [
        ("1", datetime(2024, 11, 3, 6, 30, tzinfo=UTC)),  # 01:30 CDT
        ("1", datetime(2024, 11, 3, 7, 30, tzinfo=UTC)),  # 01:30 CST
        ("1", datetime(2024, 3, 10, 8, 30, tzinfo=UTC)),  # 03:30 CDT (02:30 never happened)
    ]
    fall = hourly_demand(
        trips_frame(trips),
        system_id=SYSTEM,
        timezone=TZ,
        zone_ids=["1"],
        start=date(2024, 11, 3),
        end=date(2024, 11, 3),
    )
    assert fall.height == 24
    assert fall.filter(pl.col("trips") > 0).select("hour", "trips").rows() == [(1, 2)]
    spring = hourly_demand(
        trips_frame(trips),
        system_id=SYSTEM,
        timezone=TZ,
        zone_ids=["1"],
        start=date(2024, 3, 10),
        end=date(2024, 3, 10),
    )
    assert spring.filter(pl.col("trips") > 0).select("hour", "trips").rows() == [(3, 1)]
    assert spring.filter(pl.col("hour") == 2)["trips"].to_list() == [0]


def test_no_trips_gives_all_zeros() -> None:
    """Without trips every zone still has a row per day, with 0 trips."""
    got = daily_demand(
        trips_frame([]),
        system_id=SYSTEM,
        zone_ids=["b", "a"],
        start=date(2024, 7, 1),
        end=date(2024, 7, 2),
    )
    assert got.schema == pl.Schema(DEMAND_DAILY)
    assert got.rows() == [
        (SYSTEM, "a", date(2024, 7, 1), 0),
        (SYSTEM, "a", date(2024, 7, 2), 0),
        (SYSTEM, "b", date(2024, 7, 1), 0),
        (SYSTEM, "b", date(2024, 7, 2), 0),
    ]


def test_no_zones_gives_no_rows() -> None:
    """A system without zones has no demand rows, but the frame keeps its schema."""
    got = daily_demand(
        trips_frame([("1", FALL_BACK)]),
        system_id=SYSTEM,
        zone_ids=[],
        start=date(2024, 11, 3),
        end=date(2024, 11, 3),
    )
    assert got.is_empty()
    assert got.schema == pl.Schema(DEMAND_DAILY)


@pytest.mark.parametrize("func", [daily_demand, hourly_demand])
def test_end_before_start_is_refused(func: object) -> None:
    """A window that ends before it starts is a ValueError naming both days."""
    kwargs = {
        "system_id": SYSTEM,
        "zone_ids": ZONES,
        "start": date(2024, 7, 2),
        "end": date(2024, 7, 1),
    }
    if func is hourly_demand:
        kwargs["timezone"] = TZ
    with pytest.raises(ValueError, match=r"2024-07-01.*2024-07-02"):
        func(trips_frame([]), **kwargs)  # type: ignore[operator]
