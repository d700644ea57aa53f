"""The generated period's days: weekdays, holidays and their effects, growth, local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import holidays
import numpy as np
import numpy.typing as npt
import polars as pl

from fleetcast.sources.synthetic.arrays import BoolArray, FloatArray, IntArray
from fleetcast.sources.synthetic.params import TIMEZONE, DemoParams

_HOLIDAY_EFFECTS: Final[dict[str, tuple[float, bool]]] = {
    # name: (demand factor, riders behave as on a weekend)
    "New Year's Day": (0.55, True),
    "Martin Luther King Jr. Day": (0.85, True),
    "Lincoln's Birthday": (0.95, False),
    "Washington's Birthday": (0.9, True),
    "Casimir Pulaski Day": (0.95, False),
    "Memorial Day": (1.3, True),
    "Juneteenth National Independence Day": (1.05, True),
    "Independence Day": (1.6, True),
    "Labor Day": (1.2, True),
    "Columbus Day": (0.95, False),
    "Election Day": (0.95, False),
    "Veterans Day": (0.95, False),
    "Thanksgiving Day": (0.45, True),
    "Christmas Day": (0.35, True),
}
_DEFAULT_HOLIDAY_EFFECT: Final = (0.9, False)


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Per local day of the period: date, day of week, holiday effects, growth."""

    dates: npt.NDArray[np.datetime64]
    doy: FloatArray
    dow: IntArray  # 0 = Monday
    holiday_factor: FloatArray
    day_off: BoolArray  # weekend, or a holiday people take off
    growth: FloatArray

    @property
    def n(self) -> int:
        return len(self.dates)


def _build_calendar(params: DemoParams) -> _Calendar:
    start = params.start
    dates = np.datetime64(start, "D") + np.arange(params.days)
    days = [start + timedelta(days=i) for i in range(params.days)]
    calendar = holidays.country_holidays(
        "US", subdiv="IL", years=range(start.year, params.end.year + 1)
    )
    factor = np.ones(params.days)
    holiday_off = np.zeros(params.days, dtype=bool)
    for i, day in enumerate(days):
        names = calendar.get(day)
        if names is None:
            continue
        for name in str(names).split("; "):
            effect, off = _HOLIDAY_EFFECTS.get(
                name.removesuffix(" (observed)"), _DEFAULT_HOLIDAY_EFFECT
            )
            factor[i] *= effect
            holiday_off[i] |= off
    dow = np.array([d.weekday() for d in days], dtype=np.int64)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=np.float64)
    growth = (1 + params.annual_growth) ** (np.arange(params.days) / 365.25)
    return _Calendar(
        dates=dates,
        doy=doy,
        dow=dow,
        holiday_factor=factor,
        day_off=(dow >= 5) | holiday_off,
        growth=growth,
    )


def _local_to_utc(naive: pl.Expr) -> pl.Expr:
    """Local wall-clock times to UTC; times skipped by DST move an hour later."""
    options: dict[str, Any] = {"ambiguous": "earliest", "non_existent": "null"}
    local = naive.dt.replace_time_zone(TIMEZONE, **options)
    shifted = (naive + pl.duration(hours=1)).dt.replace_time_zone(TIMEZONE, **options)
    return local.fill_null(shifted).dt.convert_time_zone("UTC")
