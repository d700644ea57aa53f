"""Context data: city facts per system, airports near a system, daily airport arrivals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _system_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["system_id"],
        ["systems.system_id"],
        name=op.f(f"fk_{table}_system_id_systems"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "city_facts",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("city", sa.String(200), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("area_km2", sa.Float(), nullable=True),
        sa.Column("density_per_km2", sa.Float(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("retrieved_at", sa.DateTime(timezone=True), nullable=False),
        _system_fk("city_facts"),
        sa.PrimaryKeyConstraint("system_id", "as_of", name=op.f("pk_city_facts")),
    )
    op.create_table(
        "airports",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("airport", sa.String(8), nullable=False),
        sa.Column("icao", sa.String(8), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        _system_fk("airports"),
        sa.PrimaryKeyConstraint("system_id", "airport", name=op.f("pk_airports")),
    )
    op.create_table(
        "airport_arrivals_daily",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("airport", sa.String(8), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("retrieved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id", "airport"],
            ["airports.system_id", "airports.airport"],
            name=op.f("fk_airport_arrivals_daily_system_id_airports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "system_id", "airport", "date", name=op.f("pk_airport_arrivals_daily")
        ),
    )
    op.create_index(
        "ix_airport_arrivals_daily_system_date",
        "airport_arrivals_daily",
        ["system_id", "date"],
    )


def downgrade() -> None:
    op.drop_index("ix_airport_arrivals_daily_system_date", table_name="airport_arrivals_daily")
    op.drop_table("airport_arrivals_daily")
    op.drop_table("airports")
    op.drop_table("city_facts")
