"""`fleetcast ingest city-facts` and `fleetcast ingest airports` through Typer's CliRunner.

Pages and AeroDataBox answers are replayed from tests/data/context by swapping the HTTP
client the sources build; nothing here touches the network.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.sources import _http
from fleetcast.store import Store
from fleetcast.store import context as db

DATA = Path(__file__).resolve().parent / "data"
CONTEXT = DATA / "context"


@pytest.fixture
def replayed(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Every client the sources build answers from the recorded files: a Wikipedia URL with
    its page (no_infobox for any other article), AeroDataBox with ORD's record and the
    recorded half days of 2026-11-30."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if request.url.host == "en.wikipedia.org":
            name = "chicago_wikipedia.html" if path.endswith("/Chicago") else "no_infobox.html"
            return httpx.Response(200, content=(CONTEXT / name).read_bytes())
        if path.startswith("/airports/iata/"):
            return httpx.Response(200, content=(CONTEXT / "airport_ord.json").read_bytes())
        half = "0000_1159" if path.endswith("T11:59") else "1200_2359"
        body = (CONTEXT / f"ord_arrivals_2026-11-30_{half}.json").read_bytes()
        return httpx.Response(200, content=body)

    def client(**kwargs: object) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(answer))

    monkeypatch.setattr(_http, "build_client", client)
    return seen


def run(home: Path, *args: str | Path) -> Result:
    """``fleetcast --home HOME ARGS...``."""
    return CliRunner().invoke(app, ["--home", str(home), *map(str, args)])


def flat(text: str) -> str:
    """Text without Rich's table borders, blanks and line breaks collapsed."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


@pytest.fixture
def lake_home(tmp_path: Path) -> Path:
    """A home with system 'lake' (Chicago time) created from a small daily-demand file."""
    home = tmp_path / "home"
    result = run(
        home,
        "ingest",
        "demand",
        DATA / "demand" / "daily_counts.csv",
        "--system",
        "lake",
        "--timezone",
        "America/Chicago",
    )
    assert result.exit_code == 0, result.output
    return home


def test_city_facts_from_a_url_are_printed_and_stored(
    lake_home: Path, replayed: list[httpx.Request]
) -> None:
    """--url reads the article's infobox and prints the facts it stored."""
    result = run(
        lake_home,
        "ingest",
        "city-facts",
        "--system",
        "lake",
        "--url",
        "https://en.wikipedia.org/wiki/Chicago",
    )
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "population 2,746,388" in out and "area (km²) 607.4" in out
    assert "as of 2020-01-01" in out


def test_a_page_without_an_infobox_exits_1_with_the_reason(
    lake_home: Path, replayed: list[httpx.Request]
) -> None:
    """A page that is not a city article: exit 1 and a message saying what to give."""
    result = run(
        lake_home,
        "ingest",
        "city-facts",
        "--system",
        "lake",
        "--url",
        "https://en.wikipedia.org/wiki/Chicago_(disambiguation)",
    )
    assert result.exit_code == 1
    assert "no infobox" in flat(result.output)


def test_city_facts_need_exactly_one_of_url_and_file(lake_home: Path) -> None:
    """Neither or both is a usage error (exit 2)."""
    assert run(lake_home, "ingest", "city-facts", "--system", "lake").exit_code == 2


def test_airports_without_a_key_say_arrivals_are_off_and_exit_0(
    lake_home: Path, replayed: list[httpx.Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No FLEETCAST_AERODATABOX_KEY: a clear message, exit 0, no request made."""
    monkeypatch.delenv("FLEETCAST_AERODATABOX_KEY", raising=False)
    result = run(lake_home, "ingest", "airports", "--system", "lake", "--airport", "ORD")
    assert result.exit_code == 0, result.output
    assert "airport arrivals are off" in flat(result.output)
    assert "FLEETCAST_AERODATABOX_KEY" in flat(result.output)
    assert replayed == []


def test_airports_with_a_key_fetch_the_asked_days(
    lake_home: Path, replayed: list[httpx.Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key: one airport lookup and two requests for the one day asked, counts stored."""
    monkeypatch.setenv("FLEETCAST_AERODATABOX_KEY", "k")
    result = run(
        lake_home,
        "ingest",
        "airports",
        "--system",
        "lake",
        "--airport",
        "ORD",
        "--since",
        "2026-11-30",
        "--until",
        "2026-12-01",
    )
    assert result.exit_code == 0, result.output
    assert len(replayed) == 3
    assert "flights not counted: cancelled 1" in flat(result.output)
    store = Store(load_settings(home=lake_home, env={}))
    with store.connect() as conn:
        assert db.load_arrivals(conn, "lake")["arrivals"].to_list() == [6]


def test_airports_from_a_file_need_no_key(lake_home: Path) -> None:
    """--file loads daily counts (bad rows quarantined), whatever the environment."""
    result = run(
        lake_home,
        "ingest",
        "airports",
        "--system",
        "lake",
        "--file",
        CONTEXT / "arrivals_daily.csv",
    )
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "airports MDW, ORD" in out and "rejected (quarantined) 4" in out


def test_airports_need_an_airport_or_a_file(lake_home: Path) -> None:
    """Neither --airport nor --file, or --file with --since, are usage errors."""
    assert run(lake_home, "ingest", "airports", "--system", "lake").exit_code == 2
    both = run(
        lake_home,
        "ingest",
        "airports",
        "--system",
        "lake",
        "--file",
        CONTEXT / "arrivals_daily.csv",
        "--since",
        "2026-11-01",
    )
    assert both.exit_code == 2
