"""Tests of the db half of the store: engines, migrations and their agreement with the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from fleetcast.config import Settings
from fleetcast.errors import ConfigError
from fleetcast.store import Store, db
from fleetcast.store.tables import Base

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database, for each backend."""
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


def schema_diff(engine: Engine) -> list[object]:
    """Alembic's autogenerate diff between the migrated db and the models (empty = agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def user_tables(engine: Engine) -> set[str]:
    """Tables in the db other than Alembic's bookkeeping."""
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_ensure_schema_migrates_an_empty_db_once(engine: Engine) -> None:
    """An empty db is brought to head (True); the second call finds nothing to do (False)."""
    assert db.current_revision(engine) is None
    assert user_tables(engine) == set()
    assert db.ensure_schema(engine) is True
    assert db.current_revision(engine) == db.head_revision()
    assert user_tables(engine) == MODEL_TABLES
    assert db.ensure_schema(engine) is False
    assert db.current_revision(engine) == db.head_revision()


def test_migrations_produce_the_models_schema(engine: Engine) -> None:
    """After migrating, autogenerate sees no difference: tables, columns, types, nullability,
    keys, indexes and constraint names in the migrations match tables.py exactly."""
    db.upgrade(engine)
    assert schema_diff(engine) == []


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    """Every migration can be undone: base leaves no tables, and upgrading again is clean."""
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    assert user_tables(engine) == set()
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert schema_diff(engine) == []


def test_store_upgrades_on_first_use(settings: Settings) -> None:
    """Store.engine migrates a fresh db; with auto_upgrade off it is left alone."""
    manual = Store(settings, auto_upgrade=False)
    try:
        assert db.current_revision(manual.engine) is None
    finally:
        manual.close()
    auto = Store(settings)
    try:
        with auto.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= MODEL_TABLES
        assert db.current_revision(auto.engine) == db.head_revision()
    finally:
        auto.close()


def test_store_begin_rolls_back_on_error(store: Store) -> None:
    """A failing block inside Store.begin() leaves nothing written."""
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO systems (system_id, name, kind, timezone, zoning, created_at) "
                "VALUES ('x', 'X', 'bike', 'UTC', 'polygons', CURRENT_TIMESTAMP)"
            )
        )
        raise RuntimeError("boom")
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM systems")).scalar_one() == 0


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    """The default SQLite file uses write-ahead logging and enforces foreign keys."""
    eng = db.make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'fleetcast.db'}")
    try:
        with eng.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert (tmp_path / "deep" / "er").is_dir()  # the folder was created for it
    finally:
        eng.dispose()


def test_sqlite_store_is_wal(sqlite_store: Store) -> None:
    """The store built from default settings gets the same pragmas on every connection."""
    with sqlite_store.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    """A plain postgresql:// URL uses psycopg 3 (the driver fleetcast[postgres] installs)."""
    eng = db.make_engine("postgresql://user@localhost:1/none")
    try:
        assert eng.url.drivername == "postgresql+psycopg"
    finally:
        eng.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "",
        "nosuchdb://user@host/db",
        "postgresql+nosuchdriver://user@host/db",
        "sqlite+nosuchdriver:///x.db",
    ],
)
def test_make_engine_bad_url(url: str) -> None:
    """A URL that is not one, or names a dialect/driver that is not installed, is a ConfigError."""
    with pytest.raises(ConfigError):
        db.make_engine(url)
