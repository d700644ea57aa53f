"""Task rules: each fires exactly at its threshold, one task per vehicle, scores add up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pyproj
import pytest
import shapely

from fleetcast.errors import SchemaError
from fleetcast.planning.tasks import (
    TASKS,
    TaskKind,
    TaskParams,
    TaskWeights,
    generate_tasks,
)

NOW = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
CENTRE = (41.8800, -87.6300)
GEOD = pyproj.Geod(ellps="WGS84")


def at(east_m: float, north_m: float) -> tuple[float, float]:
    """(lat, lon) of a point ``east_m`` / ``north_m`` metres from CENTRE (geodesic)."""
    lat, lon = CENTRE
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if north_m > 0 else 180.0, abs(north_m))
    if east_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if east_m > 0 else 270.0, abs(east_m))
    return lat, lon


def vehicles(*rows: dict[str, Any]) -> pl.DataFrame:
    """A vehicle status frame; each row defaults to a healthy vehicle at CENTRE."""
    base = {
        "system_id": "demo",
        "zone_id": "z1",
        "lat": CENTRE[0],
        "lon": CENTRE[1],
        "battery_pct": 80.0,
        "is_reserved": False,
        "is_disabled": False,
        "vehicle_type": "scooter",
        "observed_at": NOW,
        "idle_hours": 1.0,
    }
    return pl.DataFrame(
        [base | {"vehicle_id": f"v{i}"} | r for i, r in enumerate(rows)],
        schema_overrides={"idle_hours": pl.Float64, "battery_pct": pl.Float64},
    )


def parkings(*rows: dict[str, Any]) -> pl.DataFrame:
    """A parkings frame; one parking of radius 30 m at CENTRE, min 0, by default."""
    base = {
        "parking_id": "P1",
        "zone_id": "z1",
        "name": "Centre",
        "lat": CENTRE[0],
        "lon": CENTRE[1],
        "radius_m": 30.0,
        "min_vehicles": 0,
        "max_vehicles": 20,
    }
    return pl.DataFrame([base | r for r in rows or ({},)])


AREA = shapely.Polygon(
    [at(-1000, -1000)[::-1], at(1000, -1000)[::-1], at(1000, 1000)[::-1], at(-1000, 1000)[::-1]]
)
"""A 2 km square service area around CENTRE, in lon/lat."""


def tasks_of(frame: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    kwargs.setdefault("parkings", parkings())
    kwargs.setdefault("service_area", AREA)
    return generate_tasks(frame, now=NOW, **kwargs)


def kinds(result: pl.DataFrame) -> dict[str, str]:
    return dict(zip(result["vehicle_id"].to_list(), result["kind"].to_list(), strict=True))


@pytest.mark.parametrize(
    ("battery", "fires"), [(19.0, True), (19.99, True), (20.0, False), (20.5, False)]
)
def test_low_battery_fires_strictly_below_the_threshold(battery: float, fires: bool) -> None:
    """19% (and 19.99%) is low with the default threshold 20; exactly 20% is not."""
    result = tasks_of(vehicles({"battery_pct": battery}))
    assert kinds(result) == ({"v0": "swap_battery"} if fires else {})


def test_low_battery_threshold_is_a_parameter_and_null_battery_is_not_low() -> None:
    """A raised threshold catches 25%; an unknown battery never raises a swap."""
    frame = vehicles({"battery_pct": 25.0}, {"battery_pct": None})
    result = tasks_of(frame, params=TaskParams(low_battery_pct=30.0))
    assert kinds(result) == {"v0": "swap_battery"}


def test_outside_parking_fires_only_beyond_radius_plus_tolerance() -> None:
    """Exactly on the radius is inside; 1 cm beyond is outside; tolerance widens it."""
    frame = vehicles(
        {"lat": at(0, 30.0)[0], "lon": at(0, 30.0)[1]},
        {"lat": at(0, 30.01)[0], "lon": at(0, 30.01)[1]},
        {"lat": at(-29.99, 0)[0], "lon": at(-29.99, 0)[1]},
        {"lat": at(34.0, 0)[0], "lon": at(34.0, 0)[1]},
    )
    result = tasks_of(frame)
    assert kinds(result) == {"v1": "retrieve", "v3": "retrieve"}
    assert set(result["parking_id"].to_list()) == {"P1"}
    assert all("outside any parking" in r for r in result["reason"])
    tolerant = tasks_of(frame, params=TaskParams(parking_tolerance_m=5.0))
    assert kinds(tolerant) == {}


def test_outside_parking_uses_the_nearest_parking_of_several() -> None:
    """A vehicle inside a far parking's big radius is at a parking, whatever is nearest."""
    park = parkings(
        {"parking_id": "near", "lat": at(50, 0)[0], "lon": at(50, 0)[1], "radius_m": 10.0},
        {"parking_id": "big", "lat": at(-150, 0)[0], "lon": at(-150, 0)[1], "radius_m": 200.0},
    )
    frame = vehicles({}, {"lat": at(100, 0)[0], "lon": at(100, 0)[1]})
    result = tasks_of(frame, parkings=park)
    assert kinds(result) == {"v1": "retrieve"}
    assert result["parking_id"].to_list() == ["near"]


