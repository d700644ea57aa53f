"""Tests of reading CSV and Parquet inputs as text and parsing their times and numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fleetcast.errors import SchemaError
from fleetcast.sources._tabular import (
    csv_header,
    parse_datetimes,
    parse_numbers,
    read_csv_text,
    read_parquet_text,
    read_table,
    require_columns,
)
from fleetcast.sources.validate import ROW

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CHICAGO = "America/Chicago"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _parse(texts: list[str | None], timezone: str = CHICAGO) -> list[datetime | None]:
    return parse_datetimes(pl.Series("t", texts, dtype=pl.String), timezone).to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08/12/2020 06:00:00 AM", _utc(2020, 8, 12, 11)),
        ("08/12/2020 06:00:00 PM", _utc(2020, 8, 12, 23)),
        ("08/12/2020 12:00:00 AM", _utc(2020, 8, 12, 5)),
        ("08/12/2020 12:00:00 PM", _utc(2020, 8, 12, 17)),
        ("12/31/2020 11:00:00 PM", _utc(2021, 1, 1, 5)),
        ("08/12/2020 18:30:00", _utc(2020, 8, 12, 23, 30)),
        ("08/12/2020 18:30", _utc(2020, 8, 12, 23, 30)),
        ("2020-08-12 06:00:00", _utc(2020, 8, 12, 11)),
        ("2020-08-12T06:00:00", _utc(2020, 8, 12, 11)),
        ("2020-08-12 06:00", _utc(2020, 8, 12, 11)),
        ("2020-08-12T06:00:00.250", _utc(2020, 8, 12, 11, 0, 0, 250_000)),
        ("  08/12/2020 06:00:00 AM  ", _utc(2020, 8, 12, 11)),
    ],
)
def test_naive_times_are_local(text: str, expected: datetime) -> None:
    """Times without an offset are read as local Chicago time (CDT is UTC-5, CST UTC-6).

    The portal's own layout (``%m/%d/%Y %I:%M:%S %p``, 12 AM being midnight) and the usual
    ISO layouts must all land on the same UTC instant; blanks around the text are ignored.
    """
    assert _parse([text]) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-08-12T06:00:00Z", _utc(2020, 8, 12, 6)),
        ("2020-08-12T06:00:00-05:00", _utc(2020, 8, 12, 11)),
        ("2020-08-12 06:00:00+02:00", _utc(2020, 8, 12, 4)),
        ("2020-08-12 06:00:00+0000", _utc(2020, 8, 12, 6)),
        ("2020-08-12T06:00:00.5+05:30", _utc(2020, 8, 12, 0, 30, 0, 500_000)),
    ],
)
def test_offsets_are_honoured(text: str, expected: datetime) -> None:
    """A time with an offset or a Z suffix means that instant, whatever the system's zone."""
    assert _parse([text]) == [expected]


def test_dst_gap_moves_on_and_repeated_hour_takes_the_first() -> None:
    """Local times around Chicago's 2020 clock changes map to the instants a clock showed.

    2:30 AM on 8 March 2020 never happened (clocks jumped 2 -> 3 AM): it reads as 3:30 CDT.
    1:30 AM on 1 November 2020 happened twice: the first (CDT) is taken, as documented.
    """
    assert _parse(["03/08/2020 02:30:00 AM", "11/01/2020 01:30:00 AM"]) == [
        _utc(2020, 3, 8, 8, 30),
        _utc(2020, 11, 1, 6, 30),
    ]


@pytest.mark.parametrize(
    ("timezone", "days"),
    [
        (CHICAGO, ["2020-03-08", "2020-11-01"]),
        ("Europe/Paris", ["2021-03-28", "2021-10-31"]),
        ("Australia/Sydney", ["2021-04-04", "2021-10-03"]),
        ("Asia/Kolkata", ["2021-06-01"]),
    ],
)
def test_local_times_match_zoneinfo_around_clock_changes(timezone: str, days: list[str]) -> None:
    """Every quarter hour of the days clocks change agrees with Python's zoneinfo (fold=0).

    zoneinfo is the oracle: with fold=0 an ambiguous time is the first occurrence and a
    time in a gap takes the offset from before the change, which is the "one hour on" rule.
    """
    zone = ZoneInfo(timezone)
    local = [
        datetime.fromisoformat(day) + timedelta(minutes=15 * i) for day in days for i in range(96)
    ]
    expected = [t.replace(tzinfo=zone).astimezone(UTC) for t in local]
    assert _parse([t.strftime("%Y-%m-%d %H:%M:%S") for t in local], timezone) == expected


def test_unparseable_and_missing_times_are_null() -> None:
    """Text that is no time (or an impossible one) is null, never a guess; so are blanks."""
    texts = ["yesterday", "13/45/2020 07:00:00 AM", "08/12/2020 25:00:00", "", "   ", None]
    assert _parse(texts) == [None] * len(texts)


