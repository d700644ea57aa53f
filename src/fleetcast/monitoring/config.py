"""Monitoring thresholds in one object, loadable from the ``[monitoring]`` table of
fleetcast.toml, with per-system overrides under ``[monitoring.systems.<system_id>]``.

```toml
[monitoring.accuracy]
wape_ratio = 1.3          # WAPE over 1.3 x the backtest's ...
consecutive_days = 3      # ... on 3 days in a row marks the system degraded
window_days = 28          # days of accuracy recomputed on each run
[monitoring.quality]
max_ingest_age_hours = 36
max_quarantine_share = 0.05
max_demand_lag_days = 2
[monitoring.drift]
current_days = 28         # recent days compared with ...
reference_days = 180      # ... up to 180 days before them
max_drift_share = 0.5     # input drift when over half of the model's inputs drift
degrade = false           # true: drift marks the system degraded (else a warning)
[monitoring.systems.demo.quality]
max_demand_lag_days = 400
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcast.config import Settings
from fleetcast.errors import ConfigError
from fleetcast.monitoring.accuracy import AlertRule
from fleetcast.monitoring.drift import DriftConfig
from fleetcast.monitoring.quality import QualityThresholds

_SECTIONS = ("accuracy", "quality", "drift")


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """The accuracy alert rule, the data quality thresholds and the drift check of one system."""

    accuracy: AlertRule = field(default_factory=AlertRule)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    drift: DriftConfig = field(default_factory=DriftConfig)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, system_id: str | None = None
    ) -> MonitorConfig:
        """Build from a ``[monitoring]`` table, applying ``systems.<system_id>`` over it."""
        merged = dict(data)
        systems = merged.pop("systems", {})
        if not isinstance(systems, Mapping):
            raise ValueError("[monitoring.systems] must be a table of per-system tables")
        unknown = set(merged) - set(_SECTIONS)
        if unknown:
            raise ValueError(
                f"[monitoring] key(s) {sorted(unknown)} not understood; known keys are "
                f"{sorted({*_SECTIONS, 'systems'})}"
            )
        override = systems.get(system_id, {}) if system_id is not None else {}
        if not isinstance(override, Mapping):
            raise ValueError("a [monitoring.systems.<id>] entry must be a table")
        tables: dict[str, dict[str, Any]] = {}
        for name in _SECTIONS:
            base, over = merged.get(name, {}), override.get(name, {})
            if not isinstance(base, Mapping) or not isinstance(over, Mapping):
                raise ValueError(f"[monitoring.{name}] must be a table")
            tables[name] = {**base, **over}
        return cls(
            accuracy=AlertRule.from_mapping(tables["accuracy"]),
            quality=QualityThresholds.from_mapping(tables["quality"]),
            drift=DriftConfig.from_mapping(tables["drift"]),
        )


def config_for(settings: Settings, system_id: str) -> MonitorConfig:
    """The monitoring thresholds of a system from fleetcast.toml (defaults when absent);
    ConfigError naming the file when a value is not understood."""
    try:
        return MonitorConfig.from_mapping(settings.section("monitoring"), system_id=system_id)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"[monitoring] in {settings.config_file}: {exc}") from exc