def test_no_parkings_means_free_floating_without_parking_rules() -> None:
    """Without parkings a vehicle anywhere in the area raises nothing."""
    frame = vehicles({"lat": at(500, 0)[0], "lon": at(500, 0)[1]})
    assert tasks_of(frame, parkings=None).is_empty()


def test_outside_service_area_is_a_retrieve_that_says_so() -> None:
    """A vehicle 200 m outside the area is retrieved and the reason names the area."""
    frame = vehicles({"lat": at(1200, 0)[0], "lon": at(1200, 0)[1]}, {})
    result = tasks_of(frame, parkings=None)
    assert kinds(result) == {"v0": "retrieve"}
    assert result["reason"][0].startswith("outside the service area by 200 m")
    assert result["rules"][0].to_list() == ["outside_area"]
    assert tasks_of(frame, parkings=None, service_area=None).is_empty()


def test_disabled_vehicle_gets_a_repair() -> None:
    """is_disabled raises a repair; a null flag is read as not disabled."""
    frame = vehicles({"is_disabled": True}, {"is_disabled": None})
    result = tasks_of(frame)
    assert kinds(result) == {"v0": "repair"}
    assert result["service_minutes"][0] == 15.0


@pytest.mark.parametrize(("idle", "fires"), [(47.9, False), (48.0, False), (48.1, True)])
def test_reposition_fires_when_idle_longer_than_the_threshold(idle: float, fires: bool) -> None:
    """Idle strictly longer than 48 h raises a reposition."""
    result = tasks_of(vehicles({"idle_hours": idle}))
    assert kinds(result) == ({"v0": "reposition"} if fires else {})


def test_unknown_idle_time_never_raises_a_reposition() -> None:
    """A null idle_hours, or no idle_hours column at all, raises nothing."""
    frame = vehicles({"idle_hours": None})
    assert tasks_of(frame).is_empty()
    assert tasks_of(frame.drop("idle_hours")).is_empty()


def test_reserved_vehicles_get_no_task() -> None:
    """A reserved vehicle is about to be ridden: no worker is sent, even if disabled."""
    frame = vehicles({"is_reserved": True, "is_disabled": True, "battery_pct": 3.0})
    assert tasks_of(frame).is_empty()
    kept = tasks_of(frame, params=TaskParams(skip_reserved=False))
    assert kinds(kept) == {"v0": "repair"}


OUT_OF_AREA = at(1500, 0)
OUT_OF_PARKING = at(300, 0)


