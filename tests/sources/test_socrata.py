"""Tests for the Socrata SODA client and the Chicago e-scooter helpers, on recorded pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import respx

from fleetcast.errors import SourceError
from fleetcast.sources import _http, socrata

DATA = Path(__file__).resolve().parents[1] / "data" / "socrata"
TRIPS_URL = "https://data.cityofchicago.org/resource/3rse-fbp6.json"
DAY_WHERE = "start_time >= '2020-08-12T00:00:00' AND start_time < '2020-08-13T00:00:00'"

Handler = Callable[[httpx.Request], httpx.Response]


def page(name: str) -> list[dict[str, Any]]:
    """A recorded SODA response from tests/data/socrata."""
    records: list[dict[str, Any]] = json.loads((DATA / name).read_text())
    return records


def pilot_2020_day() -> list[list[dict[str, Any]]]:
    """The 7 trips of 2020-08-12 as three pages of 3 (3, 3, 1), as the portal pages them."""
    return [page(f"chicago_2020_page{n}.json") for n in (1, 2, 3)]


def paged_portal(pages: list[list[dict[str, Any]]]) -> tuple[Handler, list[httpx.Request]]:
    """A mock portal serving ``pages`` by ``$offset`` and honouring ``$limit``."""
    rows = [record for chunk in pages for record in chunk]
    starts = {sum(len(chunk) for chunk in pages[:i]) for i in range(len(pages) + 1)}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        offset = int(request.url.params["$offset"])
        limit = int(request.url.params["$limit"])
        assert offset in starts or offset == len(rows), "offset not at a page boundary"
        return httpx.Response(200, json=rows[offset : offset + limit])

    return handler, seen


def client_for(handler: Handler) -> httpx.Client:
    """A fleetcast client whose requests go to ``handler`` instead of the network."""
    return _http.build_client(transport=httpx.MockTransport(handler))


def always(response: httpx.Response) -> Handler:
    """A mock handler giving the same answer to every request."""
    return lambda request: response


def test_paging_sends_offsets_and_stops_at_the_short_page() -> None:
    """Three pages are fetched with $limit/$offset/$order/$where; the short third one ends it."""
    handler, seen = paged_portal(pilot_2020_day())
    with client_for(handler) as client:
        pages = list(
            socrata.fetch_rows(
                socrata.CHICAGO_DOMAIN,
                socrata.CHICAGO_TRIPS_2020_PILOT,
                where=DAY_WHERE,
                page_size=3,
                client=client,
            )
        )
    assert [len(p) for p in pages] == [3, 3, 1]
    assert len(seen) == 3
    for request, offset in zip(seen, (0, 3, 6), strict=True):
        assert str(request.url.copy_with(query=None)) == TRIPS_URL
        assert request.url.params["$limit"] == "3"
        assert request.url.params["$offset"] == str(offset)
        assert request.url.params["$order"] == ":id"
        assert request.url.params["$where"] == DAY_WHERE
        assert "$select" not in request.url.params


def test_a_full_last_page_costs_one_empty_request() -> None:
    """When the rows divide evenly into pages, an empty page ends the paging."""
    handler, seen = paged_portal(pilot_2020_day()[:2])
    with client_for(handler) as client:
        pages = list(
            socrata.fetch_rows("data.cityofchicago.org", "3rse-fbp6", page_size=3, client=client)
        )
    assert [len(p) for p in pages] == [3, 3]
    assert [r.url.params["$offset"] for r in seen] == ["0", "3", "6"]


def test_select_and_order_are_passed_through() -> None:
    """A custom $select and $order reach the portal unchanged."""
    handler, seen = paged_portal([[{"trip_id": "x"}]])
    with client_for(handler) as client:
        list(
            socrata.fetch_rows(
                "data.cityofchicago.org",
                "3rse-fbp6",
                select="trip_id, start_time",
                order="start_time, trip_id",
                client=client,
            )
        )
    assert seen[0].url.params["$select"] == "trip_id, start_time"
    assert seen[0].url.params["$order"] == "start_time, trip_id"
    assert seen[0].url.params["$limit"] == "50000"


def test_app_token_header_only_when_given() -> None:
    """``X-App-Token`` is sent with a token and absent without one."""
    handler, seen = paged_portal([[{"trip_id": "x"}]])
    with client_for(handler) as client:
        list(socrata.fetch_rows("data.cityofchicago.org", "3rse-fbp6", client=client))
        list(
            socrata.fetch_rows(
                "data.cityofchicago.org", "3rse-fbp6", app_token="tok123", client=client
            )
        )
    assert "X-App-Token" not in seen[0].headers
    assert seen[1].headers["X-App-Token"] == "tok123"


@pytest.mark.parametrize(
    ("max_rows", "sizes", "limits"),
    [
        (4, [3, 1], ["3", "1"]),
        (6, [3, 3], ["3", "3"]),
        (100, [3, 3, 1], ["3", "3", "3"]),
        (0, [], []),
    ],
)
def test_max_rows_is_honoured(max_rows: int, sizes: list[int], limits: list[str]) -> None:
    """No more than ``max_rows`` records are asked for or yielded."""
    handler, seen = paged_portal(pilot_2020_day())
    with client_for(handler) as client:
        pages = list(
            socrata.fetch_rows(
                "data.cityofchicago.org",
                "3rse-fbp6",
                page_size=3,
                max_rows=max_rows,
                client=client,
            )
        )
    assert [len(p) for p in pages] == sizes
    assert [r.url.params["$limit"] for r in seen] == limits


def test_on_page_reports_the_running_total() -> None:
    """``on_page`` hears the number of records fetched so far after every page."""
    handler, _ = paged_portal(pilot_2020_day())
    totals: list[int] = []
    with client_for(handler) as client:
        for _ in socrata.fetch_rows(
            "data.cityofchicago.org", "3rse-fbp6", page_size=3, client=client, on_page=totals.append
        ):
            pass
    assert totals == [3, 6, 7]


def test_fetch_rows_under_respx_with_its_own_client() -> None:
    """Without a client one is built (and closed); respx replays the recorded pages."""
    pages = pilot_2020_day()
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(TRIPS_URL).mock(
            side_effect=[httpx.Response(200, json=chunk) for chunk in pages]
        )
        got = list(socrata.fetch_rows("data.cityofchicago.org", "3rse-fbp6", page_size=3))
    assert got == pages
    assert route.call_count == 3
    assert route.calls[2].request.headers["User-Agent"].startswith("fleetcast/")


def test_a_query_error_surfaces_the_portal_message() -> None:
    """A bad $where gets a 400 at once, with Socrata's explanation and the URL in the error."""
    body = (DATA / "error_no_such_column.json").read_bytes()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, content=body)

    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        list(socrata.fetch_rows("data.cityofchicago.org", "3rse-fbp6", where="x", client=client))
    assert "No such column: start_tme" in str(caught.value)
    assert TRIPS_URL in str(caught.value)
    assert len(calls) == 1


