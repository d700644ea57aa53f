"""Availability: time-weighted empty/full history against a plain-Python reference, and the
deficit report (expected demand, usable vehicles, docks, ranking, parameters)."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fleetcast.analytics.availability import (
    PLACES,
    DeficitParams,
    availability_history,
    deficits,
    expected_demand,
    expected_shortage,
)
from fleetcast.analytics.kpis import local_midnight
from fleetcast.errors import SchemaError
from shared_data import shared_file

FAST = settings(max_examples=60, deadline=None)
LA = "America/Los_Angeles"
FALL_BACK_LA = datetime(2023, 11, 5, 9, tzinfo=UTC)
"""Clocks in Los Angeles go back from 02:00 PDT to 01:00 PST at this instant."""

Snap = tuple[str, datetime, int | None, int | None, bool]
"""(station_id, observed_at UTC, bikes_available, docks_available, is_installed)."""
Buckets = dict[tuple[str, int, int], list[float]]


def snapshot_frame(snaps: Sequence[Snap]) -> pl.DataFrame:
    """A STATION_STATUS-like frame from (station, time, bikes, docks, installed) tuples."""
    return pl.DataFrame(
        {
            "station_id": [s[0] for s in snaps],
            "observed_at": [s[1] for s in snaps],
            "bikes_available": [s[2] for s in snaps],
            "docks_available": [s[3] for s in snaps],
            "is_installed": [s[4] for s in snaps],
        },
        schema={
            "station_id": pl.String,
            "observed_at": pl.Datetime("us", "UTC"),
            "bikes_available": pl.Int32,
            "docks_available": pl.Int32,
            "is_installed": pl.Boolean,
        },
    )


def reference_history(snaps: Sequence[Snap], timezone: str, max_gap: timedelta) -> Buckets:
    """Loops and zoneinfo: seconds observed, empty, full per (station, ISO weekday, hour).

    Each snapshot holds until the station's next one (capped at max_gap); the time is
    walked from local hour boundary to local hour boundary.
    """
    zone = ZoneInfo(timezone)
    per_station: dict[str, list[Snap]] = defaultdict(list)
    for snap in snaps:
        per_station[snap[0]].append(snap)
    out: Buckets = defaultdict(lambda: [0.0, 0.0, 0.0])
    for station, rows in per_station.items():
        rows.sort(
            key=lambda r: (r[1], -1 if r[2] is None else r[2], -1 if r[3] is None else r[3], r[4])
        )
        for here, after in pairwise(rows):
            _, start, bikes, docks, installed = here
            if not installed or bikes is None:
                continue
            end = min(after[1], start + max_gap)
            moment = start
            while moment < end:
                local = moment.astimezone(zone)
                floor = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
                stop = min(end, floor + timedelta(hours=1))
                seconds = (stop - moment).total_seconds()
                acc = out[(station, local.isoweekday(), local.hour)]
                acc[0] += seconds
                acc[1] += seconds if bikes <= 0 else 0.0
                acc[2] += seconds if docks is not None and docks <= 0 and bikes > 0 else 0.0
                moment = stop
    return dict(out)


def as_buckets(frame: pl.DataFrame) -> Buckets:
    """The history's station frame as the reference's dict."""
    return {
        (r["station_id"], r["weekday"], r["hour"]): [r["observed_s"], r["empty_s"], r["full_s"]]
        for r in frame.iter_rows(named=True)
    }


def assert_same(got: Buckets, want: Buckets) -> None:
    """Same buckets, same seconds to the microsecond."""
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key] == pytest.approx(values, abs=1e-6), key


def at(hh: int, mm: int = 0, day: int = 12) -> datetime:
    """A UTC instant on July ``day`` 2023 given as Los Angeles local time (PDT, UTC-7)."""
    return datetime(2023, 7, day, hh, mm, tzinfo=ZoneInfo(LA)).astimezone(UTC)


def test_history_hand_made_case() -> None:
    """Shares by hand: empty 08:30-09:15, stocked 09:15-12:00 with the 2 h cap ending at
    11:15 (the outage after is unobserved), empty 12:00-12:30, full 12:30-13:00."""
    snaps = [
        ("A", at(8, 30), 0, 10, True),
        ("A", at(9, 15), 4, 6, True),
        ("A", at(12, 0), 0, 10, True),
        ("A", at(12, 30), 10, 0, True),
        ("A", at(13, 0), 3, 7, True),
    ]
    result = availability_history(snapshot_frame(snaps), timezone=LA, by=("hour",))
    rows = {r["hour"]: r for r in result.stations.iter_rows(named=True)}
    assert sorted(rows) == [8, 9, 10, 11, 12]
    assert rows[8]["observed_s"] == 1800 and rows[8]["share_empty"] == 1.0
    assert rows[9]["observed_s"] == 3600 and rows[9]["share_empty"] == pytest.approx(0.25)
    assert rows[10]["share_empty"] == 0.0 and rows[10]["observed_s"] == 3600
    assert rows[11]["observed_s"] == 900
    assert rows[12]["share_empty"] == pytest.approx(0.5)
    assert rows[12]["share_full"] == pytest.approx(0.5)
    assert result.zones is None


def test_history_weekday_and_day_part_keys() -> None:
    """A snapshot held across midnight splits between the two local days' weekdays and
    between night and the previous day part; weekends are day_type 'weekend'."""
    friday_late = datetime(2023, 7, 14, 23, 30, tzinfo=ZoneInfo(LA)).astimezone(UTC)
    snaps = [
        ("A", friday_late, 0, 5, True),
        ("A", friday_late + timedelta(hours=1), 2, 3, True),
    ]
    by_day = availability_history(snapshot_frame(snaps), timezone=LA, by=("weekday",))
    assert by_day.stations.select("weekday", "observed_s").rows() == [(5, 1800.0), (6, 1800.0)]
    kinds = availability_history(
        snapshot_frame(snaps), timezone=LA, by=("day_type", "day_part", "date")
    ).stations
    assert kinds.select(pl.col("day_type").cast(pl.String), "date").rows() == [
        ("weekday", date(2023, 7, 14)),
        ("weekend", date(2023, 7, 15)),
    ]
    assert kinds["day_part"].cast(pl.String).to_list() == ["night", "night"]


def test_history_across_fall_back_counts_the_repeated_hour_twice() -> None:
    """On the night clocks go back, local hour 1 lasts two real hours: both are counted."""
    start = FALL_BACK_LA - timedelta(hours=1)
    snaps = [("A", start + timedelta(hours=h), 0, 5, True) for h in range(3)]
    result = availability_history(snapshot_frame(snaps), timezone=LA, by=("hour",))
    assert result.stations.select("hour", "observed_s").rows() == [(1, 7200.0)]


def test_history_skips_uninstalled_and_unknown_snapshots() -> None:
    """Time after an uninstalled or bike-less (null) snapshot is not observed, but those
    snapshots still end the interval before them."""
    snaps = [
        ("A", at(8), 0, 5, True),
        ("A", at(8, 20), 3, 2, False),
        ("A", at(8, 40), None, 2, True),
        ("A", at(9), 1, 4, True),
    ]
    result = availability_history(snapshot_frame(snaps), timezone=LA, by=("hour",))
    assert result.stations.select("hour", "observed_s", "empty_s").rows() == [(8, 1200.0, 1200.0)]


def test_history_docks_from_capacity_and_zones() -> None:
    """Without docks_available, free docks come from capacity; zones pool station-time."""
    snaps = snapshot_frame(
        [
            ("A", at(8), 10, None, True),
            ("A", at(9), 10, None, True),
            ("B", at(8), 0, None, True),
            ("B", at(8, 30), 5, None, True),
        ]
    ).drop("docks_available")
    stations = pl.DataFrame({"station_id": ["A", "B"], "zone_id": ["z", "z"], "capacity": [10, 8]})
    result = availability_history(snaps, timezone=LA, stations=stations, by=("hour",))
    assert result.stations.select("station_id", "share_empty", "share_full").rows() == [
        ("A", 0.0, 1.0),
        ("B", 1.0, 0.0),
    ]
    assert result.zones is not None
    zone = result.zones.row(0, named=True)
    assert zone["stations"] == 2 and zone["observed_s"] == 5400.0
    assert zone["share_empty"] == pytest.approx(1800 / 5400)
    assert zone["share_full"] == pytest.approx(3600 / 5400)


def test_history_rejects_bad_input() -> None:
    """Missing columns are a SchemaError; unknown keys and a non-positive gap a ValueError."""
    snaps = snapshot_frame([("A", at(8), 1, 1, True)])
    with pytest.raises(SchemaError, match="bikes_available"):
        availability_history(snaps.drop("bikes_available"), timezone=LA)
    with pytest.raises(SchemaError, match="capacity"):
        availability_history(snaps.drop("docks_available"), timezone=LA)
    with pytest.raises(ValueError, match="by="):
        availability_history(snaps, timezone=LA, by=("month",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_gap"):
        availability_history(snaps, timezone=LA, max_gap=timedelta(0))
    with pytest.raises(SchemaError, match="timezone"):
        availability_history(snaps, timezone="Mars/Olympus")


@st.composite
def snapshot_sets(draw: st.DrawFn) -> tuple[list[Snap], str, timedelta]:
    """Up to 40 snapshots of 1-3 stations over two days around a DST change, some at the
    same instant, with gaps beyond the cap; a timezone with whole or half-hour offsets."""
    timezone = draw(st.sampled_from([LA, "Asia/Kolkata", "Australia/Adelaide", "UTC"]))
    base = FALL_BACK_LA - timedelta(hours=draw(st.integers(0, 30)))
    seconds = st.integers(0, 2 * 24 * 3600).map(lambda s: base + timedelta(seconds=s))
    snap = st.tuples(
        st.sampled_from(["A", "B", "C"]),
        seconds,
        st.one_of(st.none(), st.integers(0, 6)),
        st.integers(0, 6),
        st.sampled_from([True, True, True, False]),
    )
    snaps: list[Snap] = draw(st.lists(snap, max_size=40))
    gap = timedelta(minutes=draw(st.sampled_from([30, 90, 120, 600])))
    return snaps, timezone, gap


@FAST
@given(snapshot_sets(), st.booleans())
def test_history_matches_reference(case: tuple[list[Snap], str, timedelta], lazy: bool) -> None:
    """Polars and the plain-Python walk agree on every (station, weekday, hour) bucket."""
    snaps, timezone, gap = case
    frame = snapshot_frame(snaps)
    result = availability_history(
        frame.lazy() if lazy else frame, timezone=timezone, max_gap=gap
    ).stations
    assert_same(as_buckets(result), reference_history(snaps, timezone, gap))


@FAST
@given(snapshot_sets(), st.randoms(use_true_random=False))
def test_history_properties(case: tuple[list[Snap], str, timedelta], rnd: random.Random) -> None:
    """Shares lie in [0, 1], empty + full <= 1, and shuffling the rows changes nothing."""
    snaps, timezone, gap = case
    result = availability_history(snapshot_frame(snaps), timezone=timezone, max_gap=gap).stations
    shares = result.select("share_empty", "share_full").to_numpy()
    assert ((shares >= 0) & (shares <= 1)).all()
    assert (result["share_empty"] + result["share_full"] <= 1 + 1e-12).all()
    shuffled = list(snaps)
    rnd.shuffle(shuffled)
    again = availability_history(snapshot_frame(shuffled), timezone=timezone, max_gap=gap)
    assert_frame_equal(again.stations, result, check_exact=False, abs_tol=1e-6)


@FAST
@given(st.lists(st.integers(1, 3 * 3600), min_size=1, max_size=30), st.integers(0, 23))
def test_history_always_empty_station(gaps: list[int], hour: int) -> None:
    """A station that never has a bike is empty 100% of every bucket it was observed in."""
    moment = at(hour)
    snaps = [("A", moment, 0, 4, True)]
    for gap in gaps:
        moment += timedelta(seconds=gap)
        snaps.append(("A", moment, 0, 4, True))
    result = availability_history(snapshot_frame(snaps), timezone=LA).stations
    assert result.height > 0
    assert (result["share_empty"] == 1.0).all() and (result["share_full"] == 0.0).all()


def bay_wheels_slice(stations: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first ``stations`` stations' real hourly snapshots and their capacity/region."""
    csv = shared_file("bikeshare", "baywheels_station_status_hourly_2023-07-12_2023-07-19.csv")
    info = shared_file("gbfs", "baywheels_sf", "station_information.json")
    raw = pl.read_csv(csv)
    keep = raw["station_id"].unique().sort().head(stations)
    snaps = raw.filter(pl.col("station_id").is_in(keep.implode())).select(
        "station_id",
        pl.col("snapshot_time_utc").str.to_datetime(time_zone="UTC").alias("observed_at"),
        pl.col("num_bikes_available").alias("bikes_available"),
        pl.col("num_bikes_disabled").alias("bikes_disabled"),
        pl.col("num_docks_available").alias("docks_available"),
        pl.col("num_docks_disabled").alias("docks_disabled"),
        (pl.col("is_installed") == 1).alias("is_installed"),
    )
    doc = json.loads(info.read_text(encoding="utf-8"))["data"]["stations"]
    capacity = pl.DataFrame(
        [
            {
                "station_id": s["station_id"],
                "capacity": s["capacity"],
                "zone_id": s.get("region_id"),
            }
            for s in doc
        ]
    )
    return snaps, capacity