@pytest.mark.parametrize(
    ("row", "kind", "rules"),
    [
        (
            {
                "is_disabled": True,
                "battery_pct": 5.0,
                "idle_hours": 99.0,
                "lat": OUT_OF_AREA[0],
                "lon": OUT_OF_AREA[1],
            },
            "repair",
            ["repair", "outside_area", "low_battery", "outside_parking", "long_idle"],
        ),
        (
            {"battery_pct": 5.0, "lat": OUT_OF_AREA[0], "lon": OUT_OF_AREA[1]},
            "retrieve",
            ["outside_area", "low_battery", "outside_parking"],
        ),
        (
            {
                "battery_pct": 5.0,
                "idle_hours": 99.0,
                "lat": OUT_OF_PARKING[0],
                "lon": OUT_OF_PARKING[1],
            },
            "swap_battery",
            ["low_battery", "outside_parking", "long_idle"],
        ),
        (
            {"idle_hours": 99.0, "lat": OUT_OF_PARKING[0], "lon": OUT_OF_PARKING[1]},
            "retrieve",
            ["outside_parking", "long_idle"],
        ),
    ],
)
def test_one_task_per_vehicle_with_the_strongest_kind(
    row: dict[str, Any], kind: str, rules: list[str]
) -> None:
    """repair > retrieve (area) > swap > retrieve (parking) > reposition; the rest are listed."""
    result = tasks_of(vehicles(row))
    assert result.height == 1
    assert result["kind"][0] == kind
    assert result["rules"][0].to_list() == rules
    assert result["reason"][0].count("; ") == len(rules) - 1


def test_priority_matches_a_hand_computation() -> None:
    """Swap task, battery 10%, zone with 50 of the busiest zone's 100 trips, idle 42 h,
    standing in its parking, default weights:

    base swap 2.0 + battery 1.0 x (1 - 10/100) + demand 1.0 x 50/100
    + idle 0.5 x 42/168 + distance 1.0 x 0 + shortfall 1.0 x 0
    = 2.0 + 0.9 + 0.5 + 0.125 = 3.525
    """
    demand = pl.DataFrame({"zone_id": ["z1", "z2"], "trips": [50, 100]})
    result = tasks_of(vehicles({"battery_pct": 10.0, "idle_hours": 42.0}), zone_demand=demand)
    assert result["kind"].to_list() == ["swap_battery"]
    assert result["priority"][0] == pytest.approx(3.525)
    assert result["score_parts"][0] == pytest.approx(
        {
            "base": 2.0,
            "battery": 0.9,
            "demand": 0.5,
            "idle": 0.125,
            "distance": 0.0,
            "shortfall": 0.0,
        }
    )


def test_distance_factor_counts_metres_outside_the_parking() -> None:
    """A retrieve 130 m beyond a 30 m parking (160 m from its centre) scores
    distance 1.0 x 130/500 = 0.26; with weights on distance only, priority = base + 0.26."""
    weights = TaskWeights(battery=0.0, demand=0.0, idle=0.0)
    frame = vehicles({"lat": at(160, 0)[0], "lon": at(160, 0)[1]}, {})
    frame = frame.with_columns(pl.lit(60.0).alias("idle_hours"))
    result = tasks_of(frame, params=TaskParams(weights=weights))
    retrieve = result.filter(pl.col("kind") == "retrieve")
    assert retrieve["priority"][0] == pytest.approx(2.5 + 0.26, abs=1e-6)


def mixed_fleet() -> pl.DataFrame:
    return vehicles(
        {"battery_pct": 4.0, "zone_id": "z2"},
        {"is_disabled": True, "idle_hours": 300.0},
        {"lat": OUT_OF_AREA[0], "lon": OUT_OF_AREA[1], "battery_pct": None},
        {"lat": OUT_OF_PARKING[0], "lon": OUT_OF_PARKING[1], "zone_id": None},
        {"idle_hours": 70.0},
        {},
    )


def test_score_parts_sum_to_priority_and_columns_are_as_documented() -> None:
    """Every task's parts add up to its priority; the frame has the TASKS schema, sorted."""
    demand = pl.DataFrame({"zone_id": ["z1", "z2"], "trips": [30.0, 10.0]})
    result = tasks_of(mixed_fleet(), parkings=parkings({"min_vehicles": 4}), zone_demand=demand)
    assert result.schema == pl.Schema(TASKS)
    assert result.height == 6
    for parts, priority in zip(result["score_parts"], result["priority"], strict=True):
        assert sum(parts.values()) == pytest.approx(priority)
    assert result["priority"].to_list() == sorted(result["priority"].to_list(), reverse=True)
    assert json.loads(result.select(pl.col("score_parts").struct.json_encode())[0, 0])


