"""The shape every GBFS version module fills in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """Field names and value formats of one major GBFS version (what changed between them)."""

    major: int
    versions: frozenset[str]
    """Every ``version`` string the spec publishes for this major version."""
    newest: str
    discovery_by_language: bool
    """gbfs.json lists feeds per language (``data.<lang>.feeds``) rather than ``data.feeds``."""
    vehicles_feed: str
    """The free-floating vehicles file: ``free_bike_status`` before 3.0, ``vehicle_status``."""
    vehicles_list: str
    vehicle_id: str
    vehicles_available: str
    vehicles_disabled: str
    posix_times: bool
    """Timestamps are POSIX seconds (before 3.0) rather than RFC 3339 text."""
    numeric_flags: bool
    """Booleans are written 0/1 (1.x) rather than true/false."""
    localized_text: bool
    """Names are lists of ``{"text", "language"}`` (3.0) rather than plain strings."""
    has_vehicle_types: bool
    """vehicle_types.json and ``vehicle_type_id`` exist (2.1 on)."""
