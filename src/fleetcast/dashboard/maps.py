"""The maps of the pages, drawn by pydeck without a basemap: the zone choropleth (GeoJSON zones
coloured by one value) and the live fleet (vehicles coloured by battery, stations by what they
can serve, zones shaded by what they need).

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
    return fit_points([p for f in features for p in _points(f.get("geometry"))])


def fit_points(points: Sequence[tuple[float, float]]) -> pdk.ViewState:
    """A view centred on (lon, lat) points and zoomed so that all of them fit the map."""
    return fit_view(
        points, width_px=_MAP_WIDTH_PX, height_px=MAP_HEIGHT_PX, max_zoom=24.0, margin=0.15
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
    return deck([layer], view_state(collection.get("features", [])), tooltip_html=tooltip_html)


def deck(layers: Sequence[pdk.Layer], view: pdk.ViewState, *, tooltip_html: str) -> pdk.Deck:
    """A deck of ``layers`` without a basemap and with the pages' tooltip style; the tooltip's
    ``{field}`` placeholders are filled from the hovered object (values are HTML-escaped)."""
    return pdk.Deck(
        layers=list(layers),
        initial_view_state=view,
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


RGB = tuple[int, int, int]
BATTERY_LOW_PCT = 20.0
BATTERY_MID_PCT = 50.0
BATTERY_LOW: RGB = (224, 49, 49)
BATTERY_MID: RGB = (247, 159, 31)
BATTERY_OK: RGB = (47, 158, 68)
DISABLED: RGB = (134, 142, 150)
NO_BATTERY: RGB = (73, 80, 87)
STATION_EMPTY: RGB = (224, 49, 49)
STATION_FULL: RGB = (112, 72, 232)
STATION_FILL: tuple[RGB, RGB] = ((178, 242, 187), (43, 138, 62))
"""Light green for a station with few bikes to dark green for a nearly full one."""
ZONE_NEEDS: RGB = (230, 73, 128)
ZONE_SURPLUS: RGB = (34, 139, 230)
ZONE_LINE = [120, 120, 120, 160]
POINT_LINE = [255, 255, 255, 200]


def battery_rgb(battery_pct: float | None, *, disabled: bool = False) -> RGB:
    """A vehicle's colour: grey when disabled, else red under 20%, amber under 50%, green;
    dark grey without a battery reading."""
    if disabled:
        return DISABLED
    if battery_pct is None or battery_pct != battery_pct:
        return NO_BATTERY
    if battery_pct < BATTERY_LOW_PCT:
        return BATTERY_LOW
    return BATTERY_MID if battery_pct < BATTERY_MID_PCT else BATTERY_OK


def station_rgb(bikes: int | None, free_docks: int | None, fill: float | None) -> RGB:
    """A station's colour: red when it has no bike, purple when it has no free dock, else
    green from light (few bikes) to dark (nearly full) by its fill; grey without a status."""
    if bikes is None:
        return DISABLED
    if bikes <= 0:
        return STATION_EMPTY
    if free_docks is not None and free_docks <= 0:
        return STATION_FULL
    t = 0.5 if fill is None or fill != fill else min(max(fill, 0.0), 1.0)
    light, dark = STATION_FILL
    return (
        round(light[0] + (dark[0] - light[0]) * t),
        round(light[1] + (dark[1] - light[1]) * t),
        round(light[2] + (dark[2] - light[2]) * t),
    )


def zone_need_rgba(need: str | None, score: float | None, top: float) -> list[int]:
    """A zone's shade: pink where vehicles are needed (stronger the more rides are at risk,
    relative to ``top``), blue where some can be taken, transparent otherwise."""
    if need in ("vehicles", "docks"):
        t = 0.0 if not score or top <= 0 else math.sqrt(min(score / top, 1.0))
        return [*ZONE_NEEDS, round(60 + 120 * t)]
    if need == "surplus":
        return [*ZONE_SURPLUS, 22]
    return [0, 0, 0, 0]


def point_layer(
    rows: Sequence[dict[str, Any]],
    *,
    layer_id: str,
    radius_m: float,
    min_px: float,
    max_px: float,
) -> pdk.Layer:
    """Points at each row's ``lon``/``lat`` filled with its ``rgb``, outlined in white so that
    overlapping points stay apart."""
    return pdk.Layer(
        "ScatterplotLayer",
        data=list(rows),
        id=layer_id,
        pickable=True,
        auto_highlight=True,
        highlight_color=[30, 60, 200, 200],
        get_position=["lon", "lat"],
        get_fill_color="rgb",
        get_radius=radius_m,
        radius_min_pixels=min_px,
        radius_max_pixels=max_px,
        stroked=True,
        get_line_color=POINT_LINE,
        line_width_min_pixels=0.5,
    )


def outline_layer(collection: dict[str, Any], *, layer_id: str = "zones") -> pdk.Layer:
    """Zone outlines filled with each feature's ``properties.fill`` (RGBA)."""
    return pdk.Layer(
        "GeoJsonLayer",
        data=collection,
        id=layer_id,
        pickable=True,
        filled=True,
        stroked=True,
        get_fill_color="properties.fill",
        get_line_color=ZONE_LINE,
        line_width_min_pixels=1,
    )