def test_task_ids_are_stable_across_replans() -> None:
    """Same problems, shuffled input, later time: the same ids, built from kind and vehicle."""
    park = parkings({"min_vehicles": 4})
    first = tasks_of(mixed_fleet(), parkings=park)
    shuffled = mixed_fleet().sample(fraction=1.0, shuffle=True, seed=3)
    later = generate_tasks(shuffled, parkings=park, service_area=AREA, now=NOW + timedelta(hours=1))
    assert sorted(first["task_id"].to_list()) == sorted(later["task_id"].to_list())
    assert set(first["task_id"].to_list()) == {
        "swap_battery:v0",
        "repair:v1",
        "retrieve:v2",
        "retrieve:v3",
        "reposition:v4",
        "drop:P1",
    }


def test_drop_brings_the_minimum_minus_the_vehicles_present() -> None:
    """P1 (min 5) holds 2 rentable vehicles (a disabled and a reserved one don't count):
    bring 3, at the parking, 10 + 2 x 3 minutes. P2 (min 1) holds 1: no task."""
    park = parkings(
        {"min_vehicles": 5},
        {"parking_id": "P2", "lat": at(400, 0)[0], "lon": at(400, 0)[1], "min_vehicles": 1},
    )
    frame = vehicles(
        {},
        {"battery_pct": 10.0},
        {"is_disabled": True},
        {"is_reserved": True},
        {"lat": at(400, 5)[0], "lon": at(400, 5)[1]},
    )
    result = tasks_of(frame, parkings=park)
    drop = result.filter(pl.col("kind") == "drop").row(0, named=True)
    assert drop["task_id"] == "drop:P1"
    assert drop["quantity"] == 3
    assert drop["vehicle_id"] is None
    assert drop["parking_id"] == "P1"
    assert (drop["lat"], drop["lon"]) == CENTRE
    assert drop["service_minutes"] == 16.0
    assert drop["score_parts"]["shortfall"] == pytest.approx(3 / 5)
    assert result.filter(pl.col("kind") == "drop").height == 1


def test_vehicle_without_position_keeps_its_non_spatial_task() -> None:
    """A low battery without GPS still yields a task, with null lat/lon."""
    result = tasks_of(vehicles({"battery_pct": 2.0, "lat": None, "lon": None}))
    assert kinds(result) == {"v0": "swap_battery"}
    assert result["lat"][0] is None


def test_newest_status_of_a_vehicle_wins() -> None:
    """A vehicle listed twice is judged on its latest observed_at."""
    frame = vehicles(
        {"vehicle_id": "a", "battery_pct": 5.0, "observed_at": NOW - timedelta(hours=2)},
        {"vehicle_id": "a", "battery_pct": 90.0, "observed_at": NOW},
    )
    assert tasks_of(frame).is_empty()


def test_missing_columns_and_naive_now_are_rejected() -> None:
    """vehicles need vehicle_id, lat, lon; ``now`` must carry a timezone."""
    with pytest.raises(SchemaError, match="lat"):
        generate_tasks(pl.DataFrame({"vehicle_id": ["a"]}), now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        generate_tasks(vehicles({}), now=NOW.replace(tzinfo=None))


def test_params_load_from_a_toml_table_and_reject_nonsense() -> None:
    """from_mapping builds nested weights; unknown keys and bad values name the field."""
    params = TaskParams.from_mapping(
        {"low_battery_pct": 25, "idle_hours": 24, "weights": {"base_repair": 5.0, "idle": 2}}
    )
    assert params.low_battery_pct == 25
    assert params.weights.base(TaskKind.REPAIR) == 5.0
    assert params.weights.idle == 2
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['low_batery'\]"):
        TaskParams.from_mapping({"low_batery": 10})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['speed'\]"):
        TaskParams.from_mapping({"weights": {"speed": 1.0}})
    with pytest.raises(ValueError, match="low_battery_pct=120"):
        TaskParams(low_battery_pct=120)
    with pytest.raises(ValueError, match="demand=-1"):
        TaskWeights(demand=-1)
    assert TaskParams().service_minutes(TaskKind.DROP, 4) == 18.0
