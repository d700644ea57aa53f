"""City facts of a system (population, area, density) and daily arrivals at its airports.

**City facts** come from a public web page or a file:

- a Wikipedia city article (any page with an ``infobox`` table in Wikipedia's settlement
  layout), read with BeautifulSoup: the title, the ``Area`` and ``Population`` sections
  (their ``City`` / ``Total`` / ``Land`` rows, in that order of preference) and the
  density row. Areas in km², sq mi, ha or acres and densities per km² or per sq mi are
  converted to km²; thousands separators (``2,746,388``, ``2 746 388``) and footnote marks
  (``[3]``) are understood. The population's year (``Population (2020)``) dates the facts.
- a CSV file (``city, population, area_km2, density_per_km2, as_of`` — any subset but one
  value) or a TOML file with the same keys at the top level or under ``[city_facts]``.

Each row is checked: a population that is not a whole number in 1..100 000 000, an area
outside 0.1..100 000 km², a density outside 1..100 000 /km² or one that disagrees with
population / area by more than a factor of 2 rejects it with its reason. A missing density
is computed from population and area.

**Arrivals** are flights landing at an airport per local day, counted from AeroDataBox's
airport FIDS endpoint (``GET /flights/airports/iata/{IATA}/{fromLocal}/{toLocal}`` on
``aerodatabox.p.rapidapi.com``, at most 12 hours per request, so two requests per day;
``direction=Arrival``, without codeshares, cancelled, cargo and private flights). The
RapidAPI key is read from ``FLEETCAST_AERODATABOX_KEY``; without it the feature is off.
The endpoint serves history and the published schedule ahead, so the days to forecast
have arrivals too. A flight is counted on the local day of its scheduled arrival; a
record without a flight number or a readable scheduled time is rejected with its reason.
Arrivals can also be read from a CSV file (``airport, date, arrivals``).
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import polars as pl
from bs4 import BeautifulSoup, Tag

from fleetcast.errors import SchemaError, SourceError
from fleetcast.sources import _http
from fleetcast.sources._checks import REJECTED_SCHEMA
from fleetcast.sources._tabular import read_table
from fleetcast.sources.validate import ROW, count_reasons

KEY_ENV: Final = "FLEETCAST_AERODATABOX_KEY"
"""The environment variable holding the AeroDataBox (RapidAPI) key."""
AERODATABOX_HOST: Final = "aerodatabox.p.rapidapi.com"
AERODATABOX_URL: Final = f"https://{AERODATABOX_HOST}"
AERODATABOX_SOURCE: Final = "aerodatabox"

SQ_MI_KM2: Final = 2.589988110336
"""One square mile in km²."""
_HA_KM2: Final = 0.01
_ACRE_KM2: Final = 0.004046856422

MAX_POPULATION: Final = 100_000_000
MIN_AREA_KM2: Final = 0.1
MAX_AREA_KM2: Final = 100_000.0
MAX_DENSITY: Final = 100_000.0
DENSITY_TOLERANCE: Final = 2.0
"""A stated density may differ from population / area by this factor (land vs total area)."""
MAX_DAILY_ARRIVALS: Final = 5_000
"""More arrivals than the busiest airports see in a day (about 1,500) is not believed."""

FACT_FIELDS: Final = ("city", "population", "area_km2", "density_per_km2", "as_of")
_AREA_LABELS: Final = ("city", "total", "city/state", "municipality", "land", "urban")
_POPULATION_LABELS: Final = ("city", "total", "city/state", "municipality", "estimate", "urban")
_IATA = re.compile(r"^[A-Z]{3}$")
# A number with thousands groups (2,746,388 / 2 746 388 / 2.746.388 not supported) or plain.
_NUMBER = re.compile(r"\d{1,3}(?:[,\u00a0\u2009\u202f ]\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
_YEAR = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")
_FOOTNOTE = re.compile(r"\[[^\]]{1,12}\]")
_AREA_UNITS: Final = (
    (re.compile(r"km\s*(?:2|²)|square\s+kilomet", re.I), 1.0),
    (re.compile(r"sq\s*mi|square\s+mile|mi\s*(?:2|²)", re.I), SQ_MI_KM2),
    (re.compile(r"\bha\b|hectare", re.I), _HA_KM2),
    (re.compile(r"\bacres?\b", re.I), _ACRE_KM2),
)


@dataclass(frozen=True, slots=True)
class CityFacts:
    """What is known about a system's city; any value may be missing (None)."""

    city: str | None = None
    country: str | None = None
    population: int | None = None
    area_km2: float | None = None
    density_per_km2: float | None = None
    year: int | None = None
    """The year the population figure is for, when the source says."""


