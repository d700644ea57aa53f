"""Generic trips from CSV or Parquet files, with a mapping from our column names to theirs."""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import blake2b
from typing import Final

import polars as pl

from fleetcast.errors import SchemaError
from fleetcast.sources._tabular import parse_datetimes, parse_numbers, require_columns
from fleetcast.sources.validate import ROW

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


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["started_at=Start Time", "trip_id=id,vendor=Vendor"]`` to ``{field: column}``."""
    mapping: dict[str, str] = {}
    for item in items or []:
        for pair in item.split(","):
            if not pair.strip():
                continue
            name, sep, column = pair.partition("=")
            name, column = name.strip(), column.strip()
            if not sep or not name or not column:
                raise SchemaError(f"--map {pair!r} not understood: write field=Column Name")
            if name not in TRIP_FIELDS:
                raise SchemaError(
                    f"--map: unknown field {name!r}; fields are {', '.join(TRIP_FIELDS)}"
                )
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
