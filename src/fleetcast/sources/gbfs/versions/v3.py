"""GBFS 3.0: one ``data.feeds[]`` list in gbfs.json (languages move into the text), RFC 3339
times, ``vehicle_status.vehicles[]`` keyed by ``vehicle_id``, ``num_vehicles_available`` /
``num_vehicles_disabled`` at stations, and names as ``[{"text": .., "language": ..}]``."""

from __future__ import annotations

from typing import Final

from fleetcast.sources.gbfs.versions._spec import VersionSpec

V3: Final = VersionSpec(
    major=3,
    versions=frozenset({"3.0", "3.0-RC", "3.0-RC2"}),
    newest="3.0",
    discovery_by_language=False,
    vehicles_feed="vehicle_status",
    vehicles_list="vehicles",
    vehicle_id="vehicle_id",
    vehicles_available="num_vehicles_available",
    vehicles_disabled="num_vehicles_disabled",
    posix_times=False,
    numeric_flags=False,
    localized_text=True,
    has_vehicle_types=True,
)


def pick_text(value: object, language: str | None) -> str | None:
    """The text of a 3.0 localized string for ``language``, else English, else the first.

    ``value`` is ``[{"text": .., "language": ..}, ...]``; entries that are not objects with a
    string ``text`` are skipped. None when no entry has text.
    """
    if not isinstance(value, list):
        return None
    texts: dict[str, str] = {
        str(item.get("language", "")): item["text"]
        for item in value
        if isinstance(item, dict) and isinstance(item.get("text"), str)
    }
    if not texts:
        return None
    for wanted in (language, "en"):
        if wanted is not None and wanted in texts:
            return texts[wanted]
    return next(iter(texts.values()))
