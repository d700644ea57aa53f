"""Drift in the monitor job on the small monitored demo: the check stored in monitor_drift and
monitor_drift_columns beside its run, the HTML report under the home (path stored relative),
drift as a warning or (``degrade``) a reason, old reports pruned, a failed run leaving no
report, and the store round trip on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from fleetcast.config import load_settings
from fleetcast.domain import SystemInfo
from fleetcast.jobs import monitor as monitor_job
from fleetcast.jobs.monitor import REPORTS_DIR, latest_monitoring, latest_report_file, run_monitor
from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.drift import COLUMNS_SCHEMA, DriftConfig, DriftResult, DriftWindows
from fleetcast.monitoring.quality import QualityThresholds
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore
from fleetcast.store.tables import MonitorDrift, MonitorDriftColumn, MonitorRun
from monitor_data import monitored_copy

QUIET = QualityThresholds(max_ingest_age_hours=None, min_feed_age_s=1e9)
"""The demo's ingest and feed ages are not judged (they depend on when the home was built)."""


def config(**drift: object) -> MonitorConfig:
    """Monitor settings with the demo's ingest age unjudged and these drift settings."""
    return MonitorConfig(quality=QUIET, drift=DriftConfig(**drift))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, date]]:
    """A private copy of the monitored demo (one monitor run already stored)."""
    home, last = monitored_copy(tmp_path_factory, "monitor_drift")
    store = Store(load_settings(home=home, env={}))
    yield store, last
    store.close()


def reports(store: Store) -> list[Path]:
    """The demo's drift reports on disk."""
    return sorted((store.settings.home / REPORTS_DIR / "demo").glob("drift-*.html"))


def test_the_check_is_stored_with_its_run_and_report(demo: tuple[Store, date]) -> None:
    """One monitor_drift row per run with the summary's figures, a column row per input and
    the target, and the report at the stored path relative to the home."""
    store, last = demo
    report = run_monitor(store, "demo", today=last + timedelta(days=1), config=config())
    assert report.drift is not None and report.status == "ok", report.reasons
    drift = report.summary()["drift"]
    assert drift["current_end"] == last.isoformat()
    assert drift["report_path"] == f"{REPORTS_DIR}/demo/{Path(drift['report_path']).name}"
    assert (store.settings.home / drift["report_path"]).is_file()
    with store.connect() as conn:
        row = conn.execute(select(MonitorDrift).where(MonitorDrift.run_id == report.run_id)).one()
        n_columns = conn.scalar(
            select(func.count())
            .select_from(MonitorDriftColumn)
            .where(MonitorDriftColumn.run_id == report.run_id)
        )
        run = conn.execute(select(MonitorRun).where(MonitorRun.run_id == report.run_id)).one()
    assert n_columns is not None and row.report_path == drift["report_path"]
    assert row.inputs == drift["inputs"] == n_columns - 1
    assert row.drifted_inputs == len(drift["drifted_inputs"])
    assert row.drift_share == pytest.approx(drift["drift_share"])
    assert row.target_drifted is drift["target_drifted"]
    assert run.summary["drift"]["columns"] == drift["columns"]
    for problem in drift["problems"]:
        assert f"warning: {problem}" in report.notes
    view = latest_monitoring(store, "demo")
    assert view["drift"]["run_id"] == report.run_id and view["drift"]["report_available"]
    assert latest_report_file(store, "demo") == store.settings.home / drift["report_path"]


def test_degrade_turns_drift_into_reasons(demo: tuple[Store, date]) -> None:
    """A threshold every column passes, with ``degrade``: degraded, target and input drift
    among the reasons; a threshold none passes: ok and no drift problem."""
    store, last = demo
    day = last + timedelta(days=1)
    everything = config(
        method="wasserstein", cat_method="jensenshannon", threshold=1e-9, degrade=True
    )
    report = run_monitor(store, "demo", today=day, config=everything)
    assert report.status == "degraded", report.reasons
    assert any(r.startswith("target drift") for r in report.reasons)
    assert any(r.startswith("input drift") for r in report.reasons)
    nothing = config(method="wasserstein", cat_method="jensenshannon", threshold=1e9, degrade=True)
    report = run_monitor(store, "demo", today=day, config=nothing)
    assert report.status == "ok" and report.drift is not None
    assert report.drift.drift_share == 0 and not report.drift.target_drifted