def test_a_response_that_is_not_a_list_is_refused() -> None:
    """An object where a list of records was expected is a SourceError, not a crash later."""
    with (
        client_for(always(httpx.Response(200, json={"error": True}))) as client,
        pytest.raises(SourceError, match="list of records"),
    ):
        list(socrata.fetch_rows("data.cityofchicago.org", "3rse-fbp6", client=client))


@pytest.mark.parametrize(
    ("domain", "dataset_id"),
    [
        ("https://data.cityofchicago.org", "3rse-fbp6"),
        ("data.cityofchicago.org/resource", "3rse-fbp6"),
        ("data.cityofchicago.org", "3rse-fbp6.json"),
        ("data.cityofchicago.org", "E-Scooter-Trips"),
    ],
)
def test_bad_domain_or_dataset_id_is_refused(domain: str, dataset_id: str) -> None:
    """A URL for a domain or a malformed dataset id is refused before any request."""
    with pytest.raises(ValueError):
        socrata.fetch_rows(domain, dataset_id)


def test_fetch_frame_gives_text_columns_and_nulls_for_omitted_fields() -> None:
    """Every column is text, Socrata's omitted nulls are nulls and points are JSON text."""
    handler, _ = paged_portal(pilot_2020_day())
    with client_for(handler) as client:
        frame = socrata.fetch_frame(
            "data.cityofchicago.org", "3rse-fbp6", page_size=3, client=client
        )
    assert frame.height == 7
    assert set(frame.schema.values()) == {pl.String}
    assert set(frame.columns) == set(page("chicago_2020_page1.json")[0])
    by_id = {row["trip_id"]: row for row in frame.iter_rows(named=True)}
    ended_outside = by_id["9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"]
    assert ended_outside["end_community_area_number"] is None
    assert ended_outside["end_centroid_location"] is None
    assert ended_outside["start_community_area_number"] == "22"
    no_place = by_id["3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"]
    assert no_place["start_centroid_latitude"] is None
    assert no_place["trip_distance"] == "0"
    first = by_id["a7c3e1f2-5b4d-4c6e-9f1a-2b3c4d5e6f70"]
    assert json.loads(first["start_centroid_location"]) == {
        "type": "Point",
        "coordinates": [-87.6344979, 41.9000328],
    }
    assert first["trip_duration"] == "412"


