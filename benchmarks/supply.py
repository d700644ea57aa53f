"""Live-supply benchmark: GBFS snapshots into the store.

1. Parse, validate and store one real Vélib' snapshot (station_information + station_status,
   1,495 stations, ../shared/data/gbfs/velib_paris): fleetcast's readers beside a
   straightforward json + dict loop applying the same checks (the baseline), and the whole
   ``ingest_gbfs`` (parse + validate + lake + one db transaction) against its 200 ms
   target. Median of ``--repeat`` runs after a warm-up; both must accept the same stations.
2. Poll 100 feeds in one cycle: copies of the Vélib' and Bay Wheels folders under 100 paths
   (each with a gbfs.json), served over loopback HTTP by a ``python -m http.server``
   subprocess, polled concurrently by ``poll_gbfs`` (one poll each) from a thread pool into
   one temporary store. Prints per-feed fetch + parse + store latency and the cycle's wall
   time against the 60-second cycle budget.

    python benchmarks/supply.py [--repeat 5] [--feeds 100] [--workers 4] [--db-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from rich.console import Console
from rich.table import Table

from fleetcast.config import load_settings
from fleetcast.jobs.supply import ingest_gbfs, poll_gbfs
from fleetcast.sources.gbfs import (
    FeedReader,
    check_station_information,
    check_station_status,
    discover,
    read_document,
)
from fleetcast.store import Store

ROOT = Path(__file__).resolve().parents[1]
GBFS = ROOT.parent / "shared" / "data" / "gbfs"
VELIB = GBFS / "velib_paris"
BAY_WHEELS = GBFS / "baywheels_sf"
STORE_TARGET_MS = 200.0
CYCLE_BUDGET_S = 60.0
console = Console(width=120)

Section = Callable[[argparse.Namespace], None]


def median_ms(times: list[float]) -> float:
    """Median of seconds, in milliseconds."""
    return 1000 * statistics.median(times)


def fleetcast_parse_validate(folder: Path, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """fleetcast's readers: discovery, both files, every check; accepted stations and statuses."""
    with FeedReader() as reader:
        found = discover(folder, reader=reader, now=now)
        info_doc = read_document(
            reader, "station_information", found.feeds["station_information"], now=now
        )
        status_doc = read_document(reader, "station_status", found.feeds["station_status"], now=now)
    info = check_station_information(info_doc)
    status = check_station_status(status_doc, system_id="paris", timezone="Europe/Paris", now=now)
    return info.accepted, status.accepted


def _id(value: Any) -> str | None:
    """An id as text (integers too), the baseline's way."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    """A whole number from a number or digits, the baseline's way."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def baseline_parse_validate(folder: Path, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The baseline: json.loads and one loop over dicts per file, the same rules (ids as
    text, coordinates in the world and not (0, 0), counts >= 0, report time at most a day
    ahead, duplicate ids, e-bikes from Vélib's type counts), then a frame of the rows kept."""
    limit = (now + timedelta(days=1)).timestamp()
    info = json.loads((folder / "station_information.json").read_bytes())
    stations, seen = [], set()
    for record in info["data"]["stations"]:
        sid = _id(record.get("station_id"))
        lat, lon, capacity = record.get("lat"), record.get("lon"), record.get("capacity")
        bad = (
            sid is None
            or sid in seen
            or not isinstance(lat, int | float)
            or not isinstance(lon, int | float)
            or abs(lat) > 90
            or abs(lon) > 180
            or (lat == 0 and lon == 0)
            or (capacity is not None and (_count(capacity) is None or capacity < 0))
        )
        seen.add(sid)
        if not bad:
            stations.append(
                {
                    "station_id": sid,
                    "name": record.get("name"),
                    "lat": float(lat),
                    "lon": float(lon),
                    "capacity": capacity,
                    "zone_id": None,
                }
            )
    status = json.loads((folder / "station_status.json").read_bytes())
    published = status.get("last_updated", status.get("lastUpdatedOther"))
    observed = datetime.fromtimestamp(published, UTC)
    rows, seen = [], set()
    for record in status["data"]["stations"]:
        sid = _id(record.get("station_id"))
        counts = {
            "bikes_available": _count(record.get("num_bikes_available")),
            "docks_available": _count(record.get("num_docks_available")),
            "bikes_disabled": _count(record.get("num_bikes_disabled")),
            "docks_disabled": _count(record.get("num_docks_disabled")),
        }
        ebikes = None
        types = record.get("num_bikes_available_types")
        if isinstance(types, list):
            ebikes = sum(n for item in types for k, n in item.items() if k == "ebike")
        reported = record.get("last_reported")
        bad = (
            sid is None
            or sid in seen
            or counts["bikes_available"] is None
            or any(v is not None and v < 0 for v in counts.values())
            or (ebikes is not None and ebikes < 0)
            or (isinstance(reported, int | float) and reported > limit)
        )
        seen.add(sid)
        if not bad:
            rows.append(
                {
                    "system_id": "paris",
                    "station_id": sid,
                    "observed_at": observed,
                    "last_reported": datetime.fromtimestamp(reported, UTC)
                    if isinstance(reported, int | float) and reported >= 946_684_800
                    else None,
                    **counts,
                    "ebikes_available": ebikes,
                    "is_installed": bool(record.get("is_installed")),
                    "is_renting": bool(record.get("is_renting")),
                    "is_returning": bool(record.get("is_returning")),
                }
            )
    return pl.DataFrame(stations), pl.DataFrame(rows)


