"""Generic trips, and pre-aggregated daily demand, from CSV or Parquet files.

Both take a mapping from our field names to the file's column names; columns already named
like our fields need none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from pathlib import Path
from typing import Final

import polars as pl

from fleetcast.errors import SchemaError
from fleetcast.sources import _checks
from fleetcast.sources._tabular import (
    parse_datetimes,
    parse_numbers,
    read_table,
    require_columns,
)
from fleetcast.sources.validate import ROW, count_reasons

TRIP_FIELDS: Final = (
    "trip_id",
    "started_at",
    "ended_at",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
    "start_zone",
    "end_zone",
    "distance_m",
    "duration_s",
    "vehicle_id",
    "vehicle_type",
    "provider",
)
"""Fields a trips file can map; only started_at and ended_at are required."""


def parse_mapping(
    items: list[str] | None, *, fields: Sequence[str] = TRIP_FIELDS
) -> dict[str, str]:
    """``["started_at=Start Time", "trip_id=id,vendor=Vendor"]`` to ``{field: column}``.

    ``fields`` are the names a mapping may use (a trips file's by default; see
    :data:`DEMAND_FIELDS` and ``weather.WEATHER_FIELDS`` for the others).
    """
    mapping: dict[str, str] = {}
    for item in items or []:
        for pair in item.split(","):
            if not pair.strip():
                continue
            name, sep, column = pair.partition("=")
            name, column = name.strip(), column.strip()
            if not sep or not name or not column:
                raise SchemaError(f"--map {pair!r} not understood: write field=Column Name")
            if name not in fields:
                raise SchemaError(f"--map: unknown field {name!r}; fields are {', '.join(fields)}")
            mapping[name] = column
    return mapping


def resolve_mapping(columns: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Our field -> the file's column, using the file's own names where they match ours."""
    resolved: dict[str, str] = {f: f for f in TRIP_FIELDS if f in columns}
    resolved.update(mapping)
    hint = (
        "Name the file's columns with --map, e.g. "
        "--map started_at='Start Time',ended_at='End Time',start_lat=lat,start_lon=lon"
    )
    for needed in ("started_at", "ended_at"):
        if needed not in resolved:
            raise SchemaError(f"no column for {needed!r}. {hint}")
    require_columns(
        pl.DataFrame(schema=dict.fromkeys(columns, pl.String)), list(resolved.values()), hint=hint
    )
    has_start = "start_zone" in resolved or {"start_lat", "start_lon"} <= set(resolved)
    if not has_start:
        raise SchemaError(f"trips need start_zone or start_lat and start_lon. {hint}")
    return resolved


def content_ids(rows: pl.Series) -> list[str]:
    """A stable id per row's text (BLAKE2b, 96 bits), the same in every version and process."""
    return [blake2b(r.encode("utf-8"), digest_size=12).hexdigest() for r in rows.to_list()]


def to_candidates(raw: pl.DataFrame, *, mapping: Mapping[str, str], timezone: str) -> pl.DataFrame:
    """Mapped text columns to candidate trips for :func:`validate.check_trips`.

    Files without trip ids get a deterministic id from the row's content, so loading the same
    file twice keeps one copy. Missing durations come from the times; missing distances from
    the straight line between start and end.
    """

    def text(name: str) -> pl.Expr:
        return pl.col(mapping[name]).cast(pl.String) if name in mapping else pl.lit(None, pl.String)

    frame = raw.select(
        pl.col(ROW),
        text("trip_id").str.strip_chars().alias("trip_id"),
        text("started_at").alias("started_at_raw"),
        text("ended_at").alias("ended_at_raw"),
        text("duration_s").alias("duration_raw"),
        text("distance_m").alias("distance_raw"),
        *(text(n).alias(f"{n}_raw") for n in ("start_lat", "start_lon", "end_lat", "end_lon")),
        text("start_zone").str.strip_chars().alias("start_zone"),
        text("end_zone").str.strip_chars().alias("end_zone"),
        text("vehicle_id").str.strip_chars().alias("vehicle_id"),
        text("vehicle_type").str.strip_chars().alias("vehicle_type"),
        text("provider").str.strip_chars().alias("provider"),
    )
    if "trip_id" not in mapping:
        content = [c for c in frame.columns if c not in (ROW, "trip_id")]
        joined = frame.select(
            pl.concat_str([pl.col(c).fill_null("") for c in content], separator="\x1f")
        ).to_series()
        frame = frame.with_columns(pl.Series("trip_id", content_ids(joined), dtype=pl.String))
    points = ("start_lat", "start_lon", "end_lat", "end_lon")
    frame = frame.with_columns(
        pl.col("start_zone").replace("", None),
        pl.col("end_zone").replace("", None),
        parse_datetimes(frame["started_at_raw"], timezone).alias("started_at"),
        parse_datetimes(frame["ended_at_raw"], timezone).alias("ended_at"),
        parse_numbers(frame["duration_raw"]).alias("duration_s"),
        parse_numbers(frame["distance_raw"]).alias("distance_m"),
        *(parse_numbers(frame[f"{n}_raw"]).alias(n) for n in points),
    )
    lat1, lon1, lat2, lon2 = (pl.col(n).radians() for n in points)
    straight = (
        2
        * 6_371_008.8
        * (
            ((lat2 - lat1) / 2).sin().pow(2)
            + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2).sin().pow(2)
        )
        .sqrt()
        .arcsin()
    )
    return frame.with_columns(
        pl.when(pl.col("duration_raw").is_null())
        .then((pl.col("ended_at") - pl.col("started_at")).dt.total_microseconds() / 1e6)
        .otherwise(pl.col("duration_s"))
        .alias("duration_s"),
        pl.when(pl.col("distance_raw").is_null())
        .then(straight)
        .otherwise(pl.col("distance_m"))
        .alias("distance_m"),
    )


