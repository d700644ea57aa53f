"""Reading GBFS files from a URL or a local file, and their envelope: ``version``,
``last_updated``, ``ttl`` and ``data``.

A file that cannot be used as a whole (unreachable, HTTP 5xx after retries, a timeout, not
JSON, truncated JSON, no ``data`` object, a publish time that cannot be read or lies more
than a day ahead) raises :class:`~fleetcast.errors.SourceError` naming the file and what to
do; the caller then leaves the store as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from fleetcast.errors import SourceError
from fleetcast.sources import _http
from fleetcast.sources.gbfs import deviations
from fleetcast.sources.gbfs.values import Notes, parse_time
from fleetcast.sources.gbfs.versions import VersionSpec, spec_for

FEED_TIMEOUT: Final = httpx.Timeout(20.0, connect=5.0)
"""A feed answers in seconds or not at all: shorter than the helper's 60 s default."""
FUTURE_SLACK: Final = timedelta(days=1)
"""A publish or report time further ahead of now than this is impossible."""


def is_url(location: str) -> bool:
    """True for an http(s) URL (anything else is a local path or a file:// URI)."""
    return location.startswith(("http://", "https://"))


def local_path(location: str) -> Path:
    """The local file a path or ``file://`` URI names."""
    if location.startswith("file://"):
        return Path(url2pathname(unquote(urlsplit(location).path)))
    return Path(location)


class FeedReader:
    """Reads GBFS files over HTTP (through ``sources._http``: timeouts, retries with
    backoff) or from local files, one shared client for a run."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: _http.Sleep = time.sleep,
        timeout: float | httpx.Timeout = FEED_TIMEOUT,
    ) -> None:
        self._client = client
        self._owns_client = client is None
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.timeout = timeout

    def __enter__(self) -> FeedReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def client(self) -> httpx.Client:
        """The HTTP client, built on first use."""
        if self._client is None:
            self._client = _http.build_client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close the client when this reader built it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def read_bytes(self, location: str) -> bytes:
        """The raw body of a URL or the bytes of a local file."""
        if is_url(location):
            return _http.get_bytes(
                self.client,
                location,
                retries=self.retries,
                backoff=self.backoff,
                sleep=self.sleep,
            )
        path = local_path(location)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise SourceError(f"{path} does not exist; check the folder or URL") from exc
        except OSError as exc:
            raise SourceError(f"{path} could not be read: {exc}") from exc

    def read_json(self, location: str) -> Any:
        """The parsed JSON of a URL or file."""
        return parse_json(self.read_bytes(location), location)


def parse_json(body: bytes, where: str) -> Any:
    """Parse a JSON body; a broken one raises SourceError saying where and how it broke."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{where} is not UTF-8 JSON ({exc}); check the URL") from exc
    except json.JSONDecodeError as exc:
        if not body.strip():
            raise SourceError(f"{where} is empty; the feed published nothing") from exc
        ends_early = not body.rstrip().endswith((b"}", b"]"))
        why = (
            "the document ends early (truncated)"
            if ends_early
            else f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        )
        raise SourceError(
            f"{where} is not valid JSON: {why}; nothing was stored from it. "
            "Try again later, or check that the URL is a GBFS feed."
        ) from exc


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """One GBFS file as read: which feed, from where, its version layout, publish time, ttl
    and ``data``; ``warnings`` are the deviations of its envelope."""

    name: str
    url: str
    spec: VersionSpec
    version: str | None
    last_updated: datetime
    ttl_s: int | None
    data: Mapping[str, Any]
    fetched_at: datetime
    warnings: tuple[str, ...] = ()

    def records(self, *names: str) -> tuple[list[Any], str]:
        """The list ``data.<name>`` for the first of ``names`` present, and that name."""
        for name in names:
            value = self.data.get(name)
            if isinstance(value, list):
                return value, name
        raise SourceError(
            f"{self.url} has no data.{names[0]} list (keys: {sorted(self.data)[:8]}); "
            f"it is not a GBFS {self.name} file"
        )


def read_document(
    reader: FeedReader,
    name: str,
    url: str,
    *,
    now: datetime,
    version: str | None = None,
) -> FeedDocument:
    """Read one GBFS file and check its envelope; ``version`` is gbfs.json's, used when the
    file itself does not say."""
    return open_document(reader.read_json(url), name, url, now=now, version=version)


def open_document(
    doc: Any, name: str, url: str, *, now: datetime, version: str | None = None
) -> FeedDocument:
    """Check a parsed GBFS file's envelope and wrap it (SourceError when it is unusable)."""
    if not isinstance(doc, dict):
        raise SourceError(f"{url} is a JSON {type(doc).__name__}, not a GBFS object")
    data = doc.get("data")
    if not isinstance(data, dict):
        what = "no 'data' object" if data is None else f"a 'data' {type(data).__name__}"
        raise SourceError(f"{url} has {what}; it is not a GBFS {name} file")
    notes = Notes()
    declared = doc.get("version")
    declared = str(declared) if declared is not None else version
    spec, guessed = spec_for(declared)
    warnings = [guessed] if guessed else []
    raw_time, key, renamed = deviations.publish_time(doc)
    if renamed:
        warnings.append(renamed)
    if raw_time is None:
        published = now
        warnings.append("no last_updated: the time of the fetch is used as the snapshot time")
    else:
        seconds = parse_time(raw_time, key, spec=spec, notes=notes)
        if seconds is None:
            raise SourceError(f"{url}: {key} {raw_time!r} is not a timestamp; nothing was stored")
        published = datetime.fromtimestamp(seconds, UTC)
        if published > now + FUTURE_SLACK:
            raise SourceError(
                f"{url}: {key} is {published:%Y-%m-%d %H:%M} UTC, more than a day ahead of "
                f"now ({now:%Y-%m-%d %H:%M} UTC); the publisher's clock is wrong, nothing "
                "was stored"
            )
    ttl = doc.get("ttl")
    ttl_s: int | None = None
    if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0:
        ttl_s = ttl
    elif ttl is None:
        warnings.append("no ttl: polled at the --every interval")
    else:
        warnings.append(f"ttl {ttl!r} is not a number of seconds >= 0: ignored")
    return FeedDocument(
        name=name,
        url=url,
        spec=spec,
        version=declared,
        last_updated=published,
        ttl_s=ttl_s,
        data=data,
        fetched_at=now,
        warnings=tuple(notes.warnings() + warnings),
    )
