"""City facts from recorded Wikipedia pages and files; arrivals from recorded AeroDataBox
answers and files. Nothing here touches the network."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetcast.errors import SchemaError, SourceError
from fleetcast.sources import context as ctx

DATA = Path(__file__).resolve().parents[1] / "data" / "context"
CHICAGO = DATA / "chicago_wikipedia.html"
LISBON = DATA / "lisbon_wikipedia.html"
MORNING = DATA / "ord_arrivals_2026-11-30_0000_1159.json"
AFTERNOON = DATA / "ord_arrivals_2026-11-30_1200_2359.json"
DAY = date(2026, 11, 30)


def infobox(*rows: str) -> str:
    """A minimal page whose settlement infobox has ``rows`` (HTML ``<tr>`` elements)."""
    body = "".join(rows)
    return (
        '<html><body><h1 id="firstHeading">Testville</h1>'
        f'<table class="infobox ib-settlement vcard"><tbody>{body}</tbody></table></body></html>'
    )


def header(name: str) -> str:
    return f'<tr class="mergedtoprow"><th colspan="2" class="infobox-header">{name}</th></tr>'


def sub(label: str, value: str) -> str:
    return f'<tr class="mergedrow"><th>&nbsp;•&nbsp;{label}</th><td>{value}</td></tr>'


# ------------------------------------------------------------------------------ pages


def test_the_chicago_article_gives_city_population_area_density_and_year() -> None:
    """The recorded Chicago infobox: the City rows win over Land / Metro / Urban, the km²
    figure is read beside sq mi, footnotes are dropped, the census year dates the facts."""
    facts = ctx.parse_city_page(CHICAGO.read_bytes())
    assert facts == ctx.CityFacts(
        city="Chicago",
        country="United States",
        population=2_746_388,
        area_km2=607.44,
        density_per_km2=4656.33,
        year=2020,
    )


def test_a_header_row_holding_its_value_and_thin_space_separators_are_read() -> None:
    """Lisbon's layout: Area / Population rows carry the value themselves, km² comes first,
    the population has a thin space as thousands separator, no density, no year."""
    facts = ctx.parse_city_page(LISBON.read_bytes())
    assert (facts.city, facts.population, facts.area_km2) == ("Lisbon", 567_131, 100.05)
    assert facts.density_per_km2 is None and facts.year is None


def test_a_page_without_an_infobox_is_a_source_error_naming_it() -> None:
    """A disambiguation page has no infobox: refused as a whole, with what to do instead."""
    with pytest.raises(SourceError, match=r"no infobox.*Wikipedia article"):
        ctx.parse_city_page((DATA / "no_infobox.html").read_bytes(), source="the page")


def test_an_infobox_without_population_or_area_is_refused() -> None:
    """An infobox that has neither a population nor an area gives nothing to store."""
    page = infobox("<tr><th>Country</th><td>Nowhere</td></tr>", header("Government"))
    with pytest.raises(SourceError, match="no readable population or area"):
        ctx.parse_city_page(page)


def test_missing_rows_leave_those_facts_unknown() -> None:
    """Only an Area section: the population and density are None, not guessed."""
    facts = ctx.parse_city_page(infobox(header("Area"), sub("Total", "42.0 km<sup>2</sup>")))
    assert facts.area_km2 == 42.0
    assert facts.population is None and facts.density_per_km2 is None
    assert facts.city == "Testville"


def test_land_area_is_used_when_there_is_no_city_or_total_row() -> None:
    """Preference order: City, Total, ..., Land; Water and Metro are never the city's area."""
    page = infobox(
        header("Area"),
        sub("Water", "5 km<sup>2</sup>"),
        sub("Metro", "9,000 km<sup>2</sup>"),
        sub("Land", "120 km<sup>2</sup>"),
    )
    assert ctx.parse_city_page(page).area_km2 == 120.0


def test_an_area_code_row_is_not_an_area() -> None:
    """'Area code(s)' after the Area section must not overwrite or stand in for an area."""
    page = infobox(
        header("Population (2019)"),
        sub("City", "12,000"),
        '<tr class="mergedtoprow"><th>Area code(s)</th><td>312, 773</td></tr>',
    )
    facts = ctx.parse_city_page(page)
    assert facts.area_km2 is None and facts.population == 12_000 and facts.year == 2019


@pytest.mark.parametrize(
    ("text", "km2"),
    [
        ("234.53 sq mi (607.44 km2)", 607.44),
        ("891.3 km² (344.1 sq mi)", 891.3),
        ("100 sq mi", 258.9988110336),
        ("2,500 ha", 25.0),
        ("640 acres", 2.58999),
        ("1 234 km²", 1234.0),
        ("42 furlongs", None),
        ("", None),
    ],
)
def test_areas_in_any_unit_become_km2(text: str, km2: float | None) -> None:
    """sq mi, ha and acres are converted; a number without a known unit is None."""
    got = ctx.parse_area_km2(text)
    assert got == (None if km2 is None else pytest.approx(km2, rel=1e-5))


