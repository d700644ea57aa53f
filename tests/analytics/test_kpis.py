"""Fleet KPIs against plain-Python recomputations on small hand-made fleets, properties of
the time vocabulary, and an end-to-end sanity check on the demo city."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from fleetcast.analytics.kpis import (
    DAY_PARTS,
    KpiParams,
    battery_distribution,
    daily_usage,
    day_part,
    fleet_kpis,
    local_hour_pieces,
    parking_occupancy,
    usage_by_period,
    vehicle_flags,
    vehicle_usage,
)
from fleetcast.geo import haversine_m
from fleetcast.sources.synthetic import DemoCity, generate_city

FAST = settings(max_examples=40, deadline=None)
TZ = "America/Chicago"
ZONE = ZoneInfo(TZ)
FIRST, LAST = date(2024, 10, 31), date(2024, 11, 6)
"""A week around the night clocks go back in Chicago (Sunday 3 November 2024)."""
GEOD = pyproj.Geod(ellps="WGS84")
CENTRE = (41.8819, -87.6278)

Trip = tuple[str, datetime, datetime]


def local(day: date, hh: int, mm: int = 0) -> datetime:
    """A UTC instant given as Chicago wall-clock time."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZONE).astimezone(UTC)


def trips_frame(trips: Sequence[Trip]) -> pl.DataFrame:
    """A trips frame from (vehicle_id, started_at, ended_at), with duration and distance."""
    return pl.DataFrame(
        {
            "trip_id": [f"t{i}" for i in range(len(trips))],
            "vehicle_id": [t[0] for t in trips],
            "started_at": [t[1] for t in trips],
            "ended_at": [t[2] for t in trips],
            "duration_s": [(t[2] - t[1]).total_seconds() for t in trips],
            "distance_m": [100.0 * i for i in range(len(trips))],
        },
        schema={
            "trip_id": pl.String,
            "vehicle_id": pl.String,
            "started_at": pl.Datetime("us", "UTC"),
            "ended_at": pl.Datetime("us", "UTC"),
            "duration_s": pl.Float64,
            "distance_m": pl.Float64,
        },
    )


def part_of(hour: int) -> str:
    """Day part of a local hour, written out independently of DAY_PARTS."""
    if 6 <= hour < 10:
        return "morning"
    if 10 <= hour < 16:
        return "afternoon"
    if 16 <= hour < 22:
        return "evening"
    return "night"


Key = Callable[[datetime], Hashable]


def reference_usage(
    trips: Sequence[Trip], first: date, last: date, key: Key
) -> dict[Hashable, dict[str, float]]:
    """Minute by minute with zoneinfo: clock seconds, local days, trips started and ride
    seconds in each bucket of the local period [first, last]."""
    t0 = datetime(first.year, first.month, first.day, tzinfo=ZONE).astimezone(UTC)
    end = last + timedelta(days=1)
    t1 = datetime(end.year, end.month, end.day, tzinfo=ZONE).astimezone(UTC)
    out: dict[Hashable, dict[str, float]] = defaultdict(
        lambda: {"clock": 0.0, "trips": 0.0, "ride": 0.0}
    )
    days: dict[Hashable, set[date]] = defaultdict(set)
    moment = t0
    while moment < t1:
        here = moment.astimezone(ZONE)
        out[key(here)]["clock"] += 60
        days[key(here)].add(here.date())
        moment += timedelta(minutes=1)
    for _, started, ended in trips:
        if t0 <= started < t1:
            out[key(started.astimezone(ZONE))]["trips"] += 1
        moment = max(started, t0)
        while moment < min(ended, t1):
            out[key(moment.astimezone(ZONE))]["ride"] += 60
            moment += timedelta(minutes=1)
    for k, v in out.items():
        v["days"] = len(days[k])
    return dict(out)


@st.composite
def small_fleets(draw: st.DrawFn) -> list[Trip]:
    """Up to 25 trips of 3 vehicles, on whole minutes, 1 min to 5 h long, some starting
    before the period or ending after it, some across midnight or the repeated hour."""
    base = local(FIRST, 0) - timedelta(hours=6)
    trips = []
    for _ in range(draw(st.integers(0, 25))):
        start = base + timedelta(minutes=draw(st.integers(0, 8 * 24 * 60)))
        length = timedelta(minutes=draw(st.integers(1, 300)))
        trips.append((draw(st.sampled_from(["v1", "v2", "v3"])), start, start + length))
    return trips