@pytest.mark.parametrize("docks_from_capacity", [False, True])
def test_history_on_real_bay_wheels_slice(docks_from_capacity: bool) -> None:
    """On 60 real Bay Wheels stations over a week of hourly snapshots, Polars matches the
    plain-Python walk; with docks_available dropped, docks come from the feed's capacity."""
    snaps, stations = bay_wheels_slice(60)
    gap = timedelta(hours=2)
    if docks_from_capacity:
        snaps = snaps.join(stations.select("station_id", "capacity"), on="station_id").with_columns(
            docks_available=pl.col("capacity")
            - pl.col("bikes_available")
            - pl.col("bikes_disabled")
            - pl.col("docks_disabled")
        )
    tuples: list[Snap] = list(
        snaps.select(
            "station_id", "observed_at", "bikes_available", "docks_available", "is_installed"
        ).iter_rows()
    )
    given_frame = snaps.drop("docks_available", "capacity") if docks_from_capacity else snaps
    result = availability_history(given_frame, timezone=LA, stations=stations, max_gap=gap)
    assert_same(as_buckets(result.stations), reference_history(tuples, LA, gap))
    assert result.stations["observed_s"].sum() > 60 * 100 * 3600
    assert result.zones is not None and result.zones["stations"].sum() > 0


def test_expected_shortage_matches_poisson_sum() -> None:
    """E[max(D - a, 0)] equals the direct sum over Poisson probabilities, and is the mean
    at zero stock, never below mean - stock, and falls as stock grows."""

    def direct(lam: float, a: int) -> float:
        total, p = 0.0, math.exp(-lam)
        for k in range(1, 300):
            p *= lam / k
            total += max(k - a, 0) * p
        return total

    for lam in (0.0, 0.3, 2.5, 9.0, 40.0):
        got = expected_shortage([lam] * 30, list(range(30)))
        want = [direct(lam, a) for a in range(30)]
        assert got.tolist() == pytest.approx(want, abs=1e-9)
        assert got[0] == pytest.approx(lam)
        assert all(g >= max(lam - a, 0) - 1e-12 for a, g in enumerate(got))
        assert all(x >= y - 1e-12 for x, y in pairwise(got))
    assert expected_shortage([3000.0], [10]).tolist() == pytest.approx([2990.0])


