"""Scaled residual quantiles: the quantiles of both GBMs (see the package doc)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from fleetcast.forecasting.base import QUANTILES
from fleetcast.forecasting.models._common import FloatArray


@dataclass(frozen=True, slots=True)
class ScaledResidualQuantiles:
    """Quantiles of signed forecast errors in count-data units, one row per horizon.

    ``quantiles[h - 1]`` holds the q10/q50/q90 of ``(y - mu) / sqrt(mu + phi * mu**2)`` at
    horizon h (the last row serves longer horizons); ``phi`` is the over-dispersion the
    errors show beyond Poisson noise, estimated by moments and never negative.
    """

    quantiles: FloatArray
    phi: float
    n_errors: int

    @classmethod
    def from_errors(cls, actual: FloatArray, forecast: FloatArray) -> Self:
        """Estimate from matching ``(n, H)`` arrays of actuals and out-of-sample forecasts."""
        mu = np.clip(forecast, 1e-9, None)
        excess = float(np.sum((actual - mu) ** 2 - mu))
        phi = max(excess / float(np.sum(mu**2)), 0.0)
        scaled = (actual - mu) / np.sqrt(mu + phi * mu**2)
        quantiles = np.quantile(scaled, QUANTILES, axis=0).T.astype(np.float64)
        return cls(quantiles=quantiles, phi=phi, n_errors=int(actual.size))

    def apply(self, mean: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """q10, q50, q90 for a zones × horizons array of forecasts (unclipped)."""
        horizon = mean.shape[1]
        rows = np.minimum(np.arange(horizon), len(self.quantiles) - 1)
        q = self.quantiles[rows]  # (H, 3)
        mu = np.clip(mean, 0.0, None)
        scale = np.sqrt(mu + self.phi * mu**2)
        lo, mid, hi = (mean + q[None, :, i] * scale for i in range(3))
        return lo, mid, hi
