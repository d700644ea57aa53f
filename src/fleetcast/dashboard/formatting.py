"""Plain-text number and date formats shared by the pages: thousands separators, ISO dates."""

from __future__ import annotations

from datetime import date, datetime

MISSING = "–"


def count(value: float | None, *, digits: int = 0) -> str:
    """``1,434`` (or ``25.4`` with ``digits``); a dash for a missing value."""
    if value is None or value != value:
        return MISSING
    return f"{value:,.{digits}f}"


def percent(value: float | None, *, digits: int = 1) -> str:
    """A fraction as a percentage: 0.39 -> ``39.0%``."""
    if value is None or value != value:
        return MISSING
    return f"{value:.{digits}%}"


def change(value: float | None) -> str | None:
    """A relative change with its sign (``+4.4%``), None when unknown so no delta is drawn."""
    if value is None or value != value:
        return None
    return f"{value:+.1%}"


def interval(lower: float | None, upper: float | None, *, digits: int = 0) -> str:
    """An interval as ``433 – 1,376``."""
    return f"{count(lower, digits=digits)} – {count(upper, digits=digits)}"


def day(value: date | str | None) -> str:
    """A day in ISO form (``2026-11-01``)."""
    if value is None:
        return MISSING
    return value if isinstance(value, str) else value.isoformat()


def weekday(value: date) -> str:
    """A day with its weekday: ``Sun 2026-11-01``."""
    return f"{value:%a} {value.isoformat()}"


def moment(value: datetime | None) -> str:
    """A UTC time to the minute: ``2026-11-22 00:04 UTC``."""
    if value is None:
        return MISSING
    return f"{value:%Y-%m-%d %H:%M} UTC"
