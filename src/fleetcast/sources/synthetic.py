"""The built-in demo city: a seeded, deterministic e-scooter operator laid over Chicago.

``generate_city`` returns zones, trips, weather, a fleet snapshot, parkings and depots in
the store's table schemas, with no I/O, so every feature of fleetcast can be exercised
(and tested) without a network or a real operator's data. The demand model is built to
show the patterns real data shows:

- zones are Voronoi cells of seeded points, denser near the Loop, clipped to a service
  area that stops at the Lake Michigan shoreline; activity decays with distance from the
  centre and is lognormally spread, so a long tail of zones sees less than a trip a day;
- daily trips per zone are negative binomial (over-dispersed) around a mean that carries
  weekly and yearly seasonality, temperature, rain and wind, US/Illinois holidays
  (most lower demand, summer ones raise it) and growth over time;
- the start hour follows a weekday commute profile (peaks near 8h and 17-18h) or a
  weekend afternoon hump; destinations follow a gravity model whose pull toward the
  centre is positive in the morning and negative in the evening, and which prefers going
  downhill (each zone has an elevation);
- trip points are drawn inside the zone polygons, partly clustered around parkings and
  a few hotspots without a parking.

Vehicles are assigned to trips so that one vehicle's trips on a day are hours apart, but
a vehicle's next trip does not start where its previous one ended (no fleet simulation).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import holidays
import numpy as np
import numpy.typing as npt
import polars as pl
import pyproj
import shapely
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points

from fleetcast import domain
from fleetcast.domain import SystemInfo, VehicleKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SYSTEM_ID: Final = "demo"
PROVIDER: Final = "demo"
TIMEZONE: Final = "America/Chicago"
CENTER_LAT: Final = 41.8819
CENTER_LON: Final = -87.6278
DEFAULT_END: Final = date(2026, 10, 31)
"""Last day of the default period: fixed, so a seed always gives the same city."""

SYSTEM: Final = SystemInfo(
    system_id=SYSTEM_ID,
    name="fleetcast demo city (Chicago)",
    timezone=TIMEZONE,
    kind=VehicleKind.SCOOTER,
    country="US",
    subdivision="IL",
    center_lat=CENTER_LAT,
    center_lon=CENTER_LON,
)

_BASE_TRIPS_PER_DAY: Final = 1560.0
"""Trips on a climatologically average day at the start of the period (trips_scale=1)."""
_COORD_DECIMALS: Final = 7
"""Decimals of zone vertices (about 1 cm); sampling uses the rounded polygons."""
_PARKING_RADIUS_M: Final = 30.0
_HOTSPOT_SIGMA_M: Final = 60.0
_HOTSPOT_SHARE: Final = 0.5
"""Share of trip points drawn around a zone's hotspots instead of uniformly in it."""
_DETOUR: Final = 1.3
_MIN_DISTANCE_M: Final = 100.0
_EARTH_RADIUS_M: Final = 6_371_008.8
_METRES_PER_DEG_LAT: Final = 111_132.0

# Lake Michigan shoreline in local metres (x east, y north of the Loop), south to north.
_SHORE_X: Final = np.array([8000.0, 4100.0, 1250.0, -400.0, -2100.0, -3200.0])
_SHORE_Y: Final = np.array([-17000.0, -8900.0, 0.0, 7800.0, 13300.0, 17500.0])

_HOLIDAY_EFFECTS: Final[dict[str, tuple[float, bool]]] = {
    # name: (demand factor, riders behave as on a weekend)
    "New Year's Day": (0.55, True),
    "Martin Luther King Jr. Day": (0.85, True),
    "Lincoln's Birthday": (0.95, False),
    "Washington's Birthday": (0.9, True),
    "Casimir Pulaski Day": (0.95, False),
    "Memorial Day": (1.3, True),
    "Juneteenth National Independence Day": (1.05, True),
    "Independence Day": (1.6, True),
    "Labor Day": (1.2, True),
    "Columbus Day": (0.95, False),
    "Election Day": (0.95, False),
    "Veterans Day": (0.95, False),
    "Thanksgiving Day": (0.45, True),
    "Christmas Day": (0.35, True),
}
_DEFAULT_HOLIDAY_EFFECT: Final = (0.9, False)
_DOW_FACTORS: Final = np.array([0.93, 0.96, 0.98, 1.0, 1.08, 1.12, 0.95])
"""Monday..Sunday multipliers of demand (Friday and Saturday busiest)."""

