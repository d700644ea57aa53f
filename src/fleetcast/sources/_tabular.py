"""Reading CSV and Parquet inputs as text tables, with row numbers and malformed rows set apart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import polars as pl

from fleetcast.errors import SchemaError
from fleetcast.sources.validate import ROW

_FORMATS_DATETIME: Final = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
)
_FORMATS_AWARE: Final = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")


@dataclass(slots=True)
class TextTable:
    """An input file as text columns plus ``_row``, and the rows that could not be split."""

    frame: pl.DataFrame
    malformed: pl.DataFrame

    @property
    def rows_read(self) -> int:
        """Data rows in the file (well-formed and malformed)."""
        return self.frame.height + self.malformed.height


def _empty_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema={"row_number": pl.Int64, "reason": pl.String, "record": pl.String})


def _decode(path: Path, encoding: str) -> bytes:
    try:
        return path.read_bytes().decode(encoding).encode("utf-8")
    except LookupError as exc:
        raise SchemaError(f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path} is not {encoding} text: {exc}") from exc


def _sniff_not_utf8(path: Path) -> str:
    head = path.read_bytes()[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{path} is UTF-16 text; re-save it as UTF-8 or pass --encoding utf-16"
    return (
        f"{path} is not UTF-8 text; pass its encoding, e.g. --encoding latin-1 "
        "(or re-save it as UTF-8)"
    )


def _slow_csv(text: str, separator: str) -> TextTable:
    """Split a CSV with Python's csv module, setting rows with a wrong field count apart."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise SchemaError("the file is empty") from exc
    good: list[list[str]] = []
    rows: list[int] = []
    bad_rows: list[tuple[int, str, str]] = []
    for number, record in enumerate(reader, start=1):
        if len(record) == len(header):
            good.append(record)
            rows.append(number)
        elif record:
            reason = f"row has {len(record)} fields, the header has {len(header)}"
            bad_rows.append((number, reason, separator.join(record)))
    frame = pl.DataFrame(
        # Empty fields are null, as Polars reads them on the fast path.
        {name: [r[i] or None for r in good] for i, name in enumerate(header)},
        schema=dict.fromkeys(header, pl.String),
    ).with_columns(pl.Series(ROW, rows, dtype=pl.Int64))
    malformed = pl.DataFrame(bad_rows, schema=_empty_malformed().schema, orient="row")
    return TextTable(frame, malformed)


def csv_header(path: Path, *, encoding: str | None = None, separator: str = ",") -> list[str]:
    """Column names of a CSV file (as written, less a byte-order mark and blanks)."""
    with path.open(encoding=encoding or "utf-8-sig", errors="replace", newline="") as fh:
        header = next(csv.reader(fh, delimiter=separator), [])
    return [h.lstrip("\ufeff").strip() for h in header]


def read_csv_text(
    path: Path,
    *,
    encoding: str | None = None,
    separator: str = ",",
    columns: list[str] | None = None,
) -> TextTable:
    """A CSV's columns as text, with ``_row`` numbering data rows from 1.

    ``columns`` limits the result to those columns (the ones present); the whole file is
    still read, so rows with a wrong number of fields are found and set apart.
    """
    if not path.is_file():
        raise SchemaError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise SchemaError(f"{path} is empty")
    source: Path | io.BytesIO = path
    if encoding and encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
        source = io.BytesIO(_decode(path, encoding))
    elif _has_utf16_bom(path):
        raise SchemaError(_sniff_not_utf8(path))
    malformed = _empty_malformed()
    try:
        # No column projection here: with one, Polars does not notice rows with extra fields.
        frame = pl.read_csv(
            source,
            infer_schema=False,
            separator=separator,
            row_index_name=ROW,
            row_index_offset=1,
        )
    except pl.exceptions.ComputeError as exc:
        message = str(exc)
        if "utf-8" in message.lower() or "utf8" in message.lower():
            raise SchemaError(_sniff_not_utf8(path)) from exc
        if "more fields" not in message:
            first = message.splitlines()[0]
            raise SchemaError(f"{path} is not a readable CSV file: {first}") from exc
        try:
            text = (
                source.getvalue().decode("utf-8")
                if isinstance(source, io.BytesIO)
                else path.read_text("utf-8")
            )
        except UnicodeDecodeError as decode_error:
            raise SchemaError(_sniff_not_utf8(path)) from decode_error
        table = _slow_csv(text, separator)
        frame, malformed = table.frame, table.malformed
    except pl.exceptions.NoDataError as exc:
        raise SchemaError(f"{path} is empty") from exc
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    if columns is not None:
        frame = frame.select([c for c in frame.columns if c in set(columns) or c == ROW])
    return TextTable(frame, malformed)


