"""Drift benchmark: what the data drift check adds to `fleetcast monitor` on the demo city.

Builds the demo city (default 730 days, 90 zones) in a temporary folder, then times, in one
process: importing Evidently (paid once per process), building the compared frame, Evidently's
comparison, rendering the HTML report, and whole monitor runs with and without the drift check
(the difference is the check's share of the run, reading demand and weather included). Prints
one table with the windows, rows and verdicts beside the times.

    python benchmarks/drift.py [--days 730] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.jobs import build_demo
from fleetcast.jobs.monitor import run_monitor
from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.drift import DriftConfig, DriftResult, check_drift, drift_frame
from fleetcast.store import Store, records


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), out


def main() -> None:
    """Build the demo, time each part of the drift check and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730, help="days of demo history")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(load_settings(home=Path(tmp) / "home", env={}))
        console.print(f"building the demo city ({args.days} days) ...")
        build_demo(store, seed=7, days=args.days)
        with store.connect() as conn:
            demand = records.load_demand(conn, "demo")
        weather = store.lake.read(Dataset.WEATHER_DAILY, system_id="demo").filter(
            pl.col("kind") == "observed"
        )
        began = time.perf_counter()
        import evidently.presets  # noqa: F401  (the import a monitor process pays once)

        import_s = time.perf_counter() - began
        frame_s, frame = timed(lambda: drift_frame(demand, weather), args.repeat)
        check_s, result = timed(lambda: check_drift(demand, weather), args.repeat)
        assert isinstance(result, DriftResult)
        out = Path(tmp) / "report.html"
        html_s, _ = timed(lambda: result.save_html(out), args.repeat)
        report_mb = out.stat().st_size / 1e6
        with_s, _ = timed(lambda: run_monitor(store, "demo"), args.repeat)
        off = MonitorConfig(drift=DriftConfig(enabled=False))
        without_s, _ = timed(lambda: run_monitor(store, "demo", config=off), args.repeat)
        store.close()
    w = result.windows
    table = Table(title=f"Drift check on the demo city ({args.days} days)", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("what", justify="left")
    table.add_row("import evidently", f"{import_s:.2f}", "once per process")
    table.add_row(
        "compared frame", f"{frame_s:.2f}", f"{frame.height:,} zone-days x {frame.width} columns"
    )
    table.add_row(
        "Evidently comparison",
        f"{check_s:.2f}",
        f"{result.reference_rows:,} reference ({w.reference_start}..{w.reference_end}) vs "
        f"{result.current_rows:,} recent ({w.current_start}..{w.current_end}) rows, "
        f"{result.columns.height} columns",
    )
    table.add_row("HTML report", f"{html_s:.2f}", f"{report_mb:.1f} MB")
    table.add_row("monitor run, drift on", f"{with_s:.2f}", "accuracy, drift, sources, stored")
    table.add_row("monitor run, drift off", f"{without_s:.2f}", "")
    table.add_row(
        "drift's share of a run",
        f"{with_s - without_s:.2f}",
        f"{(with_s - without_s) / with_s:.0%}",
    )
    console.print(table)
    console.print(
        f"verdict: {len(result.drifted_inputs)} of {result.inputs.height} inputs drifted "
        f"({result.drift_share:.0%}), target {'drifted' if result.target_drifted else 'stable'}"
    )


if __name__ == "__main__":
    main()
