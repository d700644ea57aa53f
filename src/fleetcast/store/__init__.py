"""The store: the lake (partitioned Parquet) and the db (SQLAlchemy), behind one object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Connection, Engine

from fleetcast.config import Settings
from fleetcast.store import db
from fleetcast.store.lake import Lake


class Store:
    """Both halves of the store, opened lazily from settings; the schema is upgraded on use."""

    def __init__(self, settings: Settings, *, auto_upgrade: bool = True) -> None:
        self.settings = settings
        self.auto_upgrade = auto_upgrade
        self._schema_checked = False

    def __repr__(self) -> str:
        return f"Store(db={self.settings.db_url!r}, lake={self.settings.lake_url!r})"

    @cached_property
    def lake(self) -> Lake:
        """The lake, rooted at the settings' lake URL."""
        return Lake(self.settings.lake_url)

    @cached_property
    def engine(self) -> Engine:
        """The db engine; migrations run on first use unless auto_upgrade is off."""
        engine = db.make_engine(self.settings.db_url)
        if self.auto_upgrade and not self._schema_checked:
            db.ensure_schema(engine)
            self._schema_checked = True
        return engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction that commits on success and rolls back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read connection."""
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Release pooled connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()


__all__ = ["Lake", "Store"]
