"""Good-path trip ingests on both backends: idempotence, demand, generic files, H3, crashes."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from itertools import product
from pathlib import Path
from zoneinfo import ZoneInfo

import h3
import polars as pl
import pytest

from fleetcast.domain import Dataset
from fleetcast.errors import StoreError
from fleetcast.geo import Zoning
from fleetcast.jobs import ingest_chicago_file, ingest_trips_file
from fleetcast.sources import chicago
from fleetcast.sources.chicago_sample import sample_trips
from fleetcast.sources.files import parse_mapping
from fleetcast.store import Store, records
from fleetcast.store.lake import Lake

GENERIC = Path(__file__).resolve().parents[1] / "data" / "trips" / "generic_trips.csv"
CHICAGO_TZ = "America/Chicago"
MAP = parse_mapping(
    [
        "started_at=begin,ended_at=finish,start_lat=from_lat,start_lon=from_lon",
        "end_lat=to_lat,end_lon=to_lon,distance_m=meters",
        "vehicle_id=bike,provider=operator",
    ]
)
GENERIC_ZONES = {
    "r1": ("1", "2"),
    "r2": ("4", "3"),
    "r3": ("2", "4"),
    "r4": ("4", "1"),
}
"""Zones of the good rows of generic_trips.csv over the mini squares (by their coordinates)."""


@pytest.fixture
def mini(mini_zones_path: Path) -> Zoning:
    """The four test squares as community areas."""
    return chicago.community_areas(mini_zones_path)


def write_sample(
    path: Path, zoning: Zoning, *, rows: int, seed: int, start: date, days: int
) -> Path:
    """A portal-layout CSV of generated trips starting on ``start`` for ``days`` days."""
    sample_trips(zoning, rows=rows, seed=seed, start=start, days=days).write_csv(path)
    return path


def demand(store: Store, system_id: str) -> pl.DataFrame:
    """Stored daily demand of a system."""
    with store.connect() as conn:
        return records.load_demand(conn, system_id)


def zone_ids(store: Store, system_id: str) -> list[str]:
    """Zone ids of a system, sorted."""
    with store.connect() as conn:
        return sorted(records.load_zones(conn, system_id)["zone_id"])


def assert_demand_is_complete(store: Store, system_id: str, timezone: str) -> None:
    """Stored demand has every zone on every day from its first to its last, zero-filled,
    and counts what the lake holds.

    Oracle: trips per (start zone, local day of started_at via zoneinfo) counted in Python
    from the lake rows; the lake's own ``date`` column is not used.
    """
    stored = demand(store, system_id)
    first, last = stored["date"].min(), stored["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    zones = zone_ids(store, system_id)
    trips = store.lake.read(Dataset.TRIPS, system_id=system_id)
    tz = ZoneInfo(timezone)
    counts = Counter(
        (zone, started.astimezone(tz).date())
        for zone, started in trips.select("start_zone", "started_at").rows()
    )
    grid = set(product(zones, days))
    assert set(counts) <= grid
    got = {(z, d): n for z, d, n in stored.select("zone_id", "date", "trips").rows()}
    assert got == {key: counts.get(key, 0) for key in grid}
    assert stored.height == len(grid)


def sorted_trips(store: Store, system_id: str) -> pl.DataFrame:
    """The system's trips in the lake, by trip id."""
    return store.lake.read(Dataset.TRIPS, system_id=system_id).sort("trip_id")


def lake_files(store: Store) -> dict[str, bytes]:
    """Every file under the lake root with its bytes (temporary files included)."""
    root = Path(store.lake.root)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_reingest_is_idempotent(
    store: Store, mini: Zoning, mini_zones_path: Path, tmp_path: Path
) -> None:
    """Loading the same file twice keeps one copy: no new rows, same lake, same demand."""
    path = write_sample(tmp_path / "a.csv", mini, rows=200, seed=1, start=date(2020, 8, 12), days=6)
    first = ingest_chicago_file(store, path, zones=mini_zones_path)
    assert (first.rows_read, first.rows_accepted, first.rows_new, first.status) == (
        200,
        200,
        200,
        "ok",
    )
    trips, stored = sorted_trips(store, "chicago"), demand(store, "chicago")
    second = ingest_chicago_file(store, path, zones=mini_zones_path)
    assert (second.rows_accepted, second.rows_new, second.status) == (200, 0, "ok")
    assert second.ingest_id != first.ingest_id
    assert sorted_trips(store, "chicago").equals(trips)
    assert demand(store, "chicago").equals(stored)
    assert_demand_is_complete(store, "chicago", CHICAGO_TZ)
    with store.connect() as conn:
        logs = records.recent_ingests(conn, system_id="chicago")
    assert [(log["status"], log["rows_new"]) for log in logs] == [("ok", 0), ("ok", 200)]


