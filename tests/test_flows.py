"""The pipelines as Prefect flows: each flow run once in-process under Prefect's test harness
(one temporary Prefect server for the module) with the store checked after; the schedules
``fleetcast run`` serves; and ``fleetcast run`` itself, serving on a shortened schedule
until Ctrl-C, with nothing left running."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fleetcast.config import load_settings
from fleetcast.jobs import build_demo
from fleetcast.jobs import pipeline as jobs
from fleetcast.store import Store
from fleetcast.store.tables import Forecast, PipelineRun, Plan

pytest.importorskip("prefect", reason="the orchestration extra (Prefect) is not installed")

TOML = """
[planning.routing]
time_limit_s = 1
[schedule]
model = "seasonal_naive"
train_weeks = 1
"""


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 45-day demo city whose fleetcast.toml keeps the cycle quick; FLEETCAST_HOME points
    to it, as `fleetcast run` leaves it for its flow runs."""
    home = tmp_path_factory.mktemp("flows") / "home"
    home.mkdir()
    (home / "fleetcast.toml").write_text(TOML)
    mp = pytest.MonkeyPatch()
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_CONFIG", "PREFECT_API_URL"):
        mp.delenv(name, raising=False)
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    mp.delenv("FLEETCAST_AERODATABOX_KEY", raising=False)
    mp.setenv("FLEETCAST_HOME", str(home))
    mp.setenv("PREFECT_HOME", str(home / "prefect"))
    store = Store(load_settings())
    build_demo(store, seed=5, days=45)
    store.close()
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def flows(demo_home: Path) -> Iterator[ModuleType]:
    """fleetcast.flows against one temporary Prefect server (Prefect's test harness)."""
    from prefect.testing.utilities import prefect_test_harness

    from fleetcast import flows as module

    with prefect_test_harness(server_startup_timeout=90):
        yield module


def count(home: Path, query: Any) -> int:
    store = Store(load_settings())
    try:
        with store.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        store.close()


