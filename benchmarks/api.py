"""API benchmark: /predict and /forecasts of `fleetcast serve` on the demo city under load
from a second process (wrk on loopback), beside the same server stack answering a constant
(the ceiling) and a straightforward server that loads the model and computes features per
request (the naive peer), all in one run and printed as one table.

Every server runs with uvicorn and the same worker count. Each run: warm-up, then wrk for
--seconds with --connections keep-alive connections on one wrk thread, cycling through every
zone and forecast day (the naive peer through the same bodies). Errors are socket errors,
timeouts and non-2xx answers.

    python benchmarks/api.py [--seconds 60] [--workers 2] [--connections 8] [--home DIR]

Needs `wrk` (Debian: apt-get install wrk). Without --home it uses ./.fleetcast when
`make demo` filled it, else builds a demo city with a champion in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from fleetcast.config import load_settings
from fleetcast.jobs import build_demo
from fleetcast.jobs import forecast as fc
from fleetcast.store import Store, records

HERE = Path(__file__).resolve().parent
console = Console(width=150)

LUA = """
local items = {%(items)s}
local method = "%(method)s"
local headers = {["Content-Type"] = "application/json"}
local i = 0
request = function()
  i = i %% #items + 1
  if method == "POST" then
    return wrk.format("POST", "/predict", headers, items[i])
  end
  return wrk.format("GET", items[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Run:
    """One load run's outcome."""

    server: str
    endpoint: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Answered requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Start a server process, wait until it answers, stop it afterwards."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=HERE.parent
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise SystemExit(f"{command} did not answer within 120 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wrk(
    url: str, items: list[str], method: str, *, seconds: int, connections: int, timeout: str
) -> dict[str, int]:
    quoted = ",".join(json.dumps(i) for i in items)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % {"items": quoted, "method": method})
        script = fh.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                f"--timeout={timeout}",
                "-s",
                script,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script).unlink()
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def measure(
    server: str,
    endpoint: str,
    url: str,
    items: list[str],
    method: str,
    *,
    seconds: int,
    connections: int,
    timeout: str = "5s",
) -> Run:
    """Warm up for a few seconds, then measure under load."""
    _wrk(url, items, method, seconds=min(3, seconds), connections=connections, timeout=timeout)
    r = _wrk(url, items, method, seconds=seconds, connections=connections, timeout=timeout)
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return Run(
        server,
        endpoint,
        r["requests"],
        r["duration_us"] / 1e6,
        errors,
        r["p50_us"] / 1e3,
        r["p99_us"] / 1e3,
    )


def _home(arg: Path | None) -> Path:
    """A home with the demo, a champion and forecasts."""
    candidates = [arg] if arg else [Path(".fleetcast")]
    for home in candidates:
        if home and (home / "fleetcast.db").exists():
            store = Store(load_settings(home=home, env={}))
            with store.connect() as conn:
                issue = (
                    records.latest_issue(conn, "demo")
                    if "demo" in records.list_system_ids(conn)
                    else None
                )
            store.close()
            if issue is not None:
                return home.absolute()
            if arg:
                raise SystemExit(f"{home} has no demo forecasts: run 'fleetcast demo' there first")
    home = Path(tempfile.mkdtemp(prefix="fleetcast-bench-")) / "home"
    console.print(f"building the demo city with a champion in {home} …")
    store = Store(load_settings(home=home, env={}))
    build_demo(store)
    fc.train(store, "demo", weeks=1)
    fc.forecast(store, "demo")
    store.close()
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("the API benchmark needs wrk as a second process: apt-get install wrk")
    home = _home(args.home)
    store = Store(load_settings(home=home, env={}))
    with store.connect() as conn:
        issue = records.latest_issue(conn, "demo")
        frame = records.load_forecasts(conn, "demo", issued_on=issue)
    store.close()
    pairs = sorted(
        {(r["zone_id"], r["target_date"].isoformat()) for r in frame.iter_rows(named=True)}
    )
    bodies = [json.dumps({"zone_id": z, "date": d, "system": "demo"}) for z, d in pairs]
    paths = [f"/forecasts?system=demo&zone={z}&date={d}" for z, d in pairs]
    env = {**os.environ, "FLEETCAST_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("FLEETCAST_DB_URL", None)
    env.pop("FLEETCAST_LAKE_URL", None)
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--workers",
        str(args.workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    fleetcast = [
        sys.executable,
        "-c",
        "from fleetcast.cli import main; main()",
        "serve",
        "--workers",
        str(args.workers),
        "--log-level",
        "warning",
    ]
    common = {"seconds": args.seconds, "connections": args.connections}
    runs: list[Run] = []
    console.print(
        f"{len(pairs)} zone-days; {args.workers} workers; {args.connections} "
        f"connections; {args.seconds} s per run; home {home}"
    )

    port = _free_port()
    with _server([*uvicorn, "--port", str(port), "api_servers.bare:app"], env, port) as url:
        runs.append(
            measure("bare FastAPI (constant)", "POST /predict", url, bodies, "POST", **common)
        )
        runs.append(
            measure("bare FastAPI (constant)", "GET /forecasts", url, paths, "GET", **common)
        )
    port = _free_port()
    with _server([*fleetcast, "--port", str(port)], env, port) as url:
        sample = httpx.post(
            f"{url}/predict", content=bodies[0], headers={"Content-Type": "application/json"}
        ).json()
        runs.append(measure("fleetcast serve", "POST /predict", url, bodies, "POST", **common))
        runs.append(measure("fleetcast serve", "GET /forecasts", url, paths, "GET", **common))
    if not args.skip_naive:
        port = _free_port()
        with _server([*uvicorn, "--port", str(port), "api_servers.naive:app"], env, port) as url:
            naive = httpx.post(
                f"{url}/predict",
                content=bodies[0],
                headers={"Content-Type": "application/json"},
                timeout=120,
            ).json()
            runs.append(
                measure(
                    "naive (model + features per request)",
                    "POST /predict",
                    url,
                    bodies,
                    "POST",
                    timeout="60s",
                    **common,
                )
            )
        same = (
            naive["trips"] == sample["trips"] and naive["model_version"] == sample["model_version"]
        )
        console.print(
            f"same answer from fleetcast and the naive peer for {pairs[0]}: {same} "
            f"({sample['trips']} vs {naive['trips']} trips)"
        )
    _print(runs)


def _print(runs: list[Run]) -> None:
    ceiling = {r.endpoint: r.rps for r in runs if r.server.startswith("bare")}
    naive = {r.endpoint: r.rps for r in runs if r.server.startswith("naive")}
    table = Table(title="API under load (wrk on loopback, same machine, one run)")
    for col in (
        "server",
        "endpoint",
        "requests/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "of ceiling",
        "x naive",
    ):
        table.add_column(col, justify="left" if col in ("server", "endpoint") else "right")
    for r in runs:
        of_ceiling = f"{r.rps / ceiling[r.endpoint]:.0%}" if r.endpoint in ceiling else "-"
        times_naive = f"{r.rps / naive[r.endpoint]:,.0f}x" if naive.get(r.endpoint) else "-"
        table.add_row(
            r.server,
            r.endpoint,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.errors:,}",
            of_ceiling,
            times_naive,
        )
    console.print(table)


if __name__ == "__main__":
    main()
