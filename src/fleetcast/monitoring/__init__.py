"""Monitoring: forecast accuracy as actuals arrive, alert rules, data freshness and quality.

Pure functions over Polars frames; :mod:`fleetcast.jobs.monitor` reads the store, calls them
and stores what they found.
"""

from __future__ import annotations

from fleetcast.monitoring.accuracy import AccuracyAlert, AlertRule, accuracy, find_alerts
from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.quality import QualityThresholds, source_health

__all__ = [
    "AccuracyAlert",
    "AlertRule",
    "MonitorConfig",
    "QualityThresholds",
    "accuracy",
    "find_alerts",
    "source_health",
]