NOON = datetime(2024, 6, 12, 12, tzinfo=ZoneInfo(LA)).astimezone(UTC)
TODAY = date(2024, 6, 12)


def forecast(means: dict[str, float], day: date = TODAY, horizon: int = 1) -> pl.DataFrame:
    """Forecast rows (zone_id, target_date, horizon, mean, q50, q90) for one day."""
    zones = sorted(means)
    return pl.DataFrame(
        {
            "zone_id": zones,
            "target_date": [day] * len(zones),
            "horizon": [horizon] * len(zones),
            "mean": [means[z] for z in zones],
            "q50": [means[z] for z in zones],
            "q90": [2 * means[z] for z in zones],
        }
    )


def reference_expected(
    means: dict[tuple[str, date], float],
    profile: dict[tuple[str, int], float] | None,
    start: datetime,
    end: datetime,
    timezone: str,
    prior: float,
) -> dict[str, float]:
    """Minute by minute: each minute adds mean(day) x share(zone, hour) / 60."""
    zone = ZoneInfo(timezone)
    zones = sorted({z for z, _ in means})
    system = [0.0] * 24
    for (_, h), n in (profile or {}).items():
        system[h] += n
    total = sum(system)
    system = [s / total if total else 1 / 24 for s in system]

    def share(z: str, h: int) -> float:
        if profile is None:
            return 1 / 24
        n_z = sum(n for (zz, _), n in profile.items() if zz == z)
        if n_z + prior == 0:
            return system[h]
        return (profile.get((z, h), 0.0) + prior * system[h]) / (n_z + prior)

    out: dict[str, float] = defaultdict(float)
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        for z in zones:
            if (z, local.date()) in means:
                out[z] += means[(z, local.date())] * share(z, local.hour) / 60
        moment += timedelta(minutes=1)
    return dict(out)