def open_store(work: Path, db_url: str | None) -> Store:
    """A temporary store (SQLite unless --db-url)."""
    return Store(load_settings(home=work, db_url=db_url, env={}))


def bench_store_one_snapshot(args: argparse.Namespace) -> None:
    """Section 1: one Vélib' snapshot, fleetcast beside the dict-loop baseline."""
    now = datetime.now(UTC)
    times: dict[str, list[float]] = {"fleetcast": [], "baseline": [], "ingest": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), args.db_url)
        ingest_gbfs(store, VELIB, system_id="warmup", timezone="Europe/Paris")
        fleetcast_parse_validate(VELIB, now)
        baseline_parse_validate(VELIB, now)
        for i in range(args.repeat):
            began = time.perf_counter()
            fc_info, fc_status = fleetcast_parse_validate(VELIB, now)
            times["fleetcast"].append(time.perf_counter() - began)
            began = time.perf_counter()
            base_info, base_status = baseline_parse_validate(VELIB, now)
            times["baseline"].append(time.perf_counter() - began)
            began = time.perf_counter()
            report = ingest_gbfs(store, VELIB, system_id=f"paris{i}", timezone="Europe/Paris")
            times["ingest"].append(time.perf_counter() - began)
        store.close()
    same = (
        sorted(fc_info["station_id"]) == sorted(base_info["station_id"])
        and sorted(fc_status["station_id"]) == sorted(base_status["station_id"])
        and fc_status["ebikes_available"].sum() == base_status["ebikes_available"].sum()
        and report.stations == fc_info.height
    )
    kilobytes = sum(f.stat().st_size for f in VELIB.glob("*.json")) / 1000
    table = Table(
        title=f"1. One Vélib' snapshot ({fc_info.height:,} stations, {kilobytes:,.0f} KB of "
        "JSON); "
        f"median of {args.repeat} runs, {os.cpu_count()} cores, "
        f"{'PostgreSQL' if args.db_url else 'SQLite'}",
        title_justify="left",
    )
    table.add_column("what")
    table.add_column("ms", justify="right")
    table.add_column("note")
    fc, base = median_ms(times["fleetcast"]), median_ms(times["baseline"])
    table.add_row(
        "fleetcast readers: parse + validate", f"{fc:.1f}", f"{base / fc:.2f}x the baseline's speed"
    )
    table.add_row(
        "baseline: json + dict loop, same checks", f"{base:.1f}", "no warnings, no reasons kept"
    )
    ingest = median_ms(times["ingest"])
    verdict = "[green]met[/]" if ingest < STORE_TARGET_MS else "[red]missed[/]"
    table.add_row(
        "ingest_gbfs: parse + validate + lake + db",
        f"{ingest:.1f}",
        f"target < {STORE_TARGET_MS:.0f} ms: {verdict}",
    )
    console.print(table)
    if not same:
        raise SystemExit("fleetcast and the baseline accepted different stations")


