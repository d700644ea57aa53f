"""GBFS into the store: ``ingest_gbfs`` (real snapshots, bad records, whole-feed failures,
zones, on SQLite and PostgreSQL) and ``poll_gbfs`` against a fake feed and a fake clock
(ttl, timeouts, 5xx, truncated JSON, stale feeds)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from fleetcast.domain import Dataset
from fleetcast.errors import NothingLoadedError, SchemaError, SourceError
from fleetcast.jobs.status import store_status
from fleetcast.jobs.supply import CycleReport, PollPolicy, ingest_gbfs, poll_gbfs
from fleetcast.sources import _http
from fleetcast.sources.synthetic import generate_city
from fleetcast.sources.synthetic.gbfs_feed import write_gbfs_folder
from fleetcast.store import Store, records, state
from shared_data import shared_file

DATA = Path(__file__).resolve().parents[1] / "data" / "gbfs"
NOW = datetime(2025, 10, 18, 10, 0, tzinfo=UTC)
"""An hour after tests/data/gbfs/bad was published."""


def velib() -> Path:
    """The real Vélib' snapshot folder (skips when ../shared/data is absent)."""
    return shared_file("gbfs", "velib_paris", "station_status.json").parent


def copy_folder(source: Path, target: Path) -> Path:
    """A writable copy of a feed folder."""
    shutil.copytree(source, target)
    return target


def feed_states(store: Store, system_id: str) -> dict[str, state.FeedState]:
    """The system's feed states by kind."""
    with store.connect() as conn:
        return {f.kind: f for f in state.load_feed_states(conn, system_id)}


def test_velib_ingest_on_each_backend(store: Store) -> None:
    """1,495 stations and statuses reach the db and the lake; the deviations are kept as
    warnings in the feed states and the ingest log has one entry per data feed."""
    report = ingest_gbfs(store, velib(), system_id="paris", timezone="Europe/Paris")
    assert (report.stations, report.station_statuses, report.vehicles) == (1495, 1495, 0)
    assert report.status == "ok" and report.system_created
    with store.connect() as conn:
        system = records.get_system(conn, "paris")
        assert state.load_stations(conn, "paris").height == 1495
        status = state.load_station_status(conn, "paris")
        logs = records.recent_ingests(conn, system_id="paris")
    assert system.timezone == "Europe/Paris" and system.kind == "bike"
    assert system.center_lat is not None and 48.8 < system.center_lat < 48.9
    assert status.height == 1495
    assert (status["bikes_available"].sum(), status["ebikes_available"].sum()) == (18_067, 7_015)
    lake = store.lake.read(Dataset.STATION_STATUS, system_id="paris")
    assert lake.height == 1495
    assert lake["date"].unique().to_list() == [datetime(2025, 10, 18).date()]
    assert {(log["dataset"], log["rows_accepted"], log["status"]) for log in logs} == {
        ("stations", 1495, "ok"),
        ("station_status", 1495, "ok"),
    }
    feeds = feed_states(store, "paris")
    assert set(feeds) == {"station_info", "station_status"}
    assert feeds["station_status"].status == "ok"
    assert feeds["station_status"].ttl_s == 3600
    assert "station_id given as integers (1,495 records): read as text" in (
        feeds["station_status"].warnings
    )
    summary = next(s for s in store_status(store)["systems"] if s["system_id"] == "paris")
    assert (summary["stations"], summary["vehicles"]) == (1495, 0)
    assert {f["kind"]: f["status"] for f in summary["feeds"]} == {
        "station_info": "ok",
        "station_status": "ok",
    }


def test_reingesting_the_same_snapshot_adds_nothing(sqlite_store: Store) -> None:
    """The second ingest finds no new station and no new status row."""
    ingest_gbfs(sqlite_store, velib(), system_id="paris", timezone="Europe/Paris")
    again = ingest_gbfs(sqlite_store, velib(), system_id="paris")
    assert not again.system_created
    assert [f.rows_new for f in again.feeds] == [0, 0]
    assert sqlite_store.lake.read(Dataset.STATION_STATUS, system_id="paris").height == 1495