@dataclass(slots=True)
class CheckedFacts:
    """City-fact rows checked: accepted rows (:data:`FACT_FIELDS`), rejected with reasons."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class CheckedArrivals:
    """Daily arrivals checked: accepted ``airport, date, arrivals``; rejected rows or flights
    with reasons; ``excluded`` counts flights deliberately not counted, per reason."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)


_FACTS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "city": pl.String(),
    "population": pl.Int64(),
    "area_km2": pl.Float64(),
    "density_per_km2": pl.Float64(),
    "as_of": pl.Date(),
}
ARRIVALS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "airport": pl.String(),
    "date": pl.Date(),
    "arrivals": pl.Int64(),
}


# -- numbers and units ---------------------------------------------------------------------


def parse_number(text: str) -> float | None:
    """The first number in ``text``, thousands separators removed; None when there is none.

    ``"2,746,388"`` and ``"2 746 388"`` are 2746388; ``"607.44 km2"`` is 607.44; footnote
    marks such as ``[3]`` are ignored.
    """
    match = _NUMBER.search(_FOOTNOTE.sub(" ", text))
    if match is None:
        return None
    digits = re.sub(r"[,\u00a0\u2009\u202f ]", "", match.group(0))
    return float(digits)


def parse_area_km2(text: str) -> float | None:
    """An area in km² from text such as ``"234.5 sq mi (607.4 km2)"`` or ``"891.3 km²"``.

    The km² figure wins when both are given; sq mi, ha and acres are converted. A number
    without a known unit is None (never guessed).
    """
    return _value_in_units(_FOOTNOTE.sub(" ", text), per=False)


def parse_density_km2(text: str) -> float | None:
    """A density per km² from text such as ``"11,841.8/sq mi (4,572.0/km2)"``."""
    return _value_in_units(_FOOTNOTE.sub(" ", text), per=True)


def _value_in_units(text: str, *, per: bool) -> float | None:
    """The number right before the first unit found, in preference order km² > sq mi > ...,
    scaled to km² (``per``: the unit divides, as in a density)."""
    for unit, scale in _AREA_UNITS:
        for found in unit.finditer(text):
            before = text[: found.start()].rstrip()
            if per:
                if not before.endswith(("/", "per")):
                    continue
                before = before.removesuffix("/").removesuffix("per").rstrip()
            numbers = list(_NUMBER.finditer(before))
            if not numbers or numbers[-1].end() != len(before):
                continue
            value = parse_number(numbers[-1].group(0))
            if value is None:
                continue
            return value / scale if per else value * scale
    return None


# -- city facts from a web page ------------------------------------------------------------


def fetch_city_page(url: str, *, client: httpx.Client | None = None) -> CityFacts:
    """Fetch a city's page and read its facts (see :func:`parse_city_page`)."""
    own = client is None
    http = _http.build_client() if client is None else client
    try:
        body = _http.get_bytes(http, url)
    finally:
        if own:
            http.close()
    return parse_city_page(body, source=url)