@FAST
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["z1", "z2", "z3"]), st.integers(0, 23)),
        st.integers(0, 50).map(float),
        max_size=20,
    ),
    st.booleans(),
    st.integers(0, 47 * 60),
    st.integers(1, 30 * 60),
    st.sampled_from([0.0, 10.0]),
)
def test_expected_demand_matches_reference(
    profile: dict[tuple[str, int], float], use_profile: bool, offset: int, length: int, prior: float
) -> None:
    """Window weights x hourly shares x daily means, against a minute-by-minute walk over
    two days of forecasts (a window may cross midnight or run past the last forecast)."""
    means = {("z1", TODAY): 24.0, ("z2", TODAY): 10.0, ("z1", TODAY + timedelta(days=1)): 48.0}
    forecasts = pl.DataFrame(
        {
            "zone_id": [z for z, _ in means],
            "target_date": [d for _, d in means],
            "mean": list(means.values()),
        }
    )
    midnight = datetime(2024, 6, 12, tzinfo=ZoneInfo(LA)).astimezone(UTC)
    start = midnight + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    hourly = (
        pl.DataFrame(
            {
                "zone_id": [z for z, _ in profile],
                "hour": [h for _, h in profile],
                "trips": list(profile.values()),
            },
            schema={"zone_id": pl.String, "hour": pl.Int64, "trips": pl.Float64},
        )
        if use_profile
        else None
    )
    got = expected_demand(
        forecasts,
        start=start,
        end=end,
        timezone=LA,
        hourly_profile=hourly,
        profile_prior_trips=prior,
    )
    want = reference_expected(means, profile if use_profile else None, start, end, LA, prior)
    got_map = dict(got.iter_rows())
    assert set(got_map) <= set(want)
    for z, value in want.items():
        assert got_map.get(z, 0.0) == pytest.approx(value, abs=1e-9)