def test_bad_records_are_quarantined_and_counted(store: Store) -> None:
    """Impossible records go to the quarantine dataset with their reasons and are counted
    per feed in the ingest log; everything else is stored."""
    report = ingest_gbfs(store, DATA / "bad", system_id="bad", now=NOW)
    assert report.status == "partial"
    assert (report.stations, report.station_statuses, report.vehicles) == (2, 2, 2)
    assert report.rows_rejected == 12
    assert report.reasons["coordinates outside the world"] == 2
    assert report.reasons["last_reported more than a day in the future"] == 2
    quarantine = store.lake.read(Dataset.QUARANTINE, system_id="bad")
    assert quarantine.height == 12
    assert dict(quarantine.group_by("source").len().iter_rows()) == {
        "gbfs:station_information": 4,
        "gbfs:station_status": 4,
        "gbfs:free_bike_status": 4,
    }
    both = quarantine.filter(
        (pl.col("source") == "gbfs:station_status") & (pl.col("row_number") == 3)
    )
    assert both["reason"].item() == (
        "negative num_docks_available; last_reported more than a day in the future"
    )
    with store.connect() as conn:
        logs = {log["dataset"]: log for log in records.recent_ingests(conn, system_id="bad")}
        assert state.load_vehicle_status(conn, "bad")["vehicle_id"].to_list() == ["b1", "b6"]
    assert logs["station_status"]["status"] == "partial"
    assert logs["station_status"]["rows_rejected"] == 4
    assert logs["station_status"]["rejects_by_reason"] == {
        "last_reported more than a day in the future": 1,
        "missing station_id": 1,
        "negative num_bikes_available": 1,
        "negative num_docks_available": 1,
        "unparseable num_bikes_available": 1,
    }
    assert logs["vehicle_status"]["rows_accepted"] == 2


def test_v3_feed_creates_its_system_from_system_information(sqlite_store: Store) -> None:
    """A 3.0 feed: the system takes the localized name and the timezone of the feed."""
    report = ingest_gbfs(sqlite_store, DATA / "v3", system_id="lyon", language="fr", now=NOW)
    assert (report.version, report.stations, report.vehicles) == ("3.0", 3, 4)
    with sqlite_store.connect() as conn:
        system = records.get_system(conn, "lyon")
        vehicles = state.load_vehicle_status(conn, "lyon")
    assert (system.name, system.timezone) == ("Vélos Exemple Lyon", "Europe/Paris")
    assert vehicles.filter(pl.col("vehicle_id") == "v-3")["lat"].item() == 45.7606


