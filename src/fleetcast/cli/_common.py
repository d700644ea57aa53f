"""What every command shares: consoles, settings, the store, errors, progress, output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fleetcast.config import Settings, load_settings
from fleetcast.errors import FleetcastError

T = TypeVar("T")

SystemOption = Annotated[str, typer.Option(help="System id to load into (created if new).")]
"""``--system`` of every command that loads into a system, creating it on first use."""
NameOption = Annotated[str | None, typer.Option(help="Display name of a new system.")]
"""``--name`` of the commands that can create a system."""
CountryOption = Annotated[str | None, typer.Option(help="Country code of a new system.")]
"""``--country`` of the commands that can create a system."""

console = Console()
err = Console(stderr=True)


class _State:
    settings: Settings | None = None


state = _State()


def settings() -> Settings:
    """Settings from the main options, or from the environment when run without them."""
    if state.settings is None:
        state.settings = load_settings()
    return state.settings


def open_store() -> Any:
    """The store the settings point to (opened lazily, migrated on first use)."""
    from fleetcast.store import Store

    return Store(settings())


def run_with_progress(
    job: Callable[[RichStages], T],
    *,
    errors: tuple[type[BaseException], ...] = (FleetcastError,),
) -> T:
    """Run ``job`` with Rich stage progress; an expected error becomes a clean exit 1."""
    with progress_bar() as bar:
        stages = RichStages(bar)
        try:
            result = job(stages)
        except errors as exc:
            stages.close()
            raise fail(str(exc)) from exc
        stages.close()
    return result


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error (verbatim, not as markup) and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


class RichStages:
    """Shows each stage of a job as a Rich progress line with a spinner and elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: Any = None

    def stage(self, description: str, total: float | None = None) -> None:
        """Close the running stage and start the next one."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total or 1, total=task.total or 1)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: float = 1.0) -> None:
        """Move the running stage on."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def close(self) -> None:
        """Mark the last stage done."""
        self.stage("done", total=1)
        self._progress.update(self._task, visible=False)


def counts_table(report: Any, *, title: str) -> Table:
    """A two-column summary table of an ingest ``report`` with the rows every ingest report
    shares (system, rows read, accepted, rejected); callers add their own rows after.

    One place for these rows so every ingest command words its counts the same way.
    """
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("system", report.system_id)
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("accepted", f"{report.rows_accepted:,}")
    table.add_row("rejected (quarantined)", f"{report.rows_rejected:,}")
    return table


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not _progress_forced(),
    )


def _progress_forced() -> bool:
    return os.environ.get("FLEETCAST_PROGRESS", "") == "1"


def prog() -> str:
    """How the user called us, so printed next steps can be pasted as they are."""
    argv0 = sys.argv[0] if sys.argv else "fleetcast"
    if Path(argv0).name != "fleetcast":
        return "fleetcast"
    relative = os.path.relpath(argv0)
    return relative if not relative.startswith("..") and os.sep in relative else "fleetcast"


def parse_day(value: str | None, option: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not a date: use YYYY-MM-DD", code=2) from exc


class OutputFormat(StrEnum):
    """How tabular output is written."""

    table = "table"
    csv = "csv"
    json = "json"


def write_frame(frame: pl.DataFrame, output: OutputFormat) -> None:
    if output is OutputFormat.csv:
        sys.stdout.write(frame.write_csv())
    elif output is OutputFormat.json:
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
    else:
        table = Table()
        for column in frame.columns:
            table.add_column(
                column, justify="right" if frame[column].dtype.is_numeric() else "left"
            )
        shown = frame.head(200)
        for row in shown.iter_rows():
            table.add_row(*[str(v) for v in row])
        console.print(table)
        if frame.height > shown.height:
            console.print(f"… {frame.height - shown.height:,} more rows (use --format csv)")
