"""The scheduled pipelines as plain functions on a small demo city: the schedule's config,
a daily cycle that fills the store, failed steps that leave the previous forecasts and plan
in service, an interruption recorded as such, polls, compaction and the status they give."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from fleetcast.config import load_settings
from fleetcast.errors import ConfigError, FleetcastError
from fleetcast.jobs import build_demo
from fleetcast.jobs import pipeline as pl_jobs
from fleetcast.jobs.pipeline import FeedSchedule, ScheduleConfig
from fleetcast.store import Store, records
from fleetcast.store.tables import Forecast, PipelineRun, Plan

CONFIG = ScheduleConfig(model="seasonal_naive", train_weeks=1, train_on="never")
"""Trains only while the system has no champion (the first cycle), as a new install does."""


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, date]]:
    """A 45-day demo city and the day after its last actual (the cycle's 'today'); routing
    gets a 1 s budget."""
    home = tmp_path_factory.mktemp("pipeline") / "home"
    home.mkdir()
    (home / "fleetcast.toml").write_text("[planning.routing]\ntime_limit_s = 1\n")
    mp = pytest.MonkeyPatch()
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    mp.delenv("FLEETCAST_AERODATABOX_KEY", raising=False)
    store = Store(load_settings(home=home, env={}))
    build_demo(store, seed=5, days=45)
    with store.connect() as conn:
        last = records.demand_summary(conn, "demo")["last_day"]
    yield store, last + timedelta(days=1)
    store.close()
    mp.undo()


def count(store: Store, table: Any) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def statuses(report: pl_jobs.RunReport) -> dict[str, str]:
    return {s.step: s.status for s in report.steps}


def test_schedule_defaults_and_errors() -> None:
    config = ScheduleConfig.from_mapping({})
    assert (config.daily_at, config.train_on, config.horizon) == ("05:00", "monday", 3)
    assert config.trains_on(date(2026, 11, 30)) and not config.trains_on(date(2026, 12, 1))
    assert config.source_of("demo") == "lake"
    with pytest.raises(ValueError, match="daily_at must be HH:MM"):
        ScheduleConfig.from_mapping({"daily_at": "5am"})
    with pytest.raises(ValueError, match="not understood"):
        ScheduleConfig.from_mapping({"daily_time": "05:00"})
    with pytest.raises(ValueError, match="polled twice"):
        ScheduleConfig.from_mapping(
            {"feeds": [{"system_id": "a", "url": "x"}, {"system_id": "a", "url": "y"}]}
        )
    with pytest.raises(ValueError, match="between 10 and 86400"):
        FeedSchedule("a", "x", every_s=1)


def test_schedule_from_toml_names_the_file(tmp_path: Any) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "fleetcast.toml").write_text('[schedule]\ndaily_at = "06:30"\ntrain_on = "friday"\n')
    config = pl_jobs.schedule_for(load_settings(home=home, env={}))
    assert config.daily_time.hour == 6 and config.train_on == "friday"
    (home / "fleetcast.toml").write_text('[schedule]\ntrain_on = "someday"\n')
    with pytest.raises(ConfigError, match=r"fleetcast\.toml"):
        pl_jobs.schedule_for(load_settings(home=home, env={}))


def test_daily_cycle_fills_the_store(city: tuple[Store, date]) -> None:
    """Ingest, training, forecast, plan and monitor all run; each is a row of the run."""
    store, today = city
    report = pl_jobs.daily_cycle(store, "demo", config=CONFIG, today=today)
    assert statuses(report) == {
        "ingest": "ok",
        "arrivals": "skipped",
        "train": "ok",
        "forecast": "ok",
        "plan": "ok",
        "monitor": "ok",
    }
    assert report.status == "ok"
    assert "recounted from the lake" in (report.step("ingest").message or "")
    assert "FLEETCAST_AERODATABOX_KEY" in (report.step("arrivals").message or "")
    assert count(store, Forecast) > 0 and count(store, Plan) == 1
    with store.connect() as conn:
        rows = conn.execute(
            select(PipelineRun.step, PipelineRun.status).where(PipelineRun.run_id == report.run_id)
        ).all()
    assert dict(rows) == {"run": "ok", **statuses(report)}
    status = pl_jobs.pipeline_status(store)
    assert status["failing"] == []
    daily = next(r for r in status["runs"] if r["flow"] == "daily")
    assert [s["step"] for s in daily["steps"]] == list(pl_jobs.DAILY_STEPS)


def test_failed_forecast_keeps_previous_forecasts_and_plan(
    city: tuple[Store, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forecast fails: the plan is skipped, monitoring still runs, nothing already in
    service changes, and the failure is what the status reports."""
    store, today = city
    pl_jobs.daily_cycle(store, "demo", config=CONFIG, today=today)
    before = (count(store, Forecast), count(store, Plan))

    def broken(*_args: Any) -> str:
        raise FleetcastError("the model registry is unreachable")

    monkeypatch.setattr(pl_jobs, "forecast_step", broken)
    report = pl_jobs.daily_cycle(store, "demo", config=CONFIG, today=today)
    assert statuses(report)["forecast"] == "failed"
    assert statuses(report)["plan"] == "skipped"
    assert statuses(report)["monitor"] == "ok"
    assert report.status == "failed"
    assert (count(store, Forecast), count(store, Plan)) == before
    failing = pl_jobs.pipeline_status(store)["failing"]
    assert [(f["flow"], f["system_id"], f["failed_step"]) for f in failing] == [
        ("daily", "demo", "forecast")
    ]
    assert "registry is unreachable" in failing[0]["message"]


def test_failed_ingest_skips_all_but_monitoring(
    city: tuple[Store, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, today = city

    def broken(*_args: Any) -> str:
        raise OSError("the lake bucket is gone")

    monkeypatch.setattr(pl_jobs, "ingest_step", broken)
    report = pl_jobs.daily_cycle(store, "demo", config=CONFIG, today=today)
    assert statuses(report) == {
        "ingest": "failed",
        "arrivals": "skipped",
        "train": "skipped",
        "forecast": "skipped",
        "plan": "skipped",
        "monitor": "ok",
    }
    assert "ingest failed" in (report.step("plan").message or "")


def test_interrupted_step_is_recorded_and_propagates(city: tuple[Store, date]) -> None:
    """Ctrl-C during a step: the step and the run are marked interrupted, not left running,
    and the interruption reaches the caller."""
    store, today = city

    def interrupt_at_plan(step: str, fn: Any, *args: Any) -> Any:
        if step == "plan":
            raise KeyboardInterrupt
        return fn(*args)

    with pytest.raises(KeyboardInterrupt):
        pl_jobs.daily_cycle(store, "demo", config=CONFIG, today=today, call=interrupt_at_plan)
    with store.connect() as conn:
        running = conn.execute(
            select(func.count()).where(PipelineRun.status == "running")
        ).scalar_one()
    assert running == 0
    failing = pl_jobs.pipeline_status(store)["failing"]
    daily = next(f for f in failing if f["flow"] == "daily")
    assert (daily["failed_step"], daily["status"]) == ("plan", "interrupted")
    assert daily["message"].startswith("stopped (KeyboardInterrupt")


def test_close_abandoned_marks_rows_left_running(city: tuple[Store, date]) -> None:
    """A scheduler killed mid-run leaves rows 'running'; the next start closes them."""
    store, _ = city
    rec = pl_jobs.Recorder(store, flow=pl_jobs.COMPACT, system_id=None).start()
    assert rec.report.run_id
    assert pl_jobs.close_abandoned(store, why="scheduler stopped") == 1
    compact = next(r for r in pl_jobs.pipeline_status(store)["runs"] if r["flow"] == "compact")
    assert (compact["status"], compact["message"]) == ("interrupted", "scheduler stopped")


def test_poll_and_compact(city: tuple[Store, date], tmp_path: Any) -> None:
    """The demo's recorded feed is the default poll; polls are runs, a dead feed a failed
    run, and compaction is its own run."""
    store, _ = city
    feeds = pl_jobs.scheduled_feeds(store, ScheduleConfig())
    assert [f.system_id for f in feeds] == ["demo"]
    assert pl_jobs.poll_feed(store, feeds[0]).status == "ok"
    dead = FeedSchedule("demo", str(tmp_path / "nowhere" / "gbfs.json"))
    report = pl_jobs.poll_feed(store, dead)
    assert report.status == "failed"
    assert report.step("poll").message
    compact = pl_jobs.compact_snapshots(store)
    assert compact.status == "ok" and "merged away" in (compact.step("compact").message or "")
    configured = ScheduleConfig(feeds=(FeedSchedule("demo", "https://example.org/gbfs.json"),))
    assert pl_jobs.scheduled_feeds(store, configured) == list(configured.feeds)


def test_scheduled_systems(city: tuple[Store, date]) -> None:
    store, _ = city
    assert pl_jobs.scheduled_systems(store, ScheduleConfig()) == [("demo", "America/Chicago")]
    with pytest.raises(ConfigError, match="not in the store"):
        pl_jobs.scheduled_systems(store, ScheduleConfig(systems=("nowhere",)))


def test_under_way_sees_only_a_live_run_of_the_same_pipeline(city: tuple[Store, date]) -> None:
    """A run row still 'running' makes the next run of that pipeline stand aside, unless it
    is older than the flow's timeout (a killed run) or belongs to another system."""
    from datetime import UTC, datetime

    from fleetcast.store import pipeline as pstore

    store, _ = city
    now = datetime.now(UTC)
    with store.begin() as conn:
        for run_id, system_id, hours_ago in (("live", "demo", 0), ("dead", "elsewhere", 7)):
            pstore.start_step(
                conn,
                run_id=run_id,
                step=pstore.RUN_STEP,
                flow=pl_jobs.DAILY,
                system_id=system_id,
                started_at=now - timedelta(hours=hours_ago),
            )
    try:
        since = pl_jobs.under_way(store, pl_jobs.DAILY, "demo", within_s=6 * 3600)
        assert since is not None and abs((since - now).total_seconds()) < 1
        assert pl_jobs.under_way(store, pl_jobs.DAILY, "elsewhere", within_s=6 * 3600) is None
        assert pl_jobs.under_way(store, pl_jobs.POLL, "demo", within_s=300) is None
        assert pl_jobs.under_way(store, pl_jobs.COMPACT, None, within_s=3600) is None
    finally:
        pl_jobs.close_abandoned(store, why="test over")