def test_repeated_texts_parse_alike() -> None:
    """Each distinct text is parsed once and the result is put back on every row that has it."""
    texts = ["08/12/2020 06:00:00 AM", None, "08/12/2020 06:00:00 AM", "bad", "2020-08-12T06:00Z"]
    parsed = _parse(texts)
    assert parsed[0] == parsed[2] == _utc(2020, 8, 12, 11)
    assert parsed[1] is None and parsed[3] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1500", 1500.0),
        ("-5", -5.0),
        ("12.5", 12.5),
        ("1e3", 1000.0),
        (" 42 ", 42.0),
        ("1,234", 1234.0),
        ("1,234,567.5", 1234567.5),
        ("1,5", None),
        ("-1,000", -1000.0),
        ("12,34", None),
        ("", None),
        ("far", None),
        ("12 km", None),
        (None, None),
    ],
)
def test_parse_numbers(text: str | None, expected: float | None) -> None:
    """Numbers tolerate blanks and thousands separators; anything else is null.

    A comma is a thousands separator only in groups of three: "1,5" (a decimal comma) is
    unparseable, so the row is rejected rather than loaded as fifteen.
    """
    parsed = parse_numbers(pl.Series("n", [text], dtype=pl.String))
    assert parsed.name == "n"
    assert parsed.to_list() == [expected]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_read_csv_numbers_rows_and_cleans_header(tmp_path: Path) -> None:
    """Rows are numbered from 1 in ``_row``; a byte-order mark and blanks leave the header."""
    path = _write(tmp_path / "t.csv", "\ufeff Trip ID ,Vendor\na,Lime\nb,\n")
    table = read_csv_text(path)
    assert table.frame.columns == [ROW, "Trip ID", "Vendor"]
    assert table.frame[ROW].dtype == pl.Int64
    assert table.frame.rows() == [(1, "a", "Lime"), (2, "b", None)]
    assert table.malformed.is_empty()
    assert table.rows_read == 2


def test_read_csv_keeps_requested_columns_only(tmp_path: Path) -> None:
    """``columns`` keeps the requested columns that exist, plus ``_row``; others are dropped."""
    path = _write(tmp_path / "t.csv", "a,b,c\n1,2,3\n")
    table = read_csv_text(path, columns=["c", "a", "zzz"])
    assert sorted(table.frame.columns) == sorted([ROW, "a", "c"])


def test_rows_with_too_many_fields_are_set_apart_even_when_reading_some_columns() -> None:
    """A row with an extra field goes to ``malformed`` with its row number, not into the data.

    Regression: with a column selection Polars silently ignored the extra field, so a
    shifted row could load. The other rows keep their numbers.
    """
    table = read_csv_text(BAD / "ragged_rows.csv", columns=["Trip ID", "Vendor"])
    assert table.frame.select(ROW, "Trip ID").rows() == [(1, "good-1"), (3, "good-2")]
    assert table.malformed.select("row_number", "reason").rows() == [
        (2, "row has 15 fields, the header has 14"),
        (4, "row has 5 fields, the header has 14"),
    ]
    assert table.malformed["record"][0].startswith("too-many,08/12/2020 06:00:00 AM,")
    assert table.malformed["record"][0].endswith(",Lime,extra")
    assert table.rows_read == 4


def test_rows_with_too_few_fields_alone_are_padded(tmp_path: Path) -> None:
    """Current behaviour: when no row is too long, a short row is read with nulls at the end.

    (Only a too-long row makes the reader check every row's field count; validation then
    rejects the short row if a required value is missing.)
    """
    path = _write(tmp_path / "t.csv", "a,b,c\n1,2,3\n4,5\n")
    table = read_csv_text(path)
    assert table.frame.select("a", "b", "c").rows() == [("1", "2", "3"), ("4", "5", None)]
    assert table.malformed.is_empty()


def test_slow_path_reads_good_rows_like_the_fast_path(tmp_path: Path) -> None:
    """A file with one ragged row reads its other rows exactly as it would without it.

    The ragged row sends the file through Python's csv module; blanks must still be null,
    quoted separators and newlines kept, row numbers count records and a byte-order mark
    still leaves the header. Regression: blanks were "" on that path.
    """
    rows = 'Trip ID,Trip Distance,Vendor\na,"1,234",Lime\nb,,\nc,"two\nlines",Bird\n'
    clean = read_csv_text(_write(tmp_path / "clean.csv", "\ufeff" + rows))
    ragged = read_csv_text(_write(tmp_path / "ragged.csv", "\ufeff" + rows + "d,1,2,3\n"))
    assert ragged.malformed["row_number"].to_list() == [4]
    assert_frame_equal(ragged.frame.select(clean.frame.columns), clean.frame)


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    """An absent path, a folder and a 0-byte file are SchemaErrors that say which."""
    with pytest.raises(SchemaError, match="does not exist"):
        read_csv_text(tmp_path / "nope.csv")
    with pytest.raises(SchemaError, match="not a file"):
        read_csv_text(tmp_path)
    with pytest.raises(SchemaError, match="is empty"):
        read_csv_text(BAD / "empty.csv")