def test_later_files_extend_demand_without_gaps(
    store: Store, mini: Zoning, mini_zones_path: Path, tmp_path: Path
) -> None:
    """Overlapping, later and earlier files each leave demand complete from first to last day.

    A file that overlaps adds its trips to the shared days; one after a gap or before the
    first day fills the days between with zeros, for every zone.
    """
    files = [
        (date(2020, 8, 12), 5, 1),
        (date(2020, 8, 15), 6, 2),
        (date(2020, 8, 25), 2, 3),
        (date(2020, 8, 5), 2, 4),
    ]
    loaded = 0
    for start, days, seed in files:
        path = write_sample(
            tmp_path / f"{seed}.csv", mini, rows=60, seed=seed, start=start, days=days
        )
        report = ingest_chicago_file(store, path, zones=mini_zones_path)
        loaded += report.rows_new
        assert report.rows_new == 60
        assert_demand_is_complete(store, "chicago", CHICAGO_TZ)
    stored = demand(store, "chicago")
    assert (stored["date"].min(), stored["date"].max()) == (date(2020, 8, 5), date(2020, 8, 26))
    assert stored["trips"].sum() == loaded == 240
    gap = stored.filter(pl.col("date").is_between(date(2020, 8, 21), date(2020, 8, 24)))
    assert gap.height == 4 * 4 and gap["trips"].sum() == 0


def test_generic_csv_with_a_column_mapping(store: Store, mini_zones_path: Path) -> None:
    """A CSV in its own layout loads through --map-style mapping into a new polygon system.

    Points become zones by point-in-polygon, naive times are local to the given timezone
    (r4 at 21:15 on 2 June counts on the 2nd, though it is the 3rd in UTC), and bad rows
    are quarantined with their reasons.
    """
    report = ingest_trips_file(
        store,
        GENERIC,
        system_id="acme",
        mapping={**MAP, "trip_id": "ride"},
        zones=mini_zones_path,
        timezone=CHICAGO_TZ,
        name="Acme scooters",
    )
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (6, 4, 2)
    assert report.reasons == {
        "absurd duration": 1,
        "ends before it starts": 1,
        "start outside every zone": 1,
    }
    trips = sorted_trips(store, "acme")
    assert {t: (s, e) for t, s, e in trips.select("trip_id", "start_zone", "end_zone").rows()} == (
        GENERIC_ZONES
    )
    assert trips["date"].to_list() == [date(2021, 6, 1)] * 2 + [date(2021, 6, 2)] * 2
    assert trips["provider"].unique().to_list() == ["Acme"]
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="acme")
    assert dict(quarantine.select("row_number", "reason").rows()) == {
        5: "ends before it starts; absurd duration",
        6: "start outside every zone",
    }
    with store.connect() as conn:
        system = records.get_system(conn, "acme")
    assert (system.name, system.timezone, system.zoning) == (
        "Acme scooters",
        CHICAGO_TZ,
        "polygons",
    )
    assert zone_ids(store, "acme") == ["1", "2", "3", "4"]
    assert_demand_is_complete(store, "acme", CHICAGO_TZ)