def test_fetch_frame_adds_a_column_that_only_a_later_page_has() -> None:
    """A field first seen on page 2 becomes a column, null for the rows of page 1."""
    handler, _ = paged_portal([[{"a": "1"}], [{"a": "2", "b": "x"}], []])
    with client_for(handler) as client:
        frame = socrata.fetch_frame("data.example.org", "abcd-1234", page_size=1, client=client)
    assert frame.to_dict(as_series=False) == {"a": ["1", "2"], "b": [None, "x"]}


def test_fetch_frame_of_nothing_is_empty() -> None:
    """A query matching no rows gives an empty frame, not an error."""
    handler, _ = paged_portal([[]])
    with client_for(handler) as client:
        frame = socrata.fetch_frame("data.cityofchicago.org", "3rse-fbp6", client=client)
    assert frame.is_empty()


def test_api_frame_to_csv_columns_matches_the_export_layout() -> None:
    """Names become the CSV titles in order, times the export's 12-hour text, points WKT."""
    handler, _ = paged_portal(pilot_2020_day())
    with client_for(handler) as client:
        api = socrata.fetch_frame("data.cityofchicago.org", "3rse-fbp6", page_size=3, client=client)
    csv = socrata.api_frame_to_csv_columns(api)
    assert csv.columns == list(socrata.CHICAGO_TRIP_FIELDS.values())
    assert set(csv.schema.values()) == {pl.String}
    rows = {row["Trip ID"]: row for row in csv.iter_rows(named=True)}
    morning = rows["a7c3e1f2-5b4d-4c6e-9f1a-2b3c4d5e6f70"]
    assert morning["Start Time"] == "08/12/2020 06:00:00 AM"
    assert morning["Start Centroid Location"] == "POINT (-87.6344979 41.9000328)"
    assert morning["Vendor"] == "Lime"
    assert morning["Trip Distance"] == "1203"
    assert morning["Accuracy"] is None
    late = rows["7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"]
    assert late["Start Time"] == "08/12/2020 11:00:00 PM"
    assert late["End Time"] == "08/13/2020 12:00:00 AM"
    noon = rows["5d6e7f80-91a2-4b3c-8d4e-5f60718293a4"]
    assert noon["Start Time"] == "08/12/2020 12:00:00 PM"
    assert noon["End Centroid Location"] == "POINT (-87.7631118242259 41.8941012961134)"
    assert rows["3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"]["Start Centroid Location"] is None


def test_api_frame_to_csv_columns_on_the_2019_pilot() -> None:
    """The 2019 pilot keeps accuracy and census tracts; its missing vendor is a null column."""
    handler, _ = paged_portal([page("chicago_2019_page.json")])
    with client_for(handler) as client:
        api = socrata.fetch_frame("data.cityofchicago.org", "2kfw-zvte", client=client)
    csv = socrata.api_frame_to_csv_columns(api)
    first = csv.row(0, named=True)
    assert first["Start Time"] == "06/24/2019 07:00:00 PM"
    assert first["Accuracy"] == "10"
    assert first["Start Census Tract"] == "17031251900"
    assert csv["Vendor"].null_count() == csv.height == 2
    assert csv.row(1, named=True)["Start Community Area Name"] is None


def test_api_frame_to_csv_columns_passes_malformed_values_through() -> None:
    """Values of an unexpected shape are left as they were for the parser to reject."""
    api = pl.DataFrame(
        {
            "trip_id": ["t1"],
            "start_time": ["yesterday"],
            "end_time": ["2020-08-12T06:30:00"],
            "start_centroid_location": ['{"type":"Polygon","coordinates":[]}'],
            ":@computed_region_awaf_s7ux": ["23"],
        }
    )
    row = socrata.api_frame_to_csv_columns(api).row(0, named=True)
    assert row["Start Time"] == "yesterday"
    assert row["End Time"] == "08/12/2020 06:30:00 AM"
    assert row["Start Centroid Location"] == '{"type":"Polygon","coordinates":[]}'
    assert row[":@computed_region_awaf_s7ux"] == "23"


def test_soql_quote_doubles_single_quotes() -> None:
    """Quotes inside a value are doubled, so a value cannot end the literal early."""
    assert socrata.soql_quote("Lime") == "'Lime'"
    assert socrata.soql_quote("O'Hare' OR 1=1 --") == "'O''Hare'' OR 1=1 --'"


