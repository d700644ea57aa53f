"""Tests of zoning and distances: haversine, metric areas, point-in-zone against brute force."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from fleetcast.errors import SchemaError
from fleetcast.geo import (
    EARTH_RADIUS_M,
    Zoning,
    area_km2,
    h3_cells,
    h3_zoning,
    haversine_m,
    local_crs,
    to_metric,
)

FAST = settings(max_examples=50, deadline=None)
WITH_PATH_FIXTURE = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SQFT_TO_KM2 = 0.3048**2 / 1e6

latitudes = st.floats(-89.9, 89.9, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)


def mini_zoning(path: Path) -> Zoning:
    """The four mini zones: 2x2 squares of 0.02 degrees, ids '1'..'4', one shared corner."""
    return Zoning.from_geojson(path)


def border_values(zoning: Zoning) -> tuple[list[float], list[float]]:
    """Every distinct latitude and longitude that a zone edge runs along (exact floats)."""
    lats: set[float] = set()
    lons: set[float] = set()
    for geom in zoning.geometries:
        for lon, lat in shapely.get_coordinates(geom):
            lons.add(float(lon))
            lats.add(float(lat))
    return sorted(lats), sorted(lons)


def brute_force_zone(zoning: Zoning, lat: float | None, lon: float | None) -> str | None:
    """The first zone (file order) whose polygon the point touches or lies in; None elsewhere."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    point = Point(lon, lat)
    for zone_id, geom in zip(zoning.zone_ids, zoning.geometries, strict=True):
        if geom.intersects(point):
            return zone_id
    return None


def feature(props: dict[str, Any], geom: Any = None) -> dict[str, Any]:
    """A GeoJSON Feature with a unit-ish square unless a geometry is given."""
    geometry = geom if geom is not None else shapely.geometry.mapping(box(0, 0, 0.01, 0.01))
    return {"type": "Feature", "properties": props, "geometry": geometry}


# --- distances -------------------------------------------------------------------------


