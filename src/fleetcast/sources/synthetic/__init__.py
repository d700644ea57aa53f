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

The package keeps one job per module: ``params`` (identity and ``DemoParams``), ``geometry``
(projection and sampling helpers), ``geography`` (service area and zones), ``sites``
(parkings and depots), ``period`` (days, holidays, growth), ``weather``, ``demand``
(zone-day counts), ``trips``, ``fleet`` (the vehicle snapshot) and ``city`` (assembly).
"""

from __future__ import annotations

from fleetcast.sources.synthetic.city import DemoCity, generate_city, generate_city_from_params
from fleetcast.sources.synthetic.params import (
    CENTER_LAT,
    CENTER_LON,
    DEFAULT_END,
    PROVIDER,
    SYSTEM,
    SYSTEM_ID,
    TIMEZONE,
    DemoParams,
)

__all__ = [
    "CENTER_LAT",
    "CENTER_LON",
    "DEFAULT_END",
    "PROVIDER",
    "SYSTEM",
    "SYSTEM_ID",
    "TIMEZONE",
    "DemoCity",
    "DemoParams",
    "generate_city",
    "generate_city_from_params",
]
