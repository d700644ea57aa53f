"""`fleetcast demo`, `status` and `demand`: build the demo city and look at the store."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fleetcast.cli._common import (
    OutputFormat,
    RichStages,
    console,
    fail,
    open_store,
    parse_day,
    prog,
    run_with_progress,
    settings,
    write_frame,
)
from fleetcast.errors import FleetcastError

DEMO_ROUTING_SECONDS = 10.0
"""The demo routes its trucks for 10 s; `fleetcast plan` defaults to 30 s."""


def demo(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same city.")] = 7,
    days: Annotated[int, typer.Option(min=28, max=3650, help="Days of history to generate.")] = 730,
    forecasting: Annotated[
        bool,
        typer.Option(
            "--forecast/--no-forecast",
            help="Also train the champion, backtest the models, forecast the next 3 days "
            "and plan the first of them.",
        ),
    ] = True,
    weeks: Annotated[
        int, typer.Option(min=1, max=52, help="Backtest weeks (fleetcast backtest defaults to 8).")
    ] = 4,
) -> None:
    """Build the demo city (zones, 2 years of trips, weather, fleet) and run every job on it:
    daily demand, then training, backtests, a 3-day forecast and today's rebalancing plan.

    Replaces an earlier demo system; other systems in the store are left alone.
    """
    from fleetcast import jobs

    store = open_store()

    def run(stages: RichStages) -> tuple[Any, Any, Any, Any, Any]:
        built = jobs.build_demo(store, seed=seed, days=days, progress=stages)
        if not forecasting:
            return built, None, None, None, None
        from fleetcast.jobs import forecast as fc
        from fleetcast.jobs.plan import config_for, make_plan

        trained = fc.train(store, built.system_id, weeks=weeks, progress=stages)
        tested = fc.backtest(store, built.system_id, weeks=weeks, progress=stages)
        issued = fc.forecast(store, built.system_id, progress=stages)
        config = config_for(store.settings, built.system_id).with_overrides(
            time_limit_s=DEMO_ROUTING_SECONDS
        )
        planned = make_plan(store, built.system_id, config=config, progress=stages)
        return built, trained, tested, issued, planned

    report, trained, tested, issued, planned = run_with_progress(run)
    where = settings()
    table = Table(title="Demo city built", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in (
        ("system", report.system_id),
        ("zones", f"{report.zones:,}"),
        ("trips", f"{report.trips:,}"),
        ("days", f"{report.first_day} .. {report.last_day} ({report.days})"),
        ("daily demand rows", f"{report.demand_rows:,}"),
        ("vehicles (current snapshot)", f"{report.vehicles:,}"),
        ("parkings", f"{report.parkings:,}"),
        ("depots", f"{report.depots:,}"),
        ("field workers", f"{report.workers:,}"),
        ("seconds", f"{report.seconds:.1f}"),
    ):
        table.add_row(label, value)
    if trained is not None and tested is not None and issued is not None:
        table.add_row("champion", f"{trained.model} v{trained.version} ({trained.reason})")
        best = tested.summary().row(0, named=True)
        table.add_row("best backtest WAPE", f"{best['model']} {best['wape']:.1%}")
        table.add_row(
            "forecasts written",
            f"{issued.rows:,} (issued {issued.issued_on}, {issued.horizon} days)",
        )
    console.print(table)
    if tested is not None:
        from fleetcast.cli.forecast import _metrics_table

        console.print(
            _metrics_table(tested.summary(), title="Backtest, averaged over horizons 1-3")
        )
    if planned is not None:
        from fleetcast.cli.plan import _print_plan

        _print_plan(planned)
    console.print(f"Results: db [bold]{where.db_url}[/], lake [bold]{where.lake_url}[/]")
    if trained is not None:
        console.print(f"MLflow UI: [bold]{trained.ui_command}[/]")
    me = prog()
    console.print(
        f"Dashboard and API: [bold]{me} serve --with-dashboard[/] then open "
        "[bold]http://127.0.0.1:8501[/] (dashboard) and [bold]http://127.0.0.1:8000/docs[/] (API)"
    )
    console.print(
        f"Next: [bold]{me} status[/]  ·  [bold]{me} backtest --system demo[/]  ·  "
        f"[bold]{me} demand --system demo --start {report.last_day}[/]  ·  "
        f"[bold]{me} --help[/]"
    )


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Systems in the store with zones, trips, days covered, stations and vehicles now, the
    health of their live feeds, the last ingests and the scheduled pipelines' newest runs."""
    from fleetcast.jobs import store_status

    try:
        info = store_status(open_store())
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    console.print(f"db {info['store']['db']}  ·  lake {info['store']['lake']}")
    if not info["systems"]:
        console.print(
            "The store is empty. Try [bold]fleetcast demo[/] or "
            "[bold]fleetcast ingest chicago --file TRIPS.csv[/]."
        )
        _print_pipelines(info["pipelines"])
        return
    systems = Table(title="Systems", title_justify="left")
    columns = ("system", "zones", "trips", "first day", "last day", "days", "stations", "vehicles")
    for column in columns:
        systems.add_column(column, justify="left" if column == "system" else "right")
    for s in info["systems"]:
        systems.add_row(
            s["system_id"],
            f"{s['zones']:,}",
            f"{s['trips']:,}",
            str(s["first_day"] or "-"),
            str(s["last_day"] or "-"),
            f"{s['days']:,}",
            f"{s['stations']:,}",
            f"{s['vehicles']:,}",
        )
    console.print(systems)
    feeds = [(s["system_id"], f) for s in info["systems"] for f in s.get("feeds", [])]
    if feeds:
        table = Table(title="Live feeds", title_justify="left")
        for column in ("system", "feed", "status", "failures", "last success (UTC)", "last error"):
            table.add_column(column)
        for sid, feed in feeds:
            colour = {"ok": "green", "stale": "yellow"}.get(feed["status"], "red")
            table.add_row(
                sid,
                feed["kind"],
                f"[{colour}]{feed['status']}[/]",
                str(feed["failures"]),
                str(feed["last_success_at"] or "-")[:19],
                escape((feed["last_error"] or "")[:60]),
            )
        console.print(table)
    ingests = Table(title="Last ingests", title_justify="left")
    for column in ("when (UTC)", "system", "source", "status", "read", "accepted", "rejected"):
        ingests.add_column(column)
    for log in info["ingests"]:
        ingests.add_row(
            str(log["started_at"])[:19],
            log["system_id"],
            log["source"],
            log["status"],
            f"{log['rows_read']:,}",
            f"{log['rows_accepted']:,}",
            f"{log['rows_rejected']:,}",
        )
    console.print(ingests)
    _print_pipelines(info["pipelines"])