def parse_city_page(html: bytes | str, *, source: str = "page") -> CityFacts:
    """City facts from a page's infobox (Wikipedia settlement layout).

    A page without an infobox, or one whose infobox has neither a population nor an area,
    is a SourceError naming the page: nothing is guessed from the rest of the text.
    """
    soup = BeautifulSoup(html, "html.parser")
    box = soup.find("table", class_="infobox")
    if not isinstance(box, Tag):
        raise SourceError(
            f"{source} has no infobox table: give the URL of a city's Wikipedia article "
            "(e.g. https://en.wikipedia.org/wiki/Chicago) or load the facts from a file"
        )
    for sup in box.find_all("sup", class_="reference"):
        sup.decompose()
    sections: dict[str, dict[str, str]] = {}
    header_text: dict[str, str] = {}
    current: str | None = None
    country: str | None = None
    for row in box.find_all("tr"):
        th = row.find("th")
        td = row.find("td")
        label = _clean(th.get_text(" ")) if isinstance(th, Tag) else ""
        value = _clean(td.get_text(" ")) if isinstance(td, Tag) else ""
        if not label:
            continue
        lowered = label.lower()
        is_sub = label.startswith(("•", "-", "–")) or "mergedrow" in (row.get("class") or [])
        name = lowered.lstrip("•-– ").split("(")[0].strip()
        if not is_sub or "mergedtoprow" in (row.get("class") or []):
            head = name if name in ("area", "population") else None
            current = head
            if head is not None:
                header_text[head] = label
                if value:
                    sections.setdefault(head, {}).setdefault("total", value)
            if name == "country" and value:
                country = value
            continue
        if current is not None:
            sections.setdefault(current, {}).setdefault(name, value)
        if name == "density" and value:
            sections.setdefault("density", {})["density"] = value
    area_rows = sections.get("area", {})
    population_rows = sections.get("population", {})
    area = _first(area_rows, _AREA_LABELS, parse_area_km2)
    population = _first(population_rows, _POPULATION_LABELS, parse_number)
    density_text = sections.get("density", {}).get("density") or population_rows.get("density")
    density = parse_density_km2(density_text) if density_text else None
    if area is None and population is None:
        raise SourceError(
            f"{source}: the infobox has no readable population or area (sections found: "
            f"{sorted(sections) or 'none'}); load the facts from a file instead"
        )
    year_match = _YEAR.search(header_text.get("population", ""))
    return CityFacts(
        city=_title(soup, box),
        country=country,
        population=None if population is None else round(population),
        area_km2=area,
        density_per_km2=density,
        year=int(year_match.group(1)) if year_match else None,
    )


def _first(
    rows: Mapping[str, str], labels: Sequence[str], parse: Callable[[str], float | None]
) -> float | None:
    """The parsed value of the first preferred label present and readable."""
    for label in labels:
        text = rows.get(label)
        if text:
            value = parse(text)
            if value is not None:
                return float(value)
    return None


def _title(soup: BeautifulSoup, box: Tag) -> str | None:
    """The infobox's title (the city's name), else the page's first heading."""
    for candidate in (
        box.find(class_="fn"),
        box.find("caption"),
        box.find(class_="infobox-above"),
        soup.find(id="firstHeading"),
    ):
        if isinstance(candidate, Tag):
            text = _clean(candidate.get_text(" "))
            if text:
                return text
    return None


def _clean(text: str) -> str:
    """Text with footnote marks removed and runs of blanks as one space."""
    return " ".join(_FOOTNOTE.sub(" ", text).replace("\u00a0", " ").split())


# -- city facts checked ----------------------------------------------------------------------


def facts_frame(facts: CityFacts, *, as_of: date) -> pl.DataFrame:
    """One row of :data:`FACT_FIELDS` from parsed facts, dated ``as_of``."""
    return pl.DataFrame(
        [
            {
                "city": facts.city,
                "population": facts.population,
                "area_km2": facts.area_km2,
                "density_per_km2": facts.density_per_km2,
                "as_of": as_of,
            }
        ],
        schema=_FACTS_SCHEMA,
    )