def test_daily_flow_runs_every_step_as_a_task(flows: ModuleType, demo_home: Path) -> None:
    state = flows.daily_flow("demo", return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["steps"] == {
        "ingest": "ok",
        "arrivals": "skipped",
        "train": "ok",
        "forecast": "ok",
        "plan": "ok",
        "monitor": "ok",
    }
    assert count(demo_home, select(func.count()).select_from(Forecast)) > 0
    assert count(demo_home, select(func.count()).select_from(Plan)) == 1
    flow_run_ids = count(
        demo_home,
        select(func.count(func.distinct(PipelineRun.flow_run_id))).where(
            PipelineRun.run_id == result["run_id"]
        ),
    )
    assert flow_run_ids == 1, "every row of the run names the Prefect flow run"


def test_failed_step_fails_the_flow_run_and_keeps_the_plan(
    flows: ModuleType, demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails is not retried unless transient, fails the flow run, and leaves
    the forecasts and the plan in service."""
    plans = count(demo_home, select(func.count()).select_from(Plan))
    forecasts = count(demo_home, select(func.count()).select_from(Forecast))
    calls: list[int] = []

    def broken(*_args: Any) -> str:
        calls.append(1)
        raise ValueError("the champion cannot read this history")

    monkeypatch.setattr(jobs, "forecast_step", broken)
    state = flows.daily_flow("demo", return_state=True)
    assert state.is_failed()
    assert "forecast" in (state.message or "") or "forecast" in str(
        state.result(raise_on_failure=False)
    )
    assert calls == [1], "a ValueError is not transient: no retry"
    assert count(demo_home, select(func.count()).select_from(Plan)) == plans
    assert count(demo_home, select(func.count()).select_from(Forecast)) == forecasts
    store = Store(load_settings())
    try:
        failing = jobs.pipeline_status(store)["failing"]
    finally:
        store.close()
    assert [(f["flow"], f["failed_step"]) for f in failing] == [("daily", "forecast")]


def test_transient_errors_are_retried(flows: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed that times out once is retried by Prefect and the step ends ok."""
    monkeypatch.setitem(flows.POLICIES, "compact", flows.TaskPolicy(2, 0, 60))
    real = jobs.compact_step
    calls: list[int] = []

    def flaky(store: Store) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("the lake timed out")
        return real(store)

    monkeypatch.setattr(jobs, "compact_step", flaky)
    state = flows.compact_flow(return_state=True)
    assert state.is_completed(), state.message
    assert len(calls) == 2


def test_poll_flow_stores_a_snapshot(flows: ModuleType, demo_home: Path) -> None:
    url = str(demo_home / "gbfs" / "demo" / "gbfs.json")
    state = flows.poll_flow("demo", url, return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["steps"] == {"poll": "ok"}
    dead = flows.poll_flow("demo", str(demo_home / "nowhere.json"), return_state=True)
    assert dead.is_failed()


def test_planned_schedules(flows: ModuleType, demo_home: Path) -> None:
    """A poll per recorded feed, the daily cycle at 05:00 in the system's timezone, the
    hourly compaction; shortened on request."""
    store = Store(load_settings())
    try:
        plans = flows.planned(store, jobs.ScheduleConfig())
        fast = flows.planned(store, jobs.ScheduleConfig(), daily_every_s=60, poll_every_s=15)
    finally:
        store.close()
    assert [p.name for p in plans] == ["poll-demo", "daily-demo", "compact"]
    daily = plans[1].schedule
    assert (daily.cron, daily.timezone) == ("0 5 * * *", "America/Chicago")
    assert plans[0].schedule.interval.total_seconds() == 60
    assert plans[2].schedule.interval.total_seconds() == 3600
    assert fast[0].schedule.interval.total_seconds() == 15
    assert fast[1].schedule.interval.total_seconds() == 60
    deployment = plans[1].to_deployment()
    assert deployment.entrypoint == "fleetcast.flows.daily_flow"
    assert deployment.parameters == {"system_id": "demo"}


def test_run_once_from_the_cli(flows: ModuleType, demo_home: Path) -> None:
    from fleetcast.cli import app
    from fleetcast.cli._common import state

    state.settings = None
    result = CliRunner().invoke(app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    for name in ("poll-demo", "daily-demo", "compact"):
        assert f"ok {name}" in result.output


def test_deploy_to_a_work_pool(flows: ModuleType, demo_home: Path) -> None:
    """`fleetcast run --deploy-to POOL` registers every schedule for the pool's workers,
    each with the flow's module entry point and its schedule."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from fleetcast.cli import app
    from fleetcast.cli._common import state

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="fleetcast", type="process"))
    state.settings = None
    result = CliRunner().invoke(app, ["run", "--deploy-to", "fleetcast"])
    assert result.exit_code == 0, result.output
    assert "3 deployment(s) registered" in result.output
    with get_client(sync_client=True) as client:
        daily = client.read_deployment_by_name("fleetcast-daily/daily-demo")
        assert client.read_deployment_by_name("fleetcast-poll/poll-demo").work_pool_name
        assert client.read_deployment_by_name("fleetcast-compact/compact").work_pool_name
    assert daily.work_pool_name == "fleetcast"
    assert daily.entrypoint == "fleetcast.flows.daily_flow"
    assert daily.schedules[0].schedule.cron == "0 5 * * *"


def _pipeline_rows(home: Path) -> list[tuple[str, str, str, str | None]]:
    store = Store(load_settings(home=home, env={}))
    try:
        with store.connect() as conn:
            rows = conn.execute(
                select(
                    PipelineRun.flow, PipelineRun.step, PipelineRun.status, PipelineRun.flow_run_id
                )
            ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        store.close()


def test_fleetcast_run_serves_until_ctrl_c(tmp_path: Path, demo_home: Path) -> None:
    """`fleetcast run` on shortened schedules: its local Prefect server schedules polls that
    run as their own processes and land in the store; Ctrl-C (SIGINT to the process group,
    as a terminal sends it) stops it cleanly with no row left running."""
    home = tmp_path / "served"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEETCAST_", "PREFECT_"))}
    env |= {"FLEETCAST_HOME": str(home), "COLUMNS": "200"}
    store = Store(load_settings(home=home, env={}))
    build_demo(store, seed=5, days=30)
    store.close()
    (home / "fleetcast.toml").write_text(TOML)
    log = (tmp_path / "run.log").open("wb")
    command = [sys.executable, "-m", "fleetcast", "run", "--poll-every", "10", "--port", "4391"]
    runner = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 150
        scheduled: list[Any] = []
        while time.monotonic() < deadline and runner.poll() is None:
            rows = _pipeline_rows(home)
            scheduled = [r for r in rows if r[0] == "poll" and r[1] == "run" and r[2] == "ok"]
            if scheduled:
                break
            time.sleep(2)
        assert scheduled, (tmp_path / "run.log").read_text()[-3000:]
        assert scheduled[0][3], "the poll ran as a Prefect flow run"
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert "Prefect UI: http://127.0.0.1:" in output
    assert "stopped: runs under way were marked interrupted" in output
    assert [r for r in _pipeline_rows(home) if r[2] == "running"] == []


@pytest.mark.parametrize(
    ("error", "kept"),
    [(asyncio.CancelledError(), False), (KeyboardInterrupt(), False), (OSError("x"), True)],
)
def test_shutdown_filter_drops_only_cancellation_tracebacks(
    flows: ModuleType, error: BaseException, kept: bool
) -> None:
    """Ctrl-C makes Prefect's runner log a cancelled-callback traceback per connection; the
    filter drops those and lets any other asyncio error through."""
    record = logging.LogRecord(
        "asyncio",
        logging.ERROR,
        __file__,
        1,
        "Exception in callback",
        None,
        (type(error), error, None),
    )
    assert flows._QuietShutdown().filter(record) is kept


def test_a_run_stands_aside_while_the_previous_one_works(
    flows: ModuleType, demo_home: Path
) -> None:
    """Runs of one pipeline never overlap: a poll due while the last one still runs is
    skipped, and stored nothing."""
    from datetime import UTC, datetime

    from fleetcast.store import pipeline as pstore

    store = Store(load_settings())
    try:
        with store.begin() as conn:
            pstore.start_step(
                conn,
                run_id="still-polling",
                step=pstore.RUN_STEP,
                flow=jobs.POLL,
                system_id="demo",
                started_at=datetime.now(UTC),
            )
        polls = count(demo_home, select(func.count()).where(PipelineRun.flow == jobs.POLL))
        url = str(demo_home / "gbfs" / "demo" / "gbfs.json")
        state = flows.poll_flow("demo", url, return_state=True)
        assert state.is_completed(), state.message
        assert state.result()["status"] == "skipped" and "under_way_since" in state.result()
        after = count(demo_home, select(func.count()).where(PipelineRun.flow == jobs.POLL))
        assert after == polls
    finally:
        jobs.close_abandoned(store, why="test over")
        store.close()


def test_clear_stale_runs_after_a_stopped_scheduler(flows: ModuleType, demo_home: Path) -> None:
    """What a stopped `fleetcast run` left on its Prefect server: missed polls deleted (an
    upcoming one kept), only the newest missed daily cycle kept, a run left running
    crashed, so the next `fleetcast run` starts clean."""
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Running, Scheduled

    store = Store(load_settings())
    try:
        plans = flows.planned(store, jobs.ScheduleConfig())
    finally:
        store.close()
    poll, daily = plans[0], plans[1]
    now = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        ids = {p.name: p.to_deployment().apply() for p in (poll, daily)}
        runs = {}
        for key, plan, state in (
            ("missed-poll-1", poll, Scheduled(scheduled_time=now - timedelta(minutes=3))),
            ("missed-poll-2", poll, Scheduled(scheduled_time=now - timedelta(minutes=2))),
            ("next-poll", poll, Scheduled(scheduled_time=now + timedelta(minutes=5))),
            ("running-poll", poll, Running()),
            ("missed-day-1", daily, Scheduled(scheduled_time=now - timedelta(days=2))),
            ("missed-day-2", daily, Scheduled(scheduled_time=now - timedelta(days=1))),
        ):
            runs[key] = client.create_flow_run_from_deployment(ids[plan.name], state=state).id
        tidied = flows.clear_stale_runs([poll, daily], crash_unfinished=True)

        def state_of(key: str) -> StateType | None:
            from prefect.exceptions import ObjectNotFound

            try:
                return client.read_flow_run(runs[key]).state_type
            except ObjectNotFound:
                return None

        assert tidied == 4
        assert state_of("missed-poll-1") is None and state_of("missed-poll-2") is None
        assert state_of("next-poll") == StateType.SCHEDULED
        assert state_of("running-poll") == StateType.CRASHED
        assert state_of("missed-day-1") is None
        assert state_of("missed-day-2") == StateType.SCHEDULED
        for key in ("next-poll", "missed-day-2"):
            client.delete_flow_run(runs[key])
