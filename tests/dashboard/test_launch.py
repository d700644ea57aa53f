"""Starting the dashboard: the streamlit command line, the store passed by environment, and
waiting for the health endpoint."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fleetcast.config import load_settings
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


def test_wait_ready_gives_up_on_a_silent_port_and_a_dead_process() -> None:
    """Nothing listening: False after the timeout; an exited process: False at once."""
    began = time.monotonic()
    assert wait_ready("http://127.0.0.1:9", timeout=0.5) is False
    assert time.monotonic() - began < 5
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    began = time.monotonic()
    assert wait_ready("http://127.0.0.1:9", timeout=30, process=done) is False
    assert time.monotonic() - began < 1