def test_ingest_from_a_url_reads_like_the_saved_folder(sqlite_store: Store) -> None:
    """The 3.0 files served over (mock) HTTP from their gbfs.json URL give what the folder
    gives; feed states name the URLs."""

    def serve(request: httpx.Request) -> httpx.Response:
        """Answer each gbfs.example.org path with the file of the same name."""
        path = DATA / "v3" / request.url.path.rsplit("/", 1)[-1]
        return (
            httpx.Response(200, content=path.read_bytes())
            if path.is_file()
            else (httpx.Response(404))
        )

    client = _http.build_client(transport=httpx.MockTransport(serve))
    url = "https://gbfs.example.org/v3/gbfs.json"
    report = ingest_gbfs(sqlite_store, url, system_id="lyon", client=client, now=NOW)
    assert (report.stations, report.station_statuses, report.vehicles) == (3, 3, 4)
    feeds = feed_states(sqlite_store, "lyon")
    assert feeds["gbfs"].url == url and feeds["gbfs"].version == "3.0"
    assert feeds["vehicle_status"].url == "https://gbfs.example.org/v3/vehicle_status.json"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda text: text[: len(text) // 2], "truncated"),
        (lambda text: json.dumps({"lastUpdatedOther": 1760778556, "ttl": 60}), "no 'data'"),
        (lambda text: "<html>502 Bad Gateway</html>", "looks like HTML"),
    ],
)
def test_whole_feed_failure_leaves_the_store_as_it_was(
    store: Store, tmp_path: Path, damage: Callable[[str], str], message: str
) -> None:
    """A broken station_status fails the fetch with a SourceError; stations and statuses
    stay as they were and the failure is in the feed state and the ingest log."""
    ingest_gbfs(store, velib(), system_id="paris", timezone="Europe/Paris")
    with store.connect() as conn:
        before = state.load_station_status(conn, "paris")
    folder = copy_folder(velib(), tmp_path / "velib")
    status_file = folder / "station_status.json"
    status_file.write_text(damage(status_file.read_text()))
    with pytest.raises(SourceError, match=message):
        ingest_gbfs(store, folder, system_id="paris")
    with store.connect() as conn:
        assert state.load_station_status(conn, "paris").equals(before)
        assert state.load_stations(conn, "paris").height == 1495
        log = records.recent_ingests(conn, system_id="paris", limit=1)[0]
    assert (log["status"], log["dataset"]) == ("failed", "station_status")
    assert message in log["message"]
    assert store.lake.read(Dataset.STATION_STATUS, system_id="paris").height == 1495
    with store.connect() as conn:
        by_url = {f.url: f for f in state.load_feed_states(conn, "paris")}
    failed = by_url[str(status_file)]
    assert (failed.kind, failed.status, failed.failures) == ("station_status", "error", 1)
    assert by_url[str(velib() / "station_status.json")].status == "ok"


def test_new_system_without_timezone_is_refused(sqlite_store: Store) -> None:
    """No system_information and no --timezone: a SchemaError that says what to give, and
    no system is created."""
    with pytest.raises(SchemaError, match="--timezone"):
        ingest_gbfs(sqlite_store, velib(), system_id="paris")
    with sqlite_store.connect() as conn:
        assert records.list_system_ids(conn) == []


def test_free_bike_status_is_the_whole_fleet(sqlite_store: Store, tmp_path: Path) -> None:
    """A newer snapshot replaces the fleet (vehicles gone from it leave the db); an older
    one is kept in the lake only."""
    tier = shared_file("gbfs", "tier_wolfsburg", "gbfs.json").parent
    assert ingest_gbfs(sqlite_store, tier, system_id="wob").vehicles == 840
    folder = copy_folder(tier, tmp_path / "later")
    doc = json.loads((folder / "free_bike_status.json").read_text())
    doc["data"]["bikes"] = doc["data"]["bikes"][:800]
    doc["last_updated"] += 60
    (folder / "free_bike_status.json").write_text(json.dumps(doc))
    assert ingest_gbfs(sqlite_store, folder, system_id="wob").vehicles == 800
    older = ingest_gbfs(sqlite_store, tier, system_id="wob")
    with sqlite_store.connect() as conn:
        fleet = state.load_vehicle_status(conn, "wob")
    assert fleet.height == 800
    assert "kept in the lake only" in older.feeds[-1].warnings[-1]
    lake = sqlite_store.lake.read(Dataset.VEHICLE_STATUS, system_id="wob")
    assert lake["observed_at"].n_unique() == 2 and lake.height == 840 + 800