@FAST
@given(small_fleets())
def test_daily_usage_matches_reference(trips: list[Trip]) -> None:
    """Trips, ride hours and utilisation per local day (23, 24 or 25 h long) equal the
    minute-by-minute count, for a fleet of 4 vehicles."""
    got = daily_usage(trips_frame(trips), timezone=TZ, start=FIRST, end=LAST, fleet_size=4)
    want = reference_usage(trips, FIRST, LAST, lambda t: t.date())
    assert got["date"].to_list() == sorted(want, key=str)
    for row in got.iter_rows(named=True):
        ref = want[row["date"]]
        assert row["trips"] == ref["trips"]
        assert row["ride_hours"] == pytest.approx(ref["ride"] / 3600)
        assert row["utilisation"] == pytest.approx(ref["ride"] / (4 * ref["clock"]))
        assert row["rides_per_vehicle"] == pytest.approx(ref["trips"] / 4)
    assert want[date(2024, 11, 3)]["clock"] == 25 * 3600


@FAST
@given(small_fleets())
def test_usage_by_period_matches_reference(trips: list[Trip]) -> None:
    """Weekday/weekend x day part buckets: days, clock hours, trips and utilisation equal
    the minute-by-minute count; trips per day divide by the bucket's days."""
    frame = trips_frame(trips)
    got = usage_by_period(frame, timezone=TZ, start=FIRST, end=LAST, fleet_size=3)

    def key(t: datetime) -> tuple[str, str]:
        return ("weekend" if t.weekday() >= 5 else "weekday", part_of(t.hour))

    want = reference_usage(trips, FIRST, LAST, key)
    assert len(got) == len(want) == 8
    for row in got.iter_rows(named=True):
        ref = want[(str(row["day_type"]), str(row["day_part"]))]
        assert row["days"] == ref["days"]
        assert row["clock_hours"] == pytest.approx(ref["clock"] / 3600)
        assert row["trips"] == ref["trips"]
        assert row["trips_per_day"] == pytest.approx(ref["trips"] / ref["days"])
        assert row["utilisation"] == pytest.approx(ref["ride"] / (3 * ref["clock"]))


def test_usage_by_hour_and_holidays() -> None:
    """By hour, the repeated hour 1 on the fall-back day holds 8 clock hours in the week
    (7 days + 1); a holiday passed in turns a weekday into a weekend day."""
    trip = [("v1", local(date(2024, 11, 4), 8), local(date(2024, 11, 4), 8, 30))]
    by_hour = usage_by_period(
        trips_frame(trip), timezone=TZ, start=FIRST, end=LAST, by=("hour",), fleet_size=1
    )
    hours = dict(by_hour.select("hour", "clock_hours").iter_rows())
    assert hours[1] == 8.0 and hours[0] == 7.0
    assert by_hour.filter(pl.col("hour") == 8)["utilisation"][0] == pytest.approx(0.5 / 7)
    monday_off = usage_by_period(
        trips_frame(trip),
        timezone=TZ,
        start=FIRST,
        end=LAST,
        by=("day_type",),
        holidays={date(2024, 11, 4)},
    )
    assert monday_off.select(pl.col("day_type").cast(pl.String), "days", "trips").rows() == [
        ("weekday", 4, 0),
        ("weekend", 3, 1),
    ]
    with pytest.raises(ValueError, match="by="):
        usage_by_period(trips_frame(trip), timezone=TZ, start=FIRST, end=LAST, by=("week",))  # type: ignore[arg-type]


@FAST
@given(
    st.integers(0, 3 * 24 * 3600),
    st.integers(0, 30 * 3600),
    st.sampled_from([TZ, "Asia/Kolkata", "Asia/Kathmandu", "UTC"]),
)
def test_local_hour_pieces_cover_the_interval(offset: int, length: int, timezone: str) -> None:
    """Pieces add up to the interval, each lies within one local hour, and their local
    hours follow zoneinfo (also with half-hour offsets)."""
    start = local(date(2024, 11, 2), 0) + timedelta(seconds=offset)
    end = start + timedelta(seconds=length)
    frame = pl.LazyFrame(
        {"s": [start], "e": [end]},
        schema={"s": pl.Datetime("us", "UTC"), "e": pl.Datetime("us", "UTC")},
    )
    pieces = local_hour_pieces(frame, start="s", end="e", timezone=timezone).collect()
    assert pieces["seconds"].sum() == pytest.approx(length)
    assert (pieces["seconds"] <= 3600).all() and (pieces["seconds"] > 0).all()
    moment, zone = start, ZoneInfo(timezone)
    for row in pieces.iter_rows(named=True):
        here = moment.astimezone(zone)
        assert (row["date"], row["hour"], row["weekday"]) == (
            here.date(),
            here.hour,
            here.isoweekday(),
        )
        moment += timedelta(seconds=row["seconds"])
    assert moment == end


