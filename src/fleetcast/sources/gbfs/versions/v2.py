"""GBFS 2.0 to 2.3: as 1.x but booleans are true/false; 2.1 adds vehicle_types.json,
``vehicle_type_id`` and ``vehicle_types_available`` per station; 2.3 adds a vehicle's
``current_fuel_percent`` (0 to 1)."""

from __future__ import annotations

from typing import Final

from fleetcast.sources.gbfs.versions._spec import VersionSpec

V2: Final = VersionSpec(
    major=2,
    versions=frozenset(
        {"2.0", "2.0-RC", "2.1", "2.1-RC", "2.1-RC2", "2.2", "2.2-RC", "2.3", "2.3-RC", "2.3-RC2"}
    ),
    newest="2.3",
    discovery_by_language=True,
    vehicles_feed="free_bike_status",
    vehicles_list="bikes",
    vehicle_id="bike_id",
    vehicles_available="num_bikes_available",
    vehicles_disabled="num_bikes_disabled",
    posix_times=True,
    numeric_flags=False,
    localized_text=False,
    has_vehicle_types=True,
)
