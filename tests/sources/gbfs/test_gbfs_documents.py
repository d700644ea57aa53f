"""Tests of reading one GBFS file: its envelope, and whole-file failures as SourceError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from gbfs_helpers import NOW, PUBLISHED, document

from fleetcast.errors import SourceError
from fleetcast.sources import _http
from fleetcast.sources.gbfs import FeedReader, open_document, read_document
from fleetcast.sources.gbfs.versions import V1, V3

URL = "https://gbfs.example.org/station_status.json"


def reader_for(handler: httpx.MockTransport) -> FeedReader:
    """A reader whose requests go to a mock transport, retrying without waiting."""
    client = _http.build_client(transport=handler)
    return FeedReader(client=client, retries=1, sleep=lambda _: None)


def test_envelope_gives_version_publish_time_and_ttl() -> None:
    """A 2.3 file's version, last_updated (UTC) and ttl are read; nothing to warn about."""
    doc = document("station_status", {"stations": []})
    assert doc.version == "2.3"
    assert doc.last_updated == datetime(2025, 10, 18, 9, tzinfo=UTC)
    assert doc.ttl_s == 60
    assert doc.warnings == ()


def test_a_file_without_version_is_1_0() -> None:
    """No ``version`` field: the 1.0 layout."""
    assert document("station_status", {"stations": []}, version=None).spec is V1


def test_gbfs_json_version_applies_to_files_without_one() -> None:
    """A sub-feed that does not state its version takes gbfs.json's."""
    doc = open_document(
        {"last_updated": "2025-10-18T09:00:00Z", "ttl": 0, "data": {"stations": []}},
        "station_status",
        URL,
        now=NOW,
        version="3.0",
    )
    assert doc.spec is V3


def test_renamed_publish_time_is_read_with_a_warning() -> None:
    """Vélib's ``lastUpdatedOther`` is read as last_updated, and reported."""
    doc = open_document(
        {"lastUpdatedOther": PUBLISHED, "ttl": 3600, "data": {"stations": []}},
        "station_status",
        URL,
        now=NOW,
    )
    assert doc.last_updated == datetime(2025, 10, 18, 9, tzinfo=UTC)
    assert doc.warnings == (
        "top-level timestamp named lastUpdatedOther instead of last_updated: read as last_updated",
    )


def test_missing_publish_time_and_ttl_are_warned_not_invented_silently() -> None:
    """Without last_updated the fetch time is the snapshot time; without ttl, --every."""
    doc = open_document({"data": {"stations": []}}, "station_status", URL, now=NOW)
    assert doc.last_updated == NOW
    assert doc.ttl_s is None
    assert any("time of the fetch" in w for w in doc.warnings)
    assert any("no ttl" in w for w in doc.warnings)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "not a GBFS object"),
        ({"last_updated": PUBLISHED, "ttl": 60}, "has no 'data' object"),
        ({"last_updated": PUBLISHED, "ttl": 60, "data": [1]}, "has a 'data' list"),
        ({"last_updated": "soon", "ttl": 60, "data": {}}, "'soon' is not a timestamp"),
        (
            {"last_updated": int((NOW + timedelta(days=3)).timestamp()), "data": {}},
            "more than a day ahead",
        ),
    ],
)
def test_unusable_envelopes_raise_source_error(doc: object, message: str) -> None:
    """No data object, an unreadable or far-future publish time: the whole file fails."""
    with pytest.raises(SourceError, match=message):
        open_document(doc, "station_status", URL, now=NOW)


def test_records_names_the_missing_list() -> None:
    """A file without its list of records says which list was expected."""
    doc = document("station_status", {"bikes": []})
    with pytest.raises(SourceError, match=r"no data\.stations list"):
        doc.records("stations")


def test_truncated_json_is_reported_as_truncated(tmp_path: Path) -> None:
    """A file cut in the middle fails with a message that says it ends early."""
    path = tmp_path / "station_status.json"
    path.write_text('{"last_updated": 1760778000, "data": {"stations": [{"station_id": "1"')
    with FeedReader() as reader, pytest.raises(SourceError, match=r"truncated"):
        read_document(reader, "station_status", str(path), now=NOW)


def test_missing_and_empty_files_fail_clearly(tmp_path: Path) -> None:
    """An absent file and an empty one are SourceErrors naming the file."""
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with FeedReader() as reader:
        with pytest.raises(SourceError, match="does not exist"):
            reader.read_json(str(tmp_path / "absent.json"))
        with pytest.raises(SourceError, match="is empty"):
            reader.read_json(str(empty))


