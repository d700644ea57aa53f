"""Ingest benchmark: 1 million Chicago-schema trips from CSV into the lake and demand_daily.

Runs fleetcast's Polars pipeline and a straightforward pandas implementation of the same
steps side by side, on the same file, in one process, and prints a table of median times:

    read CSV -> parse local times to UTC -> validate (every rule fleetcast applies) ->
    assign zones to rows without a community area (point-in-polygon on distinct places,
    the same Zoning for both) -> write day-partitioned Parquet + quarantine -> zero-filled
    daily demand per zone -> store it in the db.

The input is generated in the portal's CSV layout over the real 77 community areas
(../shared/data/chicago), with 8% of rows lacking an area number and 0.5% broken rows.
Both pipelines must agree on accepted rows and on daily demand, or the script fails.

    python benchmarks/ingest.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from rich.console import Console
from rich.table import Table

from fleetcast.config import load_settings
from fleetcast.geo import Zoning
from fleetcast.jobs import chicago_system, ingest_chicago_file
from fleetcast.sources import chicago
from fleetcast.sources.chicago_sample import sample_trips
from fleetcast.store import Store, records

ROOT = Path(__file__).resolve().parents[1]
AREAS = ROOT.parent / "shared" / "data" / "chicago" / "chicago_community_areas.geojson"
TZ = "America/Chicago"
FMT = "%m/%d/%Y %I:%M:%S %p"
console = Console()


def make_input(path: Path, zoning: Zoning, rows: int, seed: int = 1) -> int:
    """Write ``rows`` portal-layout trips with 0.5% broken rows; return how many are broken."""
    frame = sample_trips(zoning, rows=rows, seed=seed)
    rng = np.random.default_rng(seed)
    broken = rng.choice(rows, size=rows // 200, replace=False)
    kinds = np.array_split(broken, 6)
    frame = frame.with_row_index("_i")

    def put(column: str, idx: np.ndarray, value: str | None) -> pl.Expr:
        return (
            pl.when(pl.col("_i").is_in(idx.tolist()))
            .then(pl.lit(value, pl.String))
            .otherwise(pl.col(column))
            .alias(column)
        )

    frame = frame.with_columns(
        put("Start Time", kinds[0], "not a time"),
        put("End Time", kinds[1], "01/01/2020 01:00:00 AM"),
        put("Trip Duration", kinds[2], "-60"),
        put("Trip Distance", kinds[3], "999999999"),
        put("Start Community Area Number", kinds[4], "99"),
    )
    dup_from = kinds[5]
    ids = frame["Trip ID"].to_numpy().copy()
    ids[dup_from] = ids[(dup_from + 1) % rows]
    frame = frame.with_columns(pl.Series("Trip ID", ids)).drop("_i")
    frame.write_csv(path)
    return int(broken.size)


def fleetcast_pipeline(path: Path, home: Path, zones: Path) -> tuple[int, pl.DataFrame]:
    """The real job: what `fleetcast ingest chicago --file` runs (store set up beforehand)."""
    set_up = time.perf_counter()
    store = Store(load_settings(home=home, env={}))
    chicago_system(store, zones=zones)
    began = time.perf_counter()
    report = ingest_chicago_file(store, path)
    elapsed = time.perf_counter() - began
    TIMES.setdefault("setup", []).append(began - set_up)
    with store.connect() as conn:
        demand = records.load_demand(conn, "chicago")
    store.close()
    TIMES.setdefault("fleetcast", []).append(elapsed)
    return report.rows_accepted, demand


def pandas_pipeline(path: Path, out: Path, zoning: Zoning) -> tuple[int, pl.DataFrame]:
    """The same steps written plainly with pandas (and the same Zoning for point-in-zone)."""
    began = time.perf_counter()
    text = dict.fromkeys(("Trip ID", "Start Time", "End Time", "Vendor"), "string")
    df = pd.read_csv(path, usecols=chicago.READ_COLUMNS, dtype=text, thousands=",")
    df["_row"] = np.arange(1, len(df) + 1)

    def local_to_utc(text: pd.Series) -> pd.Series:
        naive = pd.to_datetime(text, format=FMT, errors="coerce", cache=True)
        earliest = np.ones(len(naive), dtype=bool)
        local = naive.dt.tz_localize(TZ, ambiguous=earliest, nonexistent="shift_forward")
        return local.dt.tz_convert("UTC")

    def number(column: pd.Series) -> pd.Series:
        return pd.to_numeric(column, errors="coerce")

    started = local_to_utc(df["Start Time"])
    ended = local_to_utc(df["End Time"])
    duration = number(df["Trip Duration"])
    distance = number(df["Trip Distance"])
    slat, slon = number(df["Start Centroid Latitude"]), number(df["Start Centroid Longitude"])
    elat, elon = number(df["End Centroid Latitude"]), number(df["End Centroid Longitude"])
    start_area = number(df["Start Community Area Number"]).astype("Int64").astype("string")
    end_area = number(df["End Community Area Number"]).astype("Int64").astype("string")
    known = set(zoning.zone_ids)

    def locate(area: pd.Series, lat: pd.Series, lon: pd.Series) -> pd.Series:
        need = area.isna() & lat.notna() & lon.notna()
        places = pd.DataFrame({"lat": lat[need], "lon": lon[need]}).drop_duplicates()
        places["zone"] = zoning.locate(places["lat"].to_numpy(), places["lon"].to_numpy())
        found = pd.DataFrame({"lat": lat[need], "lon": lon[need]}).merge(
            places, on=["lat", "lon"], how="left"
        )
        area = area.copy()
        area[need] = found["zone"].to_numpy()
        return area

    start_zone = locate(start_area, slat, slon)
    end_zone = locate(end_area, elat, elon)
    reasons = {
        "missing trip id": df["Trip ID"].isna(),
        "unparseable start time": df["Start Time"].notna() & started.isna(),
        "missing start time": df["Start Time"].isna(),
        "unparseable end time": df["End Time"].notna() & ended.isna(),
        "missing end time": df["End Time"].isna(),
        "ends before it starts": ended < started,
        "absurd duration": (duration < 0) | (duration > 86400),
        "absurd distance": (distance < 0) | (distance > 100_000),
        "start coordinates outside the world": (slat.abs() > 90) | (slon.abs() > 180),
        "end coordinates outside the world": (elat.abs() > 90) | (elon.abs() > 180),
        "unknown start community area": start_area.notna() & ~start_area.isin(known),
        "unknown end community area": end_area.notna() & ~end_area.isin(known),
        "duplicate trip id in this input": df["Trip ID"].duplicated(keep="first"),
        "start outside every community area": start_zone.isna(),
    }
    bad = np.zeros(len(df), dtype=bool)
    for mask in reasons.values():
        bad |= mask.fillna(False).to_numpy(dtype=bool)
    rejected = df[bad].copy()
    where = np.flatnonzero(bad)
    flags = [np.where(m.fillna(False).to_numpy(bool)[where], r, "") for r, m in reasons.items()]
    rejected["reason"] = ["; ".join(filter(None, names)) for names in zip(*flags, strict=True)]
    good = pd.DataFrame(
        {
            "system_id": "chicago",
            "trip_id": df["Trip ID"],
            "started_at": started,
            "ended_at": ended,
            "start_zone": start_zone,
            "end_zone": end_zone,
            "start_lat": slat,
            "start_lon": slon,
            "end_lat": elat,
            "end_lon": elon,
            "distance_m": distance,
            "duration_s": duration,
            "provider": df["Vendor"],
        }
    )[~bad]
    good["date"] = good["started_at"].dt.tz_convert(TZ).dt.date
    for day, part in good.groupby("date"):
        folder = out / "trips" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".part-0.parquet.tmp"
        part.to_parquet(tmp, index=False, compression="zstd")
        tmp.replace(folder / "part-0.parquet")
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    rejected.to_parquet(out / "quarantine" / "part-0.parquet", index=False)
    counts = good.groupby(["start_zone", "date"]).size()
    days = pd.date_range(good["date"].min(), good["date"].max(), freq="D").date
    grid = pd.MultiIndex.from_product([sorted(known), days], names=["zone_id", "date"])
    demand = counts.reindex(grid, fill_value=0).rename("trips").reset_index()
    import sqlite3

    with sqlite3.connect(out / "demand.db") as conn:
        demand.assign(system_id="chicago", date=demand["date"].astype(str)).to_sql(
            "demand_daily", conn, if_exists="replace", index=False
        )
    TIMES.setdefault("pandas", []).append(time.perf_counter() - began)
    result = pl.from_pandas(demand).with_columns(pl.col("trips").cast(pl.Int64))
    return len(good), result


def polars_floor(path: Path) -> None:
    """Reading, parsing and grouping alone with Polars: the floor any pipeline sits on."""
    began = time.perf_counter()
    (
        pl.read_csv(path, columns=["Start Time", "Start Community Area Number"], infer_schema=False)
        .with_columns(pl.col("Start Time").str.strptime(pl.Datetime, FMT, strict=False))
        .group_by("Start Community Area Number", pl.col("Start Time").dt.date())
        .len()
    )
    TIMES.setdefault("floor", []).append(time.perf_counter() - began)


TIMES: dict[str, list[float]] = {}


def run(repeat: int, fn: Callable[[], object]) -> None:
    for _ in range(repeat):
        fn()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not AREAS.exists():
        console.print(f"[red]{AREAS} is absent: this benchmark needs ../shared/data[/]")
        return 2
    zoning = chicago.community_areas(AREAS)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv = work / "trips.csv"
        with console.status(f"writing {args.rows:,} portal-layout trips"):
            broken = make_input(csv, zoning, args.rows)
        size_mb = csv.stat().st_size / 1e6
        accepted: dict[str, int] = {}
        demands: dict[str, pl.DataFrame] = {}
        for i in range(args.repeat):
            with console.status(f"run {i + 1}/{args.repeat}: fleetcast"):
                accepted["fleetcast"], demands["fleetcast"] = fleetcast_pipeline(
                    csv, work / f"fc{i}", AREAS
                )
            with console.status(f"run {i + 1}/{args.repeat}: pandas"):
                accepted["pandas"], demands["pandas"] = pandas_pipeline(
                    csv, work / f"pd{i}", zoning
                )
            polars_floor(csv)
    fc = demands["fleetcast"].select("zone_id", "date", "trips").sort("zone_id", "date")
    pdd = demands["pandas"].select("zone_id", "date", "trips").sort("zone_id", "date")
    same = accepted["fleetcast"] == accepted["pandas"] and fc.equals(pdd)
    table = Table(
        title=f"Ingest {args.rows:,} Chicago-schema trips ({size_mb:.0f} MB CSV, {broken:,} broken "
        f"rows) into the lake + demand_daily; median of {args.repeat}",
        title_justify="left",
    )
    table.add_column("pipeline")
    table.add_column("seconds", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("vs pandas", justify="right")
    pandas_s = statistics.median(TIMES["pandas"])
    for name, label in (
        ("fleetcast", "fleetcast (Polars, the real job, SQLite db)"),
        ("pandas", "straightforward pandas, same steps"),
        ("floor", "Polars read+parse+group only (no validation/zones/writes)"),
    ):
        secs = statistics.median(TIMES[name])
        table.add_row(label, f"{secs:.2f}", f"{args.rows / secs:,.0f}", f"{pandas_s / secs:.1f}x")
    console.print(table)
    console.print(
        "fleetcast's time is the ingest into a store that exists; creating the store "
        f"(migrations, 77 community areas) took {statistics.median(TIMES['setup']):.2f} s "
        "more, once."
    )
    console.print(
        f"accepted rows: fleetcast {accepted['fleetcast']:,}, pandas {accepted['pandas']:,}; "
        f"daily demand identical: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
