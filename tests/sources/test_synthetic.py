"""Tests of the built-in demo city: schemas, determinism, geometry and demand behaviour."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import polars as pl
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast import domain
from fleetcast.sources.synthetic import (
    CENTER_LAT,
    CENTER_LON,
    DEFAULT_END,
    TIMEZONE,
    DemoCity,
    DemoParams,
    generate_city,
)

SMALL_DAYS = 120
SMALL_ZONES = 60


@pytest.fixture(scope="module")
def city() -> DemoCity:
    """A small city: 60 zones, 120 days (July to October), a fifth of the default demand."""
    return generate_city(seed=7, days=SMALL_DAYS, n_zones=SMALL_ZONES, trips_scale=0.2)


@pytest.fixture(scope="module")
def long_city() -> DemoCity:
    """Two years over 30 zones with a tenth of the demand: for growth, holidays and DST."""
    return generate_city(seed=11, days=730, n_zones=30, trips_scale=0.1)


@pytest.fixture(scope="module")
def local_trips(city: DemoCity) -> pl.DataFrame:
    """Trips with local start hour, weekday, and metres from the centre of both ends."""
    trips = city.trips.with_columns(
        local=pl.col("started_at").dt.convert_time_zone(TIMEZONE)
    ).with_columns(hour=pl.col("local").dt.hour(), weekday=pl.col("local").dt.weekday())
    return trips.with_columns(
        start_r=pl.Series(_metres_from_centre(trips["start_lat"], trips["start_lon"])),
        end_r=pl.Series(_metres_from_centre(trips["end_lat"], trips["end_lon"])),
    )


def _metres_from_centre(lat: pl.Series, lon: pl.Series) -> np.ndarray:
    geod = pyproj.Geod(ellps="WGS84")
    n = len(lat)
    _, _, distance = geod.inv(
        np.full(n, CENTER_LON), np.full(n, CENTER_LAT), lon.to_numpy(), lat.to_numpy()
    )
    return np.asarray(distance)


def _polygons(city: DemoCity) -> dict[str, shapely.Polygon]:
    return {
        zone_id: shapely.from_geojson(geometry)
        for zone_id, geometry in city.zones.select("zone_id", "geometry").iter_rows()
    }


def _daily_zone_counts(city: DemoCity) -> pl.DataFrame:
    """Zero-filled trips per (zone, date) joined to the weather of the day."""
    grid = city.zones.select("zone_id").join(city.weather.select("date"), how="cross")
    counts = city.trips.group_by(pl.col("start_zone").alias("zone_id"), "date").len("trips")
    return (
        grid.join(counts, on=["zone_id", "date"], how="left")
        .with_columns(pl.col("trips").fill_null(0))
        .join(city.weather, on="date")
    )


# --------------------------------------------------------------------------- shape of the output


def test_frames_have_the_domain_schemas(city: DemoCity) -> None:
    """Trips, weather and vehicles have exactly the store schemas; the rest their columns."""
    assert city.trips.schema == pl.Schema(domain.TRIPS)
    assert city.weather.schema == pl.Schema(domain.WEATHER_DAILY)
    assert city.vehicles.schema == pl.Schema(domain.VEHICLE_STATUS)
    assert city.zones.columns == [
        "zone_id",
        "name",
        "geometry",
        "centroid_lat",
        "centroid_lon",
        "area_km2",
        "elevation_m",
    ]
    assert city.parkings.columns == [
        "parking_id",
        "zone_id",
        "name",
        "lat",
        "lon",
        "radius_m",
        "min_vehicles",
        "max_vehicles",
    ]
    assert city.depots.columns == ["depot_id", "name", "lat", "lon"]
    for frame in (city.trips, city.weather, city.zones, city.parkings, city.depots):
        assert sum(frame.null_count().row(0)) == 0
    assert sum(city.vehicles.drop("zone_id").null_count().row(0)) == 0


def test_system_describes_a_chicago_scooter_operator(city: DemoCity) -> None:
    """The system is the demo scooter system in Chicago's timezone and holiday calendar."""
    system = city.system
    assert (system.system_id, system.timezone, system.country, system.subdivision) == (
        "demo",
        "America/Chicago",
        "US",
        "IL",
    )
    assert system.kind == domain.VehicleKind.SCOOTER
    assert system.center_lat == pytest.approx(41.88, abs=0.01)
    assert system.center_lon == pytest.approx(-87.63, abs=0.01)
    assert set(city.trips["system_id"]) == {"demo"}
    assert set(city.trips["provider"]) == {"demo"}
    assert set(city.trips["vehicle_type"]) == {"scooter"}


