"""Helpers for tests that need real servers or tools: a free loopback port, waiting for an
answer, and skipping without them on a laptop while failing under CI=true, which has them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    url: str, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> httpx.Response | None:
    """Poll ``url`` until it answers below 500; None after ``timeout`` seconds or as soon as
    ``process`` (when given) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return None
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip on a laptop without the server or tool; fail under CI=true, which provides it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def require_pymysql() -> None:
    """The MariaDB driver, which the `mysql` extra installs (skip or fail without it)."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        unavailable("pymysql is not installed: pip install 'fleetcast[mysql]'")


MYSQL_URL = os.environ.get("FLEETCAST_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
PG_ENV = "FLEETCAST_TEST_PG_URL"


def operator_db(kind: str) -> Engine:
    """An engine on the real MariaDB (``mariadb``) or PostgreSQL (``postgres``) test server
    that stands for an operator's own database; skip or fail (CI) without it."""
    if kind == "mariadb":
        require_pymysql()
        url = make_url(MYSQL_URL)
    else:
        base = os.environ.get(PG_ENV)
        if not base:
            unavailable(f"{PG_ENV} is not set (the PostgreSQL server for the source tests)")
        url = make_url(base)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        unavailable(f"no {kind} server at {shown}: {str(exc.orig).strip()[:120]}")
    return engine


@contextlib.contextmanager
def dashboard_server(home: Path, log_dir: Path) -> Iterator[str]:
    """The Streamlit dashboard served on a free port over ``home`` (no MLflow URI or config
    from the environment); its URL, and the server stopped afterwards."""
    from fleetcast.config import load_settings
    from fleetcast.dashboard.launch import start_dashboard, wait_ready

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "streamlit.log"
    with pytest.MonkeyPatch.context() as mp, log_path.open("wb") as log:
        mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
        mp.delenv("FLEETCAST_CONFIG", raising=False)
        settings = load_settings(home=home, env={})
        process = start_dashboard(settings, host="127.0.0.1", port=port, output=log)
        try:
            if not wait_ready(url, timeout=30, process=process):
                pytest.fail(f"the dashboard did not start:\n{log_path.read_text()[-3000:]}")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