def vehicle(
    vid: str,
    zone: str | None,
    *,
    battery: float | None = 80.0,
    reserved: bool = False,
    disabled: bool = False,
    lat: float = 37.77,
    lon: float = -122.42,
) -> dict[str, object]:
    """One vehicle-status row."""
    return {
        "vehicle_id": vid,
        "lat": lat,
        "lon": lon,
        "zone_id": zone,
        "battery_pct": battery,
        "is_reserved": reserved,
        "is_disabled": disabled,
    }


def fleet(*rows: dict[str, object]) -> pl.DataFrame:
    """A vehicle-status frame from rows."""
    return pl.DataFrame(
        list(rows),
        schema={
            "vehicle_id": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "zone_id": pl.String,
            "battery_pct": pl.Float64,
            "is_reserved": pl.Boolean,
            "is_disabled": pl.Boolean,
        },
    )


def stocked(zone: str, n: int) -> list[dict[str, object]]:
    """``n`` usable vehicles in ``zone``."""
    return [vehicle(f"{zone}-{i}", zone) for i in range(n)]


def test_deficits_rank_by_rides_at_risk() -> None:
    """Empty 'a' (12 expected) ranks before 'b' (12 expected, 6 there) and 'c' (3 vs 0);
    'd' has more than it needs and is a surplus; the report has the PLACES schema."""
    # 24 h of demand over the 12 h left of the day: half of each daily mean
    means = {"a": 24.0, "b": 24.0, "c": 6.0, "d": 4.0}
    vehicles = fleet(*stocked("b", 6), *stocked("d", 9))
    zones = pl.DataFrame({"zone_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"]})
    report = deficits(forecast(means), now=NOON, timezone=LA, vehicles=vehicles, zones=zones)
    assert report.places.schema == pl.Schema(PLACES)
    needs = report.needs()
    assert needs["place_id"].to_list() == ["a", "b", "c"]
    assert needs["priority"].to_list() == [1, 2, 3]
    assert needs["suggested_add"].to_list() == [12, 6, 3]
    assert needs["expected_demand"].to_list() == pytest.approx([12.0, 12.0, 3.0])
    assert needs["score"].to_list() == pytest.approx(
        expected_shortage([12.0, 12.0, 3.0], [0, 6, 0]).tolist()
    )
    surplus = report.surplus()
    assert surplus.select("place_id", "gap", "suggested_add").rows() == [("d", -7.0, -7)]
    assert report.places["name"].to_list() == ["A", "B", "C", "D"]
    assert report.window_end == datetime(2024, 6, 13, tzinfo=ZoneInfo(LA)).astimezone(UTC)