def test_same_seed_same_city_other_seed_other_city() -> None:
    """Generating twice with one seed gives equal frames; another seed gives other ones."""
    first, again, other = (
        generate_city(seed=seed, days=21, n_zones=20, trips_scale=0.05) for seed in (3, 3, 4)
    )
    for name in ("zones", "trips", "weather", "vehicles", "parkings", "depots"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert first.service_area == again.service_area
    assert not first.zones.equals(other.zones)
    assert not first.trips.equals(other.trips)
    assert not first.weather.equals(other.weather)


def test_default_end_is_fixed_not_today() -> None:
    """Without ``end`` the period ends on the fixed default day, whatever today is."""
    tiny = generate_city(days=7, n_zones=10, trips_scale=0.05)
    assert tiny.weather["date"].max() == DEFAULT_END
    assert tiny.weather["date"].min() == DEFAULT_END - timedelta(days=6)
    assert tiny.weather.height == 7
    assert tiny.vehicles["date"].unique().to_list() == [DEFAULT_END]


def test_zones_of_a_seed_do_not_depend_on_period_or_scale(city: DemoCity) -> None:
    """Zones come from their own random stream: period length and demand do not move them."""
    other = generate_city(seed=7, days=10, n_zones=60, trips_scale=0.01)
    assert other.zones.equals(city.zones)


# --------------------------------------------------------------------------- zones


def test_zone_count_names_and_ids(city: DemoCity) -> None:
    """Exactly the requested number of zones, with unique ids and names."""
    assert city.zones.height == SMALL_ZONES
    assert city.zones["zone_id"].is_unique().all()
    assert city.zones["name"].is_unique().all()
    assert city.zones["zone_id"][0] == "Z001"
    assert "Loop" in city.zones["name"][0]


def test_zone_polygons_are_valid_and_do_not_overlap(city: DemoCity) -> None:
    """Each zone is a valid lon/lat polygon; zones only touch along edges."""
    polygons = list(_polygons(city).values())
    assert all(p.geom_type == "Polygon" and p.is_valid for p in polygons)
    for geometry in city.zones["geometry"]:
        parsed = json.loads(geometry)
        assert parsed["type"] == "Polygon"
        lon, lat = parsed["coordinates"][0][0]
        assert -88.0 < lon < -87.4 and 41.6 < lat < 42.1  # lon/lat order
    union = shapely.union_all(polygons)
    total = sum(p.area for p in polygons)
    assert union.area == pytest.approx(total, rel=1e-6)


def test_zones_are_denser_near_the_centre(city: DemoCity) -> None:
    """Central zones are smaller than outer ones (seeds are denser near the Loop)."""
    zones = city.zones.with_columns(
        r=pl.Series(_metres_from_centre(city.zones["centroid_lat"], city.zones["centroid_lon"]))
    )
    inner = zones.filter(pl.col("r") < 3000)["area_km2"].median()
    outer = zones.filter(pl.col("r") > 8000)["area_km2"].median()
    assert isinstance(inner, float) and isinstance(outer, float)
    assert inner < outer / 2


def test_zone_areas_are_metric_and_match_the_geodesic_area(city: DemoCity) -> None:
    """``area_km2`` agrees with the ellipsoidal area of each polygon to within 0.5 %."""
    geod = pyproj.Geod(ellps="WGS84")
    for polygon, area_km2 in zip(_polygons(city).values(), city.zones["area_km2"], strict=True):
        geodesic, _ = geod.geometry_area_perimeter(polygon)
        assert area_km2 == pytest.approx(abs(geodesic) / 1e6, rel=5e-3)
    areas = city.zones["area_km2"].to_numpy()
    assert areas.min() > 0.05 and areas.max() < 40


def test_zones_stay_west_of_the_lake_shore(city: DemoCity) -> None:
    """No zone reaches into Lake Michigan east of the Loop (lon > -87.6 at its latitude)."""
    service = shapely.from_geojson(city.service_area)
    assert not service.contains(shapely.Point(-87.60, 41.88))
    assert service.contains(shapely.Point(CENTER_LON, CENTER_LAT))
    assert shapely.union_all(list(_polygons(city).values())).difference(service).area < 1e-9


# --------------------------------------------------------------------------- trips


def test_trip_points_lie_in_their_zones(city: DemoCity) -> None:
    """Every start point is inside its start zone, every end point inside its end zone."""
    for zone_id, polygon in _polygons(city).items():
        starts = city.trips.filter(pl.col("start_zone") == zone_id)
        ends = city.trips.filter(pl.col("end_zone") == zone_id)
        start_lon, start_lat = starts["start_lon"].to_numpy(), starts["start_lat"].to_numpy()
        end_lon, end_lat = ends["end_lon"].to_numpy(), ends["end_lat"].to_numpy()
        assert shapely.contains_xy(polygon, start_lon, start_lat).all()
        assert shapely.contains_xy(polygon, end_lon, end_lat).all()


def test_trip_ids_unique_times_ordered_and_local_dates(city: DemoCity) -> None:
    """trip_id is unique, trips end after they start, ``date`` is the local start day."""
    trips = city.trips
    assert trips["trip_id"].is_unique().all()
    assert trips["trip_id"].str.starts_with("demo-").all()
    assert (trips["ended_at"] > trips["started_at"]).all()
    local_day = trips["started_at"].dt.convert_time_zone(TIMEZONE).dt.date()
    assert (local_day == trips["date"]).all()
    assert trips["date"].min() == DEFAULT_END - timedelta(days=SMALL_DAYS - 1)
    assert trips["date"].max() == DEFAULT_END


def test_distance_duration_and_fleet_are_plausible(city: DemoCity) -> None:
    """Distances >= 100 m, a few km typical; 5-25 km/h riding speeds; a fleet of ids."""
    trips = city.trips
    assert trips["distance_m"].to_numpy().min() >= 100.0
    assert 1000 < np.median(trips["distance_m"].to_numpy()) < 4000
    speed_kmh = (trips["distance_m"] / trips["duration_s"] * 3.6).to_numpy()
    assert speed_kmh.max() < 26 and np.quantile(speed_kmh, 0.05) > 3
    seconds = (trips["ended_at"] - trips["started_at"]).dt.total_seconds()
    assert (seconds == trips["duration_s"]).all()
    assert 1000 <= trips["vehicle_id"].n_unique() <= 2000


def test_a_vehicle_never_rides_two_trips_at_once(city: DemoCity) -> None:
    """Consecutive trips of one vehicle do not overlap in time."""
    ordered = city.trips.sort("vehicle_id", "started_at").with_columns(
        previous_end=pl.col("ended_at").shift(1).over("vehicle_id")
    )
    assert ordered.filter(pl.col("started_at") < pl.col("previous_end")).height == 0


def test_trips_scale_linearly_with_trips_scale() -> None:
    """Doubling ``trips_scale`` about doubles the trips."""
    low = generate_city(days=60, n_zones=20, trips_scale=0.1).trips.height
    high = generate_city(days=60, n_zones=20, trips_scale=0.2).trips.height
    assert 1.8 < high / low < 2.2


# --------------------------------------------------------------------------- demand behaviour


def test_weekday_commute_peaks_differ_from_weekend(local_trips: pl.DataFrame) -> None:
    """7-9h holds a far larger share of weekday trips than of weekend trips."""

    def morning_share(frame: pl.DataFrame) -> float:
        return frame.filter(pl.col("hour").is_between(7, 8)).height / frame.height

    weekday = local_trips.filter(pl.col("weekday") <= 5)
    weekend = local_trips.filter(pl.col("weekday") >= 6)
    assert morning_share(weekday) > 2 * morning_share(weekend)
    hours = weekday.group_by("hour").len().sort("len", descending=True)["hour"].head(3)
    assert set(hours.to_list()) <= {7, 8, 16, 17, 18}
    weekend_peak = weekend.group_by("hour").len().sort("len", descending=True)["hour"][0]
    assert 11 <= weekend_peak <= 18


def test_rain_suppresses_rides(city: DemoCity) -> None:
    """Rainy days have fewer trips than dry days of the same kind within ten days."""
    daily = (
        city.trips.group_by("date")
        .len("trips")
        .join(city.weather, on="date")
        .with_columns(weekend=pl.col("date").dt.weekday() >= 6)
        .sort("date")
    )
    ratios = []
    for row in daily.filter(pl.col("precip_mm") >= 5).iter_rows(named=True):
        dry = daily.filter(
            (pl.col("precip_mm") == 0)
            & (pl.col("weekend") == row["weekend"])
            & ((pl.col("date") - row["date"]).dt.total_days().abs() <= 10)
        )
        if dry.height:
            ratios.append(math.log(row["trips"] / dry["trips"].mean()))
    assert len(ratios) >= 3
    assert np.mean(ratios) < -0.2


def test_zone_day_counts_are_over_dispersed(city: DemoCity) -> None:
    """Busy zones' counts on similar days vary far more than Poisson (var > 1.5 x mean)."""
    counts = _daily_zone_counts(city).filter(
        (pl.col("precip_mm") == 0) & pl.col("date").dt.weekday().is_between(2, 4)
    )
    busiest = (
        counts.group_by("zone_id").agg(pl.col("trips").mean()).sort("trips", descending=True)
    )["zone_id"].head(5)
    ratios = (
        counts.filter(pl.col("zone_id").is_in(busiest.implode()))
        .with_columns(block=pl.col("date").dt.truncate("4w"))
        .group_by("zone_id", "block")
        .agg(var=pl.col("trips").var(), mean=pl.col("trips").mean(), n=pl.len())
        .filter(pl.col("n") >= 4)
        .with_columns(ratio=pl.col("var") / pl.col("mean"))
    )
    assert ratios.height >= 10
    assert np.median(ratios["ratio"].to_numpy()) > 1.5


def test_morning_flows_toward_centre_evening_back(local_trips: pl.DataFrame) -> None:
    """Weekday 7-9h trips end nearer the centre than they start; 17-19h trips the opposite."""
    weekday = local_trips.filter(pl.col("weekday") <= 5)
    morning = weekday.filter(pl.col("hour").is_between(7, 8))
    evening = weekday.filter(pl.col("hour").is_between(17, 18))
    assert morning["end_r"].to_numpy().mean() < 0.9 * morning["start_r"].to_numpy().mean()
    assert evening["end_r"].to_numpy().mean() > 1.05 * evening["start_r"].to_numpy().mean()


def test_more_trips_go_downhill_than_uphill(city: DemoCity) -> None:
    """Trips to a lower zone outnumber trips to a higher zone."""
    elevation = city.zones.select("zone_id", "elevation_m")
    trips = city.trips.join(
        elevation.rename({"zone_id": "start_zone", "elevation_m": "start_m"}), on="start_zone"
    ).join(elevation.rename({"zone_id": "end_zone", "elevation_m": "end_m"}), on="end_zone")
    downhill = trips.filter(pl.col("end_m") < pl.col("start_m")).height
    uphill = trips.filter(pl.col("end_m") > pl.col("start_m")).height
    assert downhill > 1.2 * uphill


def test_long_tail_of_quiet_zones(city: DemoCity) -> None:
    """Several zones average under one trip a day while the busiest see dozens."""
    per_day = _daily_zone_counts(city).group_by("zone_id").agg(pl.col("trips").mean())["trips"]
    assert (per_day < 1).sum() >= 5
    assert per_day.to_numpy().max() > 20


def test_demand_grows_year_over_year(long_city: DemoCity) -> None:
    """The second year has clearly more trips than the first (same seasons)."""
    start = long_city.params.start
    first = long_city.trips.filter(pl.col("date") < start + timedelta(days=365)).height
    second = long_city.trips.filter(pl.col("date") >= start + timedelta(days=365)).height
    assert second > 1.15 * first


def test_summer_busier_than_winter(long_city: DemoCity) -> None:
    """July has several times the daily trips of January."""
    by_month = long_city.trips.group_by(pl.col("date").dt.month().alias("month")).len()
    july = by_month.filter(pl.col("month") == 7)["len"].item()
    january = by_month.filter(pl.col("month") == 1)["len"].item()
    assert july > 3 * january


@pytest.fixture(scope="module")
def daily_effects(long_city: DemoCity) -> dict[str, float]:
    """Least-squares effects on log daily trips of the long city.

    Controls for month, weekday, a cubic in temperature and rain, so that holidays, growth
    and rain are measured against comparable days rather than against raw neighbours.
    """
    calendar = holidays.country_holidays("US", subdiv="IL", years=range(2024, 2027))
    daily = (
        long_city.weather.join(long_city.trips.group_by("date").len("trips"), on="date")
        .sort("date")
        .with_columns(month=pl.col("date").dt.month(), weekday=pl.col("date").dt.weekday())
    )
    temp = daily["temp_max_c"].to_numpy()
    precip = daily["precip_mm"].to_numpy()

    def holiday(prefixes: tuple[str, ...]) -> np.ndarray:
        return np.array([calendar.get(d, "").startswith(prefixes) for d in daily["date"]])

    named = {
        "trend_per_year": np.arange(daily.height) / 365.25,
        "precip_mm": precip,
        "winter_holiday": holiday(("New Year", "Thanksgiving", "Christmas")),
        "summer_holiday": holiday(("Memorial", "Independence Day", "Labor")),
    }
    controls = [np.ones(daily.height), temp, temp**2 / 100, temp**3 / 1000, precip >= 1]
    controls += [daily["month"].to_numpy() == m for m in range(2, 13)]
    controls += [daily["weekday"].to_numpy() == k for k in range(2, 8)]
    design = np.column_stack([*named.values(), *controls]).astype(float)
    beta, *_ = np.linalg.lstsq(design, np.log(daily["trips"].to_numpy()), rcond=None)
    return dict(zip(named, beta.tolist(), strict=False))


def test_holidays_move_demand(daily_effects: dict[str, float]) -> None:
    """New Year, Thanksgiving and Christmas lower demand; Memorial, July 4, Labor Day raise it."""
    assert daily_effects["winter_holiday"] < -0.4
    assert daily_effects["summer_holiday"] > 0.1


def test_growth_and_rain_effects_are_recovered(daily_effects: dict[str, float]) -> None:
    """The regression finds the built-in growth (about +30 %/year) and a rain penalty per mm."""
    assert math.log(1.15) < daily_effects["trend_per_year"] < math.log(1.5)
    assert daily_effects["precip_mm"] < -0.02


def test_dst_days_keep_local_dates(long_city: DemoCity) -> None:
    """Across DST changes every trip has a start time and its local day as ``date``."""
    trips = long_city.trips
    assert trips["started_at"].null_count() == 0
    local = trips["started_at"].dt.convert_time_zone(TIMEZONE)
    assert (local.dt.date() == trips["date"]).all()
    spring_forward = trips.filter(pl.col("date") == date(2026, 3, 8))
    assert spring_forward.height > 0
    hours = spring_forward["started_at"].dt.convert_time_zone(TIMEZONE).dt.hour()
    assert (hours != 2).all()


# --------------------------------------------------------------------------- weather


def test_weather_is_chicago_like(long_city: DemoCity) -> None:
    """One observed row a day; cold winters, warm summers, about a third wet days."""
    weather = long_city.weather.with_columns(month=pl.col("date").dt.month())
    assert weather.height == 730 and weather["date"].is_unique().all()
    assert set(weather["kind"]) == {"observed"}
    assert (weather["temp_min_c"] <= weather["temp_max_c"]).all()
    assert (weather["precip_mm"] >= 0).all() and (weather["wind_max_kmh"] > 0).all()
    monthly = weather.group_by("month").agg(pl.col("temp_max_c").mean()).sort("month")
    assert monthly["temp_max_c"][0] < 5 and monthly["temp_max_c"][6] > 22
    wet_share = (weather["precip_mm"].to_numpy() > 0).mean()
    assert 0.2 < wet_share < 0.5
    temp = weather["temp_max_c"]
    anomaly = (temp - temp.rolling_mean(31, center=True)).drop_nulls().to_numpy()
    assert np.corrcoef(anomaly[1:], anomaly[:-1])[0, 1] > 0.4  # weather spells, not noise


# --------------------------------------------------------------------------- fleet and sites


def test_vehicle_snapshot(city: DemoCity) -> None:
    """One row per vehicle at the end of the last local day, mostly parked in zones."""
    vehicles = city.vehicles
    assert vehicles["vehicle_id"].is_unique().all()
    assert set(city.trips["vehicle_id"]) <= set(vehicles["vehicle_id"])
    end_local = datetime.combine(DEFAULT_END, datetime.min.time(), ZoneInfo(TIMEZONE))
    observed = vehicles["observed_at"].unique()
    assert observed.len() == 1
    assert end_local < observed[0] < end_local + timedelta(days=1)
    outside = vehicles["zone_id"].null_count() / vehicles.height
    assert 0.01 <= outside <= 0.04
    assert 0.01 <= vehicles["is_disabled"].to_numpy().mean() <= 0.06
    assert 0 < vehicles["is_reserved"].sum() < 0.05 * vehicles.height
    battery = vehicles["battery_pct"].to_numpy()
    assert battery.min() >= 0 and battery.max() <= 100
    assert 0.03 < (battery < 20).mean() < 0.3


def test_vehicle_zone_is_the_containing_zone(city: DemoCity) -> None:
    """A vehicle's zone_id is the zone containing it; null ones lie outside the service area."""
    polygons = _polygons(city)
    service = shapely.from_geojson(city.service_area)
    for zone_id, lat, lon in city.vehicles.select("zone_id", "lat", "lon").iter_rows():
        if zone_id is None:
            assert not service.contains(shapely.Point(lon, lat))
        else:
            assert polygons[zone_id].contains(shapely.Point(lon, lat))


def test_some_vehicles_are_away_from_every_parking(city: DemoCity) -> None:
    """Between 3 and 9 % of vehicles are farther than a parking's radius from every parking."""
    geod = pyproj.Geod(ellps="WGS84")
    vehicles, parkings = city.vehicles, city.parkings
    n_v, n_p = vehicles.height, parkings.height
    _, _, distance = geod.inv(
        np.repeat(vehicles["lon"].to_numpy(), n_p),
        np.repeat(vehicles["lat"].to_numpy(), n_p),
        np.tile(parkings["lon"].to_numpy(), n_v),
        np.tile(parkings["lat"].to_numpy(), n_v),
    )
    slack = np.asarray(distance).reshape(n_v, n_p) - parkings["radius_m"].to_numpy()[None, :]
    away = (slack.min(axis=1) > 0).mean()
    assert 0.03 <= away <= 0.09


def test_parkings_and_depots(city: DemoCity) -> None:
    """Parkings lie in their zone, 1-4 per zone, stock bounds sensible; 1-2 depots inside."""
    polygons = _polygons(city)
    parkings = city.parkings
    assert parkings["parking_id"].is_unique().all()
    for zone_id, lat, lon in parkings.select("zone_id", "lat", "lon").iter_rows():
        assert polygons[zone_id].contains(shapely.Point(lon, lat))
    per_zone = parkings.group_by("zone_id").len()["len"].to_numpy()
    assert per_zone.min() >= 1 and per_zone.max() <= 4
    assert parkings["min_vehicles"].is_between(2, 6).all()
    assert parkings["max_vehicles"].is_between(6, 12).all()
    assert (parkings["min_vehicles"] < parkings["max_vehicles"]).all()
    assert (parkings["radius_m"] == 30.0).all()
    service = shapely.from_geojson(city.service_area)
    assert 1 <= city.depots.height <= 2
    for lat, lon in city.depots.select("lat", "lon").iter_rows():
        assert service.contains(shapely.Point(lon, lat))


# --------------------------------------------------------------------------- parameters


def test_generate_city_rejects_nonsense_naming_every_problem() -> None:
    """Out-of-range arguments raise ValueError naming each of them."""
    with pytest.raises(ValueError, match="n_zones") as caught:
        generate_city(n_zones=5, days=3, trips_scale=float("nan"))
    message = str(caught.value)
    assert "days" in message and "trips_scale" in message


@settings(max_examples=200, deadline=None)
@given(
    days=st.integers(min_value=-10, max_value=4000),
    n_zones=st.integers(min_value=-10, max_value=600),
    trips_scale=st.floats(allow_nan=True, allow_infinity=True),
    seed=st.integers(min_value=-5, max_value=2**64),
)
def test_demo_params_accepts_exactly_the_sensible_values(
    days: int, n_zones: int, trips_scale: float, seed: int
) -> None:
    """DemoParams builds when every value is in range and raises ValueError otherwise."""
    sensible = (
        7 <= days <= 3660
        and 10 <= n_zones <= 500
        and math.isfinite(trips_scale)
        and 0 < trips_scale <= 20
        and 0 <= seed < 2**63
    )
    if sensible:
        params = DemoParams(days=days, n_zones=n_zones, trips_scale=trips_scale, seed=seed)
        assert params.start == params.end - timedelta(days=days - 1)
    else:
        with pytest.raises(ValueError, match="DemoParams not understood"):
            DemoParams(days=days, n_zones=n_zones, trips_scale=trips_scale, seed=seed)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("days", 7.5),
        ("n_zones", True),
        ("fleet_size", 10),
        ("annual_growth", -0.9),
        ("dispersion", 0.0),
        ("n_depots", 3),
        ("end", "2026-10-31"),
        ("end", datetime(2026, 10, 31)),
    ],
)
def test_demo_params_rejects_wrong_types_and_ranges(field: str, value: object) -> None:
    """Each nonsensical value is reported under its own field name."""
    with pytest.raises(ValueError, match=field):
        DemoParams(**{field: value})  # type: ignore[arg-type]
