"""Supply-history benchmark: time-weighted empty / full shares per station, local weekday and
hour, over 1 million station-status snapshots, fleetcast (lazy Polars) beside a
straightforward pandas implementation of the same computation, on the same rows.

The rows replay the real Bay Wheels hourly snapshots of 12-19 July 2023
(../shared/data/bikeshare, 169 hourly snapshots x ~517 stations, joined to
../shared/data/gbfs/baywheels_sf/station_information.json for zones): the file minus its
last snapshot is exactly one week (168 snapshots); copy ``c`` of that week is shifted by
``c`` weeks, so the same stations get a continuous hourly history of as many weeks as
needed, and the first ``rows`` rows in time are kept. Both implementations must give the
same shares (max abs diff < 1e-9), or the script fails.

    python benchmarks/supply_history.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from rich.console import Console
from rich.table import Table

from fleetcast.analytics.availability import availability_history

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SNAPSHOTS = DATA / "bikeshare" / "baywheels_station_status_hourly_2023-07-12_2023-07-19.csv"
STATIONS = DATA / "gbfs" / "baywheels_sf" / "station_information.json"
TZ = "America/Los_Angeles"
MAX_GAP = timedelta(hours=2)
TARGET_S = 5.0
console = Console(width=120)


def load_week() -> tuple[pl.DataFrame, pl.DataFrame]:
    """One week of real hourly snapshots (STATION_STATUS columns) and the stations."""
    if not SNAPSHOTS.exists() or not STATIONS.exists():
        raise SystemExit(f"the benchmark replays {SNAPSHOTS} and {STATIONS}: both are absent")
    raw = pl.read_csv(SNAPSHOTS)
    snaps = raw.select(
        pl.col("station_id"),
        pl.col("snapshot_time_utc")
        .str.to_datetime(time_zone="UTC", time_unit="us")
        .alias("observed_at"),
        pl.col("num_bikes_available").cast(pl.Int32).alias("bikes_available"),
        pl.col("num_bikes_disabled").cast(pl.Int32).alias("bikes_disabled"),
        pl.col("num_docks_available").cast(pl.Int32).alias("docks_available"),
        pl.col("num_docks_disabled").cast(pl.Int32).alias("docks_disabled"),
        (pl.col("is_installed") == 1).alias("is_installed"),
    )
    snaps = snaps.filter(pl.col("observed_at") < pl.col("observed_at").max())
    doc = json.loads(STATIONS.read_text(encoding="utf-8"))["data"]["stations"]
    stations = pl.DataFrame(
        [
            {
                "station_id": s["station_id"],
                "zone_id": s.get("region_id"),
                "capacity": s["capacity"],
            }
            for s in doc
        ],
        schema={"station_id": pl.String, "zone_id": pl.String, "capacity": pl.Int64},
    )
    return snaps, stations


def replay(week: pl.DataFrame, rows: int) -> pl.DataFrame:
    """``rows`` snapshots: the week repeated, copy c shifted by c weeks, earliest first."""
    copies = math.ceil(rows / week.height)
    tiled = pl.concat(
        week.with_columns(pl.col("observed_at") + pl.duration(weeks=c)) for c in range(copies)
    )
    return tiled.sort("observed_at", "station_id").head(rows)


def pandas_history(
    snaps: pd.DataFrame, stations: pd.DataFrame, *, timezone: str, max_gap: timedelta
) -> pd.DataFrame:
    """The baseline: the same time-weighted shares per station, weekday and hour in pandas."""
    hour = np.timedelta64(3600, "s")
    df = snaps.sort_values(["station_id", "observed_at", "bikes_available", "docks_available"])
    df = df.assign(t=df["observed_at"].dt.tz_convert("UTC").dt.tz_localize(None))
    nxt = df.groupby("station_id", sort=False)["t"].shift(-1)
    until = nxt.where(nxt < df["t"] + max_gap, df["t"] + max_gap)
    keep = nxt.notna() & df["is_installed"] & df["bikes_available"].notna()
    df = df.loc[keep].assign(until=until[keep])
    df = df.loc[df["until"] > df["t"]]
    t = df["t"].to_numpy()
    local = df["observed_at"].dt.tz_convert(timezone).dt.tz_localize(None).to_numpy()
    floor = t - (local - np.datetime64(0, "us")) % hour
    count = np.ceil((df["until"].to_numpy() - floor) / hour).astype(np.int64)
    rep = df.loc[df.index.repeat(count)]
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    bound = np.repeat(floor, count) + k * hour
    piece_start = np.maximum(rep["t"].to_numpy(), bound)
    piece_end = np.minimum(rep["until"].to_numpy(), bound + hour)
    local_start = pd.DatetimeIndex(piece_start).tz_localize("UTC").tz_convert(timezone)
    pieces = pd.DataFrame(
        {
            "station_id": rep["station_id"].to_numpy(),
            "weekday": local_start.weekday + 1,
            "hour": local_start.hour,
            "seconds": (piece_end - piece_start) / np.timedelta64(1, "s"),
            "empty": rep["bikes_available"].to_numpy() <= 0,
            "full": (rep["docks_available"].to_numpy() <= 0)
            & (rep["bikes_available"].to_numpy() > 0),
        }
    )
    pieces["empty_s"] = pieces["seconds"] * pieces["empty"]
    pieces["full_s"] = pieces["seconds"] * pieces["full"]
    out = (
        pieces.groupby(["station_id", "weekday", "hour"], as_index=False)[
            ["seconds", "empty_s", "full_s"]
        ]
        .sum()
        .rename(columns={"seconds": "observed_s"})
    )
    out["share_empty"] = out["empty_s"] / out["observed_s"]
    out["share_full"] = out["full_s"] / out["observed_s"]
    return out.merge(stations, on="station_id", how="left")


def _median_seconds(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(rows: int, repeat: int = 3) -> list[dict[str, Any]]:
    """Time both implementations on ``rows`` replayed snapshots; one table row each.

    Raises AssertionError when their shares differ by more than 1e-9.
    """
    week, stations = load_week()
    snaps = replay(week, rows)
    snaps_pd = snaps.to_pandas()
    stations_pd = stations.to_pandas()
    fc_s, fc = _median_seconds(
        repeat,
        lambda: (
            availability_history(
                snaps.lazy(), timezone=TZ, stations=stations, max_gap=MAX_GAP
            ).stations
        ),
    )
    pd_s, base = _median_seconds(
        repeat,
        lambda: pandas_history(snaps_pd, stations_pd, timezone=TZ, max_gap=MAX_GAP),
    )
    keys = ["station_id", "weekday", "hour"]
    joined = fc.join(
        pl.from_pandas(base).with_columns(pl.col("weekday", "hour").cast(pl.Int8)),
        on=keys,
        how="full",
        suffix="_pd",
    )
    diff = max(
        float(joined.select((pl.col(c) - pl.col(f"{c}_pd")).abs().max()).item() or 0.0)
        for c in ("share_empty", "share_full", "observed_s")
    )
    unmatched = joined.filter(pl.col("station_id").is_null() | pl.col("station_id_pd").is_null())
    if unmatched.height or diff > 1e-9:
        raise AssertionError(
            f"implementations differ: {unmatched.height} unmatched, max diff {diff}"
        )
    return [
        {
            "implementation": name,
            "rows": snaps.height,
            "seconds": seconds,
            "rows_per_s": snaps.height / seconds,
            "max_abs_diff": diff,
            "groups": fc.height,
        }
        for name, seconds in (("fleetcast (Polars, lazy)", fc_s), ("pandas baseline", pd_s))
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 1 when fleetcast misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = run(args.rows, args.repeat)
    table = Table(
        title=(
            f"availability_history: {rows[0]['rows']:,} Bay Wheels snapshots replayed, "
            f"{rows[0]['groups']:,} station x weekday x hour groups, median of {args.repeat} "
            f"({os.cpu_count()} CPUs, Polars {pl.thread_pool_size()} threads)"
        )
    )
    for column in ("implementation", "rows", "seconds", "rows/s", "max |share diff|"):
        table.add_column(column, justify="left" if column == "implementation" else "right")
    for r in rows:
        table.add_row(
            r["implementation"],
            f"{r['rows']:,}",
            f"{r['seconds']:.2f}",
            f"{r['rows_per_s']:,.0f}",
            f"{r['max_abs_diff']:.1e}",
        )
    console.print(table)
    ok = rows[0]["seconds"] < TARGET_S
    console.print(f"target: fleetcast under {TARGET_S:.0f} s -> {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