def check_facts(rows: Sequence[Mapping[str, Any]]) -> CheckedFacts:
    """Check city-fact rows (values as parsed, or text from a file) and split them.

    Every reason a row fails is kept; an accepted row without a density gets population /
    area. Two rows for the same ``as_of`` keep the first and reject the second.
    """
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[date] = set()
    for number, row in enumerate(rows, start=1):
        reasons: list[str] = []
        city = _text(row.get("city"))
        population = _read_value(row.get("population"), "population", reasons)
        area = _read_value(row.get("area_km2"), "area_km2", reasons)
        density = _read_value(row.get("density_per_km2"), "density_per_km2", reasons)
        as_of = _read_day(row.get("as_of"), reasons)
        if population is not None and (
            population != int(population) or not 1 <= population <= MAX_POPULATION
        ):
            reasons.append(f"population is not a whole number in 1..{MAX_POPULATION:,}")
        if area is not None and not MIN_AREA_KM2 <= area <= MAX_AREA_KM2:
            reasons.append(f"area outside {MIN_AREA_KM2:g}..{MAX_AREA_KM2:,.0f} km²")
        if density is not None and not 1 <= density <= MAX_DENSITY:
            reasons.append(f"density outside 1..{MAX_DENSITY:,.0f} per km²")
        if population is None and area is None and density is None and not reasons:
            reasons.append("no population, area or density")
        if not reasons and population and area and density:
            implied = population / area
            if not 1 / DENSITY_TOLERANCE <= density / implied <= DENSITY_TOLERANCE:
                reasons.append(
                    f"density {density:,.0f}/km² disagrees with population / area "
                    f"({implied:,.0f}/km²)"
                )
        if not reasons and as_of in seen:
            reasons.append("duplicate as_of in this input")
        if reasons:
            record = json.dumps({k: _jsonable(v) for k, v in row.items()}, ensure_ascii=False)
            rejected.append({"row_number": number, "reason": "; ".join(reasons), "record": record})
            continue
        seen.add(as_of)
        if density is None and population and area:
            density = population / area
        accepted.append(
            {
                "city": city,
                "population": None if population is None else int(population),
                "area_km2": area,
                "density_per_km2": density,
                "as_of": as_of,
            }
        )
    rejected_frame = pl.DataFrame(rejected, schema=REJECTED_SCHEMA)
    return CheckedFacts(
        accepted=pl.DataFrame(accepted, schema=_FACTS_SCHEMA),
        rejected=rejected_frame,
        rows_read=len(rows),
        reasons=count_reasons(rejected_frame),
    )


def read_facts_file(path: Path, *, default_as_of: date) -> CheckedFacts:
    """City facts from a CSV or TOML file (rows without ``as_of`` are dated ``default_as_of``).

    A file without any of the value columns, or TOML that does not parse, is a SchemaError.
    """
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path} is not valid TOML: {exc}") from exc
        table = data.get("city_facts", data)
        entries = table if isinstance(table, list) else [table]
        if not all(isinstance(e, dict) for e in entries):
            raise SchemaError(f"{path}: [city_facts] must be a table or an array of tables")
        rows: list[dict[str, Any]] = [{k: e.get(k) for k in FACT_FIELDS} for e in entries]
    else:
        text = read_table(path)
        by_lower = {c.lower(): c for c in text.frame.columns if c != ROW}
        rows = [
            {k: (r.get(by_lower[k]) if k in by_lower else None) for k in FACT_FIELDS}
            for r in text.frame.to_dicts()
        ]
    if not rows:
        raise SchemaError(f"{path} holds no rows")
    if all(all(r.get(k) in (None, "") for k in FACT_FIELDS[1:4]) for r in rows):
        raise SchemaError(
            f"{path} has no population, area_km2 or density_per_km2 values; name the "
            f"columns {', '.join(FACT_FIELDS)}"
        )
    for row in rows:
        if row.get("as_of") in (None, ""):
            row["as_of"] = default_as_of
    return check_facts(rows)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _read_value(value: Any, name: str, reasons: list[str]) -> float | None:
    """A number from a parsed value or file text (thousands separators allowed)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        reasons.append(f"unparseable {name}")
        return None
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            reasons.append(f"unparseable {name}")
            return None
        return float(value)
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,3}(?:[, \u00a0\u2009\u202f]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?", text):
        reasons.append(f"unparseable {name}")
        return None
    return float(re.sub(r"[, \u00a0\u2009\u202f]", "", text))


def _read_day(value: Any, reasons: list[str]) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        reasons.append("unparseable as_of (use YYYY-MM-DD)")
        return date.min


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return value


# -- airport arrivals --------------------------------------------------------------------------


def aerodatabox_key(env: Mapping[str, str] | None = None) -> str | None:
    """The AeroDataBox key from the environment, or None (arrivals are then off)."""
    value = (os.environ if env is None else env).get(KEY_ENV, "").strip()
    return value or None


def check_iata(code: str) -> str:
    """An airport's IATA code in upper case, or a SchemaError saying what one looks like."""
    upper = code.strip().upper()
    if not _IATA.match(upper):
        raise SchemaError(f"airport {code!r} is not an IATA code (three letters, e.g. ORD)")
    return upper


