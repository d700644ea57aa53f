"""Monitoring: forecast accuracy as actuals arrive, alert rules, data drift (Evidently,
imported only when a check runs), data freshness and quality.

Pure functions over Polars frames; :mod:`fleetcast.jobs.monitor` reads the store, calls them
and stores what they found.
"""

from __future__ import annotations

from fleetcast.monitoring.accuracy import AccuracyAlert, AlertRule, accuracy, find_alerts
from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.drift import DriftConfig, DriftResult, check_drift
from fleetcast.monitoring.quality import QualityThresholds, source_health

__all__ = [
    "AccuracyAlert",
    "AlertRule",
    "DriftConfig",
    "DriftResult",
    "MonitorConfig",
    "QualityThresholds",
    "accuracy",
    "check_drift",
    "find_alerts",
    "source_health",
]
