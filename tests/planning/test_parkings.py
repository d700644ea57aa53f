"""Parking suggestions on a tiny hand-made town (one far hotspot, one hotspot at a parking,
scattered noise), on the demo city (whose generator plants hotspots without a parking),
and the checks of their parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl
import pytest

from fleetcast import domain
from fleetcast.errors import SchemaError
from fleetcast.geo import haversine_m
from fleetcast.planning.parkings import (
    SUGGESTIONS,
    ParkingSuggestionParams,
    suggest_parkings,
)
from fleetcast.sources.synthetic import DEFAULT_END, DemoParams, generate_city
from fleetcast.sources.synthetic.demand import _zone_activity, _zone_day_counts
from fleetcast.sources.synthetic.geography import _build_layout
from fleetcast.sources.synthetic.period import _build_calendar
from fleetcast.sources.synthetic.sites import _build_parkings
from fleetcast.sources.synthetic.weather import _simulate_weather

Method = Literal["h3", "meanshift"]
METHODS: tuple[Method, ...] = ("h3", "meanshift")
LAT0, LON0 = 41.88, -87.63
M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON = M_PER_DEG_LAT * np.cos(np.radians(LAT0))
FAR = (LAT0 + 300 / M_PER_DEG_LAT, LON0 + 900 / M_PER_DEG_LON)
"""The far hotspot: about 950 m north-east of the parking."""
NEAR = (LAT0 + 80 / M_PER_DEG_LAT, LON0)
"""A hotspot 80 m from the parking: its demand is already served."""
DAYS = 10
NO_PARKINGS = {"parking_id": pl.String, "lat": pl.Float64, "lon": pl.Float64}


def _around(
    centre: tuple[float, float], n: int, sigma_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    lat = centre[0] + rng.normal(0, sigma_m, n) / M_PER_DEG_LAT
    lon = centre[1] + rng.normal(0, sigma_m, n) / M_PER_DEG_LON
    return lat, lon


def _trips(
    starts: tuple[np.ndarray, ...], ends: tuple[np.ndarray, ...], **extra: Any
) -> pl.DataFrame:
    """Trips in the store's schema, one a day in turn over DAYS days."""
    n = len(starts[0])
    first = datetime(2024, 6, 1, 8, tzinfo=UTC)
    started = [first + timedelta(days=i % DAYS, minutes=i) for i in range(n)]
    frame = pl.DataFrame(
        {
            "trip_id": [f"T{i}" for i in range(n)],
            "started_at": started,
            "ended_at": [t + timedelta(minutes=10) for t in started],
            "start_lat": starts[0],
            "start_lon": starts[1],
            "end_lat": ends[0],
            "end_lon": ends[1],
            "date": [t.date() for t in started],
            **extra,
        }
    )
    return domain.conform(frame, domain.TRIPS)


def _town() -> tuple[pl.DataFrame, pl.DataFrame]:
    """One parking; 80 trips end at the far hotspot, 150 at the near one, 60 anywhere in a
    3 km square (starts are all noise)."""
    rng = np.random.default_rng(1)
    far = _around(FAR, 80, 25.0, rng)
    near = _around(NEAR, 150, 20.0, rng)
    noise = (
        LAT0 + rng.uniform(-1500, 1500, 60) / M_PER_DEG_LAT,
        LON0 + rng.uniform(-1500, 1500, 60) / M_PER_DEG_LON,
    )
    ends = (
        np.concatenate([far[0], near[0], noise[0]]),
        np.concatenate([far[1], near[1], noise[1]]),
    )
    n = len(ends[0])
    starts = (
        LAT0 + rng.uniform(-1500, 1500, n) / M_PER_DEG_LAT,
        LON0 + rng.uniform(-1500, 1500, n) / M_PER_DEG_LON,
    )
    parkings = pl.DataFrame(
        {"parking_id": ["P1"], "zone_id": ["Z1"], "lat": [LAT0], "lon": [LON0], "radius_m": [30.0]}
    )
    return _trips(starts, ends), parkings


def _distance(frame: pl.DataFrame, point: tuple[float, float]) -> np.ndarray:
    return haversine_m(frame["lat"].to_numpy(), frame["lon"].to_numpy(), point[0], point[1])


@pytest.mark.parametrize("method", METHODS)
def test_far_hotspot_first_near_hotspot_never(method: Method) -> None:
    """Both methods put the hotspot far from the parking first, with its 80 trip ends over
    10 days, and suggest nothing near the parking (that demand is served)."""
    trips, parkings = _town()
    found = suggest_parkings(
        trips, parkings, params=ParkingSuggestionParams(method=method, min_trips_per_day=1.0)
    )
    assert found.schema == pl.Schema(SUGGESTIONS)
    assert found["rank"].to_list() == list(range(1, len(found) + 1))
    assert _distance(found, FAR)[0] < 30.0
    best = found.row(0, named=True)
    assert 7.5 <= best["trips_per_day"] <= 9.0  # 80 ends (+ a stray noise point) / 10 days
    assert best["ends_per_day"] >= 7.5
    assert best["nearest_parking_id"] == "P1"
    assert best["distance_to_parking_m"] == pytest.approx(950, abs=40)
    assert (found["distance_to_parking_m"] >= 200.0).all()
    assert (_distance(found, NEAR) > 200.0).all()
    assert found["trips_per_day"].is_sorted(descending=True)