def arrivals_requests(
    airport: str, day: date, *, base_url: str = AERODATABOX_URL
) -> list[tuple[str, dict[str, str]]]:
    """The two FIDS requests (00:00-11:59, 12:00-23:59 local) covering ``day`` at ``airport``."""
    code = check_iata(airport)
    params = {
        "direction": "Arrival",
        "withLeg": "false",
        "withCancelled": "false",
        "withCodeshared": "false",
        "withCargo": "false",
        "withPrivate": "false",
        "withLocation": "false",
    }
    out = []
    for start, end in (("00:00", "11:59"), ("12:00", "23:59")):
        url = f"{base_url.rstrip('/')}/flights/airports/iata/{code}/{day}T{start}/{day}T{end}"
        out.append((url, dict(params)))
    return out


def rapidapi_headers(key: str, *, host: str = AERODATABOX_HOST) -> dict[str, str]:
    """The headers RapidAPI wants for AeroDataBox."""
    return {"X-RapidAPI-Key": key, "X-RapidAPI-Host": host}


def parse_fids(body: bytes, *, source: str) -> list[Any]:
    """The ``arrivals`` list of a FIDS answer; an empty body (HTTP 204) is no flights.

    A body that is not JSON, an error object or an answer without an ``arrivals`` list is a
    SourceError naming the request.
    """
    if not body.strip():
        return []
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{source} answered with a body that is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise SourceError(f"{source} answered {json.dumps(payload)[:200]} instead of an object")
    if "arrivals" not in payload:
        said = payload.get("message") or payload.get("error") or sorted(payload)
        raise SourceError(f"{source} answered without an 'arrivals' list: {str(said)[:200]}")
    arrivals = payload["arrivals"]
    if arrivals is None:
        return []
    if not isinstance(arrivals, list):
        raise SourceError(f"{source}: 'arrivals' is {type(arrivals).__name__}, not a list")
    return arrivals