def test_every_record_rejected_keeps_the_last_good_fleet(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A snapshot whose every vehicle is impossible is refused as a whole: the fleet in the
    db is not replaced by nothing."""
    tier = shared_file("gbfs", "tier_wolfsburg", "gbfs.json").parent
    ingest_gbfs(sqlite_store, tier, system_id="wob")
    folder = copy_folder(tier, tmp_path / "broken")
    doc = json.loads((folder / "free_bike_status.json").read_text())
    for bike in doc["data"]["bikes"]:
        bike["lat"], bike["lon"] = 0.0, 0.0
    doc["last_updated"] += 60
    (folder / "free_bike_status.json").write_text(json.dumps(doc))
    with pytest.raises(NothingLoadedError, match="every one of the 840 records"):
        ingest_gbfs(sqlite_store, folder, system_id="wob")
    with sqlite_store.connect() as conn:
        assert state.load_vehicle_status(conn, "wob").height == 840


def test_demo_fleet_through_gbfs_gets_the_same_zones(sqlite_store: Store, tmp_path: Path) -> None:
    """The demo city's fleet written as GBFS and ingested lands in the same zones the
    generator gave it (zones come from the system's polygons)."""
    city = generate_city(seed=4, days=28, n_zones=20)
    with sqlite_store.begin() as conn:
        records.save_system(conn, city.system)
        records.save_zones(conn, city.system.system_id, city.zones.drop("elevation_m"))
    folder = write_gbfs_folder(city, tmp_path / "demo_gbfs")
    report = ingest_gbfs(sqlite_store, folder, system_id=city.system.system_id)
    assert report.vehicles == city.vehicles.height and not report.system_created
    with sqlite_store.connect() as conn:
        stored = state.load_vehicle_status(conn, city.system.system_id)
    joined = stored.join(city.vehicles, on="vehicle_id", suffix="_generated")
    assert joined.height == city.vehicles.height
    same = joined.filter(pl.col("zone_id").eq_missing(pl.col("zone_id_generated"))).height
    assert same / joined.height > 0.99
    assert joined["zone_id"].null_count() > 0


def test_poll_policy_intervals_backoff_and_staleness() -> None:
    """ttl within [min_interval, every]; every caps a long ttl; backoff doubles up to the
    cap; stale after max(3 * ttl, 5 min); nonsense is refused."""
    policy = PollPolicy(every_s=60.0)
    assert policy.interval(30) == 30.0
    assert policy.interval(3600) == 60.0
    assert policy.interval(0) == 60.0
    assert policy.interval(2) == 10.0
    assert PollPolicy().interval(3600) == 3600.0
    assert [policy.retry_after(30, n) for n in (1, 2, 3, 10)] == [30.0, 60.0, 120.0, 900.0]
    assert policy.stale_after(60) == 300.0 and policy.stale_after(600) == 1800.0
    with pytest.raises(ValueError, match="every_s must be > 0"):
        PollPolicy(every_s=0)


@dataclass
class FakeClock:
    """A clock that only moves when the poller sleeps."""

    now: datetime
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance time instead of waiting."""
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeFeed:
    """A GBFS 2.3 system served through an httpx mock transport: two stations whose
    status is published at ``published`` and answered according to ``mode``."""

    clock: FakeClock
    mode: str = "ok"
    bikes: int = 4
    published: int = 0
    ttl: int = 60
    requests: list[tuple[str, datetime]] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A fleetcast HTTP client whose requests this fake answers."""
        return _http.build_client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        self.requests.append((name, self.clock.now))
        if name == "station_status" and self.mode == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if name == "station_status" and self.mode == "500":
            return httpx.Response(500, text="internal error")
        body = json.dumps(self.document(name))
        if name == "station_status" and self.mode == "truncated":
            body = body[: len(body) // 2]
        return httpx.Response(200, text=body)

    def document(self, name: str) -> dict[str, Any]:
        """The current content of one file."""
        published = self.published or int(self.clock.now.timestamp())
        base = "https://feed.example.org/gbfs"
        data: dict[str, Any] = {
            "gbfs": {
                "en": {
                    "feeds": [
                        {"name": n, "url": f"{base}/{n}.json"}
                        for n in ("system_information", "station_information", "station_status")
                    ]
                }
            },
            "system_information": {
                "system_id": "fake",
                "language": "en",
                "name": "Fake",
                "timezone": "Europe/Paris",
            },
            "station_information": {
                "stations": [
                    {"station_id": "a", "name": "A", "lat": 48.85, "lon": 2.35, "capacity": 10},
                    {"station_id": "b", "name": "B", "lat": 48.86, "lon": 2.34, "capacity": 10},
                ]
            },
            "station_status": {
                "stations": [
                    {
                        "station_id": s,
                        "num_bikes_available": self.bikes,
                        "num_docks_available": 6,
                        "is_installed": True,
                        "is_renting": True,
                        "is_returning": True,
                        "last_reported": published - 30,
                    }
                    for s in ("a", "b")
                ]
            },
        }
        ttl = self.ttl if name == "station_status" else 3600
        return {"last_updated": published, "ttl": ttl, "version": "2.3", "data": data[name]}

    def fetch_times(self, name: str) -> list[float]:
        """Seconds since the first request at which ``name`` was requested."""
        start = self.requests[0][1]
        return [(t - start).total_seconds() for n, t in self.requests if n == name]


URL = "https://feed.example.org/gbfs/gbfs.json"
START = datetime(2025, 10, 18, 9, 0, tzinfo=UTC)


def test_poller_survives_timeout_5xx_and_truncated_json(store: Store) -> None:
    """Each fault is recorded in the feed state (failures in a row, last error) and retried
    with backoff; the db keeps the last good statuses; a good snapshot recovers."""
    clock = FakeClock(START)
    feed = FakeFeed(clock)
    script = iter(["timeout", "500", "truncated", "ok"])
    seen: list[tuple[str, int, int, str | None]] = []

    def after(cycle: CycleReport) -> None:
        """Record the db and feed state after each poll, then script the next answer."""
        with store.connect() as conn:
            bikes = state.load_station_status(conn, "fake")["bikes_available"].to_list()
        status = feed_states(store, "fake")["station_status"]
        seen.append((status.status, status.failures, bikes[0], status.last_error))
        feed.mode = next(script, "ok")
        feed.bikes += 1

    report = poll_gbfs(
        store,
        URL,
        system_id="fake",
        max_polls=5,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
        on_cycle=after,
    )
    assert [(s, f, b) for s, f, b, _ in seen] == [
        ("ok", 0, 4),
        ("error", 1, 4),
        ("error", 2, 4),
        ("error", 3, 4),
        ("ok", 0, 8),
    ]
    errors = [e for _, _, _, e in seen]
    assert "ReadTimeout" in (errors[1] or "")
    assert "HTTP 500" in (errors[2] or "")
    assert "truncated" in (errors[3] or "")
    assert (report.polls, report.failures, report.snapshots) == (5, 3, 3)
    polls_and_retries = [0.0, 60.0, 60.5, 120.0, 120.5, 240.0, 480.0]
    assert feed.fetch_times("station_status") == polls_and_retries
    lake = store.lake.read(Dataset.STATION_STATUS, system_id="fake")
    assert sorted(lake["bikes_available"].unique().to_list()) == [4, 8]


def test_poller_respects_each_feeds_ttl(sqlite_store: Store) -> None:
    """station_status (ttl 60) is read every 60 s, the hourly feeds once in ten minutes;
    with --every 30s the status is read every 30 s."""
    clock = FakeClock(START)
    feed = FakeFeed(clock)
    poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        max_polls=10,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
    )
    assert feed.fetch_times("station_status") == [60.0 * i for i in range(10)]
    assert feed.fetch_times("station_information") == [0.0]
    assert feed.fetch_times("gbfs") == [0.0]
    clock = FakeClock(START + timedelta(days=1))
    faster = FakeFeed(clock)
    poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        every=30,
        max_polls=4,
        clock=clock,
        sleep=clock.sleep,
        client=faster.client(),
    )
    assert faster.fetch_times("station_status") == [0.0, 30.0, 60.0, 90.0]


def test_stale_feed_is_reported_and_its_state_kept(sqlite_store: Store) -> None:
    """A station_status whose last_updated stops advancing turns 'stale' after 5 minutes;
    the last statuses stay in the db; a new publish makes it 'ok' again."""
    clock = FakeClock(START)
    feed = FakeFeed(clock, published=int(START.timestamp()))
    cycles: list[CycleReport] = []

    def after(cycle: CycleReport) -> None:
        """Keep each poll; publish a new snapshot after the eighth."""
        cycles.append(cycle)
        if len(cycles) == 8:
            feed.published += 480

    report = poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        max_polls=9,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
        on_cycle=after,
    )
    stale_at = [i for i, c in enumerate(cycles) if c.stale]
    assert stale_at == [6, 7]
    assert [c.unchanged for c in cycles[1:6]] == [["station_status"]] * 5
    assert report.stale_polls == 2
    assert [r.name for r in cycles[8].stored] == ["station_status"]
    status = feed_states(sqlite_store, "fake")["station_status"]
    assert status.status == "ok"
    with sqlite_store.connect() as conn:
        assert state.load_station_status(conn, "fake").height == 2


