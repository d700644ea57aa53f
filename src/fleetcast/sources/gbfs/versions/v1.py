"""GBFS 1.0 and 1.1: feeds listed per language, POSIX times, booleans written as 0/1,
free-floating bikes in ``free_bike_status.bikes[]`` keyed by ``bike_id``."""

from __future__ import annotations

from typing import Final

from fleetcast.sources.gbfs.versions._spec import VersionSpec

V1: Final = VersionSpec(
    major=1,
    versions=frozenset({"1.0", "1.1", "1.1-RC"}),
    newest="1.1",
    discovery_by_language=True,
    vehicles_feed="free_bike_status",
    vehicles_list="bikes",
    vehicle_id="bike_id",
    vehicles_available="num_bikes_available",
    vehicles_disabled="num_bikes_disabled",
    posix_times=True,
    numeric_flags=True,
    localized_text=False,
    has_vehicle_types=False,
)
