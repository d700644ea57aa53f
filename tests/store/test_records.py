"""Tests of reading and writing db rows, identical on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from fleetcast.domain import DEMAND_DAILY, UTC_DATETIME, SystemInfo, VehicleKind
from fleetcast.errors import UnknownSystemError
from fleetcast.geo import Zoning
from fleetcast.store import Store, records, state
from fleetcast.store.tables import DemandDaily, Parking, System, VehicleStatus, Zone

T0 = datetime(2024, 7, 1, 15, 0, tzinfo=UTC)


def mini_system(system_id: str = "mini") -> SystemInfo:
    """A small Chicago scooter system with every optional field set."""
    return SystemInfo(
        system_id=system_id,
        name="Mini Chicago",
        timezone="America/Chicago",
        kind=VehicleKind.SCOOTER,
        country="US",
        subdivision="IL",
        center_lat=41.92,
        center_lon=-87.68,
        zoning="polygons",
        h3_resolution=None,
    )


def demand(zone_days: dict[tuple[str, date], int]) -> pl.DataFrame:
    """A demand frame (zone_id, date, trips) from {(zone, day): trips}."""
    return pl.DataFrame(
        [(z, d, n) for (z, d), n in zone_days.items()],
        schema={"zone_id": pl.String, "date": pl.Date, "trips": pl.Int64},
        orient="row",
    )


def july(day: int) -> date:
    """2024-07-<day>."""
    return date(2024, 7, day)


def status(vehicle_id: str, observed_at: datetime, **fields: Any) -> dict[str, Any]:
    """One vehicle status row with plausible defaults."""
    return {
        "vehicle_id": vehicle_id,
        "observed_at": observed_at,
        "lat": 41.91,
        "lon": -87.69,
        "zone_id": "1",
        "battery_pct": 80.0,
        "is_reserved": False,
        "is_disabled": False,
        "vehicle_type": "scooter",
        **fields,
    }


def status_frame(rows: list[dict[str, Any]], tz: str = "UTC") -> pl.DataFrame:
    """Vehicle status rows as a frame with observed_at in time zone ``tz``."""
    if not rows:
        return pl.DataFrame(schema={"vehicle_id": pl.String, "observed_at": UTC_DATETIME})
    return pl.DataFrame(rows).with_columns(
        pl.col("observed_at").dt.convert_time_zone(tz), pl.col("battery_pct").cast(pl.Float64)
    )


def stored_status(conn: Connection, system_id: str = "mini") -> dict[str, tuple[Any, ...]]:
    """{vehicle: (observed_at, battery)} as the db holds them."""
    result = conn.execute(
        select(
            VehicleStatus.vehicle_id, VehicleStatus.observed_at, VehicleStatus.battery_pct
        ).where(VehicleStatus.system_id == system_id)
    )
    return {v: (t, b) for v, t, b in result}


@pytest.fixture
def mini(store: Store, mini_zones_path: Path) -> Store:
    """A store holding system 'mini' with the four mini zones ('1'..'4')."""
    with store.begin() as conn:
        records.save_system(conn, mini_system())
        records.save_zones(conn, "mini", Zoning.from_geojson(mini_zones_path).to_frame())
    return store


# --- systems ---------------------------------------------------------------------------


def test_system_round_trip(store: Store) -> None:
    """A saved system reads back equal, every field included."""
    with store.begin() as conn:
        records.save_system(conn, mini_system())
    with store.connect() as conn:
        assert records.get_system(conn, "mini") == mini_system()
        assert records.list_system_ids(conn) == ["mini"]


def test_saving_again_updates_but_keeps_created_at(store: Store) -> None:
    """Re-saving a system changes its fields in place; its creation time stays the first one."""
    with store.begin() as conn:
        records.save_system(conn, mini_system())
    with store.connect() as conn:
        created = conn.execute(select(System.created_at)).scalar_one()
    renamed = SystemInfo("mini", "Renamed", "UTC", kind=VehicleKind.BIKE, h3_resolution=8)
    with store.begin() as conn:
        records.save_system(conn, renamed)
    with store.connect() as conn:
        assert records.get_system(conn, "mini") == renamed
        assert conn.execute(select(System.created_at)).scalar_one() == created
        assert records.list_system_ids(conn) == ["mini"]


def test_unknown_system_lists_the_known_ones(store: Store) -> None:
    """Asking for a missing system says which ones exist (or that there are none yet)."""
    with store.connect() as conn, pytest.raises(UnknownSystemError, match="no systems yet"):
        records.get_system(conn, "nope")
    with store.begin() as conn:
        records.save_system(conn, mini_system("beta"))
        records.save_system(conn, mini_system("alpha"))
    with store.connect() as conn, pytest.raises(LookupError) as info:
        records.get_system(conn, "nope")
    assert isinstance(info.value, UnknownSystemError)
    assert "'nope'" in str(info.value)
    assert "known systems: alpha, beta" in str(info.value)


# --- zones -----------------------------------------------------------------------------


def test_zones_round_trip(mini: Store, mini_zones_path: Path) -> None:
    """Zones come back as saved (geometry text, centroids, areas), ordered by zone id."""
    expected = Zoning.from_geojson(mini_zones_path).to_frame()
    with mini.connect() as conn:
        back = records.load_zones(conn, "mini")
    assert back.schema == expected.schema
    assert back.equals(expected.sort("zone_id"))
    assert Zoning.from_frame(back).zone_ids == ("1", "2", "3", "4")


def test_saving_zones_again_updates_in_place(mini: Store) -> None:
    """save_zones upserts: a renamed zone keeps its row, and no zone is duplicated."""
    renamed = pl.DataFrame({"zone_id": ["2"], "name": ["Renamed"]})
    with mini.begin() as conn:
        records.save_zones(conn, "mini", renamed)
    with mini.connect() as conn:
        zones = records.load_zones(conn, "mini")
        assert records.count_rows(conn, Zone, "mini") == 4
    assert zones.filter(pl.col("zone_id") == "2")["name"].to_list() == ["Renamed"]
    assert zones["geometry"].null_count() == 0  # columns not given are kept


def test_load_zones_of_an_empty_system(store: Store) -> None:
    """A system without zones gives an empty frame with the zones columns."""
    with store.connect() as conn:
        zones = records.load_zones(conn, "none")
    assert zones.is_empty()
    assert zones.columns == [
        "zone_id",
        "name",
        "geometry",
        "centroid_lat",
        "centroid_lon",
        "area_km2",
    ]


# --- demand ----------------------------------------------------------------------------


def test_replace_demand_replaces_only_the_covered_days(mini: Store) -> None:
    """Re-counting 4-6 July replaces those days for every zone and leaves 1-3 and 7-10 as
    they were, as well as another system's rows on the same days."""
    ten_days = demand({(z, july(d)): 1 for z in ("1", "2") for d in range(1, 11)})
    with mini.begin() as conn:
        records.save_system(conn, mini_system("other"))
        records.save_zones(conn, "other", pl.DataFrame({"zone_id": ["1"], "name": ["One"]}))
        assert records.replace_demand(conn, "mini", ten_days) == 20
        records.replace_demand(conn, "other", demand({("1", july(5)): 99}))
        recount = demand({(z, july(d)): 7 for z in ("1", "3") for d in (4, 5, 6)})
        assert records.replace_demand(conn, "mini", recount) == 6
    with mini.connect() as conn:
        got = records.load_demand(conn, "mini")
        other = records.load_demand(conn, "other")
    expected = {(z, july(d)): 1 for z in ("1", "2") for d in (*range(1, 4), *range(7, 11))}
    expected |= {(z, july(d)): 7 for z in ("1", "3") for d in (4, 5, 6)}
    assert dict(zip(zip(got["zone_id"], got["date"], strict=True), got["trips"], strict=True)) == (
        expected
    )
    assert other["trips"].to_list() == [99]


