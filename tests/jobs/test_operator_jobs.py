"""The operator jobs end to end on each store backend: MDS pages (tests/data/mds) and the
operator's database on the real MariaDB and PostgreSQL servers (skipped without them, failed
under CI=true): first and incremental reads, ties, crashes between lake and db, quarantine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Engine

import fleetcast.jobs.ingest
from fleetcast.domain import Dataset
from fleetcast.errors import ConfigError, NothingLoadedError, SchemaError, SourceError
from fleetcast.jobs.operator import NewSystem, ingest_mds, ingest_opsdb, reset_opsdb_watermark
from fleetcast.sources.opsdb import OpsdbConfig, TableMapping, Watermark
from fleetcast.store import Store, records, state
from servers import operator_db

MDS = Path(__file__).resolve().parents[1] / "data" / "mds"
CHICAGO = "America/Chicago"
T0 = datetime(2024, 6, 3, 8, 0)
TIME6 = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TIME6_TZ = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class CrashError(RuntimeError):
    """The injected failure that stands for a process dying."""


@pytest.fixture(params=["mariadb", "postgres"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The operator's database on each real server (MariaDB, PostgreSQL); a test may add a
    SQLite file by parametrizing ``source`` indirectly with "sqlite"."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'operator.db'}")
        yield engine
        engine.dispose()
        return
    engine = operator_db(request.param)
    yield engine
    engine.dispose()


@pytest.fixture
def table_name(source: Engine) -> Iterator[str]:
    """A unique table name in the operator's database, dropped after the test."""
    name = f"fc_{uuid.uuid4().hex[:12]}"
    yield name
    with source.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


def rides_table(name: str) -> sa.Table:
    """An operator's trips table: its own column names, naive local times."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("ride_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("started_at", TIME6),
        sa.Column("finished_at", TIME6),
        sa.Column("from_lat", sa.Float),
        sa.Column("from_lng", sa.Float),
        sa.Column("to_lat", sa.Float),
        sa.Column("to_lng", sa.Float),
        sa.Column("scooter", sa.String(20)),
    )


def ride(n: int, finished: datetime, *, minutes: int = 10) -> dict[str, Any]:
    """A ride from the first test square to the fourth that ended at ``finished``."""
    return {
        "ride_id": n,
        "started_at": finished - timedelta(minutes=minutes),
        "finished_at": finished,
        "from_lat": 41.905,
        "from_lng": -87.695,
        "to_lat": 41.935,
        "to_lng": -87.665,
        "scooter": f"S{n % 3}",
    }


def insert(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Create ``table`` if needed and add ``rows``."""
    with engine.begin() as conn:
        table.create(conn, checkfirst=True)
        conn.execute(table.insert(), rows)


def trips_config(engine: Engine, table: str, *, batch_size: int = 2) -> OpsdbConfig:
    """Read ``table`` by its finish time (ties ordered by ride id), a few rows at a time."""
    return OpsdbConfig(
        url=engine.url.render_as_string(hide_password=False),
        batch_size=batch_size,
        trips=TableMapping(
            entity="trips",
            table=table,
            watermark="finished_at",
            watermark_kind="timestamp",
            key="ride_id",
            columns={
                "trip_id": "ride_id",
                "started_at": "started_at",
                "ended_at": "finished_at",
                "start_lat": "from_lat",
                "start_lon": "from_lng",
                "end_lat": "to_lat",
                "end_lon": "to_lng",
                "vehicle_id": "scooter",
            },
        ),
    )


def run_trips(store: Store, config: OpsdbConfig, zones: Path) -> Any:
    """One read of the trips into system 'ops' (created with Chicago time and the squares)."""
    return ingest_opsdb(
        store,
        system_id="ops",
        config=config,
        entity="trips",
        new_system=NewSystem(timezone=CHICAGO, zones=zones),
    )


def lake_trips(store: Store, system_id: str = "ops") -> pl.DataFrame:
    """Every trip the lake holds for a system."""
    return store.lake.read(Dataset.TRIPS, system_id=system_id)


def demand_total(store: Store, system_id: str = "ops") -> int:
    """Trips counted in the stored daily demand of a system."""
    with store.connect() as conn:
        return int(records.load_demand(conn, system_id)["trips"].sum())


def watermark(store: Store, config: OpsdbConfig, entity: Any = "trips") -> Watermark | None:
    """The stored watermark of the config's table."""
    with store.connect() as conn:
        text = state.get_watermark(conn, "ops", config.source_key(entity), entity)
    return None if text is None else Watermark.decode(text)


