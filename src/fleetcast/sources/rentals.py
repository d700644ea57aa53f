"""Car-sharing rentals from CSV, Parquet or Excel files (the GetAround delay-analysis file).

Columns are found by our field names, by the GetAround delay file's names
(``delay_at_checkout_in_minutes``, ``previous_ended_rental_id``,
``time_delta_with_previous_rental_in_minutes``), or named with a mapping. Every row gets
every reason it fails; rejected rows keep their record for the quarantine, as trips do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import polars as pl

from fleetcast.domain import RENTALS, conform
from fleetcast.errors import SchemaError
from fleetcast.sources import _checks
from fleetcast.sources._tabular import TextTable, parse_numbers, read_table
from fleetcast.sources.validate import ROW, count_reasons

RENTAL_FIELDS: Final = tuple(RENTALS)
"""Fields a rentals file must have (each found by name or named with a mapping)."""

GETAROUND_COLUMNS: Final[dict[str, str]] = {
    "rental_id": "rental_id",
    "car_id": "car_id",
    "checkin_type": "checkin_type",
    "state": "state",
    "delay_at_checkout_minutes": "delay_at_checkout_in_minutes",
    "previous_rental_id": "previous_ended_rental_id",
    "gap_with_previous_minutes": "time_delta_with_previous_rental_in_minutes",
}
"""Our field -> the column of GetAround's ``get_around_delay_analysis`` file."""

CHECKIN_TYPES: Final = ("mobile", "connect")
"""How a car is checked in and out: on the owner's phone, or opened by the driver (Connect)."""

STATES: Final = ("ended", "canceled")
"""A rental happened (ended) or did not (canceled by the driver or the owner)."""

DEFAULT_SHEET: Final = "rentals_data"
"""The sheet of GetAround's workbook that holds the rentals."""

EXCEL_SUFFIXES: Final = (".xlsx", ".xlsm")
_ID_CHARS: Final = 64
_WHOLE_FLOAT: Final = r"^([0-9]+)\.0*$"
_HINT: Final = (
    "A rentals file has the columns of GetAround's delay file (rental_id, car_id, "
    "checkin_type, state, delay_at_checkout_in_minutes, previous_ended_rental_id, "
    "time_delta_with_previous_rental_in_minutes); name other columns with --map, e.g. "
    "--map rental_id=id,gap_with_previous_minutes=gap. Fields: " + ", ".join(RENTAL_FIELDS)
)


@dataclass(frozen=True, slots=True)
class RentalLimits:
    """Bounds beyond which a rental's numbers are not believed (rejected, never clamped).

    A check-out more than a year late or early is a broken clock, not a late driver; a gap
    to the previous rental is never negative, and the previous rental is by definition
    planned to end at most ``max_gap_minutes`` before (GetAround's file keeps 12 hours).
    """

    max_abs_delay_minutes: float = 365 * 24 * 60.0
    max_gap_minutes: float = 12 * 60.0

    def __post_init__(self) -> None:
        if not self.max_abs_delay_minutes > 0:
            raise ValueError("max_abs_delay_minutes must be positive")
        if not self.max_gap_minutes > 0:
            raise ValueError("max_gap_minutes must be positive")


@dataclass(slots=True)
class CheckedRentals:
    """A rentals file read and checked: the good rows and the rejected ones with reasons.

    ``accepted`` has the RENTALS schema; ``rejected`` has ``row_number``, ``reason`` and
    the original ``record`` as JSON.
    """

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)


