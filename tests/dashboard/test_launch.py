"""Starting the dashboard: the streamlit command line, the store passed by environment, and
waiting for the health endpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetcast.config import load_settings
from fleetcast.dashboard import launch
from fleetcast.dashboard.launch import APP, settings_env, streamlit_command, wait_ready


def test_streamlit_command_serves_the_app_headless_on_the_address() -> None:
    """The command runs app.py with this Python, headless, on the given host and port."""
    command = streamlit_command(host="0.0.0.0", port=8765)
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(APP)]
    assert APP.is_file() and APP.name == "app.py"
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.address"] == "0.0.0.0"
    assert options["--server.port"] == "8765"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"


def test_settings_reach_the_server_through_the_environment(tmp_path: Path) -> None:
    """Home, db and lake URLs of the settings become FLEETCAST_* variables."""
    settings = load_settings(
        home=tmp_path / "home", db_url="sqlite:///x.db", lake_url="s3://lake", env={}
    )
    env = settings_env(settings)
    assert env["FLEETCAST_HOME"] == str(settings.home)
    assert env["FLEETCAST_DB_URL"] == "sqlite:///x.db"
    assert env["FLEETCAST_LAKE_URL"] == "s3://lake"


def test_wait_ready_gives_up_on_a_silent_port_and_a_dead_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listening: False once the timeout has passed; an exited process: False
    before any request or wait (the clock is faked, so no wall time is asserted)."""
    clock = iter(float(t) for t in range(1000))
    monkeypatch.setattr(launch.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(launch.time, "sleep", lambda seconds: None)
    assert wait_ready("http://127.0.0.1:9", timeout=5) is False
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()

    def no_request(*args: object, **kwargs: object) -> None:
        raise AssertionError("polled a server whose process has exited")

    monkeypatch.setattr(launch.httpx.Client, "get", no_request)
    assert wait_ready("http://127.0.0.1:9", timeout=30, process=done) is False