def test_replace_demand_with_nothing_changes_nothing(mini: Store) -> None:
    """An empty frame covers no day, so nothing is deleted."""
    with mini.begin() as conn:
        records.replace_demand(conn, "mini", demand({("1", july(1)): 3}))
        assert records.replace_demand(conn, "mini", demand({})) == 0
    with mini.connect() as conn:
        assert records.load_demand(conn, "mini")["trips"].to_list() == [3]


def test_demand_needs_known_zones(mini: Store) -> None:
    """Demand for a zone the system does not have is refused by the db (foreign key)."""
    with pytest.raises(IntegrityError), mini.begin() as conn:
        records.replace_demand(conn, "mini", demand({("nowhere", july(1)): 1}))


def test_load_demand_filters_and_sorts(mini: Store) -> None:
    """start, end and zone_ids filter; rows come sorted by zone then date, in DEMAND_DAILY."""
    rows = {(z, july(d)): int(z) * 10 + d for z in ("4", "1", "3") for d in (3, 1, 2)}
    with mini.begin() as conn:
        records.replace_demand(conn, "mini", demand(rows))
    with mini.connect() as conn:
        everything = records.load_demand(conn, "mini")
        window = records.load_demand(conn, "mini", start=july(2), end=july(2))
        some = records.load_demand(conn, "mini", zone_ids=["3", "4"], start=july(3))
        none = records.load_demand(conn, "mini", zone_ids=[])
        summary = records.demand_summary(conn, "mini")
        empty_summary = records.demand_summary(conn, "nobody")
    assert everything.schema == pl.Schema(DEMAND_DAILY)
    assert everything.height == 9
    assert everything.select("zone_id", "date").rows() == sorted(rows)
    assert everything["system_id"].unique().to_list() == ["mini"]
    assert window.select("zone_id", "trips").rows() == [("1", 12), ("3", 32), ("4", 42)]
    assert some.select("zone_id", "trips").rows() == [("3", 33), ("4", 43)]
    assert none.is_empty()
    assert summary == {"trips": sum(rows.values()), "first_day": july(1), "last_day": july(3)}
    assert empty_summary == {"trips": 0, "first_day": None, "last_day": None}


