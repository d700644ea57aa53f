"""Tests of the lake: partitioned Parquet that is idempotent, atomic and safe with system ids."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcast.domain import TRIPS, VEHICLE_STATUS, WEATHER_DAILY, Dataset, conform
from fleetcast.errors import SchemaError, StoreError
from fleetcast.store import Store
from fleetcast.store.lake import AppendResult, Lake, check_system_id

CHICAGO = ZoneInfo("America/Chicago")
FAST = settings(max_examples=50, deadline=None)


def trip(
    trip_id: str,
    started_at: datetime,
    *,
    system_id: str = "a",
    vehicle_id: str = "v1",
    distance_m: float = 1000.0,
    start_zone: str | None = "1",
) -> dict[str, Any]:
    """One trip row; ``date`` is the local (Chicago) day it started, as the contract says."""
    return {
        "system_id": system_id,
        "trip_id": trip_id,
        "vehicle_id": vehicle_id,
        "started_at": started_at,
        "ended_at": started_at + timedelta(minutes=10),
        "start_zone": start_zone,
        "distance_m": distance_m,
        "date": started_at.astimezone(CHICAGO).date(),
    }


def frame(
    rows: Iterable[Mapping[str, Any]], schema: dict[str, pl.DataType] = TRIPS
) -> pl.DataFrame:
    """Rows conformed to a lake schema (absent columns become nulls)."""
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=schema)
    return conform(pl.DataFrame(rows, infer_schema_length=None), schema)


def noon(day: int) -> datetime:
    """Noon in Chicago (17:00 UTC) on 2024-07-<day>."""
    return datetime(2024, 7, day, 17, tzinfo=UTC)


def files_under(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (hidden ones too) with its bytes, keyed by relative path."""
    out: dict[str, bytes] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def sorted_rows(df: pl.DataFrame, keys: Iterable[str]) -> pl.DataFrame:
    """Rows in key order, for comparing frames regardless of partition order."""
    return df.sort(list(keys))


@pytest.fixture
def lake(sqlite_store: Store) -> Lake:
    """The lake of a fresh SQLite-backed store (a temporary folder)."""
    return sqlite_store.lake


@pytest.fixture
def three_days(lake: Lake) -> pl.DataFrame:
    """Four trips of system 'a' on 1, 2 and 3 July 2024 (two on the 2nd), already appended."""
    rows = frame(
        [trip("t1", noon(1)), trip("t2", noon(2)), trip("t3", noon(2)), trip("t4", noon(3))]
    )
    lake.append(Dataset.TRIPS, rows)
    return rows


# --- round trip and layout -------------------------------------------------------------


def test_append_then_read_round_trip(lake: Lake, three_days: pl.DataFrame) -> None:
    """What goes in comes out: same rows, exactly the TRIPS schema, UTC times kept."""
    back = lake.read(Dataset.TRIPS)
    assert back.schema == pl.Schema(TRIPS)
    assert sorted_rows(back, ["trip_id"]).equals(sorted_rows(three_days, ["trip_id"]))
    assert back["started_at"].dtype == pl.Datetime("us", "UTC")


def test_partition_layout(lake: Lake, three_days: pl.DataFrame) -> None:
    """Trips are one file per system and local day: trips/system_id=a/date=YYYY-MM-DD/part-0."""
    root = Path(lake.root)
    assert sorted(files_under(root)) == [
        "trips/system_id=a/date=2024-07-01/part-0.parquet",
        "trips/system_id=a/date=2024-07-02/part-0.parquet",
        "trips/system_id=a/date=2024-07-03/part-0.parquet",
    ]
    parts = lake.partitions(Dataset.TRIPS)
    assert [(p.system_id, p.label, p.first_day, p.last_day) for p in parts] == [
        ("a", f"date=2024-07-0{d}", date(2024, 7, d), date(2024, 7, d)) for d in (1, 2, 3)
    ]


def test_local_day_decides_the_partition(lake: Lake) -> None:
    """A trip at 02:00 UTC on 2 July started on 1 July in Chicago, and is filed under the 1st."""
    late = datetime(2024, 7, 2, 2, tzinfo=UTC)
    lake.append(Dataset.TRIPS, frame([trip("night", late)]))
    assert [p.label for p in lake.partitions(Dataset.TRIPS)] == ["date=2024-07-01"]