def test_fully_stocked_zone_has_no_deficit() -> None:
    """A zone holding at least its expected demand needs nothing (balanced or surplus)."""
    report = deficits(
        forecast({"a": 20.0}),
        now=NOON,
        timezone=LA,
        vehicles=fleet(*stocked("a", 10)),
    )
    row = report.places.row(0, named=True)
    assert row["gap"] == pytest.approx(0.0)
    assert row["need"] == "balanced" and row["priority"] is None and row["suggested_add"] == 0
    assert report.needs().is_empty()


def test_unusable_vehicles_are_not_counted() -> None:
    """Reserved, disabled and low-battery (under the threshold) vehicles are not
    available; a vehicle without a battery reading is."""
    vehicles = fleet(
        vehicle("ok", "a"),
        vehicle("no-battery-reading", "a", battery=None),
        vehicle("reserved", "a", reserved=True),
        vehicle("disabled", "a", disabled=True),
        vehicle("low", "a", battery=9.0),
        vehicle("under-threshold", "a", battery=19.9),
        vehicle("nowhere", None),
    )
    report = deficits(forecast({"a": 20.0}), now=NOON, timezone=LA, vehicles=vehicles)
    row = report.places.row(0, named=True)
    assert (row["available"], row["not_usable"]) == (2, 4)
    assert row["suggested_add"] == 8
    stricter = deficits(
        forecast({"a": 20.0}),
        now=NOON,
        timezone=LA,
        vehicles=vehicles,
        params=DeficitParams(min_battery_pct=5.0),
    )
    assert stricter.places["available"].to_list() == [4]


def test_vehicles_without_zone_are_located_by_zone_polygons() -> None:
    """A vehicle with no zone_id is placed by the zones' polygons."""
    square = {
        "type": "Polygon",
        "coordinates": [
            [[-122.5, 37.7], [-122.4, 37.7], [-122.4, 37.8], [-122.5, 37.8], [-122.5, 37.7]]
        ],
    }
    zones = pl.DataFrame({"zone_id": ["a"], "name": ["A"], "geometry": [json.dumps(square)]})
    vehicles = fleet(
        vehicle("v1", None, lat=37.75, lon=-122.45), vehicle("v2", None, lat=0.0, lon=0.0)
    )
    report = deficits(forecast({"a": 20.0}), now=NOON, timezone=LA, vehicles=vehicles, zones=zones)
    assert report.places["available"].to_list() == [1]


def test_station_deficits_vehicles_docks_and_caps() -> None:
    """Zone demand splits by capacity; an empty station needs bikes (no more than its free
    docks), a full one needs docks freed, a closed one (not renting) counts no bikes."""
    stations = pl.DataFrame(
        {
            "station_id": ["empty", "full", "closed", "small"],
            "name": ["E", "F", "C", "S"],
            "lat": [37.7] * 4,
            "lon": [-122.4] * 4,
            "capacity": [20, 20, 20, 4],
            "zone_id": ["z"] * 4,
        }
    )
    status = pl.DataFrame(
        {
            "station_id": ["empty", "full", "closed", "small"],
            "bikes_available": [0, 20, 8, 0],
            "docks_available": [20, 0, 12, 4],
            "is_installed": [True] * 4,
            "is_renting": [True, True, False, True],
            "is_returning": [True] * 4,
        }
    )
    # 128 a day, half still to come: 64 spread over capacity 64 -> 20, 20, 20, 4
    report = deficits(
        forecast({"z": 128.0}),
        now=NOON,
        timezone=LA,
        stations=stations,
        station_status=status,
        params=DeficitParams(free_dock_share=0.25),
    )
    rows = {r["place_id"]: r for r in report.places.iter_rows(named=True)}
    assert rows["empty"]["expected_demand"] == pytest.approx(20.0)
    assert rows["empty"]["need"] == "vehicles" and rows["empty"]["suggested_add"] == 20
    assert rows["small"]["suggested_add"] == 4
    assert rows["closed"]["available"] == 0 and rows["closed"]["not_usable"] == 8
    assert rows["closed"]["suggested_add"] == 12
    assert rows["full"]["dock_gap"] == 5 and rows["full"]["need"] == "balanced"
    calm = deficits(
        forecast({"z": 12.8}),
        now=NOON,
        timezone=LA,
        stations=stations,
        station_status=status,
        params=DeficitParams(free_dock_share=0.25),
    )
    full = calm.places.filter(pl.col("place_id") == "full").row(0, named=True)
    assert full["need"] == "docks" and full["suggested_add"] == -18
    assert full["score"] == pytest.approx(expected_shortage([2.0], [0])[0])
    assert full["priority"] is not None


