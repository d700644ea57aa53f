"""The small exception hierarchy every module raises from; each extends a standard error."""

from __future__ import annotations


class FleetcastError(Exception):
    """Base of every error fleetcast raises on purpose."""


class ConfigError(FleetcastError, ValueError):
    """A setting is missing or not understood."""


class SourceError(FleetcastError):
    """An outside source could not be read (network, file, format as a whole)."""


class SchemaError(FleetcastError, ValueError):
    """Input does not have the columns or shape a source needs; nothing was written."""


class StoreError(FleetcastError):
    """The store could not be read or written."""


class UnknownSystemError(FleetcastError, LookupError):
    """A system id that is not in the store."""


class InfeasiblePlanError(FleetcastError):
    """A planning problem has no solution under its constraints."""


class NotPlannableError(FleetcastError, LookupError):
    """A system lacks what a plan needs (forecasts, live vehicles, depots, trips); the
    message says what to run."""


class NothingLoadedError(SchemaError):
    """Every row of an input was rejected; the store was left as it was."""

    def __init__(self, message: str, reasons: dict[str, int]) -> None:
        super().__init__(message)
        self.reasons = reasons


class InsufficientHistoryError(FleetcastError, ValueError):
    """Too few days of demand for what was asked (a model's lags, a backtest window)."""


class UnknownZoneError(FleetcastError, LookupError):
    """A zone that a fitted model has never seen."""