def test_weather_is_partitioned_by_year(lake: Lake) -> None:
    """Small yearly datasets get one file per system and year, spanning the whole year."""
    weather = frame(
        [
            {"system_id": "a", "date": date(2023, 12, 31), "kind": "observed", "precip_mm": 1.0},
            {"system_id": "a", "date": date(2024, 1, 1), "kind": "observed", "precip_mm": 2.0},
            {"system_id": "a", "date": date(2024, 6, 1), "kind": "forecast", "precip_mm": 0.0},
        ],
        WEATHER_DAILY,
    )
    result = lake.append(Dataset.WEATHER_DAILY, weather)
    assert result == AppendResult(rows=3, rows_new=3, partitions=2)
    assert sorted(files_under(Path(lake.root))) == [
        "weather_daily/system_id=a/year=2023/part-0.parquet",
        "weather_daily/system_id=a/year=2024/part-0.parquet",
    ]
    parts = lake.partitions(Dataset.WEATHER_DAILY, start=date(2024, 3, 1))
    assert [(p.first_day, p.last_day) for p in parts] == [(date(2024, 1, 1), date(2024, 12, 31))]
    back = lake.read(Dataset.WEATHER_DAILY, start=date(2024, 1, 1), end=date(2024, 1, 31))
    assert back.schema == pl.Schema(WEATHER_DAILY)
    assert back["precip_mm"].to_list() == [2.0]


def test_vehicle_status_keys_include_the_time(lake: Lake) -> None:
    """Two snapshots of one vehicle are history (different observed_at), a repeat is not."""
    t0 = datetime(2024, 7, 1, 15, tzinfo=UTC)
    snaps = [
        {"system_id": "a", "vehicle_id": "v1", "observed_at": t0, "date": date(2024, 7, 1)},
        {
            "system_id": "a",
            "vehicle_id": "v1",
            "observed_at": t0 + timedelta(minutes=1),
            "date": date(2024, 7, 1),
        },
    ]
    assert lake.append(Dataset.VEHICLE_STATUS, frame(snaps, VEHICLE_STATUS)).rows_new == 2
    assert lake.append(Dataset.VEHICLE_STATUS, frame(snaps, VEHICLE_STATUS)).rows_new == 0
    lake.append(Dataset.VEHICLE_STATUS, frame(snaps[:1], VEHICLE_STATUS))
    assert lake.read(Dataset.VEHICLE_STATUS).height == 2