@pytest.mark.parametrize(
    ("text", "per_km2"),
    [
        ("12,059.84/sq mi (4,656.33/km2)", 4656.33),
        ("4,656.33/km² (12,059.84/sq mi)", 4656.33),
        ("2,589.988/sq mi", 1000.0),
        ("3,000 people", None),
    ],
)
def test_densities_per_sq_mi_become_per_km2(text: str, per_km2: float | None) -> None:
    """Per sq mi is divided by 2.59; a density must have a '/unit'."""
    got = ctx.parse_density_km2(text)
    assert got == (None if per_km2 is None else pytest.approx(per_km2, rel=1e-6))


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([",", " ", "\u2009", "\xa0"]))
def test_thousands_separators_parse_back_to_the_number(value: int, sep: str) -> None:
    """Property: any whole number written with a thousands separator (and a footnote mark)
    parses back to itself."""
    text = f"{value:,}".replace(",", sep) + "[12]"
    assert ctx.parse_number(text) == value


# ------------------------------------------------------------------------------ fact rows


def test_facts_files_check_every_row_and_compute_a_missing_density() -> None:
    """The recorded CSV: two good rows (one density computed), three rejected with reasons
    (zero area, an unreadable population, a density ten times population / area)."""
    checked = ctx.read_facts_file(DATA / "city_facts.csv", default_as_of=date(2026, 1, 1))
    assert checked.accepted["as_of"].to_list() == [date(2010, 4, 1), date(2020, 4, 1)]
    assert checked.accepted["density_per_km2"][1] == pytest.approx(2_746_388 / 606.1)
    assert checked.rows_read == 5 and checked.rejected.height == 3
    assert set(checked.reasons) == {
        "area outside 0.1..100,000 km²",
        "unparseable population",
        "density 45,000/km² disagrees with population / area (4,531/km²)",
    }
    assert json.loads(checked.rejected["record"][1])["population"] == "many"


def test_a_toml_file_gives_one_row_dated_as_written() -> None:
    """The recorded TOML: [city_facts] with an as_of day and no density."""
    checked = ctx.read_facts_file(DATA / "city_facts.toml", default_as_of=date(2026, 1, 1))
    row = checked.accepted.row(0, named=True)
    assert row["city"] == "Lakeside" and row["population"] == 412_000
    assert row["as_of"] == date(2024, 1, 1)


def test_a_file_without_any_value_column_is_a_schema_error(tmp_path: Path) -> None:
    """A CSV that names none of population, area_km2, density_per_km2 is refused."""
    path = tmp_path / "facts.csv"
    path.write_text("town,people\nX,12\n")
    with pytest.raises(SchemaError, match="no population, area_km2 or density_per_km2"):
        ctx.read_facts_file(path, default_as_of=date(2026, 1, 1))


def test_broken_toml_is_a_schema_error(tmp_path: Path) -> None:
    """TOML that does not parse is refused with the parser's message."""
    path = tmp_path / "facts.toml"
    path.write_text("population = = 3\n")
    with pytest.raises(SchemaError, match="not valid TOML"):
        ctx.read_facts_file(path, default_as_of=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"population": 1.5, "as_of": "2020-01-01"}, "population is not a whole number"),
        ({"population": 0, "as_of": "2020-01-01"}, "population is not a whole number"),
        ({"density_per_km2": 200_000, "as_of": "2020-01-01"}, "density outside"),
        ({"city": "X", "as_of": "2020-01-01"}, "no population, area or density"),
        ({"population": 10, "as_of": "someday"}, "unparseable as_of"),
        ({"area_km2": True, "as_of": "2020-01-01"}, "unparseable area_km2"),
    ],
)
def test_impossible_fact_rows_are_rejected_with_their_reason(
    row: dict[str, object], reason: str
) -> None:
    """Nothing is clamped: each impossible value rejects the row with a reason."""
    checked = ctx.check_facts([row])
    assert checked.accepted.is_empty()
    assert reason in checked.rejected["reason"][0]


# ------------------------------------------------------------------------------ arrivals


def recorded_fids() -> list[tuple[str, object]]:
    """The two recorded half-day answers for ORD on 2026-11-30 as (airport, record) pairs."""
    pairs: list[tuple[str, object]] = []
    for path in (MORNING, AFTERNOON):
        pairs += [("ORD", r) for r in ctx.parse_fids(path.read_bytes(), source=path.name)]
    return pairs


