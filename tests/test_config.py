"""Tests of settings: precedence, the config file, clear errors, and nothing read at import."""

from __future__ import annotations

import importlib
import os
import pathlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fleetcast
from fleetcast.config import DEFAULT_HOME, Settings, load_settings
from fleetcast.errors import ConfigError

TOML_DB = "sqlite:////toml/fleetcast.db"
ENV_DB = "postgresql://env@db/fleetcast"
ARG_DB = "postgresql://arg@db/fleetcast"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, so no stray fleetcast.toml is picked up."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write_toml(path: Path, text: str) -> Path:
    """Write a config file (creating its folder) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_env_or_file(workdir: Path) -> None:
    """With no argument, environment or file, everything lives in ./.fleetcast as absolute paths."""
    s = load_settings(env={})
    home = (workdir / DEFAULT_HOME).absolute()
    assert s.home == home
    assert s.home.is_absolute()
    assert s.db_url == f"sqlite:///{home / 'fleetcast.db'}"
    assert s.lake_url == str(home / "lake")
    assert s.config_file is None
    assert s.is_sqlite
    assert dict(s.extra) == {}


def test_home_moves_db_and_lake(workdir: Path, tmp_path: Path) -> None:
    """The default db file and lake follow the home, whichever layer sets it."""
    home = tmp_path / "elsewhere"
    s = load_settings(env={"FLEETCAST_HOME": str(home)})
    assert s.home == home
    assert s.db_url == f"sqlite:///{home / 'fleetcast.db'}"
    assert s.lake_url == str(home / "lake")


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({}, "default"),
        ({"toml"}, TOML_DB),
        ({"toml", "env"}, ENV_DB),
        ({"env"}, ENV_DB),
        ({"toml", "env", "arg"}, ARG_DB),
        ({"toml", "arg"}, ARG_DB),
    ],
)
def test_db_url_precedence(workdir: Path, layers: set[str], expected: str) -> None:
    """db_url comes from arguments, else the environment, else fleetcast.toml, else the default."""
    if "toml" in layers:
        write_toml(workdir / "fleetcast.toml", f'[store]\ndb_url = "{TOML_DB}"\n')
    env = {"FLEETCAST_DB_URL": ENV_DB} if "env" in layers else {}
    arg = ARG_DB if "arg" in layers else None
    s = load_settings(db_url=arg, env=env)
    if expected == "default":
        assert s.db_url == f"sqlite:///{(workdir / DEFAULT_HOME).absolute() / 'fleetcast.db'}"
    else:
        assert s.db_url == expected


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({"toml"}, "s3://toml/lake"),
        ({"toml", "env"}, "s3://env/lake"),
        ({"toml", "env", "arg"}, "s3://arg/lake"),
    ],
)
def test_lake_url_precedence(workdir: Path, layers: set[str], expected: str) -> None:
    """lake_url follows the same order as db_url: arguments > environment > file."""
    write_toml(workdir / "fleetcast.toml", '[store]\nlake_url = "s3://toml/lake"\n')
    env = {"FLEETCAST_LAKE_URL": "s3://env/lake"} if "env" in layers else {}
    arg = "s3://arg/lake" if "arg" in layers else None
    assert load_settings(lake_url=arg, env=env).lake_url == expected


def test_home_precedence(workdir: Path, tmp_path: Path) -> None:
    """home: argument beats FLEETCAST_HOME, which beats [store] home in the file."""
    write_toml(workdir / "fleetcast.toml", f'[store]\nhome = "{tmp_path / "toml_home"}"\n')
    assert load_settings(env={}).home == tmp_path / "toml_home"
    env = {"FLEETCAST_HOME": str(tmp_path / "env_home")}
    assert load_settings(env=env).home == tmp_path / "env_home"
    assert load_settings(home=tmp_path / "arg_home", env=env).home == tmp_path / "arg_home"


def test_config_found_in_home(workdir: Path, tmp_path: Path) -> None:
    """Without one in the current folder, <home>/fleetcast.toml is read."""
    home = tmp_path / "h"
    cfg = write_toml(home / "fleetcast.toml", f'[store]\ndb_url = "{TOML_DB}"\n')
    s = load_settings(home=home, env={})
    assert s.config_file == cfg
    assert s.db_url == TOML_DB


def test_config_in_cwd_wins_over_home(workdir: Path, tmp_path: Path) -> None:
    """./fleetcast.toml is looked at before <home>/fleetcast.toml."""
    home = tmp_path / "h"
    write_toml(home / "fleetcast.toml", '[store]\ndb_url = "sqlite:////home.db"\n')
    write_toml(workdir / "fleetcast.toml", '[store]\ndb_url = "sqlite:////cwd.db"\n')
    assert load_settings(home=home, env={}).db_url == "sqlite:////cwd.db"


def test_fleetcast_config_env_names_the_file(workdir: Path, tmp_path: Path) -> None:
    """FLEETCAST_CONFIG picks the file, even when ./fleetcast.toml exists."""
    write_toml(workdir / "fleetcast.toml", '[store]\ndb_url = "sqlite:////cwd.db"\n')
    chosen = write_toml(tmp_path / "conf" / "other.toml", f'[store]\ndb_url = "{TOML_DB}"\n')
    s = load_settings(env={"FLEETCAST_CONFIG": str(chosen)})
    assert s.config_file == chosen
    assert s.db_url == TOML_DB


def test_fleetcast_config_missing_file(workdir: Path, tmp_path: Path) -> None:
    """A FLEETCAST_CONFIG that points nowhere is an error naming the path, not a silent default."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings(env={"FLEETCAST_CONFIG": str(missing)})