def test_generic_parquet_loads_like_the_csv(
    store: Store, mini_zones_path: Path, tmp_path: Path
) -> None:
    """The same trips as typed Parquet (aware and naive datetimes, numbers) load alike.

    The Parquet is written here from Python values: begin is timezone-aware, finish is
    naive local time, and r2 has no distance (the straight line is used, as for the CSV).
    """
    tz = ZoneInfo(CHICAGO_TZ)
    local = [
        (datetime(2021, 6, 1, 8, 5), datetime(2021, 6, 1, 8, 20)),
        (datetime(2021, 6, 1, 17, 30), datetime(2021, 6, 1, 17, 42)),
        (datetime(2021, 6, 2, 7, 0), datetime(2021, 6, 2, 7, 10)),
        (datetime(2021, 6, 2, 21, 15), datetime(2021, 6, 2, 21, 40)),
    ]
    path = tmp_path / "trips.parquet"
    pl.DataFrame(
        {
            "ride": ["r1", "r2", "r3", "r4"],
            "begin": pl.Series([b.replace(tzinfo=tz) for b, _ in local]).dt.convert_time_zone(
                CHICAGO_TZ
            ),
            "finish": [f for _, f in local],
            "from_lat": [41.905, 41.935, 41.912, 41.925],
            "from_lon": [-87.695, -87.675, -87.672, -87.665],
            "to_lat": [41.915, 41.925, 41.932, 41.905],
            "to_lon": [-87.665, -87.695, -87.668, -87.685],
            "meters": [2100, None, 1300, 2900],
            "bike": ["b-1", "b-2", "b-1", "b-3"],
            "operator": ["Acme"] * 4,
        }
    ).write_parquet(path)
    mapping = {**MAP, "trip_id": "ride"}
    from_parquet = ingest_trips_file(
        store, path, system_id="pq", mapping=mapping, zones=mini_zones_path, timezone=CHICAGO_TZ
    )
    ingest_trips_file(
        store, GENERIC, system_id="csv", mapping=mapping, zones=mini_zones_path, timezone=CHICAGO_TZ
    )
    assert (from_parquet.rows_read, from_parquet.rows_accepted, from_parquet.status) == (4, 4, "ok")
    columns = ["trip_id", "started_at", "ended_at", "start_zone", "end_zone", "distance_m"]
    columns += ["duration_s", "vehicle_id", "date"]
    assert (
        sorted_trips(store, "pq").select(columns).equals(sorted_trips(store, "csv").select(columns))
    )
    assert demand(store, "pq").drop("system_id").equals(demand(store, "csv").drop("system_id"))


def test_h3_zones_are_created_from_cells(store: Store, tmp_path: Path) -> None:
    """With an H3 resolution the zones are the cells trips start and end in.

    Oracle: h3.latlng_to_cell on each accepted row's points. A second file with trips in new
    cells adds zones, and the earlier days get zero rows for them (demand stays complete).
    """
    mapping = {**MAP, "trip_id": "ride"}
    report = ingest_trips_file(
        store, GENERIC, system_id="hex", mapping=mapping, h3_resolution=8, timezone=CHICAGO_TZ
    )
    assert (report.rows_accepted, report.rows_rejected) == (5, 1)
    trips = sorted_trips(store, "hex")
    points = trips.select("start_lat", "start_lon", "end_lat", "end_lon").rows()
    starts = [h3.latlng_to_cell(a, o, 8) for a, o, _, _ in points]
    ends = [h3.latlng_to_cell(a, o, 8) for _, _, a, o in points]
    assert trips["start_zone"].to_list() == starts
    assert trips["end_zone"].to_list() == ends
    assert zone_ids(store, "hex") == sorted(set(starts) | set(ends))
    with store.connect() as conn:
        system = records.get_system(conn, "hex")
    assert (system.zoning, system.h3_resolution) == ("h3", 8)
    assert_demand_is_complete(store, "hex", CHICAGO_TZ)

    later = tmp_path / "later.csv"
    later.write_text(
        "trip_id,started_at,ended_at,start_lat,start_lon\n"
        "far-1,2021-06-05 09:00,2021-06-05 09:20,41.80,-87.60\n"
    )
    ingest_trips_file(store, later, system_id="hex")
    assert h3.latlng_to_cell(41.80, -87.60, 8) in zone_ids(store, "hex")
    assert_demand_is_complete(store, "hex", CHICAGO_TZ)


