"""Public holidays of a system's country and region, from the `holidays` package."""

from __future__ import annotations

from datetime import date

import holidays

from fleetcast.errors import SchemaError


def holiday_names(
    country: str | None, subdivision: str | None, start: date, end: date
) -> dict[date, str]:
    """Public holidays between ``start`` and ``end`` (inclusive) with their names.

    An unknown country or region is a SchemaError naming it; no country means no holidays.
    Codes are matched in any case (``us`` / ``il`` is ``US`` / ``IL``).
    """
    if not country:
        return {}
    try:
        calendar = holidays.country_holidays(
            country.upper(),
            subdiv=_subdivision(country.upper(), subdivision),
            years=range(start.year, end.year + 1),
        )
    except NotImplementedError as exc:
        raise SchemaError(
            f"no public holidays known for country {country!r} / region {subdivision!r}: "
            "use an ISO 3166 code such as US, FR or DE (and e.g. IL for Illinois)"
        ) from exc
    return {day: str(name) for day, name in sorted(calendar.items()) if start <= day <= end}


def holiday_dates(
    country: str | None, subdivision: str | None, start: date, end: date
) -> frozenset[date]:
    """The days of :func:`holiday_names`."""
    return frozenset(holiday_names(country, subdivision, start, end))


def _subdivision(country: str, subdivision: str | None) -> str | None:
    """The package's own spelling of a region code given in any case (else as given)."""
    if not subdivision:
        return None
    known = holidays.list_supported_countries().get(country, [])
    by_lower = {str(code).lower(): str(code) for code in known}
    return by_lower.get(subdivision.lower(), subdivision)
