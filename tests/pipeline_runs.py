"""Scheduled pipeline runs written straight through the Recorder (no real job runs), for the
tests of what ``fleetcast status``, ``/health`` and the dashboard show of them."""

from __future__ import annotations

from fleetcast.errors import FleetcastError
from fleetcast.jobs.pipeline import COMPACT, DAILY, POLL, Recorder, plain_call
from fleetcast.store import Store

FAILURE = "no champion for demo: train first"
"""The message of the failed forecast step."""


def _ok() -> str:
    return "done"


def _fail() -> str:
    raise FleetcastError(FAILURE)


def record_sample_runs(store: Store, *, system_id: str = "demo") -> None:
    """A poll run and a compaction that went fine, and a daily cycle of ``system_id`` whose
    forecast step failed (so its plan was skipped): one failing pipeline out of three."""
    poll = Recorder(store, flow=POLL, system_id=system_id).start()
    poll.run("poll", plain_call, _ok)
    poll.finish()
    compact = Recorder(store, flow=COMPACT, system_id=None).start()
    compact.run("compact", plain_call, _ok)
    compact.finish()
    daily = Recorder(store, flow=DAILY, system_id=system_id).start()
    for step in ("ingest", "arrivals", "train"):
        daily.run(step, plain_call, _ok)
    daily.run("forecast", plain_call, _fail)
    daily.skip("plan", "forecast failed: the previous plan stays in service")
    daily.run("monitor", plain_call, _ok)
    daily.finish()