def resolve_rentals_mapping(columns: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Our rental field -> the file's column: ``mapping``, then our name, then GetAround's.

    Every field is required: a file that is not a rentals file is a SchemaError naming the
    missing columns and the ones it has.
    """
    unknown = sorted(set(mapping) - set(RENTAL_FIELDS))
    if unknown:
        raise SchemaError(f"unknown rental field(s) {unknown}; fields are {list(RENTAL_FIELDS)}")
    present = set(columns)
    resolved: dict[str, str] = {}
    for name in RENTAL_FIELDS:
        if name in mapping:
            resolved[name] = mapping[name]
        elif name in present:
            resolved[name] = name
        elif GETAROUND_COLUMNS[name] in present:
            resolved[name] = GETAROUND_COLUMNS[name]
    missing = [GETAROUND_COLUMNS[f] for f in RENTAL_FIELDS if f not in resolved]
    missing += [c for c in resolved.values() if c not in present]
    if missing:
        shown = [c for c in columns if c != ROW]
        raise SchemaError(
            f"not a rentals file: missing column(s) {missing}; the file has "
            f"{shown[:20]}{' …' if len(shown) > 20 else ''}. {_HINT}"
        )
    return resolved


def _ids(text: pl.Expr) -> pl.Expr:
    """Trimmed id text, with a whole number written as a float (``505628.0``) made whole.

    Spreadsheets and pandas write integer ids of a column with blanks as floats; the id is
    the same rental either way.
    """
    trimmed = text.cast(pl.String).str.strip_chars()
    return trimmed.str.replace(_WHOLE_FLOAT, "${1}").replace("", None)


def to_candidates(raw: pl.DataFrame, *, mapping: Mapping[str, str]) -> pl.DataFrame:
    """Mapped text columns to typed candidate rentals beside the raw text they came from."""
    frame = raw.select(
        pl.col(ROW),
        _ids(pl.col(mapping["rental_id"])).alias("rental_id"),
        _ids(pl.col(mapping["car_id"])).alias("car_id"),
        _ids(pl.col(mapping["previous_rental_id"])).alias("previous_rental_id"),
        pl.col(mapping["checkin_type"]).cast(pl.String).alias("checkin_raw"),
        pl.col(mapping["state"]).cast(pl.String).alias("state_raw"),
        pl.col(mapping["delay_at_checkout_minutes"]).cast(pl.String).alias("delay_raw"),
        pl.col(mapping["gap_with_previous_minutes"]).cast(pl.String).alias("gap_raw"),
    )
    return frame.with_columns(
        pl.col("checkin_raw").str.strip_chars().str.to_lowercase().alias("checkin_type"),
        pl.col("state_raw").str.strip_chars().str.to_lowercase().alias("state"),
        # NaN is "unparseable"; comparisons see it as null (Polars orders NaN above all).
        parse_numbers(frame["delay_raw"]).fill_nan(None).alias("delay_at_checkout_minutes"),
        parse_numbers(frame["gap_raw"]).fill_nan(None).alias("gap_with_previous_minutes"),
    )


def check_rentals(
    raw: pl.DataFrame,
    *,
    mapping: Mapping[str, str],
    limits: RentalLimits | None = None,
) -> CheckedRentals:
    """Check the mapped text columns of a rentals file; every bad row gets every reason.

    Rejected: a missing rental or car id (or one longer than 64 characters); a check-in type
    other than mobile / connect or a state other than ended / canceled (any case); a delay or
    gap that is not a number or lies outside ``limits``; a delay on a canceled rental (it
    never had a check-out); a previous rental without a gap or a gap without a previous
    rental, or a rental that is its own previous one; and a rental id already given on an
    earlier good row (the first is kept). A blank delay is fine (canceled rentals, and ended
    ones GetAround did not measure).
    """
    limits = limits or RentalLimits()
    frame = to_candidates(raw, mapping=mapping)
    delay, gap = pl.col("delay_at_checkout_minutes"), pl.col("gap_with_previous_minutes")
    rental, previous, car = pl.col("rental_id"), pl.col("previous_rental_id"), pl.col("car_id")
    checkin_types = pl.Series(CHECKIN_TYPES, dtype=pl.String).implode()
    states = pl.Series(STATES, dtype=pl.String).implode()
    has_checkin, has_state = _checks.text_present("checkin_raw"), _checks.text_present("state_raw")
    checks: list[_checks.Check] = [
        (rental.is_null(), "missing rental id"),
        (rental.str.len_chars() > _ID_CHARS, f"rental id longer than {_ID_CHARS} characters"),
        (car.is_null(), "missing car id"),
        (
            pl.col("car_id").str.len_chars() > _ID_CHARS,
            f"car id longer than {_ID_CHARS} characters",
        ),
        (~has_checkin, "missing checkin type"),
        (has_checkin & ~pl.col("checkin_type").is_in(checkin_types), "unknown checkin type"),
        (~has_state, "missing state"),
        (has_state & ~pl.col("state").is_in(states), "unknown state"),
        (_checks.text_present("delay_raw") & delay.is_null(), "unparseable delay"),
        (delay.abs() > limits.max_abs_delay_minutes, "absurd delay"),
        ((pl.col("state") == "canceled") & delay.is_not_null(), "delay on a canceled rental"),
        (_checks.text_present("gap_raw") & gap.is_null(), "unparseable gap"),
        ((gap < 0) | (gap > limits.max_gap_minutes), "absurd gap"),
        (
            previous.str.len_chars() > _ID_CHARS,
            f"previous rental id longer than {_ID_CHARS} characters",
        ),
        (previous.is_not_null() & (previous == rental), "previous rental is the rental itself"),
        (previous.is_not_null() & ~_checks.text_present("gap_raw"), "previous rental without gap"),
        (previous.is_null() & _checks.text_present("gap_raw"), "gap without previous rental"),
    ]
    split = _checks.split_rows(
        frame,
        checks,
        unique=("rental_id",),
        duplicate_reason="duplicate rental id in this input",
    )
    rejected = _checks.with_records(split.rejected, raw)
    accepted = conform(split.accepted, RENTALS).select(list(RENTALS)).sort("rental_id")
    return CheckedRentals(
        accepted=accepted,
        rejected=rejected,
        rows_read=raw.height,
        reasons=count_reasons(rejected),
    )


def read_excel_text(path: Path, *, sheet: str = DEFAULT_SHEET) -> TextTable:
    """One sheet of an Excel workbook as text columns, with ``_row`` numbering data rows."""
    if not path.is_file():
        raise SchemaError(f"{path} does not exist or is not a file")
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SchemaError(
            "reading Excel files needs openpyxl: pip install 'fleetcast[carsharing]'"
        ) from exc
    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise SchemaError(f"{path} is not a readable Excel workbook: {exc}") from exc
    names = list(book.sheetnames)
    book.close()
    if sheet not in names:
        raise SchemaError(f"{path} has no sheet {sheet!r}; its sheets are {names} (use --sheet)")
    try:
        frame = pl.read_excel(path, sheet_name=sheet, engine="openpyxl", infer_schema_length=0)
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        raise SchemaError(f"sheet {sheet!r} of {path} could not be read: {exc}") from exc
    frame = frame.select(pl.all().cast(pl.String)).with_row_index(ROW, offset=1)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    frame = frame.rename({c: c.strip() for c in frame.columns})
    malformed = pl.DataFrame(schema=_checks.REJECTED_SCHEMA)
    return TextTable(frame, malformed)


def read_rentals_table(
    path: Path, *, sheet: str | None = None, encoding: str | None = None
) -> TextTable:
    """A CSV, Parquet or Excel file (by suffix) as text columns; ``sheet`` for a workbook."""
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_excel_text(path, sheet=sheet or DEFAULT_SHEET)
    if sheet is not None:
        raise SchemaError(f"--sheet is for Excel workbooks; {path.name} is not one")
    return read_table(path, encoding=encoding)


def read_rentals_file(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    limits: RentalLimits | None = None,
) -> CheckedRentals:
    """Read a rentals file (CSV, Parquet, or sheet ``rentals_data`` of a workbook) and check it.

    Rows the CSV reader cannot split are rejected with the raw line. A file that cannot be
    used at all (unreadable, not a rentals file) is a SchemaError naming what is missing.
    """
    table = read_rentals_table(path, sheet=sheet, encoding=encoding)
    if table.frame.height == 0 and table.malformed.height == 0:
        raise SchemaError(f"{path} has no rows")
    resolved = resolve_rentals_mapping(list(table.frame.columns), mapping or {})
    checked = check_rentals(table.frame, mapping=resolved, limits=limits)
    rejected = _checks.combine_rejected(checked.rejected, table.malformed)
    return CheckedRentals(
        accepted=checked.accepted,
        rejected=rejected,
        rows_read=table.rows_read,
        reasons=count_reasons(rejected),
    )


PRICE_COLUMN: Final = "rental_price_per_day"
"""The price column of GetAround's pricing file (EUR per day)."""


def read_prices_per_day(path: Path, *, column: str = PRICE_COLUMN) -> pl.Series:
    """The positive prices per day of a pricing file (CSV or Parquet), as floats.

    For the revenue side of the delay policy; blanks and non-positive values are left out.
    """
    table = read_table(path)
    if column not in table.frame.columns:
        shown = [c for c in table.frame.columns if c != ROW]
        raise SchemaError(f"{path} has no column {column!r}; it has {shown[:20]}")
    prices = parse_numbers(table.frame[column]).fill_nan(None).drop_nulls()
    prices = prices.filter(prices > 0)
    if prices.is_empty():
        raise SchemaError(f"column {column!r} of {path} holds no positive price")
    return prices.alias("price_per_day")
