"""The API's /docs page in headless Chromium against a real server: Swagger UI renders every
operation from files the app serves itself (no CDN), and "Try it out" on /predict works."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from servers import free_port, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def api_url(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`fleetcast serve` on a free port over the served demo; stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCAST_")}
    log_path = tmp_path_factory.mktemp("api") / "serve.log"
    command = [
        sys.executable,
        "-c",
        "from fleetcast.cli import main; main()",
        "--home",
        str(served_home),
        "serve",
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if wait_for(f"{url}/health", timeout=60, process=process) is None:
                pytest.fail(f"the API did not start:\n{log_path.read_text()[-3000:]}")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_docs_render_and_try_it_out_answers(browser: Browser, api_url: str) -> None:
    """Swagger UI lists the operations; "Try it out" on /predict with its example returns a
    documented answer; no request leaves the machine."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(api_url) else None,
    )
    try:
        page.goto(f"{api_url}/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=TIMEOUT_MS)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/predict", "/zones", "/forecasts", "/health"} <= {p.strip() for p in paths}
        page.locator("#operations-predict-predict_predict_post").click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        status = page.locator(".live-responses-table .response .response-col_status").first
        status.wait_for(timeout=TIMEOUT_MS)
        assert status.inner_text().strip() in {"404", "422"}
        assert outside == []
    finally:
        context.close()
