"""The Car sharing page in real headless Chromium: picking Connect cars and moving the
threshold slider one step shows that policy's figures (the analysis's own numbers), the
charts draw, and the price estimator prices a car with the trained model. Saved as a PNG
into $FLEETCAST_SCREENSHOTS when set, else /tmp/fleetcast_shots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetcast.analytics.delay_policy import DelayPolicy, PolicyPoint
from fleetcast.config import load_settings
from fleetcast.jobs import carsharing
from fleetcast.jobs.pricing import train_pricing
from fleetcast.store import Store
from pricing_data import SMALL_PARAMS, write_cars_csv
from servers import dashboard_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

RENTALS = Path(__file__).parents[1] / "data" / "rentals" / "rentals_small.csv"
VIEWPORT = {"width": 1400, "height": 900}
PAGE_TIMEOUT_MS = 20_000
SHOTS = Path("/tmp/fleetcast_shots")


@pytest.fixture(scope="module")
def carsharing_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home holding the small rentals file as system "getaround" and a trained price model."""
    pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
    folder = tmp_path_factory.mktemp("carsharing_browser")
    home = folder / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
        store = Store(load_settings(home=home, env={}))
        try:
            carsharing.ingest_rentals_file(store, RENTALS, system_id="getaround")
        finally:
            store.close()
        train_pricing(write_cars_csv(folder / "cars.csv", 300), home, params=SMALL_PARAMS, folds=3)
    yield home


@pytest.fixture(scope="module")
def analysis(carsharing_home: Path) -> DelayPolicy:
    """The delay-policy analysis the page should show."""
    store = Store(load_settings(home=carsharing_home, env={}))
    try:
        return carsharing.delay_policy(store, "getaround")
    finally:
        store.close()


@pytest.fixture(scope="module")
def dashboard_url(
    carsharing_home: Path, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[str]:
    """The dashboard served on a free port over that home; stopped afterwards."""
    with dashboard_server(carsharing_home, tmp_path_factory.mktemp("dashboard")) as url:
        yield url


def _settled(page: Page) -> None:
    """Wait for the end of the script run (no running indicator) and a short paint."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.wait_for_timeout(700)


def _metric(page: Page, label: str) -> str:
    """The value shown on the metric card labelled ``label``."""
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _point(analysis: DelayPolicy, scope: str, threshold: int) -> PolicyPoint:
    return next(p for p in analysis.points(scope) if p.threshold_min == threshold)


def test_connect_cars_at_60_then_75_minutes(
    browser: Browser, dashboard_url: str, analysis: DelayPolicy
) -> None:
    """Connect only at the default 60 min shows its blocked rentals and solved cases; one
    step of the slider (keyboard) shows 75 min's; the estimator then prices a car."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/car-sharing")
        page.get_by_role("heading", name="Car sharing: minimum delay between rentals").wait_for(
            timeout=PAGE_TIMEOUT_MS
        )
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=PAGE_TIMEOUT_MS)
        _settled(page)

        page.locator('[data-testid="stButtonGroup"]').get_by_text(
            "Connect only", exact=True
        ).click()
        _settled(page)
        at_60 = _point(analysis, "connect", 60)
        assert _metric(page, "Rentals blocked") == f"{at_60.blocked_rentals:,}"
        assert _metric(page, "Problems solved") == (
            f"{at_60.solved_cases:,} of {at_60.problem_cases:,}"
        )

        page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
        page.keyboard.press("ArrowRight")
        _settled(page)
        at_75 = _point(analysis, "connect", 75)
        assert _metric(page, "Rentals blocked") == f"{at_75.blocked_rentals:,}"
        assert _metric(page, "Problems solved") == (
            f"{at_75.solved_cases:,} of {at_75.problem_cases:,}"
        )

        page.get_by_role("button", name="Estimate the price").click()
        _settled(page)
        assert _metric(page, "Estimated price").endswith("EUR/day")

        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, errors.all_inner_texts()
        folder = Path(os.environ.get("FLEETCAST_SCREENSHOTS") or SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        height = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
        )
        page.set_viewport_size({"width": VIEWPORT["width"], "height": max(int(height), 600)})
        page.wait_for_timeout(500)
        page.screenshot(path=str(folder / "carsharing.png"), full_page=True)
    finally:
        context.close()