def css(rgb: Sequence[int]) -> str:
    """An RGB triple as CSS."""
    return f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"


def swatch_legend_html(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    """A one-line legend: per group a label and its (name, CSS colour) swatches."""
    parts = []
    for label, items in groups:
        swatches = "".join(
            '<span style="display:inline-flex;align-items:center;gap:0.3rem;margin-right:0.8rem">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
            f'background:{colour};border:1px solid #bbb"></span>{name}</span>'
            for name, colour in items
        )
        parts.append(f'<span style="margin-right:0.5rem;font-weight:600">{label}</span>{swatches}')
    return (
        '<div style="display:flex;flex-wrap:wrap;align-items:center;row-gap:0.3rem;'
        'column-gap:1.5rem;font-size:0.85rem;color:#444;margin:0.2rem 0 1rem 0">'
        + "".join(f"<span>{p}</span>" for p in parts)
        + "</div>"
    )


def truck_rgb(index: int) -> RGB:
    """The colour of the ``index``-th truck's route: ten well-separated hues (Tableau 10
    without its red and blue, which mark short and surplus zones), then repeated."""
    hues: tuple[RGB, ...] = (
        (242, 142, 43),
        (89, 161, 79),
        (176, 122, 161),
        (237, 201, 72),
        (118, 183, 178),
        (156, 117, 95),
        (255, 157, 167),
        (73, 80, 87),
        (160, 203, 232),
        (140, 86, 75),
    )
    return hues[index % len(hues)]


def gap_rgba(gap: float | None, top: float) -> list[int]:
    """A zone's shade by its gap (target minus supply): red where it is short, blue where it
    holds a surplus, stronger the larger the gap relative to ``top``; faint grey when even."""
    if gap is None or gap != gap or gap == 0 or top <= 0:
        return [*NO_VALUE, 50]
    t = math.sqrt(min(abs(gap) / top, 1.0))
    rgb = BATTERY_LOW if gap > 0 else ZONE_SURPLUS
    return [*rgb, round(45 + 150 * t)]


def path_layer(
    rows: Sequence[dict[str, Any]], *, layer_id: str, width_px: float = 4.0, faint: bool = False
) -> pdk.Layer:
    """Lines through each row's ``path`` ([[lon, lat], ...]) drawn in its ``rgb``, ``width_px``
    pixels wide. (A constant string prop such as a unit must be quoted, ``"'pixels'"``: pydeck
    turns a bare string into an accessor expression, which breaks the whole deck.)"""
    return pdk.Layer(
        "PathLayer",
        data=list(rows),
        id=layer_id,
        pickable=True,
        auto_highlight=True,
        highlight_color=[30, 60, 200, 200],
        get_path="path",
        get_color="rgb",
        get_width=width_px,
        width_units="'pixels'",
        width_min_pixels=1.5 if faint else 2,
        joint_rounded=True,
        cap_rounded=True,
        opacity=0.6 if faint else 0.9,
    )


def text_layer(
    rows: Sequence[dict[str, Any]], *, layer_id: str, size_px: float = 13.0
) -> pdk.Layer:
    """Each row's ``label`` written at its ``lon``/``lat`` in its ``text_rgb`` (e.g. the number
    of a stop), ``size_px`` pixels high (deck.gl's default unit)."""
    return pdk.Layer(
        "TextLayer",
        data=list(rows),
        id=layer_id,
        pickable=False,
        get_position=["lon", "lat"],
        get_text="label",
        get_size=size_px,
        get_color="text_rgb",
        font_weight=700,
    )


def fit_view(
    points: Sequence[tuple[float, float]],
    *,
    width_px: float,
    height_px: float,
    max_zoom: float = 17.0,
    margin: float = 0.35,
) -> pdk.ViewState:
    """A view centred on (lon, lat) points, zoomed so that all of them fit a map of
    ``width_px`` x ``height_px`` (a phone's map is far narrower than a desktop's) less a
    ``margin`` of zoom levels, never closer than ``max_zoom`` (one point, or a few close
    together, still shows the streets around them)."""
    if not points:
        return pdk.ViewState(latitude=0.0, longitude=0.0, zoom=1)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lat_c, lon_c = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    lon_span = max(max(lons) - min(lons), 1e-4)
    lat_span = max(max(lats) - min(lats), 1e-4) / math.cos(math.radians(lat_c))
    zoom = min(
        math.log2(width_px * 360 / (_TILE_PX * lon_span)),
        math.log2(height_px * 360 / (_TILE_PX * lat_span)),
    )
    return pdk.ViewState(
        latitude=lat_c,
        longitude=lon_c,
        zoom=round(min(zoom - margin, max_zoom), 2),
        pitch=0,
        bearing=0,
    )
