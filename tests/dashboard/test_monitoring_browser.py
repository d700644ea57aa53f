"""The monitoring page in real headless Chromium on the small monitored demo, after a monitor
run: the verdict, the accuracy chart drawn, the drift figures of the stored check, the report
downloaded whole, the source table, and the scheduled pipelines with a failing one's error.
Saved as a PNG into $FLEETCAST_SCREENSHOTS when set, else /tmp/fleetcast_shots."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fleetcast.config import load_settings
from fleetcast.jobs.monitor import latest_monitoring
from fleetcast.store import Store
from monitor_data import monitored_copy
from pipeline_runs import FAILURE, record_sample_runs
from servers import dashboard_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DESKTOP = {"width": 1280, "height": 900}
PAGE_TIMEOUT_MS = 20_000
SHOTS = Path("/tmp/fleetcast_shots")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the monitored demo's home with three scheduled runs, the daily cycle's
    failing at its forecast step."""
    pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
    home = monitored_copy(tmp_path_factory, "monitoring_browser")[0]
    store = Store(load_settings(home=home, env={}))
    try:
        record_sample_runs(store)
    finally:
        store.close()
    return home


@pytest.fixture(scope="module")
def dashboard_url(
    home: Path, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[str]:
    """The dashboard served on a free port over the monitored demo; stopped afterwards."""
    with dashboard_server(home, tmp_path_factory.mktemp("monitoring_dashboard")) as url:
        yield url


@pytest.fixture(scope="module")
def view(home: Path) -> dict[str, Any]:
    """What latest_monitoring says of the demo."""
    store = Store(load_settings(home=home, env={}))
    try:
        return latest_monitoring(store, "demo", days=28)
    finally:
        store.close()


def _settled(page: Page) -> None:
    """Wait for the end of the script run (no running indicator) and a short paint."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.wait_for_timeout(700)


def _metric(page: Page, label: str) -> str:
    """The displayed value of the metric with ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_monitoring_page_in_chromium(
    browser: Browser, dashboard_url: str, view: dict[str, Any], tmp_path: Path
) -> None:
    """Verdict, two charts drawn, the drift metrics of the stored check, the HTML report
    downloaded byte for byte, a source table row per source, the scheduled pipelines with
    the failing one's error; a full-page screenshot."""
    drift = view["drift"]
    context = browser.new_context(
        viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]}, accept_downloads=True
    )
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/monitoring")
        page.get_by_role("heading", name="Forecast accuracy over time").wait_for(
            timeout=PAGE_TIMEOUT_MS
        )
        page.get_by_role("heading", name="Source health").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=PAGE_TIMEOUT_MS)
        _settled(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator(".js-plotly-plot").count() == 2
        label = {"ok": "OK", "degraded": "Degraded", "failed": "Failed"}[view["run"]["status"]]
        verdict = page.get_by_text(re.compile(rf"{label}\s+monitor run of"))
        assert verdict.count() >= 1
        assert _metric(page, "Drift share") == f"{drift['drift_share']:.1%}"
        assert _metric(page, "Drifted inputs") == f"{drift['drifted_inputs']} of {drift['inputs']}"
        assert _metric(page, "Target drift") == ("Drifted" if drift["target_drifted"] else "Stable")
        assert page.get_by_text(drift["report_path"]).count() == 1

        with page.expect_download(timeout=PAGE_TIMEOUT_MS) as info:
            page.get_by_role("button", name="Download the drift report (HTML)").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        home = Path(view["drift"]["report_path"])
        assert saved.name == home.name
        assert saved.stat().st_size > 100_000

        section = page.get_by_role("heading", name="Scheduled pipelines")
        section.wait_for(timeout=PAGE_TIMEOUT_MS)
        error = page.locator('[data-testid="stAlertContentError"]').filter(has_text=FAILURE)
        assert error.count() == 1
        assert "step forecast failed" in error.inner_text()
        section.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "pipelines.png"))

        folder = Path(os.environ.get("FLEETCAST_SCREENSHOTS") or SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        height = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
        )
        page.set_viewport_size({"width": DESKTOP["width"], "height": max(int(height), 600)})
        page.wait_for_timeout(500)
        page.screenshot(path=str(folder / "monitoring.png"), full_page=True)
    finally:
        context.close()
