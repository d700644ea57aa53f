"""Jobs: each job is a plain function over the store; the CLI, tests and flows call them."""

from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.demo import DemoReport, build_demo
from fleetcast.jobs.ingest import IngestReport, refresh_demand, register_system
from fleetcast.jobs.status import store_status
from fleetcast.jobs.trips import (
    chicago_system,
    ingest_chicago_api,
    ingest_chicago_file,
    ingest_trips_file,
)

__all__ = [
    "DemoReport",
    "IngestReport",
    "Progress",
    "Silent",
    "build_demo",
    "chicago_system",
    "ingest_chicago_api",
    "ingest_chicago_file",
    "ingest_trips_file",
    "refresh_demand",
    "register_system",
    "store_status",
]
