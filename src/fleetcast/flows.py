"""The scheduled pipelines of ``fleetcast.jobs.pipeline`` as Prefect flows, their schedules
and the process that serves them (``fleetcast run``).

Each flow is the plain pipeline function with a ``call`` that runs every step as a Prefect
task (retries on transient errors, a timeout, its summary logged); the logic and the record
in ``pipeline_runs`` are the pipeline's own. Schedules: one poll deployment per feed (every
minute, or the feed's ``every_s``), an hourly compaction, and a daily cycle per system at
``daily_at`` in the system's timezone.

Prefect keeps its state in ``PREFECT_HOME`` (default: ``prefect/`` in the fleetcast home).
Without ``PREFECT_API_URL``, :func:`prefect_server` starts a local Prefect server (SQLite, its
scheduler and UI) for as long as ``fleetcast run`` lives; with it, that server is used, and
the same flows can be deployed to a work pool instead (see the README).

The store is opened inside each flow from the environment (``FLEETCAST_HOME``,
``FLEETCAST_DB_URL``, ``FLEETCAST_LAKE_URL``), so no URL or password is ever a flow
parameter stored by Prefect.
"""

from __future__ import annotations

import os

from fleetcast.config import load_settings

os.environ.setdefault("PREFECT_HOME", str(load_settings().home / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import deployment as current_deployment
from prefect.runtime import flow_run as current_run
from prefect.schedules import Cron, Interval, Schedule
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType
from sqlalchemy.exc import OperationalError

from fleetcast.errors import FleetcastError, SourceError
from fleetcast.jobs import pipeline as jobs
from fleetcast.store import Store

TRANSIENT: Final = (SourceError, OSError, httpx.TransportError, OperationalError)
"""Errors worth a retry (a feed or the network down, a locked or restarting db); anything
else (bad data, no champion, no history) fails the same way again."""


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """How Prefect runs one step: retries (transient errors only), delay, timeout."""

    retries: int
    retry_delay_s: float
    timeout_s: float


POLICIES: dict[str, TaskPolicy] = {
    "ingest": TaskPolicy(2, 60, 1800),
    "arrivals": TaskPolicy(2, 60, 600),
    "train": TaskPolicy(0, 0, 3600),
    "forecast": TaskPolicy(1, 30, 900),
    "plan": TaskPolicy(1, 30, 1800),
    "monitor": TaskPolicy(1, 30, 900),
    "poll": TaskPolicy(0, 0, 50),
    "compact": TaskPolicy(1, 60, 900),
}
"""Per step; a poll is never retried (the next minute's poll is its retry)."""
LATE_POLL_FACTOR: Final = 3
"""A poll or compaction starting later than this many periods after its slot is skipped:
after the scheduler was down, a backlog of stale polls is not worth replaying."""


class PipelineFailedError(FleetcastError):
    """A pipeline run with a failed step: the flow run ends failed (the step is recorded)."""


def _transient(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a failed step only when its error may pass (see TRANSIENT)."""
    return isinstance(state.data, TRANSIENT)


def task_call(step: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one pipeline step as a Prefect task with the step's policy; log its summary."""
    policy = POLICIES.get(step, TaskPolicy(0, 0, 3600))
    runner = task(
        name=step,
        retries=policy.retries,
        retry_delay_seconds=policy.retry_delay_s,
        retry_condition_fn=_transient,
        timeout_seconds=policy.timeout_s,
        cache_policy=NO_CACHE,
        persist_result=False,
    )(fn)
    summary = runner(*args)
    get_run_logger().info("%s: %s", step, summary)
    return summary


def _open_store() -> Store:
    return Store(load_settings())


def _flow_run_id() -> str | None:
    return current_run.get_id()


def _late_by(period_s: float) -> float | None:
    """Seconds this flow run starts after its slot, when more than LATE_POLL_FACTOR periods
    (else None). Runs started by hand have no slot to be late for."""
    if current_deployment.get_id() is None:
        return None
    slot = current_run.get_scheduled_start_time()
    late = (datetime.now(UTC) - slot).total_seconds()
    return late if late > LATE_POLL_FACTOR * period_s else None


def _result(report: jobs.RunReport) -> dict[str, Any]:
    """The run as the flow's result; a failed step fails the flow run (after it is logged)."""
    logger = get_run_logger()
    for step in report.steps:
        if step.status == "failed":
            logger.error("%s failed: %s", step.step, step.message)
        elif step.status == "skipped":
            logger.info("%s skipped: %s", step.step, step.message)
    result = {
        "run_id": report.run_id,
        "flow": report.flow,
        "system_id": report.system_id,
        "status": report.status,
        "seconds": round(report.seconds, 2),
        "steps": {s.step: s.status for s in report.steps},
    }
    if report.status == "failed":
        failed = "; ".join(f"{s.step}: {s.message}" for s in report.failures())
        raise PipelineFailedError(f"{report.flow} run {report.run_id} failed: {failed}")
    return result


DAILY_TIMEOUT_S: Final = 6 * 3600
POLL_TIMEOUT_S: Final = 300
COMPACT_TIMEOUT_S: Final = 3600


def _stand_aside(
    store: Store, flow: str, system_id: str | None, timeout_s: float
) -> dict[str, Any] | None:
    """A skipped result when the previous run of this pipeline is still working (runs of
    one pipeline never overlap), else None."""
    since = jobs.under_way(store, flow, system_id, within_s=timeout_s)
    if since is None:
        return None
    get_run_logger().warning(
        "%s skipped: the run started %s UTC is still under way", flow, f"{since:%H:%M:%S}"
    )
    return {"status": "skipped", "under_way_since": since.isoformat()}


@flow(name="fleetcast-daily", timeout_seconds=DAILY_TIMEOUT_S)
def daily_flow(system_id: str, today: date | None = None) -> dict[str, Any]:
    """The daily cycle of one system: ingest, arrivals, training when due, forecast, plan,
    monitor (``today`` defaults to today in the system's timezone)."""
    store = _open_store()
    try:
        busy = _stand_aside(store, jobs.DAILY, system_id, DAILY_TIMEOUT_S)
        if busy is not None:
            return busy
        config = jobs.schedule_for(store.settings)
        report = jobs.daily_cycle(
            store, system_id, config=config, today=today, call=task_call, flow_run_id=_flow_run_id()
        )
    finally:
        store.close()
    return _result(report)


@flow(name="fleetcast-poll", timeout_seconds=POLL_TIMEOUT_S)
def poll_flow(
    system_id: str, url: str, every_s: float = 60.0, timezone: str | None = None
) -> dict[str, Any]:
    """One poll of a GBFS feed into ``system_id``."""
    late = _late_by(every_s)
    if late is not None:
        get_run_logger().warning("poll skipped: %.0f s late (the scheduler was down)", late)
        return {"status": "skipped", "late_s": round(late)}
    feed = jobs.FeedSchedule(system_id, url, every_s=every_s, timezone=timezone)
    store = _open_store()
    try:
        busy = _stand_aside(store, jobs.POLL, system_id, POLL_TIMEOUT_S)
        if busy is not None:
            return busy
        report = jobs.poll_feed(store, feed, call=task_call, flow_run_id=_flow_run_id())
    finally:
        store.close()
    return _result(report)


@flow(name="fleetcast-compact", timeout_seconds=COMPACT_TIMEOUT_S)
def compact_flow(every_minutes: float = 60.0) -> dict[str, Any]:
    """Compaction of every system's snapshot history (and pruning of old poll runs)."""
    late = _late_by(every_minutes * 60)
    if late is not None:
        get_run_logger().warning("compaction skipped: %.0f s late", late)
        return {"status": "skipped", "late_s": round(late)}
    store = _open_store()
    try:
        busy = _stand_aside(store, jobs.COMPACT, None, COMPACT_TIMEOUT_S)
        if busy is not None:
            return busy
        report = jobs.compact_snapshots(store, call=task_call, flow_run_id=_flow_run_id())
    finally:
        store.close()
    return _result(report)


@dataclass(frozen=True, slots=True)
class Planned:
    """One schedule ``fleetcast run`` serves: a deployment name, its flow and when it runs."""

    name: str
    flow: Any
    parameters: dict[str, Any]
    schedule: Schedule
    when: str

    def run_now(self) -> Any:
        """Run the flow once, now, in this process (its state, not raising on failure)."""
        return self.flow(**self.parameters, return_state=True)

    def to_deployment(self) -> Any:
        """The Prefect deployment ``serve`` runs (module entry point: importable anywhere
        fleetcast is installed)."""
        return self.flow.to_deployment(
            name=self.name,
            schedule=self.schedule,
            parameters=self.parameters,
            paused=False,
            tags=["fleetcast"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )


def planned(
    store: Store,
    config: jobs.ScheduleConfig,
    *,
    daily_every_s: float | None = None,
    poll_every_s: float | None = None,
) -> list[Planned]:
    """Every schedule of the store's pipelines: a poll per feed, a daily cycle per system,
    the compaction (the order ``--now`` runs them in). ``daily_every_s`` and
    ``poll_every_s`` shorten them (to watch it work)."""
    out: list[Planned] = []
    for feed in jobs.scheduled_feeds(store, config):
        every = poll_every_s or feed.every_s
        out.append(
            Planned(
                f"poll-{feed.system_id}",
                poll_flow,
                {
                    "system_id": feed.system_id,
                    "url": feed.url,
                    "every_s": every,
                    "timezone": feed.timezone,
                },
                Interval(timedelta(seconds=every)),
                f"every {every:g} s",
            )
        )
    at = config.daily_time
    for system_id, timezone in jobs.scheduled_systems(store, config):
        if daily_every_s:
            schedule, when = (
                Interval(timedelta(seconds=daily_every_s)),
                f"every {daily_every_s:g} s",
            )
        else:
            schedule = Cron(f"{at.minute} {at.hour} * * *", timezone=timezone)
            when = f"daily at {config.daily_at} {timezone}"
        out.append(
            Planned(f"daily-{system_id}", daily_flow, {"system_id": system_id}, schedule, when)
        )
    minutes = config.compact_every_minutes
    out.append(
        Planned(
            "compact",
            compact_flow,
            {"every_minutes": minutes},
            Interval(timedelta(minutes=minutes)),
            f"every {minutes:g} min",
        )
    )
    return out


def serve_planned(plans: list[Planned]) -> None:
    """Serve every schedule from this process until Ctrl-C (Prefect ``serve``, which
    returns on Ctrl-C or SIGTERM)."""
    from prefect import serve

    quiet = _QuietShutdown()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addFilter(quiet)
    try:
        serve(*[p.to_deployment() for p in plans], print_starting_message=False)
    finally:
        asyncio_log.removeFilter(quiet)


def clear_stale_runs(
    plans: list[Planned], *, crash_unfinished: bool, replay_missed_daily: bool = True
) -> int:
    """Tidy what a stopped scheduler left on the Prefect server for these schedules, before
    serving them again: scheduled runs whose time passed while it was down are deleted
    (with ``replay_missed_daily`` the newest missed daily cycle is kept, so it runs once
    now) and, with ``crash_unfinished`` (the server is ours, so nothing else runs them),
    runs left pending or running are marked crashed. Returns the runs tidied."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    now = datetime.now(UTC)
    unfinished = [StateType.PENDING, StateType.RUNNING] if crash_unfinished else []
    tidied = 0
    with get_client(sync_client=True) as client:
        for plan in plans:
            try:
                deployment = client.read_deployment_by_name(f"{plan.flow.name}/{plan.name}")
            except ObjectNotFound:
                continue
            runs = _runs_of(client, deployment.id, [StateType.SCHEDULED, *unfinished])
            missed = [
                r
                for r in runs
                if r.state_type == StateType.SCHEDULED
                and r.expected_start_time is not None
                and r.expected_start_time < now
            ]
            if plan.flow is daily_flow and replay_missed_daily:
                missed = missed[:-1]
            for run in missed:
                client.delete_flow_run(run.id)
            left = [r for r in runs if r.state_type in unfinished]
            for run in left:
                message = "fleetcast run stopped while this run was under way"
                client.set_flow_run_state(run.id, Crashed(message=message), force=True)
            tidied += len(missed) + len(left)
    return tidied


_PAGE: Final = 200
"""The most flow runs the Prefect API returns per request."""


def _runs_of(client: Any, deployment_id: Any, states: list[Any]) -> list[Any]:
    """Every flow run of a deployment in one of ``states``, oldest expected start first
    (sort, limit and offset given: the bundled server rejects them as null)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    wanted = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)),
    )
    runs: list[Any] = []
    while True:
        page = client.read_flow_runs(
            flow_run_filter=wanted,
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=_PAGE,
            offset=len(runs),
        )
        runs += page
        if len(page) < _PAGE:
            return runs


class _QuietShutdown(logging.Filter):
    """Drop asyncio's tracebacks of callbacks cancelled by Ctrl-C (Prefect's runner control
    channel logs one per open connection as it shuts down); other asyncio errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, KeyboardInterrupt | asyncio.CancelledError)


def deploy_planned(plans: list[Planned], work_pool: str) -> list[str]:
    """Register every schedule on the Prefect server at PREFECT_API_URL for ``work_pool``
    (its workers import the flows from the installed package: no image, no code upload);
    returns the deployment ids."""
    if not PREFECT_API_URL.value():
        raise FleetcastError(
            "--deploy-to needs PREFECT_API_URL: the Prefect server whose work pool runs the "
            "flows (e.g. http://prefect.internal:4200/api)"
        )
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise FleetcastError(
                f"no work pool {work_pool!r} on {PREFECT_API_URL.value()}: create it first "
                f"(prefect work-pool create {work_pool} --type process)"
            ) from None
    ids = [p.to_deployment().apply(work_pool_name=work_pool) for p in plans]
    return [str(i) for i in ids]


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


@contextmanager
def prefect_server(home: Path, *, port: int = 4200, timeout_s: float = 120) -> Iterator[str]:
    """The Prefect API to serve against: ``PREFECT_API_URL`` when set, else a local Prefect
    server (SQLite in PREFECT_HOME, scheduler and UI) started here and stopped on exit.

    The server runs in its own session so a Ctrl-C reaches the runner and the flow runs
    first and the server is stopped last, once they have recorded how they ended.
    """
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    prefect_home = Path(os.environ["PREFECT_HOME"])
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = home / "prefect-server.log"
    port = _free_port(port)
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_UI_API_URL": url}
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for(server, url, log_path, timeout_s)
        os.environ["PREFECT_API_URL"] = url
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(server)


def _wait_for(server: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise FleetcastError(
                f"the local Prefect server exited with code {server.returncode}: see "
                f"{log_path}, or set PREFECT_API_URL to a running Prefect server"
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    _stop(server)
    raise FleetcastError(
        f"the local Prefect server did not answer within {timeout_s:g} s: see {log_path}"
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