def count_flights(
    flights: Sequence[tuple[str, Any]], *, airports: Sequence[str], days: Sequence[date]
) -> CheckedArrivals:
    """Count ``(airport, FIDS record)`` pairs per airport and scheduled local day.

    A record that is not an object, lacks a flight number or a readable scheduled arrival
    time is rejected with its reason. Cancelled flights, codeshares, cargo flights, a
    flight seen twice (the windows overlap on revised times) and flights scheduled outside
    ``days`` are not counted and are tallied in ``excluded``. Every (airport, day) asked
    gets a row, 0 when no flight landed.
    """
    wanted = set(days)
    codes = sorted({*airports, *(a for a, _ in flights)})
    counts: dict[tuple[str, date], int] = {(a, d): 0 for a in codes for d in wanted}
    seen: set[tuple[str, str, str]] = set()
    rejected: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}

    def exclude(reason: str) -> None:
        excluded[reason] = excluded.get(reason, 0) + 1

    for number, (airport, record) in enumerate(flights, start=1):
        reasons: list[str] = []
        if not isinstance(record, dict):
            reasons.append("flight record is not an object")
            record_dict: dict[str, Any] = {}
        else:
            record_dict = record
        flight = record_dict.get("number")
        if record_dict and not (isinstance(flight, str) and flight.strip()):
            reasons.append("missing flight number")
        movement = record_dict.get("movement") or record_dict.get("arrival")
        scheduled = movement.get("scheduledTime") if isinstance(movement, dict) else None
        local = scheduled.get("local") if isinstance(scheduled, dict) else None
        day = _local_day(local)
        if record_dict and day is None:
            reasons.append("missing or unreadable scheduled arrival time")
        if reasons:
            rejected.append(
                {
                    "row_number": number,
                    "reason": "; ".join(reasons),
                    "record": json.dumps({"airport": airport, "flight": record}, default=str)[
                        :2000
                    ],
                }
            )
            continue
        assert day is not None and isinstance(flight, str) and isinstance(local, str)
        status = str(record_dict.get("status") or "")
        if status.lower().startswith("cancel"):
            exclude("cancelled")
        elif record_dict.get("codeshareStatus") == "IsCodeshared":
            exclude("codeshare (counted under the operating flight)")
        elif record_dict.get("isCargo") is True:
            exclude("cargo")
        elif (airport, flight.strip(), local) in seen:
            exclude("listed twice")
        elif day not in wanted:
            exclude("scheduled outside the asked days")
        else:
            seen.add((airport, flight.strip(), local))
            counts[(airport, day)] += 1
    rejected_frame = pl.DataFrame(rejected, schema=REJECTED_SCHEMA)
    accepted = pl.DataFrame(
        [{"airport": a, "date": d, "arrivals": n} for (a, d), n in counts.items()],
        schema=ARRIVALS_SCHEMA,
    ).sort("airport", "date")
    return CheckedArrivals(
        accepted=accepted,
        rejected=rejected_frame,
        rows_read=len(flights),
        reasons=count_reasons(rejected_frame),
        excluded=excluded,
    )


def fetch_arrivals(
    airports: Sequence[str],
    days: Sequence[date],
    *,
    key: str,
    client: httpx.Client | None = None,
    base_url: str = AERODATABOX_URL,
) -> CheckedArrivals:
    """Daily arrivals at ``airports`` on ``days`` from AeroDataBox (two requests a day).

    Every request is made before anything is returned, so a failed one (SourceError, the key
    hidden from the message) loses nothing already stored.
    """
    if not key:
        raise SchemaError(f"no AeroDataBox key: set {KEY_ENV}")
    own = client is None
    http = _http.build_client() if client is None else client
    flights: list[tuple[str, Any]] = []
    try:
        for airport in airports:
            code = check_iata(airport)
            for day in sorted(set(days)):
                for url, params in arrivals_requests(code, day, base_url=base_url):
                    body = _http.get_bytes(http, url, params=params, headers=rapidapi_headers(key))
                    flights += [(code, f) for f in parse_fids(body, source=f"GET {url}")]
    finally:
        if own:
            http.close()
    return count_flights(flights, airports=[check_iata(a) for a in airports], days=days)