def write_served_tree(root: Path, feeds: int, port: int) -> list[tuple[str, str | None]]:
    """``feeds`` folders under ``root`` (Vélib' and Bay Wheels alternately, files linked)
    each with a gbfs.json pointing at its files over loopback; returns (url, timezone)."""
    out: list[tuple[str, str | None]] = []
    for i in range(feeds):
        source = VELIB if i % 2 == 0 else BAY_WHEELS
        folder = root / f"feed-{i:03d}"
        folder.mkdir()
        names = sorted(p.stem for p in source.glob("*.json"))
        for name in names:
            (folder / f"{name}.json").symlink_to(source / f"{name}.json")
        base = f"http://127.0.0.1:{port}/feed-{i:03d}"
        gbfs = {
            "last_updated": int(time.time()),
            "ttl": 60,
            "data": {"en": {"feeds": [{"name": n, "url": f"{base}/{n}.json"} for n in names]}},
        }
        (folder / "gbfs.json").write_text(json.dumps(gbfs))
        out.append((f"{base}/gbfs.json", "Europe/Paris" if source is VELIB else None))
    return out


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m http.server`` on a free loopback port, serving ``root``; waits for it."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return server, port
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the loopback HTTP server did not start")


def bench_poll_many_feeds(args: argparse.Namespace) -> None:
    """Section 2: one poll of ``--feeds`` feeds over loopback HTTP, concurrently."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        served = work / "served"
        served.mkdir()
        # The port must be known before gbfs.json is written; the server is started on it.
        server, port = start_server(served)
        try:
            feeds = write_served_tree(served, args.feeds, port)
            store = open_store(work / "store", args.db_url)
            store.engine  # noqa: B018 - migrate before the clock starts
            latencies: list[float] = []
            outcomes: list[tuple[int, int]] = []

            def one(index: int) -> None:
                """Poll feed ``index`` once and time it."""
                url, timezone = feeds[index]
                began = time.perf_counter()
                report = poll_gbfs(
                    store, url, system_id=f"feed{index:03d}", timezone=timezone, max_polls=1
                )
                latencies.append(time.perf_counter() - began)
                outcomes.append((report.snapshots, report.failures))

            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                list(pool.map(one, range(len(feeds))))
            wall = time.perf_counter() - began
            store.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    snapshots = sum(s for s, _ in outcomes)
    failures = sum(f for _, f in outcomes)
    table = Table(
        title=f"2. One poll of {args.feeds} GBFS feeds over loopback HTTP "
        f"({args.workers} threads, {os.cpu_count()} cores, "
        f"{'PostgreSQL' if args.db_url else 'SQLite'}): fetch + parse + store per feed",
        title_justify="left",
    )
    for column in (
        "feeds",
        "snapshots stored",
        "failed reads",
        "p50 s",
        "p95 s",
        "max s",
        "cycle wall s",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(latencies)),
        str(snapshots),
        str(failures),
        f"{statistics.median(ordered):.2f}",
        f"{p95:.2f}",
        f"{ordered[-1]:.2f}",
        f"{wall:.1f}",
    )
    console.print(table)
    verdict = "[green]fits[/]" if wall < CYCLE_BUDGET_S and not failures else "[red]does not fit[/]"
    console.print(f"The cycle {verdict} in the {CYCLE_BUDGET_S:.0f}-second polling budget.")


def bench_availability_history(args: argparse.Namespace) -> None:
    """Availability history over 1 million station snapshots, beside pandas (supply_history)."""
    import supply_history

    supply_history.main(["--rows", "1000000", "--repeat", "3"])


def main(argv: list[str] | None = None) -> int:
    """Run every section and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--db-url", default=None, help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args(argv)
    if not (VELIB.is_dir() and BAY_WHEELS.is_dir()):
        console.print(f"[red]{GBFS} is absent: this benchmark replays ../shared/data/gbfs[/]")
        return 2
    sections: list[Section] = [
        bench_store_one_snapshot,
        bench_poll_many_feeds,
        bench_availability_history,
    ]
    for section in sections:
        section(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