def test_snapshots_add_files_and_compaction_merges_them(lake: Lake) -> None:
    """Each poll adds a file to its day without rewriting it; reads see every key once;
    compaction leaves one file per day with the same rows, and leaves today alone."""
    t0 = datetime(2024, 7, 1, 15, tzinfo=UTC)
    polls = [
        frame(
            [
                {
                    "system_id": "a",
                    "vehicle_id": v,
                    "observed_at": t0 + timedelta(minutes=m),
                    "date": date(2024, 7, 1 + m // 1440),
                }
                for v in ("v1", "v2")
            ],
            VEHICLE_STATUS,
        )
        for m in (0, 1, 2, 1440)
    ]
    for poll in polls:
        lake.append(Dataset.VEHICLE_STATUS, poll)
    lake.append(Dataset.VEHICLE_STATUS, polls[1].head(1))
    day1 = [p for p in lake.partitions(Dataset.VEHICLE_STATUS) if p.first_day == date(2024, 7, 1)]
    assert len(day1) == 4
    before = lake.read(Dataset.VEHICLE_STATUS).sort("vehicle_id", "observed_at")
    assert before.height == 8
    removed = lake.compact(Dataset.VEHICLE_STATUS, before=date(2024, 7, 2))
    assert removed == 4
    parts = lake.partitions(Dataset.VEHICLE_STATUS)
    assert [p.first_day for p in parts] == [date(2024, 7, 1), date(2024, 7, 2)]
    assert lake.read(Dataset.VEHICLE_STATUS).sort("vehicle_id", "observed_at").equals(before)
    with pytest.raises(ValueError, match="not a snapshot"):
        lake.compact(Dataset.TRIPS)


def test_systems_are_apart(lake: Lake) -> None:
    """scan(system_id=...) sees only that system; the same trip id in two systems is two rows."""
    lake.append(Dataset.TRIPS, frame([trip("t1", noon(1)), trip("t1", noon(1), system_id="b")]))
    assert lake.read(Dataset.TRIPS).height == 2
    only_b = lake.read(Dataset.TRIPS, system_id="b")
    assert only_b["system_id"].to_list() == ["b"]
    assert lake.read(Dataset.TRIPS, system_id="zzz").is_empty()


def test_empty_lake_and_empty_append(lake: Lake) -> None:
    """Scanning nothing gives an empty frame with the schema; appending nothing writes nothing."""
    assert lake.read(Dataset.TRIPS).schema == pl.Schema(TRIPS)
    assert lake.read(Dataset.TRIPS).is_empty()
    assert lake.append(Dataset.TRIPS, frame([])) == AppendResult(0, 0, 0)
    assert files_under(Path(lake.root)) == {}


# --- idempotency -----------------------------------------------------------------------


def test_rows_new_counts(lake: Lake, three_days: pl.DataFrame) -> None:
    """rows_new counts keys the lake had not seen; a replaced row is written but not new."""
    again = lake.append(Dataset.TRIPS, three_days)
    assert again == AppendResult(rows=4, rows_new=0, partitions=3)
    changed = frame([trip("t2", noon(2), vehicle_id="v9"), trip("t5", noon(4))])
    result = lake.append(Dataset.TRIPS, changed)
    assert result == AppendResult(rows=2, rows_new=1, partitions=2)
    back = lake.read(Dataset.TRIPS)
    assert back.height == 5
    assert back.filter(pl.col("trip_id") == "t2")["vehicle_id"].to_list() == ["v9"]


def test_duplicate_keys_in_one_frame(lake: Lake) -> None:
    """Within one append the last row of a key wins, and counts are of distinct keys."""
    rows = frame([trip("t1", noon(1), vehicle_id="old"), trip("t1", noon(1), vehicle_id="new")])
    assert lake.append(Dataset.TRIPS, rows) == AppendResult(rows=1, rows_new=1, partitions=1)
    assert lake.read(Dataset.TRIPS)["vehicle_id"].to_list() == ["new"]


TRIP_IDS = [f"t{i}" for i in range(8)]
trip_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from(TRIP_IDS),
        st.sampled_from(["v1", "v2", "v3"]),
        st.floats(0, 1e5, allow_nan=False),
    ),
    max_size=20,
)