def test_day_parts_cover_each_hour_once() -> None:
    """The four day parts cover the 24 hours exactly once, as written in the issue."""
    hours = [h for p in DAY_PARTS for h in p.hours]
    assert sorted(hours) == list(range(24))
    hours_frame = pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8})
    got = hours_frame.select(day_part(pl.col("hour")).cast(pl.String)).to_series()
    assert got.to_list() == [part_of(h) for h in range(24)]


def test_vehicle_usage_by_hand() -> None:
    """Rides counted where they start, ride time clipped to the period, idle hours from
    the last ride end to ``now``, and an unridden vehicle listed with unknown idle time."""
    trips = [
        ("v1", local(FIRST, 0) - timedelta(hours=1), local(FIRST, 1)),
        ("v1", local(LAST, 10), local(LAST, 11)),
        ("v2", local(FIRST, 12), local(FIRST, 12, 30)),
        (
            "old",
            local(FIRST, 0) - timedelta(days=30),
            local(FIRST, 0) - timedelta(days=30, hours=-1),
        ),
    ]
    vehicles = pl.DataFrame({"vehicle_id": ["v1", "v2", "v3"]})
    now = local(LAST, 23)
    got = vehicle_usage(
        trips_frame(trips), timezone=TZ, start=FIRST, end=LAST, vehicles=vehicles, now=now
    )
    rows = {r["vehicle_id"]: r for r in got.iter_rows(named=True)}
    assert sorted(rows) == ["v1", "v2", "v3"]
    week_s = (local(LAST + timedelta(days=1), 0) - local(FIRST, 0)).total_seconds()
    assert week_s == 7 * 86400 + 3600
    assert rows["v1"]["rides"] == 1 and rows["v1"]["ride_hours"] == pytest.approx(2.0)
    assert rows["v1"]["utilisation"] == pytest.approx(7200 / week_s)
    assert rows["v1"]["idle_hours"] == pytest.approx(12.0)
    assert rows["v2"]["idle_hours"] == pytest.approx(
        (now - local(FIRST, 12, 30)).total_seconds() / 3600
    )
    assert rows["v3"]["rides"] == 0 and rows["v3"]["idle_hours"] is None


