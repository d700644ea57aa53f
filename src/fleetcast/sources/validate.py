"""Checks every trip source runs before anything reaches the store.

A source parses its own format into a *candidate* frame (typed columns that are null where a
value could not be parsed, next to the raw text it came from) and hands it here. Every row
gets every reason it fails, not only the first; rows with no reason are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import polars as pl

from fleetcast.domain import TRIPS, conform
from fleetcast.errors import SchemaError
from fleetcast.geo import Zoning

ROW: Final = "_row"
"""Column holding each input row's 1-based number (the header is row 0)."""


@dataclass(frozen=True, slots=True)
class TripLimits:
    """Bounds beyond which a trip is not believed: longer than a day, farther than 100 km."""

    max_duration_s: float = 24 * 3600.0
    max_distance_m: float = 100_000.0
    min_duration_s: float = 0.0

    def __post_init__(self) -> None:
        if self.max_duration_s <= self.min_duration_s:
            raise ValueError("max_duration_s must be larger than min_duration_s")
        if self.max_distance_m <= 0:
            raise ValueError("max_distance_m must be positive")


@dataclass(slots=True)
class CheckedTrips:
    """Outcome of validation: accepted trips (TRIPS schema) and rejected rows with reasons."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)


def _text_present(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name).str.strip_chars() != "")


def _coordinate_checks(prefix: str) -> list[tuple[pl.Expr, str]]:
    lat, lon = pl.col(f"{prefix}_lat"), pl.col(f"{prefix}_lon")
    raw_lat, raw_lon = f"{prefix}_lat_raw", f"{prefix}_lon_raw"
    return [
        (
            (_text_present(raw_lat) & lat.is_null()) | (_text_present(raw_lon) & lon.is_null()),
            f"unparseable {prefix} coordinates",
        ),
        (
            (lat.abs() > 90) | (lon.abs() > 180) | lat.is_nan() | lon.is_nan(),
            f"{prefix} coordinates outside the world",
        ),
    ]


def check_trips(
    candidates: pl.DataFrame,
    *,
    system_id: str,
    timezone: str,
    zoning: Zoning | None,
    known_zones: set[str] | None = None,
    limits: TripLimits | None = None,
    zone_label: str = "zone",
) -> CheckedTrips:
    """Validate candidate trips, assign zones, and split accepted from rejected rows.

    ``date`` of an accepted trip is the day it started in the system's ``timezone``.
    ``candidates`` has the TRIPS columns (typed, null where unparseable) plus ``_row`` and
    the raw text columns ``started_at_raw``, ``ended_at_raw``, ``duration_raw``,
    ``distance_raw``, ``{start,end}_{lat,lon}_raw``. Zones given in ``start_zone`` /
    ``end_zone`` must be in ``known_zones``; missing ones are located with ``zoning``.
    """
    limits = limits or TripLimits()
    needed = {ROW, "trip_id", "started_at", "ended_at", "started_at_raw", "ended_at_raw"}
    missing = needed - set(candidates.columns)
    if missing:
        raise SchemaError(f"candidate trips lack {sorted(missing)}")
    frame = candidates
    for name in TRIPS:
        if name not in frame.columns and name != "date":
            frame = frame.with_columns(pl.lit(None).cast(TRIPS[name]).alias(name))
    for name in (
        "duration_raw",
        "distance_raw",
        "start_lat_raw",
        "start_lon_raw",
        "end_lat_raw",
        "end_lon_raw",
    ):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    if known_zones is None and zoning is not None:
        known_zones = set(zoning.zone_ids)
    check_known = known_zones is not None
    known_list = pl.Series(sorted(known_zones or ()), dtype=pl.String).implode()
    started, ended = pl.col("started_at"), pl.col("ended_at")
    duration, distance = pl.col("duration_s"), pl.col("distance_m")
    checks: list[tuple[pl.Expr, str]] = [
        (~_text_present("trip_id"), "missing trip id"),
        (~_text_present("started_at_raw"), "missing start time"),
        (_text_present("started_at_raw") & started.is_null(), "unparseable start time"),
        (~_text_present("ended_at_raw"), "missing end time"),
        (_text_present("ended_at_raw") & ended.is_null(), "unparseable end time"),
        (ended < started, "ends before it starts"),
        (_text_present("duration_raw") & duration.is_null(), "unparseable duration"),
        (
            (duration < limits.min_duration_s) | (duration > limits.max_duration_s),
            "absurd duration",
        ),
        (_text_present("distance_raw") & distance.is_null(), "unparseable distance"),
        ((distance < 0) | (distance > limits.max_distance_m), "absurd distance"),
        *_coordinate_checks("start"),
        *_coordinate_checks("end"),
        (
            pl.lit(check_known)
            & pl.col("start_zone").is_not_null()
            & ~pl.col("start_zone").is_in(known_list),
            f"unknown start {zone_label}",
        ),
        (
            pl.lit(check_known)
            & pl.col("end_zone").is_not_null()
            & ~pl.col("end_zone").is_in(known_list),
            f"unknown end {zone_label}",
        ),
        (
            _text_present("trip_id") & ~pl.col("trip_id").is_first_distinct(),
            "duplicate trip id in this input",
        ),
    ]
    frame = _locate_missing_zones(frame, zoning)
    start_point = pl.col("start_lat").is_not_null() & pl.col("start_lon").is_not_null()
    end_point = pl.col("end_lat").is_not_null() & pl.col("end_lon").is_not_null()
    checks += [
        (
            pl.col("start_zone").is_null() & ~start_point,
            f"no start {zone_label} and no start coordinates",
        ),
        (pl.col("start_zone").is_null() & start_point, f"start outside every {zone_label}"),
        (
            pl.lit(zoning is not None) & pl.col("end_zone").is_null() & end_point,
            f"end outside every {zone_label}",
        ),
    ]
    # Each check is evaluated on the whole frame (the duplicate-id check looks at other
    # rows); reason text is then built for the rejected rows only.
    flags = frame.select(
        pl.col(ROW).alias("row_number"),
        *(c.fill_null(False).alias(f"_check{i}") for i, (c, _) in enumerate(checks)),
    )
    names = [f"_check{i}" for i in range(len(checks))]
    bad = flags.select(pl.any_horizontal(names)).to_series()
    rejected = flags.filter(bad).select(
        "row_number",
        pl.concat_str(
            [pl.when(pl.col(n)).then(pl.lit(r)) for n, (_, r) in zip(names, checks, strict=True)],
            separator="; ",
            ignore_nulls=True,
        ).alias("_reason"),
    )
    accepted = frame.filter(~bad).with_columns(
        pl.lit(system_id).alias("system_id"),
        pl.col("started_at").dt.convert_time_zone(timezone).dt.date().alias("date"),
    )
    return CheckedTrips(
        accepted=conform(accepted, TRIPS),
        rejected=rejected.rename({"_reason": "reason"}),
        rows_read=candidates.height,
        reasons=count_reasons(rejected, column="_reason"),
    )


def _locate_missing_zones(frame: pl.DataFrame, zoning: Zoning | None) -> pl.DataFrame:
    """Fill null start/end zones from coordinates, looking up each distinct place once."""
    if zoning is None:
        return frame
    for end in ("start", "end"):
        zone, lat, lon = f"{end}_zone", f"{end}_lat", f"{end}_lon"
        need = frame.select(
            (
                pl.col(zone).is_null()
                & pl.col(lat).is_between(-90, 90)
                & pl.col(lon).is_between(-180, 180)
            ).fill_null(False)
        ).to_series()
        if not need.any():
            continue
        where = need.arg_true()
        points = frame.select(lat, lon).filter(need)
        located = zoning.assign(points, lat=lat, lon=lon, out=zone)[zone]
        frame = frame.with_columns(frame[zone].scatter(where, located))
    return frame


def count_reasons(rejected: pl.DataFrame, *, column: str = "reason") -> dict[str, int]:
    """How many rejected rows have each reason ("a; b" counts for both), most frequent first."""
    if rejected.is_empty():
        return {}
    counts = (
        rejected.select(pl.col(column).str.split("; ").alias("r"))
        .explode("r")
        .group_by("r")
        .len()
        .sort(["len", "r"], descending=[True, False])
    )
    return {str(r): int(n) for r, n in counts.iter_rows()}


def quarantine_rows(
    rejected: pl.DataFrame,
    raw: pl.DataFrame,
    *,
    system_id: str,
    ingest_id: str,
    source: str,
) -> pl.DataFrame:
    """Rejected rows with their original record as JSON, ready for the quarantine dataset."""
    from datetime import UTC, datetime

    if rejected.is_empty():
        return pl.DataFrame(schema={"row_number": pl.Int64})
    records = raw.join(rejected.select(pl.col("row_number").alias(ROW)), on=ROW, how="semi").select(
        pl.col(ROW).alias("row_number"),
        pl.struct(pl.exclude(ROW)).struct.json_encode().alias("record"),
    )
    today = datetime.now(UTC).date()
    return rejected.join(records, on="row_number", how="left").with_columns(
        pl.lit(system_id).alias("system_id"),
        pl.lit(ingest_id).alias("ingest_id"),
        pl.lit(source).alias("source"),
        pl.lit(today).alias("date"),
    )