def trips_from(draws: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    """Trips from hypothesis draws; a trip id always starts on the same day (ids are stable)."""
    return frame(
        trip(tid, noon(1 + TRIP_IDS.index(tid) % 3), system_id=sid, vehicle_id=v, distance_m=d)
        for sid, tid, v, d in draws
    )


def reference_merge(*batches: list[tuple[str, str, str, float]]) -> dict[tuple[str, str], Any]:
    """Plain-Python oracle: later rows replace earlier ones with the same (system, trip) key."""
    merged: dict[tuple[str, str], Any] = {}
    for batch in batches:
        for sid, tid, v, d in batch:
            merged[(sid, tid)] = (v, d)
    return merged


def lake_contents(lake: Lake) -> dict[tuple[str, str], Any]:
    """The lake's trips as {(system, trip): (vehicle, distance)}, failing on duplicate keys."""
    back = lake.read(Dataset.TRIPS)
    keys = list(zip(back["system_id"], back["trip_id"], strict=True))
    assert len(keys) == len(set(keys)), "a key is stored twice"
    values = zip(back["vehicle_id"], back["distance_m"], strict=True)
    return dict(zip(keys, values, strict=True))


@FAST
@given(trip_rows)
def test_appending_twice_equals_once(draws: list[tuple[str, str, str, float]]) -> None:
    """Re-ingesting the same input leaves the same rows, files and bytes, and finds nothing new."""
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(tmp)
        rows = trips_from(draws)
        first = lake.append(Dataset.TRIPS, rows)
        once = lake_contents(lake)
        second = lake.append(Dataset.TRIPS, rows)
        assert lake_contents(lake) == once == reference_merge(draws)
        assert second.rows_new == 0
        assert first.rows_new == first.rows == len(once)
        assert sorted(files_under(Path(tmp))) == [
            p.path[len(tmp) + 1 :] for p in lake.partitions(Dataset.TRIPS)
        ]


@FAST
@given(trip_rows, trip_rows)
def test_later_append_replaces_shared_keys(
    a: list[tuple[str, str, str, float]], b: list[tuple[str, str, str, float]]
) -> None:
    """A then B holds B's rows plus A's rows whose keys B lacks; rows_new counts B's fresh keys."""
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(tmp)
        lake.append(Dataset.TRIPS, trips_from(a))
        result = lake.append(Dataset.TRIPS, trips_from(b))
        assert lake_contents(lake) == reference_merge(a, b)
        fresh_keys = set(reference_merge(b)) - set(reference_merge(a))
        assert result.rows_new == len(fresh_keys)
        assert result.rows == len(reference_merge(b))


def test_a_key_that_moves_to_another_day_is_not_duplicated(lake: Lake) -> None:
    """The same trip id re-ingested with another start day replaces the old row (contract)."""
    lake.append(Dataset.TRIPS, frame([trip("t1", noon(1)), trip("t2", noon(1))]))
    moved = lake.append(Dataset.TRIPS, frame([trip("t1", noon(2))]))
    stored = lake.read(Dataset.TRIPS).sort("trip_id")
    assert stored["trip_id"].to_list() == ["t1", "t2"]
    assert stored["date"].to_list() == [date(2024, 7, 2), date(2024, 7, 1)]
    assert moved.rows_new == 0


def test_a_partition_emptied_by_moves_disappears(lake: Lake) -> None:
    """When every row of a day moves to another day, the old day's file is removed."""
    lake.append(Dataset.TRIPS, frame([trip("t1", noon(1))]))
    lake.append(Dataset.TRIPS, frame([trip("t1", noon(2))]))
    assert [p.label for p in lake.partitions(Dataset.TRIPS)] == ["date=2024-07-02"]


# --- pruning ---------------------------------------------------------------------------


def test_scan_prunes_to_the_date_range(lake: Lake, three_days: pl.DataFrame) -> None:
    """scan(start, end) opens only the partitions in range (others could be unreadable)."""
    outside = Path(lake.root) / "trips/system_id=a/date=2024-07-01/part-0.parquet"
    outside.write_bytes(b"not parquet at all")
    got = lake.read(Dataset.TRIPS, start=date(2024, 7, 2), end=date(2024, 7, 3))
    assert sorted(got["trip_id"].to_list()) == ["t2", "t3", "t4"]
    only_2nd = lake.read(Dataset.TRIPS, start=date(2024, 7, 2), end=date(2024, 7, 2))
    assert sorted(only_2nd["trip_id"].to_list()) == ["t2", "t3"]
    assert lake.read(Dataset.TRIPS, start=date(2024, 7, 10)).is_empty()
    parts = lake.partitions(Dataset.TRIPS, system_id="a", end=date(2024, 7, 1))
    assert [p.label for p in parts] == ["date=2024-07-01"]


def test_scan_ignores_stray_folders(lake: Lake, three_days: pl.DataFrame) -> None:
    """Folders that are not partitions, and partition folders without a file, are skipped."""
    root = Path(lake.root) / "trips" / "system_id=a"
    (root / "notes").mkdir()
    (root / "date=2024-07-09").mkdir()
    assert len(lake.partitions(Dataset.TRIPS)) == 3
    assert lake.read(Dataset.TRIPS).height == 4


# --- atomicity -------------------------------------------------------------------------


@pytest.mark.parametrize("fail_on", [1, 3])
@pytest.mark.parametrize("how", ["before_writing", "after_a_partial_write"])
def test_failed_append_leaves_the_lake_as_it_was(
    lake: Lake,
    three_days: pl.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    fail_on: int,
    how: str,
) -> None:
    """A write that fails on the Nth partition leaves every old file byte-identical, creates
    no new partition file and leaves no ``*.tmp`` behind, whether the failing write had
    already put some bytes on disk or not."""
    root = Path(lake.root)
    before = files_under(root)
    rows_before = lake.read(Dataset.TRIPS)
    calls = 0
    real_write = Lake._write

    def flaky_write(self: Lake, rows: pl.DataFrame, path: str) -> None:
        nonlocal calls
        calls += 1
        if calls == fail_on:
            if how == "after_a_partial_write":
                Path(path).write_bytes(b"PAR1 half a file")
            raise StoreError(f"could not write {path}: disk full")
        real_write(self, rows, path)

    monkeypatch.setattr(Lake, "_write", flaky_write)
    update = frame(
        [
            trip("t1", noon(1), vehicle_id="changed"),
            trip("t2", noon(2), vehicle_id="changed"),
            trip("t4", noon(3), vehicle_id="changed"),
            trip("t9", noon(4)),
        ]
    )
    with pytest.raises(StoreError, match="disk full"):
        lake.append(Dataset.TRIPS, update)
    after = files_under(root)
    assert not [name for name in after if name.endswith(".tmp")]
    assert after == before
    assert lake.read(Dataset.TRIPS).equals(rows_before)
    monkeypatch.undo()
    # and the lake still works: the same append succeeds afterwards
    assert lake.append(Dataset.TRIPS, update).rows_new == 1


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["../x", "A", "", "a/b", "a b", "-a", "_a", "x\n", "é", "a" * 65, "a.b"]
)
def test_check_system_id_rejects_unsafe_ids(bad: str) -> None:
    """Ids become folder names: anything beyond lower-case letters, digits, '-' and '_' fails."""
    with pytest.raises(ValueError, match="not understood"):
        check_system_id(bad)