def test_stale_state_is_saved_with_a_warning(sqlite_store: Store) -> None:
    """While stale, the feed state says so and since when."""
    clock = FakeClock(START)
    feed = FakeFeed(clock, published=int(START.timestamp()))
    poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        max_polls=7,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
    )
    status = feed_states(sqlite_store, "fake")["station_status"]
    assert status.status == "stale"
    assert status.warnings[-1] == "last_updated has not advanced since 2025-10-18 09:00:00 UTC"


def test_poller_survives_an_unreachable_gbfs_json(sqlite_store: Store) -> None:
    """gbfs.json failing at start is recorded and retried; the next poll reads the feed."""
    clock = FakeClock(START)
    feed = FakeFeed(clock)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        """503 for the first two requests (gbfs.json and its retry), then the feed."""
        calls["n"] += 1
        if calls["n"] <= 2:
            return httpx.Response(503, text="starting")
        return feed.handle(request)

    cycles: list[CycleReport] = []
    poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        max_polls=2,
        clock=clock,
        sleep=clock.sleep,
        client=_http.build_client(transport=httpx.MockTransport(handler)),
        on_cycle=cycles.append,
    )
    assert list(cycles[0].failed) == ["gbfs"]
    assert "HTTP 503" in cycles[0].failed["gbfs"]
    assert {r.name for r in cycles[1].stored} == {
        "system_information",
        "station_information",
        "station_status",
    }
    assert feed_states(sqlite_store, "fake")["gbfs"].failures == 0