def test_one_degree_of_latitude() -> None:
    """1 degree along a meridian is 2πR/360 ≈ 111.195 km, anywhere on the meridian."""
    expected = 2 * math.pi * EARTH_RADIUS_M / 360
    assert expected == pytest.approx(111_195, abs=1)
    got = haversine_m(
        [0.0, 41.0, -60.0], [0.0, -87.6, 10.0], [1.0, 42.0, -59.0], [0.0, -87.6, 10.0]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_known_distances() -> None:
    """A quarter of the equator, antipodes, a zero distance and Chicago-NYC (~1145 km)."""
    quarter, antipode, zero, chi_nyc = haversine_m(
        [0.0, 0.0, 41.88, 41.8781],
        [0.0, 0.0, -87.63, -87.6298],
        [0.0, 0.0, 41.88, 40.7128],
        [90.0, 180.0, -87.63, -74.0060],
    )
    assert quarter == pytest.approx(math.pi * EARTH_RADIUS_M / 2, rel=1e-12)
    assert antipode == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    assert zero == 0.0
    # the WGS84 ellipsoid says 1144.3 km; a sphere is within 0.5% of it
    _, _, geodesic = pyproj.Geod(ellps="WGS84").inv(-87.6298, 41.8781, -74.0060, 40.7128)
    assert chi_nyc == pytest.approx(geodesic, rel=5e-3)


def test_haversine_broadcasts_scalars() -> None:
    """One origin against many destinations works element-wise."""
    got = haversine_m(41.9, -87.7, [41.9, 41.91], [-87.7, -87.7])
    assert got.shape == (2,)
    assert got[0] == 0.0
    assert got[1] == pytest.approx(1111.95, rel=1e-4)


@FAST
@given(latitudes, longitudes, latitudes, longitudes, latitudes, longitudes)
def test_haversine_is_a_metric(
    a_lat: float, a_lon: float, b_lat: float, b_lon: float, c_lat: float, c_lon: float
) -> None:
    """Symmetric, non-negative, zero to itself, at most half the circumference, triangle rule."""
    ab = float(haversine_m(a_lat, a_lon, b_lat, b_lon))
    ba = float(haversine_m(b_lat, b_lon, a_lat, a_lon))
    bc = float(haversine_m(b_lat, b_lon, c_lat, c_lon))
    ac = float(haversine_m(a_lat, a_lon, c_lat, c_lon))
    assert ab >= 0.0
    assert ab == pytest.approx(ba, abs=1e-6)
    assert float(haversine_m(a_lat, a_lon, a_lat, a_lon)) == pytest.approx(0.0, abs=1e-6)
    assert ab <= math.pi * EARTH_RADIUS_M + 1e-6
    assert ac <= ab + bc + 1e-3


# --- areas -----------------------------------------------------------------------------


def test_area_of_a_metric_square() -> None:
    """A 2 km x 2 km square drawn in metres near Chicago measures 4 km², though not in degrees."""
    crs = local_crs(41.9, -87.65)
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform
    # densify so the edges stay straight in metres after going to lon/lat and back
    square_m = shapely.segmentize(box(-1000, -1000, 1000, 1000), 50)
    square_deg = shapely.transform(square_m, to_lonlat, interleaved=False)
    assert area_km2(square_deg) == pytest.approx(4.0, rel=1e-3)
    assert area_km2(square_deg, crs) == pytest.approx(4.0, rel=1e-6)
    assert square_deg.area < 1e-3  # its area in square degrees would be nonsense


def test_area_matches_the_ellipsoid() -> None:
    """A 0.02° cell of the mini grid matches pyproj.Geod's geodesic area to 0.1%."""
    cell = box(-87.70, 41.90, -87.68, 41.92)
    geodesic, _ = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(cell)
    assert area_km2(cell) == pytest.approx(abs(geodesic) / 1e6, rel=1e-3)


def test_to_metric_centre_is_origin() -> None:
    """The projection centre maps to (0, 0) and 1 km north to about (0, 1000)."""
    crs = local_crs(41.9, -87.65)
    p = to_metric(Point(-87.65, 41.9), crs)
    assert (p.x, p.y) == pytest.approx((0.0, 0.0), abs=1e-6)
    north = to_metric(Point(-87.65, 41.9 + 1000 / 111_132), crs)
    assert north.y == pytest.approx(1000, rel=2e-3)
    assert north.x == pytest.approx(0.0, abs=1e-6)


# --- point in zone ---------------------------------------------------------------------


def test_mini_zones_load(mini_zones_path: Path) -> None:
    """The fixture file gives four zones with community-area ids and title-cased names."""
    z = mini_zoning(mini_zones_path)
    assert z.zone_ids == ("1", "2", "3", "4")
    assert z.names == ("Rogers Park", "West Ridge", "Uptown", "Lincoln Square")
    assert len(z) == 4


@WITH_PATH_FIXTURE
@given(data=st.data())
def test_locate_matches_brute_force(mini_zones_path: Path, data: st.DataObject) -> None:
    """locate() == the first polygon (file order) that intersects the point, for every point.

    Points are drawn around the mini grid and, half the time, snapped onto its edge lines, so
    shared borders, the shared corner and outer edges are all exercised.
    """
    z = mini_zoning(mini_zones_path)
    lats, lons = border_values(z)
    lat_s = st.one_of(st.floats(41.895, 41.945), st.sampled_from(lats))
    lon_s = st.one_of(st.floats(-87.705, -87.655), st.sampled_from(lons))
    points = data.draw(st.lists(st.tuples(lat_s, lon_s), min_size=1, max_size=40))
    lat = [p[0] for p in points]
    lon = [p[1] for p in points]
    got = z.locate(lat, lon)
    assert got.shape == (len(points),)
    assert list(got) == [brute_force_zone(z, a, o) for a, o in points]
    for (a, o), zone in zip(points, got, strict=True):
        inside = [
            zid for zid, g in zip(z.zone_ids, z.geometries, strict=True) if g.contains(Point(o, a))
        ]
        if inside:  # strictly inside one polygon: that one, whatever the order
            assert inside == [zone]


def test_shared_border_points_get_exactly_one_zone(mini_zones_path: Path) -> None:
    """A point on the edge of two zones, or the corner of four, gets one zone (not 0, not 2)."""
    z = mini_zoning(mini_zones_path)
    lats, lons = border_values(z)
    mid_lat, mid_lon = lats[1], lons[1]  # the inner grid lines
    points = [(41.91, mid_lon), (mid_lat, -87.69), (mid_lat, mid_lon)]
    got = z.locate([p[0] for p in points], [p[1] for p in points])
    assert list(got) == ["1", "1", "1"]  # the first zone in file order that touches it
    frame = pl.DataFrame({"lat": [p[0] for p in points], "lon": [p[1] for p in points]})
    assigned = z.assign(frame, lat="lat", lon="lon", out="zone_id")
    assert assigned.height == 3
    assert assigned["zone_id"].to_list() == ["1", "1", "1"]


def test_locate_missing_and_outside(mini_zones_path: Path) -> None:
    """NaN, None and infinite coordinates give None, as do points outside every zone."""
    z = mini_zoning(mini_zones_path)
    got = z.locate(
        [41.91, float("nan"), None, 41.91, float("inf"), 0.0],
        [-87.69, -87.69, -87.69, None, -87.69, 0.0],
    )
    assert list(got) == ["1", None, None, None, None, None]
    assert list(z.locate([], [])) == []
    assert list(z.locate([None, None], [None, None])) == [None, None]


@WITH_PATH_FIXTURE
@given(
    places=st.lists(
        st.one_of(
            st.none(),
            st.tuples(st.floats(41.895, 41.945), st.floats(-87.705, -87.655)),
        ),
        min_size=1,
        max_size=6,
    ),
    picks=st.lists(st.integers(0, 5), min_size=0, max_size=30),
)
def test_assign_preserves_rows(
    mini_zones_path: Path, places: list[tuple[float, float] | None], picks: list[int]
) -> None:
    """assign() keeps every row in its order (duplicates and nulls included) and adds locate()."""
    z = mini_zoning(mini_zones_path)
    rows = [places[i % len(places)] for i in picks]
    frame = pl.DataFrame(
        {
            "n": list(range(len(rows))),
            "lat": [r[0] if r else None for r in rows],
            "lon": [r[1] if r else None for r in rows],
        },
        schema={"n": pl.Int64, "lat": pl.Float64, "lon": pl.Float64},
    )
    out = z.assign(frame, lat="lat", lon="lon", out="zone")
    assert out.columns == ["n", "lat", "lon", "zone"]
    assert out.schema["zone"] == pl.String
    assert out.select("n", "lat", "lon").equals(frame)
    assert out["zone"].to_list() == [brute_force_zone(z, r[0], r[1]) if r else None for r in rows]


def test_zoning_rejects_duplicate_ids() -> None:
    """Two zones with one id would make locate() ambiguous: a SchemaError."""
    with pytest.raises(SchemaError, match="unique"):
        Zoning(("a", "a"), ("A", "B"), (box(0, 0, 1, 1), box(1, 0, 2, 1)))
    with pytest.raises(ValueError, match="length"):
        Zoning(("a",), ("A", "B"), (box(0, 0, 1, 1),))


def test_frame_round_trip(mini_zones_path: Path) -> None:
    """to_frame() then from_frame() gives the same zones; areas are ~2.2 x 1.7 km cells."""
    z = mini_zoning(mini_zones_path)
    frame = z.to_frame()
    assert frame.columns == [
        "zone_id",
        "name",
        "geometry",
        "centroid_lat",
        "centroid_lon",
        "area_km2",
    ]
    back = Zoning.from_frame(frame)
    assert back.zone_ids == z.zone_ids
    assert back.names == z.names
    for a, b in zip(back.geometries, z.geometries, strict=True):
        assert a.equals(b)
    geodesic = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(z.geometries[0])[0]) / 1e6
    assert frame["area_km2"].to_list() == pytest.approx([geodesic] * 4, rel=2e-3)
    assert frame["centroid_lat"][0] == pytest.approx(41.91)
    assert frame["centroid_lon"][0] == pytest.approx(-87.69)


