"""Initial store: systems, zones, demand, ingest log, parkings, depots, vehicle status.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "systems",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("subdivision", sa.String(16), nullable=True),
        sa.Column("center_lat", sa.Float(), nullable=True),
        sa.Column("center_lon", sa.Float(), nullable=True),
        sa.Column("zoning", sa.String(16), nullable=False),
        sa.Column("h3_resolution", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id", name=op.f("pk_systems")),
    )
    op.create_table(
        "zones",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("centroid_lat", sa.Float(), nullable=True),
        sa.Column("centroid_lon", sa.Float(), nullable=True),
        sa.Column("area_km2", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_zones_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "zone_id", name=op.f("pk_zones")),
    )
    op.create_table(
        "demand_daily",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id", "zone_id"],
            ["zones.system_id", "zones.zone_id"],
            name=op.f("fk_demand_daily_system_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "zone_id", "date", name=op.f("pk_demand_daily")),
    )
    op.create_index("ix_demand_daily_system_date", "demand_daily", ["system_id", "date"])
    op.create_table(
        "ingest_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ingest_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_new", sa.Integer(), nullable=False),
        sa.Column("rejects_by_reason", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_log")),
        sa.UniqueConstraint("ingest_id", name=op.f("uq_ingest_log_ingest_id")),
    )
    op.create_index("ix_ingest_log_system_started", "ingest_log", ["system_id", "started_at"])
    op.create_table(
        "parkings",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("parking_id", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("min_vehicles", sa.Integer(), nullable=False),
        sa.Column("max_vehicles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_parkings_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "parking_id", name=op.f("pk_parkings")),
    )
    op.create_table(
        "depots",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("depot_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_depots_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "depot_id", name=op.f("pk_depots")),
    )
    op.create_table(
        "vehicle_status",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("battery_pct", sa.Float(), nullable=True),
        sa.Column("is_reserved", sa.Boolean(), nullable=False),
        sa.Column("is_disabled", sa.Boolean(), nullable=False),
        sa.Column("vehicle_type", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_vehicle_status_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "vehicle_id", name=op.f("pk_vehicle_status")),
    )


def downgrade() -> None:
    op.drop_table("vehicle_status")
    op.drop_table("depots")
    op.drop_table("parkings")
    op.drop_index("ix_ingest_log_system_started", table_name="ingest_log")
    op.drop_table("ingest_log")
    op.drop_index("ix_demand_daily_system_date", table_name="demand_daily")
    op.drop_table("demand_daily")
    op.drop_table("zones")
    op.drop_table("systems")