def _has_utf16_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) in (b"\xff\xfe", b"\xfe\xff")


def read_parquet_text(path: Path) -> TextTable:
    """Every column of a Parquet file as text (datetimes in ISO format), numbered from 1."""
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise SchemaError(f"{path} is not a readable Parquet file: {exc}") from exc
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            casts.append(
                pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
            )
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.f"))
        else:
            casts.append(pl.col(name).cast(pl.String))
    frame = frame.select(casts).with_row_index(ROW, offset=1)
    return TextTable(frame.with_columns(pl.col(ROW).cast(pl.Int64)), _empty_malformed())


def read_table(path: Path, *, encoding: str | None = None) -> TextTable:
    """A CSV or Parquet file (by suffix) as text columns."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet_text(path)
    return read_csv_text(path, encoding=encoding)


_THOUSANDS: Final = r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$"


def parse_numbers(text: pl.Series) -> pl.Series:
    """Text to float; blanks and thousands separators are tolerated, anything else is null.

    A comma counts as a thousands separator only in groups of three ("1,234.5"), so a
    decimal comma ("1,5") is unparseable rather than read as 15.
    """
    values = text.cast(pl.Float64, strict=False)
    retry = values.is_null() & text.is_not_null()
    if retry.any():
        stripped = text.filter(retry).str.strip_chars()
        grouped = stripped.str.contains(_THOUSANDS)
        fixed = (
            pl.select(
                pl.when(pl.lit(grouped))
                .then(pl.lit(stripped).str.replace_all(",", "", literal=True))
                .otherwise(pl.lit(stripped))
            )
            .to_series()
            .cast(pl.Float64, strict=False)
        )
        values = values.scatter(retry.arg_true(), fixed)
    return values.alias(text.name)


def _parse_unique(text: pl.Series, timezone: str) -> pl.Series:
    stripped = text.str.strip_chars()
    naive = pl.select(
        pl.coalesce(
            [
                pl.lit(stripped).str.strptime(pl.Datetime("us"), f, strict=False)
                for f in _FORMATS_DATETIME
            ]
        )
    ).to_series()
    aware = pl.select(
        pl.coalesce(
            [
                pl.lit(stripped.str.replace(r"Z$", "+00:00")).str.strptime(
                    pl.Datetime("us", "UTC"), f, strict=False
                )
                for f in _FORMATS_AWARE
            ]
        )
    ).to_series()
    local = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    shifted = (naive + timedelta(hours=1)).dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    )
    return pl.select(
        pl.coalesce(
            pl.lit(aware),
            pl.lit(local).dt.convert_time_zone("UTC"),
            pl.lit(shifted).dt.convert_time_zone("UTC"),
        ).dt.cast_time_unit("us")
    ).to_series()


def parse_datetimes(text: pl.Series, timezone: str) -> pl.Series:
    """Text to UTC timestamps: naive times are local to ``timezone``; offsets are honoured.

    Each distinct text is parsed once. Ambiguous local times (the repeated hour when clocks go
    back) take the first; times in the hour skipped when clocks go forward are moved one
    hour on, as the wall clock would read. Unparseable text becomes null.
    """
    unique = text.drop_nulls().unique()
    parsed = _parse_unique(unique, timezone)
    return text.replace_strict(
        unique, parsed, default=None, return_dtype=pl.Datetime("us", "UTC")
    ).alias(text.name)


def require_columns(frame: pl.DataFrame, required: list[str], *, hint: str) -> None:
    """Raise SchemaError naming every missing column, the columns found, and what to do."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != ROW]
        raise SchemaError(
            f"missing column(s) {missing}; the file has {found[:20]}"
            f"{' …' if len(found) > 20 else ''}. {hint}"
        )
