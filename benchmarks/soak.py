"""Soak test of the minutely GBFS poll: 30 minutes against a local feed with injected faults.

A generated GBFS 2.3 system (stations and free-floating vehicles that move every poll, so
each snapshot is distinct and named by its ``last_updated``) is served on 127.0.0.1 by a
subprocess (``benchmarks/_feeds.py``) with a fault schedule drawn from ``--seed``: timeouts
(the server holds the request past the client's timeout), HTTP 5xx, truncated JSON, an
HTML error page, and a stall (station_status stops advancing long enough to be called
stale). The real poller, ``fleetcast.jobs.supply.poll_gbfs`` (what ``fleetcast poll gbfs
URL --system soak --every 60s`` runs), polls it every ``--every`` for ``--minutes`` into a
temporary fleetcast home. After each poll the soak records the poll's report, the feed
states in the db and its own RSS, then moves the server to the next generation.

At the end it checks, against the server's own log of what it answered:

- memory stays flat: RSS over the second half grows by at most 5 MB + 5 %;
- no snapshot is lost: every live-feed snapshot the server served whole is in the lake,
  with all its rows; no snapshot is duplicated: none is in the lake (raw files, before
  any de-duplication) or the poll reports twice, and the ingest log has one entry each;
- every fault is reported: each injected fault is in that poll's report as a failed read
  of the right kind *and* in the feed's state in the db; the stall is reported stale;
  nothing is reported that was not injected.

    python benchmarks/soak.py                          # 30 minutes, a poll every 60 s
    python benchmarks/soak.py --minutes 3 --every 5s   # a short run
    python benchmarks/soak.py --json                   # the report as JSON on stdout

Loopback only; the run is bounded by ``--minutes`` (plus at most two client timeouts per
poll) and stops by itself. Exit status 1 when a criterion fails.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _feeds
from fleetcast.cli.feeds import parse_duration
from fleetcast.config import load_settings
from fleetcast.domain import Dataset
from fleetcast.jobs.supply import KINDS, CycleReport, PollPolicy, poll_gbfs
from fleetcast.sources import _http
from fleetcast.sources.gbfs.documents import FEED_TIMEOUT
from fleetcast.store import Store, records, state

SYSTEM = "soak"
DATASET_OF = {"station_status": Dataset.STATION_STATUS, "free_bike_status": Dataset.VEHICLE_STATUS}
FLAT_MB = 5.0
FLAT_SHARE = 0.05
console = Console(width=120)


def rss_mb() -> float:
    """This process's resident memory in MB (``/proc/self/status``; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def classify(error: str) -> str:
    """The fault kind a poll's error message names."""
    if "ReadTimeout" in error or "timed out" in error:
        return "timeout"
    if re.search(r"HTTP 5\d\d", error):
        return "http_5xx"
    if "looks like HTML" in error:
        return "html_page"
    if "not valid JSON" in error:
        return "truncated_json"
    return "other"


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per hour (0 for < 2 points)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


@dataclass
class Observer:
    """What the soak sees after each poll: the report, the feed states, the RSS."""

    store: Store
    control: str
    cycles: int
    began: float = field(default_factory=time.perf_counter)
    polls: list[dict[str, Any]] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def __call__(self, cycle: CycleReport) -> None:
        """Record poll ``len(self.polls)`` (its generation), then advance the server."""
        with self.store.connect() as conn:
            states = {s.kind: s for s in state.load_feed_states(conn, SYSTEM)}
        failed = {}
        for name, error in cycle.failed.items():
            saved = states.get(KINDS.get(name, ""))
            failed[name] = {
                "kind": classify(error),
                "in_state": saved is not None
                and saved.status == "error"
                and saved.failures >= 1
                and saved.last_error == error,
            }
        stale = {}
        for name in cycle.stale:
            saved = states.get(KINDS[name])
            stale[name] = saved is not None and saved.status == "stale"
        self.polls.append(
            {
                "gen": len(self.polls),
                "at": cycle.at.isoformat(),
                "stored": [
                    {
                        "feed": r.name,
                        "last_updated": int(r.last_updated.timestamp()) if r.last_updated else None,
                        "rows": r.rows_accepted,
                    }
                    for r in cycle.stored
                    if r.ingest_id is not None
                ],
                "failed": failed,
                "stale": stale,
                "unchanged": list(cycle.unchanged),
            }
        )
        self.rss.append((time.perf_counter() - self.began, rss_mb()))
        if len(self.polls) < self.cycles:
            self.client.post(f"{self.control}/_soak/advance").raise_for_status()


