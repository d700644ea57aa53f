"""GBFS (General Bikeshare Feed Specification) feeds, versions 1.x, 2.x and 3.0.

``discovery`` finds a system's feeds from its ``gbfs.json`` (or a folder of saved files);
``documents`` reads each file and its envelope; ``system`` reads system_information and
vehicle_types; ``stations`` and ``vehicles`` turn station_information, station_status and
free_bike_status / vehicle_status into validated rows of the store's tables. What differs
between versions is pinned in ``versions.v1`` / ``v2`` / ``v3``; the deviations real feeds
show are handled, one by one and reported, in ``deviations``.

Reading is tolerant and honest: a value of the wrong type that still means one thing is
read and counted into a warning; an impossible value (a negative or absurd count, a number
no float holds, coordinates outside the world or at (0, 0), a report time more than a day
ahead, an id longer than its db column) rejects its record with every reason it fails; a
file that cannot be used as a whole (HTML instead of JSON, a publish time before 2000 or
more than a day ahead) raises ``SourceError``. A name longer than its column is the one
value cut rather than rejected (with a warning): it only describes its station or system.
"""

from __future__ import annotations

from fleetcast.sources.gbfs.checked import CheckedFeed
from fleetcast.sources.gbfs.discovery import (
    FEEDS,
    FREE_BIKE_STATUS,
    STATION_INFORMATION,
    STATION_STATUS,
    SYSTEM_INFORMATION,
    VEHICLE_FEEDS,
    VEHICLE_STATUS,
    VEHICLE_TYPES,
    Discovery,
    discover,
    parse_discovery,
)
from fleetcast.sources.gbfs.documents import FeedDocument, FeedReader, open_document, read_document
from fleetcast.sources.gbfs.stations import check_station_information, check_station_status
from fleetcast.sources.gbfs.system import (
    SystemDetails,
    VehicleType,
    read_system_information,
    read_vehicle_types,
)
from fleetcast.sources.gbfs.vehicles import check_vehicles

__all__ = [
    "FEEDS",
    "FREE_BIKE_STATUS",
    "STATION_INFORMATION",
    "STATION_STATUS",
    "SYSTEM_INFORMATION",
    "VEHICLE_FEEDS",
    "VEHICLE_STATUS",
    "VEHICLE_TYPES",
    "CheckedFeed",
    "Discovery",
    "FeedDocument",
    "FeedReader",
    "SystemDetails",
    "VehicleType",
    "check_station_information",
    "check_station_status",
    "check_vehicles",
    "discover",
    "open_document",
    "parse_discovery",
    "read_document",
    "read_system_information",
    "read_vehicle_types",
]
