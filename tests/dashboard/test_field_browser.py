"""The Field tasks page in real headless Chromium at a phone's size, with the browser's
location shared: the next stop and the distance from the phone show, Start then Complete
change the task in the store. The Rebalancing plan page is opened at a desktop size. Both
are saved as PNGs into $FLEETCAST_SCREENSHOTS when set, else /tmp/fleetcast_shots."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetcast.config import load_settings
from fleetcast.geo import haversine_m
from fleetcast.jobs import field
from fleetcast.store import Store
from servers import dashboard_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PAGE_TIMEOUT_MS = 20_000
SHOTS = Path("/tmp/fleetcast_shots")
OFFSET = 0.0006
"""How far (degrees) the fake phone stands from W1's shift start, north-east."""


@pytest.fixture(scope="module")
def planned_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo city with a plan, workers and W1's three tasks (see test_plan_pages)."""
    pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
    from test_plan_pages import seed_home

    home = tmp_path_factory.mktemp("field_browser") / "home"
    seed_home(home)
    return home


@pytest.fixture(scope="module")
def dashboard_url(
    planned_home: Path, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[str]:
    """The dashboard served on a free port over the planned store; stopped afterwards."""
    with dashboard_server(planned_home, tmp_path_factory.mktemp("dashboard")) as url:
        yield url


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """Where the page screenshots go."""
    folder = os.environ.get("FLEETCAST_SCREENSHOTS")
    path = Path(folder) if folder else SHOTS
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def store(planned_home: Path) -> Iterator[Store]:
    """The served store, to check what the page wrote."""
    s = Store(load_settings(home=planned_home, env={}))
    yield s
    s.close()


def _settled(page: Page) -> None:
    """Wait for the end of the script run (no running indicator) and a short paint."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.wait_for_timeout(700)


def _full_page_png(page: Page, path: Path, width: int) -> None:
    """Streamlit scrolls inside its main block, so grow the viewport to it before the shot."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(int(height), 600)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)


def heading(page: Page, pattern: str) -> Locator:
    """The heading whose text matches ``pattern`` (the icon is a Material Symbols ligature,
    so its name is part of the text)."""
    return page.get_by_role("heading", name=re.compile(pattern))


def _status(store: Store, task_id: str) -> str:
    tasks = field.list_tasks(store, system_id="demo", assignee="W1")
    return str(tasks.filter(tasks["task_id"] == task_id)["status"][0])


def test_field_page_on_a_phone_with_location(
    browser: Browser, dashboard_url: str, store: Store, screenshots: Path
) -> None:
    """At 390x844 with the location shared, ?worker=W1 shows the next stop and its distance
    from the phone; Start makes it in progress and Complete done, in the store."""
    from fleetcast.dashboard.app_pages.field import metres

    w1 = field.list_workers(store, "demo").row(0, named=True)
    here = (w1["lat"] + OFFSET, w1["lon"] + OFFSET)
    first = field.list_tasks(store, system_id="demo", assignee="W1").row(0, named=True)
    distance = float(haversine_m(here[0], here[1], first["lat"], first["lon"]))
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        permissions=["geolocation"],
        geolocation={"latitude": here[0], "longitude": here[1], "accuracy": 15},
    )
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/field?worker=W1")
        page.get_by_role("heading", name="My tasks").wait_for(timeout=PAGE_TIMEOUT_MS)
        heading(page, r"^1\..*Swap battery$").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.get_by_text(re.compile(r"from you ·")).wait_for(timeout=PAGE_TIMEOUT_MS)
        frame = page.frame_locator('iframe[title*="geolocation"]')
        frame.get_by_text("Located ±15 m").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=PAGE_TIMEOUT_MS)
        _settled(page)
        assert page.get_by_text(metres(distance), exact=False).count() >= 1
        assert page.get_by_text("shift start", exact=False).count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the page scrolls sideways on a phone"
        page.screenshot(path=str(screenshots / "field_next.png"))

        page.get_by_role("button", name="Start").click()
        page.get_by_text("In progress").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settled(page)
        assert _status(store, first["task_id"]) == "in_progress"
        page.screenshot(path=str(screenshots / "field_started.png"))

        page.get_by_role("button", name="Complete").click()
        heading(page, r"^2\..*Retrieve$").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settled(page)
        assert _status(store, first["task_id"]) == "done"
        assert page.locator('[data-testid="stException"]').count() == 0
        _full_page_png(page, screenshots / "field_done_full.png", PHONE["width"])
    finally:
        context.close()


def test_plan_page_on_a_desktop(browser: Browser, dashboard_url: str, screenshots: Path) -> None:
    """The plan page renders its cards, map, moves and truck routes without an exception."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/plan")
        page.get_by_role("heading", name="Rebalancing plan").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=PAGE_TIMEOUT_MS)
        _settled(page)
        assert page.locator('[data-testid="stMetric"]').count() == 5
        assert page.locator('[data-testid="stExpander"]').count() == 2
        assert page.locator('[data-testid="stException"]').count() == 0
        _full_page_png(page, screenshots / "plan.png", DESKTOP["width"])
    finally:
        context.close()
