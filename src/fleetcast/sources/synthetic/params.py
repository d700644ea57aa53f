"""The demo city's fixed identity (system, zone, centre) and ``DemoParams``, checking itself."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np

from fleetcast.domain import SystemInfo, VehicleKind

SYSTEM_ID: Final = "demo"
PROVIDER: Final = "demo"
TIMEZONE: Final = "America/Chicago"
CENTER_LAT: Final = 41.8819
CENTER_LON: Final = -87.6278
DEFAULT_END: Final = date(2026, 10, 31)
"""Last day of the default period: fixed, so a seed always gives the same city."""

SYSTEM: Final = SystemInfo(
    system_id=SYSTEM_ID,
    name="fleetcast demo city (Chicago)",
    timezone=TIMEZONE,
    kind=VehicleKind.SCOOTER,
    country="US",
    subdivision="IL",
    center_lat=CENTER_LAT,
    center_lon=CENTER_LON,
)


@dataclass(frozen=True, slots=True)
class DemoParams:
    """Everything that shapes a demo city; checks itself so nonsense fails early and clearly.

    ``trips_scale`` multiplies demand (1.0 gives about 1.3 million trips over the default
    two years); ``annual_growth`` is the yearly growth of demand and of the active fleet;
    ``dispersion`` is the negative binomial size k of zone-day counts (variance = mean +
    mean**2 / k, so smaller is noisier).
    """

    seed: int = 7
    days: int = 730
    end: date = DEFAULT_END
    n_zones: int = 90
    trips_scale: float = 1.0
    fleet_size: int = 1600
    annual_growth: float = 0.3
    dispersion: float = 10.0
    n_depots: int = 2
    n_workers: int = 6

    def __post_init__(self) -> None:
        problems = _param_problems(self)
        if problems:
            raise ValueError("DemoParams not understood: " + "; ".join(problems))

    @property
    def start(self) -> date:
        """First local day of the generated period."""
        return self.end - timedelta(days=self.days - 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _param_problems(params: DemoParams) -> list[str]:
    """Every reason ``params`` cannot describe a city (empty when it can)."""
    problems: list[str] = []
    int_ranges = {
        "seed": (0, 2**63 - 1),
        "days": (7, 3660),
        "n_zones": (10, 500),
        "fleet_size": (50, 20_000),
        "n_depots": (1, 2),
        "n_workers": (0, 50),
    }
    for name, (low, high) in int_ranges.items():
        value = getattr(params, name)
        if not _is_int(value):
            problems.append(f"{name} must be an integer, got {value!r}")
        elif not low <= value <= high:
            problems.append(f"{name} must be in {low}..{high}, got {value}")
    real_ranges = {
        "trips_scale": (0.0, 20.0, False),
        "annual_growth": (-0.5, 3.0, True),
        "dispersion": (0.1, 1000.0, True),
    }
    for name, (lowest, highest, low_included) in real_ranges.items():
        number = getattr(params, name)
        if not _is_real(number) or not math.isfinite(number):
            problems.append(f"{name} must be a finite number, got {number!r}")
        elif not ((lowest <= number) if low_included else (lowest < number)) or number > highest:
            bracket = "[" if low_included else "("
            problems.append(f"{name} must be in {bracket}{lowest}, {highest}], got {number}")
    if not isinstance(params.end, date) or isinstance(params.end, datetime):
        problems.append(f"end must be a datetime.date, got {params.end!r}")
    elif (
        _is_int(params.days)
        and 7 <= params.days <= 3660
        and (params.end.year > 9000 or params.end.toordinal() - params.days < 1)
    ):
        problems.append(f"end {params.end} with days {params.days} is out of range")
    return problems
