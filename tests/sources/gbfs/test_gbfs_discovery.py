"""Tests of auto-discovery: gbfs.json layouts per version, languages, saved folders and the
3.0 manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from gbfs_helpers import NOW, PUBLISHED, V3

from fleetcast.errors import SourceError
from fleetcast.sources import _http
from fleetcast.sources.gbfs import FeedReader, discover, parse_discovery
from shared_data import shared_file

BASE = "https://gbfs.example.org/v2"


def gbfs_v2(languages: dict[str, list[str]]) -> dict[str, Any]:
    """A 2.3 gbfs.json listing, per language, feeds under BASE/<lang>/<name>.json."""
    return {
        "last_updated": PUBLISHED,
        "ttl": 60,
        "version": "2.3",
        "data": {
            lang: {"feeds": [{"name": n, "url": f"{BASE}/{lang}/{n}.json"} for n in names]}
            for lang, names in languages.items()
        },
    }


def test_v2_prefers_the_requested_language() -> None:
    """With fr asked for and offered, the French links are used."""
    doc = gbfs_v2({"en": ["station_status"], "fr": ["station_status"]})
    found = parse_discovery(doc, url=f"{BASE}/gbfs.json", now=NOW, language="fr")
    assert found.language == "fr"
    assert found.languages == ("en", "fr")
    assert found.feeds == {"station_status": f"{BASE}/fr/station_status.json"}
    assert found.warnings == ()


def test_v2_falls_back_to_english_then_to_the_first_language() -> None:
    """Without a preference English wins; without English the first listed; an unoffered
    preference is reported."""
    both = gbfs_v2({"fr": ["station_status"], "en": ["station_status"]})
    assert parse_discovery(both, url=f"{BASE}/gbfs.json", now=NOW).language == "en"
    no_english = gbfs_v2({"nb": ["station_status"], "fr": ["station_status"]})
    found = parse_discovery(no_english, url=f"{BASE}/gbfs.json", now=NOW, language="de")
    assert found.language == "nb"
    assert found.warnings == ("language 'de' not offered (offered: nb, fr): using nb",)


def test_v3_lists_feeds_once_and_ignores_unknown_ones() -> None:
    """3.0's data.feeds[] gives the links; gbfs and system_alerts are not feeds we read."""
    doc = json.loads((V3 / "gbfs.json").read_text())
    found = parse_discovery(doc, url="https://gbfs.example.org/v3/gbfs.json", now=NOW)
    assert found.version == "3.0"
    assert found.languages == ()
    assert list(found.feeds) == [
        "system_information",
        "vehicle_types",
        "station_information",
        "station_status",
        "vehicle_status",
    ]
    assert found.vehicles_feed == "vehicle_status"


def test_layout_of_the_other_version_is_read_with_a_warning() -> None:
    """A 2.3 gbfs.json with 3.0's data.feeds (a real-world mix-up) still works."""
    doc = {
        "last_updated": PUBLISHED,
        "ttl": 0,
        "version": "2.3",
        "data": {"feeds": [{"name": "free_bike_status", "url": "free_bike_status.json"}]},
    }
    found = parse_discovery(doc, url=f"{BASE}/gbfs.json", now=NOW)
    assert found.feeds == {"free_bike_status": f"{BASE}/free_bike_status.json"}
    assert "the 3.0 layout" in found.warnings[0]


def test_gbfs_json_without_feeds_fails() -> None:
    """A gbfs.json listing nothing is a SourceError saying what was expected."""
    doc = {"last_updated": PUBLISHED, "ttl": 0, "data": {"en": {"links": []}}}
    with pytest.raises(SourceError, match="lists no feeds"):
        parse_discovery(doc, url=f"{BASE}/gbfs.json", now=NOW)


def test_a_feed_without_availability_is_refused() -> None:
    """Only system_information: nothing to read, said plainly."""
    found = parse_discovery(gbfs_v2({"en": ["system_information"]}), url=BASE, now=NOW)
    with pytest.raises(SourceError, match="neither station_status nor"):
        found.require_data()