def test_from_frame_skips_zones_without_geometry(mini_zones_path: Path) -> None:
    """A zone row with no geometry (e.g. known only by id) is left out of the Zoning."""
    frame = mini_zoning(mini_zones_path).to_frame()
    frame = frame.with_columns(
        pl.when(pl.col("zone_id") == "2").then(None).otherwise(pl.col("geometry")).alias("geometry")
    )
    assert Zoning.from_frame(frame).zone_ids == ("1", "3", "4")


# --- GeoJSON ---------------------------------------------------------------------------


def test_chicago_community_areas(chicago_areas_path: Path) -> None:
    """The portal's file: 77 zones '1'..'77' named like 'Rogers Park', areas as the portal says.

    The file's own ``shape_area`` (square feet in Illinois State Plane) is an independent
    oracle for area_km2; the city's land area is about 600 km².
    """
    z = Zoning.from_geojson(chicago_areas_path)
    assert len(z) == 77
    assert sorted(z.zone_ids, key=int) == [str(i) for i in range(1, 78)]
    names = dict(zip(z.zone_ids, z.names, strict=True))
    assert names["1"] == "Rogers Park"
    assert names["32"] == "Loop"
    assert names["76"] == "Ohare"  # the portal spells it OHARE
    doc = json.loads(chicago_areas_path.read_text(encoding="utf-8"))
    portal = {
        f["properties"]["area_numbe"]: float(f["properties"]["shape_area"]) for f in doc["features"]
    }
    frame = z.to_frame()
    for zone_id, km2 in zip(frame["zone_id"], frame["area_km2"], strict=True):
        assert km2 == pytest.approx(portal[zone_id] * SQFT_TO_KM2, rel=5e-3), zone_id
    assert 550 < frame["area_km2"].sum() < 650
    # every zone's own interior point is located in that zone
    reps = [g.representative_point() for g in z.geometries]
    got = z.locate([p.y for p in reps], [p.x for p in reps])
    assert list(got) == list(z.zone_ids)
    # the Loop (Chicago's centre) and a point in Lake Michigan
    assert list(z.locate([41.8810, 41.90], [-87.6298, -87.50])) == ["32", None]


