"""Auto-discovery: where each feed of a GBFS system is, from its ``gbfs.json``.

1.x and 2.x list the feeds per language (``data.<lang>.feeds[]``): the requested language is
used when offered, else English, else the first one listed. 3.0 lists them once
(``data.feeds[]``) and moves languages into the texts. A 3.0 ``manifest.json`` with a single
system is followed to that system's ``gbfs.json``.

A folder of saved files works like a URL: with a ``gbfs.json`` its feed URLs are resolved to
the folder's files by their file name (``.../en/station_status`` and
``.../station_status.json`` both become ``station_status.json``); without one, the files are
found by their GBFS names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from fleetcast.errors import SourceError
from fleetcast.sources.gbfs.documents import FeedReader, is_url, local_path, open_document

DISCOVERY_FILE: Final = "gbfs.json"
URL_LENGTH: Final = 1024
"""The db's feed-state url column holds 1,024 characters: a longer feed url is skipped (a
feed whose state cannot be saved would fail every write of the system)."""
SYSTEM_INFORMATION: Final = "system_information"
VEHICLE_TYPES: Final = "vehicle_types"
STATION_INFORMATION: Final = "station_information"
STATION_STATUS: Final = "station_status"
FREE_BIKE_STATUS: Final = "free_bike_status"
VEHICLE_STATUS: Final = "vehicle_status"
VEHICLE_FEEDS: Final = (FREE_BIKE_STATUS, VEHICLE_STATUS)
FEEDS: Final = (
    SYSTEM_INFORMATION,
    VEHICLE_TYPES,
    STATION_INFORMATION,
    STATION_STATUS,
    FREE_BIKE_STATUS,
    VEHICLE_STATUS,
)
"""The feeds fleetcast reads, in the order they are read (each needs the ones before)."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where each feed of one system is (URL or local file), as found from gbfs.json or, in
    a folder without one, from the file names."""

    source: str
    """What was asked for: a gbfs.json URL, a folder or a file."""
    url: str | None
    """The gbfs.json that was read (None for a folder without one)."""
    version: str | None
    language: str | None
    languages: tuple[str, ...]
    ttl_s: int | None
    last_updated: datetime | None
    feeds: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def vehicles_feed(self) -> str | None:
        """``free_bike_status`` or ``vehicle_status``, whichever the system publishes."""
        return next((name for name in VEHICLE_FEEDS if name in self.feeds), None)

    def require_data(self) -> None:
        """SourceError unless there is a station_status or a vehicles feed to read."""
        if STATION_STATUS not in self.feeds and self.vehicles_feed is None:
            listed = ", ".join(self.feeds) or "nothing"
            raise SourceError(
                f"{self.url or self.source} lists neither station_status nor "
                f"free_bike_status / vehicle_status (it lists {listed}); there is no "
                "availability to read"
            )


def discover(
    source: str | Path,
    *,
    reader: FeedReader,
    now: datetime,
    language: str | None = None,
) -> Discovery:
    """Find the feeds of ``source``: a gbfs.json URL (or a 3.0 manifest), a folder of saved
    files (with or without gbfs.json) or a saved gbfs.json file."""
    text = str(source)
    if is_url(text):
        url, doc = _follow_manifest(text, reader.read_json(text), reader)
        found = parse_discovery(doc, url=url, now=now, language=language)
        return replace(found, source=text)
    path = local_path(text)
    if path.is_dir():
        saved = path / DISCOVERY_FILE
        if not saved.is_file():
            return from_file_names(path)
        path = saved
    elif not path.is_file():
        raise SourceError(
            f"{text} is neither an http(s) URL nor an existing folder or file; give the "
            "gbfs.json URL of a system or a folder of saved GBFS files"
        )
    url, doc = _follow_manifest(str(path), reader.read_json(str(path)), reader)
    found = parse_discovery(doc, url=url, now=now, language=language)
    return replace(localize(found, local_path(url).parent), source=text)


def parse_discovery(doc: Any, *, url: str, now: datetime, language: str | None = None) -> Discovery:
    """The feeds a parsed gbfs.json lists, in the language chosen (see module doc)."""
    envelope = open_document(doc, "gbfs", url, now=now)
    warnings = list(envelope.warnings)
    data = envelope.data
    by_language: dict[str | None, list[Any]] = {}
    if isinstance(data.get("feeds"), list):
        by_language[None] = data["feeds"]
        if envelope.spec.discovery_by_language:
            warnings.append(
                f"gbfs.json lists data.feeds (the 3.0 layout) in a {envelope.spec.major}.x "
                "feed: read as such"
            )
    else:
        by_language = {
            str(lang): body["feeds"]
            for lang, body in data.items()
            if isinstance(body, dict) and isinstance(body.get("feeds"), list)
        }
        if by_language and not envelope.spec.discovery_by_language:
            warnings.append(
                "gbfs.json lists feeds per language (the 1.x/2.x layout) in a 3.0 feed: "
                "read as such"
            )
    if not by_language:
        raise SourceError(
            f"{url} lists no feeds (expected data.<language>.feeds or data.feeds); "
            "check that it is a GBFS gbfs.json"
        )
    offered = tuple(lang for lang in by_language if lang is not None)
    chosen = _choose_language(offered, language, warnings)
    entries = by_language[chosen] if offered else by_language[None]
    feeds: dict[str, str] = {}
    skipped = 0
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        link = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(link, str) or not link.strip():
            skipped += 1
            continue
        if name in FEEDS and name not in feeds:
            target = urljoin(url, link.strip()) if is_url(url) else link.strip()
            if len(target) > URL_LENGTH:
                warnings.append(
                    f"{name} url longer than {URL_LENGTH:,} characters: skipped ({target[:60]}...)"
                )
                continue
            feeds[name] = target
    if skipped:
        warnings.append(f"{skipped} feed entries without a name and url: skipped")
    return Discovery(
        source=url,
        url=url,
        version=envelope.version,
        language=chosen if offered else language,
        languages=offered,
        ttl_s=envelope.ttl_s,
        last_updated=envelope.last_updated,
        feeds=feeds,
        warnings=tuple(warnings),
    )


def _choose_language(
    offered: tuple[str, ...], wanted: str | None, warnings: list[str]
) -> str | None:
    """The requested language when offered, else English, else the first listed."""
    if not offered:
        return None
    if wanted is not None and wanted in offered:
        return wanted
    chosen = "en" if "en" in offered else offered[0]
    if wanted is not None:
        warnings.append(
            f"language {wanted!r} not offered (offered: {', '.join(offered)}): using {chosen}"
        )
    return chosen


def localize(found: Discovery, folder: Path) -> Discovery:
    """Point each feed of a saved gbfs.json at the folder's file of the same name."""
    feeds: dict[str, str] = {}
    warnings = list(found.warnings)
    for name, link in found.feeds.items():
        file_name = PurePosixPath(urlsplit(link).path).name or f"{name}.json"
        if not file_name.endswith(".json"):
            file_name += ".json"
        candidates = (folder / file_name, folder / f"{name}.json")
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            warnings.append(f"gbfs.json lists {name} at {link}, but {folder} has no {file_name}")
            continue
        feeds[name] = str(path)
    return replace(found, feeds=feeds, warnings=tuple(warnings))


