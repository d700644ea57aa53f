"""Live supply: stations, station_status (latest), feeds (poll health), watermarks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
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
        "stations",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _system_fk("stations"),
        sa.PrimaryKeyConstraint("system_id", "station_id", name=op.f("pk_stations")),
    )
    op.create_table(
        "station_status",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reported", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bikes_available", sa.Integer(), nullable=False),
        sa.Column("ebikes_available", sa.Integer(), nullable=True),
        sa.Column("bikes_disabled", sa.Integer(), nullable=True),
        sa.Column("docks_available", sa.Integer(), nullable=True),
        sa.Column("docks_disabled", sa.Integer(), nullable=True),
        sa.Column("is_installed", sa.Boolean(), nullable=False),
        sa.Column("is_renting", sa.Boolean(), nullable=False),
        sa.Column("is_returning", sa.Boolean(), nullable=False),
        _system_fk("station_status"),
        sa.PrimaryKeyConstraint("system_id", "station_id", name=op.f("pk_station_status")),
    )
    op.create_table(
        "feeds",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.String(16), nullable=True),
        sa.Column("ttl_s", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        _system_fk("feeds"),
        sa.PrimaryKeyConstraint("system_id", "url", name=op.f("pk_feeds")),
    )
    op.create_table(
        "watermarks",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id", "source", "entity", name=op.f("pk_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    op.drop_table("feeds")
    op.drop_table("station_status")
    op.drop_table("stations")
