"""City facts and airport arrivals jobs on SQLite and PostgreSQL, on recorded pages and
AeroDataBox answers (tests/data/context); nothing here touches the network."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from fleetcast.domain import Dataset, SystemInfo
from fleetcast.errors import NothingLoadedError, SchemaError, SourceError, UnknownSystemError
from fleetcast.jobs.city import (
    ARRIVALS_OFF,
    fetch_airport_arrivals,
    ingest_arrivals_file,
    ingest_city_facts,
    system_arrivals,
    system_city_facts,
)
from fleetcast.jobs.forecast import load_training_set
from fleetcast.jobs.ingest import register_system
from fleetcast.store import Store, records
from fleetcast.store import context as db

DATA = Path(__file__).resolve().parents[1] / "data" / "context"
DAY = date(2026, 11, 30)
URL = "https://en.wikipedia.org/wiki/Chicago"
WINDY = SystemInfo(
    system_id="windy",
    name="Windy City scooters",
    timezone="America/Chicago",
    country="US",
    subdivision="IL",
    center_lat=41.8781,
    center_lon=-87.6298,
)


@pytest.fixture
def windy(store: Store) -> Store:
    """The store with the 'windy' system (Chicago, with a centre) registered."""
    register_system(store, WINDY, None)
    return store


def page_client(name: str, *, status: int = 200) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client answering every GET with the recorded page ``name``."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=(DATA / name).read_bytes())

    return httpx.Client(transport=httpx.MockTransport(answer)), seen


def aerodatabox(*, fids_status: int = 200) -> tuple[httpx.Client, list[httpx.Request]]:
    """AeroDataBox replayed: the ORD airport record, and the recorded half days of
    2026-11-30 for every day asked (dates shifted to the asked day)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.startswith("/airports/iata/"):
            return httpx.Response(200, content=(DATA / "airport_ord.json").read_bytes())
        if fids_status != 200:
            body = (DATA / "rapidapi_not_subscribed.json").read_bytes()
            return httpx.Response(fids_status, content=body)
        asked = path.split("/")[-1][:10]
        name = "0000_1159" if path.endswith("T11:59") else "1200_2359"
        text = (DATA / f"ord_arrivals_2026-11-30_{name}.json").read_text()
        return httpx.Response(200, content=text.replace("2026-11-30", asked).encode())

    return httpx.Client(transport=httpx.MockTransport(answer)), seen


def last_log(store: Store, system_id: str) -> dict[str, object]:
    with store.connect() as conn:
        return records.recent_ingests(conn, system_id=system_id, limit=1)[0]


# ----------------------------------------------------------------------------- city facts


def test_city_facts_from_a_recorded_page_land_dated_by_the_census(windy: Store) -> None:
    """The recorded Chicago article: one row dated 2020-01-01 with the page's URL; loading
    it again replaces the row (nothing new)."""
    client, seen = page_client("chicago_wikipedia.html")
    with client:
        report = ingest_city_facts(windy, system_id="windy", url=URL, client=client)
        again = ingest_city_facts(windy, system_id="windy", url=URL, client=client)
    assert str(seen[0].url) == URL
    assert report.status == "ok" and report.rows_new == 1 and again.rows_new == 0
    assert report.facts["population"] == 2_746_388 and report.facts["as_of"] == "2020-01-01"
    with windy.connect() as conn:
        rows = db.load_city_facts(conn, "windy")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert (row["source"], row["source_url"], row["area_km2"]) == ("web", URL, 607.44)
    assert system_city_facts(windy, system_id="windy") == {
        "population": 2_746_388.0,
        "area_km2": 607.44,
        "density_per_km2": 4656.33,
    }


def test_a_bad_page_is_logged_as_failed_and_writes_nothing(windy: Store) -> None:
    """A page without an infobox, or an HTTP 404: a SourceError, a failed ingest-log entry,
    no city facts."""
    for name, status in (("no_infobox.html", 200), ("no_infobox.html", 404)):
        client, _ = page_client(name, status=status)
        with client, pytest.raises(SourceError):
            ingest_city_facts(windy, system_id="windy", url=URL, client=client)
        log = last_log(windy, "windy")
        assert log["status"] == "failed" and log["dataset"] == "city_facts"
    assert system_city_facts(windy, system_id="windy") == {}


def test_city_facts_files_quarantine_bad_rows(windy: Store) -> None:
    """The recorded CSV: two rows stored, three quarantined with their reasons."""
    report = ingest_city_facts(windy, system_id="windy", path=DATA / "city_facts.csv")
    assert report.status == "partial"
    assert (report.rows_accepted, report.rows_rejected) == (2, 3)
    quarantine = windy.lake.read(Dataset.QUARANTINE, system_id="windy")
    assert set(quarantine["ingest_id"]) == {report.ingest_id}
    assert quarantine.height == 3
    assert system_city_facts(windy, system_id="windy")["population"] == 2_746_388.0


def test_city_facts_need_a_known_system_and_one_input(windy: Store) -> None:
    """An unknown system, or both/neither of URL and file, are refused before any work."""
    with pytest.raises(UnknownSystemError):
        ingest_city_facts(windy, system_id="nope", path=DATA / "city_facts.toml")
    with pytest.raises(SchemaError, match="either"):
        ingest_city_facts(windy, system_id="windy")


# ----------------------------------------------------------------------------- arrivals