def from_file_names(folder: Path) -> Discovery:
    """The GBFS files of a folder without gbfs.json, found by their names."""
    paths = {name: folder / f"{name}.json" for name in FEEDS}
    feeds = {name: str(path) for name, path in paths.items() if path.is_file()}
    if not feeds:
        raise SourceError(
            f"{folder} has neither gbfs.json nor any GBFS file "
            f"({', '.join(f'{n}.json' for n in FEEDS)})"
        )
    return Discovery(
        source=str(folder),
        url=None,
        version=None,
        language=None,
        languages=(),
        ttl_s=None,
        last_updated=None,
        feeds=feeds,
    )


def _follow_manifest(url: str, doc: Any, reader: FeedReader) -> tuple[str, Any]:
    """A 3.0 manifest.json of one system leads to its newest gbfs.json; anything else is
    returned as it is."""
    data = doc.get("data") if isinstance(doc, dict) else None
    datasets = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(datasets, list):
        return url, doc
    usable = [d for d in datasets if isinstance(d, dict) and isinstance(d.get("versions"), list)]
    if len(usable) != 1:
        listed = "; ".join(f"{d.get('system_id')}: {_newest_url(d)}" for d in usable[:10]) or "none"
        raise SourceError(
            f"{url} is a manifest of {len(usable)} systems ({listed}); give the gbfs.json "
            "URL of one of them"
        )
    target = _newest_url(usable[0])
    if target is None:
        raise SourceError(f"{url} is a manifest whose system lists no gbfs.json URL")
    if is_url(url):
        target = urljoin(url, target)
    else:
        target = str(local_path(url).parent / PurePosixPath(urlsplit(target).path).name)
    return target, reader.read_json(target)


def _newest_url(dataset: Mapping[str, Any]) -> str | None:
    """The gbfs.json URL of a manifest entry's last (newest) version."""
    versions = [v for v in dataset.get("versions", []) if isinstance(v, dict)]
    urls = [v["url"] for v in versions if isinstance(v.get("url"), str)]
    return urls[-1] if urls else None
