"""Tests of the per-version layouts: which spec a ``version`` field selects, and 3.0 texts."""

from __future__ import annotations

import pytest

from fleetcast.sources.gbfs.versions import V1, V2, V3, spec_for
from fleetcast.sources.gbfs.versions.v3 import pick_text


@pytest.mark.parametrize(
    ("version", "spec"),
    [(None, V1), ("1.0", V1), ("1.1", V1), ("2.0", V2), ("2.3", V2), ("3.0", V3)],
)
def test_published_versions_select_their_layout_without_warning(
    version: str | None, spec: object
) -> None:
    """A feed without ``version`` is 1.0; every published version maps to its own layout."""
    assert spec_for(version) == (spec, None)


@pytest.mark.parametrize(
    ("version", "spec"), [("2.4-RC", V2), ("3.1-RC", V3), ("4.0", V3), ("latest", V3)]
)
def test_unknown_versions_are_read_with_a_close_layout_and_a_warning(
    version: str, spec: object
) -> None:
    """Versions fleetcast does not know are read with the nearest layout, and say so."""
    chosen, warning = spec_for(version)
    assert chosen == spec
    assert warning is not None and repr(version) in warning


def test_layouts_differ_where_the_spec_changed() -> None:
    """1.x writes 0/1 flags, 3.0 RFC 3339 times, localized names and vehicle_status."""
    assert V1.numeric_flags and not V2.numeric_flags and not V3.numeric_flags
    assert V1.posix_times and V2.posix_times and not V3.posix_times
    assert (V2.vehicles_feed, V2.vehicle_id) == ("free_bike_status", "bike_id")
    assert (V3.vehicles_feed, V3.vehicle_id) == ("vehicle_status", "vehicle_id")
    assert V3.vehicles_available == "num_vehicles_available"
    assert V3.localized_text and not V2.localized_text
    assert V2.discovery_by_language and not V3.discovery_by_language


def test_pick_text_prefers_the_language_then_english_then_the_first() -> None:
    """A 3.0 localized string gives the asked language, else English, else the first."""
    texts = [{"text": "Vélo", "language": "fr"}, {"text": "Bike", "language": "en"}]
    assert pick_text(texts, "fr") == "Vélo"
    assert pick_text(texts, "de") == "Bike"
    assert pick_text(texts, None) == "Bike"
    assert pick_text([{"text": "Rad", "language": "de"}], "fr") == "Rad"
    assert pick_text([{"language": "fr"}, "junk"], "fr") is None
    assert pick_text("plain", "fr") is None