def test_deficits_window_and_forecast_choice() -> None:
    """horizon_hours limits the window; the shortest horizon wins; q90 can be the demand;
    a window without forecasts is an error that says so."""
    two = pl.concat([forecast({"a": 48.0}, horizon=2), forecast({"a": 24.0}, horizon=1)])
    three_hours = DeficitParams(horizon_hours=3)
    report = deficits(two, now=NOON, timezone=LA, vehicles=fleet(), params=three_hours)
    assert report.places["expected_demand"].to_list() == pytest.approx([3.0])
    q90 = DeficitParams(horizon_hours=3, demand_column="q90")
    report = deficits(forecast({"a": 24.0}), now=NOON, timezone=LA, vehicles=fleet(), params=q90)
    assert report.places["expected_demand"].to_list() == pytest.approx([6.0])
    with pytest.raises(ValueError, match="no forecast covers"):
        deficits(
            forecast({"a": 1.0}, day=date(2024, 1, 1)), now=NOON, timezone=LA, vehicles=fleet()
        )
    with pytest.raises(ValueError, match="give vehicles"):
        deficits(forecast({"a": 1.0}), now=NOON, timezone=LA)
    with pytest.raises(ValueError, match="timezone-aware"):
        deficits(forecast({"a": 1.0}), now=datetime(2024, 6, 12, 12), timezone=LA, vehicles=fleet())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("horizon_hours", 0),
        ("horizon_hours", 100),
        ("demand_column", "median"),
        ("min_battery_pct", -1.0),
        ("free_dock_share", 1.0),
        ("min_move", 0),
        ("min_move", 1.5),
        ("profile_prior_trips", -3.0),
    ],
)
def test_deficit_params_name_the_bad_field(field: str, value: object) -> None:
    """Each nonsense setting raises a ValueError that names its field."""
    with pytest.raises(ValueError, match=field):
        DeficitParams(**{field: value})  # type: ignore[arg-type]


def test_deficit_params_from_mapping() -> None:
    """A TOML table becomes params; an unknown key is named in the error."""
    assert DeficitParams.from_mapping({"min_move": 2}).min_move == 2
    with pytest.raises(ValueError, match="horizon"):
        DeficitParams.from_mapping({"horizon": 3})


@pytest.mark.parametrize("day", [date(2025, 10, 26), date(2025, 3, 30)])
def test_a_whole_day_expects_its_forecast_when_clocks_change(day: date) -> None:
    """On the 25-hour and the 23-hour day of Europe/Paris, the whole day's expected demand
    is the day's forecast, with even shares and with a profile."""
    forecasts = pl.DataFrame(
        {"zone_id": ["a"], "target_date": [day], "horizon": [1], "mean": [24.0]}
    )
    start = local_midnight(day, "Europe/Paris")
    end = local_midnight(day + timedelta(days=1), "Europe/Paris")
    profile = pl.DataFrame(
        {"zone_id": ["a"] * 24, "hour": list(range(24)), "trips": [h + 1 for h in range(24)]}
    )
    for hourly in (None, profile):
        got = expected_demand(
            forecasts, start=start, end=end, timezone="Europe/Paris", hourly_profile=hourly
        )
        assert got["expected_demand"].to_list() == pytest.approx([24.0])
