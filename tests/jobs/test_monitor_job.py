"""The monitor job on a small demo city: forecasts from past issue dates scored as their
actuals are known, alerts against the backtest, source health, one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import func, select

from fleetcast.config import load_settings
from fleetcast.errors import UnknownSystemError
from fleetcast.jobs import build_demo
from fleetcast.jobs import forecast as fc
from fleetcast.jobs import monitor as monitor_job
from fleetcast.jobs.monitor import latest_monitoring, run_monitor
from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.quality import QualityThresholds
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore
from fleetcast.store.tables import MonitorAccuracy, MonitorRun

FRESH = MonitorConfig(quality=QualityThresholds(max_ingest_age_hours=None))
"""Defaults, but the demo's ingest age is not judged (it was built seconds ago anyway)."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, date]]:
    """A 60-day demo city, a seasonal-naive champion and forecasts issued on each of the
    last five days of history (so their actuals exist); yields the store and the last day."""
    home = tmp_path_factory.mktemp("monitor") / "home"
    mp = pytest.MonkeyPatch()
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    store = Store(load_settings(home=home, env={}))
    build_demo(store, seed=5, days=60)
    fc.train(store, "demo", model="seasonal_naive", weeks=1)
    with store.connect() as conn:
        last = records.demand_summary(conn, "demo")["last_day"]
    for back in range(5, 0, -1):
        fc.forecast(store, "demo", issued_on=last - timedelta(days=back))
    yield store, last
    store.close()
    mp.undo()


def set_backtest_wape(store: Store, wape: float) -> None:
    """Store a backtest of seasonal_naive whose WAPE is ``wape`` at every horizon."""
    metrics = pl.DataFrame(
        {
            "model": ["seasonal_naive"] * 3,
            "horizon": [1, 2, 3],
            "n": [100] * 3,
            "mae": [1.0] * 3,
            "rmse": [1.0] * 3,
            "wape": [wape] * 3,
            "bias": [0.0] * 3,
            "pinball": [1.0] * 3,
            "coverage_80": [0.8] * 3,
        }
    )
    with store.begin() as conn:
        records.save_backtest(
            conn,
            run_id=str(uuid.uuid4()),
            system_id="demo",
            window_start=date(2026, 1, 1),
            window_end=date(2026, 1, 7),
            horizon=3,
            models=["seasonal_naive"],
            metrics=metrics,
            zone_metrics=metrics.with_columns(pl.lit("x").alias("zone_id")).head(0),
        )


def counts(store: Store) -> tuple[int, int]:
    """Accuracy rows and monitor runs of the demo."""
    with store.connect() as conn:
        acc = conn.execute(select(func.count()).select_from(MonitorAccuracy)).scalar_one()
        runs = conn.execute(select(func.count()).select_from(MonitorRun)).scalar_one()
    return int(acc), int(runs)


def test_every_forecast_with_actuals_is_scored_and_stored(demo: tuple[Store, date]) -> None:
    """Issue dates last-5..last-1 with 3 horizons cover last-5..last+1: 6 days with actuals,
    15 - 1 (day, horizon) pairs; every zone scored; a re-run replaces rows, adds one run."""
    store, last = demo
    set_backtest_wape(store, 5.0)
    report = run_monitor(store, "demo", today=last + timedelta(days=1), config=FRESH)
    with store.connect() as conn:
        zones = records.load_zones(conn, "demo").height
        stored = mstore.load_accuracy(conn, "demo", zone_id=None)
        run = mstore.latest_run(conn, "demo")
    assert report.status == "ok", report.reasons
    assert report.computed_days == tuple(last - timedelta(days=k) for k in range(5, -1, -1))
    overall = stored.filter(pl.col("zone_id") == "*")
    assert overall.height == 5 * 3 - 1 == report.accuracy.height
    assert (overall["n"] == zones).all()
    assert stored.height == overall.height * (zones + 1) == report.rows_written
    assert overall["wape"].is_between(0, 5).all() and overall["coverage"].is_between(0, 1).all()
    assert run is not None and run["run_id"] == report.run_id and run["status"] == "ok"
    assert run["summary"]["computed"]["rows"] == report.rows_written
    acc_before, runs_before = counts(store)
    again = run_monitor(store, "demo", today=last + timedelta(days=1), config=FRESH)
    assert counts(store) == (acc_before, runs_before + 1)
    assert again.accuracy["wape"].to_list() == report.accuracy["wape"].to_list()


def test_wape_far_over_the_backtests_marks_the_system_degraded(demo: tuple[Store, date]) -> None:
    """Against a backtest WAPE of 1%, the last three days of each horizon break the rule."""
    store, last = demo
    set_backtest_wape(store, 0.01)
    report = run_monitor(store, "demo", today=last + timedelta(days=1), config=FRESH)
    assert report.degraded
    assert sorted(a.horizon for a in report.alerts) == [1, 2, 3]
    for alert in report.alerts:
        assert alert.baseline_wape == 0.01 and len(alert.days) >= 3
        assert all(e > 0.3 for e in alert.excess)
    assert any("seasonal_naive@v1 h1: WAPE" in r for r in report.reasons)
    view = latest_monitoring(store, "demo", days=3)
    assert view["run"]["status"] == "degraded"
    assert {row["baseline_wape"] for row in view["accuracy"]} == {0.01}
    set_backtest_wape(store, 5.0)


def test_stale_demand_is_a_reason(demo: tuple[Store, date]) -> None:
    """Checked 30 days after the last actual with default thresholds: demand is stale."""
    store, last = demo
    report = run_monitor(store, "demo", today=last + timedelta(days=30))
    assert report.degraded
    assert any(r.startswith("daily demand: daily demand ends") for r in report.reasons)
    assert report.computed_days == tuple(last - timedelta(days=k) for k in range(5, -1, -1))


def test_a_failure_leaves_the_store_as_it_was(
    demo: tuple[Store, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the accuracy rows were written rolls them back; the run shows failed."""
    store, last = demo
    with store.begin() as conn:
        conn.execute(MonitorAccuracy.__table__.delete())  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> pl.DataFrame:
        raise RuntimeError("the feeds table is on fire")

    monkeypatch.setattr(monitor_job.quality, "source_health", broken)
    with pytest.raises(RuntimeError, match="on fire"):
        run_monitor(store, "demo", today=last + timedelta(days=1), config=FRESH)
    assert counts(store)[0] == 0
    with store.connect() as conn:
        run = mstore.latest_run(conn, "demo")
    assert run is not None and run["status"] == "failed"
    assert "on fire" in run["summary"]["reasons"][0]


def test_an_unknown_system_is_refused(demo: tuple[Store, date]) -> None:
    """No run is recorded for a system that does not exist."""
    store, _ = demo
    with pytest.raises(UnknownSystemError):
        run_monitor(store, "nowhere", config=FRESH)