@pytest.mark.parametrize("method", METHODS)
def test_rates_count_each_kind_over_the_period(method: Method) -> None:
    """A tight cluster of 30 trips that start and end in it: ``both`` counts 60 points,
    ``ends`` and ``starts`` 30 with the other kind null; ``days`` scales the rates, and
    ``zone_id`` is the most common zone of the points."""
    rng = np.random.default_rng(2)
    points = _around(FAR, 30, 8.0, rng)
    zones = ["Z9"] * 20 + ["Z8"] * 10
    trips = _trips(points, points, start_zone=zones, end_zone=zones)
    no_parkings = pl.DataFrame(schema=NO_PARKINGS)
    params = ParkingSuggestionParams(method=method, min_trips_per_day=0.5)

    both = suggest_parkings(trips, no_parkings, params=params).row(0, named=True)
    assert (both["trips_per_day"], both["starts_per_day"], both["ends_per_day"]) == (6.0, 3.0, 3.0)
    assert both["zone_id"] == "Z9"
    assert both["nearest_parking_id"] is None and both["distance_to_parking_m"] is None

    ends = suggest_parkings(trips, no_parkings, params=_with(params, use="ends"), days=30)
    row = ends.row(0, named=True)
    assert (row["trips_per_day"], row["starts_per_day"], row["ends_per_day"]) == (1.0, None, 1.0)

    starts = suggest_parkings(trips, no_parkings, params=_with(params, use="starts"), days=60)
    assert starts["trips_per_day"].to_list() == [0.5]  # the threshold itself passes
    assert starts["ends_per_day"].to_list() == [None]
    below = suggest_parkings(trips, no_parkings, params=_with(params, use="starts"), days=61)
    assert below.is_empty()


def _with(params: ParkingSuggestionParams, **changes: Any) -> ParkingSuggestionParams:
    values = {name: getattr(params, name) for name in params.__dataclass_fields__}
    return ParkingSuggestionParams(**{**values, **changes})


def test_suggestion_ids_are_stable_and_say_where() -> None:
    """The same input gives the same ids; H3 ids name the centre cell, mean-shift ids the
    rounded centroid."""
    trips, parkings = _town()
    h3_params = ParkingSuggestionParams(method="h3", min_trips_per_day=1.0)
    first = suggest_parkings(trips, parkings, params=h3_params)
    again = suggest_parkings(trips.reverse(), parkings, params=h3_params)
    assert first["suggestion_id"].to_list() == again["suggestion_id"].to_list()
    assert np.allclose(first["lat"].to_numpy(), again["lat"].to_numpy(), rtol=0, atol=1e-9)
    assert first["suggestion_id"][0] == f"h3:{first['cell'][0]}"
    ms = suggest_parkings(trips, parkings, params=_with(h3_params, method="meanshift"))
    row = ms.row(0, named=True)
    assert row["suggestion_id"] == f"ms:{row['lat']:.4f},{row['lon']:.4f}"
    assert row["cell"] is None


def test_meanshift_sample_still_counts_every_point() -> None:
    """Above ``max_points`` mean shift is fitted on a sample, yet every point is given to
        its nearest centre, so the far hotspot's demand is the same as without sampling (up to
    a stray noise point near the edge: the sampled centre moves by a few metres)."""
    trips, parkings = _town()
    params = ParkingSuggestionParams(method="meanshift", min_trips_per_day=1.0)
    full = suggest_parkings(trips, parkings, params=params).row(0, named=True)
    sampled = suggest_parkings(trips, parkings, params=_with(params, max_points=200))
    assert sampled["trips_per_day"][0] == pytest.approx(full["trips_per_day"], abs=0.25)
    assert _distance(sampled, FAR)[0] < 30.0


def test_days_default_to_the_span_of_the_trip_dates() -> None:
    """Without ``days`` the period runs from the first to the last trip day (gaps count)."""
    rng = np.random.default_rng(3)
    points = _around(FAR, 20, 8.0, rng)
    trips = _trips(points, points).with_columns(
        date=pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(date(2024, 5, 13)))  # 20 days before the last trip day (June 1 + 9)
        .otherwise(pl.col("date"))
    )
    no_parkings = pl.DataFrame(schema=NO_PARKINGS)
    found = suggest_parkings(
        trips, no_parkings, params=ParkingSuggestionParams(use="ends", min_trips_per_day=0.0)
    )
    assert found["trips_per_day"][0] == pytest.approx(20 / 29)


