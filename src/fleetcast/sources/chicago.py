"""City of Chicago e-scooter trips (portal CSV export and SODA API) and community areas.

The portal publishes trips with times in local Chicago time rounded to the hour, distances
in metres and durations in seconds. Zones are the 77 community areas; ``zone_id`` is the
community area number as text ("8" for Near North Side).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import polars as pl

from fleetcast.domain import SystemInfo, VehicleKind
from fleetcast.geo import Zoning
from fleetcast.sources._tabular import (
    TextTable,
    csv_header,
    parse_datetimes,
    parse_numbers,
    read_csv_text,
    require_columns,
)
from fleetcast.sources.validate import ROW

TIMEZONE: Final = "America/Chicago"
SYSTEM: Final = SystemInfo(
    system_id="chicago",
    name="Chicago e-scooter trips (City of Chicago open data)",
    timezone=TIMEZONE,
    kind=VehicleKind.SCOOTER,
    country="US",
    subdivision="IL",
    center_lat=41.8781,
    center_lon=-87.6298,
)

TRIP_ID: Final = "Trip ID"
START_TIME: Final = "Start Time"
END_TIME: Final = "End Time"
DISTANCE: Final = "Trip Distance"
DURATION: Final = "Trip Duration"
VENDOR: Final = "Vendor"
START_AREA: Final = "Start Community Area Number"
END_AREA: Final = "End Community Area Number"
START_LAT: Final = "Start Centroid Latitude"
START_LON: Final = "Start Centroid Longitude"
END_LAT: Final = "End Centroid Latitude"
END_LON: Final = "End Centroid Longitude"
REQUIRED_COLUMNS: Final = [TRIP_ID, START_TIME, END_TIME, DISTANCE, DURATION]
"""Columns without which a Chicago trips file is unusable (zones need areas or centroids)."""
READ_COLUMNS: Final = [
    *REQUIRED_COLUMNS,
    VENDOR,
    START_AREA,
    END_AREA,
    START_LAT,
    START_LON,
    END_LAT,
    END_LON,
]
"""Columns fleetcast reads (and keeps in the quarantine record of a rejected row)."""

ZONE_ID_FIELD: Final = "area_numbe"
ZONE_NAME_FIELD: Final = "community"


def community_areas(source: Path | str | dict[str, Any]) -> Zoning:
    """The 77 community areas from the portal's boundaries GeoJSON (dataset cauq-8yn6)."""
    return Zoning.from_geojson(source, id_field=ZONE_ID_FIELD, name_field=ZONE_NAME_FIELD)


def read_trips_csv(path: Path, *, encoding: str | None = None) -> TextTable:
    """The portal's CSV export as text columns; a file without the trip columns is refused."""
    table = read_csv_text(path, encoding=encoding, columns=READ_COLUMNS)
    # Checked against the whole header, so a refusal names the columns the file does have.
    header = csv_header(path, encoding=encoding)
    check_columns(pl.DataFrame(schema=dict.fromkeys(header, pl.String)))
    return table


def check_columns(frame: pl.DataFrame) -> None:
    """Refuse a frame that lacks the portal's trip columns, naming what is missing."""
    require_columns(
        frame,
        REQUIRED_COLUMNS,
        hint="Is this the City of Chicago 'E-Scooter Trips' export? For other layouts use "
        "'fleetcast ingest trips PATH --map started_at=...'.",
    )
    has_areas = START_AREA in frame.columns
    has_points = START_LAT in frame.columns and START_LON in frame.columns
    if not (has_areas or has_points):
        require_columns(
            frame,
            [START_AREA],
            hint=f"Zones need '{START_AREA}' or '{START_LAT}'/'{START_LON}'.",
        )


def _areas(text: pl.Series) -> pl.Series:
    """Community area numbers as text ("8", not "8.0"); other text is kept to be rejected."""
    number = parse_numbers(text)
    whole = number.is_not_null() & (number == number.round(0))
    as_id = number.cast(pl.Int64, strict=False).cast(pl.String)
    kept = text.str.strip_chars()
    return (
        pl.select(
            pl.when(pl.lit(whole)).then(pl.lit(as_id)).otherwise(pl.lit(kept).replace("", None))
        )
        .to_series()
        .alias(text.name)
    )


def _column(raw: pl.DataFrame, name: str) -> pl.Series:
    if name in raw.columns:
        return raw[name]
    return pl.Series(name, [None] * raw.height, dtype=pl.String)


def to_candidates(raw: pl.DataFrame, *, timezone: str = TIMEZONE) -> pl.DataFrame:
    """Portal columns (text) to candidate trips for :func:`validate.check_trips`."""

    def col(name: str) -> pl.Series:
        return _column(raw, name)

    return pl.DataFrame(
        {
            ROW: raw[ROW],
            "trip_id": col(TRIP_ID).str.strip_chars(),
            "started_at_raw": col(START_TIME),
            "ended_at_raw": col(END_TIME),
            "duration_raw": col(DURATION),
            "distance_raw": col(DISTANCE),
            "start_lat_raw": col(START_LAT),
            "start_lon_raw": col(START_LON),
            "end_lat_raw": col(END_LAT),
            "end_lon_raw": col(END_LON),
            "started_at": parse_datetimes(col(START_TIME), timezone),
            "ended_at": parse_datetimes(col(END_TIME), timezone),
            "duration_s": parse_numbers(col(DURATION)),
            "distance_m": parse_numbers(col(DISTANCE)),
            "start_lat": parse_numbers(col(START_LAT)),
            "start_lon": parse_numbers(col(START_LON)),
            "end_lat": parse_numbers(col(END_LAT)),
            "end_lon": parse_numbers(col(END_LON)),
            "start_zone": _areas(col(START_AREA)),
            "end_zone": _areas(col(END_AREA)),
            "provider": col(VENDOR).str.strip_chars(),
        }
    ).with_columns(
        pl.lit("scooter").alias("vehicle_type"),
        pl.lit(None, pl.String).alias("vehicle_id"),
    )
