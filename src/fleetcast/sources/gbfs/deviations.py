"""Known deviations of real feeds from the GBFS spec, each read explicitly and reported.

Seen in the wild (Paris Vélib' via Smovengo, Lyft systems such as Bay Wheels):

- the publish time named ``lastUpdatedOther`` (or ``lastUpdated``) instead of
  ``last_updated``;
- camelCase copies of spec fields (``numBikesAvailable`` beside ``num_bikes_available``);
- ``num_bikes_available_types`` as a list of one-key objects
  ``[{"mechanical": 1}, {"ebike": 4}]`` (or one object) instead of 2.1's
  ``vehicle_types_available``;
- ``last_reported`` of 86400 (1970-01-02) for stations that never reported.

Each is read as what it plainly means and counted into a warning; none is silently fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from fleetcast.sources.gbfs.values import Notes

PUBLISH_TIME_ALIASES: Final = ("lastUpdatedOther", "lastUpdated")
CAMEL_CASE_COPIES: Final[Mapping[str, str]] = {
    "numBikesAvailable": "num_bikes_available",
    "numDocksAvailable": "num_docks_available",
    "numBikesDisabled": "num_bikes_disabled",
    "numDocksDisabled": "num_docks_disabled",
    "isInstalled": "is_installed",
    "isRenting": "is_renting",
    "isReturning": "is_returning",
    "lastReported": "last_reported",
}
"""camelCase field -> the spec field it copies."""
BIKE_TYPE_COUNTS: Final = "num_bikes_available_types"
EBIKE_KEYS: Final = frozenset({"ebike", "electric", "electric_bike", "e-bike"})
NEVER_REPORTED_BEFORE: Final = 946_684_800.0
"""2000-01-01T00:00Z: a station's ``last_reported`` before it is a "never" placeholder."""


def publish_time(doc: Mapping[str, Any]) -> tuple[Any, str, str | None]:
    """The document's publish time, the key it was under, and a warning when the key was
    not ``last_updated``."""
    if "last_updated" in doc:
        return doc["last_updated"], "last_updated", None
    for key in PUBLISH_TIME_ALIASES:
        if key in doc:
            return (
                doc[key],
                key,
                f"top-level timestamp named {key} instead of last_updated: read as last_updated",
            )
    return None, "last_updated", None


def note_camel_case_copies(records: list[Any], keys: Iterable[str], notes: Notes) -> None:
    """Note camelCase copies beside their spec fields (the spec fields are read), and how
    many records hold a copy that disagrees."""
    seen = set(keys)
    copies = [(camel, snake) for camel, snake in CAMEL_CASE_COPIES.items() if camel in seen]
    if not copies:
        return
    present = [(c, s) for c, s in copies if s in seen]
    if present:
        with_copy = sum(
            1 for r in records if isinstance(r, dict) and any(c in r for c, _ in present)
        )
        names = ", ".join(c for c, _ in present)
        notes.add(
            f"camelCase duplicates {names} beside the spec fields",
            "ignored, the snake_case fields are read",
            with_copy,
        )
        for camel, snake in present:
            differ = sum(
                1
                for r in records
                if isinstance(r, dict) and camel in r and snake in r and r[camel] != r[snake]
            )
            if differ:
                notes.add(f"{camel} disagrees with {snake}", f"{snake} kept", differ)


def camel_case_value(record: Mapping[str, Any], field: str, notes: Notes) -> Any:
    """``record[field]``, or its camelCase copy (noted) when only the copy is there."""
    if field in record:
        return record[field]
    for camel, snake in CAMEL_CASE_COPIES.items():
        if snake == field and camel in record:
            notes.add(f"{field} given only as {camel}", f"read as {field}")
            return record[camel]
    return None


def ebikes_from_type_counts(value: Any, notes: Notes) -> int | None:
    """E-bikes counted in ``num_bikes_available_types``: a list of one-key objects
    ``[{"mechanical": 1}, {"ebike": 4}]`` or one object ``{"mechanical": 1, "ebike": 4}``.
    None when the value has neither shape."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        notes.add(
            f"{BIKE_TYPE_COUNTS} given as a list of one-key objects "
            '[{"mechanical": n}, {"ebike": m}]',
            "e-bikes counted from it",
        )
        counts: dict[str, Any] = {}
        for item in value:
            counts.update(item)
    elif isinstance(value, dict):
        notes.add(f"{BIKE_TYPE_COUNTS} given as an object of counts", "e-bikes counted from it")
        counts = value
    else:
        return None
    total = 0
    for key, n in counts.items():
        if str(key).lower() in EBIKE_KEYS:
            if not isinstance(n, int) or isinstance(n, bool):
                return None
            total += n
    return total


def never_reported(seconds: float | None) -> bool:
    """True for a ``last_reported`` placeholder such as 86400 (before 2000)."""
    return seconds is not None and seconds < NEVER_REPORTED_BEFORE
