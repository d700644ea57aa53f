"""Reading and writing car-sharing rentals: plain functions over a SQLAlchemy connection.

Rentals are keyed by (system_id, rental_id). Saving writes only rows that are new or whose
values changed, so loading the same file twice changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, func, select

from fleetcast.domain import RENTALS, conform
from fleetcast.store.records import upsert
from fleetcast.store.tables import Rental

_COLUMNS = tuple(RENTALS)


def _table() -> Table:
    table: Table = Rental.__table__  # type: ignore[assignment]
    return table


@dataclass(frozen=True, slots=True)
class SavedRentals:
    """What a save did: rentals not stored before, stored with other values, and untouched."""

    new: int
    changed: int
    unchanged: int

    @property
    def written(self) -> int:
        """Rows inserted or updated."""
        return self.new + self.changed


def save_rentals(conn: Connection, system_id: str, rentals: pl.DataFrame) -> SavedRentals:
    """Insert new rentals and update changed ones of a system (call inside a transaction).

    ``rentals`` has the RENTALS columns and one row per ``rental_id`` (a ValueError
    otherwise: the source de-duplicates before).
    """
    incoming = conform(rentals, RENTALS).select(_COLUMNS)
    if incoming["rental_id"].null_count() or incoming["rental_id"].n_unique() != incoming.height:
        raise ValueError("rentals to save need one row per non-null rental_id")
    before = load_rentals(conn, system_id).with_columns(pl.lit(True).alias("_stored"))
    joined = incoming.join(before, on="rental_id", how="left", suffix="_old")
    stored = pl.col("_stored").fill_null(False)
    differs = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in _COLUMNS if c != "rental_id"]
    )
    flagged = joined.select(
        *_COLUMNS,
        (~stored).alias("_new"),
        (stored & differs).alias("_changed"),
    )
    to_write = flagged.filter(pl.col("_new") | pl.col("_changed")).select(_COLUMNS)
    rows: list[dict[str, Any]] = [
        {"system_id": system_id, **row} for row in to_write.iter_rows(named=True)
    ]
    upsert(conn, Rental, rows)
    new = int(flagged["_new"].sum())
    changed = int(flagged["_changed"].sum())
    return SavedRentals(new=new, changed=changed, unchanged=incoming.height - new - changed)


def load_rentals(conn: Connection, system_id: str) -> pl.DataFrame:
    """Every rental of a system (RENTALS schema), by rental_id."""
    table = _table()
    result = conn.execute(
        select(*[table.c[c] for c in _COLUMNS]).where(table.c.system_id == system_id)
    )
    # Sorted here, not in SQL, so both backends give the same order whatever their collation.
    frame = pl.DataFrame([tuple(r) for r in result], schema=RENTALS, orient="row")
    return frame.sort("rental_id")


def count_rentals(conn: Connection, system_id: str) -> int:
    """How many rentals a system has in the store."""
    table = _table()
    found = conn.execute(
        select(func.count()).select_from(table).where(table.c.system_id == system_id)
    ).scalar_one()
    return int(found)