def _print_pipelines(pipelines: dict[str, Any]) -> None:
    """The newest run of each scheduled pipeline, then a red line per failing one (or one dim
    line when nothing has run yet), so a failed step is seen without reading logs."""
    if not pipelines["runs"]:
        console.print(f"[dim]No scheduled runs yet: [bold]{prog()} run[/] starts the pipelines.[/]")
        return
    failed = {f["run_id"]: f for f in pipelines["failing"]}
    table = Table(title="Scheduled pipelines (newest run)", title_justify="left")
    for column in ("flow", "system", "started (UTC)", "status", "seconds", "failed step"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for run in pipelines["runs"]:
        bad = failed.get(run["run_id"])
        status = bad["status"] if bad else run["status"]
        colour = {"ok": "green", "running": "cyan"}.get(status, "red")
        seconds = run.get("seconds")
        table.add_row(
            run["flow"],
            run["system_id"] or "-",
            str(run["started_at"] or "-")[:19].replace("T", " "),
            f"[{colour}]{status}[/]",
            "-" if seconds is None else f"{seconds:.1f}",
            escape(f"{bad['failed_step']}: {(bad['message'] or '')[:60]}") if bad else "",
        )
    console.print(table)
    for bad in pipelines["failing"]:
        where = f"{bad['flow']} {bad['system_id']}" if bad["system_id"] else bad["flow"]
        stopped = bad["status"] == "interrupted"
        colour, verdict = ("yellow", "interrupted") if stopped else ("red", "failing")
        console.print(
            f"[bold {colour}]Pipeline {escape(where)} {verdict}:[/] [{colour}]step "
            f"{bad['failed_step']} {bad['status']} in the run of "
            f"{str(bad['started_at'])[:19].replace('T', ' ')} UTC: "
            f"{escape(bad['message'] or 'no message')}[/]"
        )


def demand(
    system: Annotated[str, typer.Option(help="System id.")],
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD).")] = None,
    zone: Annotated[list[str] | None, typer.Option(help="Only these zone ids.")] = None,
    hourly: Annotated[bool, typer.Option(help="Hourly counts, recounted from the lake.")] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv or json.")
    ] = OutputFormat.table,
) -> None:
    """Trips per zone and local day (every zone on every day, zero-filled)."""
    from fleetcast.jobs.queries import demand_frame

    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    try:
        frame = demand_frame(open_store(), system, start=first, end=last, zones=zone, hourly=hourly)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    write_frame(frame, output)
