"""The one HTTP helper every network source uses: timeouts, a User-Agent, retries with backoff.

Transient failures (timeouts, dropped connections, HTTP 429 and 5xx) are retried with
exponential backoff, honouring a server's ``Retry-After`` up to a cap; every other failure
(a 404, a 401, a body that is not JSON) fails at once. Whatever fails ends as a
:class:`~fleetcast.errors.SourceError` whose message names the URL, the status and what the
user can do about it, with the original exception chained.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx

from fleetcast import __version__
from fleetcast.errors import SourceError

USER_AGENT: Final = f"fleetcast/{__version__}"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
MAX_RETRY_AFTER_S: Final = 120.0
"""The longest wait a ``Retry-After`` header can impose before a retry."""

_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_SECRET_PARAM = re.compile(r"token|key|secret|password|signature|auth", re.IGNORECASE)
_SNIPPET_CHARS = 200

Params = Mapping[str, str | int | float | bool | None]
Sleep = Callable[[float], object]
_T = TypeVar("_T")


def build_client(
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` with fleetcast's timeouts, User-Agent and redirect following.

    Sources share one client per run so connections are reused; ``transport`` lets tests
    replay recorded responses (``httpx.MockTransport``) without touching the network.
    """
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    return httpx.Client(timeout=timeout, headers=merged, transport=transport, follow_redirects=True)


def get_json(
    client: httpx.Client,
    url: str,
    *,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> Any:
    """GET ``url`` and parse its body as JSON, retrying transient failures.

    ``retries`` is the number of tries after the first one; the n-th retry waits
    ``backoff * 2**(n-1)`` seconds, or the server's ``Retry-After`` when it sends one.
    A body that is not valid JSON raises :class:`SourceError` (it is not retried: a portal
    answering HTML to a JSON endpoint does not get better by asking again).
    """

    def parse(response: httpx.Response) -> Any:
        body = response.read()
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceError(
                f"GET {_shown(response.request.url)} answered HTTP {response.status_code} "
                f"with a body that is not valid JSON ({exc}); it starts with "
                f"{_snippet(body)!r}. Check that the URL points at a JSON API endpoint."
            ) from exc

    return _get(
        client,
        url,
        params=params,
        headers=headers,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
        consume=parse,
    )


def get_bytes(
    client: httpx.Client,
    url: str,
    *,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> bytes:
    """GET ``url`` and return its raw body, retrying transient failures like :func:`get_json`."""
    return _get(
        client,
        url,
        params=params,
        headers=headers,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
        consume=lambda response: response.read(),
    )


def download_to(
    client: httpx.Client,
    url: str,
    path: Path,
    *,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
    chunk_size: int = 1 << 20,
) -> int:
    """Stream the body of ``url`` into ``path`` and return the number of bytes written.

    For files too big to hold in memory (a portal's full CSV export). Each try starts the
    file over, so a connection dropped half-way is retried from the start; the file is
    flushed to disk before returning. ``path`` is written in place: callers that need an
    atomic result write to a temporary name and rename it (see ``socrata.download_file``).
    """

    def write(response: httpx.Response) -> int:
        written = 0
        with path.open("wb") as out:
            for chunk in response.iter_bytes(chunk_size):
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return written

    return _get(
        client,
        url,
        params=params,
        headers=headers,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
        consume=write,
    )


def _get(
    client: httpx.Client,
    url: str,
    *,
    params: Params | None,
    headers: Mapping[str, str] | None,
    retries: int,
    backoff: float,
    sleep: Sleep,
    consume: Callable[[httpx.Response], _T],
) -> _T:
    """The retry loop shared by every helper; ``consume`` reads a successful response."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if backoff < 0:
        raise ValueError(f"backoff must be >= 0, got {backoff}")
    tries = retries + 1
    for attempt in range(tries):
        last = attempt == tries - 1
        try:
            with client.stream("GET", url, params=params, headers=headers) as response:
                if response.is_success:
                    return consume(response)
                response.read()
                if not _is_retryable(response.status_code) or last:
                    raise SourceError(_status_message(response, tries=attempt + 1))
                wait = _retry_after_s(response.headers.get("Retry-After"))
                if wait is None:
                    wait = backoff * 2**attempt
        except _RETRYABLE_ERRORS as exc:
            if last:
                raise SourceError(
                    f"GET {_shown(httpx.URL(url, params=params))} failed after {tries} "
                    f"{_plural(tries)}: {_describe(exc)}. Check your network connection and "
                    "the URL, or try again later."
                ) from exc
            wait = backoff * 2**attempt
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            raise SourceError(f"GET {url} failed: {_describe(exc)}. Check the URL.") from exc
        sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")


def _is_retryable(status: int) -> bool:
    """429 (rate limited) and every 5xx are worth another try; other statuses are final."""
    return status == 429 or status >= 500


def _retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _status_message(response: httpx.Response, *, tries: int) -> str:
    """What failed, with the server's own words when it gave any, and what to do next."""
    status = response.status_code
    detail = _server_detail(response.content)
    said = f" ({detail})" if detail else ""
    return (
        f"GET {_shown(response.request.url)} failed with HTTP {status} "
        f"{response.reason_phrase}{said} after {tries} {_plural(tries)}: {_hint(status)}."
    )


def _hint(status: int) -> str:
    if status == 400:
        return "the server rejected the request; check the query parameters"
    if status in (401, 403):
        return "check your app token / credentials and that the resource is public"
    if status == 404:
        return "check the URL (domain, dataset id or feed path)"
    if status == 429:
        return "the server is rate limiting; use an app token or try again later"
    if status >= 500:
        return "the server is failing; try again later"
    return "check the URL / your app token"


def _server_detail(body: bytes) -> str:
    """The ``message`` of a JSON error body (Socrata, most APIs), else the start of the text."""
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        for key in ("message", "error", "detail"):
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return _snippet(value.encode())
    return _snippet(body)


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    if len(text) > _SNIPPET_CHARS:
        return text[:_SNIPPET_CHARS] + "..."
    return text


def _shown(url: httpx.URL) -> str:
    """The URL for a message, with the values of secret-looking query parameters hidden."""
    if not url.params:
        return str(url)
    safe = [
        (name, "***" if _SECRET_PARAM.search(name) else value)
        for name, value in url.params.multi_items()
    ]
    return str(url.copy_with(params=safe))


def _describe(exc: Exception) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _plural(tries: int) -> str:
    return "try" if tries == 1 else "tries"
