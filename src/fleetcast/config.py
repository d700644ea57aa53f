"""Settings from the environment (FLEETCAST_*) and an optional fleetcast.toml, built on demand.

Precedence: explicit arguments > environment > fleetcast.toml > defaults. Nothing is read at
import time; call :func:`load_settings` where settings are needed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetcast.errors import ConfigError

DEFAULT_HOME = ".fleetcast"
_KNOWN_STORE_KEYS = {"home", "db_url", "lake_url"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the store lives and the options the jobs read."""

    home: Path
    db_url: str
    lake_url: str
    config_file: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        """True when the db is the embedded SQLite file."""
        return self.db_url.startswith("sqlite")

    def section(self, name: str) -> Mapping[str, Any]:
        """A table of fleetcast.toml other than [store] (empty when absent)."""
        value = self.extra.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"[{name}] in {self.config_file} must be a table")
        return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML (not UTF-8): {exc}") from exc


def _find_config(env: Mapping[str, str], home: Path | None) -> Path | None:
    explicit = env.get("FLEETCAST_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"FLEETCAST_CONFIG points to {path}, which does not exist")
        return path
    candidates = [Path("fleetcast.toml")]
    if home is not None:
        candidates.append(home / "fleetcast.toml")
    return next((p for p in candidates if p.is_file()), None)


def load_settings(
    *,
    home: str | Path | None = None,
    db_url: str | None = None,
    lake_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build settings from arguments, the environment and fleetcast.toml, in that order."""
    env = os.environ if env is None else env
    env_home = env.get("FLEETCAST_HOME")
    first_home = Path(home) if home is not None else (Path(env_home) if env_home else None)
    config_file = _find_config(env, first_home or Path(DEFAULT_HOME))
    doc = _read_toml(config_file) if config_file else {}
    store = doc.get("store", {})
    if not isinstance(store, dict):
        raise ConfigError(f"[store] in {config_file} must be a table")
    unknown = set(store) - _KNOWN_STORE_KEYS
    if unknown:
        raise ConfigError(
            f"[store] in {config_file}: key(s) {sorted(unknown)} not understood; "
            f"known keys are {sorted(_KNOWN_STORE_KEYS)}"
        )
    resolved_home = (first_home or Path(store.get("home", DEFAULT_HOME))).expanduser()
    resolved_home = resolved_home.absolute()
    resolved_db = (
        db_url
        or env.get("FLEETCAST_DB_URL")
        or store.get("db_url")
        or f"sqlite:///{resolved_home / 'fleetcast.db'}"
    )
    resolved_lake = (
        lake_url
        or env.get("FLEETCAST_LAKE_URL")
        or store.get("lake_url")
        or str(resolved_home / "lake")
    )
    extra = {k: v for k, v in doc.items() if k != "store"}
    return Settings(
        home=resolved_home,
        db_url=str(resolved_db),
        lake_url=str(resolved_lake),
        config_file=config_file,
        extra=extra,
    )