def test_http_5xx_after_retries_is_a_source_error() -> None:
    """A server answering 503 every time fails after the retries, naming the status."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        """Always 503."""
        calls.append(request)
        return httpx.Response(503, text="maintenance")

    with (
        reader_for(httpx.MockTransport(handler)) as reader,
        pytest.raises(SourceError, match="HTTP 503"),
    ):
        read_document(reader, "station_status", URL, now=NOW)
    assert len(calls) == 2


def test_http_timeout_is_a_source_error() -> None:
    """A feed that never answers fails with the timeout named."""

    def handler(request: httpx.Request) -> httpx.Response:
        """Never answers."""
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        reader_for(httpx.MockTransport(handler)) as reader,
        pytest.raises(SourceError, match="ReadTimeout"),
    ):
        read_document(reader, "station_status", URL, now=NOW)


def test_http_html_instead_of_json_is_a_source_error() -> None:
    """A portal answering HTML fails with 'not JSON (looks like HTML' and the URL."""
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text="<html>login</html>"))
    with reader_for(transport) as reader, pytest.raises(SourceError, match="looks like HTML"):
        read_document(reader, "station_status", URL, now=NOW)


def test_an_html_error_page_is_named_as_html_not_as_truncated_json(tmp_path: Path) -> None:
    """A proxy's "502 Bad Gateway" page is reported as an HTML page with its title, not
    as JSON that "ends early (truncated)", which sends the reader looking for the wrong
    problem."""
    path = tmp_path / "station_status.json"
    path.write_text(
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
        "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx"
    )
    with FeedReader() as reader, pytest.raises(SourceError) as raised:
        read_document(reader, "station_status", str(path), now=NOW)
    message = str(raised.value)
    assert "is not JSON (looks like HTML: '502 Bad Gateway')" in message
    assert "truncated" not in message


def test_numbers_json_cannot_hold_are_a_source_error(tmp_path: Path) -> None:
    """A number of 5,000 digits stops Python's JSON parser with a plain ValueError: it is
    reported as a broken file, not raised as a crash."""
    path = tmp_path / "station_status.json"
    path.write_text('{"last_updated": ' + "9" * 5000 + ', "data": {"stations": []}}')
    with FeedReader() as reader, pytest.raises(SourceError, match="cannot be read as JSON"):
        read_document(reader, "station_status", str(path), now=NOW)


@pytest.mark.parametrize(
    ("published", "message"),
    [
        (1e25, r"last_updated is 1e\+25 \(past the year 9999\), more than a day ahead"),
        (-1e15, "last_updated -1000000000000000.0 is before 2000"),
        (10**400, "is not a timestamp"),
        (0, "last_updated 0 is before 2000"),
    ],
    ids=["1e25", "-1e15 ms", "400 digits", "zero"],
)
def test_impossible_publish_times_are_a_source_error(published: object, message: str) -> None:
    """A publish time no datetime can hold (1e25, -1e15 as milliseconds, a 400-digit
    number) or before 2000 refuses the file with a SourceError naming the value, instead
    of an OverflowError or ValueError from ``fromtimestamp``. It is refused rather than
    read as unknown: the poller tells new snapshots by this time."""
    doc = {"last_updated": published, "ttl": 60, "data": {"stations": []}}
    with pytest.raises(SourceError, match=message):
        open_document(doc, "station_status", URL, now=NOW)


def test_a_ttl_over_a_day_is_read_as_a_day_with_a_warning() -> None:
    """ttl 99999999999999999999 (which overflowed the poller's timedelta) is read as
    86,400 s and reported; a ttl within a day is kept as published."""
    doc = document("station_status", {"stations": []}, ttl=99999999999999999999)
    assert doc.ttl_s == 86_400
    assert doc.warnings == ("ttl 99999999999999999999 is longer than a day: read as 86,400 s",)
    assert document("station_status", {"stations": []}, ttl=86_400).ttl_s == 86_400


def test_a_version_longer_than_its_column_is_not_kept() -> None:
    """A ``version`` over 16 characters (the feed-state column) is warned about and not
    kept as the feed's version, so saving the feed state cannot fail on PostgreSQL."""
    doc = document("station_status", {"stations": []}, version="2.3-" + "x" * 100)
    assert doc.version is None
    assert doc.spec.major == 2
    assert any("longer than 16 characters" in w for w in doc.warnings)
    assert all(len(w) < 200 for w in doc.warnings)


def test_a_records_field_that_is_not_a_list_is_named() -> None:
    """``data.stations`` given as an object is named as such, not as a missing list."""
    doc = document("station_status", {"stations": {"a": 1}})
    with pytest.raises(SourceError, match=r"data\.stations as a JSON object, not a list"):
        doc.records("stations")


def test_file_uris_are_read_as_local_files(tmp_path: Path) -> None:
    """``file://`` URIs (the demo's gbfs.json uses them) read the local file."""
    path = tmp_path / "x y.json"
    path.write_text('{"data": {}}')
    with FeedReader() as reader:
        assert reader.read_json(path.as_uri()) == {"data": {}}
