"""The MDS source on hand-written pages of MDS 0.4, 1.2 and 2.0 (tests/data/mds): paging,
versions, trip candidates and routes, the status-to-flags mapping, and every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from fleetcast.errors import SourceError
from fleetcast.geo import Zoning
from fleetcast.sources import mds
from fleetcast.sources.chicago import community_areas
from fleetcast.sources.validate import check_trips

MDS = Path(__file__).resolve().parents[1] / "data" / "mds"
CHICAGO = "America/Chicago"


class Provider:
    """Serves a folder of saved pages as a provider: ``?page=N`` answers ``pageN.json``."""

    def __init__(self, folder: Path, *, status: int = 200) -> None:
        self.folder = folder
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "invalid token"})
        page = request.url.params.get("page", "1")
        return httpx.Response(200, content=(self.folder / f"page{page}.json").read_bytes())

    def client(self) -> httpx.Client:
        """A client whose requests reach this provider instead of the network."""
        return httpx.Client(transport=httpx.MockTransport(self))


@pytest.fixture
def mini(mini_zones_path: Path) -> Zoning:
    """The four test squares near Chicago, zone ids 1-4."""
    return community_areas(mini_zones_path)


def checked_trips(folder: Path, zoning: Zoning) -> Any:
    """The trips of a folder of pages, validated for a Chicago system."""
    raw = mds.parse_trips(mds.fetch_pages(folder, kind="trips"))
    return check_trips(mds.trip_candidates(raw), system_id="ops", timezone=CHICAGO, zoning=zoning)


def test_v1_trips_take_their_points_from_the_route(mini: Zoning) -> None:
    """1.2 trips start and end at the route's first and last points, in the test squares."""
    checked = checked_trips(MDS / "v1_2" / "trips", mini)
    accepted = checked.accepted.sort("started_at")
    assert accepted.height == 4
    assert accepted["start_zone"].to_list() == ["1", "2", "3", "1"]
    assert accepted["end_zone"].to_list() == ["2", "3", "1", "4"]
    first = accepted.row(0, named=True)
    assert first["started_at"] == datetime(2024, 6, 3, 13, 2, tzinfo=UTC)
    assert (first["duration_s"], first["distance_m"]) == (750.0, 1650.0)
    assert first["vehicle_id"] == "6f2a1741-2cf3-5b36-9b65-8f3c32631251"
    assert first["provider"] == "Example Mobility"
    assert "route" not in accepted.columns


def test_v1_bad_trips_are_rejected_with_their_reasons(mini: Zoning) -> None:
    """Page 2's bad trips: ends before it starts, no route, seconds for ms, a repeated trip."""
    checked = checked_trips(MDS / "v1_2" / "trips", mini)
    assert dict(checked.rejected.iter_rows()) == {
        5: "ends before it starts",
        6: "no start zone and no start coordinates",
        7: "unparseable start time; unparseable end time",
        8: "duplicate trip id in this input",
    }


def test_v2_trips_use_start_and_end_locations_and_local_days(mini: Zoning) -> None:
    """2.0 trips carry {lat, lng} points; a trip at 04:30 UTC on June 5 is a local June 4 trip;
    a latitude of 141.9 is rejected."""
    checked = checked_trips(MDS / "v2_0" / "trips", mini)
    assert checked.accepted["date"].unique().to_list() == [datetime(2024, 6, 4).date()]
    assert sorted(checked.accepted["start_zone"].to_list()) == ["1", "2", "3"]
    reasons = checked.rejected["reason"].to_list()
    assert reasons == ["start coordinates outside the world; start outside every zone"]


def test_route_frame_keeps_every_point_with_its_time() -> None:
    """route_frame gives each trip's [lon, lat, t] list once (trip 1 is sent twice), or one
    row per point with a UTC time; trips without a route are left out."""
    raw = mds.parse_trips(mds.fetch_pages(MDS / "v1_2" / "trips", kind="trips"))
    routes = mds.route_frame(raw)
    assert routes.height == 6
    assert routes["trip_id"].is_unique().all()
    assert routes.schema["route"] == mds.ROUTE_TYPE
    first = routes.row(0, named=True)
    assert first["route"][0] == [-87.695, 41.905, 1717419720000.0]
    points = mds.route_frame(raw, points=True).filter(pl.col("trip_id") == first["trip_id"])
    assert points["seq"].to_list() == list(range(len(first["route"])))
    assert points["recorded_at"][1] == datetime(2024, 6, 3, 13, 7, tzinfo=UTC)
    assert mds.route_frame(
        mds.parse_trips(mds.fetch_pages(MDS / "v2_0" / "trips", kind="trips"))
    ).is_empty()