def test_header_only_file_has_no_rows() -> None:
    """A header without rows reads as zero rows (the ingest then says nothing loaded)."""
    table = read_csv_text(BAD / "header_only.csv")
    assert table.rows_read == 0
    assert "Trip ID" in table.frame.columns


def test_latin1_file_needs_its_encoding() -> None:
    """Latin-1 bytes are refused with a hint to pass --encoding, and read when it is passed."""
    with pytest.raises(SchemaError, match=r"not UTF-8 text; pass its encoding, e\.g\. --encoding"):
        read_csv_text(BAD / "latin1.csv")
    table = read_csv_text(BAD / "latin1.csv", encoding="latin-1")
    assert table.frame["Vendor"].to_list() == ["Lime", "Mövil", "Bird"]


def test_utf16_file_is_recognised() -> None:
    """UTF-16 (with its byte-order mark) is named as such instead of a missing-column error.

    Regression: its bytes are valid UTF-8 (NUL-padded), so it used to read as one garbled
    column. With ``encoding="utf-16"`` it reads normally.
    """
    with pytest.raises(SchemaError, match="UTF-16 text; re-save it as UTF-8 or pass --encoding"):
        read_csv_text(BAD / "utf16.csv")
    table = read_csv_text(BAD / "utf16.csv", encoding="utf-16", columns=["Trip ID"])
    assert table.frame["Trip ID"].to_list() == ["good-1", "good-2"]


def test_wrong_or_unknown_encoding_is_a_schema_error() -> None:
    """An encoding that does not fit the bytes, or is no encoding, is a SchemaError."""
    with pytest.raises(SchemaError, match="unknown encoding 'klingon'"):
        read_csv_text(BAD / "latin1.csv", encoding="klingon")
    with pytest.raises(SchemaError, match="is not utf-16 text"):
        read_csv_text(BAD / "latin1.csv", encoding="utf-16")


def test_csv_header() -> None:
    """The header as written, for messages that name a file's columns."""
    assert csv_header(BAD / "wrong_columns.csv") == [
        "id",
        "start",
        "end",
        "distance_m",
        "duration_s",
        "zone",
        "lat",
        "lon",
    ]
    assert csv_header(BAD / "utf16.csv", encoding="utf-16")[0] == "Trip ID"


def test_read_parquet_text(tmp_path: Path) -> None:
    """Parquet columns become text: naive datetimes in ISO form, aware ones as UTC +00:00."""
    path = tmp_path / "t.parquet"
    pl.DataFrame(
        {
            "naive": [datetime(2021, 6, 1, 8, 5)],
            "aware": [datetime(2021, 6, 1, 8, 5, tzinfo=ZoneInfo(CHICAGO))],
            "lat": [41.905],
            "n": [7],
        }
    ).write_parquet(path)
    table = read_parquet_text(path)
    assert table.frame.columns == [ROW, "naive", "aware", "lat", "n"]
    assert table.frame.row(0) == (
        1,
        "2021-06-01T08:05:00",
        "2021-06-01T13:05:00+00:00",
        "41.905",
        "7",
    )
    parsed = (
        parse_datetimes(table.frame["naive"], CHICAGO).to_list()
        + parse_datetimes(table.frame["aware"], "UTC").to_list()
    )
    assert parsed == [_utc(2021, 6, 1, 13, 5)] * 2


def test_unreadable_parquet_is_a_schema_error(tmp_path: Path) -> None:
    """A file named .parquet that is not Parquet is refused as a whole."""
    path = _write(tmp_path / "t.parquet", "Trip ID\nx\n")
    with pytest.raises(SchemaError, match="not a readable Parquet file"):
        read_table(path)


def test_read_table_dispatches_on_suffix(tmp_path: Path) -> None:
    """``.parquet`` / ``.pq`` read as Parquet, anything else as CSV (with its encoding)."""
    pq = tmp_path / "t.pq"
    pl.DataFrame({"a": [1]}).write_parquet(pq)
    assert read_table(pq).frame.rows() == [(1, "1")]
    assert read_table(BAD / "latin1.csv", encoding="latin-1").rows_read == 3


def test_require_columns_names_every_missing_column() -> None:
    """The message lists all missing columns, the ones found, and the caller's hint."""
    frame = pl.DataFrame(schema={ROW: pl.Int64, "a": pl.String, "b": pl.String})
    require_columns(frame, ["a"], hint="unused")
    with pytest.raises(SchemaError) as info:
        require_columns(frame, ["a", "x", "y"], hint="Try --map.")
    assert str(info.value) == "missing column(s) ['x', 'y']; the file has ['a', 'b']. Try --map."
