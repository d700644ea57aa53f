"""The map and number formats of the dashboard: colour scale, initial view, legend, labels."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("pydeck", reason="the dashboard extra is not installed")

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import maps


def square(lon: float, lat: float, size: float) -> dict[str, object]:
    """A square zone as a GeoJSON feature."""
    ring = [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_colour_runs_from_the_palette_start_to_its_end_and_greys_missing_values() -> None:
    """0 is the lightest colour, the top the darkest, beyond the top is clamped, None is grey."""
    assert maps.colour(0, 100)[:3] == list(maps.PALETTE[0])
    assert maps.colour(100, 100)[:3] == list(maps.PALETTE[-1])
    assert maps.colour(250, 100) == maps.colour(100, 100)
    assert maps.colour(None, 100)[:3] == list(maps.NO_VALUE)
    assert maps.colour(5, 0)[:3] == list(maps.NO_VALUE)


def test_view_state_centres_on_the_zones_and_zooms_to_a_city() -> None:
    """Two 1 km squares in Chicago: the view sits between them at a city zoom."""
    features = [square(-87.70, 41.85, 0.01), square(-87.60, 41.95, 0.01)]
    view = maps.view_state(features)
    assert view.latitude == pytest.approx(41.905)
    assert view.longitude == pytest.approx(-87.645)
    assert 9 < view.zoom < 13


def test_legend_shows_the_scale_top_with_separators() -> None:
    """The legend carries its label and the top value with a thousands separator."""
    html = maps.legend_html(1234.0, label="Forecast")
    assert "Forecast" in html and "1,234" in html


def test_formats_use_thousands_separators_iso_days_and_dashes() -> None:
    """Counts get separators, fractions percentages, days ISO, missing values a dash."""
    assert fmt.count(1434) == "1,434"
    assert fmt.count(25.44, digits=1) == "25.4"
    assert fmt.count(None) == fmt.MISSING
    assert fmt.percent(0.3898) == "39.0%"
    assert fmt.change(0.044) == "+4.4%"
    assert fmt.change(None) is None
    assert fmt.interval(433.4, 1376.3) == "433 – 1,376"
    assert fmt.weekday(date(2026, 11, 1)) == "Sun 2026-11-01"
    assert fmt.day(None) == fmt.MISSING
