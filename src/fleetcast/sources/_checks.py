"""Row checks shared by the daily sources (weather, pre-aggregated demand).

A check is a boolean expression that is true on a bad row, paired with its reason. Every row
gets every reason it fails; rows with none are accepted. Rejected rows carry their original
record as JSON so the ingest can keep them in the quarantine dataset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from fleetcast.errors import SchemaError
from fleetcast.sources.validate import ROW

Check = tuple[pl.Expr, str]

REJECTED_SCHEMA: Final[dict[str, pl.DataType]] = {
    "row_number": pl.Int64(),
    "reason": pl.String(),
    "record": pl.String(),
}
"""Rejected rows: the input row number, every reason joined with '; ', the record as JSON."""

_DAY = re.compile(
    r"^\s*(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hh>\d{2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:\.\d+)?)?)?\s*$"
)
_DAY_PATTERN: Final = _DAY.pattern


@dataclass(frozen=True, slots=True)
class Split:
    """Rows that passed every check and the rejected ones (REJECTED_SCHEMA, record unset)."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame


def text_present(name: str) -> pl.Expr:
    """The column holds text that is not blank."""
    return pl.col(name).is_not_null() & (pl.col(name).str.strip_chars() != "")


def split_rows(
    frame: pl.DataFrame,
    checks: Sequence[Check],
    *,
    unique: Sequence[str] = (),
    duplicate_reason: str = "duplicate in this input",
) -> Split:
    """Evaluate every check on the whole frame and split it into accepted and rejected rows.

    ``frame`` must have the ``_row`` column. A check that is null on a row counts as passed
    (the checks for a missing or unparseable value say so themselves). With ``unique``,
    the first row that passes every check keeps its key; later ones that pass are rejected
    with ``duplicate_reason`` (so a bad first copy does not shadow a good second one).
    """
    split = _split(frame, checks)
    if not unique or split.accepted.is_empty():
        return split
    again = _split(split.accepted, [(~pl.struct(*unique).is_first_distinct(), duplicate_reason)])
    return Split(again.accepted, pl.concat([split.rejected, again.rejected]).sort("row_number"))


def _split(frame: pl.DataFrame, checks: Sequence[Check]) -> Split:
    names = [f"_check{i}" for i in range(len(checks))]
    flags = frame.select(
        pl.col(ROW).alias("row_number"),
        *(c.fill_null(False).alias(n) for n, (c, _) in zip(names, checks, strict=True)),
    )
    bad = flags.select(pl.any_horizontal(names) if names else pl.lit(False)).to_series()
    rejected = flags.filter(bad).select(
        "row_number",
        pl.concat_str(
            [pl.when(pl.col(n)).then(pl.lit(r)) for n, (_, r) in zip(names, checks, strict=True)],
            separator="; ",
            ignore_nulls=True,
        ).alias("reason"),
        pl.lit(None, pl.String).alias("record"),
    )
    return Split(frame.filter(~bad), rejected.cast(REJECTED_SCHEMA))  # type: ignore[arg-type]


def with_records(rejected: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Rejected rows with ``record`` set to their row of ``raw`` (keyed by ``_row``) as JSON."""
    if rejected.is_empty():
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    records = raw.join(rejected.select(pl.col("row_number").alias(ROW)), on=ROW, how="semi").select(
        pl.col(ROW).alias("row_number"),
        pl.struct(pl.exclude(ROW)).struct.json_encode().alias("_record"),
    )
    return (
        rejected.join(records, on="row_number", how="left")
        .with_columns(pl.coalesce("_record", "record").alias("record"))
        .select(list(REJECTED_SCHEMA))
    )


def combine_rejected(*parts: pl.DataFrame) -> pl.DataFrame:
    """Rejected rows from several checks (and rows the reader could not split), by row."""
    frames = [p.select(list(REJECTED_SCHEMA)).cast(REJECTED_SCHEMA) for p in parts if p.height]  # type: ignore[arg-type]
    if not frames:
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    return pl.concat(frames).sort("row_number")


def parse_days(text: pl.Series, *, column: str, rows: pl.Series | None = None) -> pl.Series:
    """ISO days (``2020-08-12``, or ``2020-08-12 00:00:00`` as pandas writes them) to dates.

    Anything else is null, so the caller can reject the row as unparseable; ambiguous
    layouts such as ``08/12/2020`` are not guessed. A value with a time of day other than
    midnight means the file holds hourly (or event) data rather than one row per day: that
    refuses the whole file with a SchemaError naming ``column`` and the first such row
    (its number from ``rows``, the input's row numbers, when given).
    """
    parts = pl.DataFrame({"t": text.cast(pl.String)}).select(
        pl.col("t").str.extract_groups(_DAY_PATTERN).struct.unnest()
    )
    found = parts.select(
        pl.col("day").str.to_date("%Y-%m-%d", strict=False),
        (pl.concat_str([pl.col(c).fill_null("00") for c in ("hh", "mm", "ss")]) != "000000").alias(
            "timed"
        ),
    )
    day = found["day"]
    timed = found["timed"] & day.is_not_null()
    if timed.any():
        where = int(timed.arg_true()[0])
        row = int(rows[where]) if rows is not None else where + 1
        raise SchemaError(
            f"column {column!r} holds times of day (row {row}: {text[where]!r}), not days: "
            "this looks like hourly or per-event data; aggregate it to one row per day first"
        )
    return day.alias(text.name)