DEMAND_FIELDS: Final = ("zone_id", "date", "trips")
"""Fields of a pre-aggregated demand file: trips started per zone and local day."""

MAX_TRIPS: Final = 2_147_483_647
"""The most trips one zone-day can hold in the store (a 32-bit integer column)."""

_ZONE_ID_CHARS: Final = 64
_DEMAND_HINT: Final = (
    "A demand file has one row per zone and day with columns zone_id, date (YYYY-MM-DD) and "
    "trips; name other columns with --map, e.g. --map zone_id=Area,date=Day,trips=Rides"
)


@dataclass(slots=True)
class CheckedDemand:
    """A demand file read and checked: the good rows, and the rejected ones with reasons.

    ``accepted`` has ``zone_id``, ``date``, ``trips`` (Int64); ``rejected`` has
    ``row_number``, ``reason`` and the original ``record`` as JSON.
    """

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)


def resolve_demand_mapping(columns: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Our demand field -> the file's column: its own names (any case), then ``mapping``.

    Every field is required; a missing one is a SchemaError naming the columns the file has.
    """
    by_lower = {c.lower(): c for c in reversed(list(columns))}
    resolved: dict[str, str] = {f: by_lower[f] for f in DEMAND_FIELDS if f in by_lower}
    resolved.update(mapping)
    missing = [f for f in DEMAND_FIELDS if f not in resolved]
    if missing:
        shown = [c for c in columns if c != ROW]
        raise SchemaError(f"no column for {missing}; the file has {shown[:20]}. {_DEMAND_HINT}")
    require_columns(
        pl.DataFrame(schema=dict.fromkeys(columns, pl.String)),
        list(resolved.values()),
        hint=_DEMAND_HINT,
    )
    return resolved


def check_demand(
    raw: pl.DataFrame,
    *,
    mapping: Mapping[str, str],
    known_zones: set[str] | None = None,
    today: datetime | None = None,
) -> CheckedDemand:
    """Check the mapped text columns of a demand file; every bad row gets every reason.

    Rejected: a missing zone id or date, a date that is not YYYY-MM-DD or lies in the future,
    missing / unparseable / negative / fractional trips, a zone not in ``known_zones`` (when
    given), and a zone and day already given on an earlier good row (the first is kept).
    ``trips`` may use thousands separators ("1,234"); "12.0" is 12.
    """
    frame = raw.select(
        pl.col(ROW),
        pl.col(mapping["zone_id"]).cast(pl.String).str.strip_chars().alias("zone_id"),
        pl.col(mapping["date"]).cast(pl.String).alias("date_raw"),
        pl.col(mapping["trips"]).cast(pl.String).alias("trips_raw"),
    )
    frame = frame.with_columns(
        _checks.parse_days(frame["date_raw"], column=mapping["date"], rows=frame[ROW]).alias(
            "date"
        ),
        parse_numbers(frame["trips_raw"]).alias("trips"),
    )
    latest = ((today or datetime.now(UTC)) + timedelta(days=1)).date()
    # NaN is "unparseable"; comparisons see it as null (Polars orders NaN above all).
    trips, zone = pl.col("trips").fill_nan(None), pl.col("zone_id")
    known = pl.Series(sorted(known_zones or ()), dtype=pl.String).implode()
    checks: list[_checks.Check] = [
        (~_checks.text_present("zone_id"), "missing zone id"),
        (zone.str.len_chars() > _ZONE_ID_CHARS, f"zone id longer than {_ZONE_ID_CHARS} characters"),
        (
            pl.lit(known_zones is not None) & zone.is_not_null() & ~zone.is_in(known),
            "unknown zone",
        ),
        (~_checks.text_present("date_raw"), "missing date"),
        (
            _checks.text_present("date_raw") & pl.col("date").is_null(),
            "unparseable date (use YYYY-MM-DD)",
        ),
        (pl.col("date") > latest, "date in the future"),
        (~_checks.text_present("trips_raw"), "missing trips"),
        (
            _checks.text_present("trips_raw") & trips.is_null(),
            "unparseable trips",
        ),
        (trips < 0, "negative trips"),
        (trips.is_finite() & (trips != trips.floor()), "trips not a whole number"),
        (trips > MAX_TRIPS, f"more than {MAX_TRIPS:,} trips"),
    ]
    split = _checks.split_rows(
        frame,
        checks,
        unique=("zone_id", "date"),
        duplicate_reason="duplicate zone and day in this input",
    )
    rejected = _checks.with_records(split.rejected, raw)
    accepted = split.accepted.select("zone_id", "date", pl.col("trips").cast(pl.Int64)).sort(
        "zone_id", "date"
    )
    return CheckedDemand(
        accepted=accepted,
        rejected=rejected,
        rows_read=raw.height,
        reasons=count_reasons(rejected),
    )


def read_demand_file(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    known_zones: set[str] | None = None,
    encoding: str | None = None,
) -> CheckedDemand:
    """Read a CSV or Parquet file of daily trips per zone (``zone_id, date, trips``) and check it.

    For operators who only have daily counts. Rows the CSV reader cannot split (a wrong
    number of fields) are rejected with the reason and the raw line. A file that cannot be
    used at all (unreadable, a column missing, times of day instead of days) is a SchemaError.
    """
    table = read_table(path, encoding=encoding)
    resolved = resolve_demand_mapping(list(table.frame.columns), mapping or {})
    checked = check_demand(table.frame, mapping=resolved, known_zones=known_zones)
    rejected = _checks.combine_rejected(checked.rejected, table.malformed)
    return CheckedDemand(
        accepted=checked.accepted,
        rejected=rejected,
        rows_read=table.rows_read,
        reasons=count_reasons(rejected),
    )
