"""`fleetcast ingest gbfs` and `fleetcast poll gbfs`: live availability feeds."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.markup import escape
from rich.table import Table

from fleetcast.cli._common import (
    SystemOption,
    console,
    err,
    fail,
    open_store,
    prog,
    run_with_progress,
    settings,
)

if TYPE_CHECKING:
    from fleetcast.jobs.supply import CycleReport, GbfsReport, PollReport

poll_app = typer.Typer(
    help="Poll live feeds on a schedule and keep the newest state.", no_args_is_help=True
)

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|m|min|h)?\s*$", re.IGNORECASE)
_UNIT_S: Final = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str, option: str = "--every") -> float:
    """Seconds in a duration such as ``60s``, ``5m``, ``1.5h`` or ``90`` (seconds)."""
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNIT_S[(match.group(2) or "s").lower()] if match else 0.0
    if not seconds > 0:
        raise fail(f"{option} {text!r} is not a duration: use e.g. 30s, 5m or 1h", code=2)
    return seconds


def register(ingest: typer.Typer) -> None:
    """Add the feed commands to `fleetcast ingest`."""
    ingest.command("gbfs")(ingest_gbfs)


def _check_system(system: str) -> None:
    """Refuse an unusable --system before anything is read (exit 2)."""
    from fleetcast.store.lake import check_system_id

    try:
        check_system_id(system)
    except ValueError as exc:
        raise fail(f"--system: {exc}", code=2) from exc


def ingest_gbfs(
    url_or_dir: Annotated[
        str,
        typer.Argument(
            help="A system's gbfs.json URL, or a folder of saved GBFS files (with or without "
            "gbfs.json).",
            show_default=False,
        ),
    ],
    system: SystemOption,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA timezone of a new system when the feed has no system_information, "
            "e.g. Europe/Paris."
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Preferred language of the feeds and names (default en, else first)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Load a GBFS feed (1.x, 2.x or 3.0) once: stations, their status and the fleet.

    Stations and the newest status per station, and the whole free-floating fleet, go to
    the db; the status snapshot goes to the lake. Deviations from the spec that can be read
    are read and listed as warnings; impossible records (negative counts, coordinates
    outside the world, report times more than a day ahead) are quarantined with their
    reasons. A feed that cannot be read as a whole exits 1 and changes nothing.
    """
    from fleetcast.jobs.supply import ingest_gbfs as job

    _check_system(system)
    store = open_store()
    report = run_with_progress(
        lambda stages: job(
            store,
            url_or_dir,
            system_id=system,
            timezone=timezone,
            language=language,
            progress=stages,
        )
    )
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        return
    _print_ingest(report)