# --- upsert ----------------------------------------------------------------------------


def parking(parking_id: str, **fields: Any) -> dict[str, Any]:
    """A parking row of system 'mini'."""
    return {
        "system_id": "mini",
        "parking_id": parking_id,
        "zone_id": "1",
        "name": f"P{parking_id}",
        "lat": 41.91,
        "lon": -87.69,
        "radius_m": 30.0,
        "min_vehicles": 0,
        "max_vehicles": 10,
        **fields,
    }


def test_upsert_updates_in_place(mini: Store) -> None:
    """A second upsert with the same keys updates those rows and inserts only the new key."""
    with mini.begin() as conn:
        assert records.upsert(conn, Parking, [parking("a"), parking("b")]) == 2
        records.upsert(conn, Parking, [parking("b", max_vehicles=25, name="Big"), parking("c")])
    with mini.connect() as conn:
        rows = conn.execute(
            select(Parking.parking_id, Parking.name, Parking.max_vehicles).order_by(
                Parking.parking_id
            )
        ).all()
        assert records.count_rows(conn, Parking, "mini") == 3
    assert [tuple(r) for r in rows] == [("a", "Pa", 10), ("b", "Big", 25), ("c", "Pc", 10)]


def test_upsert_of_nothing(mini: Store) -> None:
    """An empty list of rows writes nothing and says so."""
    with mini.begin() as conn:
        assert records.upsert(conn, Parking, []) == 0
    with mini.connect() as conn:
        assert records.count_rows(conn, Parking, "mini") == 0


def test_save_parkings_and_depots(mini: Store) -> None:
    """The frame helpers for parkings and depots write one row per frame row."""
    parkings = pl.DataFrame(
        [{k: v for k, v in parking(p).items() if k != "system_id"} for p in "xy"]
    )
    depots = pl.DataFrame({"depot_id": ["d1"], "name": ["Yard"], "lat": [41.9], "lon": [-87.7]})
    with mini.begin() as conn:
        assert records.save_parkings(conn, "mini", parkings) == 2
        assert records.save_depots(conn, "mini", depots) == 1
    with mini.connect() as conn:
        assert records.count_rows(conn, Parking, "mini") == 2


# --- vehicle status --------------------------------------------------------------------


def test_vehicle_status_keeps_the_newest_in_a_snapshot(mini: Store) -> None:
    """Within one frame, the newest observation of each vehicle is the one kept."""
    rows = [
        status("v1", T0 + timedelta(minutes=2), battery_pct=50.0),
        status("v1", T0, battery_pct=90.0),
        status("v2", T0, battery_pct=70.0),
        status("v1", T0 + timedelta(minutes=1), battery_pct=60.0),
    ]
    with mini.begin() as conn:
        assert state.save_vehicle_status(conn, "mini", status_frame(rows)) == 2
    with mini.connect() as conn:
        got = stored_status(conn)
    assert got == {"v1": (T0 + timedelta(minutes=2), 50.0), "v2": (T0, 70.0)}


def test_older_snapshot_never_overwrites_a_newer_one(mini: Store) -> None:
    """A late-arriving older snapshot is ignored per vehicle; newer ones still apply."""
    with mini.begin() as conn:
        state.save_vehicle_status(
            conn,
            "mini",
            status_frame([status("v1", T0, battery_pct=50.0), status("v2", T0, battery_pct=50.0)]),
        )
    late = [
        status("v1", T0 - timedelta(minutes=5), battery_pct=99.0),  # older: ignored
        status("v2", T0 + timedelta(minutes=5), battery_pct=40.0),  # newer: applied
        status("v3", T0 - timedelta(days=1), battery_pct=10.0),  # unknown: inserted
    ]
    with mini.begin() as conn:
        assert state.save_vehicle_status(conn, "mini", status_frame(late)) == 2
        assert state.save_vehicle_status(conn, "mini", status_frame([])) == 0
    with mini.connect() as conn:
        got = stored_status(conn)
    assert got == {
        "v1": (T0, 50.0),
        "v2": (T0 + timedelta(minutes=5), 40.0),
        "v3": (T0 - timedelta(days=1), 10.0),
    }