def test_poller_stops_when_asked(sqlite_store: Store) -> None:
    """Setting the stop event ends the poller after the running poll."""
    clock = FakeClock(START)
    feed = FakeFeed(clock)
    stop = threading.Event()
    report = poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        clock=clock,
        sleep=clock.sleep,
        stop=stop,
        client=feed.client(),
        on_cycle=lambda cycle: stop.set(),
    )
    assert report.polls == 1
    assert {f.kind for f in report.feeds} == {
        "gbfs",
        "system_info",
        "station_info",
        "station_status",
    }


def test_a_snapshot_whose_write_failed_is_written_at_the_next_poll(store: Store) -> None:
    """The lake refusing one append must not lose the snapshot: the feed state says
    'error' with the failure, and the next poll (same last_updated) writes it instead of
    calling it unchanged and 'ok'."""
    clock = FakeClock(START)
    feed = FakeFeed(clock, published=int(START.timestamp()))
    append = store.lake.append
    fail = {"next": False}

    def flaky(dataset: Dataset, frame: pl.DataFrame) -> Any:
        """Fail once when asked to, then append as usual."""
        if fail["next"]:
            fail["next"] = False
            raise OSError("disk hiccup (simulated)")
        return append(dataset, frame)

    store.lake.append = flaky  # type: ignore[method-assign]
    seen: list[tuple[list[str], str, int, int]] = []

    def after(cycle: CycleReport) -> None:
        """Record what the poll stored; after the first, publish a new snapshot whose
        write will fail once."""
        with store.connect() as conn:
            bikes = state.load_station_status(conn, "fake")["bikes_available"].to_list()
        status = feed_states(store, "fake")["station_status"]
        seen.append(([r.name for r in cycle.stored], status.status, status.failures, bikes[0]))
        if len(seen) == 1:
            feed.published += 60
            feed.bikes = 7
            fail["next"] = True
            assert status.last_error is None
        if len(seen) == 2:
            assert "OSError: disk hiccup" in (status.last_error or "")

    poll_gbfs(
        store,
        URL,
        system_id="fake",
        max_polls=3,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
        on_cycle=after,
    )
    assert seen == [
        (["system_information", "station_information", "station_status"], "ok", 0, 4),
        ([], "error", 1, 4),
        (["station_status"], "ok", 0, 7),
    ]
    lake = store.lake.read(Dataset.STATION_STATUS, system_id="fake")
    assert sorted(lake["bikes_available"].unique().to_list()) == [4, 7]