def status_record(state: str, **fields: Any) -> dict[str, Any]:
    """A 1.2 status change of one vehicle in the first test square."""
    return {
        "device_id": "d1",
        "vehicle_state": state,
        "event_types": ["located"],
        "event_time": 1717419720000,
        "event_location": {
            "type": "Feature",
            "properties": {"timestamp": 1717419720000},
            "geometry": {"type": "Point", "coordinates": [-87.695, 41.905]},
        },
        "battery_pct": 0.5,
        **fields,
    }


def check_records(records: list[Any], **kwargs: Any) -> mds.CheckedStatus:
    """Status records as one page, checked for a Chicago system."""
    raw = mds.parse_status_changes([mds.Page("test", "1.2.0", records)])
    return mds.check_status_changes(raw, system_id="ops", timezone=CHICAGO, **kwargs)


@pytest.mark.parametrize(("state", "flags"), sorted(mds.STATE_FLAGS.items()))
def test_each_state_sets_the_documented_flags(state: str, flags: tuple[bool, bool]) -> None:
    """Every known state maps to its (is_reserved, is_disabled) pair from the module's table."""
    checked = check_records([status_record(state)])
    row = checked.accepted.row(0, named=True)
    assert (row["is_reserved"], row["is_disabled"]) == flags


def test_the_mapping_table_in_the_docstring_names_every_state() -> None:
    """The documented table and STATE_FLAGS agree, so the docs cannot drift from the code."""
    doc = mds.__doc__ or ""
    for state in mds.STATE_FLAGS:
        assert state in doc


def test_v1_status_changes_become_vehicle_status_rows(mini: Zoning) -> None:
    """1.2 changes: battery fraction to percent, zones located; bad rows give their reasons."""
    raw = mds.parse_status_changes(
        mds.fetch_pages(MDS / "v1_2" / "status_changes", kind="status_changes")
    )
    checked = mds.check_status_changes(raw, system_id="ops", timezone=CHICAGO, zoning=mini)
    assert checked.rows_read == 10 and checked.accepted.height == 7
    first = checked.accepted.row(0, named=True)
    assert (first["battery_pct"], first["zone_id"], first["is_reserved"]) == (80.0, "1", False)
    elsewhere = checked.accepted.filter(pl.col("zone_id").is_null())
    assert elsewhere["is_disabled"].to_list() == [True]
    assert checked.reasons == {
        "battery_pct outside 0-1": 1,
        "missing location": 1,
        "unknown vehicle state": 1,
    }
    record = json.loads(checked.rejected["record"][0])
    assert record["vehicle_state"] == "flying"


def test_v0_4_event_types_map_like_states() -> None:
    """0.4's event_type (available, reserved, unavailable, removed, unknown) sets the flags."""
    raw = mds.parse_status_changes(
        mds.fetch_pages(MDS / "v0_4" / "status_changes", kind="status_changes")
    )
    checked = mds.check_status_changes(raw, system_id="ops", timezone=CHICAGO)
    flags = checked.accepted.select("is_reserved", "is_disabled").rows()
    assert flags == [(False, False), (True, False), (False, True), (False, True), (False, True)]
    assert checked.accepted["battery_pct"].to_list() == [100.0, 60.0, 40.0, 30.0, 20.0]


def test_v2_events_read_battery_percent() -> None:
    """2.0 events: ``battery_percent`` is already percent; 140 is rejected, not clamped."""
    pages = mds.fetch_pages(MDS / "v2_0" / "events", kind="status_changes")
    checked = mds.check_status_changes(
        mds.parse_status_changes(pages), system_id="ops", timezone=CHICAGO
    )
    assert checked.accepted["battery_pct"].to_list() == [64.0, 90.0, 35.0, 100.0]
    assert checked.reasons == {"battery_percent outside 0-100": 1}


def test_future_times_and_repeated_changes_are_rejected() -> None:
    """A change dated next week, and a second change of a vehicle at the same instant."""
    now = datetime(2024, 6, 3, 14, tzinfo=UTC)
    week_later = int(datetime(2024, 6, 10, tzinfo=UTC).timestamp() * 1000)
    checked = check_records(
        [
            status_record("available"),
            status_record("reserved"),
            status_record("available", event_time=week_later),
        ],
        now=now,
    )
    assert checked.accepted["is_reserved"].to_list() == [False]
    assert checked.rejected["reason"].to_list() == [
        "another change of this vehicle at the same time in this input",
        "event time in the future",
    ]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1717419720000", datetime(2024, 6, 3, 13, 2, tzinfo=UTC)),
        ("1717419720000.0", datetime(2024, 6, 3, 13, 2, tzinfo=UTC)),
        ("1717419720", None),
        ("1717419720000.5", None),
        ("2024-06-03T13:02:00Z", None),
        (None, None),
    ],
)
def test_times_are_integer_milliseconds(text: str | None, parsed: datetime | None) -> None:
    """MDS times are integer ms since the epoch; seconds, fractions and ISO text are not."""
    got = pl.select(mds.epoch_ms(pl.lit(text, pl.String))).item()
    assert got == parsed


