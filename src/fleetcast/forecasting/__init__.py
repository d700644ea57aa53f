"""Forecasting: daily demand per zone, horizons 1..H, quantiles, backtests, registry."""
