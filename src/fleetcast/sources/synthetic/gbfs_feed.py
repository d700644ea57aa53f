"""The demo fleet as a GBFS 2.3 feed folder, so the demo city's vehicles reach the store
through the same reader as any operator's feed.

The folder holds ``gbfs.json`` (its URLs are ``file://`` URIs of the files beside it),
``system_information.json``, ``vehicle_types.json`` and ``free_bike_status.json`` with one
bike per vehicle of the snapshot: position, ``current_fuel_percent`` (0 to 1) and the
matching ``current_range_meters``, ``is_reserved``, ``is_disabled`` and
``vehicle_type_id``. Files are written under a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl

from fleetcast.sources.synthetic.city import DemoCity

GBFS_VERSION: Final = "2.3"
TTL_S: Final = 60
MAX_RANGE_M: Final = 40_000.0
"""Full-battery range of a demo vehicle (current_range_meters scales with the battery)."""
FORM_FACTORS: Final = {"scooter": "scooter_standing", "bike": "bicycle", "car": "car"}
PROPULSION: Final = {"scooter": "electric", "bike": "electric_assist", "car": "electric"}
FEEDS: Final = ("system_information", "vehicle_types", "free_bike_status")


def write_gbfs_folder(city: DemoCity, folder: Path) -> Path:
    """Write the city's fleet snapshot as a GBFS 2.3 folder and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    vehicles = city.vehicles
    newest = vehicles["observed_at"].max()
    published = int(newest.timestamp()) if isinstance(newest, datetime) else 0
    base = folder.resolve().as_uri()
    envelope = {"last_updated": published, "ttl": TTL_S, "version": GBFS_VERSION}
    documents: dict[str, dict[str, Any]] = {
        "gbfs": {
            **envelope,
            "data": {
                "en": {"feeds": [{"name": name, "url": f"{base}/{name}.json"} for name in FEEDS]}
            },
        },
        "system_information": {
            **envelope,
            "data": {
                "system_id": city.system.system_id,
                "language": "en",
                "name": city.system.name,
                "timezone": city.system.timezone,
            },
        },
        "vehicle_types": {**envelope, "data": {"vehicle_types": _vehicle_types(vehicles)}},
        "free_bike_status": {**envelope, "data": {"bikes": _bikes(vehicles, published)}},
    }
    for name, document in documents.items():
        _write_json(folder / f"{name}.json", document)
    return folder


def _vehicle_types(vehicles: pl.DataFrame) -> list[dict[str, Any]]:
    """One GBFS vehicle type per distinct ``vehicle_type`` of the fleet."""
    kinds = sorted(k for k in vehicles["vehicle_type"].unique().to_list() if k is not None)
    return [
        {
            "vehicle_type_id": kind,
            "form_factor": FORM_FACTORS.get(kind, "other"),
            "propulsion_type": PROPULSION.get(kind, "electric"),
            "max_range_meters": MAX_RANGE_M,
            "name": f"Demo {kind}",
        }
        for kind in kinds
    ]


def _bikes(vehicles: pl.DataFrame, published: int) -> list[dict[str, Any]]:
    """free_bike_status entries, one per vehicle."""
    bikes = []
    for row in vehicles.iter_rows(named=True):
        bike: dict[str, Any] = {
            "bike_id": row["vehicle_id"],
            "lat": row["lat"],
            "lon": row["lon"],
            "is_reserved": bool(row["is_reserved"]),
            "is_disabled": bool(row["is_disabled"]),
            "last_reported": published,
        }
        if row["vehicle_type"] is not None:
            bike["vehicle_type_id"] = row["vehicle_type"]
        battery = row["battery_pct"]
        if battery is not None:
            bike["current_fuel_percent"] = round(battery / 100, 6)
            bike["current_range_meters"] = round(MAX_RANGE_M * battery / 100)
        bikes.append(bike)
    return bikes


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to a temporary file and rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), "utf-8")
    tmp.replace(path)
