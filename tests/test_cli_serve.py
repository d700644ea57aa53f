"""`fleetcast apikey` manages keys; `fleetcast serve --with-dashboard` starts both servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from fleetcast.cli import app
from servers import free_port, wait_for

runner = CliRunner()


def test_apikey_create_list_revoke(home: Path) -> None:
    """A key is printed once, listed without its secret, and revoked by id."""
    created = runner.invoke(app, ["--home", str(home), "apikey", "create", "depot tool"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("fc_")
    listed = runner.invoke(app, ["--home", str(home), "apikey", "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["depot tool"] and rows[0]["active"]
    assert key.split("_", 2)[2] not in listed.stdout
    revoked = runner.invoke(app, ["--home", str(home), "apikey", "revoke", rows[0]["key_id"]])
    assert revoked.exit_code == 0
    again = json.loads(runner.invoke(app, ["--home", str(home), "apikey", "list", "--json"]).stdout)
    assert again[0]["active"] is False


def test_apikey_errors_say_what_to_do(home: Path) -> None:
    """Revoking an unknown id and an empty name are clear errors, not tracebacks."""
    unknown = runner.invoke(app, ["--home", str(home), "apikey", "revoke", "nope"])
    assert unknown.exit_code == 1 and "apikey list" in unknown.stderr
    empty = runner.invoke(app, ["--home", str(home), "apikey", "create", " "])
    assert empty.exit_code == 2 and "name" in empty.stderr


def test_serve_refuses_bad_api_settings(home: Path) -> None:
    """A nonsense [api] option stops serve before anything starts."""
    home.mkdir(parents=True)
    (home / "fleetcast.toml").write_text("[api]\nopen_reads = 'maybe'\n")
    result = runner.invoke(app, ["--home", str(home), "serve"])
    assert result.exit_code == 2 and "open_reads" in result.stderr


def test_serve_with_dashboard_starts_both(served_home: Path, tmp_path: Path) -> None:
    """The real command serves the API with 2 workers and the dashboard; both answer."""
    api_port, dash_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCAST_")}
    command = [
        sys.executable,
        "-c",
        "from fleetcast.cli import main; main()",
        "--home",
        str(served_home),
        "serve",
        "--with-dashboard",
        "--workers",
        "2",
        "--port",
        str(api_port),
        "--dashboard-port",
        str(dash_port),
    ]
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = wait_for(f"http://127.0.0.1:{api_port}/health", timeout=90, process=process)
        assert health is not None, log_path.read_text()[-3000:]
        assert health.json()["status"] == "ok"
        dash = wait_for(f"http://127.0.0.1:{dash_port}/_stcore/health", timeout=90)
        assert dash is not None and dash.text == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{api_port}/metrics").text
        assert 'fleetcast_http_requests_total{method="GET",route="/health",status="200"}' in metrics
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