def test_only_the_newest_reports_are_kept(demo: tuple[Store, date]) -> None:
    """keep_reports = 1: after a run only its own report is left."""
    store, last = demo
    report = run_monitor(
        store, "demo", today=last + timedelta(days=1), config=config(keep_reports=1)
    )
    assert reports(store) == [store.settings.home / str(report.drift_report)]


def test_a_failed_run_leaves_no_report(
    demo: tuple[Store, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When storing the drift fails the transaction rolls back, the new report is removed and
    the run is recorded as failed."""
    store, last = demo
    before = reports(store)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(mstore, "save_drift", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_monitor(store, "demo", today=last + timedelta(days=1), config=config())
    assert reports(store) == before
    with store.connect() as conn:
        newest = mstore.latest_run(conn, "demo")
    assert newest is not None and newest["status"] == "failed"


def test_a_disabled_or_impossible_check_is_a_note(demo: tuple[Store, date]) -> None:
    """enabled = false, or more history asked for than stored: a note, no drift row."""
    store, last = demo
    day = last + timedelta(days=1)
    off = run_monitor(store, "demo", today=day, config=config(enabled=False))
    assert off.drift is None and any("disabled" in n for n in off.notes)
    short = run_monitor(store, "demo", today=day, config=config(shrink=False))
    assert short.drift is None and any("drift not checked" in n for n in short.notes)
    assert short.summary()["drift"] is None
    with store.connect() as conn:
        stored = {r[0] for r in conn.execute(select(MonitorDrift.run_id))}
    assert off.run_id not in stored and short.run_id not in stored


def test_an_evidently_failure_marks_the_run_degraded(
    demo: tuple[Store, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drift check that raises does not stop accuracy and source health: the run is stored,
    degraded, with the error as a reason."""
    store, last = demo

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("bad column")

    monkeypatch.setattr(monitor_job, "check_drift", broken)
    report = run_monitor(store, "demo", today=last + timedelta(days=1), config=config())
    assert report.status == "degraded"
    assert "drift check failed: ValueError: bad column" in report.reasons


def test_drift_round_trip_on_each_backend(store: Store) -> None:
    """save_drift and latest_drift on SQLite and PostgreSQL: every figure back, target last."""
    ran_at = datetime(2026, 10, 11, 5, tzinfo=UTC)
    columns = pl.DataFrame(
        [
            ("trips", "target", "K-S p_value", 0.05, 0.001, True),
            ("lag_1", "input", "Wasserstein distance (normed)", 0.1, 0.25, True),
            ("weekday", "input", "chi-square p_value", 0.05, None, False),
        ],
        schema=COLUMNS_SCHEMA,
        orient="row",
    )
    windows = DriftWindows(
        date(2026, 8, 1), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 10)
    )
    result = DriftResult(windows, 610, 100, columns, max_drift_share=0.5)
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("city", "City", "UTC"))
        mstore.save_run(conn, run_id="r1", system_id="city", ran_at=ran_at, status="ok", summary={})
        mstore.save_drift(
            conn, run_id="r1", system_id="city", ran_at=ran_at, result=result, report_path=None
        )
    with store.connect() as conn:
        got = mstore.latest_drift(conn, "city")
    assert got is not None
    assert (got["inputs"], got["drifted_inputs"], got["drift_share"]) == (2, 1, 0.5)
    assert got["target_drifted"] is True and got["report_path"] is None
    assert got["current_start"] == date(2026, 10, 1) and got["ran_at"] == ran_at
    assert [c["column"] for c in got["columns"]] == ["lag_1", "weekday", "trips"]
    assert got["columns"][1]["score"] is None
