"""The bad-input corpus (tests/data/bad) through the Chicago file ingest, on both backends.

Partly bad files load their good rows; each bad row is rejected with its reason, counted
in the ingest log and kept in the quarantine dataset. Unusable files raise a SchemaError
with a helpful message and leave the lake and daily demand as they were.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from fleetcast.domain import Dataset
from fleetcast.errors import NothingLoadedError, SchemaError
from fleetcast.jobs import ingest_chicago_file
from fleetcast.sources import chicago
from fleetcast.sources.chicago_sample import sample_trips
from fleetcast.store import Store, records

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
ZONES = ("1", "2", "3", "4")


@dataclass(frozen=True)
class Partial:
    """A file with good rows beside bad ones: what must load and why the rest must not."""

    file: str
    accepted: dict[str, tuple[str, str | None]]
    """Trip id -> (start zone, end zone) of every row that loads."""
    rejected: dict[int, str]
    """Row number (header is row 0) -> the full reason text."""
    encoding: str | None = None

    @property
    def reasons(self) -> dict[str, int]:
        """Rows per single reason, as the ingest log counts them."""
        return dict(Counter(r for text in self.rejected.values() for r in text.split("; ")))


GOOD = {"good-1": ("1", "2"), "good-2": ("3", "4")}
PARTIAL = [
    Partial(
        "missing_times.csv",
        GOOD,
        {
            2: "missing start time",
            4: "missing end time",
            5: "missing start time; missing end time",
        },
    ),
    Partial(
        "unparseable_times.csv",
        GOOD,
        {
            2: "unparseable start time",
            3: "unparseable end time",
            4: "unparseable start time; unparseable end time",
        },
    ),
    Partial(
        "end_before_start.csv",
        GOOD,
        {3: "ends before it starts", 4: "ends before it starts"},
    ),
    Partial(
        "absurd_durations.csv",
        {**GOOD, "one-day": ("1", "2")},
        {2: "absurd duration", 3: "absurd duration", 4: "unparseable duration"},
    ),
    Partial(
        "absurd_distances.csv",
        {**GOOD, "thousands": ("1", "2")},
        {2: "absurd distance", 3: "absurd distance", 4: "unparseable distance"},
    ),
    Partial(
        "outside_world.csv",
        GOOD,
        {
            2: "start coordinates outside the world",
            3: "end coordinates outside the world",
            4: "start coordinates outside the world; start outside every community area",
            5: "unparseable start coordinates",
        },
    ),
    Partial(
        "outside_zones.csv",
        {**GOOD, "located": ("3", "2"), "open-end": ("1", None)},
        {
            2: "start outside every community area",
            4: "end outside every community area",
            5: "no start community area and no start coordinates",
        },
    ),
    Partial(
        "duplicate_ids.csv",
        GOOD,
        {
            3: "duplicate trip id in this input",
            4: "duplicate trip id in this input",
            5: "missing trip id",
        },
    ),
    Partial(
        "unknown_area.csv",
        {**GOOD, "float-area": ("3", "4")},
        {
            2: "unknown start community area",
            3: "unknown end community area",
            5: "unknown start community area",
        },
    ),
    Partial(
        "ragged_rows.csv",
        GOOD,
        {2: "row has 15 fields, the header has 14", 4: "row has 5 fields, the header has 14"},
    ),
    Partial(
        "latin1.csv",
        {**GOOD, "moevil-1": ("2", "1")},
        {},
        encoding="latin-1",
    ),
    Partial("utf16.csv", GOOD, {}, encoding="utf-16"),
]


@dataclass(frozen=True)
class Unusable:
    """A file that cannot load at all: the error type and what its message must say."""

    file: str
    error: type[SchemaError]
    says: tuple[str, ...]
    reasons: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0


UNUSABLE = [
    Unusable(
        "wrong_columns.csv",
        SchemaError,
        (
            "missing column(s) ['Trip ID', 'Start Time', 'End Time', 'Trip Distance', "
            "'Trip Duration']",
            "the file has ['id', 'start', 'end',",
            "--map",
        ),
    ),
    Unusable("empty.csv", SchemaError, ("empty.csv is empty",)),
    Unusable(
        "header_only.csv",
        NothingLoadedError,
        ("no row of", "header_only.csv could be loaded (0 read)", "the store was not changed"),
    ),
    Unusable("latin1.csv", SchemaError, ("is not UTF-8 text", "--encoding latin-1")),
    Unusable("utf16.csv", SchemaError, ("is UTF-16 text", "--encoding utf-16")),
    Unusable(
        "all_bad.csv",
        NothingLoadedError,
        (
            "no row of",
            "all_bad.csv could be loaded (3 read; ends before it starts (1), "
            "missing start time (1), unknown start community area (1))",
            "the store was not changed",
        ),
        reasons={
            "ends before it starts": 1,
            "missing start time": 1,
            "unknown start community area": 1,
        },
        rows_read=3,
    ),
]


def raw_rows(path: Path, encoding: str | None) -> dict[int, list[str]]:
    """Data rows of a corpus file by number, read with Python's csv module (the oracle)."""
    with path.open(encoding=encoding or "utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return dict(enumerate(reader, start=1))


def newest_log(store: Store) -> dict[str, object]:
    """The latest ingest log entry of the Chicago system."""
    with store.connect() as conn:
        return records.recent_ingests(conn, system_id="chicago", limit=1)[0]


def lake_files(store: Store) -> dict[str, bytes]:
    """Every file under the lake root with its bytes (temporary files included)."""
    root = Path(store.lake.root)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def demand_rows(store: Store) -> list[tuple[object, ...]]:
    """Stored daily demand of the Chicago system as plain rows."""
    with store.connect() as conn:
        return records.load_demand(conn, "chicago").rows()


def expected_demand(case: Partial) -> list[tuple[object, ...]]:
    """Zero-filled demand of the accepted rows, every zone on every day between first and last.

    Oracle: the day written in the file's Start Time text (it is local Chicago time), so
    good-2 at 8 PM on 12 August counts on the 12th although it is the 13th in UTC.
    """
    started: dict[str, date] = {}
    for row in raw_rows(BAD / case.file, case.encoding).values():
        if row[0].strip() in case.accepted:
            started.setdefault(row[0].strip(), datetime.strptime(row[1][:10], "%m/%d/%Y").date())
    counts = Counter((zones[0], started[t]) for t, zones in case.accepted.items())
    days = sorted({d for _, d in counts})
    return [
        ("chicago", z, date.fromordinal(o), counts.get((z, date.fromordinal(o)), 0))
        for z in ZONES
        for o in range(days[0].toordinal(), days[-1].toordinal() + 1)
    ]


def test_corpus_is_covered_and_documented() -> None:
    """Every file of the corpus has a test case here and a line in its README, and back."""
    on_disk = {p.name for p in BAD.iterdir() if p.suffix == ".csv"}
    tested = {c.file for c in PARTIAL} | {c.file for c in UNUSABLE}
    assert tested == on_disk
    readme = (BAD / "README.md").read_text()
    documented = {line.split("`")[1] for line in readme.splitlines() if line.startswith("- `")}
    assert documented == on_disk


@pytest.mark.parametrize("case", PARTIAL, ids=lambda c: c.file)
def test_partly_bad_file_loads_good_rows_and_quarantines_the_rest(
    store: Store, mini_zones_path: Path, case: Partial
) -> None:
    """Good rows load with their zones, each bad row is rejected with all its reasons.

    The report, the ingest log entry and the quarantine rows (row number, reason and the
    original record) must all tell the same story; the record is checked against the file
    as Python's csv module reads it. Daily demand counts the good rows on their local day.
    """
    path = BAD / case.file
    report = ingest_chicago_file(store, path, zones=mini_zones_path, encoding=case.encoding)
    n_ok, n_bad = len(case.accepted), len(case.rejected)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (
        n_ok + n_bad,
        n_ok,
        n_bad,
    )
    assert report.rows_new == n_ok
    assert report.reasons == case.reasons
    assert report.status == ("partial" if n_bad else "ok")

    trips = store.lake.read(Dataset.TRIPS, system_id="chicago")
    assert {t: (s, e) for t, s, e in trips.select("trip_id", "start_zone", "end_zone").rows()} == (
        case.accepted
    )

    log = newest_log(store)
    assert log["ingest_id"] == report.ingest_id
    assert (log["status"], log["source"], log["dataset"]) == (report.status, "chicago", "trips")
    assert log["location"] == str(path.resolve())
    assert (log["rows_read"], log["rows_accepted"], log["rows_rejected"], log["rows_new"]) == (
        n_ok + n_bad,
        n_ok,
        n_bad,
        n_ok,
    )
    assert log["rejects_by_reason"] == case.reasons
    assert log["message"] is None and log["finished_at"] is not None

    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="chicago")
    assert set(quarantine["ingest_id"]) <= {report.ingest_id}
    assert dict(quarantine.select("row_number", "reason").rows()) == case.rejected
    raw = raw_rows(path, case.encoding)
    header = chicago.READ_COLUMNS
    with path.open(encoding=case.encoding or "utf-8", newline="") as fh:
        names = next(csv.reader(fh))
    for number, record in quarantine.select("row_number", "record").rows():
        fields = raw[number]
        if case.rejected[number].startswith("row has"):
            assert record == ",".join(fields)
            continue
        expected = {n: v or None for n, v in zip(names, fields, strict=True) if n in header}
        assert json.loads(record) == expected

    assert demand_rows(store) == expected_demand(case)