def test_arrivals_are_off_without_a_key(windy: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """No FLEETCAST_AERODATABOX_KEY: nothing fetched, nothing logged, status 'off' and a
    message saying how to turn arrivals on."""
    monkeypatch.delenv("FLEETCAST_AERODATABOX_KEY", raising=False)
    client, seen = aerodatabox()
    report = fetch_airport_arrivals(
        windy, system_id="windy", airports=["ORD"], start=DAY, end=DAY, client=client
    )
    assert report.status == "off" and report.note == ARRIVALS_OFF
    assert seen == []
    with windy.connect() as conn:
        assert records.recent_ingests(conn, system_id="windy", limit=1) == []


def test_fetched_arrivals_land_with_the_airport_and_rerun_adds_nothing(windy: Store) -> None:
    """Two days at ORD: the airport looked up once (name, position, distance from the
    centre), 6 arrivals a day, the skipped flights tallied; a re-run replaces the rows."""
    client, seen = aerodatabox()
    with client:
        report = fetch_airport_arrivals(
            windy,
            system_id="windy",
            airports=["ord"],
            start=DAY,
            end=DAY + timedelta(days=1),
            key="k",
            client=client,
        )
        again = fetch_airport_arrivals(
            windy, system_id="windy", airports=["ORD"], start=DAY, end=DAY, key="k", client=client
        )
    assert report.status == "partial"  # one record without a scheduled time per day
    assert (report.rows_accepted, report.rows_new, again.rows_new) == (2, 2, 0)
    assert report.excluded["cancelled"] == 2
    assert sum(r.url.path.startswith("/airports/") for r in seen) == 1
    with windy.connect() as conn:
        airports = db.load_airports(conn, "windy")
        stored = db.load_arrivals(conn, "windy")
    ord_row = airports.row(0, named=True)
    assert (ord_row["icao"], ord_row["name"]) == ("KORD", "Chicago O'Hare")
    assert ord_row["distance_km"] == pytest.approx(25.3, abs=0.2)  # O'Hare to the Loop
    assert stored["arrivals"].to_list() == [6, 6]
    assert set(stored["source"]) == {"aerodatabox"}
    assert system_arrivals(windy, system_id="windy", start=DAY, end=DAY)["arrivals"][0] == 6


def test_a_refused_request_is_logged_and_keeps_what_was_stored(windy: Store) -> None:
    """HTTP 403 from RapidAPI: a SourceError with the server's words and no key in the
    message, a failed log entry, and the arrivals loaded before are untouched."""
    ingest_arrivals_file(windy, DATA / "arrivals_daily.csv", system_id="windy")
    client, _ = aerodatabox(fids_status=403)
    with client, pytest.raises(SourceError, match="not subscribed") as info:
        fetch_airport_arrivals(
            windy,
            system_id="windy",
            airports=["ORD"],
            start=DAY,
            end=DAY,
            key="sekrit-key",
            client=client,
        )
    assert "sekrit-key" not in str(info.value)
    assert last_log(windy, "windy")["status"] == "failed"
    with windy.connect() as conn:
        assert db.load_arrivals(conn, "windy").height == 5


def test_arrival_files_add_airports_and_quarantine_bad_rows(windy: Store) -> None:
    """The recorded CSV: ORD and MDW added, five rows stored, four quarantined; the daily
    total only counts days every airport has."""
    report = ingest_arrivals_file(windy, DATA / "arrivals_daily.csv", system_id="windy")
    assert report.airports == ["MDW", "ORD"]
    assert (report.rows_accepted, report.rows_rejected) == (5, 4)
    total = system_arrivals(windy, system_id="windy", start=date(2026, 11, 1), end=DAY)
    assert total.to_dicts() == [
        {"date": date(2026, 11, 28), "arrivals": 1204 + 281},
        {"date": date(2026, 11, 29), "arrivals": 1251 + 275},
    ]


def test_an_arrivals_file_with_no_good_row_changes_nothing(windy: Store, tmp_path: Path) -> None:
    """Every row bad: NothingLoadedError, no airport and no arrivals stored."""
    path = tmp_path / "bad.csv"
    path.write_text("airport,date,arrivals\nXXXX,2026-11-30,5\n")
    with pytest.raises(NothingLoadedError):
        ingest_arrivals_file(windy, path, system_id="windy")
    with windy.connect() as conn:
        assert db.load_airports(conn, "windy").is_empty()


def test_too_many_days_or_no_airport_are_refused(windy: Store) -> None:
    """A fetch over more than 31 days, or without an airport, is a SchemaError."""
    with pytest.raises(SchemaError, match="at most 31"):
        fetch_airport_arrivals(
            windy, system_id="windy", airports=["ORD"], start=DAY, end=DAY + timedelta(60), key="k"
        )
    with pytest.raises(SchemaError, match="at least one airport"):
        fetch_airport_arrivals(windy, system_id="windy", airports=[], start=DAY, end=DAY, key="k")


# ----------------------------------------------------------------------------- training set


def test_the_training_set_carries_stored_arrivals_and_city_facts(windy: Store) -> None:
    """With arrivals and facts stored, load_training_set carries them; without, it carries
    none (the features are then off)."""
    first = DAY - timedelta(days=39)
    days = pl.date_range(first, DAY, eager=True)
    with windy.begin() as conn:
        records.save_zones(conn, "windy", pl.DataFrame({"zone_id": ["a"], "name": ["a"]}))
        records.replace_demand(
            conn, "windy", pl.DataFrame({"zone_id": "a", "date": days, "trips": 5})
        )
    before = load_training_set(windy, "windy")
    assert before.arrivals is None and before.city_facts == {}
    ingest_arrivals_file(windy, DATA / "arrivals_daily.csv", system_id="windy")
    ingest_city_facts(windy, system_id="windy", path=DATA / "city_facts.toml")
    after = load_training_set(windy, "windy")
    assert after.arrivals is not None
    assert after.arrivals["date"].to_list() == [date(2026, 11, 28), date(2026, 11, 29)]
    assert after.city_facts["population"] == 412_000.0