@pytest.mark.parametrize("good", ["a", "chicago", "chicago-2020", "demo_city", "9", "a" * 64])
def test_check_system_id_accepts_safe_ids(good: str) -> None:
    """Safe ids are returned unchanged."""
    assert check_system_id(good) == good


def test_append_with_unsafe_system_id_writes_nothing(lake: Lake, tmp_path: Path) -> None:
    """A frame with a path-like system id is refused before anything touches the disk."""
    rows = frame([trip("t1", noon(1), system_id="../escape")])
    with pytest.raises(ValueError, match="not understood"):
        lake.append(Dataset.TRIPS, rows)
    assert files_under(Path(lake.root)) == {}
    assert not (Path(lake.root).parent / "escape").exists()


@pytest.mark.parametrize("column", ["system_id", "trip_id", "date"])
def test_null_keys_are_refused(lake: Lake, column: str) -> None:
    """A row without its key or partition day cannot be de-duplicated: nothing is written."""
    rows = frame([trip("t1", noon(1)), trip("t2", noon(2))]).with_columns(
        pl.when(pl.col("trip_id") == "t2").then(None).otherwise(pl.col(column)).alias(column)
    )
    with pytest.raises(SchemaError, match="null"):
        lake.append(Dataset.TRIPS, rows)
    assert files_under(Path(lake.root)) == {}


def test_missing_columns_are_named(lake: Lake) -> None:
    """A frame lacking schema columns is a SchemaError listing them."""
    rows = frame([trip("t1", noon(1))]).drop("vehicle_id", "provider")
    with pytest.raises(SchemaError, match=r"vehicle_id.*provider"):
        lake.append(Dataset.TRIPS, rows)


# --- delete ----------------------------------------------------------------------------


def test_delete_removes_one_system(lake: Lake, three_days: pl.DataFrame) -> None:
    """delete() removes every file of one system, reports how many, and leaves others alone."""
    lake.append(Dataset.TRIPS, frame([trip("t1", noon(1), system_id="b")]))
    assert lake.delete(Dataset.TRIPS, system_id="a") == 3
    assert lake.read(Dataset.TRIPS)["system_id"].to_list() == ["b"]
    assert not (Path(lake.root) / "trips" / "system_id=a").exists()
    assert lake.delete(Dataset.TRIPS, system_id="a") == 0
    assert lake.delete(Dataset.WEATHER_DAILY, system_id="b") == 0
    with pytest.raises(ValueError, match="not understood"):
        lake.delete(Dataset.TRIPS, system_id="..")
