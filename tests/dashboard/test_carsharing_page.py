"""The car-sharing page runs headless (Streamlit's AppTest) on a store holding the small
rentals file: its cards are the analysis' figures at the slider's threshold and the chosen
scope ("what happens at 60 minutes for Connect cars only?" in one move), the curves and
facts are drawn, and a system without rentals shows how to load them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.jobs import carsharing
from fleetcast.store import Store, records

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("plotly", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest

from fleetcast.dashboard.app_pages import carsharing as page

SMALL = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def cars_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the small rentals as system "cars" and a system "bare" without any."""
    home = tmp_path_factory.mktemp("cars") / "home"
    store = Store(load_settings(home=home, env={}))
    try:
        carsharing.ingest_rentals_file(store, SMALL, system_id="cars")
        with store.begin() as conn:
            records.save_system(conn, SystemInfo("bare", "Bare", "UTC"))
    finally:
        store.close()
    return home


def open_page(monkeypatch: pytest.MonkeyPatch, home: Path, system_id: str) -> AppTest:
    """Run the page on ``system_id`` of ``home``, without exception."""
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))
    at = AppTest.from_file(str(Path(page.__file__)), default_timeout=TIMEOUT_S)
    at.session_state["system_id"] = system_id
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def cards(at: AppTest) -> dict[str, str]:
    """Metric label -> value."""
    return {m.label: m.value for m in at.metric}


def test_slider_and_scope_answer_what_a_threshold_does(
    monkeypatch: pytest.MonkeyPatch, cars_home: Path
) -> None:
    """At the default 60 min on all cars three rentals are blocked and one case solved;
    Connect only at 15 min blocks one rental and solves its scope's only case."""
    at = open_page(monkeypatch, cars_home, "cars")
    assert at.title[0].value == page.TITLE
    shown = cards(at)
    assert shown["Rentals blocked"] == "3"
    assert shown["Problems solved"] == "1 of 2"
    assert shown["Revenue blocked"] == "37.5%"
    assert shown["Late check-outs"] == "71.4%"
    at.button_group(key="carsharing_scope").set_value("connect")
    at.slider(key="carsharing_threshold").set_value(15).run()
    assert not at.exception
    shown = cards(at)
    assert (shown["Rentals blocked"], shown["Problems solved"]) == ("1", "1 of 1")
    assert shown["Of all problems"] == "50.0%"
    assert "Recommended for connect only: 15 min" in at.success[0].value
    assert len(at.get("plotly_chart")) == 5
    assert "Price estimator" in [s.value for s in at.subheader]


def test_a_system_without_rentals_says_how_to_load_them(
    monkeypatch: pytest.MonkeyPatch, cars_home: Path
) -> None:
    """No rentals: the page explains the command instead of failing."""
    at = open_page(monkeypatch, cars_home, "bare")
    assert "fleetcast carsharing delay-policy" in at.info[0].value
    assert not at.metric
