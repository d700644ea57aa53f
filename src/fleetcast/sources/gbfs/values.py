"""Reading one JSON value as the type a GBFS field needs, tolerating the common deviations.

A value of the wrong JSON type that still means one thing (a number written as text, an id
written as a number, 0/1 for a boolean in a 2.x feed, milliseconds for seconds) is read and
*noted*: the notes become one warning per kind of deviation with the number of records it
touched. A value that means nothing (``"abc"`` for a count, an object for an id) gives the
record a reason, and the record goes to quarantine. Nothing is clamped or invented.

Values are also range-checked here, before they reach a typed column: a count beyond
``MAX_COUNT``, a number too large for a float, a time outside 2000 to 2100, or an id longer
than its db column would otherwise crash the frame or the db write instead of quarantining
one record.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

from fleetcast.sources.gbfs.versions import VersionSpec

MS_EPOCH_FLOOR: Final = 100_000_000_000
"""POSIX seconds reach this in year 5138: larger timestamps are milliseconds."""
MAX_COUNT: Final = 100_000
"""More vehicles or docks than this at one station is not a count but a broken value."""
EPOCH_FLOOR: Final = 946_684_800.0
"""2000-01-01T00:00Z: no GBFS feed (2015) published or reported anything before it."""
EPOCH_CEILING: Final = 4_102_444_800.0
"""2100-01-01T00:00Z: a fixed bound past any plausible "now + a day"; beyond it a time is
not read at all (a year in the billions cannot even be a datetime)."""
FUTURE_SLACK: Final = timedelta(days=1)
"""A publish or report time further ahead of now than this is impossible."""
ID_LENGTH: Final = 64
"""The db's station_id / vehicle_id columns hold 64 characters."""
TYPE_ID_LENGTH: Final = 32
"""The db's vehicle_type column holds 32 characters."""
NAME_LENGTH: Final = 256
"""The db's station name column holds 256 characters."""

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

    def text(
        self,
        value: object,
        field: str,
        *,
        required: bool = False,
        max_length: int | None = None,
    ) -> str | None:
        """A string field (ids, names); integers are read as their decimal text.

        An id longer than ``max_length`` is a reason, not cut: a cut id could name another
        record (and the db column, 64 characters for ids, would refuse it whole).
        """
        if value is None:
            self._missing(field, required)
            return None
        text: str
        if isinstance(value, str):
            text = value.strip()
            if not text:
                self._missing(field, required)
                return None
        elif isinstance(value, int) and not isinstance(value, bool):
            self.notes.add(f"{field} given as integers", "read as text")
            text = str(value)
        elif isinstance(value, float) and value.is_integer():
            self.notes.add(f"{field} given as numbers", "read as text")
            text = str(int(value))
        else:
            self.reasons.append(f"unreadable {field}")
            return None
        if max_length is not None and len(text) > max_length:
            self.reasons.append(f"{field} longer than {max_length} characters")
            return None
        return text

    def bounded(self, value: int, field: str) -> int | None:
        """``value`` when within +-MAX_COUNT; else a reason (None), so that a count such as
        1e23 never reaches an Int64 column. Small negatives are returned for the frame's
        own "negative" check."""
        if value > MAX_COUNT:
            self.reasons.append(f"{field} over {MAX_COUNT:,}")
            return None
        if value < -MAX_COUNT:
            self.reasons.append(f"negative {field}")
            return None
        return value

    def count(self, value: object, field: str, *, required: bool = False) -> int | None:
        """A whole number (vehicles, docks, capacity) within +-MAX_COUNT (see ``bounded``);
        the sign of a small one is checked later."""
        if value is None:
            self._missing(field, required)
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return self.bounded(value, field)
        if isinstance(value, float) and value.is_integer():
            self.notes.add(f"{field} given with decimals", "read as whole numbers")
            return self.bounded(int(value), field)
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                pass
            else:
                self.notes.add(f"{field} given as text", "read as numbers")
                return self.bounded(number, field)
        self.reasons.append(f"unparseable {field}")
        return None

    def number(self, value: object, field: str, *, required: bool = False) -> float | None:
        """A finite decimal number (coordinates, ranges, fuel); an integer too large for a
        float (a 400-digit latitude) is unparseable like infinity is."""
        if value is None:
            self._missing(field, required)
            return None
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                number = None
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

    def epoch(
        self,
        value: object,
        field: str,
        *,
        required: bool = False,
        floor: float | None = EPOCH_FLOOR,
    ) -> float | None:
        """A timestamp as POSIX seconds: POSIX numbers (before 3.0) or RFC 3339 text (3.0).

        A time after 2100 is a reason ("more than a day in the future", like the frame's
        check relative to now, which cannot even be computed for 1e25); a time before
        ``floor`` (2000) is a reason too. A caller that reads early times as a "never"
        placeholder passes ``floor=None`` and gets them back to handle.
        """
        if value is None:
            self._missing(field, required)
            return None
        seconds = parse_time(value, field, spec=self.spec, notes=self.notes)
        if seconds is None:
            self.reasons.append(f"unparseable {field}")
            return None
        if seconds >= EPOCH_CEILING:
            self.reasons.append(f"{field} more than a day in the future")
            return None
        if floor is not None and seconds < floor:
            self.reasons.append(f"{field} before 2000")
            return None
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
        try:
            seconds = float(value)
        except OverflowError:
            return None
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
        if when.tzinfo is None:
            notes.add(f"{field} given without a UTC offset", "read as UTC")
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp()
    except (ValueError, OverflowError):
        return None
    if spec.posix_times:
        notes.add(f"{field} given as RFC 3339 text in a {spec.major}.x feed", "read as such")
    return seconds


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (object, array, number, boolean, string)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
