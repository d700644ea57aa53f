"""LightGBM settings shared by :class:`CalendarGBM` and :class:`GlobalGBM`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleetcast.forecasting.models._common import _Problems

if TYPE_CHECKING:
    from lightgbm import LGBMRegressor


@dataclass(frozen=True, kw_only=True, slots=True)
class _LightGBMParams:
    """LightGBM settings shared by both GBMs (see LightGBM's parameter docs).

    ``num_threads`` defaults to 1: LightGBM's OpenMP threads spin at every barrier, and on a
    2-core machine with one other busy process a 2-thread fit was measured 20x slower than
    a 1-thread one (66 s against 3 s). Raise it on an idle multi-core machine.
    """

    objective: str = "poisson"
    tweedie_variance_power: float = 1.2
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.9
    reg_lambda: float = 1.0
    max_bin: int = 255
    num_threads: int = 1
    seed: int = 0

    def _check_lightgbm(self, problems: _Problems) -> None:
        problems.check(
            self.objective in ("poisson", "tweedie"),
            f"objective={self.objective!r} not understood: use 'poisson' or 'tweedie'",
        )
        problems.number(
            "tweedie_variance_power", self.tweedie_variance_power, 1.0, 2.0, open_low=True
        )
        problems.integer("n_estimators", self.n_estimators, 1, 20_000)
        problems.number("learning_rate", self.learning_rate, 0.0, 1.0, open_low=True)
        problems.integer("num_leaves", self.num_leaves, 2, 131_072)
        problems.integer("min_child_samples", self.min_child_samples, 1, 1_000_000)
        problems.number("feature_fraction", self.feature_fraction, 0.0, 1.0, open_low=True)
        problems.number("bagging_fraction", self.bagging_fraction, 0.0, 1.0, open_low=True)
        problems.number("reg_lambda", self.reg_lambda, 0.0, 1e6)
        problems.integer("max_bin", self.max_bin, 3, 65_535)
        problems.integer("num_threads", self.num_threads, 1, 1024)
        problems.integer("seed", self.seed, 0, 2**31 - 1)

    def regressor(self) -> LGBMRegressor:
        """A fresh, deterministic LightGBM regressor with these settings."""
        from lightgbm import LGBMRegressor

        extra: dict[str, Any] = {}
        if self.objective == "tweedie":
            extra["tweedie_variance_power"] = self.tweedie_variance_power
        return LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            colsample_bytree=self.feature_fraction,
            subsample=self.bagging_fraction,
            subsample_freq=1 if self.bagging_fraction < 1.0 else 0,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            n_jobs=self.num_threads,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            verbosity=-1,
            **extra,
        )
