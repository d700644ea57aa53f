"""What reading a status feed gives (accepted rows, quarantined records with every reason,
warnings), and the checks shared by stations and vehicles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import polars as pl

from fleetcast.sources.gbfs.documents import FeedDocument
from fleetcast.sources.gbfs.values import FUTURE_SLACK, MAX_COUNT
from fleetcast.sources.validate import count_reasons

ROW: Final = "_row"
"""1-based position of a record in its feed's list."""
PARSE: Final = "_parse"
"""Reasons found while reading a record's values ('; '-joined, null when none)."""

Check = tuple[pl.Expr, str]


@dataclass(slots=True)
class CheckedFeed:
    """One feed read and validated: rows for the store, rejected records with reasons."""

    document: FeedDocument
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    """``row_number``, ``reason`` ('; '-joined) and ``record`` (the original JSON)."""
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rejected_ids: tuple[str, ...] = ()
    """The ids that could be read from rejected records (vehicles): such a vehicle is still
    in the feed, so a fleet replacement keeps its last good state instead of dropping it."""

    @property
    def name(self) -> str:
        """The feed's GBFS name."""
        return self.document.name


def epoch_column(name: str, values: list[float | None]) -> pl.Series:
    """POSIX seconds as a UTC datetime column (microseconds).

    The values come from ``Values.epoch``, which keeps them below 2100: far inside what
    Int64 microseconds hold (about year 294,000), so the cast cannot fail.
    """
    seconds = pl.Series(name, values, dtype=pl.Float64)
    return (seconds * 1_000_000).round().cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def record_frame(
    columns: Mapping[str, list[Any]],
    parse: list[str | None],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    *,
    rows: int,
) -> pl.DataFrame:
    """A status feed's ``rows`` records as one row each: position (ROW), reading reasons
    (PARSE), the read values typed by ``schema`` and ``last_reported`` (POSIX seconds in
    ``columns``) as a UTC datetime.

    Stations and vehicles build their frames alike so :func:`split` can check both.
    """
    return pl.DataFrame(
        {
            ROW: range(1, rows + 1),
            PARSE: parse,
            **{k: v for k, v in columns.items() if k != "last_reported"},
        },
        schema={ROW: pl.Int64, PARSE: pl.String, **schema},
    ).with_columns(epoch_column("last_reported", columns["last_reported"]))


def stamp_snapshot(
    accepted: pl.DataFrame, document: FeedDocument, *, system_id: str, timezone: str
) -> pl.DataFrame:
    """Accepted rows of a status snapshot with their ``system_id``, ``observed_at`` (the
    document's last_updated, UTC) and ``date`` (its local day in ``timezone``).

    A snapshot is observed as a whole at the time its document says it was updated.
    """
    return accepted.with_columns(
        pl.lit(system_id).alias("system_id"),
        pl.lit(document.last_updated).cast(pl.Datetime("us", "UTC")).alias("observed_at"),
    ).with_columns(local_day("observed_at", timezone).alias("date"))


def coordinate_checks(lat: str = "lat", lon: str = "lon") -> list[Check]:
    """Coordinates outside [-90, 90] x [-180, 180], or exactly (0, 0) (a null island)."""
    la, lo = pl.col(lat), pl.col(lon)
    return [
        ((la.abs() > 90) | (lo.abs() > 180), "coordinates outside the world"),
        ((la == 0) & (lo == 0), "coordinates at (0, 0)"),
    ]


def count_checks(fields: dict[str, str]) -> list[Check]:
    """Negative or absurdly large counts; ``fields`` maps column -> the feed's field name."""
    checks: list[Check] = []
    for column, source in fields.items():
        checks.append((pl.col(column) < 0, f"negative {source}"))
        checks.append((pl.col(column) > MAX_COUNT, f"{source} over {MAX_COUNT:,}"))
    return checks


def future_check(column: str, now: datetime) -> Check:
    """A report time more than a day ahead of ``now``."""
    limit = now + FUTURE_SLACK
    return (pl.col(column) > pl.lit(limit), f"{column} more than a day in the future")


def duplicate_check(column: str, source: str) -> Check:
    """Second and later records with the same id."""
    col = pl.col(column)
    return (col.is_not_null() & ~col.is_first_distinct(), f"duplicate {source} in this feed")


def split(
    frame: pl.DataFrame, checks: list[Check], records: list[Any]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accepted rows (without the helper columns) and rejected ones with every reason.

    ``frame`` holds ``_row`` and ``_parse`` beside the typed columns; each check is
    evaluated on the whole frame (duplicates look at other rows).
    """
    names = [f"_check{i}" for i in range(len(checks))]
    flags = frame.select(
        pl.col(ROW),
        pl.col(PARSE),
        *(expr.fill_null(False).alias(n) for n, (expr, _) in zip(names, checks, strict=True)),
    )
    bad = flags.select(pl.any_horizontal(pl.col(PARSE).is_not_null(), *names)).to_series()
    rejected = flags.filter(bad).select(
        pl.col(ROW).cast(pl.Int64).alias("row_number"),
        pl.concat_str(
            [
                pl.col(PARSE),
                *(
                    pl.when(pl.col(n)).then(pl.lit(reason))
                    for n, (_, reason) in zip(names, checks, strict=True)
                ),
            ],
            separator="; ",
            ignore_nulls=True,
        ).alias("reason"),
    )
    originals = [
        json.dumps(records[row - 1], ensure_ascii=False, default=str)
        for row in rejected["row_number"].to_list()
    ]
    rejected = rejected.with_columns(pl.Series("record", originals, dtype=pl.String))
    accepted = frame.filter(~bad).drop(ROW, PARSE)
    return accepted, rejected


def finish(
    document: FeedDocument,
    accepted: pl.DataFrame,
    rejected: pl.DataFrame,
    *,
    rows_read: int,
    warnings: list[str],
    ids: list[str | None] | None = None,
) -> CheckedFeed:
    """Bundle a checked feed with its reason counts and the envelope's warnings first;
    ``ids`` (one per record, when given) name the rejected records in ``rejected_ids``."""
    rejected_ids: tuple[str, ...] = ()
    if ids is not None:
        found = (ids[row - 1] for row in rejected["row_number"].to_list())
        rejected_ids = tuple(dict.fromkeys(i for i in found if i is not None))
    return CheckedFeed(
        document=document,
        accepted=accepted,
        rejected=rejected,
        rows_read=rows_read,
        reasons=count_reasons(rejected),
        warnings=[*document.warnings, *warnings],
        rejected_ids=rejected_ids,
    )


def local_day(column: str, timezone: str) -> pl.Expr:
    """The local day of a UTC datetime column in ``timezone``."""
    return pl.col(column).dt.convert_time_zone(timezone).dt.date()