def test_a_feed_url_longer_than_its_column_is_skipped_with_a_warning() -> None:
    """A feed url over 1,024 characters (the feed-state column) is skipped and reported;
    kept, its state could not be saved on PostgreSQL and every write would fail."""
    doc = gbfs_v2({"en": ["system_information", "station_status"]})
    doc["data"]["en"]["feeds"][0]["url"] = f"{BASE}/{'x' * 1024}.json"
    found = parse_discovery(doc, url=f"{BASE}/gbfs.json", now=NOW)
    assert list(found.feeds) == ["station_status"]
    assert any(
        w.startswith("system_information url longer than 1,024 characters: skipped")
        for w in found.warnings
    )


def test_folder_with_gbfs_json_resolves_remote_urls_to_local_files() -> None:
    """Tier's gbfs.json points at raw.githubusercontent.com; the folder's files are used."""
    folder = shared_file("gbfs", "tier_wolfsburg", "gbfs.json").parent
    with FeedReader() as reader:
        found = discover(folder, reader=reader, now=NOW)
    assert found.version == "2.3"
    assert found.language == "en"
    assert found.feeds == {
        name: str(folder / f"{name}.json")
        for name in ("system_information", "free_bike_status", "vehicle_types")
    }


def test_folder_without_gbfs_json_is_read_by_file_names() -> None:
    """Vélib's saved folder has no gbfs.json: its files are found by their names."""
    folder = shared_file("gbfs", "velib_paris", "station_status.json").parent
    with FeedReader() as reader:
        found = discover(folder, reader=reader, now=NOW)
    assert found.url is None
    assert set(found.feeds) == {"station_information", "station_status"}


def test_listed_feed_missing_from_the_folder_is_reported(tmp_path: Path) -> None:
    """A gbfs.json link without a file in the folder is dropped with a warning."""
    (tmp_path / "gbfs.json").write_text(
        json.dumps(gbfs_v2({"en": ["station_information", "station_status"]}))
    )
    (tmp_path / "station_status.json").write_text("{}")
    with FeedReader() as reader:
        found = discover(tmp_path, reader=reader, now=NOW)
    assert list(found.feeds) == ["station_status"]
    assert found.warnings == (
        f"gbfs.json lists station_information at {BASE}/en/station_information.json, "
        f"but {tmp_path} has no station_information.json",
    )


def test_empty_folder_and_missing_path_fail(tmp_path: Path) -> None:
    """A folder with no GBFS file, and a path that does not exist, are SourceErrors."""
    with FeedReader() as reader:
        with pytest.raises(SourceError, match=r"neither gbfs\.json nor any GBFS file"):
            discover(tmp_path, reader=reader, now=NOW)
        with pytest.raises(SourceError, match="neither an http"):
            discover(tmp_path / "nowhere", reader=reader, now=NOW)


def test_manifest_of_one_system_leads_to_its_newest_gbfs_json() -> None:
    """The 3.0 manifest's newest version (3.0) of its only system is followed, over HTTP."""
    served = {
        "/manifest.json": (V3 / "manifest.json").read_bytes(),
        "/v3/gbfs.json": (V3 / "gbfs.json").read_bytes(),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        """Serve the manifest and the 3.0 gbfs.json; 404 otherwise."""
        body = served.get(request.url.path)
        return httpx.Response(200, content=body) if body else httpx.Response(404)

    client = _http.build_client(transport=httpx.MockTransport(handler))
    with FeedReader(client=client) as reader:
        found = discover("https://gbfs.example.org/manifest.json", reader=reader, now=NOW)
    assert found.url == "https://gbfs.example.org/v3/gbfs.json"
    assert found.source == "https://gbfs.example.org/manifest.json"
    assert found.feeds["station_status"] == "https://gbfs.example.org/v3/station_status.json"


def test_manifest_of_several_systems_asks_for_one(tmp_path: Path) -> None:
    """Two systems in a manifest: the error lists them and asks for one gbfs.json."""
    manifest = {
        "last_updated": "2025-10-18T09:00:00Z",
        "ttl": 0,
        "version": "3.0",
        "data": {
            "datasets": [
                {
                    "system_id": "a",
                    "versions": [{"version": "3.0", "url": "https://x/a/gbfs.json"}],
                },
                {
                    "system_id": "b",
                    "versions": [{"version": "3.0", "url": "https://x/b/gbfs.json"}],
                },
            ]
        },
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with FeedReader() as reader, pytest.raises(SourceError, match="manifest of 2 systems"):
        discover(path, reader=reader, now=NOW)