def fetch_airport_info(
    airport: str, *, key: str, client: httpx.Client | None = None, base_url: str = AERODATABOX_URL
) -> dict[str, Any]:
    """An airport's ICAO code, name and position from AeroDataBox (``/airports/iata/{code}``)."""
    code = check_iata(airport)
    own = client is None
    http = _http.build_client() if client is None else client
    url = f"{base_url.rstrip('/')}/airports/iata/{code}"
    try:
        payload = _http.get_json(http, url, headers=rapidapi_headers(key))
    finally:
        if own:
            http.close()
    if not isinstance(payload, dict):
        raise SourceError(f"GET {url} answered {str(payload)[:200]} instead of an airport")
    location = payload.get("location") if isinstance(payload.get("location"), dict) else {}
    assert isinstance(location, dict)
    lat, lon = location.get("lat"), location.get("lon")
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    return {
        "airport": code,
        "icao": payload.get("icao") if isinstance(payload.get("icao"), str) else None,
        "name": payload.get("fullName") or payload.get("shortName"),
        "lat": float(lat) if ok else None,  # type: ignore[arg-type]
        "lon": float(lon) if ok else None,  # type: ignore[arg-type]
    }


def read_arrivals_file(path: Path, *, encoding: str | None = None) -> CheckedArrivals:
    """Daily arrivals from a CSV or Parquet file with ``airport, date, arrivals`` columns.

    Rejected: an airport that is not an IATA code, a date that is not YYYY-MM-DD, arrivals
    that are not a whole number in 0..5,000, an (airport, date) already given. A file
    without those columns is a SchemaError.
    """
    table = read_table(path, encoding=encoding)
    by_lower = {c.lower(): c for c in table.frame.columns if c != ROW}
    missing = [c for c in ("airport", "date", "arrivals") if c not in by_lower]
    if missing:
        shown = [c for c in table.frame.columns if c != ROW]
        raise SchemaError(
            f"{path.name} lacks column(s) {missing}; it has {shown[:20]}. An arrivals file "
            "has airport (IATA), date (YYYY-MM-DD) and arrivals (flights landed that day)"
        )
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[tuple[str, date]] = set()
    for raw in table.frame.to_dicts():
        reasons: list[str] = []
        airport = str(raw.get(by_lower["airport"]) or "").strip().upper()
        if not _IATA.match(airport):
            reasons.append("airport is not an IATA code")
        day: date | None
        try:
            day = date.fromisoformat(str(raw.get(by_lower["date"]) or "").strip())
        except ValueError:
            day = None
            reasons.append("unparseable date (use YYYY-MM-DD)")
        text = str(raw.get(by_lower["arrivals"]) or "").strip().replace(",", "")
        arrivals = int(text) if text.isdigit() else None
        if arrivals is None:
            reasons.append("arrivals is not a whole number")
        elif arrivals > MAX_DAILY_ARRIVALS:
            reasons.append(f"arrivals above {MAX_DAILY_ARRIVALS:,}")
        if not reasons and day is not None and (airport, day) in seen:
            reasons.append("duplicate airport and date in this input")
        if reasons:
            record = json.dumps({k: v for k, v in raw.items() if k != ROW}, default=str)
            rejected.append(
                {"row_number": raw[ROW], "reason": "; ".join(reasons), "record": record}
            )
            continue
        assert day is not None
        seen.add((airport, day))
        accepted.append({"airport": airport, "date": day, "arrivals": arrivals})
    rejected_frame = pl.concat(
        [pl.DataFrame(rejected, schema=REJECTED_SCHEMA), table.malformed.cast(REJECTED_SCHEMA)]  # type: ignore[arg-type]
    )
    return CheckedArrivals(
        accepted=pl.DataFrame(accepted, schema=ARRIVALS_SCHEMA).sort("airport", "date"),
        rejected=rejected_frame,
        rows_read=table.rows_read,
        reasons=count_reasons(rejected_frame),
    )


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive; a SchemaError when ``end`` < ``start``."""
    if end < start:
        raise SchemaError(f"end {end} is before start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _local_day(text: Any) -> date | None:
    """The local day of a FIDS time such as ``"2026-11-30 07:05-06:00"``."""
    if not isinstance(text, str):
        return None
    match = re.match(r"^\s*(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}", text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None