def test_recorded_fids_answers_count_each_landed_flight_once() -> None:
    """Six flights landed on the day: one listed in both windows counts once; a cancelled
    flight, a codeshare and a flight scheduled the day before are not counted (tallied); a
    record without a scheduled time is rejected with its reason."""
    checked = ctx.count_flights(recorded_fids(), airports=["ORD"], days=[DAY])
    assert checked.accepted.to_dicts() == [{"airport": "ORD", "date": DAY, "arrivals": 6}]
    assert checked.excluded == {
        "scheduled outside the asked days": 1,
        "cancelled": 1,
        "listed twice": 1,
        "codeshare (counted under the operating flight)": 1,
    }
    assert checked.reasons == {"missing or unreadable scheduled arrival time": 1}
    assert "DL 2291" in checked.rejected["record"][0]
    assert checked.rows_read == 11


def test_an_empty_answer_is_no_flights_and_an_error_object_is_refused() -> None:
    """HTTP 204 (empty body) means no flights; an answer without 'arrivals' or not JSON is a
    SourceError with the server's message."""
    assert ctx.parse_fids(b"", source="GET x") == []
    assert ctx.parse_fids(b'{"arrivals": null}', source="GET x") == []
    with pytest.raises(SourceError, match="not subscribed"):
        ctx.parse_fids((DATA / "rapidapi_not_subscribed.json").read_bytes(), source="GET x")
    with pytest.raises(SourceError, match="not JSON"):
        ctx.parse_fids(b"<html>busy</html>", source="GET x")


def test_a_day_without_flights_still_gets_a_zero_row() -> None:
    """Every airport and day asked gets a row, 0 when nothing landed."""
    checked = ctx.count_flights([], airports=["MDW"], days=[DAY])
    assert checked.accepted.to_dicts() == [{"airport": "MDW", "date": DAY, "arrivals": 0}]


def test_fetch_arrivals_asks_two_half_days_with_the_key_in_headers() -> None:
    """Two requests per day (00:00-11:59, 12:00-23:59 local) with RapidAPI's headers and
    the filters that drop codeshares, cancelled, cargo and private flights."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = MORNING if request.url.path.endswith("T11:59") else AFTERNOON
        return httpx.Response(200, content=body.read_bytes())

    client = httpx.Client(transport=httpx.MockTransport(answer))
    checked = ctx.fetch_arrivals(["ord"], [DAY], key="secret", client=client)
    assert checked.accepted["arrivals"].to_list() == [6]
    assert [r.url.path for r in seen] == [
        "/flights/airports/iata/ORD/2026-11-30T00:00/2026-11-30T11:59",
        "/flights/airports/iata/ORD/2026-11-30T12:00/2026-11-30T23:59",
    ]
    params = seen[0].url.params
    assert params["direction"] == "Arrival" and params["withCodeshared"] == "false"
    assert seen[0].headers["X-RapidAPI-Key"] == "secret"
    assert seen[0].headers["X-RapidAPI-Host"] == ctx.AERODATABOX_HOST


def test_the_key_comes_from_the_environment_and_blank_is_none() -> None:
    """No or a blank FLEETCAST_AERODATABOX_KEY means arrivals are off."""
    assert ctx.aerodatabox_key({}) is None
    assert ctx.aerodatabox_key({ctx.KEY_ENV: "  "}) is None
    assert ctx.aerodatabox_key({ctx.KEY_ENV: "k"}) == "k"


@pytest.mark.parametrize("code", ["OR", "ORDX", "O1D", ""])
def test_an_airport_that_is_not_an_iata_code_is_a_schema_error(code: str) -> None:
    """IATA codes are three letters."""
    with pytest.raises(SchemaError, match="not an IATA code"):
        ctx.check_iata(code)


def test_arrivals_files_reject_bad_rows_with_reasons() -> None:
    """The recorded CSV: five good rows (lower-case code and '1,251' understood), four
    rejected — a 4-letter code, 31 November, a negative count, a duplicate."""
    checked = ctx.read_arrivals_file(DATA / "arrivals_daily.csv")
    assert checked.accepted.height == 5
    assert checked.accepted.filter(airport="ORD")["arrivals"].to_list() == [1204, 1251, 1198]
    assert checked.reasons == {
        "airport is not an IATA code": 1,
        "unparseable date (use YYYY-MM-DD)": 1,
        "arrivals is not a whole number": 1,
        "duplicate airport and date in this input": 1,
    }


def test_an_arrivals_file_without_the_columns_is_a_schema_error(tmp_path: Path) -> None:
    """The message names the missing columns and what the file should hold."""
    path = tmp_path / "a.csv"
    path.write_text("code,day\nORD,2026-11-30\n")
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['airport', 'date', 'arrivals'\]"):
        ctx.read_arrivals_file(path)