_PLACE_WORDS: Final = (
    "Oak", "Maple", "Cedar", "Willow", "Birch", "Elm", "Ash", "Linden", "Hawthorne",
    "Juniper", "Laurel", "Aspen", "Chestnut", "Hickory", "Sycamore", "Magnolia", "Poplar",
    "Spruce", "Walnut", "Alder", "Harbor", "Lake", "River", "Prairie", "Meadow", "Orchard",
    "Garfield", "Lincoln", "Grant", "Douglas", "Jefferson", "Hamilton", "Fulton", "Union",
    "Pilsen", "Bridgeport", "Kenwood", "Avondale", "Ravenswood", "Edgewater", "Canal",
    "Market", "Mill", "Stone", "Iron", "Rail", "Beacon", "Foundry",
)  # fmt: skip
_PLACE_SUFFIXES: Final = (
    "Park", "Heights", "Square", "Village", "Yards", "Gardens", "Point", "Grove", "Commons",
    "Terrace", "Crossing", "Hill", "Landing", "Row", "Court",
)  # fmt: skip
_STREETS: Final = (
    "Clark", "State", "Wells", "Wabash", "Halsted", "Racine", "Ashland", "Western", "Damen",
    "Archer", "Ogden", "Milwaukee", "Armitage", "Belmont", "Diversey", "Fullerton", "Irving",
    "Montrose", "Lawrence", "Foster", "Pershing", "Cermak", "Roosevelt", "Taylor", "Polk",
    "Jackson", "Adams", "Monroe", "Madison", "Randolph", "Kinzie", "Grand", "Erie", "Ohio",
    "Division", "Superior", "Huron", "Harrison", "Fulton", "Lake", "Wolcott", "Paulina",
)  # fmt: skip
_DIRECTIONS: Final = (
    "East", "Northeast", "North", "Northwest", "West", "Southwest", "South", "Southeast",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoParams:
    """Everything that shapes a demo city; checks itself so nonsense fails early and clearly.

    ``trips_scale`` multiplies demand (1.0 gives about 1.3 million trips over the default
    two years); ``annual_growth`` is the yearly growth of demand and of the active fleet;
    ``dispersion`` is the negative binomial size k of zone-day counts (variance = mean +
    mean**2 / k, so smaller is noisier).
    """

    seed: int = 7
    days: int = 730
    end: date = DEFAULT_END
    n_zones: int = 90
    trips_scale: float = 1.0
    fleet_size: int = 1600
    annual_growth: float = 0.3
    dispersion: float = 10.0
    n_depots: int = 2

    def __post_init__(self) -> None:
        problems = _param_problems(self)
        if problems:
            raise ValueError("DemoParams not understood: " + "; ".join(problems))

    @property
    def start(self) -> date:
        """First local day of the generated period."""
        return self.end - timedelta(days=self.days - 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _param_problems(params: DemoParams) -> list[str]:
    """Every reason ``params`` cannot describe a city (empty when it can)."""
    problems: list[str] = []
    int_ranges = {
        "seed": (0, 2**63 - 1),
        "days": (7, 3660),
        "n_zones": (10, 500),
        "fleet_size": (50, 20_000),
        "n_depots": (1, 2),
    }
    for name, (low, high) in int_ranges.items():
        value = getattr(params, name)
        if not _is_int(value):
            problems.append(f"{name} must be an integer, got {value!r}")
        elif not low <= value <= high:
            problems.append(f"{name} must be in {low}..{high}, got {value}")
    real_ranges = {
        "trips_scale": (0.0, 20.0, False),
        "annual_growth": (-0.5, 3.0, True),
        "dispersion": (0.1, 1000.0, True),
    }
    for name, (lowest, highest, low_included) in real_ranges.items():
        number = getattr(params, name)
        if not _is_real(number) or not math.isfinite(number):
            problems.append(f"{name} must be a finite number, got {number!r}")
        elif not ((lowest <= number) if low_included else (lowest < number)) or number > highest:
            bracket = "[" if low_included else "("
            problems.append(f"{name} must be in {bracket}{lowest}, {highest}], got {number}")
    if not isinstance(params.end, date) or isinstance(params.end, datetime):
        problems.append(f"end must be a datetime.date, got {params.end!r}")
    elif (
        _is_int(params.days)
        and 7 <= params.days <= 3660
        and (params.end.year > 9000 or params.end.toordinal() - params.days < 1)
    ):
        problems.append(f"end {params.end} with days {params.days} is out of range")
    return problems


@dataclass(frozen=True, slots=True)
class DemoCity:
    """A generated operator: its system, zones, two years of trips, weather, fleet and sites.

    Frames use the store's schemas (``domain.TRIPS``, ``domain.WEATHER_DAILY``,
    ``domain.VEHICLE_STATUS``); ``zones`` carries GeoJSON polygons (lon/lat), centroids,
    areas in km² and the ``elevation_m`` that makes riders prefer going downhill;
    ``service_area`` is the GeoJSON polygon riders may park in (the union of the zones is
    inside it).
    """

    system: SystemInfo
    zones: pl.DataFrame
    trips: pl.DataFrame
    weather: pl.DataFrame
    vehicles: pl.DataFrame
    parkings: pl.DataFrame
    depots: pl.DataFrame
    service_area: str
    params: DemoParams


def generate_city(
    *,
    seed: int = 7,
    days: int = 730,
    end: date | None = None,
    n_zones: int = 90,
    trips_scale: float = 1.0,
) -> DemoCity:
    """Generate the demo city: same arguments, same frames (``end`` defaults to a fixed day).

    Raises ``ValueError`` naming every argument that is out of range.
    """
    params = DemoParams(
        seed=seed,
        days=days,
        end=DEFAULT_END if end is None else end,
        n_zones=n_zones,
        trips_scale=trips_scale,
    )
    return generate_city_from_params(params)


def generate_city_from_params(params: DemoParams) -> DemoCity:
    """Generate the demo city described by ``params`` (deterministic for its seed).

    Each part draws from its own child of the seed, so the zones of a seed do not change
    with ``days`` or ``trips_scale``.
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(6)]
    layout = _build_layout(n_zones=params.n_zones, rng=rngs[0])
    calendar = _build_calendar(params)
    weather = _simulate_weather(calendar, rng=rngs[1])
    share = _zone_activity(layout, rngs[2])
    counts = _zone_day_counts(
        params, layout=layout, share=share, calendar=calendar, weather=weather, rng=rngs[2]
    )
    sites = _build_parkings(layout=layout, counts=counts, rng=rngs[3])
    trips = _build_trips(
        params,
        layout=layout,
        share=share,
        calendar=calendar,
        counts=counts,
        sites=sites,
        rng=rngs[4],
    )
    vehicles = _build_vehicles(params, layout=layout, sites=sites, rng=rngs[5])
    return DemoCity(
        system=SYSTEM,
        zones=_zones_frame(layout),
        trips=trips,
        weather=_weather_frame(calendar, weather),
        vehicles=vehicles,
        parkings=sites.frame,
        depots=_depots_frame(layout, n_depots=params.n_depots),
        service_area=_geojson(layout.service_area),
        params=params,
    )


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True, slots=True)
class _Projection:
    """Local azimuthal equidistant projection around the centre, in metres."""

    forward: pyproj.Transformer
    inverse: pyproj.Transformer

    def to_metric(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = self.forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon, lat = self.inverse.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_metric(self, geometry: Any) -> Any:
        def project(coords: FloatArray) -> FloatArray:
            x, y = self.to_metric(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geometry, project)

    def geometry_to_lonlat(self, geometry: Any) -> Any:
        def project(coords: FloatArray) -> FloatArray:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat]).round(_COORD_DECIMALS)

        return shapely.transform(geometry, project)


def _projection() -> _Projection:
    crs = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={CENTER_LAT} +lon_0={CENTER_LON} +datum=WGS84 +units=m +no_defs"
    )
    return _Projection(
        forward=pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        inverse=pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Zones in zone order (Z001 is the Loop) with everything demand needs about them."""

    projection: _Projection
    polygons: list[Any]  # lon/lat, rounded; the published geometry
    metric: list[Any]  # the same polygons in local metres
    x: FloatArray  # metric centroid
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    area_km2: FloatArray
    elevation_m: FloatArray
    leisure: FloatArray  # 1 on the lakefront, decaying inland
    names: list[str]
    service_area: Any  # lon/lat
    service_metric: Any

    @property
    def n(self) -> int:
        return len(self.polygons)

    @property
    def ids(self) -> list[str]:
        return [f"Z{i + 1:03d}" for i in range(self.n)]

    @property
    def radius(self) -> FloatArray:
        """Distance of each zone centroid from the Loop, in metres."""
        return np.hypot(self.x, self.y)


def _shore_x(y: FloatArray) -> FloatArray:
    """Easting of the lake shore at northing ``y`` (metres)."""
    shore: FloatArray = np.interp(y, _SHORE_Y, _SHORE_X)
    return shore


def _service_area_metric() -> Any:
    """A slightly irregular oval west of the lake shore (fixed: the city does not move)."""
    theta = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
    wobble = 1 + 0.05 * np.sin(3 * theta + 0.4) + 0.03 * np.cos(5 * theta + 1.1)
    oval = shapely.Polygon(
        np.column_stack(
            [-3500 + 8500 * wobble * np.cos(theta), -500 + 14500 * wobble * np.sin(theta)]
        )
    )
    land = shapely.Polygon(
        [*zip(_SHORE_X, _SHORE_Y, strict=True), (-40000.0, 17500.0), (-40000.0, -17000.0)]
    )
    return _largest_polygon(shapely.intersection(oval, land))


def _largest_polygon(geometry: Any) -> Any:
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def _seed_density(r: FloatArray) -> FloatArray:
    return np.exp(-r / 3500.0) + 0.06


def _zone_seeds(service: Any, *, n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` points, denser near the Loop, kept apart by a density-scaled minimum spacing."""
    minx, miny, maxx, maxy = service.bounds
    grid_x, grid_y = np.meshgrid(np.linspace(minx, maxx, 60), np.linspace(miny, maxy, 60))
    inside = shapely.contains_xy(service, grid_x, grid_y)
    mean_density = float(_seed_density(np.hypot(grid_x[inside], grid_y[inside])).mean())
    spacing = 0.55 * math.sqrt(service.area / n) * math.sqrt(mean_density)
    shapely.prepare(service)
    seeds = np.empty((0, 2))
    while len(seeds) < n:
        for _ in range(40):
            cx = rng.uniform(minx, maxx, 4 * n)
            cy = rng.uniform(miny, maxy, 4 * n)
            r = np.hypot(cx, cy)
            dens = _seed_density(r)
            keep = (rng.random(4 * n) < dens / 1.06) & shapely.contains_xy(service, cx, cy)
            for px, py, d in zip(cx[keep], cy[keep], dens[keep], strict=True):
                min_gap = spacing / math.sqrt(d)
                if len(seeds) == 0 or np.min(np.hypot(seeds[:, 0] - px, seeds[:, 1] - py)) > (
                    min_gap
                ):
                    seeds = np.vstack([seeds, [px, py]])
                    if len(seeds) == n:
                        return seeds
        spacing *= 0.85  # crowded: relax the spacing and keep what was accepted
    return seeds


def _voronoi_zones(service: Any, seeds: FloatArray) -> list[Any]:
    """Voronoi cells of ``seeds`` (in seed order) clipped to ``service``, largest part each."""
    minx, miny, maxx, maxy = service.bounds
    frame = shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    ordered: list[Any] = [None] * len(seeds)
    for cell in cells:
        hit = np.flatnonzero(shapely.contains_xy(cell, seeds[:, 0], seeds[:, 1]))
        if len(hit) == 1:
            ordered[int(hit[0])] = cell
    if any(cell is None for cell in ordered):
        raise RuntimeError("Voronoi cells do not match their seeds")  # pragma: no cover
    return [_largest_polygon(shapely.intersection(cell, service)) for cell in ordered]


def _elevation(x: FloatArray, y: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Lake level at the shore, rising inland, with two low ridges and a little noise."""
    inland = np.maximum(_shore_x(y) - x, 0.0)
    ridge_nw = 16.0 * np.exp(-((x + 7500) ** 2 + (y - 8500) ** 2) / (2 * 3000.0**2))
    ridge_sw = 11.0 * np.exp(-((x + 5000) ** 2 + (y + 10000) ** 2) / (2 * 2500.0**2))
    noise = rng.normal(0.0, 2.0, len(x))
    return np.round(177.0 + 0.0011 * inland + ridge_nw + ridge_sw + noise, 1)


def _zone_names(x: FloatArray, y: FloatArray, rng: np.random.Generator) -> list[str]:
    """ "Cedar Park · Near West Side": a unique place name and the side of town it is on."""
    combos = rng.choice(len(_PLACE_WORDS) * len(_PLACE_SUFFIXES), size=len(x), replace=False)
    names: list[str] = []
    for xi, yi, combo in zip(x, y, combos, strict=True):
        word, suffix = divmod(int(combo), len(_PLACE_SUFFIXES))
        r = math.hypot(xi, yi)
        if r < 1500:
            side = "Loop"
        else:
            octant = round(math.atan2(yi, xi) / (math.pi / 4)) % 8
            ring = "Near " if r < 5000 else "Far " if r > 10000 else ""
            side = f"{ring}{_DIRECTIONS[octant]} Side"
        names.append(f"{_PLACE_WORDS[word]} {_PLACE_SUFFIXES[suffix]} · {side}")
    return names


def _build_layout(*, n_zones: int, rng: np.random.Generator) -> _Layout:
    """Zones as rounded lon/lat polygons, sorted by distance from the Loop."""
    projection = _projection()
    service_metric = _service_area_metric()
    seeds = _zone_seeds(service_metric, n=n_zones, rng=rng)
    seeds = seeds[np.argsort(np.hypot(seeds[:, 0], seeds[:, 1]), kind="stable")]
    polygons = []
    for cell in _voronoi_zones(service_metric, seeds):
        lonlat = _largest_polygon(shapely.make_valid(projection.geometry_to_lonlat(cell)))
        polygons.append(orient(lonlat, 1.0))
    metric = [projection.geometry_to_metric(p) for p in polygons]
    centroids = shapely.centroid(np.asarray(metric, dtype=object))
    x = np.asarray(shapely.get_x(centroids), dtype=np.float64)
    y = np.asarray(shapely.get_y(centroids), dtype=np.float64)
    lon, lat = projection.to_lonlat(x, y)
    # the published service area is the outline of the zones, so every zone lies inside it
    outline = _largest_polygon(shapely.union_all(polygons))
    service_lonlat = orient(shapely.Polygon(outline.exterior), 1.0)
    for polygon in polygons:
        shapely.prepare(polygon)
    return _Layout(
        projection=projection,
        polygons=polygons,
        metric=metric,
        x=x,
        y=y,
        lon=lon.round(_COORD_DECIMALS),
        lat=lat.round(_COORD_DECIMALS),
        area_km2=np.asarray(shapely.area(np.asarray(metric, dtype=object)), dtype=np.float64) / 1e6,
        elevation_m=_elevation(x, y, rng),
        leisure=np.exp(-np.maximum(_shore_x(y) - x, 0.0) / 1200.0),
        names=_zone_names(x, y, rng),
        service_area=service_lonlat,
        service_metric=service_metric,
    )


def _geojson(polygon: Any) -> str:
    """GeoJSON Polygon text; coordinates are already rounded, so parsing gives them back."""
    rings = [polygon.exterior, *polygon.interiors]
    coordinates = [[[float(lon), float(lat)] for lon, lat in ring.coords] for ring in rings]
    return json.dumps({"type": "Polygon", "coordinates": coordinates}, separators=(",", ":"))


def _zones_frame(layout: _Layout) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "zone_id": layout.ids,
            "name": layout.names,
            "geometry": [_geojson(p) for p in layout.polygons],
            "centroid_lat": layout.lat,
            "centroid_lon": layout.lon,
            "area_km2": layout.area_km2.round(4),
            "elevation_m": layout.elevation_m,
        },
        schema={
            "zone_id": pl.String(),
            "name": pl.String(),
            "geometry": pl.String(),
            "centroid_lat": pl.Float64(),
            "centroid_lon": pl.Float64(),
            "area_km2": pl.Float64(),
            "elevation_m": pl.Float64(),
        },
    )


def _sample_in_polygon(
    polygon: Any, *, size: int, rng: np.random.Generator, centers: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """``size`` lon/lat points inside ``polygon``: uniform, or Gaussian around ``centers``.

    Vectorized rejection sampling in batches; ``centers`` is an (k, 2) lon/lat array.
    """
    lon_out = np.empty(size)
    lat_out = np.empty(size)
    filled = 0
    minx, miny, maxx, maxy = polygon.bounds
    if centers is None:
        bbox_area = (maxx - minx) * (maxy - miny)
        acceptance = max(float(polygon.area) / bbox_area, 0.05) if bbox_area > 0 else 0.05
    else:
        acceptance = 0.6
        lat0 = float(centers[0, 1])
        sigma_lat = _HOTSPOT_SIGMA_M / _METRES_PER_DEG_LAT
        sigma_lon = sigma_lat / math.cos(math.radians(lat0))
    while filled < size:
        batch = int((size - filled) / acceptance * 1.2) + 16
        if centers is None:
            lon = rng.uniform(minx, maxx, batch)
            lat = rng.uniform(miny, maxy, batch)
        else:
            which = rng.integers(0, len(centers), batch)
            lon = centers[which, 0] + rng.normal(0.0, sigma_lon, batch)
            lat = centers[which, 1] + rng.normal(0.0, sigma_lat, batch)
        inside = shapely.contains_xy(polygon, lon, lat)
        take = min(int(inside.sum()), size - filled)
        lon_out[filled : filled + take] = lon[inside][:take]
        lat_out[filled : filled + take] = lat[inside][:take]
        filled += take
    return lon_out, lat_out


# --------------------------------------------------------------------------- calendar, weather


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Per local day of the period: date, day of week, holiday effects, growth."""

    dates: npt.NDArray[np.datetime64]
    doy: FloatArray
    dow: IntArray  # 0 = Monday
    holiday_factor: FloatArray
    day_off: BoolArray  # weekend, or a holiday people take off
    growth: FloatArray

    @property
    def n(self) -> int:
        return len(self.dates)


def _build_calendar(params: DemoParams) -> _Calendar:
    start = params.start
    dates = np.datetime64(start, "D") + np.arange(params.days)
    days = [start + timedelta(days=i) for i in range(params.days)]
    calendar = holidays.country_holidays(
        "US", subdiv="IL", years=range(start.year, params.end.year + 1)
    )
    factor = np.ones(params.days)
    holiday_off = np.zeros(params.days, dtype=bool)
    for i, day in enumerate(days):
        names = calendar.get(day)
        if names is None:
            continue
        for name in str(names).split("; "):
            effect, off = _HOLIDAY_EFFECTS.get(
                name.removesuffix(" (observed)"), _DEFAULT_HOLIDAY_EFFECT
            )
            factor[i] *= effect
            holiday_off[i] |= off
    dow = np.array([d.weekday() for d in days], dtype=np.int64)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=np.float64)
    growth = (1 + params.annual_growth) ** (np.arange(params.days) / 365.25)
    return _Calendar(
        dates=dates,
        doy=doy,
        dow=dow,
        holiday_factor=factor,
        day_off=(dow >= 5) | holiday_off,
        growth=growth,
    )


@dataclass(frozen=True, slots=True)
class _Weather:
    temp_max_c: FloatArray
    temp_min_c: FloatArray
    precip_mm: FloatArray
    wind_max_kmh: FloatArray


def _climate_temp_max(doy: FloatArray) -> FloatArray:
    """Chicago-like mean daily maximum: about -1 °C late January, 29 °C late July."""
    return 14.0 - 14.8 * np.cos(2 * np.pi * (doy - 20) / 365.25)


def _simulate_weather(calendar: _Calendar, *, rng: np.random.Generator) -> _Weather:
    """Daily weather: AR(1) temperature anomalies around a yearly cycle, Markov wet days."""
    n = calendar.n
    phase = -np.cos(2 * np.pi * (calendar.doy - 20) / 365.25)  # -1 in winter, +1 in summer
    tmax_clim = _climate_temp_max(calendar.doy)
    tmin_clim = 5.8 - 13.8 * np.cos(2 * np.pi * (calendar.doy - 20) / 365.25)
    anomaly_sd = 4.5 - 1.5 * phase
    innovations = rng.normal(0.0, 1.0, n)
    uniforms = rng.random(n)
    anomaly = np.empty(n)
    wet = np.empty(n, dtype=bool)
    phi = 0.75
    previous_anomaly = innovations[0]
    previous_wet = bool(uniforms[0] < 0.33)
    for i in range(n):
        previous_anomaly = phi * previous_anomaly + math.sqrt(1 - phi**2) * innovations[i]
        anomaly[i] = previous_anomaly
        p_wet = 0.5 if previous_wet else 0.24 + 0.04 * phase[i]
        previous_wet = bool(uniforms[i] < p_wet)
        wet[i] = previous_wet
    amount = rng.gamma(0.75, 8.0 + 3.0 * (phase + 1) / 2)
    precip = np.where(wet, np.maximum(np.round(amount, 1), 0.1), 0.0)
    tmax = tmax_clim + anomaly * anomaly_sd - 1.5 * wet + rng.normal(0.0, 1.0, n)
    tmin = tmin_clim + anomaly * anomaly_sd + 1.0 * wet + rng.normal(0.0, 1.0, n)
    tmin = np.minimum(tmin, tmax - 1.0)
    wind_mean = 20.0 - 4.0 * phase + 6.0 * wet
    wind = rng.gamma(8.0, wind_mean / 8.0)
    return _Weather(
        temp_max_c=np.round(tmax, 1),
        temp_min_c=np.round(tmin, 1),
        precip_mm=precip,
        wind_max_kmh=np.round(wind, 1),
    )


def _weather_frame(calendar: _Calendar, weather: _Weather) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "system_id": SYSTEM_ID,
            "date": pl.Series(calendar.dates).cast(pl.Date),
            "temp_max_c": weather.temp_max_c,
            "temp_min_c": weather.temp_min_c,
            "precip_mm": weather.precip_mm,
            "wind_max_kmh": weather.wind_max_kmh,
            "kind": "observed",
        }
    )
    return domain.conform(frame, domain.WEATHER_DAILY)


# --------------------------------------------------------------------------- demand


def _temperature_effect(temp_max_c: FloatArray) -> FloatArray:
    """Cold days lose most riders, mild and warm days keep them, heat costs a little."""
    comfort = 0.2 + 0.8 / (1 + np.exp(-(temp_max_c - 10.0) / 4.5))
    return comfort * np.where(temp_max_c > 32.0, 0.9, 1.0)


def _season_effect(doy: FloatArray) -> FloatArray:
    return np.exp(0.3 * np.cos(2 * np.pi * (doy - 200) / 365.25))


def _weather_effect(weather: _Weather) -> FloatArray:
    """Rain (and a wet day at all) and strong wind suppress rides."""
    rain = np.maximum(np.exp(-0.06 * weather.precip_mm), 0.2)
    rain = rain * np.where(weather.precip_mm >= 1.0, 0.85, 1.0)
    wind = np.exp(-0.012 * np.maximum(weather.wind_max_kmh - 30.0, 0.0))
    return _temperature_effect(weather.temp_max_c) * rain * wind


def _climate_norm() -> float:
    """Mean of season x temperature effects over a climatological year (demand divisor)."""
    doy = np.arange(1, 366, dtype=np.float64)
    return float(np.mean(_season_effect(doy) * _temperature_effect(_climate_temp_max(doy))))


def _zone_activity(layout: _Layout, rng: np.random.Generator) -> FloatArray:
    """Share of trips each zone starts: lognormal spread, distance decay, lakefront pull."""
    spread = rng.lognormal(0.0, 1.1, layout.n)
    decay = np.exp(-layout.radius / 2500.0) + 0.015
    activity = spread * decay * (1 + 0.8 * layout.leisure) * layout.area_km2**0.3
    share: FloatArray = activity / activity.sum()
    return share


def _centrality(layout: _Layout) -> FloatArray:
    return np.exp(-layout.radius / 3000.0)


def _weekend_affinity(layout: _Layout, share: FloatArray) -> FloatArray:
    """Weekend demand relative to weekday per zone: leisure zones up, downtown down."""
    affinity = np.exp(0.6 * layout.leisure - 0.5 * _centrality(layout))
    normalised: FloatArray = affinity / float(np.sum(share * affinity))
    return normalised


def _zone_day_counts(
    params: DemoParams,
    *,
    layout: _Layout,
    share: FloatArray,
    calendar: _Calendar,
    weather: _Weather,
    rng: np.random.Generator,
) -> IntArray:
    """Trips started per (day, zone): negative binomial around the modelled mean."""
    affinity = _weekend_affinity(layout, share)
    daily = (
        _BASE_TRIPS_PER_DAY
        * params.trips_scale
        / _climate_norm()
        * _DOW_FACTORS[calendar.dow]
        * _season_effect(calendar.doy)
        * _weather_effect(weather)
        * calendar.holiday_factor
        * calendar.growth
        * rng.lognormal(-0.5 * 0.08**2, 0.08, calendar.n)  # citywide day shock
    )
    zone_factor = np.where(calendar.day_off[:, None], affinity[None, :], 1.0)
    mean = daily[:, None] * share[None, :] * zone_factor
    k = params.dispersion
    counts: IntArray = rng.negative_binomial(k, k / (k + mean)).astype(np.int64)
    return counts


# --------------------------------------------------------------------------- parkings


@dataclass(frozen=True, slots=True)
class _Sites:
    """Parkings (frame and metric coordinates) and per-zone hotspots for trip points."""

    frame: pl.DataFrame
    x: FloatArray
    y: FloatArray
    zone: IntArray
    hotspots: list[FloatArray]  # per zone, (k, 2) lon/lat: parkings and unserved spots


def _spread_points(
    polygon: Any, *, count: int, min_gap: float, rng: np.random.Generator
) -> FloatArray:
    """Up to ``count`` metric points inside ``polygon`` at least ``min_gap`` apart."""
    points: list[tuple[float, float]] = []
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(200):
        if len(points) == count:
            break
        px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(polygon, px, py):
            continue
        if all(math.hypot(px - qx, py - qy) >= min_gap for qx, qy in points):
            points.append((px, py))
    if not points:
        point = polygon.representative_point()
        points.append((float(point.x), float(point.y)))
    return np.asarray(points, dtype=np.float64)


def _build_parkings(*, layout: _Layout, counts: IntArray, rng: np.random.Generator) -> _Sites:
    """2-4 parkings in busy zones, 1 in quiet ones, sized by recent demand per parking."""
    recent = counts[-28:].mean(axis=0)
    rank = np.argsort(np.argsort(-recent, kind="stable"), kind="stable") / layout.n
    n_parkings = np.where(rank < 0.3, rng.integers(3, 5, layout.n), np.where(rank < 0.7, 2, 1))
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    zones: list[IntArray] = []
    hotspots: list[FloatArray] = []
    proj = layout.projection
    for z, polygon in enumerate(layout.metric):
        inner = shapely.buffer(polygon, -(_PARKING_RADIUS_M + 15.0))
        inner = polygon if inner.is_empty else _largest_polygon(inner)
        points = _spread_points(inner, count=int(n_parkings[z]) + 1, min_gap=150.0, rng=rng)
        # the last spread point is a hotspot without a parking (in busy zones only)
        parking_points = points[: int(n_parkings[z])] if len(points) > 1 else points
        xs.append(parking_points[:, 0])
        ys.append(parking_points[:, 1])
        zones.append(np.full(len(parking_points), z, dtype=np.int64))
        hot = points if rank[z] < 0.4 else parking_points
        hot_lon, hot_lat = proj.to_lonlat(hot[:, 0], hot[:, 1])
        hotspots.append(np.column_stack([hot_lon, hot_lat]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    zone = np.concatenate(zones)
    lon, lat = proj.to_lonlat(x, y)
    per_parking = recent[zone] / np.bincount(zone, minlength=layout.n)[zone]
    min_vehicles = np.clip(2 + np.round(per_parking / 12), 2, 6).astype(np.int64)
    max_vehicles = np.clip(min_vehicles + 4 + np.round(per_parking / 15), 6, 12).astype(np.int64)
    streets = rng.choice(len(_STREETS), size=(len(x), 2), replace=True)
    names = [
        f"{_STREETS[a]} & {_STREETS[b if b != a else (b + 1) % len(_STREETS)]}" for a, b in streets
    ]
    ids = layout.ids
    frame = pl.DataFrame(
        {
            "parking_id": [f"P{i + 1:04d}" for i in range(len(x))],
            "zone_id": [ids[z] for z in zone],
            "name": names,
            "lat": lat.round(_COORD_DECIMALS),
            "lon": lon.round(_COORD_DECIMALS),
            "radius_m": np.full(len(x), _PARKING_RADIUS_M),
            "min_vehicles": min_vehicles,
            "max_vehicles": max_vehicles,
        }
    )
    return _Sites(frame=frame, x=x, y=y, zone=zone, hotspots=hotspots)


def _depots_frame(layout: _Layout, *, n_depots: int) -> pl.DataFrame:
    """Depots west of the dense core, snapped into the service area."""
    spots = [("West Depot", 4500.0, 190.0), ("Northwest Depot", 5000.0, 140.0)][:n_depots]
    lons: list[float] = []
    lats: list[float] = []
    for _, radius, angle in spots:
        point = shapely.Point(
            radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
        )
        if not layout.service_metric.contains(point):
            point = nearest_points(layout.service_metric.buffer(-200.0), point)[0]
        lon, lat = layout.projection.to_lonlat(np.array([point.x]), np.array([point.y]))
        lons.append(round(float(lon[0]), _COORD_DECIMALS))
        lats.append(round(float(lat[0]), _COORD_DECIMALS))
    return pl.DataFrame(
        {
            "depot_id": [f"D{i + 1}" for i in range(len(spots))],
            "name": [name for name, _, _ in spots],
            "lat": lats,
            "lon": lons,
        }
    )


# --------------------------------------------------------------------------- trips


def _bump(hours: FloatArray, mean: float, sd: float) -> FloatArray:
    bump: FloatArray = np.exp(-0.5 * ((hours - mean) / sd) ** 2)
    return bump


def _hour_profiles() -> FloatArray:
    """Start-hour weights: rows weekday-residential, weekday-central, day-off x2."""
    h = np.arange(24, dtype=np.float64) + 0.5
    night = np.where((h > 1) & (h < 5.5), 0.3, 1.0)
    residential = 0.05 + 1.3 * _bump(h, 8.0, 1.0) + 0.7 * _bump(h, 17.5, 1.4)
    residential += 0.45 * _bump(h, 12.5, 2.5) + 0.3 * _bump(h, 20.5, 1.8)
    central = 0.05 + 0.45 * _bump(h, 8.3, 1.0) + 1.4 * _bump(h, 17.5, 1.4)
    central += 0.55 * _bump(h, 12.5, 2.2) + 0.35 * _bump(h, 20.5, 1.8)
    day_off = 0.05 + 1.0 * _bump(h, 15.0, 3.2) + 0.25 * _bump(h, 21.5, 2.0)
    day_off_central = day_off + 0.15 * _bump(h, 23.5, 1.5)
    return np.vstack([residential, central, day_off, day_off_central]) * night


def _sample_grouped(weights: FloatArray, group: IntArray, rng: np.random.Generator) -> IntArray:
    """One category per item from the row ``weights[group]`` (inverse CDF, vectorized)."""
    n_groups, n_categories = weights.shape
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(n_groups)[:, None]).ravel()
    index = np.searchsorted(flat, group + rng.random(len(group)), side="right")
    chosen: IntArray = np.clip(index - group * n_categories, 0, n_categories - 1)
    return chosen


def _destination_weights(layout: _Layout, share: FloatArray) -> FloatArray:
    """Gravity weights (4 x n origins, n destinations) by class AM, PM, other, day off."""
    dx = layout.x[:, None] - layout.x[None, :]
    dy = layout.y[:, None] - layout.y[None, :]
    distance = np.hypot(dx, dy)
    np.fill_diagonal(distance, 0.5 * np.sqrt(layout.area_km2 * 1e6))
    climb = layout.elevation_m[None, :] - layout.elevation_m[:, None]
    base = (share[None, :] ** 0.9) * np.exp(-distance / 1200.0) * np.exp(-0.04 * climb)
    radius_km = layout.radius / 1000.0
    toward_centre = np.exp(-0.35 * radius_km)[None, :]
    away_from_centre = np.exp(0.4 * radius_km)[None, :]
    leisure = (1 + 1.5 * layout.leisure)[None, :]
    stacked = np.stack([base * toward_centre, base * away_from_centre, base, base * leisure])
    weights: FloatArray = stacked.reshape(4 * layout.n, layout.n) + 1e-12
    return weights


def _haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    distance: FloatArray = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return distance


def _points_for_zones(
    zone: IntArray, *, layout: _Layout, sites: _Sites, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """A lon/lat point inside its zone for every item of ``zone`` (mixed hotspot/uniform)."""
    lon = np.empty(len(zone))
    lat = np.empty(len(zone))
    order = np.argsort(zone, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(zone, minlength=layout.n))])
    for z in range(layout.n):
        size = int(bounds[z + 1] - bounds[z])
        if size == 0:
            continue
        centers = sites.hotspots[z]
        n_hot = int(rng.binomial(size, _HOTSPOT_SHARE))
        polygon = layout.polygons[z]
        u_lon, u_lat = _sample_in_polygon(polygon, size=size - n_hot, rng=rng)
        h_lon, h_lat = _sample_in_polygon(polygon, size=n_hot, rng=rng, centers=centers)
        mix = rng.permutation(size)
        target = order[bounds[z] : bounds[z + 1]]
        lon[target] = np.concatenate([u_lon, h_lon])[mix]
        lat[target] = np.concatenate([u_lat, h_lat])[mix]
    return lon, lat


def _local_to_utc(naive: pl.Expr) -> pl.Expr:
    """Local wall-clock times to UTC; times skipped by DST move an hour later."""
    options: dict[str, Any] = {"ambiguous": "earliest", "non_existent": "null"}
    local = naive.dt.replace_time_zone(TIMEZONE, **options)
    shifted = (naive + pl.duration(hours=1)).dt.replace_time_zone(TIMEZONE, **options)
    return local.fill_null(shifted).dt.convert_time_zone("UTC")


def _build_trips(
    params: DemoParams,
    *,
    layout: _Layout,
    share: FloatArray,
    calendar: _Calendar,
    counts: IntArray,
    sites: _Sites,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Expand zone-day counts into trip rows (hour, destination, points, times, vehicle)."""
    n_days, n_zones = counts.shape
    per_day = counts.sum(axis=1)
    day = np.repeat(np.arange(n_days), per_day)
    origin = np.repeat(np.tile(np.arange(n_zones), n_days), counts.ravel())
    n = len(day)
    day_off = calendar.day_off[day]

    central = rng.random(n) < _centrality(layout)[origin]
    hour = _sample_grouped(_hour_profiles(), day_off * 2 + central, rng)
    second = rng.integers(0, 3600, n)
    dest_class = np.where(
        day_off,
        3,
        np.where((hour >= 6) & (hour < 10), 0, np.where((hour >= 15) & (hour < 20), 1, 2)),
    )
    weights = _destination_weights(layout, share)
    destination = _sample_grouped(weights, dest_class * n_zones + origin, rng)

    start_lon, start_lat = _points_for_zones(origin, layout=layout, sites=sites, rng=rng)
    end_lon, end_lat = _points_for_zones(destination, layout=layout, sites=sites, rng=rng)
    distance = np.maximum(
        _DETOUR * _haversine_m(start_lat, start_lon, end_lat, end_lon), _MIN_DISTANCE_M
    ).round(1)
    speed_kmh = np.clip(rng.lognormal(math.log(12.0), 0.25, n), 5.0, 25.0)
    speed_kmh *= np.where(day_off, 0.9, 1.0)
    duration = np.round(distance / (speed_kmh / 3.6) + rng.uniform(20.0, 90.0, n))

    local_day = calendar.dates[day]
    naive = local_day.astype("datetime64[us]") + (hour * 3600 + second) * np.timedelta64(1, "s")
    ids = layout.ids
    zone_ids = pl.Series(ids, dtype=pl.String)
    frame = (
        pl.DataFrame(
            {
                "naive": naive,
                "date": local_day,
                "origin": origin.astype(np.int32),
                "destination": destination.astype(np.int32),
                "start_lat": start_lat,
                "start_lon": start_lon,
                "end_lat": end_lat,
                "end_lon": end_lon,
                "distance_m": distance,
                "duration_s": duration,
            }
        )
        .with_columns(
            started_at=_local_to_utc(pl.col("naive")),
            date=pl.col("date").cast(pl.Date),
        )
        .with_columns(
            ended_at=pl.col("started_at")
            + pl.duration(seconds=pl.col("duration_s").cast(pl.Int64)),
        )
        .sort(["started_at", "origin", "destination"], maintain_order=True)
    )
    vehicle = _assign_vehicles(
        params,
        day_of_trip=(frame["date"] - params.start).dt.total_days().to_numpy(),
        started_us=frame["started_at"].dt.epoch("us").to_numpy(),
        ended_us=frame["ended_at"].dt.epoch("us").to_numpy(),
        rng=rng,
    )
    frame = frame.with_columns(
        system_id=pl.lit(SYSTEM_ID),
        trip_id=pl.lit(f"{SYSTEM_ID}-") + pl.int_range(pl.len()).cast(pl.String).str.zfill(9),
        vehicle_id=pl.Series(_vehicle_ids(params.fleet_size)).gather(vehicle),
        vehicle_type=pl.lit(VehicleKind.SCOOTER.value),
        start_zone=zone_ids.gather(frame["origin"]),
        end_zone=zone_ids.gather(frame["destination"]),
        provider=pl.lit(PROVIDER),
    )
    return domain.conform(frame, domain.TRIPS)


def _vehicle_ids(fleet_size: int) -> list[str]:
    return [f"{SYSTEM_ID}-v{i + 1:05d}" for i in range(fleet_size)]


def _assign_vehicles(
    params: DemoParams,
    *,
    day_of_trip: IntArray,
    started_us: IntArray,
    ended_us: IntArray,
    rng: np.random.Generator,
) -> IntArray:
    """Vehicle index per trip (trips sorted by start): a day cycles through its active fleet.

    The active fleet grows with demand up to ``fleet_size`` on the last day; cycling
    through a daily permutation keeps one vehicle's trips on a day many trips apart. The
    rare trip that would still start before its vehicle's previous trip ended (long trips
    on peak days) is handed to another active vehicle until no vehicle rides twice at once.
    """
    n_days, fleet = params.days, params.fleet_size
    years_before_end = (n_days - 1 - np.arange(n_days)) / 365.25
    active = np.round(fleet / (1 + params.annual_growth) ** years_before_end).astype(np.int64)
    active = np.clip(active, min(fleet, 50), fleet)
    permutations = rng.permuted(np.tile(np.arange(fleet), (n_days, 1)), axis=1)
    first = np.searchsorted(day_of_trip, np.arange(n_days))
    position = np.arange(len(day_of_trip)) - first[day_of_trip]
    vehicle: IntArray = permutations[day_of_trip, position % active[day_of_trip]]
    for _ in range(50):
        order = np.lexsort((started_us, vehicle))
        clash = (vehicle[order[1:]] == vehicle[order[:-1]]) & (
            started_us[order[1:]] < ended_us[order[:-1]]
        )
        if not clash.any():
            break
        moved = order[1:][clash]
        days = day_of_trip[moved]
        vehicle[moved] = permutations[days, rng.integers(0, active[days])]
    return vehicle


# --------------------------------------------------------------------------- fleet snapshot


def _build_vehicles(
    params: DemoParams, *, layout: _Layout, sites: _Sites, rng: np.random.Generator
) -> pl.DataFrame:
    """The fleet at the end of the last day: mostly at parkings, some astray, a few outside."""
    fleet = params.fleet_size
    n_astray, n_outside = round(0.045 * fleet), round(0.02 * fleet)
    kind = rng.permutation(  # 0 at a parking, 1 astray in a zone, 2 outside the service area
        np.repeat([0, 1, 2], [fleet - n_astray - n_outside, n_astray, n_outside])
    )
    lon = np.empty(fleet)
    lat = np.empty(fleet)
    proj = layout.projection

    at_parking = np.flatnonzero(kind == 0)
    capacity = sites.frame["max_vehicles"].to_numpy().astype(np.float64)
    parking = rng.choice(len(capacity), size=len(at_parking), p=capacity / capacity.sum())
    radius = 0.8 * _PARKING_RADIUS_M * np.sqrt(rng.random(len(at_parking)))
    angle = rng.uniform(0.0, 2 * np.pi, len(at_parking))
    lon[at_parking], lat[at_parking] = proj.to_lonlat(
        sites.x[parking] + radius * np.cos(angle), sites.y[parking] + radius * np.sin(angle)
    )

    astray = np.flatnonzero(kind == 1)
    zone_of = rng.choice(layout.n, size=len(astray))
    for i, z in zip(astray, zone_of, strict=True):
        lon[i], lat[i] = _point_away_from_parkings(layout, sites, zone=int(z), rng=rng)

    outside = np.flatnonzero(kind == 2)
    ring = shapely.difference(
        shapely.buffer(layout.service_metric, 1500.0), shapely.buffer(layout.service_metric, 150.0)
    )
    land = shapely.Polygon(
        [*zip(_SHORE_X, _SHORE_Y, strict=True), (-40000.0, 17500.0), (-40000.0, -17000.0)]
    )
    ring = shapely.intersection(ring, land)
    ox, oy = _uniform_metric(ring, size=len(outside), rng=rng)
    lon[outside], lat[outside] = proj.to_lonlat(ox, oy)

    lon, lat = lon.round(_COORD_DECIMALS), lat.round(_COORD_DECIMALS)
    zone_index = np.full(fleet, -1, dtype=np.int64)
    for z, polygon in enumerate(layout.polygons):
        zone_index[(zone_index < 0) & shapely.contains_xy(polygon, lon, lat)] = z
    ids = layout.ids
    battery = np.where(
        rng.random(fleet) < 0.12, rng.uniform(0.0, 20.0, fleet), 100 * rng.beta(3.0, 1.5, fleet)
    ).round(0)
    disabled = (rng.random(fleet) < 0.025) | (battery < 2)
    reserved = (rng.random(fleet) < 0.01) & ~disabled
    observed_local = datetime.combine(params.end, datetime.min.time()).replace(hour=23, minute=59)
    frame = pl.DataFrame(
        {
            "system_id": SYSTEM_ID,
            "vehicle_id": _vehicle_ids(fleet),
            "observed_local": [observed_local] * fleet,
            "lat": lat,
            "lon": lon,
            "zone_id": [ids[z] if z >= 0 else None for z in zone_index],
            "battery_pct": battery,
            "is_reserved": reserved,
            "is_disabled": disabled,
            "vehicle_type": VehicleKind.SCOOTER.value,
            "date": [params.end] * fleet,
        }
    ).with_columns(observed_at=_local_to_utc(pl.col("observed_local").cast(pl.Datetime("us"))))
    return domain.conform(frame, domain.VEHICLE_STATUS)


def _uniform_metric(
    polygon: Any, *, size: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """``size`` uniform points inside a metric polygon (rejection sampling in batches)."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    got = 0
    minx, miny, maxx, maxy = polygon.bounds
    while got < size:
        x = rng.uniform(minx, maxx, 4 * size + 16)
        y = rng.uniform(miny, maxy, 4 * size + 16)
        inside = shapely.contains_xy(polygon, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(xs)[:size], np.concatenate(ys)[:size]


def _point_away_from_parkings(
    layout: _Layout, sites: _Sites, *, zone: int, rng: np.random.Generator
) -> tuple[float, float]:
    """A lon/lat point in ``zone`` more than three parking radii from every parking."""
    for _ in range(50):
        lon, lat = _sample_in_polygon(layout.polygons[zone], size=8, rng=rng)
        x, y = layout.projection.to_metric(lon, lat)
        gap = np.hypot(x[:, None] - sites.x[None, :], y[:, None] - sites.y[None, :]).min(axis=1)
        far = np.flatnonzero(gap > 3 * _PARKING_RADIUS_M)
        if len(far):
            return float(lon[far[0]]), float(lat[far[0]])
    return float(lon[0]), float(lat[0])  # pragma: no cover - a zone made only of parkings
