"""City facts, airports and daily airport arrivals in the db (tables of migration 0008).

``city_facts`` holds one row per system and ``as_of`` day (a history: a new census adds a
row, re-loading the same facts replaces theirs); ``airports`` the airports near a system,
keyed by IATA code; ``airport_arrivals_daily`` flights landed per airport and local day,
keyed by (system_id, airport, date) and tied to its airport row. Every write is an upsert,
so re-running an ingest on the same input changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import polars as pl
from sqlalchemy import Connection, select

from fleetcast.store.records import upsert
from fleetcast.store.tables import Airport, AirportArrivalsDaily, CityFacts

CITY_FACTS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "as_of": pl.Date(),
    "city": pl.String(),
    "population": pl.Int64(),
    "area_km2": pl.Float64(),
    "density_per_km2": pl.Float64(),
    "source": pl.String(),
    "source_url": pl.String(),
    "retrieved_at": pl.Datetime("us", "UTC"),
}
AIRPORTS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "airport": pl.String(),
    "icao": pl.String(),
    "name": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "distance_km": pl.Float64(),
}
ARRIVALS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "airport": pl.String(),
    "date": pl.Date(),
    "arrivals": pl.Int64(),
    "source": pl.String(),
}


def save_city_facts(
    conn: Connection,
    system_id: str,
    facts: pl.DataFrame,
    *,
    source: str,
    source_url: str | None,
    retrieved_at: datetime | None = None,
) -> int:
    """Upsert city-fact rows (``as_of, city, population, area_km2, density_per_km2``)."""
    when = retrieved_at or datetime.now(UTC)
    rows = [
        {
            "system_id": system_id,
            "as_of": r["as_of"],
            "city": r.get("city"),
            "population": r.get("population"),
            "area_km2": r.get("area_km2"),
            "density_per_km2": r.get("density_per_km2"),
            "source": source,
            "source_url": source_url,
            "retrieved_at": when,
        }
        for r in facts.iter_rows(named=True)
    ]
    return upsert(conn, CityFacts, rows)


def load_city_facts(conn: Connection, system_id: str) -> pl.DataFrame:
    """Every city-fact row of a system, oldest ``as_of`` first."""
    columns = [getattr(CityFacts, c) for c in CITY_FACTS_SCHEMA]
    result = conn.execute(
        select(*columns).where(CityFacts.system_id == system_id).order_by(CityFacts.as_of)
    )
    rows = [tuple(r) for r in result]
    frame = pl.DataFrame(rows, schema=CITY_FACTS_SCHEMA, orient="row")
    return frame


def latest_city_facts(
    conn: Connection, system_id: str, *, on: date | None = None
) -> dict[str, Any] | None:
    """The newest city facts dated on or before ``on`` (any day when None), or None."""
    columns = [getattr(CityFacts, c) for c in CITY_FACTS_SCHEMA]
    query = select(*columns).where(CityFacts.system_id == system_id)
    if on is not None:
        query = query.where(CityFacts.as_of <= on)
    row = conn.execute(query.order_by(CityFacts.as_of.desc()).limit(1)).mappings().first()
    return None if row is None else dict(row)


def save_airports(conn: Connection, system_id: str, airports: Sequence[Mapping[str, Any]]) -> int:
    """Upsert airports of a system; keys missing from a row leave stored values alone."""
    rows = [{"system_id": system_id, **a} for a in airports]
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    return sum(upsert(conn, Airport, group) for group in by_keys.values())


def load_airports(conn: Connection, system_id: str) -> pl.DataFrame:
    """Airports of a system, by IATA code."""
    result = conn.execute(
        select(*[getattr(Airport, c) for c in AIRPORTS_SCHEMA])
        .where(Airport.system_id == system_id)
        .order_by(Airport.airport)
    )
    return pl.DataFrame([tuple(r) for r in result], schema=AIRPORTS_SCHEMA, orient="row")


def save_arrivals(
    conn: Connection,
    system_id: str,
    arrivals: pl.DataFrame,
    *,
    source: str,
    retrieved_at: datetime | None = None,
) -> int:
    """Upsert daily arrivals (``airport, date, arrivals``); their airports must be stored."""
    when = retrieved_at or datetime.now(UTC)
    rows = [
        {
            "system_id": system_id,
            "airport": r["airport"],
            "date": r["date"],
            "arrivals": int(r["arrivals"]),
            "source": source,
            "retrieved_at": when,
        }
        for r in arrivals.iter_rows(named=True)
    ]
    return upsert(conn, AirportArrivalsDaily, rows)


def load_arrivals(
    conn: Connection, system_id: str, *, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Stored arrivals per airport and day (``airport, date, arrivals, source``)."""
    t = AirportArrivalsDaily
    query = select(t.airport, t.date, t.arrivals, t.source).where(t.system_id == system_id)
    if start is not None:
        query = query.where(t.date >= start)
    if end is not None:
        query = query.where(t.date <= end)
    result = conn.execute(query.order_by(t.airport, t.date))
    return pl.DataFrame([tuple(r) for r in result], schema=ARRIVALS_SCHEMA, orient="row")


def daily_arrivals(
    conn: Connection, system_id: str, *, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Flights landed at all of a system's airports per day (``date, arrivals``).

    A day counts only when every airport that has any stored day has that day, so a gap at
    one airport never reads as a quiet day.
    """
    rows = load_arrivals(conn, system_id, start=start, end=end)
    schema = {"date": pl.Date(), "arrivals": pl.Int64()}
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    airports = rows["airport"].n_unique()
    return (
        rows.group_by("date")
        .agg(pl.col("arrivals").sum(), pl.col("airport").n_unique().alias("_airports"))
        .filter(pl.col("_airports") == airports)
        .select("date", pl.col("arrivals").cast(pl.Int64))
        .sort("date")
    )
