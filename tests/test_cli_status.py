"""`fleetcast status` and the scheduled pipelines: a hint when none ran yet, the newest run
of each in a table and a red line naming the failing step, the same under "pipelines" in
--json."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from typer.testing import CliRunner

from fleetcast.cli import app
from fleetcast.config import load_settings
from fleetcast.jobs import pipeline as pl_jobs
from fleetcast.store import Store
from pipeline_runs import FAILURE, record_sample_runs

runner = CliRunner()


def test_status_without_runs_says_how_to_start_them(home: Path) -> None:
    """No run yet: one line pointing at `fleetcast run`; empty lists in JSON."""
    result = runner.invoke(app, ["--home", str(home), "status"])
    assert result.exit_code == 0
    assert "No scheduled runs yet" in result.output and "run" in result.output
    info = json.loads(runner.invoke(app, ["--home", str(home), "status", "--json"]).stdout)
    assert info["pipelines"] == {"runs": [], "failing": []}


def test_status_shows_the_failing_pipeline(home: Path) -> None:
    """The table lists the three pipelines, the failing daily cycle gets a line with its
    step and message, and --json carries the same failing entry."""
    store = Store(load_settings(home=home, env={}))
    try:
        record_sample_runs(store)
    finally:
        store.close()
    result = runner.invoke(app, ["--home", str(home), "status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Scheduled pipelines" in out
    assert all(flow in out for flow in ("daily", "poll", "compact"))
    assert "Pipeline daily demo failing" in out and "step forecast failed" in out
    assert FAILURE in out
    info = json.loads(runner.invoke(app, ["--home", str(home), "status", "--json"]).stdout)
    (bad,) = info["pipelines"]["failing"]
    assert bad["failed_step"] == "forecast" and FAILURE in bad["message"]
    assert len(info["pipelines"]["runs"]) == 3


def test_status_tells_an_interrupted_run_from_a_failed_one(home: Path) -> None:
    """A run stopped by Ctrl-C is listed as interrupted (yellow), not as failing."""
    store = Store(load_settings(home=home, env={}))
    try:

        def stop(step: str, fn: object, *args: object) -> object:
            raise KeyboardInterrupt

        with contextlib.suppress(KeyboardInterrupt):
            pl_jobs.compact_snapshots(store, call=stop)
    finally:
        store.close()
    out = runner.invoke(app, ["--home", str(home), "status"]).output
    assert "Pipeline compact interrupted" in out and "failing" not in out
    assert "stopped (KeyboardInterrupt" in out