def test_unknown_store_key_rejected(workdir: Path) -> None:
    """A typo in [store] fails loudly, naming the bad key and the keys that are understood."""
    write_toml(workdir / "fleetcast.toml", '[store]\ndb_uri = "sqlite:////x.db"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    message = str(info.value)
    assert "db_uri" in message
    assert "db_url" in message and "lake_url" in message and "home" in message
    assert "fleetcast.toml" in message


def test_store_must_be_a_table(workdir: Path) -> None:
    """`store = "x"` is not a table: a ConfigError, not an AttributeError later on."""
    write_toml(workdir / "fleetcast.toml", 'store = "sqlite:////x.db"\n')
    with pytest.raises(ConfigError, match=r"\[store\]"):
        load_settings(env={})


def test_invalid_toml(workdir: Path) -> None:
    """A syntax error in the file is a ConfigError naming the file."""
    write_toml(workdir / "fleetcast.toml", "[store\ndb_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(env={})
    assert "fleetcast.toml" in str(info.value)
    assert isinstance(info.value.__cause__, tomllib.TOMLDecodeError)


def test_toml_that_is_not_utf8(workdir: Path) -> None:
    """A file that is not UTF-8 (TOML must be) is a ConfigError too, not a UnicodeDecodeError."""
    (workdir / "fleetcast.toml").write_bytes(b'[store]\ndb_url = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"fleetcast\.toml"):
        load_settings(env={})


def test_other_sections_are_kept(workdir: Path) -> None:
    """Tables other than [store] reach the jobs through Settings.section()."""
    write_toml(
        workdir / "fleetcast.toml",
        "[store]\n[planner]\nshortage_cost = 3.0\ntruck_capacity = 30\n",
    )
    s = load_settings(env={})
    assert dict(s.section("planner")) == {"shortage_cost": 3.0, "truck_capacity": 30}
    assert dict(s.section("absent")) == {}
    assert "store" not in s.extra


def test_section_that_is_not_a_table(workdir: Path) -> None:
    """A top-level scalar asked for as a section is a ConfigError naming it."""
    write_toml(workdir / "fleetcast.toml", "planner = 3\n")
    with pytest.raises(ConfigError, match=r"\[planner\]"):
        load_settings(env={}).section("planner")


def test_empty_env_values_fall_through(workdir: Path) -> None:
    """An exported but empty FLEETCAST_DB_URL does not count as a setting."""
    write_toml(workdir / "fleetcast.toml", f'[store]\ndb_url = "{TOML_DB}"\n')
    assert load_settings(env={"FLEETCAST_DB_URL": ""}).db_url == TOML_DB


def test_process_environment_is_the_default(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``env=``, os.environ is read at call time."""
    monkeypatch.setenv("FLEETCAST_DB_URL", ENV_DB)
    monkeypatch.delenv("FLEETCAST_CONFIG", raising=False)
    assert load_settings().db_url == ENV_DB
    assert not load_settings().is_sqlite


def test_settings_are_frozen(workdir: Path) -> None:
    """Settings cannot be changed after they are built (they are shared by every job)."""
    s = load_settings(env={})
    with pytest.raises((AttributeError, TypeError)):
        s.db_url = "sqlite://"  # type: ignore[misc]
    assert isinstance(s, Settings)


class SpyEnviron(dict[str, str]):
    """A stand-in for os.environ that records every key looked at."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__(data)
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.reads.append(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.append(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.reads.append(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.reads.append("<iter>")
        return super().__iter__()


def test_nothing_read_at_import(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing fleetcast.config reads no environment variable and no file (STYLE 14).

    The module is imported afresh with os.environ replaced by a spy and the file-reading
    calls it could use recorded; only load_settings() may touch them.
    """
    spy = SpyEnviron({"FLEETCAST_HOME": str(tmp_path / "spy_home")})
    monkeypatch.setattr(os, "environ", spy)
    touched: list[str] = []

    def record(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            touched.append(name)
            return original(*args, **kwargs)

        return wrapper

    for name in ("is_file", "exists", "open", "read_text", "read_bytes"):
        monkeypatch.setattr(pathlib.Path, name, record(name, getattr(pathlib.Path, name)))
    monkeypatch.setattr(tomllib, "load", record("tomllib.load", tomllib.load))
    # a fresh import; monkeypatch puts the original module back afterwards
    original = sys.modules["fleetcast.config"]
    monkeypatch.setattr(fleetcast, "config", original)
    monkeypatch.delitem(sys.modules, "fleetcast.config")
    fresh = importlib.import_module("fleetcast.config")
    assert fresh is not original  # the module body really ran again
    assert spy.reads == []
    assert touched == []

    settings = fresh.load_settings()
    assert "FLEETCAST_HOME" in spy.reads
    assert "is_file" in touched
    assert settings.home == tmp_path / "spy_home"
