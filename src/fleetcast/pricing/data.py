"""Reading and checking car-pricing data (the GetAround pricing file's columns).

Every row gets every reason it fails; rows with a reason are set apart (quarantined with the
row number and the text they held) and counted, never silently dropped. A file without the
needed columns fails as a whole with a message naming the missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import polars as pl

from fleetcast.errors import NothingLoadedError, SchemaError, SourceError
from fleetcast.sources.validate import count_reasons

CATEGORICAL: Final = ("model_key", "fuel", "paint_color", "car_type")
"""Text features: the model learns which values exist from the training file."""
NUMERIC: Final = ("mileage", "engine_power")
"""Numeric features: mileage in km, engine power in hp."""
OPTIONS: Final = (
    "private_parking_available",
    "has_gps",
    "has_air_conditioning",
    "automatic_car",
    "has_getaround_connect",
    "has_speed_regulator",
    "winter_tires",
)
"""Yes/no options of a car; their price effect is reported per option."""
FEATURES: Final = (*CATEGORICAL, *NUMERIC, *OPTIONS)
"""Every column a car needs for a price, in the model's order."""
TARGET: Final = "rental_price_per_day"
"""The price per day in EUR that the model learns."""
ROW: Final = "row_number"
"""1-based number of a data row in its file (the header is row 0)."""

_TRUE: Final = ("true", "1", "yes")
_FALSE: Final = ("false", "0", "no")


@dataclass(frozen=True, slots=True)
class PricingLimits:
    """Bounds beyond which a row is not believed (absurd, not merely unusual)."""

    max_mileage_km: float = 2_000_000.0
    max_engine_power_hp: float = 2_000.0
    max_price_per_day: float = 10_000.0

    def __post_init__(self) -> None:
        for name in ("max_mileage_km", "max_engine_power_hp", "max_price_per_day"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}={value!r} not understood: use a positive number")


@dataclass(frozen=True, slots=True)
class PricingData:
    """Accepted cars (typed FEATURES + TARGET) and the rows set apart, with their reasons."""

    cars: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def rows_rejected(self) -> int:
        """Rows set apart for at least one reason."""
        return self.quarantine.height

    def summary(self) -> str:
        """One line: rows read, used and set apart with the reasons, for logs and the CLI."""
        text = f"{self.rows_read:,} rows read, {self.cars.height:,} used"
        if self.reasons:
            why = ", ".join(f"{reason} ({n})" for reason, n in self.reasons.items())
            text += f", {self.rows_rejected:,} set apart: {why}"
        return text


def load_pricing_csv(path: str | Path, *, limits: PricingLimits | None = None) -> PricingData:
    """Read a pricing CSV (an unnamed index column is ignored) and check every row."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path} does not exist or is not a file")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, UnicodeDecodeError, OSError) as exc:
        raise SourceError(f"{path} could not be read as CSV: {exc}") from exc
    return check_pricing(raw, limits=limits, source=str(path))


def check_pricing(
    raw: pl.DataFrame, *, limits: PricingLimits | None = None, source: str = "input"
) -> PricingData:
    """Type and check a frame of pricing rows (any dtypes; text is parsed), splitting the
    accepted cars from rows with missing, unparseable or absurd values."""
    limits = limits or PricingLimits()
    index = [c for c in raw.columns if c == "" or c.startswith("Unnamed:")]
    missing = [c for c in (*FEATURES, TARGET) if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"{source} lacks the column(s) {', '.join(missing)}; a pricing file needs "
            f"{', '.join((*FEATURES, TARGET))}"
        )
    text = raw.drop(index).select(
        [pl.col(c).cast(pl.String).str.strip_chars().alias(c) for c in (*FEATURES, TARGET)]
    )
    text = text.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    typed = text.with_columns(
        *(_number(c) for c in (*NUMERIC, TARGET)),
        *(_boolean(c) for c in OPTIONS),
    )
    checks = _checks(limits)
    flags = text.with_columns(
        *(cond.fill_null(False).alias(f"_check{i}") for i, (cond, _) in enumerate(checks))
    )
    names = [f"_check{i}" for i in range(len(checks))]
    bad = flags.select(pl.any_horizontal(names)).to_series()
    reason = pl.concat_str(
        [pl.when(pl.col(n)).then(pl.lit(r)) for n, (_, r) in zip(names, checks, strict=True)],
        separator="; ",
        ignore_nulls=True,
    ).alias("reason")
    quarantine = (
        flags.filter(bad)
        .select(ROW, reason)
        .join(text.filter(bad), on=ROW, how="left")
        .select(ROW, "reason", *FEATURES, TARGET)
    )
    cars = typed.filter(~bad).select(
        *CATEGORICAL,
        *(pl.col(c).cast(pl.Float64) for c in NUMERIC),
        *OPTIONS,
        pl.col(TARGET).cast(pl.Float64),
    )
    data = PricingData(
        cars=cars,
        quarantine=quarantine,
        rows_read=raw.height,
        reasons=count_reasons(quarantine),
        source=source,
    )
    if cars.is_empty():
        raise NothingLoadedError(
            f"no usable row in {source}: {data.summary()}", reasons=dict(data.reasons)
        )
    return data


def _number(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64, strict=False).alias(name)


def _boolean(name: str) -> pl.Expr:
    value = pl.col(name).str.to_lowercase()
    return (
        pl.when(value.is_in(_TRUE))
        .then(pl.lit(True))
        .when(value.is_in(_FALSE))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
        .alias(name)
    )


def _present(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


def _checks(limits: PricingLimits) -> list[tuple[pl.Expr, str]]:
    """(condition on the text frame, reason) pairs; a row is set apart when any holds."""
    checks: list[tuple[pl.Expr, str]] = []
    for name in (*FEATURES, TARGET):
        checks.append((~_present(name), f"missing {name}"))
    for name in (*NUMERIC, TARGET):
        parsed = pl.col(name).cast(pl.Float64, strict=False)
        checks.append(
            (_present(name) & (parsed.is_null() | parsed.is_nan()), f"{name} is not a number")
        )
    for name in OPTIONS:
        lowered = pl.col(name).str.to_lowercase()
        checks.append(
            (_present(name) & ~lowered.is_in((*_TRUE, *_FALSE)), f"{name} is not true/false")
        )
    mileage = pl.col("mileage").cast(pl.Float64, strict=False)
    power = pl.col("engine_power").cast(pl.Float64, strict=False)
    price = pl.col(TARGET).cast(pl.Float64, strict=False)
    checks += [
        (mileage < 0, "negative mileage"),
        (mileage > limits.max_mileage_km, f"mileage above {limits.max_mileage_km:,.0f} km"),
        (power <= 0, "engine power not positive"),
        (
            power > limits.max_engine_power_hp,
            f"engine power above {limits.max_engine_power_hp:,.0f} hp",
        ),
        (price <= 0, "price per day not positive"),
        (
            price > limits.max_price_per_day,
            f"price per day above {limits.max_price_per_day:,.0f}",
        ),
    ]
    return checks
