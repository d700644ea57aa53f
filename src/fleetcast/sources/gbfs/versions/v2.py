"""GBFS 2.0 to 2.3: as 1.x but booleans are true/false; 2.1 adds vehicle_types.json,
``vehicle_type_id`` and ``vehicle_types_available`` per station; 2.3 adds a vehicle's
``current_fuel_percent`` (0 to 1)."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from fleetcast.sources.gbfs.versions.v1 import V1

V2: Final = replace(
    V1,
    major=2,
    versions=frozenset(
        {"2.0", "2.0-RC", "2.1", "2.1-RC", "2.1-RC2", "2.2", "2.2-RC", "2.3", "2.3-RC", "2.3-RC2"}
    ),
    newest="2.3",
    numeric_flags=False,
    has_vehicle_types=True,
)
"""Spelled as its differences from 1.x, which it otherwise reads the same way (feeds per
language, ``free_bike_status.bikes[]`` keyed by ``bike_id``, POSIX times)."""
