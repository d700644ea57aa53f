"""Tests of reading single GBFS values: tolerated deviations are noted, nonsense is a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fleetcast.sources.gbfs.documents import VERSION_LENGTH
from fleetcast.sources.gbfs.system import SYSTEM_NAME_LENGTH
from fleetcast.sources.gbfs.values import (
    ID_LENGTH,
    NAME_LENGTH,
    TYPE_ID_LENGTH,
    Notes,
    Values,
    parse_time,
)
from fleetcast.sources.gbfs.versions import V1, V2, V3, VersionSpec
from fleetcast.store.tables import Feed, Station, StationStatus, System, VehicleStatus


def reader(spec: VersionSpec = V2) -> Values:
    """A value reader for one record of a feed of ``spec``'s version."""
    values = Values(spec, Notes())
    values.start()
    return values


def test_integer_ids_are_read_as_text_and_counted() -> None:
    """Vélib's integer station ids become text; the note counts the records."""
    values = reader()
    assert values.text(213688169, "station_id") == "213688169"
    assert values.text(19179944124, "station_id") == "19179944124"
    assert values.text("  a-1 ", "station_id") == "a-1"
    assert values.reasons == []
    assert values.notes.warnings() == ["station_id given as integers (2 records): read as text"]


def test_missing_and_unreadable_values_give_reasons() -> None:
    """A required field that is absent or empty, and a value of no usable type, are reasons."""
    values = reader()
    assert values.text(None, "station_id", required=True) is None
    assert values.text("  ", "name", required=True) is None
    assert values.text({"id": 1}, "station_id") is None
    assert values.count("many", "num_bikes_available") is None
    assert values.count(True, "num_bikes_available") is None
    assert values.number("north", "lat") is None
    assert values.number(float("nan"), "lon") is None
    assert values.reason() == (
        "missing station_id; missing name; unreadable station_id; unparseable "
        "num_bikes_available; unparseable num_bikes_available; unparseable lat; unparseable lon"
    )


def test_numbers_written_as_text_are_read_and_noted() -> None:
    """'12' is 12 and '48.85' is 48.85, each deviation counted once per record."""
    values = reader()
    assert values.count("12", "capacity") == 12
    assert values.count(7.0, "capacity") == 7
    assert values.number("48.85", "lat") == 48.85
    assert values.reasons == []
    assert values.notes.warnings() == [
        "capacity given as text (1 record): read as numbers",
        "capacity given with decimals (1 record): read as whole numbers",
        "lat given as text (1 record): read as numbers",
    ]


def test_negative_counts_are_read_unchanged_for_the_checks() -> None:
    """Reading never clamps: -2 stays -2 (the frame checks reject it later)."""
    assert reader().count(-2, "num_bikes_available") == -2


@pytest.mark.parametrize(
    ("spec", "value", "expected", "noted"),
    [
        (V1, 1, True, False),
        (V1, 0, False, False),
        (V2, 1, True, True),
        (V2, True, True, False),
        (V3, "false", False, True),
    ],
)
def test_flags_accept_zero_one_where_the_version_does(
    spec: VersionSpec, value: object, expected: bool, noted: bool
) -> None:
    """0/1 are 1.x's booleans; in 2.x/3.0 they (and text) are read but noted."""
    values = reader(spec)
    assert values.flag(value, "is_renting") is expected
    assert bool(values.notes.warnings()) is noted


def test_a_flag_of_another_value_is_a_reason() -> None:
    """2 is not a boolean."""
    values = reader(V1)
    assert values.flag(2, "is_renting") is None
    assert values.reasons == ["unparseable is_renting"]