def fleet_folder(folder: Path, bikes: list[dict[str, Any]], published: int) -> Path:
    """A 2.3 free-floating system in ``folder``: system_information and free_bike_status."""
    folder.mkdir(parents=True, exist_ok=True)
    system = {"system_id": "f", "name": "Fleet", "language": "en", "timezone": "Europe/Paris"}
    for name, data in (("system_information", system), ("free_bike_status", {"bikes": bikes})):
        doc = {"last_updated": published, "ttl": 60, "version": "2.3", "data": data}
        (folder / f"{name}.json").write_text(json.dumps(doc))
    return folder


def bike(n: int, **fields: Any) -> dict[str, Any]:
    """A good free-floating bike ``b<n>`` in Paris (``fields`` override)."""
    good = {"bike_id": f"b{n}", "lat": 48.85 + n / 10_000, "lon": 2.35, "is_reserved": False}
    return {**good, "is_disabled": False, **fields}


def fleet(store: Store) -> dict[str, float]:
    """The stored fleet: vehicle_id -> lat."""
    with store.connect() as conn:
        vehicles = state.load_vehicle_status(conn, "fleet")
    return dict(vehicles.select("vehicle_id", "lat").iter_rows())


PUBLISHED = int(NOW.timestamp()) - 600


def test_quarantined_vehicles_keep_their_last_good_state(store: Store, tmp_path: Path) -> None:
    """A vehicle whose record is rejected is still in the feed: its last good row stays,
    while a vehicle absent from the snapshot leaves the fleet."""
    first = fleet_folder(tmp_path / "1", [bike(n) for n in range(10)], PUBLISHED)
    ingest_gbfs(store, first, system_id="fleet", now=NOW)
    later = [bike(n, lat=48.9) for n in range(8)]
    later[0]["lat"] = 95.0
    second = fleet_folder(tmp_path / "2", later, PUBLISHED + 60)
    report = ingest_gbfs(store, second, system_id="fleet", now=NOW)
    assert report.rows_rejected == 1
    stored = fleet(store)
    assert sorted(stored) == [f"b{n}" for n in range(8)]
    assert stored["b0"] == 48.85
    assert stored["b1"] == 48.9
    assert "1 vehicle whose record was quarantined: last good state kept in the fleet" in (
        report.feeds[-1].warnings
    )


