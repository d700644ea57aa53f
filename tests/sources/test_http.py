"""Tests for the shared HTTP helper: retries, backoff, Retry-After and the errors it raises."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx

from fleetcast import __version__
from fleetcast.errors import SourceError
from fleetcast.sources import _http

URL = "https://data.example.org/resource/abcd-1234.json"
DATA = Path(__file__).resolve().parents[1] / "data" / "socrata"

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A mock handler answering the given responses (or raising the given errors) in turn."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handler, seen


def client_for(handler: Handler) -> httpx.Client:
    """A fleetcast client whose requests go to ``handler`` instead of the network."""
    return _http.build_client(transport=httpx.MockTransport(handler))


class Sleeps:
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class BrokenStream(httpx.SyncByteStream):
    """A response body that sends a first chunk and then loses the connection."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"partial,"
        raise httpx.ReadError("connection reset by peer")


def test_build_client_sets_user_agent_and_follows_redirects() -> None:
    """The client names fleetcast and its version, keeps extra headers and follows redirects."""
    handler, seen = scripted(
        httpx.Response(302, headers={"Location": "https://data.example.org/moved.json"}),
        httpx.Response(200, json={"ok": True}),
    )
    with _http.build_client(
        transport=httpx.MockTransport(handler), headers={"Accept": "application/json"}
    ) as client:
        assert _http.get_json(client, URL) == {"ok": True}
    assert seen[0].headers["User-Agent"] == f"fleetcast/{__version__}"
    assert seen[0].headers["Accept"] == "application/json"
    assert str(seen[1].url) == "https://data.example.org/moved.json"


def test_get_json_sends_params_and_headers() -> None:
    """Query parameters and per-request headers reach the server; the JSON body comes back."""
    handler, seen = scripted(httpx.Response(200, json=[{"a": "1"}]))
    with client_for(handler) as client:
        got = _http.get_json(client, URL, params={"$limit": 5}, headers={"X-App-Token": "t"})
    assert got == [{"a": "1"}]
    assert seen[0].url.params["$limit"] == "5"
    assert seen[0].headers["X-App-Token"] == "t"


def test_retries_503_then_succeeds_with_exponential_backoff() -> None:
    """Two 503s are retried after 0.5 s then 1 s, and the third answer is returned."""
    handler, seen = scripted(
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(200, json={"ok": True}),
    )
    sleeps = Sleeps()
    with client_for(handler) as client:
        assert _http.get_json(client, URL, sleep=sleeps) == {"ok": True}
    assert len(seen) == 3
    assert sleeps.calls == [0.5, 1.0]


def test_429_honours_retry_after_seconds() -> None:
    """A 429 with ``Retry-After: 7`` waits exactly 7 s (through the injected sleep)."""
    handler, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json=[]),
    )
    sleeps = Sleeps()
    with client_for(handler) as client:
        assert _http.get_json(client, URL, sleep=sleeps) == []
    assert sleeps.calls == [7.0]


def test_retry_after_http_date_is_honoured() -> None:
    """``Retry-After`` given as an HTTP date waits until then (about 30 s from now)."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    handler, _ = scripted(
        httpx.Response(503, headers={"Retry-After": when}),
        httpx.Response(200, json=[]),
    )
    sleeps = Sleeps()
    with client_for(handler) as client:
        _http.get_json(client, URL, sleep=sleeps)
    assert 25.0 <= sleeps.calls[0] <= 30.0


def test_retry_after_is_capped() -> None:
    """A server asking for an hour's wait is waited for at most the cap."""
    handler, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json=[]),
    )
    sleeps = Sleeps()
    with client_for(handler) as client:
        _http.get_json(client, URL, sleep=sleeps)
    assert sleeps.calls == [_http.MAX_RETRY_AFTER_S]


def test_404_fails_at_once_naming_the_url() -> None:
    """A 404 is not retried; the error names the URL, the status and what to check."""
    handler, seen = scripted(httpx.Response(404, json={"message": "Not found"}))
    sleeps = Sleeps()
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, sleep=sleeps)
    message = str(caught.value)
    assert URL in message
    assert "HTTP 404" in message
    assert "check the URL" in message
    assert "after 1 try" in message
    assert len(seen) == 1
    assert sleeps.calls == []


def test_403_is_not_retried_and_points_at_the_token() -> None:
    """A 403 fails at once with a hint about the app token."""
    handler, seen = scripted(httpx.Response(403))
    with client_for(handler) as client, pytest.raises(SourceError, match="app token"):
        _http.get_json(client, URL, sleep=Sleeps())
    assert len(seen) == 1