def test_times_in_either_format_are_read_as_utc_seconds() -> None:
    """POSIX seconds, RFC 3339 text and milliseconds all give the same instant."""
    instant = datetime(2025, 10, 18, 9, 0, tzinfo=UTC).timestamp()
    notes = Notes()
    assert parse_time(1760778000, "last_updated", spec=V2, notes=notes) == instant
    assert notes.warnings() == []
    assert parse_time("2025-10-18T11:00:00+02:00", "last_updated", spec=V3, notes=notes) == instant
    assert notes.warnings() == []
    assert parse_time(1760778000000, "last_reported", spec=V2, notes=notes) == instant
    assert parse_time("2025-10-18T09:00:00Z", "last_reported", spec=V2, notes=notes) == instant
    assert parse_time(1760778000, "last_reported", spec=V3, notes=notes) == instant
    assert parse_time("2025-10-18T09:00:00", "last_reported", spec=V3, notes=notes) == instant
    assert notes.warnings() == [
        "last_reported given in milliseconds (1 record): read as seconds",
        "last_reported given as RFC 3339 text in a 2.x feed (1 record): read as such",
        "last_reported given as POSIX seconds in a 3.x feed (1 record): read as UTC",
        "last_reported given without a UTC offset (1 record): read as UTC",
    ]


@pytest.mark.parametrize("value", ["yesterday", True, None, [1], float("inf")])
def test_times_that_mean_nothing_are_none(value: object) -> None:
    """Text that is no date, booleans, lists and infinities are not timestamps."""
    assert parse_time(value, "last_reported", spec=V2, notes=Notes()) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (99999999999999999999999, "num_bikes_available over 100,000"),
        (1e30, "num_bikes_available over 100,000"),
        ("99999999999999999999", "num_bikes_available over 100,000"),
        (-(10**20), "negative num_bikes_available"),
    ],
)
def test_counts_beyond_any_station_are_reasons_not_int64_overflows(
    value: object, reason: str
) -> None:
    """A count such as 1e23 gives its record a reason at reading time (it would overflow
    the Int64 column the frame is built with, crashing the whole feed)."""
    values = reader()
    assert values.count(value, "num_bikes_available") is None
    assert values.reasons == [reason]


def test_an_integer_too_large_for_a_float_is_unparseable() -> None:
    """A latitude written as a 400-digit integer is a reason, not an OverflowError."""
    values = reader()
    assert values.number(10**400, "lat") is None
    assert values.reasons == ["unparseable lat"]
    assert parse_time(10**400, "last_reported", spec=V2, notes=Notes()) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (1e25, "last_reported more than a day in the future"),
        (4_200_000_000, "last_reported more than a day in the future"),
        (-1e15, "last_reported before 2000"),
        (86_400, "last_reported before 2000"),
    ],
)
def test_times_outside_2000_to_2100_are_reasons(value: object, reason: str) -> None:
    """A report time that no datetime column can hold (1e25 s) or before any GBFS feed
    existed is a reason for its record, never passed on to crash the frame's cast."""
    values = reader()
    assert values.epoch(value, "last_reported") is None
    assert values.reasons == [reason]


def test_early_times_are_returned_when_the_caller_reads_them_as_placeholders() -> None:
    """With ``floor=None`` a time before 2000 comes back (station_status reads 86400 as
    "never reported"); a time after 2100 is still a reason."""
    values = reader()
    assert values.epoch(86_400, "last_reported", floor=None) == 86_400.0
    assert values.epoch(1e25, "last_reported", floor=None) is None
    assert values.reasons == ["last_reported more than a day in the future"]


def test_ids_longer_than_their_column_are_reasons_not_cut() -> None:
    """An id longer than the db column (64 characters) gives its record a reason; one
    within the limit, including an integer id, is read unchanged."""
    values = reader()
    assert values.text("a" * 64, "station_id", max_length=64) == "a" * 64
    assert values.text("a" * 65, "station_id", max_length=64) is None
    assert values.text(10**70, "station_id", max_length=64) is None
    assert values.reasons == [
        "station_id longer than 64 characters",
        "station_id longer than 64 characters",
    ]


def test_length_limits_are_the_db_column_widths() -> None:
    """The readers' limits are the widths of the columns the values are written to: if a
    column changes, PostgreSQL must not start refusing writes again unnoticed."""

    def width(column: Any) -> int:
        """The declared length of a String column."""
        return int(column.property.columns[0].type.length)

    assert width(Station.station_id) == width(StationStatus.station_id) == ID_LENGTH
    assert width(VehicleStatus.vehicle_id) == ID_LENGTH
    assert width(VehicleStatus.vehicle_type) == TYPE_ID_LENGTH
    assert width(Station.name) == NAME_LENGTH
    assert width(System.name) == SYSTEM_NAME_LENGTH
    assert width(Feed.version) == VERSION_LENGTH
