"""API options from ``[api]`` in fleetcast.toml and FLEETCAST_API_* variables, self-checked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from fleetcast.config import Settings
from fleetcast.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """How the API behaves.

    ``open_reads``: read endpoints answer without a key (write endpoints always need one).
    ``refresh_seconds``: how often each worker checks the db for new forecasts.
    ``key_cache_seconds``: how long a checked key is trusted before the db is asked again
    (so a revoked key stops working within this time).
    """

    open_reads: bool = True
    refresh_seconds: float = 2.0
    key_cache_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.refresh_seconds <= 3600:
            raise ConfigError(
                f"api refresh_seconds {self.refresh_seconds} not understood: 0.1..3600"
            )
        if not 0 <= self.key_cache_seconds <= 3600:
            raise ConfigError(
                f"api key_cache_seconds {self.key_cache_seconds} not understood: 0..3600"
            )

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> ApiOptions:
        """``[api]`` of fleetcast.toml, overridden by FLEETCAST_API_OPEN_READS and friends."""
        env = os.environ if env is None else env
        section = dict(settings.section("api"))
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(
                f"[api] key(s) {sorted(unknown)} not understood; known keys are {sorted(known)}"
            )
        values: dict[str, object] = dict(section)
        for name in known:
            raw = env.get(f"FLEETCAST_API_{name.upper()}")
            if raw is not None:
                values[name] = raw
        return cls(
            open_reads=_flag(values.get("open_reads", True), "open_reads"),
            refresh_seconds=_number(values.get("refresh_seconds", 2.0), "refresh_seconds"),
            key_cache_seconds=_number(values.get("key_cache_seconds", 10.0), "key_cache_seconds"),
        )


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"api {name} {value!r} not understood: use true or false")


def _number(value: object, name: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"api {name} {value!r} not understood: give seconds") from exc