@pytest.fixture
def loaded(store: Store, mini_zones_path: Path, tmp_path: Path) -> Store:
    """A store that already holds 40 good generated trips, to see that nothing changes."""
    good = tmp_path / "good.csv"
    sample_trips(chicago.community_areas(mini_zones_path), rows=40, seed=2, days=5).write_csv(good)
    report = ingest_chicago_file(store, good, zones=mini_zones_path)
    assert report.rows_accepted == 40
    return store


@pytest.mark.parametrize("case", UNUSABLE, ids=lambda c: c.file)
def test_unusable_file_is_refused_and_changes_nothing(
    loaded: Store, mini_zones_path: Path, case: Unusable
) -> None:
    """A file that cannot load raises a SchemaError saying why and what to do.

    The lake (every file, byte for byte, and no temporary file) and the daily demand are
    as before; the ingest log records the attempt as failed with the same message.
    """
    before_files, before_demand = lake_files(loaded), demand_rows(loaded)
    with pytest.raises(case.error) as info:
        ingest_chicago_file(loaded, BAD / case.file, zones=mini_zones_path)
    message = str(info.value)
    for fragment in case.says:
        assert fragment in message
    if isinstance(info.value, NothingLoadedError):
        assert info.value.reasons == case.reasons

    assert lake_files(loaded) == before_files
    assert demand_rows(loaded) == before_demand
    log = newest_log(loaded)
    assert log["status"] == "failed"
    assert log["location"] == str((BAD / case.file).resolve())
    assert log["message"] == f"{type(info.value).__name__}: {message}"
    assert (log["rows_read"], log["rows_accepted"], log["rows_new"]) == (case.rows_read, 0, 0)
    assert log["rows_rejected"] == sum(case.reasons.values())
    assert log["rejects_by_reason"] == case.reasons


@pytest.mark.parametrize("case", UNUSABLE, ids=lambda c: c.file)
def test_unusable_file_on_an_empty_store_writes_no_trips(
    store: Store, mini_zones_path: Path, case: Unusable
) -> None:
    """On a fresh store an unusable file leaves no trip or quarantine partition, no demand.

    A file that cannot be read at all does not even register the system; one that reads
    but has no good row registers the system and its community areas, nothing else.
    """
    with pytest.raises(case.error):
        ingest_chicago_file(store, BAD / case.file, zones=mini_zones_path)
    assert store.lake.partitions(Dataset.TRIPS) == []
    assert store.lake.partitions(Dataset.QUARANTINE) == []
    assert demand_rows(store) == []
    assert newest_log(store)["status"] == "failed"
    registered = list(ZONES) if case.error is NothingLoadedError else []
    with store.connect() as conn:
        assert records.load_zones(conn, "chicago")["zone_id"].to_list() == registered