def test_from_geojson_accepts_a_parsed_dict() -> None:
    """A parsed FeatureCollection works as well as a path; names are trimmed and title-cased."""
    doc = {
        "type": "FeatureCollection",
        "features": [
            feature({"zone_id": "n", "name": "  north side "}),
            feature({"zone_id": "s", "name": "SOUTH"}),
        ],
    }
    z = Zoning.from_geojson(doc)
    assert z.zone_ids == ("n", "s")
    assert z.names == ("North Side", "South")


def test_from_geojson_numeric_ids_and_name_fallback() -> None:
    """Numeric ids become '7', not '7.0'; a zone without a name is named by that same id."""
    doc = {
        "type": "FeatureCollection",
        "features": [
            feature({"zone_id": 7.0, "name": "north"}),
            feature({"zone_id": 8}),
            feature({"zone_id": "a1b"}),
        ],
    }
    z = Zoning.from_geojson(doc)
    assert z.zone_ids == ("7", "8", "a1b")
    assert z.names == ("7", "8", "a1b")  # "name" is not on every feature: ids, verbatim


def test_from_geojson_explicit_fields() -> None:
    """id_field and name_field pick the properties when the guess would be wrong."""
    doc = {
        "type": "FeatureCollection",
        "features": [feature({"id": "x", "code": "Z1", "label": "one"})],
    }
    z = Zoning.from_geojson(doc, id_field="code", name_field="label")
    assert z.zone_ids == ("Z1",)
    assert z.names == ("One",)


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "Feature", "properties": {"id": "1"}, "geometry": None},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": "nope"},
        [1, 2, 3],
    ],
    ids=["a-feature", "no-features", "features-not-a-list", "a-list"],
)
def test_from_geojson_not_a_feature_collection(tmp_path: Path, doc: Any) -> None:
    """Anything but a FeatureCollection is a SchemaError saying so."""
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SchemaError, match="GeoJSON"):
        Zoning.from_geojson(path)