def test_vehicle_status_times_are_instants_whatever_the_zone(mini: Store) -> None:
    """observed_at given in local time is stored and compared as the same instant.

    The newer observation arrives as Chicago time (10:00-05:00 = 15:00Z); an older one at
    14:00Z must not replace it, and the stored time reads back as 15:00Z on both backends.
    """
    with mini.begin() as conn:
        state.save_vehicle_status(
            conn, "mini", status_frame([status("v1", T0, battery_pct=50.0)], tz="America/Chicago")
        )
    with mini.begin() as conn:
        older = status_frame([status("v1", T0 - timedelta(hours=1), battery_pct=99.0)])
        assert state.save_vehicle_status(conn, "mini", older) == 0
    with mini.connect() as conn:
        observed, battery = stored_status(conn)["v1"]
    assert battery == 50.0
    assert observed == T0
    assert observed.utcoffset() == timedelta(0)


# --- ingest log ------------------------------------------------------------------------


def ingest(conn: Connection, ingest_id: str, system_id: str = "mini") -> None:
    """Start an ingest of a file into system ``system_id``."""
    records.start_ingest(
        conn,
        ingest_id=ingest_id,
        system_id=system_id,
        source="files",
        dataset="trips",
        location=f"/data/{ingest_id}.csv",
    )


def test_ingest_log_start_finish_recent(store: Store) -> None:
    """An ingest is 'running' with zero counts until finished; then it carries its outcome.

    recent_ingests() lists newest first, filters by system and honours the limit; times are
    timezone-aware UTC on both backends.
    """
    before = datetime.now(UTC)
    with store.begin() as conn:
        ingest(conn, "i1")
        ingest(conn, "i2", system_id="other")
        ingest(conn, "i3")
    with store.connect() as conn:
        running = records.recent_ingests(conn, limit=1)[0]
    assert running["ingest_id"] == "i3"
    assert running["status"] == "running"
    assert running["finished_at"] is None
    assert (running["rows_read"], running["rows_new"], running["rejects_by_reason"]) == (0, 0, {})
    with store.begin() as conn:
        records.finish_ingest(
            conn,
            "i1",
            status="ok",
            rows_read=10,
            rows_accepted=8,
            rows_rejected=2,
            rows_new=8,
            rejects_by_reason={"absurd duration": 2},
            message="8 trips",
        )
    with store.connect() as conn:
        everything = records.recent_ingests(conn)
        mine = records.recent_ingests(conn, system_id="mini")
    assert [e["ingest_id"] for e in everything] == ["i3", "i2", "i1"]
    assert [e["ingest_id"] for e in mine] == ["i3", "i1"]
    done = mine[1]
    assert done["status"] == "ok"
    assert (done["rows_read"], done["rows_accepted"], done["rows_rejected"]) == (10, 8, 2)
    assert done["rejects_by_reason"] == {"absurd duration": 2}
    assert done["message"] == "8 trips"
    assert done["location"] == "/data/i1.csv"
    assert "id" not in done and "content_sha256" not in done
    assert done["started_at"].utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= done["started_at"] <= done["finished_at"]
    assert done["finished_at"] <= datetime.now(UTC) + timedelta(seconds=1)


def test_ingest_ids_are_unique(store: Store) -> None:
    """Starting the same ingest twice is refused by the db."""
    with store.begin() as conn:
        ingest(conn, "dup")
    with pytest.raises(IntegrityError), store.begin() as conn:
        ingest(conn, "dup")


# --- delete ----------------------------------------------------------------------------


def test_delete_system(mini: Store) -> None:
    """delete_system removes the system and its zones, demand, vehicles and parkings, keeps
    its ingest log, and leaves other systems untouched."""
    with mini.begin() as conn:
        records.save_system(conn, mini_system("other"))
        records.save_zones(conn, "other", pl.DataFrame({"zone_id": ["1"], "name": ["One"]}))
        records.replace_demand(conn, "mini", demand({("1", july(1)): 5}))
        records.replace_demand(conn, "other", demand({("1", july(1)): 6}))
        state.save_vehicle_status(conn, "mini", status_frame([status("v1", T0)]))
        records.upsert(conn, Parking, [parking("a")])
        ingest(conn, "i1")
        records.delete_system(conn, "mini")
    with mini.connect() as conn:
        assert records.list_system_ids(conn) == ["other"]
        for model in (Zone, DemandDaily, VehicleStatus, Parking):
            assert records.count_rows(conn, model, "mini") == 0, model.__name__
        assert records.count_rows(conn, Zone, "other") == 1
        assert records.load_demand(conn, "other")["trips"].to_list() == [6]
        assert [e["ingest_id"] for e in records.recent_ingests(conn)] == ["i1"]
        with pytest.raises(UnknownSystemError):
            records.get_system(conn, "mini")
    with mini.begin() as conn:
        records.delete_system(conn, "mini")  # deleting twice is harmless
