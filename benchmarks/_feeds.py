"""Local feeds for the benchmarks: a loopback server subprocess started and waited for, and
a generated GBFS 2.3 system served with a deterministic fault schedule (the soak test).

``start_server`` is what ``supply.py`` (``python -m http.server`` over saved feeds) and
``soak.py`` (this module run as ``python benchmarks/_feeds.py serve ...``) share. The fault
server runs in its own process so the soak measures the memory of the poller alone.

The generated system: ``--stations`` stations and ``--vehicles`` free-floating vehicles
around a made-up centre. Generation ``g`` (the soak advances it after every poll through
``POST /_soak/advance``) publishes station_status and free_bike_status with
``last_updated = base + g * step``: vehicles move and station counts change, so every
snapshot is distinct and named by its ``last_updated``. The schedule (from ``--seed``)
injects at most one fault per generation:

=============== ===================================================================
timeout         the server holds the request ``--hang`` seconds (past the client's
                timeout) before answering
http_5xx        HTTP 500 / 502 / 503 / 504 with a short HTML body, no Retry-After
truncated_json  HTTP 200 with the document cut in the middle
html_page       HTTP 200 with an HTML error page (a captive portal or proxy page)
stall           station_status keeps publishing the same document (last_updated stops
                advancing) for ``stall_cycles`` generations
=============== ===================================================================

A fault holds for every request of its feed in its generation, retries included, so one
injected fault is one failed read for the poller. ``GET /_soak/log`` returns every request
answered: generation, feed, outcome (``ok`` or the fault) and the ``last_updated`` served.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx

FAULT_KINDS: Final = ("timeout", "http_5xx", "truncated_json", "html_page")
STALL: Final = "stall"
LIVE_FEEDS: Final = ("station_status", "free_bike_status")
"""Feeds whose every new ``last_updated`` is a snapshot the lake must hold once."""
FAULT_TARGETS: Final = ("gbfs", "station_status", "free_bike_status")
STALLED_FEED: Final = "station_status"
STATIC_FEEDS: Final = ("system_information", "station_information")
CENTER: Final = (52.520, 13.405)
TIMEZONE: Final = "Europe/Berlin"
_HTML_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>Service temporarily unavailable</title></head>"
    "<body><h1>We'll be right back</h1><p>The feed is under maintenance.</p></body></html>"
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    argv: list[str], port: int, *, ready_path: str = "/", timeout_s: float = 20.0
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (a server that listens on 127.0.0.1:``port``) and wait until
    ``ready_path`` answers; SystemExit when it does not within ``timeout_s``."""
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise SystemExit(f"the loopback server exited at start: {err.strip()[-500:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit("the loopback HTTP server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Terminate a server started by :func:`start_server` and reap it."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
    if server.stderr is not None:
        server.stderr.close()


def stall_cycles(every_s: float, stale_after_s: float) -> int:
    """Generations a stall lasts: long enough for the poller to call the feed stale (its
    ``last_updated`` quiet for more than ``stale_after_s``) with two polls to spare."""
    return math.floor(stale_after_s / every_s) + 3


def fault_schedule(
    seed: int, cycles: int, *, stall_length: int, fault_rate: float = 0.3
) -> tuple[dict[int, dict[str, str]], tuple[int, int] | None]:
    """Generation -> {feed: fault} and the stall window ``(first, end)`` (end excluded).

    Generation 0 is clean (the first poll creates the system, whose feed states a failure
    is then saved against). Each of :data:`FAULT_KINDS` is placed once when there is room,
    then every other generation gets a fault with probability ``fault_rate``. The stalled
    feed has no other fault during its stall and the generation after it.
    """
    rng = random.Random(seed)
    plan: dict[int, dict[str, str]] = {}
    window: tuple[int, int] | None = None
    if cycles >= stall_length + 4:
        first = rng.randrange(2, cycles - stall_length - 1)
        window = (first, first + stall_length)
        for gen in range(*window):
            plan[gen] = {STALLED_FEED: STALL}

    def free_targets(gen: int) -> list[str]:
        busy = window is not None and window[0] <= gen <= window[1]
        return [t for t in FAULT_TARGETS if not (busy and t == STALLED_FEED)]

    open_gens = [g for g in range(1, cycles) if not any(k != STALL for k in plan.get(g, {}))]
    rng.shuffle(open_gens)
    for kind, gen in zip(FAULT_KINDS, open_gens, strict=False):
        plan.setdefault(gen, {})[rng.choice(free_targets(gen))] = kind
    placed = set(open_gens[: len(FAULT_KINDS)])
    for gen in range(1, cycles):
        if gen not in placed and rng.random() < fault_rate:
            plan.setdefault(gen, {})[rng.choice(free_targets(gen))] = rng.choice(FAULT_KINDS)
    return plan, window


@dataclass(frozen=True, slots=True)
class GeneratedSystem:
    """The documents of the generated system at any generation (a pure function of it)."""

    seed: int
    vehicles: int
    stations: int
    base: int
    step_s: int
    ttl_s: int

    def published(self, gen: int) -> int:
        """The ``last_updated`` of generation ``gen``'s live feeds."""
        return self.base + gen * self.step_s

    def _position(self, kind: str, n: int, gen: int) -> tuple[float, float]:
        """Where station / vehicle ``n`` is at ``gen`` (vehicles drift on a circle)."""
        rng = random.Random(f"{self.seed}:{kind}:{n}")
        radius, phase, speed = rng.uniform(0.002, 0.03), rng.uniform(0, 2 * math.pi), 0.0
        if kind == "vehicle":
            speed = rng.uniform(0.01, 0.05)
        angle = phase + speed * gen
        return (
            round(CENTER[0] + radius * math.sin(angle), 6),
            round(CENTER[1] + 1.6 * radius * math.cos(angle), 6),
        )

    def document(self, name: str, gen: int, port: int) -> dict[str, Any]:
        """The GBFS 2.3 file ``name`` as published at generation ``gen``."""
        published = self.published(gen) if name in LIVE_FEEDS else self.base
        data: dict[str, Any]
        if name == "gbfs":
            base = f"http://127.0.0.1:{port}"
            names = ("system_information", *STATIC_FEEDS[1:], *LIVE_FEEDS)
            data = {"en": {"feeds": [{"name": n, "url": f"{base}/{n}.json"} for n in names]}}
        elif name == "system_information":
            data = {
                "system_id": "soak",
                "language": "en",
                "name": "Soak City",
                "timezone": TIMEZONE,
            }
        elif name == "station_information":
            data = {
                "stations": [
                    {
                        "station_id": f"s{n:03d}",
                        "name": f"Station {n}",
                        "lat": self._position("station", n, 0)[0],
                        "lon": self._position("station", n, 0)[1],
                        "capacity": 20,
                    }
                    for n in range(self.stations)
                ]
            }
        elif name == "station_status":
            data = {
                "stations": [
                    {
                        "station_id": f"s{n:03d}",
                        "num_bikes_available": (n + gen) % 21,
                        "num_docks_available": 20 - (n + gen) % 21,
                        "is_installed": True,
                        "is_renting": True,
                        "is_returning": True,
                        "last_reported": published - (n % 30),
                    }
                    for n in range(self.stations)
                ]
            }
        elif name == "free_bike_status":
            bikes = []
            for n in range(self.vehicles):
                lat, lon = self._position("vehicle", n, gen)
                bikes.append(
                    {
                        "bike_id": f"v{n:04d}",
                        "lat": lat,
                        "lon": lon,
                        "is_reserved": (n + gen) % 17 == 0,
                        "is_disabled": n % 41 == 0,
                        "current_fuel_percent": round(1.0 - ((n * 7 + gen) % 100) / 100, 2),
                        "last_reported": published - (n % 45),
                    }
                )
            data = {"bikes": bikes}
        else:
            raise KeyError(name)
        return {"last_updated": published, "ttl": self.ttl_s, "version": "2.3", "data": data}


class FaultServer(ThreadingHTTPServer):
    """The generated system on 127.0.0.1 with its fault schedule and request log."""

    daemon_threads = True

    def __init__(
        self,
        port: int,
        system: GeneratedSystem,
        plan: dict[int, dict[str, str]],
        window: tuple[int, int] | None,
        *,
        hang_s: float,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.system, self.plan, self.window, self.hang_s = system, plan, window, hang_s
        self.generation = 0
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()

    def fault(self, feed: str, gen: int) -> str | None:
        """The fault planned for ``feed`` at ``gen``, if any."""
        return self.plan.get(gen, {}).get(feed)

    def stalled_at(self, gen: int) -> int:
        """The generation whose station_status is served at ``gen`` (frozen in a stall)."""
        if self.window is not None and self.window[0] <= gen < self.window[1]:
            return self.window[0]
        return gen


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the soak reads ``/_soak/log`` instead."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_POST(self) -> None:
        """``/_soak/advance``: the next generation."""
        if self.path != "/_soak/advance":
            self._send(404, b"{}", "application/json")
            return
        with self.server.lock:
            self.server.generation += 1
            gen = self.server.generation
        self._send(200, json.dumps({"generation": gen}).encode(), "application/json")

    def do_GET(self) -> None:
        """A feed file (with its fault), or the soak's control endpoints."""
        server = self.server
        if self.path == "/_soak/health":
            self._send(200, b'{"ok": true}', "application/json")
            return
        if self.path == "/_soak/log":
            with server.lock:
                body = json.dumps({"log": server.log, "plan": server.plan, "window": server.window})
            self._send(200, body.encode(), "application/json")
            return
        feed = self.path.lstrip("/").removesuffix(".json")
        if feed not in ("gbfs", *STATIC_FEEDS, *LIVE_FEEDS):
            self._send(404, b'{"error": "no such feed"}', "application/json")
            return
        with server.lock:
            gen = server.generation
        fault = server.fault(feed, gen)
        served_gen = server.stalled_at(gen) if feed == STALLED_FEED else gen
        doc = server.system.document(feed, served_gen, server.server_address[1])
        entry = {
            "gen": gen,
            "feed": feed,
            "outcome": fault or "ok",
            "last_updated": doc["last_updated"] if fault in (None, STALL) else None,
        }
        with server.lock:
            server.log.append(entry)
        body = json.dumps(doc).encode()
        if fault == "timeout":
            server.closing.wait(server.hang_s)
            self._send(200, body, "application/json")
        elif fault == "http_5xx":
            status = (500, 502, 503, 504)[gen % 4]
            self._send(status, f"<html><body>{status}</body></html>".encode(), "text/html")
        elif fault == "truncated_json":
            self._send(200, body[: len(body) // 2], "application/json")
        elif fault == "html_page":
            self._send(200, _HTML_PAGE.encode(), "text/html; charset=utf-8")
        else:
            self._send(200, body, "application/json")


def serve(argv: list[str] | None = None) -> int:
    """``python benchmarks/_feeds.py serve --port N ...``: run the fault server until killed."""
    parser = argparse.ArgumentParser(description="the soak's faulty GBFS server")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--cycles", type=int, required=True)
    parser.add_argument("--stall-length", type=int, required=True)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--vehicles", type=int, default=300)
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--base", type=int, required=True)
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--ttl", type=int, default=60)
    parser.add_argument("--hang", type=float, required=True)
    args = parser.parse_args(argv)
    plan, window = fault_schedule(
        args.seed, args.cycles, stall_length=args.stall_length, fault_rate=args.fault_rate
    )
    system = GeneratedSystem(
        args.seed, args.vehicles, args.stations, args.base, args.step, args.ttl
    )
    server = FaultServer(args.port, system, plan, window, hang_s=args.hang)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.closing.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