def test_a_url_is_followed_through_links_next_with_the_token() -> None:
    """Page 1's absolute links.next is fetched; the token goes as a bearer header and the
    asked version as the MDS media type."""
    provider = Provider(MDS / "v1_2" / "trips")
    with provider.client() as client:
        pages = mds.fetch_pages(
            "https://mds.example.com/provider/trips?end_time=2024-06-03T13",
            kind="trips",
            token="t0k3n",
            version="1.2",
            client=client,
        )
    assert [len(p.records) for p in pages] == [3, 5]
    assert provider.requests[1].url.params["page"] == "2"
    for request in provider.requests:
        assert request.headers["Authorization"] == "Bearer t0k3n"
        assert request.headers["Accept"] == "application/vnd.mds.provider+json;version=1.2"


def test_a_relative_next_link_is_resolved_against_the_page() -> None:
    """2.0's relative ``?...&page=2`` link is joined to the endpoint's URL."""
    provider = Provider(MDS / "v2_0" / "trips")
    with provider.client() as client:
        pages = mds.fetch_pages(
            "https://mds.example.com/v2/trips?end_time=2024-06-04T22", kind="trips", client=client
        )
    assert [p.version for p in pages] == ["2.0.0", "2.0.0"]
    assert (
        str(provider.requests[1].url)
        == "https://mds.example.com/v2/trips?end_time=2024-06-04T22&page=2"
    )


def test_a_looping_next_link_is_refused() -> None:
    """A provider whose links.next points back to a page already read fails the feed."""
    body = {"version": "1.2.0", "data": {"trips": []}, "links": {"next": "https://p.example/t"}}
    client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    )
    with pytest.raises(SourceError, match="paging loops"):
        mds.fetch_pages("https://p.example/t", kind="trips", client=client)


def test_a_refused_token_says_to_check_it_and_does_not_show_it() -> None:
    """HTTP 401 fails at once with the token hint; the token is not in the message."""
    provider = Provider(MDS / "v1_2" / "trips", status=401)
    with provider.client() as client, pytest.raises(SourceError, match="HTTP 401") as err:
        mds.fetch_pages(
            "https://mds.example.com/provider/trips", kind="trips", token="t0k3n", client=client
        )
    assert "credentials" in str(err.value) and "t0k3n" not in str(err.value)
    assert len(provider.requests) == 1


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (MDS / "bad" / "wrong_endpoint.json", r"has no list of trips .*keys found: \['data'"),
        (MDS / "bad" / "version_3.json", "MDS version 3.0.0 .* is not supported"),
        (MDS / "nowhere", "neither an http"),
        (MDS / "v1_2", r"v1_2 holds no \*.json pages"),
    ],
)
def test_a_feed_that_is_not_mds_is_refused_as_a_whole(source: Path, says: str) -> None:
    """Not a trips payload, an unknown major version, or a missing path: SourceError."""
    with pytest.raises(SourceError, match=says):
        mds.fetch_pages(source, kind="trips")


def test_pages_of_another_version_than_asked_are_refused() -> None:
    """Asking for 2.0 from a folder of 1.2 pages fails and says what to do."""
    with pytest.raises(SourceError, match=r"asked for MDS 2.0 but .* is version 1.2.0"):
        mds.fetch_pages(MDS / "v1_2" / "trips", kind="trips", version="2.0")


def test_mixed_versions_are_refused(tmp_path: Path) -> None:
    """Pages declaring different versions are not read as one feed."""
    for n, version in ((1, "1.2.0"), (2, "2.0.0")):
        (tmp_path / f"page{n}.json").write_text(json.dumps({"version": version, "trips": []}))
    with pytest.raises(SourceError, match="different MDS versions"):
        mds.fetch_pages(tmp_path, kind="trips")


def test_a_saved_page_that_is_not_json_is_named(tmp_path: Path) -> None:
    """A saved page with HTML in it is refused with its file name."""
    (tmp_path / "page1.json").write_text("<html>login</html>")
    with pytest.raises(SourceError, match=r"page1.json is not a JSON page"):
        mds.fetch_pages(tmp_path, kind="trips")


def test_saved_pages_are_read_in_natural_order(tmp_path: Path) -> None:
    """page2 comes before page10 when a folder is replayed."""
    for n in (10, 2, 1):
        body = {"version": "1.2.0", "data": {"trips": [{"trip_id": f"t{n}"}]}}
        (tmp_path / f"page{n}.json").write_text(json.dumps(body))
    pages = mds.fetch_pages(tmp_path, kind="trips")
    assert [p.records[0]["trip_id"] for p in pages] == ["t1", "t2", "t10"]
