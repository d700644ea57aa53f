"""Start the dashboard as a Streamlit server process on a given store, and wait until it answers.

The CLI (``fleetcast dashboard``, ``fleetcast serve --with-dashboard``) and the browser tests
call these; Streamlit itself is only needed in the started process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from fleetcast.config import Settings

APP = Path(__file__).resolve().with_name("app.py")
HEALTH_PATH = "/_stcore/health"


def streamlit_command(*, host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The command line that serves the app headless on ``host:port``, without usage stats."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--runner.magicEnabled",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make the server open the same store as ``settings``."""
    env = {
        "FLEETCAST_HOME": str(settings.home),
        "FLEETCAST_DB_URL": settings.db_url,
        "FLEETCAST_LAKE_URL": settings.lake_url,
    }
    if settings.config_file is not None:
        env["FLEETCAST_CONFIG"] = str(settings.config_file.absolute())
    return env


def start_dashboard(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    output: int | IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the server on the store of ``settings``; its output goes to ``output`` (stdout
    and stderr together) or to this process's streams. ImportError without Streamlit."""
    if importlib.util.find_spec("streamlit") is None:
        raise ImportError("the dashboard needs Streamlit: pip install 'fleetcast[dashboard]'")
    env = {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        streamlit_command(host=host, port=port),
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )


def wait_ready(
    url: str, timeout: float = 30.0, *, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """Poll the server's health endpoint until it answers ``ok``; False after ``timeout``
    seconds or as soon as ``process`` (when given) has exited."""
    deadline = time.monotonic() + timeout
    health = url.rstrip("/") + HEALTH_PATH
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            try:
                if client.get(health).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return False
