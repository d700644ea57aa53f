"""The real dashboard server opened in headless Chromium: every page renders its content
without a Streamlit exception, the map's tooltip answers, and each page is saved as a PNG
(into $FLEETCAST_SCREENSHOTS when set, else the test's temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from servers import dashboard_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

VIEWPORT = {"width": 1400, "height": 900}
PAGE_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Screen:
    """A page as the browser test opens it: URL path, its heading, what shows it rendered."""

    name: str
    url_path: str
    heading: str
    ready: str


SCREENS = [
    Screen("models", "models", "Models", '[data-testid="stDataFrame"]'),
    Screen("demand_map", "demand-map", "Demand map", '[data-testid="stDeckGlJsonChart"] canvas'),
    Screen(
        "forecast_explorer",
        "forecast-explorer",
        "Forecast explorer",
        '[data-testid="stPlotlyChart"] .main-svg',
    ),
    Screen("live_supply", "live-supply", "Live supply", '[data-testid="stDeckGlJsonChart"] canvas'),
    Screen("overview", "", "Overview", '[data-testid="stMetric"]'),
]
"""A deep link comes first on the fresh server: it must open that page, not a fallback."""
SCREEN = {s.name: s for s in SCREENS}


@pytest.fixture(scope="module")
def dashboard_url(
    served_home: Path, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[str]:
    """The dashboard served on a free port over the demo store; stopped afterwards."""
    pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
    with dashboard_server(served_home, tmp_path_factory.mktemp("dashboard")) as url:
        yield url


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page screenshots go."""
    folder = os.environ.get("FLEETCAST_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_rendered(page: Page, screen: Screen) -> None:
    """Wait for the app shell, the page's heading and content, and the end of the script run."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("heading", name=screen.heading, exact=True).wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector(screen.ready, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.wait_for_timeout(800)


def _full_page_png(page: Page, path: Path) -> None:
    """Streamlit scrolls inside its main block, so grow the viewport to it before the shot."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(int(height), 600)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_page_renders_in_chromium(
    screen: Screen, browser: Browser, dashboard_url: str, screenshots: Path
) -> None:
    """The page, opened by its URL, shows its heading and content and no exception box."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/{screen.url_path}")
        _wait_rendered(page, screen)
        _full_page_png(page, screenshots / f"{screen.name}.png")
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, errors.all_inner_texts()
        assert page.get_by_text("Page not found").count() == 0
    finally:
        context.close()


def test_map_tooltip_names_the_zone_and_its_interval(browser: Browser, dashboard_url: str) -> None:
    """Hovering the middle of the map shows a zone's forecast, 80% interval and recent trips."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/demand-map")
        _wait_rendered(page, SCREEN["demand_map"])
        box = page.locator('[data-testid="stDeckGlJsonChart"]').bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tooltip = page.locator(".deck-tooltip")
        tooltip.filter(has_text="80% interval").wait_for(timeout=PAGE_TIMEOUT_MS)
        text = tooltip.inner_text()
        assert "Forecast 20" in text and "7-day mean" in text and "{" not in text
    finally:
        context.close()
