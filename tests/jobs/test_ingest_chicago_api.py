"""The Chicago ingest through the portal's SODA API and the community-area download.

The API is replayed from recorded pages in the real SODA format (tests/data/socrata);
nothing here touches the network.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleetcast.domain import Dataset
from fleetcast.errors import NothingLoadedError, SourceError
from fleetcast.jobs import ingest_chicago_api, ingest_chicago_file
from fleetcast.jobs.trips import chicago_datasets
from fleetcast.sources import socrata
from fleetcast.store import Store, records

SOCRATA = Path(__file__).resolve().parents[1] / "data" / "socrata"
PAGES = [SOCRATA / f"chicago_2020_page{n}.json" for n in (1, 2, 3)]


class RecordedPortal:
    """Serves the recorded 2020 pages by $offset and remembers every request."""

    def __init__(self, pages: list[Path], *, geojson: Path | None = None) -> None:
        self.rows: list[dict[str, Any]] = [r for p in pages for r in json.loads(p.read_text())]
        self.geojson = geojson
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "/api/geospatial/" in request.url.path:
            if self.geojson is None:
                return httpx.Response(404, json={"message": "not found"})
            return httpx.Response(200, content=self.geojson.read_bytes())
        offset = int(request.url.params.get("$offset", 0))
        limit = int(request.url.params["$limit"])
        return httpx.Response(200, json=self.rows[offset : offset + limit])

    def client(self) -> httpx.Client:
        """An httpx client whose transport is this recorded portal."""
        return httpx.Client(transport=httpx.MockTransport(self))


def test_datasets_are_chosen_by_dates() -> None:
    """Each pilot year has its own portal dataset; a range across years asks each one."""
    assert chicago_datasets(date(2019, 6, 15), date(2019, 10, 16)) == [
        socrata.CHICAGO_TRIPS_2019_PILOT
    ]
    assert chicago_datasets(date(2020, 8, 12), date(2020, 12, 13)) == [
        socrata.CHICAGO_TRIPS_2020_PILOT
    ]
    assert chicago_datasets(date(2019, 10, 1), date(2023, 1, 1)) == [
        socrata.CHICAGO_TRIPS_2019_PILOT,
        socrata.CHICAGO_TRIPS_2020_PILOT,
        socrata.CHICAGO_TRIPS_2022_ON,
    ]


def test_api_ingest_pages_validates_and_counts_demand(
    store: Store, chicago_areas_path: Path
) -> None:
    """Paged API rows land in the lake and daily demand; the query asks for the dates."""
    portal = RecordedPortal(PAGES)
    with portal.client() as client:
        report = ingest_chicago_api(
            store,
            since=date(2020, 8, 12),
            until=date(2020, 8, 20),
            zones=chicago_areas_path,
            client=client,
            page_size=3,
        )
    assert report.rows_read == len(portal.rows)
    assert report.rows_accepted + report.rows_rejected == report.rows_read
    assert report.rows_accepted > 0
    assert report.source == "chicago-api"
    pages = [r for r in portal.requests if "/resource/" in r.url.path]
    assert [int(r.url.params["$offset"]) for r in pages] == [0, 3, 6]
    where = pages[0].url.params["$where"]
    assert "start_time >= '2020-08-12T00:00:00'" in where
    assert "start_time < '2020-08-20T00:00:00'" in where
    assert socrata.CHICAGO_TRIPS_2020_PILOT in str(pages[0].url)
    trips = store.lake.read(Dataset.TRIPS, system_id="chicago")
    assert trips.height == report.rows_accepted
    with store.connect() as conn:
        demand = records.load_demand(conn, "chicago")
        log = records.recent_ingests(conn, limit=1)[0]
    assert demand["trips"].sum() == report.rows_accepted
    assert demand["zone_id"].n_unique() == 77
    assert log["status"] in ("ok", "partial")
    assert log["rows_accepted"] == report.rows_accepted


def test_api_ingest_twice_keeps_one_copy(store: Store, chicago_areas_path: Path) -> None:
    """Fetching the same days again replaces rows by trip id instead of adding them."""
    for _ in range(2):
        with RecordedPortal(PAGES).client() as client:
            report = ingest_chicago_api(
                store,
                since=date(2020, 8, 12),
                until=date(2020, 8, 20),
                zones=chicago_areas_path,
                client=client,
            )
    assert report.rows_new == 0
    assert store.lake.read(Dataset.TRIPS).height == report.rows_accepted


def test_an_empty_answer_changes_nothing(store: Store, chicago_areas_path: Path) -> None:
    """No trips in the date range is a clear error and no trip or demand is written."""
    with (
        RecordedPortal([]).client() as client,
        pytest.raises(NothingLoadedError, match="no trips between"),
    ):
        ingest_chicago_api(
            store,
            since=date(2021, 1, 1),
            until=date(2021, 1, 2),
            zones=chicago_areas_path,
            client=client,
        )
    assert store.lake.partitions(Dataset.TRIPS) == []


def test_until_must_follow_since(sqlite_store: Store) -> None:
    """A backwards date range is refused before any request."""
    with pytest.raises(ValueError, match="must be after"):
        ingest_chicago_api(sqlite_store, since=date(2020, 9, 1), until=date(2020, 8, 1))


def test_community_areas_are_downloaded_once_when_not_given(
    sqlite_store: Store, mini_zones_path: Path, tmp_path: Path
) -> None:
    """Without --zones the first ingest downloads the boundaries into the home's cache."""
    portal = RecordedPortal([], geojson=mini_zones_path)
    csv = tmp_path / "trips.csv"
    csv.write_text(
        "Trip ID,Start Time,End Time,Trip Distance,Trip Duration,Start Community Area Number\n"
        "t1,08/12/2020 06:00:00 AM,08/12/2020 07:00:00 AM,1200,400,2\n"
    )
    from fleetcast.jobs.trips import chicago_system

    with portal.client() as client:
        chicago_system(sqlite_store, client=client)
    cache = sqlite_store.settings.home / "cache" / "chicago_community_areas.geojson"
    assert cache.read_bytes() == mini_zones_path.read_bytes()
    assert sum("/api/geospatial/" in r.url.path for r in portal.requests) == 1
    report = ingest_chicago_file(sqlite_store, csv)
    assert report.rows_accepted == 1


def test_a_failed_download_says_to_pass_zones(sqlite_store: Store) -> None:
    """When the boundaries cannot be downloaded the error says how to give them instead."""
    from fleetcast.jobs.trips import chicago_system

    with (
        RecordedPortal([]).client() as client,
        pytest.raises(SourceError, match="--zones PATH"),
    ):
        chicago_system(sqlite_store, client=client)
    assert not (sqlite_store.settings.home / "cache" / "chicago_community_areas.geojson").exists()