def test_a_mostly_rejected_vehicle_snapshot_does_not_replace_the_fleet(
    store: Store, tmp_path: Path
) -> None:
    """9 of 10 records rejected (ids unreadable, so nothing can be matched): the fleet is
    not cut to 1 vehicle; the good one is updated, the others kept, and the feed state
    warns. With max_rejected_share=1 the snapshot replaces the fleet as before."""
    first = fleet_folder(tmp_path / "1", [bike(n) for n in range(10)], PUBLISHED)
    ingest_gbfs(store, first, system_id="fleet", now=NOW)
    broken = [bike(0, lat=48.9)] + [bike(n, bike_id={"id": n}) for n in range(1, 10)]
    second = fleet_folder(tmp_path / "2", broken, PUBLISHED + 60)
    report = ingest_gbfs(store, second, system_id="fleet", now=NOW)
    stored = fleet(store)
    assert len(stored) == 10 and stored["b0"] == 48.9
    warning = (
        "9 of 10 vehicle records were quarantined (90%, more than 20%): the fleet was not "
        "replaced; 1 updated, the others kept as they were"
    )
    assert warning in report.feeds[-1].warnings
    assert warning in feed_states(store, "fleet")["free_bike_status"].warnings
    third = fleet_folder(tmp_path / "3", broken, PUBLISHED + 120)
    ingest_gbfs(store, third, system_id="fleet", now=NOW, max_rejected_share=1.0)
    assert list(fleet(store)) == ["b0"]


def test_over_long_ids_are_quarantined_on_each_backend(store: Store, tmp_path: Path) -> None:
    """A station_id or bike_id over 64 characters, which PostgreSQL refused with
    StringDataRightTruncation (failing the whole write), is quarantined; a 300-character
    station name is stored cut to 256; everything else is stored."""
    long_id = "x" * 65
    folder = fleet_folder(tmp_path / "long", [bike(1), bike(2, bike_id=long_id)], PUBLISHED)
    stations = [
        {"station_id": "a", "name": "N" * 300, "lat": 48.85, "lon": 2.35},
        {"station_id": long_id, "name": "B", "lat": 48.86, "lon": 2.35},
    ]
    statuses = [
        {"station_id": sid, "num_bikes_available": 1, "is_installed": True, "is_renting": True}
        | {"is_returning": True, "last_reported": PUBLISHED}
        for sid in ("a", long_id)
    ]
    for name, data in (("station_information", stations), ("station_status", statuses)):
        doc = {"last_updated": PUBLISHED, "ttl": 60, "version": "2.3", "data": {"stations": data}}
        (folder / f"{name}.json").write_text(json.dumps(doc))
    report = ingest_gbfs(store, folder, system_id="fleet", now=NOW)
    assert (report.stations, report.station_statuses, report.vehicles) == (1, 1, 1)
    assert report.reasons == {
        "station_id longer than 64 characters": 2,
        "bike_id longer than 64 characters": 1,
    }
    with store.connect() as conn:
        assert state.load_stations(conn, "fleet")["name"].to_list() == ["N" * 256]
        assert state.load_station_status(conn, "fleet")["station_id"].to_list() == ["a"]
    assert list(fleet(store)) == ["b1"]


def test_a_huge_ttl_is_polled_daily_not_crashed_on(sqlite_store: Store) -> None:
    """ttl 99999999999999999999 overflowed the poller's timedelta; it is read as a day
    (the feed state keeps 86400 and the warning) and the poll goes on."""
    clock = FakeClock(START)
    feed = FakeFeed(clock, ttl=99999999999999999999)
    cycles: list[CycleReport] = []
    poll_gbfs(
        sqlite_store,
        URL,
        system_id="fake",
        max_polls=1,
        clock=clock,
        sleep=clock.sleep,
        client=feed.client(),
        on_cycle=cycles.append,
    )
    assert cycles[0].failed == {}
    status = feed_states(sqlite_store, "fake")["station_status"]
    assert status.ttl_s == 86_400
    assert "ttl 99999999999999999999 is longer than a day: read as 86,400 s" in status.warnings