def _print_ingest(report: GbfsReport) -> None:
    """The ingest summary, the feeds, the warnings and the quarantine reasons."""
    summary = Table(
        title=f"GBFS ingest {report.status}: {escape(report.location)}",
        show_header=False,
        title_justify="left",
    )
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    created = " (created)" if report.system_created else ""
    summary.add_row("system", f"{report.system_id}{created}")
    summary.add_row("GBFS version", report.version or "1.0 (not stated)")
    if report.language:
        summary.add_row("language", report.language)
    summary.add_row("stations", f"{report.stations:,}")
    summary.add_row("station statuses", f"{report.station_statuses:,}")
    summary.add_row("vehicles (whole fleet)", f"{report.vehicles:,}")
    summary.add_row("records quarantined", f"{report.rows_rejected:,}")
    summary.add_row("seconds", f"{report.seconds:.2f}")
    console.print(summary)
    feeds = Table(title="Feeds", title_justify="left")
    for column in ("feed", "published (UTC)", "ttl s", "read", "accepted", "quarantined", "new"):
        feeds.add_column(
            column, justify="left" if column in ("feed", "published (UTC)") else "right"
        )
    for feed in report.feeds:
        data = feed.ingest_id is not None
        feeds.add_row(
            feed.name,
            f"{feed.last_updated:%Y-%m-%d %H:%M:%S}" if feed.last_updated else "-",
            "-" if feed.ttl_s is None else str(feed.ttl_s),
            f"{feed.rows_read:,}" if data else "",
            f"{feed.rows_accepted:,}" if data else "",
            f"{feed.rows_rejected:,}" if data else "",
            f"{feed.rows_new:,}" if data else "",
        )
    console.print(feeds)
    warnings = [*report.warnings, *(f"{f.name}: {w}" for f in report.feeds for w in f.warnings)]
    if warnings:
        console.print("[bold yellow]Read despite deviations from the GBFS spec:[/]")
        for warning in warnings:
            console.print(f"  • {escape(warning)}")
    if report.reasons:
        reasons = Table(title="Quarantined records by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("records with this reason", justify="right")
        for reason, n in list(report.reasons.items())[:15]:
            reasons.add_row(escape(reason), f"{n:,}")
        console.print(reasons)
        console.print(
            f"Quarantined records are kept with their reasons in "
            f"[bold]{settings().lake_url}/quarantine/system_id={report.system_id}/[/]."
        )
    me = prog()
    console.print(
        f"Next: [bold]{me} status[/]  ·  [bold]{me} poll gbfs {escape(report.location)} "
        f"--system {report.system_id} --every 60s[/]"
    )


@poll_app.command("gbfs")
def poll_gbfs(
    url: Annotated[
        str,
        typer.Argument(
            help="A system's gbfs.json URL (or a folder of saved files, to replay).",
            show_default=False,
        ),
    ],
    system: SystemOption,
    every: Annotated[
        str,
        typer.Option(
            help="Longest wait between two reads of a feed (30s, 5m, 1h); a feed is read "
            "at its ttl when that is shorter."
        ),
    ] = "60s",
    max_polls: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many polls (default: run until Ctrl-C)."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA timezone of a new system when the feed has no system_information."),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Preferred language of the feeds and names (default en, else first)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final summary as JSON (polls go to stderr).")
    ] = False,
) -> None:
    """Poll a GBFS feed: keep the newest stations and fleet in the db, every new snapshot in
    the lake.

    Each feed is read no faster than its ttl and no slower than --every. Timeouts, server
    errors, broken JSON and stale feeds (last_updated not advancing) are shown, recorded in
    the feed's state (fleetcast status) and retried with exponential backoff; the last good
    state stays in the db. Stop with Ctrl-C.
    """
    from fleetcast.errors import FleetcastError
    from fleetcast.jobs.supply import poll_gbfs as job

    _check_system(system)
    every_s = parse_duration(every)
    out = err if as_json else console
    stop = threading.Event()
    store = open_store()
    out.print(
        f"Polling {escape(url)} into system [bold]{system}[/] (at most every {every}); "
        "Ctrl-C stops."
    )
    try:
        with _stop_on_interrupt(stop):
            report = job(
                store,
                url,
                system_id=system,
                every=every_s,
                max_polls=max_polls,
                timezone=timezone,
                language=language,
                stop=stop,
                on_cycle=lambda cycle: out.print(_cycle_line(cycle)),
            )
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        return
    _print_poll(report)


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C sets ``stop`` (the poller finishes its poll and returns) instead of raising."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cycle_line(cycle: CycleReport) -> str:
    """One line per poll: what was stored, unchanged, stale or failing, and the next poll."""
    parts = []
    for feed in cycle.stored:
        if feed.ingest_id is None:
            parts.append(f"{feed.name} read")
            continue
        quarantined = f", {feed.rows_rejected:,} quarantined" if feed.rows_rejected else ""
        parts.append(f"[green]{feed.name}[/] {feed.rows_accepted:,} stored{quarantined}")
    if cycle.unchanged:
        parts.append("unchanged: " + ", ".join(cycle.unchanged))
    if cycle.stale:
        parts.append("[yellow]stale[/]: " + ", ".join(cycle.stale))
    for name, error in cycle.failed.items():
        parts.append(f"[red]{name} failed[/]: {escape(error)}")
    wait = ""
    if cycle.next_at is not None:
        wait = f"  (next in {max((cycle.next_at - cycle.at).total_seconds(), 0):.0f}s)"
    return f"{cycle.at:%H:%M:%S} " + ("; ".join(parts) or "nothing due") + wait


def _print_poll(report: PollReport) -> None:
    """The poller's totals and the state of each feed when it stopped."""
    console.print(
        f"{report.polls:,} polls, {report.snapshots:,} snapshots stored, "
        f"{report.failures:,} failed reads, {report.stale_polls:,} stale reads "
        f"in {report.seconds:.0f}s."
    )
    table = Table(title=f"Feeds of {report.system_id}", title_justify="left")
    for column in ("feed", "status", "published (UTC)", "ttl s", "failures", "last error"):
        table.add_column(column, justify="right" if column in ("ttl s", "failures") else "left")
    for feed in report.feeds:
        style = {"ok": "green", "stale": "yellow"}.get(feed.status, "red")
        table.add_row(
            feed.kind,
            f"[{style}]{feed.status}[/]",
            f"{feed.last_updated:%Y-%m-%d %H:%M:%S}" if feed.last_updated else "-",
            "-" if feed.ttl_s is None else str(feed.ttl_s),
            str(feed.failures),
            escape(feed.last_error or ""),
        )
    console.print(table)