@FAST
@given(
    st.lists(st.one_of(st.none(), st.floats(0.0, 100.0)), max_size=60), st.sampled_from([5, 10, 25])
)
def test_battery_distribution_matches_reference(batteries: list[float | None], width: int) -> None:
    """Counts per bin equal a plain loop (100 % falls in the top bin); unknown batteries
    are left out; bins below the low-battery threshold are flagged."""
    vehicles = pl.DataFrame({"battery_pct": batteries}, schema={"battery_pct": pl.Float64})
    got = battery_distribution(vehicles, params=KpiParams(battery_bin_pct=width))
    counts = [0] * (100 // width)
    for b in batteries:
        if b is not None:
            counts[min(int(b // width), 100 // width - 1)] += 1
    assert got["vehicles"].to_list() == counts
    assert got["bin_start"].to_list() == list(range(0, 100, width))
    assert got["low"].to_list() == [s < 20 for s in range(0, 100, width)]
    known = sum(counts)
    assert got["share"].sum() == pytest.approx(1.0 if known else 0.0)


def offset(
    distance_m: float, azimuth: float, origin: tuple[float, float] = CENTRE
) -> tuple[float, float]:
    """(lat, lon) of the point ``distance_m`` metres from ``origin`` along ``azimuth``."""
    lon, lat, _ = GEOD.fwd(origin[1], origin[0], azimuth, distance_m)
    return lat, lon


def square_geojson(lat: float, lon: float, half_deg: float) -> str:
    """A GeoJSON square around (lat, lon)."""
    ring = [
        [lon - half_deg, lat - half_deg],
        [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg],
    ]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_vehicle_flags_by_hand() -> None:
    """Within 30 m of a parking is at it (29 m yes, 31 m no, yes with 5 m tolerance), a
    polygon parking holds what its polygon holds, distances are geodesic metres, and the
    service area is the union of the zones."""
    far_lat, far_lon = offset(500.0, 0.0)
    parkings = pl.DataFrame(
        {
            "parking_id": ["P1", "P2"],
            "lat": [CENTRE[0], far_lat],
            "lon": [CENTRE[1], far_lon],
            "radius_m": [30.0, 10.0],
            "geometry": [None, square_geojson(far_lat, far_lon, 0.001)],
        }
    )
    spots = {
        "in29": offset(29.0, 90.0),
        "out31": offset(31.0, 200.0),
        "square": offset(60.0, 90.0, (far_lat, far_lon)),
        "away": offset(5000.0, 45.0),
    }
    vehicles = pl.DataFrame(
        {
            "vehicle_id": list(spots),
            "lat": [p[0] for p in spots.values()],
            "lon": [p[1] for p in spots.values()],
            "battery_pct": [50.0, 10.0, None, 90.0],
            "is_disabled": [False, False, True, False],
        }
    )
    zones = pl.DataFrame({"zone_id": ["z"], "geometry": [square_geojson(*CENTRE, 0.02)]})
    got = vehicle_flags(vehicles, parkings=parkings, zones=zones)
    rows = {r["vehicle_id"]: r for r in got.iter_rows(named=True)}
    assert rows["in29"]["parking_id"] == "P1" and rows["in29"]["at_parking"]
    assert rows["in29"]["parking_distance_m"] == pytest.approx(29.0, abs=0.01)
    assert rows["out31"]["parking_id"] is None and rows["out31"]["nearest_parking_id"] == "P1"
    assert rows["out31"]["parking_distance_m"] == pytest.approx(31.0, abs=0.01)
    assert rows["square"]["parking_id"] == "P2"
    assert rows["away"]["in_service_area"] is False and rows["in29"]["in_service_area"] is True
    assert [rows[v]["usable"] for v in spots] == [True, False, False, True]
    assert [rows[v]["low_battery"] for v in spots] == [False, True, False, False]
    tolerant = vehicle_flags(vehicles, parkings=parkings, params=KpiParams(parking_tolerance_m=5.0))
    assert tolerant.filter(pl.col("vehicle_id") == "out31")["parking_id"][0] == "P1"
    assert tolerant["in_service_area"].null_count() == 4
    bare = vehicle_flags(vehicles)
    assert bare["at_parking"].null_count() == 4


def test_parking_occupancy_by_hand() -> None:
    """Two parkings, three fleet snapshots (two at 08:xx, one at 09:xx): the mean per hour
    counts an empty parking as 0; shares below min / above max are per snapshot; with
    every='1h' a vehicle seen twice in the hour counts once, at its last position."""
    near_p2 = offset(500.0, 0.0)
    parkings = pl.DataFrame(
        {
            "parking_id": ["P1", "P2"],
            "name": ["One", "Two"],
            "zone_id": ["z", "z"],
            "lat": [CENTRE[0], near_p2[0]],
            "lon": [CENTRE[1], near_p2[1]],
            "radius_m": [30.0, 30.0],
            "min_vehicles": [2, 1],
            "max_vehicles": [3, 4],
        }
    )
    at_p1, at_p2, nowhere = offset(10.0, 0.0), offset(10.0, 0.0, near_p2), offset(250.0, 0.0)
    t1, t2, t3 = local(FIRST, 8, 0), local(FIRST, 8, 30), local(FIRST, 9, 10)
    seen = [
        (t1, "a", at_p1), (t1, "b", at_p1), (t1, "c", at_p1), (t1, "d", at_p1),
        (t2, "a", at_p1), (t2, "b", at_p2), (t2, "c", nowhere),
        (t3, "a", at_p2),
    ]  # fmt: skip
    snaps = pl.DataFrame(
        {
            "observed_at": [s[0] for s in seen],
            "vehicle_id": [s[1] for s in seen],
            "lat": [s[2][0] for s in seen],
            "lon": [s[2][1] for s in seen],
        }
    )
    got = parking_occupancy(snaps, parkings, timezone=TZ)
    rows = {(r["parking_id"], r["hour"]): r for r in got.iter_rows(named=True)}
    assert rows[("P1", 8)]["snapshots"] == 2
    assert rows[("P1", 8)]["mean_vehicles"] == pytest.approx(2.5)
    assert rows[("P1", 8)]["share_below_min"] == pytest.approx(0.5)
    assert rows[("P1", 8)]["share_above_max"] == pytest.approx(0.5)
    assert rows[("P1", 9)]["mean_vehicles"] == 0.0 and rows[("P1", 9)]["share_below_min"] == 1.0
    assert rows[("P2", 8)]["mean_vehicles"] == pytest.approx(0.5)
    assert rows[("P2", 9)]["fill"] == pytest.approx(0.25)
    hourly = parking_occupancy(snaps, parkings, timezone=TZ, every="1h")
    p1 = hourly.filter(pl.col("parking_id") == "P1", pl.col("hour") == 8).row(0, named=True)
    assert p1["snapshots"] == 1 and p1["mean_vehicles"] == 2.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("low_battery_pct", 120.0), ("battery_bin_pct", 7), ("parking_tolerance_m", -1.0)],
)
def test_kpi_params_name_the_bad_field(field: str, value: object) -> None:
    """Each nonsense setting raises a ValueError naming its field; unknown keys too."""
    with pytest.raises(ValueError, match=field):
        KpiParams(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="colour"):
        KpiParams.from_mapping({"colour": "red"})


def test_fleet_kpis_with_routes() -> None:
    """Trips carrying routes give the median detour ratio; without vehicles, state counts
    are None and the fleet is the vehicles that rode."""
    frame = trips_frame(
        [("v1", local(FIRST, 8), local(FIRST, 8, 20)), ("v2", local(FIRST, 9), local(FIRST, 9, 10))]
    ).with_columns(
        pl.Series(
            "route",
            [
                [[-87.63, 41.88], [-87.62, 41.88], [-87.62, 41.89]],
                [[-87.63, 41.88], [-87.63, 41.89]],
            ],
        )
    )
    kpis = fleet_kpis(frame, timezone=TZ, start=FIRST, end=LAST)
    lateral = float(haversine_m(41.88, -87.63, 41.88, -87.62)[()])
    up = float(haversine_m(41.88, -87.62, 41.89, -87.62)[()])
    diagonal = float(haversine_m(41.88, -87.63, 41.89, -87.62)[()])
    assert kpis.median_detour_ratio == pytest.approx(((lateral + up) / diagonal + 1.0) / 2)
    assert kpis.fleet_size == 2 and kpis.trips == 2 and kpis.usable_vehicles is None
    assert kpis.busiest_day_part == "morning"
    assert kpis.as_dict()["trips"] == 2


@pytest.fixture(scope="module")
def demo_city() -> DemoCity:
    """The demo city over 60 days (seed 5)."""
    return generate_city(seed=5, days=60)


def test_fleet_kpis_on_the_demo_city(demo_city: DemoCity) -> None:
    """End to end on the demo city's last 4 weeks: trips match the trips' own local dates,
    per-day and per-period tables add up to the summary, and the state counts match plain
    recomputations (battery, disabled, haversine to parkings, point in service area)."""
    city = demo_city
    end = city.params.end
    start = end - timedelta(days=27)
    tz = city.system.timezone
    kpis = fleet_kpis(
        city.trips,
        timezone=tz,
        start=start,
        end=end,
        vehicles=city.vehicles,
        parkings=city.parkings,
        zones=city.zones,
        service_area=city.service_area,
    )
    in_period = city.trips.filter(pl.col("date").is_between(start, end))
    assert kpis.trips == in_period.height > 10_000
    assert kpis.fleet_size == city.vehicles.height
    assert kpis.rides_per_vehicle_per_day == pytest.approx(kpis.trips / kpis.fleet_size / 28)
    assert 0.0 < kpis.utilisation < 0.2
    daily = daily_usage(city.trips, timezone=tz, start=start, end=end, fleet_size=kpis.fleet_size)
    assert daily.height == 28 and daily["trips"].sum() == kpis.trips
    periods = usage_by_period(
        city.trips, timezone=tz, start=start, end=end, fleet_size=kpis.fleet_size
    )
    assert periods["trips"].sum() == kpis.trips
    assert periods["clock_hours"].sum() == pytest.approx(28 * 24)
    assert kpis.mean_duration_s == pytest.approx(in_period["duration_s"].mean())

    vehicles = city.vehicles
    assert kpis.low_battery_vehicles == (vehicles["battery_pct"] < 20).sum()
    assert kpis.disabled_vehicles == vehicles["is_disabled"].sum()
    lat, lon = vehicles["lat"].to_numpy(), vehicles["lon"].to_numpy()
    plat, plon = city.parkings["lat"].to_numpy(), city.parkings["lon"].to_numpy()
    distance = haversine_m(lat[:, None], lon[:, None], plat[None, :], plon[None, :])
    at_parking = (distance <= city.parkings["radius_m"].to_numpy()[None, :]).any(axis=1)
    assert kpis.outside_parking == int((~at_parking).sum()) > 0
    area = shape(json.loads(city.service_area))
    outside = sum(not area.covers(shapely.Point(x, y)) for x, y in zip(lon, lat, strict=True))
    assert kpis.outside_service_area == outside > 0
    assert kpis.usable_vehicles is not None and kpis.usable_vehicles < kpis.fleet_size

    occupancy = parking_occupancy(vehicles, city.parkings, timezone=tz)
    assert occupancy.height == city.parkings.height
    assert occupancy["mean_vehicles"].sum() == int(at_parking.sum())
    assert np.isfinite(occupancy["fill"].to_numpy()).all()
