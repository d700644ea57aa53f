"""Every model by name: ``MODELS``, ``make_model`` and ``DEFAULT_MODEL``."""

from __future__ import annotations

from typing import Any, Final, Protocol, Self

from fleetcast.forecasting.base import Forecaster
from fleetcast.forecasting.models.calendar_gbm import CalendarGBM
from fleetcast.forecasting.models.ets import StatsBaseline
from fleetcast.forecasting.models.global_gbm import GlobalGBM
from fleetcast.forecasting.models.seasonal_naive import SeasonalNaive

DEFAULT_MODEL: Final = "global_gbm"
"""The model a system forecasts with unless told otherwise."""


class _Buildable(Forecaster, Protocol):
    @classmethod
    def from_params(cls, **params: Any) -> Self: ...


MODELS: Final[dict[str, type[_Buildable]]] = {
    SeasonalNaive.name: SeasonalNaive,
    StatsBaseline.name: StatsBaseline,
    CalendarGBM.name: CalendarGBM,
    GlobalGBM.name: GlobalGBM,
}
"""Every model by name, as ``make_model`` and ``fleetcast.toml`` know them."""


def make_model(name: str, **params: Any) -> Forecaster:
    """The model called ``name`` with ``params`` (defaults for the rest).

    Raises ValueError for an unknown name (listing the known ones) or bad parameters.
    """
    cls = MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown model {name!r}: use one of {', '.join(MODELS)}")
    return cls.from_params(**params)