def crash_on_call(number: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, except that its ``number``-th call raises CrashError instead."""
    calls = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == number:
            raise CrashError(f"injected crash in call {number}")
        return real(*args, **kwargs)

    return wrapped


def test_mds_trips_load_through_the_trips_path(store: Store, mini_zones_path: Path) -> None:
    """Good MDS trips reach the lake (without their route) and daily demand; bad ones the
    quarantine with their reasons; loading the pages again adds nothing."""
    report = ingest_mds(
        store,
        MDS / "v1_2" / "trips",
        system_id="mds",
        new_system=NewSystem(timezone=CHICAGO, zones=mini_zones_path),
    )
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (8, 4, 4)
    assert (report.rows_new, report.pages, report.version) == (4, 2, "1.2.0")
    assert report.status == "partial" and report.first_day == date(2024, 6, 3)
    trips = lake_trips(store, "mds")
    assert trips.height == 4 and "route" not in trips.columns
    assert set(trips["provider"]) == {"Example Mobility"}
    assert demand_total(store, "mds") == 4
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="mds")
    assert sorted(quarantine["reason"]) == [
        "duplicate trip id in this input",
        "ends before it starts",
        "no start zone and no start coordinates",
        "unparseable start time; unparseable end time",
    ]
    assert set(quarantine["source"]) == {"mds"}
    again = ingest_mds(store, MDS / "v1_2" / "trips", system_id="mds")
    assert again.rows_new == 0 and lake_trips(store, "mds").height == 4
    assert demand_total(store, "mds") == 4


def test_mds_trips_from_a_url_into_an_h3_system(sqlite_store: Store) -> None:
    """Pages fetched through links.next with a bearer token land in a new H3 system, whose
    zones are the cells the trips start and end in."""
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = request.url.params.get("page", "1")
        return httpx.Response(
            200, content=(MDS / "v2_0" / "trips" / f"page{page}.json").read_bytes()
        )

    with httpx.Client(transport=httpx.MockTransport(provider)) as client:
        report = ingest_mds(
            sqlite_store,
            "https://mds.example.com/v2/trips?end_time=2024-06-04T22",
            system_id="hex",
            token="t0k3n",
            client=client,
            new_system=NewSystem(timezone=CHICAGO, h3_resolution=8),
        )
    assert len(seen) == 2 and all(r.headers["Authorization"] == "Bearer t0k3n" for r in seen)
    assert (report.rows_accepted, report.rows_rejected) == (3, 1)
    with sqlite_store.connect() as conn:
        zones = set(records.load_zones(conn, "hex")["zone_id"])
    trips = lake_trips(sqlite_store, "hex")
    assert set(trips["start_zone"]) | set(trips["end_zone"]) == zones


def vehicle_state(store: Store, system_id: str = "mds") -> dict[str, dict[str, Any]]:
    """The db's newest state per vehicle, by vehicle id."""
    with store.connect() as conn:
        frame = state.load_vehicle_status(conn, system_id)
    return {r["vehicle_id"]: r for r in frame.iter_rows(named=True)}


DEV1 = "6f2a1741-2cf3-5b36-9b65-8f3c32631251"


def test_mds_status_changes_keep_history_and_the_newest_state(
    store: Store, mini_zones_path: Path
) -> None:
    """Every good change is history in the lake; the db keeps the newest per vehicle, which
    an older change (even loaded later) never overwrites; zones and flags come along."""
    report = ingest_mds(
        store,
        MDS / "v1_2" / "status_changes",
        system_id="mds",
        kind="status_changes",
        new_system=NewSystem(timezone=CHICAGO, zones=mini_zones_path),
    )
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (10, 7, 3)
    assert report.vehicles_updated == 4
    assert store.lake.read(Dataset.VEHICLE_STATUS, system_id="mds").height == 7
    now = vehicle_state(store)
    dev2 = next(v for k, v in now.items() if k.startswith("5155f8d1"))
    assert now[DEV1]["observed_at"] == datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
    assert (now[DEV1]["zone_id"], now[DEV1]["is_reserved"], now[DEV1]["battery_pct"]) == (
        "2",
        False,
        71.0,
    )
    assert (dev2["is_reserved"], dev2["observed_at"].hour) == (True, 13)
    assert sum(v["is_disabled"] for v in now.values()) == 2
    newer = ingest_mds(store, MDS / "v2_0" / "events", system_id="mds", kind="status_changes")
    assert newer.version == "2.0.0"
    assert vehicle_state(store)[DEV1]["zone_id"] == "4"
    replay = ingest_mds(
        store, MDS / "v1_2" / "status_changes", system_id="mds", kind="status_changes"
    )
    assert replay.rows_new == 0
    assert vehicle_state(store)[DEV1]["observed_at"] == datetime(2024, 6, 4, 22, 25, tzinfo=UTC)
    assert store.lake.read(Dataset.VEHICLE_STATUS, system_id="mds").height == 11


def test_a_feed_that_is_not_mds_changes_nothing_but_the_log(
    store: Store, mini_zones_path: Path
) -> None:
    """A wrong endpoint fails the run; the store keeps no trip and logs the failure."""
    with pytest.raises(SourceError, match="has no list of trips"):
        ingest_mds(
            store,
            MDS / "bad" / "wrong_endpoint.json",
            system_id="mds",
            new_system=NewSystem(timezone=CHICAGO, zones=mini_zones_path),
        )
    assert lake_trips(store, "mds").is_empty()
    with store.connect() as conn:
        (entry,) = records.recent_ingests(conn, system_id="mds")
    assert (entry["status"], entry["source"], entry["dataset"]) == ("failed", "mds", "trips")
    assert "has no list of trips" in entry["message"]


def test_status_changes_with_no_good_record_load_nothing(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """Only bad changes: NothingLoadedError with the reasons; no history, no state."""
    bad = {"device_id": "d1", "vehicle_state": "teleported", "event_time": 1717419720000}
    (tmp_path / "page1.json").write_text(
        json.dumps({"version": "1.2.0", "data": {"status_changes": [bad]}})
    )
    with pytest.raises(NothingLoadedError, match="unknown vehicle state") as err:
        ingest_mds(
            sqlite_store,
            tmp_path,
            system_id="mds",
            kind="status_changes",
            new_system=NewSystem(timezone=CHICAGO),
        )
    assert err.value.reasons == {"missing location": 1, "unknown vehicle state": 1}
    assert sqlite_store.lake.read(Dataset.VEHICLE_STATUS, system_id="mds").is_empty()
    assert vehicle_state(sqlite_store) == {}
    with sqlite_store.connect() as conn:
        (entry,) = records.recent_ingests(conn, system_id="mds")
    assert entry["status"] == "failed" and entry["rows_rejected"] == 1


def test_a_quiet_hour_is_logged_not_failed(sqlite_store: Store, tmp_path: Path) -> None:
    """A page with no events is an ok run of 0 rows."""
    (tmp_path / "page1.json").write_text(json.dumps({"version": "2.0.0", "events": []}))
    report = ingest_mds(
        sqlite_store,
        tmp_path,
        system_id="quiet",
        kind="status_changes",
        new_system=NewSystem(timezone="UTC"),
    )
    assert (report.status, report.rows_read, report.pages) == ("ok", 0, 1)


def test_a_new_system_needs_its_timezone_and_for_trips_its_zones(sqlite_store: Store) -> None:
    """The errors say which option to add."""
    with pytest.raises(SchemaError, match="--timezone"):
        ingest_mds(sqlite_store, MDS / "v1_2" / "trips", system_id="new")
    with pytest.raises(SchemaError, match=r"--zones ZONES.geojson .* --h3 RESOLUTION"):
        ingest_mds(
            sqlite_store,
            MDS / "v1_2" / "trips",
            system_id="new",
            new_system=NewSystem(timezone=CHICAGO),
        )


def test_opsdb_trips_first_then_incremental_with_ties_and_a_bad_row(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """The first read takes every finished ride in batches of 2 (three share a finish time,
    split across batches), quarantines the bad one with its reason and stores the watermark;
    the next read takes only the rides added since, including one tied with the watermark;
    a third read finds nothing."""
    table = rides_table(table_name)
    tie = T0 + timedelta(minutes=20)
    bad = {**ride(4, tie), "started_at": tie + timedelta(minutes=5)}
    insert(
        source,
        table,
        [ride(1, T0), ride(2, tie), ride(3, tie), bad, ride(5, tie + timedelta(minutes=1))],
    )
    config = trips_config(source, table_name)
    first = run_trips(store, config, mini_zones_path)
    assert (first.rows_read, first.rows_accepted, first.rows_rejected, first.batches) == (
        5,
        4,
        1,
        3,
    )
    assert first.watermark_before is None
    assert first.reasons == {"absurd duration": 1, "ends before it starts": 1}
    assert watermark(store, config) == Watermark(tie + timedelta(minutes=1), key=5)
    assert sorted(lake_trips(store)["trip_id"]) == ["1", "2", "3", "5"]
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="ops")
    assert json.loads(quarantine["record"][0])["ride_id"] == "4"
    insert(source, table, [ride(6, tie + timedelta(minutes=1)), ride(7, T0 + timedelta(hours=1))])
    second = run_trips(store, config, mini_zones_path)
    assert (second.rows_read, second.rows_new) == (2, 2)
    assert second.watermark_before == first.watermark_after
    assert sorted(lake_trips(store)["trip_id"]) == ["1", "2", "3", "5", "6", "7"]
    assert demand_total(store) == 6
    third = run_trips(store, config, mini_zones_path)
    assert (third.rows_read, third.batches, third.status) == (0, 0, "ok")
    assert third.watermark_after == second.watermark_after


@pytest.mark.parametrize(
    ("target", "attribute"),
    [(fleetcast.jobs.ingest, "refresh_demand"), (state, "set_watermark")],
    ids=["after-lake-write", "before-watermark"],
)
def test_opsdb_trips_crash_between_lake_and_db_then_rerun(
    store: Store,
    source: Engine,
    table_name: str,
    mini_zones_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    attribute: str,
) -> None:
    """The second batch dies after its trips reached the lake but before its watermark was
    committed; the re-run starts again at that batch and ends with every ride exactly once."""
    insert(
        source, rides_table(table_name), [ride(n, T0 + timedelta(minutes=n)) for n in range(1, 6)]
    )
    config = trips_config(source, table_name)
    monkeypatch.setattr(target, attribute, crash_on_call(2, getattr(target, attribute)))
    with pytest.raises(CrashError):
        run_trips(store, config, mini_zones_path)
    monkeypatch.undo()
    assert watermark(store, config) == Watermark(T0 + timedelta(minutes=2), key=2)
    assert lake_trips(store).height == 4
    report = run_trips(store, config, mini_zones_path)
    assert report.watermark_before == str(Watermark(T0 + timedelta(minutes=2), key=2))
    assert (report.rows_read, report.rows_new) == (3, 1)
    trips = lake_trips(store)
    assert sorted(trips["trip_id"]) == ["1", "2", "3", "4", "5"]
    assert demand_total(store) == 5
    assert watermark(store, config) == Watermark(T0 + timedelta(minutes=5), key=5)


def test_opsdb_batch_with_no_good_row_keeps_the_watermark(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """A batch in which every ride is bad fails with its reasons; the watermark stays before
    it, so the rows are read again once fixed."""
    rows = [{**ride(n, T0), "started_at": T0 + timedelta(minutes=1)} for n in (1, 2)]
    insert(source, rides_table(table_name), rows)
    config = trips_config(source, table_name)
    with pytest.raises(NothingLoadedError, match="the watermark stays at the start"):
        run_trips(store, config, mini_zones_path)
    assert watermark(store, config) is None
    with source.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table_name} SET started_at = finished_at"))
    assert run_trips(store, config, mini_zones_path).rows_accepted == 2


def test_opsdb_trips_with_a_null_key_quarantine_it_and_read_on(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """The key is a nullable column and the second ride (the last of the first batch of 2)
    has none: the run succeeds, that ride is quarantined with its reason and counted as
    read, the stored watermark keeps a real key, and the next run reads on without the
    crash that a stored null key caused (``key > NULL``)."""
    rows = [ride(n, T0 + timedelta(minutes=n)) for n in (1, 2, 3)]
    rows[1]["scooter"] = None
    insert(source, rides_table(table_name), rows)
    base = trips_config(source, table_name)
    assert base.trips is not None
    config = replace(base, trips=replace(base.trips, key="scooter"))
    first = run_trips(store, config, mini_zones_path)
    assert (first.rows_read, first.rows_accepted, first.rows_rejected) == (3, 2, 1)
    assert first.reasons == {"missing scooter (the key that orders rows)": 1}
    assert first.status == "partial"
    assert watermark(store, config) == Watermark(T0 + timedelta(minutes=3), key="S0")
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="ops")
    assert [json.loads(r)["ride_id"] for r in quarantine["record"]] == ["2"]
    insert(source, rides_table(table_name), [ride(4, T0 + timedelta(minutes=4))])
    second = run_trips(store, config, mini_zones_path)
    assert (second.rows_read, second.rows_new, second.rows_rejected) == (1, 1, 0)
    assert sorted(lake_trips(store)["trip_id"]) == ["1", "3", "4"]


def test_opsdb_refuses_a_watermark_taken_with_another_ordering(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """After a first read by finish time, a config that orders by another watermark column,
    kind or key is refused with a ConfigError naming the watermarks row to delete (the old
    watermark would compare a time with ids, or skip rows); the store is left as it was,
    and once the watermark is reset the table is read again from its first row."""
    insert(source, rides_table(table_name), [ride(n, T0 + timedelta(minutes=n)) for n in (1, 2)])
    config = trips_config(source, table_name)
    assert config.trips is not None
    run_trips(store, config, mini_zones_path)
    stored = watermark(store, config)
    changes: list[dict[str, Any]] = [
        {"watermark": "ride_id", "watermark_kind": "id"},
        {"watermark": "started_at"},
        {"key": "scooter"},
    ]
    for change in changes:
        changed = replace(config, trips=replace(config.trips, **change))
        with pytest.raises(ConfigError, match="watermarks table") as err:
            run_trips(store, changed, mini_zones_path)
        assert f"source = '{config.source_key('trips')}'" in str(err.value)
        assert "entity = 'trips'" in str(err.value)
        assert watermark(store, config) == stored
    by_id = replace(config, trips=replace(config.trips, watermark="ride_id", watermark_kind="id"))
    assert reset_opsdb_watermark(store, system_id="ops", config=by_id) is not None
    again = run_trips(store, by_id, mini_zones_path)
    assert (again.watermark_before, again.rows_read, again.rows_new) == (None, 2, 0)
    assert watermark(store, by_id) == Watermark(2)
    assert demand_total(store) == 2


def pings_table(name: str) -> sa.Table:
    """An operator's telemetry table: an id, a time (timestamptz on PostgreSQL) and JSON."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("scooter_id", sa.String(20)),
        sa.Column("recorded_at", TIME6_TZ),
        sa.Column("payload", JSON),
    )


def ping(
    engine: Engine, n: int, scooter: str, minute: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """A telemetry row at 13:MM UTC (naive on MariaDB, whose DATETIME has no zone)."""
    at = datetime(2024, 6, 3, 13, minute, tzinfo=UTC)
    naive = engine.dialect.name != "postgresql"
    return {
        "id": n,
        "scooter_id": scooter,
        "recorded_at": at.replace(tzinfo=None) if naive else at,
        "payload": payload,
    }


def pings(engine: Engine) -> list[dict[str, Any]]:
    """Five pings: S1 parks then rides off unlocked, S2 loses its fix, S3's battery is 130 %."""
    return [
        ping(
            engine,
            1,
            "S1",
            0,
            {"gps": {"lat": 41.905, "lng": -87.695}, "battery": 80, "locked": True},
        ),
        ping(
            engine,
            2,
            "S2",
            1,
            {
                "gps": {"lat": 41.931, "lng": -87.688},
                "battery": 55,
                "locked": True,
                "odometer_km": 12.5,
            },
        ),
        ping(engine, 3, "S3", 2, {"gps": {"lat": 41.92, "lng": -87.67}, "battery": 130}),
        ping(
            engine,
            4,
            "S1",
            5,
            {"gps": {"lat": 41.915, "lng": -87.675}, "battery": 78, "locked": False},
        ),
        ping(engine, 5, "S2", 6, {"battery": 54, "locked": True}),
    ]


def telemetry_config(engine: Engine, table: str) -> OpsdbConfig:
    """Read pings by id, two at a time, with the JSON keys guessed."""
    return OpsdbConfig(
        url=engine.url.render_as_string(hide_password=False),
        batch_size=2,
        timezone="UTC",
        telemetry=TableMapping(
            entity="telemetry",
            table=table,
            watermark="id",
            columns={"vehicle_id": "scooter_id", "observed_at": "recorded_at"},
            json_column="payload",
        ),
    )


def run_telemetry(store: Store, config: OpsdbConfig, zones: Path) -> Any:
    """One read of the telemetry into system 'ops'."""
    return ingest_opsdb(
        store,
        system_id="ops",
        config=config,
        entity="telemetry",
        new_system=NewSystem(timezone=CHICAGO, zones=zones),
    )


def telemetry_files(store: Store) -> pl.DataFrame:
    """Every telemetry row as stored, file by file (no de-duplication on read)."""
    paths = [p.path for p in store.lake.partitions(Dataset.TELEMETRY, system_id="ops")]
    return pl.read_parquet(paths) if paths else pl.DataFrame()


def test_opsdb_telemetry_flattens_json_and_sets_the_vehicle_state(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """Nested JSON becomes columns with the rest kept in ``extra``; a reading without a fix is
    kept; the db keeps each vehicle's newest position; 130 % battery is quarantined."""
    insert(source, pings_table(table_name), pings(source))
    config = telemetry_config(source, table_name)
    report = run_telemetry(store, config, mini_zones_path)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (5, 4, 1)
    assert report.reasons == {"battery outside 0-100 %": 1}
    assert report.watermark_after == "5" and report.vehicles_updated == 3
    lake = store.lake.read(Dataset.TELEMETRY, system_id="ops").sort("observed_at")
    assert lake["vehicle_id"].to_list() == ["S1", "S2", "S1", "S2"]
    assert lake["lat"].to_list() == [41.905, 41.931, 41.915, None]
    assert json.loads(lake["extra"][1]) == {"odometer_km": 12.5}
    assert lake["observed_at"][0] == datetime(2024, 6, 3, 13, 0, tzinfo=UTC)
    assert set(lake["date"]) == {date(2024, 6, 3)}
    now = vehicle_state(store, "ops")
    assert (now["S1"]["zone_id"], now["S1"]["is_reserved"], now["S1"]["battery_pct"]) == (
        "2",
        True,
        78.0,
    )
    assert (now["S2"]["zone_id"], now["S2"]["is_reserved"]) == ("3", False)
    assert "S3" not in now


def test_opsdb_telemetry_crash_before_the_db_commit_then_rerun(
    store: Store,
    source: Engine,
    table_name: str,
    mini_zones_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second batch dies after its lake write, inside the transaction that holds state,
    log and watermark; the re-run reads that batch again and stores each reading once."""
    insert(source, pings_table(table_name), pings(source))
    config = telemetry_config(source, table_name)
    monkeypatch.setattr(state, "save_vehicle_status", crash_on_call(2, state.save_vehicle_status))
    with pytest.raises(CrashError):
        run_telemetry(store, config, mini_zones_path)
    monkeypatch.undo()
    assert watermark(store, config, "telemetry") == Watermark(2)
    assert telemetry_files(store).height == 3
    report = run_telemetry(store, config, mini_zones_path)
    assert (report.watermark_before, report.watermark_after, report.rows_read) == ("2", "5", 3)
    stored = telemetry_files(store)
    assert stored.height == 4
    assert stored.select("vehicle_id", "observed_at").is_unique().all()
    with store.connect() as conn:
        log = records.recent_ingests(conn, system_id="ops", limit=10)
    assert [e["status"] for e in log if e["dataset"] == "telemetry"].count("failed") == 1
    assert vehicle_state(store, "ops")["S1"]["battery_pct"] == 78.0
    assert run_telemetry(store, config, mini_zones_path).rows_read == 0


@pytest.mark.parametrize("source", ["mariadb", "postgres", "sqlite"], indirect=True)
def test_opsdb_telemetry_with_a_null_key_in_row_two(
    store: Store, source: Engine, table_name: str, mini_zones_path: Path
) -> None:
    """The reviewer's case: pings read by id with the scooter as key, batches of 2, the
    second ping without a scooter. The run succeeds with that ping quarantined (its reason
    counted, read once), and a second run neither crashes nor reads it again."""
    rows = pings(source)[:3]
    rows[1]["scooter_id"] = None
    insert(source, pings_table(table_name), rows)
    base = telemetry_config(source, table_name)
    assert base.telemetry is not None
    config = replace(base, telemetry=replace(base.telemetry, key="scooter_id"))
    first = run_telemetry(store, config, mini_zones_path)
    assert (first.rows_read, first.rows_accepted, first.rows_rejected) == (3, 1, 2)
    assert first.reasons == {
        "battery outside 0-100 %": 1,
        "missing scooter_id (the key that orders rows)": 1,
    }
    assert watermark(store, config, "telemetry") == Watermark(3, key="S3")
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="ops")
    assert sorted(json.loads(r)["id"] for r in quarantine["record"]) == ["2", "3"]
    second = run_telemetry(store, config, mini_zones_path)
    assert (second.rows_read, second.batches, second.status) == (0, 0, "ok")
