"""Reading one JSON value as the type a GBFS field needs, tolerating the common deviations.

A value of the wrong JSON type that still means one thing (a number written as text, an id
written as a number, 0/1 for a boolean in a 2.x feed, milliseconds for seconds) is read and
*noted*: the notes become one warning per kind of deviation with the number of records it
touched. A value that means nothing (``"abc"`` for a count, an object for an id) gives the
record a reason, and the record goes to quarantine. Nothing is clamped or invented.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from fleetcast.sources.gbfs.versions import VersionSpec

MS_EPOCH_FLOOR: Final = 100_000_000_000
"""POSIX seconds reach this in year 5138: larger timestamps are milliseconds."""

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class Notes:
    """Deviations seen while reading one feed, counted per kind, reported as warnings."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, what: str, how: str, n: int = 1) -> None:
        """Count ``n`` records showing deviation ``what``, which was handled as ``how``."""
        key = (what, how)
        self._counts[key] = self._counts.get(key, 0) + n

    def warnings(self) -> list[str]:
        """One line per deviation, e.g. ``station_id given as integers (1,495 records): read
        as text``, in the order they were first seen."""
        return [
            f"{what} ({n:,} record{'' if n == 1 else 's'}): {how}"
            for (what, how), n in self._counts.items()
        ]


class Values:
    """Reads the fields of one feed's records; collects reasons for the current record."""

    def __init__(self, spec: VersionSpec, notes: Notes) -> None:
        self.spec = spec
        self.notes = notes
        self.reasons: list[str] = []

    def start(self) -> None:
        """Begin a new record."""
        self.reasons = []

    def reason(self) -> str | None:
        """The current record's reasons joined with '; ' (None when it has none)."""
        return "; ".join(self.reasons) if self.reasons else None

    def _missing(self, field: str, required: bool) -> None:
        """Give the record a reason when a required field is absent."""
        if required:
            self.reasons.append(f"missing {field}")

    def text(self, value: object, field: str, *, required: bool = False) -> str | None:
        """A string field (ids, names); integers are read as their decimal text."""
        if value is None:
            self._missing(field, required)
            return None
        if isinstance(value, str):
            stripped = value.strip()
            if not stripped:
                self._missing(field, required)
                return None
            return stripped
        if isinstance(value, int) and not isinstance(value, bool):
            self.notes.add(f"{field} given as integers", "read as text")
            return str(value)
        if isinstance(value, float) and value.is_integer():
            self.notes.add(f"{field} given as numbers", "read as text")
            return str(int(value))
        self.reasons.append(f"unreadable {field}")
        return None

    def count(self, value: object, field: str, *, required: bool = False) -> int | None:
        """A whole number (vehicles, docks, capacity); its sign is checked later."""
        if value is None:
            self._missing(field, required)
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            self.notes.add(f"{field} given with decimals", "read as whole numbers")
            return int(value)
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                pass
            else:
                self.notes.add(f"{field} given as text", "read as numbers")
                return number
        self.reasons.append(f"unparseable {field}")
        return None

    def number(self, value: object, field: str, *, required: bool = False) -> float | None:
        """A finite decimal number (coordinates, ranges, fuel)."""
        if value is None:
            self._missing(field, required)
            return None
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
            else:
                self.notes.add(f"{field} given as text", "read as numbers")
        if number is None or not math.isfinite(number):
            self.reasons.append(f"unparseable {field}")
            return None
        return number

    def flag(self, value: object, field: str, *, required: bool = False) -> bool | None:
        """A boolean; 0/1 are the spec's own booleans in 1.x and a noted deviation after."""
        if value is None:
            self._missing(field, required)
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            if not self.spec.numeric_flags:
                self.notes.add(
                    f"{field} given as 0/1 in a {self.spec.major}.x feed", "read as false/true"
                )
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            self.notes.add(f"{field} given as text", "read as false/true")
            return value.strip().lower() in _TRUE
        self.reasons.append(f"unparseable {field}")
        return None

    def epoch(self, value: object, field: str, *, required: bool = False) -> float | None:
        """A timestamp as POSIX seconds: POSIX numbers (before 3.0) or RFC 3339 text (3.0)."""
        if value is None:
            self._missing(field, required)
            return None
        seconds = parse_time(value, field, spec=self.spec, notes=self.notes)
        if seconds is None:
            self.reasons.append(f"unparseable {field}")
        return seconds


def parse_time(value: object, field: str, *, spec: VersionSpec, notes: Notes) -> float | None:
    """POSIX seconds from a GBFS timestamp of either format (the other one is noted), or None.

    Milliseconds and RFC 3339 text without an offset are read as what they obviously are
    (UTC for the latter) and noted.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds: float = float(text)
        except ValueError:
            return _rfc3339(text, field, spec=spec, notes=notes)
        notes.add(f"{field} given as text", "read as POSIX seconds")
    elif isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        if not spec.posix_times:
            notes.add(f"{field} given as POSIX seconds in a {spec.major}.x feed", "read as UTC")
    else:
        return None
    if abs(seconds) >= MS_EPOCH_FLOOR:
        notes.add(f"{field} given in milliseconds", "read as seconds")
        seconds /= 1000.0
    return seconds


def _rfc3339(text: str, field: str, *, spec: VersionSpec, notes: Notes) -> float | None:
    """POSIX seconds of RFC 3339 text (noted when the version expects POSIX numbers)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        notes.add(f"{field} given without a UTC offset", "read as UTC")
        when = when.replace(tzinfo=UTC)
    if spec.posix_times:
        notes.add(f"{field} given as RFC 3339 text in a {spec.major}.x feed", "read as such")
    return when.timestamp()
