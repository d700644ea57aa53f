"""`fleetcast run`: every scheduled pipeline of the store, served from one process."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from fleetcast.cli._common import console, err, fail, open_store, settings
from fleetcast.errors import FleetcastError

ABANDONED = "the scheduler stopped while this ran (nothing of it was half-written)"
STOPPED = "[yellow]stopped[/]: runs under way were marked interrupted"


def run(
    now: Annotated[
        bool, typer.Option("--now", help="Run every pipeline once at start, then serve.")
    ] = False,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run every pipeline once and exit (for cron or a check)."),
    ] = False,
    daily_every: Annotated[
        float | None,
        typer.Option(
            help="Run the daily cycle every N seconds instead of daily (to watch it work).",
            min=30,
        ),
    ] = None,
    poll_every: Annotated[
        float | None,
        typer.Option(help="Poll the feeds every N seconds instead of their own period.", min=10),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port of the local Prefect server and its UI (when not taken).")
    ] = 4200,
    deploy_to: Annotated[
        str | None,
        typer.Option(
            help="Register the schedules for this Prefect work pool on PREFECT_API_URL and "
            "exit, instead of serving them here (start workers with `prefect worker start`).",
            metavar="POOL",
        ),
    ] = None,
) -> None:
    """Serve the scheduled pipelines until Ctrl-C: each feed polled every minute, snapshot
    history compacted hourly, and each system's daily cycle (ingest -> airport arrivals ->
    training on the weekly day -> forecast -> plan -> monitor) at `daily_at` (05:00) in its
    timezone.

    The schedule is the `[schedule]` table of fleetcast.toml; feeds default to each system's
    last ingested GBFS feed. Runs are Prefect flows: without `PREFECT_API_URL` a local Prefect
    server (and its UI) runs beside them for as long as this command does; with it, that
    server is used. Every run and step is recorded: `fleetcast status`, `/health` and the
    dashboard show failures. Ctrl-C stops the runs under way and marks them interrupted;
    their jobs write in one transaction, so nothing is left half-written.
    """
    config_settings = settings()
    _export_store_location(config_settings)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    from fleetcast import flows
    from fleetcast.jobs import pipeline as jobs

    store = open_store()
    try:
        schedule = jobs.schedule_for(config_settings)
        plans = flows.planned(store, schedule, daily_every_s=daily_every, poll_every_s=poll_every)
        closed = jobs.close_abandoned(store, why=ABANDONED)
    except FleetcastError as exc:
        store.close()
        raise fail(str(exc)) from exc
    if closed:
        err.print(f"[yellow]{closed} run row(s) left running by a stopped scheduler: interrupted")
    _print_plans(plans)
    if deploy_to:
        try:
            ids = flows.deploy_planned(plans, deploy_to)
        except FleetcastError as exc:
            raise fail(str(exc)) from exc
        finally:
            store.close()
        console.print(
            f"{len(ids)} deployment(s) registered for work pool [bold]{deploy_to}[/]; start a "
            f"worker where fleetcast and the FLEETCAST_* store settings are: "
            f"prefect worker start --pool {deploy_to}"
        )
        return
    failed = 0
    try:
        if once:
            failed = _run_each(plans)
        else:
            own_server = not os.environ.get("PREFECT_API_URL")
            with flows.prefect_server(config_settings.home, port=port) as url:
                ui = url.removesuffix("/api")
                console.print(f"Prefect UI: [bold]{ui}[/]  ·  Ctrl-C to stop")
                _tidy_stale_runs(flows, plans, own_server=own_server, replay=not now)
                if now:
                    _run_each(plans)
                console.print(f"serving {len(plans)} schedule(s)")
                flows.serve_planned(plans)
            err.print(STOPPED)
    except KeyboardInterrupt:
        err.print(STOPPED)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    finally:
        jobs.close_abandoned(store, why=ABANDONED)
        store.close()
    if failed:
        raise typer.Exit(1)


def _tidy_stale_runs(flows: Any, plans: list[Any], *, own_server: bool, replay: bool) -> None:
    """Clear what a stopped scheduler left on the Prefect server, saying so; a server that
    will not answer the clean-up is reported, not fatal (late polls skip themselves)."""
    try:
        tidied = flows.clear_stale_runs(
            plans, crash_unfinished=own_server, replay_missed_daily=replay
        )
    except httpx.HTTPError as exc:
        err.print(
            f"[yellow]could not tidy the runs a stopped scheduler left ({exc}); "
            "missed polls will be skipped as late[/]"
        )
        return
    if tidied:
        err.print(f"[yellow]{tidied} run(s) a stopped scheduler left were tidied[/]")


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """`docker stop` and systemd send SIGTERM: stop as on Ctrl-C."""
    raise KeyboardInterrupt


def _export_store_location(config_settings: Any) -> None:
    """Put the store's location in the environment, where each flow run (a process of its
    own under `serve`) finds it."""
    os.environ["FLEETCAST_HOME"] = str(config_settings.home)
    os.environ["FLEETCAST_DB_URL"] = config_settings.db_url
    os.environ["FLEETCAST_LAKE_URL"] = config_settings.lake_url
    if config_settings.config_file is not None:
        os.environ["FLEETCAST_CONFIG"] = str(config_settings.config_file.absolute())


def _print_plans(plans: list[Any]) -> None:
    table = Table(title="Schedules", title_justify="left")
    for column in ("pipeline", "when", "runs"):
        table.add_column(column)
    for plan in plans:
        target = plan.parameters.get("system_id") or "every system"
        table.add_row(plan.name, plan.when, f"{plan.flow.name} · {target}")
    console.print(table)
    if not any(p.name.startswith("daily-") for p in plans):
        console.print(
            "[dim]no system with daily demand yet: no daily cycle (fleetcast demo, or "
            "fleetcast ingest ...)[/]"
        )


def _run_each(plans: list[Any]) -> int:
    """Run every pipeline once now, polls first; print how each ended; count failures."""
    failed = 0
    for plan in plans:
        console.print(f"running [bold]{plan.name}[/] now ...")
        state = plan.run_now()
        result = state.result(raise_on_failure=False)
        if state.is_completed():
            steps = result.get("steps", {}) if isinstance(result, dict) else {}
            detail = ", ".join(f"{k} {v}" for k, v in steps.items()) or result.get("status")
            console.print(f"  [green]ok[/] {plan.name}: {detail}")
        else:
            failed += 1
            err.print(f"  [red]failed[/] {plan.name}: {result}")
    return failed
