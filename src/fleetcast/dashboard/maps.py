"""The zone choropleth: GeoJSON zones coloured by one value, drawn by pydeck without a basemap.

No basemap keeps the map working offline and without a Mapbox or Carto token; the zones'
outlines and colours carry the map on their own. ``map_provider=None`` with pydeck's default
``map_style`` is what tells Streamlit to draw no basemap: an explicit ``map_style=None`` makes
Streamlit fall back to its Carto basemap, fetched from the internet.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import pydeck as pdk

PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 255, 204),
    (255, 237, 160),
    (254, 217, 118),
    (254, 178, 76),
    (253, 141, 60),
    (252, 78, 42),
    (227, 26, 28),
    (189, 0, 38),
    (128, 0, 38),
)
"""ColorBrewer YlOrRd: light for few trips, dark red for many."""

NO_VALUE = (205, 205, 205)
FILL_ALPHA = 215
MAP_HEIGHT_PX = 560
_MAP_WIDTH_PX = 900
_TILE_PX = 512


def colour(value: float | None, top: float) -> list[int]:
    """RGBA of ``value`` on a square-root scale from 0 to ``top`` (so the many quiet zones
    differ from one another, not only from the few busy ones); grey without a value."""
    if value is None or value != value or top <= 0:
        return [*NO_VALUE, 160]
    t = math.sqrt(min(max(value / top, 0.0), 1.0)) * (len(PALETTE) - 1)
    low = math.floor(t)
    high = min(low + 1, len(PALETTE) - 1)
    frac = t - low
    rgb = [round(a + (b - a) * frac) for a, b in zip(PALETTE[low], PALETTE[high], strict=True)]
    return [*rgb, FILL_ALPHA]


def css_colour(value: float | None, top: float) -> str:
    """The same colour as CSS, for legends and tables."""
    r, g, b, _ = colour(value, top)
    return f"rgb({r}, {g}, {b})"


def _points(geometry: dict[str, Any] | None) -> Iterator[tuple[float, float]]:
    if not geometry:
        return
    coords = geometry.get("coordinates", [])
    polygons = [coords] if geometry.get("type") == "Polygon" else coords
    for polygon in polygons:
        for ring in polygon:
            for lon, lat, *_ in ring:
                yield float(lon), float(lat)


def view_state(features: Sequence[dict[str, Any]]) -> pdk.ViewState:
    """A view centred on the zones and zoomed so that all of them fit the map."""
    points = [p for f in features for p in _points(f.get("geometry"))]
    if not points:
        return pdk.ViewState(latitude=0.0, longitude=0.0, zoom=1)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lat_c, lon_c = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    lon_span = max(max(lons) - min(lons), 1e-4)
    lat_span = max(max(lats) - min(lats), 1e-4) / math.cos(math.radians(lat_c))
    zoom = min(
        math.log2(_MAP_WIDTH_PX * 360 / (_TILE_PX * lon_span)),
        math.log2(MAP_HEIGHT_PX * 360 / (_TILE_PX * lat_span)),
    )
    return pdk.ViewState(
        latitude=lat_c, longitude=lon_c, zoom=round(zoom - 0.15, 2), pitch=0, bearing=0
    )


def zone_deck(collection: dict[str, Any], *, tooltip_html: str) -> pdk.Deck:
    """A deck with one GeoJsonLayer; each feature carries its RGBA in ``properties.fill``."""
    layer = pdk.Layer(
        "GeoJsonLayer",
        data=collection,
        id="zones",
        pickable=True,
        auto_highlight=True,
        highlight_color=[30, 60, 200, 120],
        filled=True,
        stroked=True,
        get_fill_color="properties.fill",
        get_line_color=[90, 90, 90, 200],
        line_width_min_pixels=1,
    )
    return pdk.Deck(
        layers=[layer],
        initial_view_state=view_state(collection.get("features", [])),
        map_provider=None,
        tooltip={
            "html": tooltip_html,
            "style": {
                "backgroundColor": "white",
                "color": "#222",
                "fontSize": "13px",
                "border": "1px solid #bbb",
                "borderRadius": "4px",
                "padding": "6px 8px",
            },
        },
    )


def legend_html(top: float, *, label: str) -> str:
    """A colour bar from 0 to ``top`` with ticks where the square-root scale puts them."""
    stops = ", ".join(css_colour(top * (i / 8) ** 2, top) for i in range(9))
    ticks = "".join(
        f'<span style="position:absolute;left:{100 * math.sqrt(v / top) if top else 0:.1f}%;'
        f'transform:translateX(-50%)">{v:,.0f}</span>'
        for v in (0.0, top / 16, top / 4, top / 2, top)
    )
    return (
        '<div style="display:flex;align-items:flex-start;gap:0.8rem;font-size:0.85rem;'
        'color:#444;margin:0.2rem 0 1rem 0">'
        f"<span>{label}</span>"
        '<div style="position:relative;width:280px;height:2.3rem">'
        '<div style="height:12px;border-radius:2px;border:1px solid #ccc;'
        f'background:linear-gradient(to right, {stops})"></div>'
        f'<div style="position:relative;height:1rem;margin-top:2px">{ticks}</div></div>'
        '<span style="display:inline-block;width:14px;height:12px;margin-left:1.2rem;'
        f'border:1px solid #ccc;background:{css_colour(None, top)}"></span>'
        "<span>no value</span></div>"
    )