@pytest.mark.parametrize("method", METHODS)
def test_empty_inputs_give_the_empty_schema(method: Method) -> None:
    """No trips, or only trips at a parking, give an empty frame with every column."""
    params = ParkingSuggestionParams(method=method)
    _, parkings = _town()
    empty = suggest_parkings(pl.DataFrame(schema=domain.TRIPS), parkings, params=params)
    assert empty.is_empty() and empty.schema == pl.Schema(SUGGESTIONS)
    rng = np.random.default_rng(4)
    near = _around(NEAR, 50, 10.0, rng)
    served = suggest_parkings(_trips(near, near), parkings, params=params)
    assert served.is_empty() and served.schema == pl.Schema(SUGGESTIONS)


def test_missing_columns_are_named() -> None:
    """Trips without the coordinates ``use`` needs, or parkings without lat, are refused."""
    trips, parkings = _town()
    with pytest.raises(SchemaError, match="end_lat"):
        suggest_parkings(trips.drop("end_lat"), parkings)
    with pytest.raises(SchemaError, match="lat"):
        suggest_parkings(trips, parkings.drop("lat"))
    with pytest.raises(ValueError, match="days"):
        suggest_parkings(trips, parkings, days=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "kmeans"),
        ("h3_resolution", 6),
        ("h3_resolution", 13),
        ("h3_resolution", 10.0),
        ("bandwidth_m", 0.0),
        ("min_distance_m", -1.0),
        ("min_trips_per_day", -0.1),
        ("min_trips_per_day", float("nan")),
        ("top", 0),
        ("use", "middles"),
        ("max_points", 10),
    ],
)
def test_params_refuse_nonsense_naming_the_field(field: str, value: Any) -> None:
    """Each out-of-range setting is a ValueError that names it."""
    with pytest.raises(ValueError, match=field):
        ParkingSuggestionParams(**{field: value})


def test_params_from_mapping() -> None:
    """A TOML table loads; an unknown key is named."""
    params = ParkingSuggestionParams.from_mapping({"method": "meanshift", "bandwidth_m": 80})
    assert params.method == "meanshift" and params.bandwidth_m == 80
    with pytest.raises(ValueError, match="radius"):
        ParkingSuggestionParams.from_mapping({"radius": 3})


def _unserved_hotspots(seed: int) -> tuple[np.ndarray, pl.DataFrame, pl.DataFrame]:
    """The demo city's hotspots without a parking (lat, lon rows), its trips and parkings.

    The generator keeps hotspots internal, so its parking step is rerun with the same
    child seeds as ``generate_city_from_params``; the parkings must come out identical.
    """
    params = DemoParams(seed=seed, days=60, end=DEFAULT_END, n_zones=30, trips_scale=1.0)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    layout = _build_layout(n_zones=params.n_zones, rng=rngs[0])
    calendar = _build_calendar(params)
    weather = _simulate_weather(calendar, rng=rngs[1])
    share = _zone_activity(layout, rngs[2])
    counts = _zone_day_counts(
        params, layout=layout, share=share, calendar=calendar, weather=weather, rng=rngs[2]
    )
    sites = _build_parkings(layout=layout, counts=counts, rng=rngs[3])
    city = generate_city(seed=seed, days=60, n_zones=30)
    assert sites.frame.equals(city.parkings), "the demo generator changed: update this helper"
    spots = np.concatenate(sites.hotspots)[:, ::-1]  # lat, lon
    to_parking = haversine_m(
        spots[:, :1], spots[:, 1:], city.parkings["lat"].to_numpy(), city.parkings["lon"].to_numpy()
    ).min(axis=1)
    return spots[to_parking > 1.0], city.trips, city.parkings


@pytest.mark.parametrize("method", METHODS)
def test_demo_city_hotspots_without_a_parking_are_found(method: Method) -> None:
    """Every planted hotspot at least 250 m from a parking (so the 200 m exclusion leaves
    it whole) has a suggestion within 60 m among the top 50, the best suggestion is one of
    them, and so are at least 3 of the top 5 (the rest are dense plain demand downtown)."""
    spots, trips, parkings = _unserved_hotspots(7)
    found = suggest_parkings(trips, parkings, params=ParkingSuggestionParams(method=method, top=50))
    to_spot = haversine_m(
        spots[:, :1], spots[:, 1:], found["lat"].to_numpy(), found["lon"].to_numpy()
    )
    to_parking = haversine_m(
        spots[:, :1], spots[:, 1:], parkings["lat"].to_numpy(), parkings["lon"].to_numpy()
    ).min(axis=1)
    clear = to_parking >= 250.0
    assert clear.sum() >= 8
    assert (to_spot[clear].min(axis=1) < 60.0).all()
    hits = to_spot.min(axis=0) < 60.0  # per suggestion: is it a planted hotspot?
    assert hits[0]
    assert hits[:5].sum() >= 3
    assert (found["distance_to_parking_m"] >= 200.0).all()