def raw_lake(store: Store, dataset: Dataset) -> pl.DataFrame:
    """Every row of a snapshot dataset as written, file by file, without de-duplication."""
    parts = store.lake.partitions(dataset, system_id=SYSTEM)
    if not parts:
        return pl.DataFrame(schema=dataset.schema)
    return pl.concat([pl.read_parquet(p.path) for p in parts], how="vertical_relaxed")


def ingest_entries(store: Store) -> Counter[str]:
    """Successful ingest-log entries of the soak system per dataset."""
    with store.connect() as conn:
        logs = records.recent_ingests(conn, system_id=SYSTEM, limit=1_000_000)
    return Counter(e["dataset"] for e in logs if e["status"] in ("ok", "partial"))


def check(
    observer: Observer,
    served: dict[str, Any],
    store: Store,
    sizes: dict[str, int],
    report_totals: dict[str, int],
) -> dict[str, Any]:
    """Compare what the server answered with what the poller reported and stored."""
    log = served["log"]
    window = served["window"]
    # Snapshots: every (feed, last_updated) of a live feed served whole.
    served_ok = {
        (e["feed"], e["last_updated"])
        for e in log
        if e["feed"] in DATASET_OF and e["outcome"] in ("ok", "stall")
    }
    stored: Counter[tuple[str, int]] = Counter()
    complete: dict[tuple[str, int], bool] = {}
    raw_duplicates = 0
    for feed, dataset in DATASET_OF.items():
        raw = raw_lake(store, dataset)
        raw_duplicates += raw.height - raw.unique(subset=list(dataset.keys)).height
        per_snapshot = raw.group_by("observed_at").len()
        for observed_at, n in per_snapshot.iter_rows():
            key = (feed, int(observed_at.replace(tzinfo=UTC).timestamp()))
            stored[key] += 1
            complete[key] = n == sizes[feed]
    reported: Counter[tuple[str, int]] = Counter(
        (s["feed"], s["last_updated"]) for poll in observer.polls for s in poll["stored"]
    )
    ingests = ingest_entries(store)
    lost = sorted(served_ok - set(stored))
    phantom = sorted(set(stored) - served_ok)
    incomplete = sorted(k for k, ok in complete.items() if not ok)
    duplicated = sorted({k for k, n in reported.items() if n > 1})
    live_reported = sum(n for (feed, _), n in reported.items() if feed in DATASET_OF)
    ingest_dupes = sum(ingests[DATASET_OF[feed].value] for feed in DATASET_OF) - live_reported
    # Faults: each (generation, feed, kind) the server answered with a fault.
    injected = {
        (e["gen"], e["feed"], e["outcome"]) for e in log if e["outcome"] in _feeds.FAULT_KINDS
    }
    said = {
        (poll["gen"], feed, info["kind"]): info["in_state"]
        for poll in observer.polls
        for feed, info in poll["failed"].items()
    }
    unreported = sorted(injected - set(said))
    spurious = sorted(set(said) - injected)
    not_in_state = sorted(k for k in injected & set(said) if not said[k])
    stall_gens = {
        poll["gen"]: all(poll["stale"].values()) for poll in observer.polls if poll["stale"]
    }
    stall_served = window is not None and any(e["outcome"] == "stall" for e in log)
    stall_reported = bool(
        window is not None
        and any(window[0] <= g <= window[1] and ok for g, ok in stall_gens.items())
    )
    false_stale = sorted(g for g in stall_gens if window is None or not window[0] <= g <= window[1])
    by_kind_injected = Counter(kind for _, _, kind in injected)
    by_kind_reported = Counter(kind for (_, _, kind) in said if kind in _feeds.FAULT_KINDS)
    if stall_served:
        by_kind_injected["stall"] += 1
    if stall_reported:
        by_kind_reported["stall"] += 1
    rss = observer.rss
    half = rss[len(rss) // 2 :]
    start_mb, mid_mb, end_mb = rss[0][1], half[0][1], rss[-1][1]
    growth = end_mb - mid_mb
    allowed = FLAT_MB + FLAT_SHARE * mid_mb
    totals_match = (
        report_totals["polls"] == len(observer.polls)
        and report_totals["snapshots"] == sum(reported.values())
        and report_totals["failures"] == sum(len(p["failed"]) for p in observer.polls)
    )
    return {
        "cycles": len(observer.polls),
        "faults_injected": dict(sorted(by_kind_injected.items())),
        "faults_reported": dict(sorted(by_kind_reported.items())),
        "faults_unreported": [list(k) for k in unreported],
        "faults_not_in_feed_state": [list(k) for k in not_in_state],
        "reported_not_injected": [list(k) for k in spurious],
        "stale_polls_outside_the_stall": false_stale,
        "stall_window": window,
        "snapshots_served_ok": len(served_ok),
        "snapshots_stored": len(stored),
        "snapshots_lost": [list(k) for k in lost],
        "snapshots_incomplete": [list(k) for k in incomplete],
        "snapshots_not_served": [list(k) for k in phantom],
        "snapshots_duplicated": [list(k) for k in duplicated],
        "raw_duplicate_rows": raw_duplicates,
        "ingest_log_entries_beyond_snapshots": ingest_dupes,
        "poll_report_totals": report_totals,
        "poll_report_totals_match": totals_match,
        "rss_mb": {
            "start": round(start_mb, 1),
            "mid": round(mid_mb, 1),
            "end": round(end_mb, 1),
            "second_half_growth": round(growth, 1),
            "allowed_growth": round(allowed, 1),
            "slope_mb_per_hour_second_half": round(slope_per_hour(half), 1),
            "slope_mb_per_hour_all": round(slope_per_hour(rss), 1),
        },
        "verdicts": {
            "memory flat": growth <= allowed,
            "no snapshot lost": not lost and not incomplete and not phantom,
            "no snapshot duplicated": not duplicated and raw_duplicates == 0 and ingest_dupes == 0,
            "every fault reported": not unreported
            and not not_in_state
            and not spurious
            and not false_stale
            and stall_reported == stall_served
            and totals_match,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Serve the feed, poll it, and check the result."""
    every_s = parse_duration(args.every)
    cycles = max(1, math.floor(args.minutes * 60 / every_s + 1e-9))
    timeout_s = args.timeout if args.timeout is not None else float(FEED_TIMEOUT.read or 20.0)
    ttl_s = max(0, round(every_s)) if every_s >= 1 else 0
    # The CLI's policy, with the staleness threshold scaled to --every (the same 300 s at 60 s).
    policy = PollPolicy(every_s=every_s, stale_after_s=PollPolicy().stale_after_s * every_s / 60)
    stall_length = _feeds.stall_cycles(every_s, policy.stale_after(ttl_s))
    port = _feeds.free_port()
    base = int(time.time())
    sizes = {"station_status": args.stations, "free_bike_status": args.vehicles}
    server = _feeds.start_server(
        [
            sys.executable,
            str(Path(_feeds.__file__).resolve()),
            "serve",
            f"--port={port}",
            f"--seed={args.seed}",
            f"--cycles={cycles}",
            f"--stall-length={stall_length}",
            f"--fault-rate={args.fault_rate}",
            f"--vehicles={args.vehicles}",
            f"--stations={args.stations}",
            f"--base={base}",
            f"--step={max(1, math.ceil(every_s))}",
            f"--ttl={ttl_s}",
            f"--hang={timeout_s + 1.5}",
        ],
        port,
        ready_path="/_soak/health",
    )
    control = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="fleetcast-soak-") as tmp:
            store = Store(load_settings(home=Path(tmp), db_url=args.db_url, env={}))
            observer = Observer(store, control, cycles)
            client = _http.build_client(timeout=httpx.Timeout(timeout_s, connect=5.0))
            stop = threading.Event()
            try:
                report = poll_gbfs(
                    store,
                    f"{control}/gbfs.json",
                    system_id=SYSTEM,
                    every=every_s,
                    max_polls=cycles,
                    policy=policy,
                    stop=stop,
                    client=client,
                    on_cycle=observer,
                )
                served = observer.client.get(f"{control}/_soak/log").json()
                totals = {
                    "polls": report.polls,
                    "snapshots": report.snapshots,
                    "failures": report.failures,
                    "stale_polls": report.stale_polls,
                }
                result = check(observer, served, store, sizes, totals)
            finally:
                client.close()
                observer.client.close()
                store.close()
    finally:
        _feeds.stop_server(server)
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["settings"] = {
        "minutes": args.minutes,
        "every_s": every_s,
        "client_timeout_s": timeout_s,
        "stale_after_s": policy.stale_after(ttl_s),
        "seed": args.seed,
        "vehicles": args.vehicles,
        "stations": args.stations,
        "fault_rate": args.fault_rate,
        "db": "PostgreSQL" if args.db_url else "SQLite",
        "started_at": datetime.fromtimestamp(base, UTC).isoformat(),
    }
    return result


def print_table(result: dict[str, Any]) -> None:
    """The soak's table: faults by kind, snapshots, memory and a verdict per criterion."""
    s = result["settings"]
    table = Table(
        title=f"Soak: {result['cycles']} polls, one every {s['every_s']:g} s "
        f"({result['seconds'] / 60:.1f} min wall, seed {s['seed']}, {s['vehicles']} vehicles + "
        f"{s['stations']} stations, client timeout {s['client_timeout_s']:g} s, {s['db']})",
        title_justify="left",
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_column("note")
    kinds = [*_feeds.FAULT_KINDS, _feeds.STALL]
    for kind in kinds:
        injected = result["faults_injected"].get(kind, 0)
        reported = result["faults_reported"].get(kind, 0)
        table.add_row(f"faults injected / reported: {kind}", f"{injected} / {reported}", "")
    problems = (
        len(result["faults_unreported"])
        + len(result["faults_not_in_feed_state"])
        + len(result["reported_not_injected"])
        + len(result["stale_polls_outside_the_stall"])
    )
    table.add_row(
        "faults unreported / not in feed state / spurious",
        f"{len(result['faults_unreported'])} / {len(result['faults_not_in_feed_state'])} / "
        f"{len(result['reported_not_injected']) + len(result['stale_polls_outside_the_stall'])}",
        "" if not problems else "[red]see --json[/]",
    )
    table.add_row("snapshots served whole", str(result["snapshots_served_ok"]), "live feeds")
    table.add_row("snapshots stored (lake)", str(result["snapshots_stored"]), "")
    table.add_row(
        "snapshots lost / incomplete / not served",
        f"{len(result['snapshots_lost'])} / {len(result['snapshots_incomplete'])} / "
        f"{len(result['snapshots_not_served'])}",
        "",
    )
    table.add_row(
        "snapshots duplicated / raw duplicate rows",
        f"{len(result['snapshots_duplicated'])} / {result['raw_duplicate_rows']}",
        f"extra ingest-log entries: {result['ingest_log_entries_beyond_snapshots']}",
    )
    rss = result["rss_mb"]
    table.add_row("RSS start / mid / end MB", f"{rss['start']} / {rss['mid']} / {rss['end']}", "")
    table.add_row(
        "RSS growth over the second half MB",
        f"{rss['second_half_growth']:+.1f}",
        f"allowed {rss['allowed_growth']} (5 MB + 5 %); slope "
        f"{rss['slope_mb_per_hour_second_half']:+.1f} MB/h (all: "
        f"{rss['slope_mb_per_hour_all']:+.1f})",
    )
    for name, ok in result["verdicts"].items():
        table.add_row(f"verdict: {name}", "[green]pass[/]" if ok else "[red]FAIL[/]", "")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its table (or JSON); 1 when a criterion fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", default="60s", help="poll interval, e.g. 60s, 5s, 0.5s")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--vehicles", type=int, default=300)
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="the poller's read timeout in s (default: the poller's own, 20 s)",
    )
    parser.add_argument("--db-url", default=None, help="a PostgreSQL URL instead of SQLite")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.minutes > 24 * 60:
        parser.error("--minutes must be > 0 and at most a day")
    result = run(args)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        print_table(result)
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