def test_file_without_trip_ids_gets_stable_content_ids(
    store: Store, mini_zones_path: Path, tmp_path: Path
) -> None:
    """Without a trip id column each row's id comes from its content, so a re-load or a
    shuffled copy of the file adds nothing and keeps the same ids.
    """
    kwargs = {"system_id": "anon", "mapping": MAP, "timezone": CHICAGO_TZ}
    first = ingest_trips_file(store, GENERIC, zones=mini_zones_path, **kwargs)
    ids = sorted_trips(store, "anon")["trip_id"].to_list()
    assert first.rows_new == 4 and len(set(ids)) == 4
    assert not set(ids) & {"r1", "r2", "r3", "r4"}
    shuffled = tmp_path / "shuffled.csv"
    pl.read_csv(GENERIC, infer_schema=False).reverse().drop("ride").write_csv(shuffled)
    for path in (GENERIC, shuffled):
        again = ingest_trips_file(store, path, **kwargs)
        assert (again.rows_accepted, again.rows_new) == (4, 0)
    assert sorted_trips(store, "anon")["trip_id"].to_list() == ids


class _WriteFails:
    """Stands in for Lake._write: the first ``ok`` files are written, then it raises."""

    def __init__(self, ok: int, *, partial: bool = False) -> None:
        self.ok, self.partial, self.calls = ok, partial, 0
        self.real = Lake._write

    def install(self, monkeypatch: pytest.MonkeyPatch) -> _WriteFails:
        """Put this in place of Lake._write (as a plain function, so it binds to the lake)."""

        def write(lake: Lake, frame: pl.DataFrame, path: str) -> None:
            self(lake, frame, path)

        monkeypatch.setattr(Lake, "_write", write)
        return self

    def __call__(self, lake: Lake, frame: pl.DataFrame, path: str) -> None:
        self.calls += 1
        if self.calls > self.ok:
            if self.partial:
                Path(path).write_bytes(b"PAR1 half a file")
            raise StoreError(f"could not write {path}: disk full (simulated)")
        self.real(lake, frame, path)


def test_crash_during_lake_append_leaves_previous_partitions(
    store: Store,
    mini: Zoning,
    mini_zones_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that fails after 2 of a file's partitions leaves the store as it was.

    Every lake file is byte for byte the same (the overlapping days' partitions included),
    no temporary file is left, demand is unchanged and the ingest is logged as failed.
    Re-running the same file afterwards completes it.
    """
    first = write_sample(tmp_path / "a.csv", mini, rows=80, seed=1, start=date(2020, 8, 12), days=5)
    second = write_sample(
        tmp_path / "b.csv", mini, rows=80, seed=2, start=date(2020, 8, 14), days=6
    )
    ingest_chicago_file(store, first, zones=mini_zones_path)
    before_files, before_demand = lake_files(store), demand(store, "chicago")

    fails = _WriteFails(ok=2).install(monkeypatch)
    with pytest.raises(StoreError, match="disk full"):
        ingest_chicago_file(store, second, zones=mini_zones_path)
    monkeypatch.undo()
    assert fails.calls == 3
    assert lake_files(store) == before_files
    assert demand(store, "chicago").equals(before_demand)
    with store.connect() as conn:
        log = records.recent_ingests(conn, system_id="chicago", limit=1)[0]
    assert log["status"] == "failed"
    assert log["message"].startswith("StoreError: could not write")

    report = ingest_chicago_file(store, second, zones=mini_zones_path)
    assert (report.rows_new, report.status) == (80, "ok")
    assert sorted_trips(store, "chicago").height == 160
    assert not [name for name in lake_files(store) if name.endswith(".tmp")]
    assert_demand_is_complete(store, "chicago", CHICAGO_TZ)


def test_write_dying_half_way_leaves_no_temp_file(
    sqlite_store: Store,
    mini: Zoning,
    mini_zones_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that dies after writing part of its temp file does not leave it behind.

    (The temp file being written when the failure hits is discarded with the finished ones.)
    """
    path = write_sample(tmp_path / "a.csv", mini, rows=40, seed=1, start=date(2020, 8, 12), days=4)
    _WriteFails(ok=1, partial=True).install(monkeypatch)
    with pytest.raises(StoreError):
        ingest_chicago_file(sqlite_store, path, zones=mini_zones_path)
    assert not [name for name in lake_files(sqlite_store) if name.endswith(".tmp")]