def test_socrata_error_message_is_quoted() -> None:
    """A 400 with a Socrata error body shows the portal's own message."""
    body = (DATA / "error_no_such_column.json").read_bytes()
    handler, _ = scripted(httpx.Response(400, content=body))
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, sleep=Sleeps())
    assert "No such column: start_tme" in str(caught.value)
    assert "check the query parameters" in str(caught.value)


def test_500_until_the_last_try_raises() -> None:
    """With ``retries=2`` a server that keeps failing is tried 3 times, then SourceError."""
    handler, seen = scripted(*(httpx.Response(500) for _ in range(3)))
    sleeps = Sleeps()
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, retries=2, sleep=sleeps)
    assert "HTTP 500" in str(caught.value)
    assert "after 3 tries" in str(caught.value)
    assert len(seen) == 3
    assert sleeps.calls == [0.5, 1.0]


def test_timeouts_are_retried_then_raise_source_error() -> None:
    """A server that always times out is tried ``retries + 1`` times; the timeout is chained."""
    handler, seen = scripted(*(httpx.ReadTimeout("timed out") for _ in range(5)))
    sleeps = Sleeps()
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, sleep=sleeps)
    assert len(seen) == 5
    assert sleeps.calls == [0.5, 1.0, 2.0, 4.0]
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert URL in str(caught.value)
    assert "after 5 tries" in str(caught.value)


def test_connection_error_then_success() -> None:
    """A refused connection is retried and a later answer is returned."""
    handler, seen = scripted(
        httpx.ConnectError("connection refused"),
        httpx.Response(200, json={"ok": 1}),
    )
    with client_for(handler) as client:
        assert _http.get_json(client, URL, sleep=Sleeps()) == {"ok": 1}
    assert len(seen) == 2


def test_invalid_json_is_a_source_error_and_not_retried() -> None:
    """An HTML page where JSON was expected fails at once, quoting the start of the body."""
    handler, seen = scripted(httpx.Response(200, text="<html><body>Maintenance</body></html>"))
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, sleep=Sleeps())
    assert "not valid JSON" in str(caught.value)
    assert "Maintenance" in str(caught.value)
    assert URL in str(caught.value)
    assert len(seen) == 1


def test_get_bytes_returns_the_raw_body() -> None:
    """``get_bytes`` hands back the body untouched after a retried 502."""
    handler, _ = scripted(httpx.Response(502), httpx.Response(200, content=b"\x00a,b\n"))
    with client_for(handler) as client:
        assert _http.get_bytes(client, URL, sleep=Sleeps()) == b"\x00a,b\n"


def test_download_to_starts_over_after_a_broken_stream(tmp_path: Path) -> None:
    """A body cut off half-way is fetched again from the start, not appended to."""
    handler, seen = scripted(
        httpx.Response(200, stream=BrokenStream()),
        httpx.Response(200, content=b"a,b\n1,2\n"),
    )
    target = tmp_path / "out.csv"
    sleeps = Sleeps()
    with client_for(handler) as client:
        written = _http.download_to(client, URL, target, sleep=sleeps)
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert written == 8
    assert len(seen) == 2
    assert sleeps.calls == [0.5]


def test_secret_query_parameters_are_hidden_in_errors() -> None:
    """A key passed as a query parameter never appears in an error message."""
    handler, _ = scripted(httpx.Response(404))
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, params={"api_key": "s3cret", "q": "x"}, sleep=Sleeps())
    assert "s3cret" not in str(caught.value)
    assert "q=x" in str(caught.value)


def test_works_under_respx() -> None:
    """The helper also plays with respx, the other way tests record responses."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(URL).mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"v": 2})]
        )
        with _http.build_client() as client:
            assert _http.get_json(client, URL, sleep=Sleeps()) == {"v": 2}
    assert route.call_count == 2


@pytest.mark.parametrize(("retries", "backoff"), [(-1, 0.5), (1, -0.1)])
def test_nonsense_retry_settings_are_refused(retries: int, backoff: float) -> None:
    """Negative retries or backoff are a programming error, refused before any request."""
    handler, seen = scripted()
    with client_for(handler) as client, pytest.raises(ValueError):
        _http.get_json(client, URL, retries=retries, backoff=backoff)
    assert seen == []


def test_error_body_snippets_are_short() -> None:
    """A huge error page is cut down so the message stays readable."""
    handler, _ = scripted(httpx.Response(404, text=json.dumps({"message": "x" * 5000})))
    with client_for(handler) as client, pytest.raises(SourceError) as caught:
        _http.get_json(client, URL, sleep=Sleeps())
    assert len(str(caught.value)) < 600