def test_from_geojson_empty() -> None:
    """A FeatureCollection with no features cannot be a zoning."""
    with pytest.raises(SchemaError, match="no features"):
        Zoning.from_geojson({"type": "FeatureCollection", "features": []})


def test_from_geojson_missing_id_property_has_a_hint() -> None:
    """No property looks like an id: the error lists what it tried and found, and the option."""
    doc = {"type": "FeatureCollection", "features": [feature({"colour": "red"})]}
    with pytest.raises(SchemaError) as info:
        Zoning.from_geojson(doc)
    message = str(info.value)
    assert "zone id" in message
    assert "colour" in message
    assert "area_numbe" in message
    assert "--zone-id-field" in message


def test_from_geojson_named_id_missing_on_one_feature() -> None:
    """An explicit id field absent from one feature names that feature."""
    doc = {
        "type": "FeatureCollection",
        "features": [feature({"code": "a"}), feature({"code": ""})],
    }
    with pytest.raises(SchemaError, match=r"feature 1 has no 'code' property"):
        Zoning.from_geojson(doc, id_field="code")


def test_from_geojson_bad_geometry() -> None:
    """A feature whose geometry is missing or unreadable is a SchemaError naming it."""
    doc = {
        "type": "FeatureCollection",
        "features": [feature({"id": "a"}), {"type": "Feature", "properties": {"id": "b"}}],
    }
    with pytest.raises(SchemaError, match="feature 1 has no valid geometry"):
        Zoning.from_geojson(doc)


def test_from_geojson_repairs_invalid_polygons() -> None:
    """A self-intersecting bow-tie is made valid, so point look-ups still work."""
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    z = Zoning.from_geojson(
        {"type": "FeatureCollection", "features": [feature({"id": "a"}, bow_tie)]}
    )
    assert z.geometries[0].is_valid
    assert list(z.locate([0.25, 0.5], [0.1, 0.5])) == ["a", "a"]


def test_from_geojson_file_errors(tmp_path: Path) -> None:
    """A missing file and a file that is not JSON are SchemaErrors naming the file."""
    with pytest.raises(SchemaError, match="does not exist"):
        Zoning.from_geojson(tmp_path / "absent.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"bad\.geojson"):
        Zoning.from_geojson(bad)


# --- H3 --------------------------------------------------------------------------------


def test_h3_cells_known_point_and_missing() -> None:
    """The Loop at resolution 8 is a known cell; missing coordinates give None."""
    cells = h3_cells([41.88, None, float("nan")], [-87.63, -87.63, -87.63], 8)
    assert cells == ["882664c1a9fffff", None, None]


@FAST
@given(
    st.lists(st.tuples(st.floats(41.80, 41.95), st.floats(-87.75, -87.55)), min_size=1, max_size=30)
)
def test_h3_zoning_locates_points_in_their_cell(points: list[tuple[float, float]]) -> None:
    """A zoning of H3 cells puts each point in the cell h3 itself gives it (an oracle)."""
    lat = [p[0] for p in points]
    lon = [p[1] for p in points]
    cells = h3_cells(lat, lon, 8)
    z = h3_zoning(cells + cells[:1])  # duplicates collapse
    assert z.zone_ids == tuple(sorted(set(cells)))
    assert z.names == z.zone_ids
    assert list(z.locate(lat, lon)) == cells


def test_h3_zoning_cell_area() -> None:
    """A resolution-8 cell is about 0.74 km² (H3's published average), measured in metres."""
    z = h3_zoning(["882664c1a9fffff"])
    assert z.to_frame()["area_km2"][0] == pytest.approx(0.737, rel=0.15)