def test_between_clause_uses_floating_timestamps() -> None:
    """A half-open interval in Socrata's zone-less timestamp format."""
    clause = socrata.between_clause(
        "start_time", datetime(2020, 8, 12), datetime(2020, 8, 13, 6, 30)
    )
    assert clause == "start_time >= '2020-08-12T00:00:00' AND start_time < '2020-08-13T06:30:00'"
    assert clause.replace("06:30", "00:00") == DAY_WHERE


def test_between_clause_keeps_milliseconds() -> None:
    """Sub-second bounds are written to the millisecond, Socrata's precision."""
    clause = socrata.between_clause(
        "start_time", datetime(2020, 8, 12, 0, 0, 0, 250_000), datetime(2020, 8, 13)
    )
    assert clause.startswith("start_time >= '2020-08-12T00:00:00.250'")


@pytest.mark.parametrize(
    ("column", "start", "end"),
    [
        ("start_time", datetime(2020, 8, 12, tzinfo=UTC), datetime(2020, 8, 13)),
        ("start_time", datetime(2020, 8, 13), datetime(2020, 8, 12)),
        ("start_time", datetime(2020, 8, 12), datetime(2020, 8, 12)),
        ("start_time'; --", datetime(2020, 8, 12), datetime(2020, 8, 13)),
    ],
)
def test_between_clause_refuses_nonsense(column: str, start: datetime, end: datetime) -> None:
    """Aware datetimes, empty or reversed intervals and odd column names are refused."""
    with pytest.raises(ValueError):
        socrata.between_clause(column, start, end)


def test_chicago_constants() -> None:
    """The portal constants point at the pilot datasets and the community-area export."""
    assert socrata.CHICAGO_DOMAIN == "data.cityofchicago.org"
    assert socrata.CHICAGO_TRIPS_2019_PILOT == "2kfw-zvte"
    assert socrata.CHICAGO_TRIPS_2020_PILOT == "3rse-fbp6"
    assert socrata.CHICAGO_COMMUNITY_AREAS_GEOJSON_URL == (
        "https://data.cityofchicago.org/api/geospatial/cauq-8yn6?method=export&format=GeoJSON"
    )
    assert socrata.csv_export_url(socrata.CHICAGO_DOMAIN, "3rse-fbp6") == (
        "https://data.cityofchicago.org/api/views/3rse-fbp6/rows.csv?accessType=DOWNLOAD"
    )
    assert len(socrata.CHICAGO_TRIP_FIELDS) == 19


class BrokenStream(httpx.SyncByteStream):
    """A body that sends a first chunk and then fails with a local error (e.g. a full disk)."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"Trip ID,Start Time\n"
        raise OSError("No space left on device")


def leftovers(folder: Path, keep: Path) -> list[Path]:
    """Files in ``folder`` other than ``keep`` (a download's temporary files)."""
    return [p for p in folder.iterdir() if p != keep]


def test_download_file_writes_the_whole_body(tmp_path: Path) -> None:
    """A successful download replaces the target, makes its folder and leaves no temp file."""
    body = b"Trip ID,Start Time\nabc,08/12/2020 06:00:00 AM\n"
    dest = tmp_path / "raw" / "trips.csv"
    with client_for(always(httpx.Response(200, content=body))) as client:
        got = socrata.download_file("https://data.cityofchicago.org/x.csv", dest, client=client)
    assert got == dest
    assert dest.read_bytes() == body
    assert leftovers(dest.parent, dest) == []


def test_failed_download_keeps_the_older_file(tmp_path: Path) -> None:
    """A download that dies half-way leaves the previous file as it was and no partial file."""
    dest = tmp_path / "trips.csv"
    dest.write_bytes(b"old complete file\n")
    broken = always(httpx.Response(200, stream=BrokenStream()))
    with client_for(broken) as client, pytest.raises(OSError, match="No space left"):
        socrata.download_file("https://data.cityofchicago.org/x.csv", dest, client=client)
    assert dest.read_bytes() == b"old complete file\n"
    assert leftovers(tmp_path, dest) == []


def test_failed_download_leaves_no_file_at_all(tmp_path: Path) -> None:
    """A 404 raises SourceError and creates neither the target nor a temporary file."""
    dest = tmp_path / "trips.csv"
    with (
        client_for(always(httpx.Response(404))) as client,
        pytest.raises(SourceError, match="HTTP 404"),
    ):
        socrata.download_file("https://data.cityofchicago.org/x.csv", dest, client=client)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_api_frame_stays_empty() -> None:
    """No records in, no rows out: the CSV columns are there with zero rows."""
    out = socrata.api_frame_to_csv_columns(pl.DataFrame())
    assert out.height == 0
    assert list(out.columns) == list(socrata.CHICAGO_TRIP_FIELDS.values())
