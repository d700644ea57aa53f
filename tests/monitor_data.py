"""A small monitored demo city shared by the monitoring tests: built once per test session,
copied for tests that change it."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from fleetcast.config import load_settings
from fleetcast.store import Store, records

DAYS = 60
"""Days of demo history: enough for a (shrunk) drift check, small enough to build in seconds."""

_BUILT: dict[Path, tuple[Path, date]] = {}


def build_monitored(home: Path) -> date:
    """A 60-day demo city with a seasonal-naive backtest and champion, forecasts issued on each
    of the last five days of history and one monitor run the day after; the last day."""
    from fleetcast.jobs import build_demo
    from fleetcast.jobs import forecast as fc
    from fleetcast.jobs.monitor import run_monitor
    from fleetcast.monitoring.config import MonitorConfig
    from fleetcast.monitoring.quality import QualityThresholds

    mp = pytest.MonkeyPatch()
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    store = Store(load_settings(home=home, env={}))
    try:
        build_demo(store, seed=5, days=DAYS)
        fc.backtest(store, "demo", models=("seasonal_naive",), weeks=1)
        fc.train(store, "demo", model="seasonal_naive", weeks=1)
        with store.connect() as conn:
            last = records.demand_summary(conn, "demo")["last_day"]
        for back in range(5, 0, -1):
            fc.forecast(store, "demo", issued_on=last - timedelta(days=back))
        config = MonitorConfig(quality=QualityThresholds(max_ingest_age_hours=None))
        run_monitor(store, "demo", today=last + timedelta(days=1), config=config)
    finally:
        store.close()
        mp.undo()
    assert isinstance(last, date)
    return last


def monitored_home(factory: pytest.TempPathFactory) -> tuple[Path, date]:
    """The session's monitored demo home (built on first use; do not change it) and its last
    day of demand."""
    base = factory.getbasetemp()
    if base not in _BUILT:
        home = factory.mktemp("monitored") / "home"
        _BUILT[base] = (home, build_monitored(home))
    return _BUILT[base]


def monitored_copy(factory: pytest.TempPathFactory, name: str) -> tuple[Path, date]:
    """A private copy of the monitored demo home, for tests that run the monitor again."""
    home, last = monitored_home(factory)
    copy = factory.mktemp(name) / "home"
    shutil.copytree(home, copy)
    return copy, last
