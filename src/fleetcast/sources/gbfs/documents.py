"""Reading GBFS files from a URL or a local file, and their envelope: ``version``,
``last_updated``, ``ttl`` and ``data``.

A file that cannot be used as a whole (unreachable, HTTP 5xx after retries, a timeout, not
JSON, an HTML page, truncated JSON, no ``data`` object, a publish time that cannot be read,
lies before 2000 or more than a day ahead) raises :class:`~fleetcast.errors.SourceError`
naming the file and what to do; the caller then leaves the store as it was. An impossible
publish time is refused rather than replaced by the fetch time: the snapshot time is what
the poller compares to tell a new snapshot from an old one, and what the lake is keyed on.
A ``ttl`` longer than a day is read as a day (it only sets how often the file is read).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from fleetcast.errors import SourceError
from fleetcast.sources import _http
from fleetcast.sources.gbfs import deviations
from fleetcast.sources.gbfs.values import EPOCH_FLOOR, FUTURE_SLACK, Notes, json_type, parse_time
from fleetcast.sources.gbfs.versions import VersionSpec, spec_for

FEED_TIMEOUT: Final = httpx.Timeout(20.0, connect=5.0)
"""A feed answers in seconds or not at all: shorter than the helper's 60 s default."""
MAX_TTL_S: Final = 86_400
"""A ttl longer than a day is read as a day: a file is re-read at least daily (and a huge
ttl would overflow the poller's clock arithmetic)."""
VERSION_LENGTH: Final = 16
"""The db's feed version column holds 16 characters; no GBFS version comes close."""


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
    """Parse a JSON body; a broken one raises SourceError saying where and how it broke.

    An HTML page (a proxy's "502 Bad Gateway", a login portal) is named as such rather than
    as truncated JSON; a number of more than 4,300 digits or nesting too deep to parse are
    refused like any other broken document.
    """
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{where} is not UTF-8 JSON ({exc}); check the URL") from exc
    except json.JSONDecodeError as exc:
        if not body.strip():
            raise SourceError(f"{where} is empty; the feed published nothing") from exc
        if body.lstrip()[:1] == b"<":
            raise SourceError(
                f"{where} is not JSON (looks like HTML: {_html_gist(body)}); nothing was "
                "stored from it. The server answered with a web page (an error or login "
                "page): try again later, or check that the URL is a GBFS feed."
            ) from exc
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
    except (ValueError, RecursionError) as exc:
        raise SourceError(
            f"{where} cannot be read as JSON ({type(exc).__name__}: {str(exc)[:120]}); "
            "nothing was stored from it"
        ) from exc


def _html_gist(body: bytes) -> str:
    """The title of an HTML page, else its first words, to show what the server said."""
    text = body[:4096].decode("utf-8", errors="replace")
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    gist = match.group(1) if match else re.sub(r"<[^>]*>", " ", text)
    words = " ".join(gist.split())
    return repr(words[:80] + ("..." if len(words) > 80 else ""))


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
        present = next((n for n in names if self.data.get(n) is not None), None)
        if present is not None:
            raise SourceError(
                f"{self.url} has data.{present} as a JSON {json_type(self.data[present])}, "
                "not a list of records; it "
                f"is not a usable GBFS {self.name} file"
            )
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
    if declared is not None and len(declared) > VERSION_LENGTH:
        warnings.append(
            f"version {declared[:40]!r}... is longer than {VERSION_LENGTH} characters: not "
            "kept as the feed's version"
        )
        declared = None
    raw_time, key, renamed = deviations.publish_time(doc)
    if renamed:
        warnings.append(renamed)
    if raw_time is None:
        published = now
        warnings.append("no last_updated: the time of the fetch is used as the snapshot time")
    else:
        published = _publish_time(raw_time, key, url, spec=spec, notes=notes, now=now)
    ttl_s, ttl_warning = _ttl(doc.get("ttl"))
    if ttl_warning:
        warnings.append(ttl_warning)
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


def _publish_time(
    raw: Any, key: str, url: str, *, spec: VersionSpec, notes: Notes, now: datetime
) -> datetime:
    """The envelope's publish time as a UTC datetime; SourceError when it is not a time,
    lies before 2000 or more than a day ahead of ``now`` (checked on the seconds, before
    any datetime is built, so 1e25 or -1e15 cannot overflow)."""
    seconds = parse_time(raw, key, spec=spec, notes=notes)
    if seconds is None:
        raise SourceError(f"{url}: {key} {_short(raw)} is not a timestamp; nothing was stored")
    if seconds < EPOCH_FLOOR:
        raise SourceError(
            f"{url}: {key} {_short(raw)} is before 2000, not a possible publish time; the "
            "publisher's clock is wrong, nothing was stored"
        )
    limit = now + FUTURE_SLACK
    if seconds > limit.timestamp():
        raise SourceError(
            f"{url}: {key} is {_when(seconds, raw)}, more than a day ahead of now "
            f"({now:%Y-%m-%d %H:%M} UTC); the publisher's clock is wrong, nothing was stored"
        )
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError) as exc:  # pragma: no cover - bounded above
        raise SourceError(f"{url}: {key} {_short(raw)} is not a possible time: {exc}") from exc


def _when(seconds: float, raw: Any) -> str:
    """A far-future time as text: its date when it has one (before year 10000), else the
    value as published."""
    try:
        return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M} UTC"
    except (OverflowError, ValueError, OSError):
        return f"{_short(raw)} (past the year 9999)"


def _short(value: Any) -> str:
    """A value for a message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ttl(value: Any) -> tuple[int | None, str | None]:
    """The envelope's ttl in seconds and a warning: absent or unusable ttls are ignored
    (the poller uses --every), one over a day is read as a day."""
    if value is None:
        return None, "no ttl: polled at the --every interval"
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return None, f"ttl {_short(value)} is not a number of seconds >= 0: ignored"
    if value > MAX_TTL_S:
        return MAX_TTL_S, f"ttl {_short(value)} is longer than a day: read as {MAX_TTL_S:,} s"
    return value, None
